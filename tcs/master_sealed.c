/*
 * master_sealed.c - the master.sealed container; see master_sealed.h.
 *
 * Owns: no state; the MAC key it derives lives on its stack and is wiped
 * before it returns.  Trusts: nothing in a file.  Every offset it reads
 * is inside a file whose length was checked first; the one length field
 * (bloblen) must equal exactly what lies between header and MAC.
 */
#include "tcs/master_sealed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "crypto/aead.h"
#include "tcs/host_tpm.h"
#include "util/err.h"
#include "util/errmsg.h"

static int
header_mac(const uint8_t master[MASTER_SEALED_KEY_LEN], const uint8_t *p, size_t len,
	   uint8_t out[MASTER_SEALED_MAC_LEN])
{
	uint8_t k[32];
	size_t olen = 0;
	int ok;

	if (hkdf_sha256(master, MASTER_SEALED_KEY_LEN, (const uint8_t *)"vtpm-manager/v1", 15,
			(const uint8_t *)"host-header", 11, k, sizeof(k)) != 0)
		return -1;
	ok = EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, k, sizeof(k), p, len, out,
		       MASTER_SEALED_MAC_LEN, &olen) != NULL &&
	     olen == MASTER_SEALED_MAC_LEN;
	OPENSSL_cleanse(k, sizeof(k));
	return ok ? 0 : -1;
}

/* The header values the layout defines; a reason in err when not. */
static int
values_ok(uint8_t tpm_version, uint8_t flags, uint32_t pcr_mask, char *err, size_t errlen)
{
	if (tpm_version != 1 && tpm_version != 2) {
		seterr(err, errlen, "%s names an unknown TPM version %u", HOST_SEALED_NAME,
		       tpm_version);
		return -1;
	}
	if (flags & ~MASTER_SEALED_FLAG_OWNER_WELL_KNOWN) {
		seterr(err, errlen, "%s has unknown flags 0x%02x", HOST_SEALED_NAME, flags);
		return -1;
	}
	if (pcr_mask & ~MASTER_SEALED_PCR_MASK_ALL) {
		seterr(err, errlen, "%s names PCRs above 23 (mask 0x%08x)", HOST_SEALED_NAME,
		       pcr_mask);
		return -1;
	}
	return 0;
}

int
master_sealed_parse(const uint8_t *file, size_t len, struct master_sealed *m, char *err,
		    size_t errlen)
{
	uint32_t bloblen;

	memset(m, 0, sizeof(*m));
	if (file == NULL || len < MASTER_SEALED_HDR_LEN + MASTER_SEALED_MAC_LEN ||
	    len > MASTER_SEALED_FILE_MAX || memcmp(file, MASTER_SEALED_MAGIC, 8) != 0 ||
	    be16_get(file + 8) != MASTER_SEALED_VERSION) {
		seterr(err, errlen, "%s is not a vtpm-manager sealed key file", HOST_SEALED_NAME);
		return VERR_FORMAT;
	}
	/* Exactly what lies between header and MAC, and something. */
	bloblen = be32_get(file + 20);
	if (bloblen == 0 || bloblen != len - MASTER_SEALED_HDR_LEN - MASTER_SEALED_MAC_LEN) {
		seterr(err, errlen, "%s has inconsistent lengths", HOST_SEALED_NAME);
		return VERR_FORMAT;
	}
	if (values_ok(file[10], file[11], be32_get(file + 12), err, errlen) != 0)
		return VERR_FORMAT;
	m->tpm_version = file[10];
	m->flags = file[11];
	m->pcr_mask = be32_get(file + 12);
	m->counter_index = be32_get(file + 16);
	m->blob = file + MASTER_SEALED_HDR_LEN;
	m->bloblen = bloblen;
	return 0;
}

int
master_sealed_verify(const uint8_t *file, size_t len, const uint8_t master[MASTER_SEALED_KEY_LEN],
		     char *err, size_t errlen)
{
	uint8_t mac[MASTER_SEALED_MAC_LEN];
	int r = 0;

	if (file == NULL || len < MASTER_SEALED_HDR_LEN + MASTER_SEALED_MAC_LEN) {
		seterr(err, errlen, "%s is not a vtpm-manager sealed key file", HOST_SEALED_NAME);
		return VERR_FORMAT;
	}
	if (header_mac(master, file, len - MASTER_SEALED_MAC_LEN, mac) != 0) {
		seterr(err, errlen, "%s: cannot compute the header MAC", HOST_SEALED_NAME);
		r = VERR_CRYPTO;
	} else if (crypto_memcmp(mac, file + len - MASTER_SEALED_MAC_LEN,
				 MASTER_SEALED_MAC_LEN) != 0) {
		seterr(err, errlen, "%s: header authentication failed (the file was modified)",
		       HOST_SEALED_NAME);
		r = VERR_AUTH;
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	return r;
}

int
master_sealed_put(const struct master_sealed *m, const uint8_t master[MASTER_SEALED_KEY_LEN],
		  struct buf *out, char *err, size_t errlen)
{
	size_t total;
	uint8_t *f;
	int r = 0;

	if (values_ok(m->tpm_version, m->flags, m->pcr_mask, err, errlen) != 0)
		return VERR_INVAL;
	if (m->blob == NULL || m->bloblen == 0 || m->bloblen > MASTER_SEALED_BLOB_MAX) {
		seterr(err, errlen, "a sealed blob of %zu bytes does not fit %s", m->bloblen,
		       HOST_SEALED_NAME);
		return VERR_INVAL;
	}
	total = MASTER_SEALED_HDR_LEN + m->bloblen + MASTER_SEALED_MAC_LEN;
	if ((f = malloc(total)) == NULL) {
		seterr(err, errlen, "out of memory");
		return VERR_NOMEM;
	}
	memcpy(f, MASTER_SEALED_MAGIC, 8);
	be16_put(f + 8, MASTER_SEALED_VERSION);
	f[10] = m->tpm_version;
	f[11] = m->flags;
	be32_put(f + 12, m->pcr_mask);
	be32_put(f + 16, m->counter_index);
	be32_put(f + 20, (uint32_t)m->bloblen);
	memcpy(f + MASTER_SEALED_HDR_LEN, m->blob, m->bloblen);
	/* One write, so out is untouched unless the whole file fits. */
	if (header_mac(master, f, total - MASTER_SEALED_MAC_LEN, f + total - MASTER_SEALED_MAC_LEN) !=
	    0) {
		seterr(err, errlen, "cannot build %s: the header MAC failed", HOST_SEALED_NAME);
		r = VERR_CRYPTO;
	} else if ((r = buf_put_bytes(out, f, total)) != 0) {
		seterr(err, errlen, "cannot build %s: %s", HOST_SEALED_NAME, verr_str(r));
	}
	free(f);
	return r;
}
