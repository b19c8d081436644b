/*
 * host_seal.c - the master key sealed to the host TPM, and the rollback
 * counter; see host_tpm.h.
 *
 * Owns <state-dir>/master.sealed and the TPM connection.  Trusts the TPM
 * (through tcs/tpm2_host.c and tcs/tpm12_host.c, which check every
 * response); trusts nothing in master.sealed until the TPM has unsealed its
 * secret and the file's header has been authenticated with a key derived
 * from that secret.
 *
 * master.sealed's layout, and its parser and builder, are
 * tcs/master_sealed.c's: a header (TPM version, flags, PCR mask, counter),
 * the TPM's sealed blob, and an HMAC keyed from the master key.
 * Sealed secret: master key (32) | counter auth (32 for 2.0, 20 for 1.2) |
 *   TPM 1.2 owner auth (20; so that later counter work needs no operator).
 */
#include "util/errmsg.h"
#include "tcs/host_tpm.h"
#include "tcs/master_sealed.h"
#include "tcs/tpm12_host.h"
#include "tcs/tpm2_host.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "crypto/aead.h"
#include "util/buf.h"
#include "util/fileio.h"
#include "util/tpm_frame.h"

#define SEALED_FILE_MAX MASTER_SEALED_FILE_MAX
#define MASTER_LEN MASTER_SEALED_KEY_LEN

static int
parse_hex20(const char *hex, uint8_t out[HOST_AUTH_LEN])
{
	if (strlen(hex) != 2 * HOST_AUTH_LEN)
		return -1;
	for (size_t i = 0; i < HOST_AUTH_LEN; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1 ||
		    !strchr("0123456789abcdefABCDEF", hex[2 * i]) ||
		    !strchr("0123456789abcdefABCDEF", hex[2 * i + 1]))
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

int
host_tpm_parse_owner_auth(const char *s, struct host_tpm_opts *o, char *err, size_t errlen)
{
	if (strcmp(s, "random") == 0) {
		o->owner_mode = OWNER_AUTH_RANDOM;
		return 0;
	}
	if (strcmp(s, "well-known") == 0) {
		/* The seed's WELL_KNOWN_OWNER_AUTH: twenty 0xff bytes. */
		o->owner_mode = OWNER_AUTH_WELL_KNOWN;
		memset(o->owner_auth, 0xff, HOST_AUTH_LEN);
		return 0;
	}
	if (strncmp(s, "hex:", 4) == 0 && parse_hex20(s + 4, o->owner_auth) == 0) {
		o->owner_mode = OWNER_AUTH_HEX;
		return 0;
	}
	seterr(err, errlen, "owner auth must be random, well-known or hex: followed by 40 hex "
	       "digits");
	return -1;
}

int
host_tpm_parse_srk_auth(const char *s, struct host_tpm_opts *o, char *err, size_t errlen)
{
	if (strcmp(s, "well-known") == 0) {
		o->srk_auth_set = 0;
		memset(o->srk_auth, 0, HOST_AUTH_LEN);
		return 0;
	}
	if (strncmp(s, "hex:", 4) == 0 && parse_hex20(s + 4, o->srk_auth) == 0) {
		o->srk_auth_set = 1;
		return 0;
	}
	seterr(err, errlen, "SRK auth must be well-known or hex: followed by 40 hex digits");
	return -1;
}

int
host_tpm_parse_pcrs(const char *s, uint32_t *mask, char *err, size_t errlen)
{
	uint32_t m = 0;
	const char *p = s;

	if (strcmp(s, "none") == 0 || *s == '\0') {
		*mask = 0;
		return 0;
	}
	while (*p != '\0') {
		char *end;
		long v;

		errno = 0;
		v = strtol(p, &end, 10);
		if (errno != 0 || end == p || v < 0 || v > 23 || (*end != ',' && *end != '\0')) {
			seterr(err, errlen, "PCR list \"%.64s\": expected numbers 0..23 separated "
			       "by commas, e.g. 0,2,4,7", s);
			return -1;
		}
		m |= 1u << v;
		p = *end == ',' ? end + 1 : end;
	}
	*mask = m;
	return 0;
}

static void
pcr_list(uint32_t mask, char *out, size_t outlen)
{
	size_t n = 0;

	out[0] = '\0';
	for (int i = 0; i < 24 && n < outlen; i++)
		if (mask & (1u << i))
			n += (size_t)snprintf(out + n, outlen - n, "%s%d", n ? "," : "", i);
	if (mask == 0)
		snprintf(out, outlen, "none");
}

/* Probes the TPM generation by sending TPM2_GetRandom(8): a 2.0 TPM answers
 * with tag 0x8001, a 1.2 TPM with 0x00c4 (TPM_BADTAG). */
static int
probe_version(struct host_tpm *h, char *err, size_t errlen)
{
	static const uint8_t getrandom2[] = { 0x80, 0x01, 0, 0, 0, 0x0c, 0, 0, 0x01, 0x7b, 0, 8 };
	struct tpm12_host *t;
	uint8_t resp[64];
	size_t rlen = 0;
	int r;

	if (strcmp(h->path, "device:/dev/tpmrm0") == 0) {
		h->tpm_version = 2; /* the resource manager exists only for 2.0 */
		return 0;
	}
	if ((r = tpm12_host_open(h->path, &t, err, errlen)) != 0)
		return r;
	r = tpm12_host_transmit(t, getrandom2, sizeof(getrandom2), resp, &rlen, sizeof(resp),
				err, errlen);
	tpm12_host_close(t);
	if (r != 0)
		return r;
	if (rlen >= 2 && be16_get(resp) == TPM2_ST_NO_SESSIONS)
		h->tpm_version = 2;
	else if (rlen >= 2 && be16_get(resp) == TPM12_TAG_RSP_COMMAND)
		h->tpm_version = 1;
	else {
		seterr(err, errlen, "%s answered neither as a TPM 2.0 nor as a TPM 1.2", h->path);
		return VERR_FORMAT;
	}
	return 0;
}

static int
tpm_connect(struct host_tpm *h, char *err, size_t errlen)
{
	int r;

	if (h->tpm_version == 2) {
		if ((r = tpm2_host_open(h->path, &h->t2, err, errlen)) != 0)
			return r;
		return tpm2_host_manufacturer(h->t2, h->manufacturer, err, errlen);
	}
	if ((r = tpm12_host_open(h->path, &h->t12, err, errlen)) != 0)
		return r;
	return tpm12_host_manufacturer(h->t12, h->manufacturer, err, errlen);
}

static int
tpm_random(struct host_tpm *h, uint8_t *out, size_t len, char *err, size_t errlen)
{
	return h->tpm_version == 2 ? tpm2_host_random(h->t2, out, len, err, errlen)
				   : tpm12_host_random(h->t12, out, len, err, errlen);
}

/* First start: a new master key (or, given, the one recovered), counter
 * and sealed file. */
static int
create_sealed(struct host_tpm *h, const struct host_tpm_opts *o, int dirfd,
	      uint8_t key[MASTER_LEN], int given, char *err, size_t errlen)
{
	uint8_t secret[MASTER_LEN + 32 + HOST_AUTH_LEN], tpmrand[MASTER_LEN];
	uint8_t owner[HOST_AUTH_LEN], srk[HOST_AUTH_LEN];
	size_t slen;
	uint64_t cval;
	struct buf blob, file;
	struct master_sealed ms;
	int r = VERR_CRYPTO, owned;

	buf_init(&blob, SEALED_FILE_MAX);
	buf_init(&file, SEALED_FILE_MAX);
	/* Neither source alone decides the key. */
	if (!given && crypto_random(key, MASTER_LEN) != 0) {
		seterr(err, errlen, "cannot get randomness from OpenSSL");
		goto out;
	}
	if (!given && (r = tpm_random(h, tpmrand, sizeof(tpmrand), err, errlen)) != 0)
		goto out;
	for (size_t i = 0; !given && i < MASTER_LEN; i++)
		key[i] ^= tpmrand[i];
	h->counter_auth_len = h->tpm_version == 2 ? 32 : HOST_AUTH_LEN;
	if (crypto_random(h->counter_auth, h->counter_auth_len) != 0) {
		r = VERR_CRYPTO;
		seterr(err, errlen, "cannot get randomness from OpenSSL");
		goto out;
	}
	memcpy(secret, key, MASTER_LEN);
	memcpy(secret + MASTER_LEN, h->counter_auth, h->counter_auth_len);
	slen = MASTER_LEN + h->counter_auth_len;

	if (h->tpm_version == 2) {
		if ((r = tpm2_host_counter_define(h->t2, h->counter_auth, h->counter_auth_len,
						  &h->counter_index, err, errlen)) != 0)
			goto out;
		if ((r = tpm2_host_seal(h->t2, secret, slen, o->seal_pcrs, &blob, err, errlen)) !=
		    0)
			goto out;
	} else {
		memcpy(srk, o->srk_auth, HOST_AUTH_LEN);
		if (!o->srk_auth_set)
			memset(srk, 0, HOST_AUTH_LEN);
		if ((r = tpm12_host_owned(h->t12, &owned, err, errlen)) != 0)
			goto out;
		if (o->owner_mode == OWNER_AUTH_RANDOM) {
			if (owned) {
				r = VERR_TPM_AUTH;
				seterr(err, errlen, "the TPM 1.2 already has an owner: give its "
				       "owner auth with --owner-auth hex:... (or well-known)");
				goto out;
			}
			if (crypto_random(owner, sizeof(owner)) != 0) {
				r = VERR_CRYPTO;
				seterr(err, errlen, "cannot get randomness from OpenSSL");
				goto out;
			}
		} else {
			memcpy(owner, o->owner_auth, HOST_AUTH_LEN);
		}
		h->owner_well_known = o->owner_mode == OWNER_AUTH_WELL_KNOWN;
		if (!owned &&
		    (r = tpm12_host_take_ownership(h->t12, owner, srk, err, errlen)) != 0)
			goto out;
		if ((r = tpm12_host_counter_create(h->t12, owner, h->counter_auth,
						   &h->counter_index, &cval, err, errlen)) != 0)
			goto out;
		memcpy(secret + slen, owner, HOST_AUTH_LEN);
		slen += HOST_AUTH_LEN;
		if ((r = tpm12_host_seal(h->t12, srk, secret, slen, o->seal_pcrs, &blob, err,
					 errlen)) != 0)
			goto out;
	}
	h->has_counter = 1;
	h->seal_pcrs = o->seal_pcrs;

	ms.tpm_version = (uint8_t)h->tpm_version;
	ms.flags = h->owner_well_known ? MASTER_SEALED_FLAG_OWNER_WELL_KNOWN : 0;
	ms.pcr_mask = o->seal_pcrs;
	ms.counter_index = h->counter_index;
	ms.blob = buf_ptr(&blob);
	ms.bloblen = buf_avail(&blob);
	if ((r = master_sealed_put(&ms, key, &file, err, errlen)) != 0)
		goto out;
	if ((r = file_write_atomic(dirfd, HOST_SEALED_NAME, buf_ptr(&file), buf_avail(&file),
				   0600)) != 0) {
		seterr(err, errlen, "cannot write %s: %s", HOST_SEALED_NAME, strerror(-r));
		r = VERR_IO;
		goto out;
	}
	r = 0;
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(tpmrand, sizeof(tpmrand));
	OPENSSL_cleanse(owner, sizeof(owner));
	OPENSSL_cleanse(srk, sizeof(srk));
	if (r != 0)
		OPENSSL_cleanse(key, MASTER_LEN);
	buf_free(&blob);
	buf_free(&file);
	return r;
}

/* Later starts: unseal, then authenticate the file's header. */
static int
open_sealed(struct host_tpm *h, const struct host_tpm_opts *o, const uint8_t *file,
	    size_t flen, uint8_t key[MASTER_LEN], char *err, size_t errlen)
{
	uint8_t secret[MASTER_LEN + 32 + HOST_AUTH_LEN], srk[HOST_AUTH_LEN];
	struct master_sealed ms;
	size_t slen = 0, want;
	char pcrs[80];
	int r;

	/* Only the layout so far: nothing here is authentic until the MAC
	 * checks out with the key the TPM unseals. */
	if ((r = master_sealed_parse(file, flen, &ms, err, errlen)) != 0)
		return r;
	if (ms.tpm_version != h->tpm_version) {
		seterr(err, errlen, "this state directory was sealed by a TPM %s, but the host "
		       "TPM is a TPM %s: it belongs to another machine or TPM",
		       ms.tpm_version == 1 ? "1.2" : "2.0", h->tpm_version == 1 ? "1.2" : "2.0");
		return VERR_WRONG_TPM;
	}
	h->owner_well_known = (ms.flags & MASTER_SEALED_FLAG_OWNER_WELL_KNOWN) != 0;
	h->seal_pcrs = ms.pcr_mask;
	h->counter_index = ms.counter_index;
	pcr_list(h->seal_pcrs, pcrs, sizeof(pcrs));
	if (o->seal_pcrs != h->seal_pcrs) {
		char want_pcrs[80];
		pcr_list(o->seal_pcrs, want_pcrs, sizeof(want_pcrs));
		seterr(err, errlen, "the master key is sealed to PCRs %s but --seal-pcrs asks for "
		       "%s; start with --seal-pcrs %s (resealing is not supported)",
		       pcrs, want_pcrs, pcrs);
		return VERR_INVAL;
	}
	if (h->tpm_version == 2) {
		r = tpm2_host_unseal(h->t2, ms.blob, ms.bloblen, secret, &slen, sizeof(secret), err,
				     errlen);
		want = MASTER_LEN + 32;
	} else {
		memcpy(srk, o->srk_auth, HOST_AUTH_LEN);
		if (!o->srk_auth_set)
			memset(srk, 0, HOST_AUTH_LEN);
		r = tpm12_host_unseal(h->t12, srk, ms.blob, ms.bloblen, secret, &slen,
				      sizeof(secret), err, errlen);
		OPENSSL_cleanse(srk, sizeof(srk));
		want = MASTER_LEN + HOST_AUTH_LEN + HOST_AUTH_LEN;
	}
	if (r == VERR_PCR) {
		seterr(err, errlen, "the host's PCR values (%s) differ from those the master key "
		       "was sealed to: the platform's boot chain changed. Boot the configuration "
		       "the key was sealed under; until then no vTPM state can be opened", pcrs);
		return r;
	}
	if (r != 0)
		return r;
	if (slen != want) {
		OPENSSL_cleanse(secret, sizeof(secret));
		seterr(err, errlen, "%s unsealed to an unexpected size", HOST_SEALED_NAME);
		return VERR_FORMAT;
	}
	memcpy(key, secret, MASTER_LEN);
	h->counter_auth_len = h->tpm_version == 2 ? 32 : HOST_AUTH_LEN;
	memcpy(h->counter_auth, secret + MASTER_LEN, h->counter_auth_len);
	OPENSSL_cleanse(secret, sizeof(secret));
	if ((r = master_sealed_verify(file, flen, key, err, errlen)) != 0) {
		OPENSSL_cleanse(key, MASTER_LEN);
		return r;
	}
	h->has_counter = 1;
	return 0;
}

int
host_tpm_unlock(struct host_tpm *h, const struct host_tpm_opts *o, int state_dirfd,
		int state_has_data, uint8_t key[32], int *created, char *err, size_t errlen)
{
	uint8_t *file = NULL;
	size_t flen = 0;
	int r;

	*created = 0;
	if (h->kind == HOST_TPM_KEYFILE) {
		if (state_has_data && access(h->path, F_OK) != 0) {
			seterr(err, errlen, "key file %s is missing but the state directory holds "
			       "vTPM state sealed under it; restore the key file (a new key would "
			       "make that state unreadable)", h->path);
			return VERR_NOENT;
		}
		return host_tpm_master_key(h, key, created, err, errlen);
	}
	if ((r = probe_version(h, err, errlen)) != 0 || (r = tpm_connect(h, err, errlen)) != 0) {
		host_tpm_close(h);
		return r;
	}
	r = file_read_all(state_dirfd, HOST_SEALED_NAME, SEALED_FILE_MAX, &file, &flen);
	if (r == -ENOENT) {
		if (state_has_data) {
			seterr(err, errlen, "the state directory holds vTPM state but no %s; "
			       "refusing to create a new master key over it (restore %s from "
			       "backup)", HOST_SEALED_NAME, HOST_SEALED_NAME);
			host_tpm_close(h);
			return VERR_NOENT;
		}
		r = create_sealed(h, o, state_dirfd, key, 0, err, errlen);
		if (r == 0)
			*created = 1;
	} else if (r != 0) {
		seterr(err, errlen, "cannot read %s: %s", HOST_SEALED_NAME, strerror(-r));
		r = VERR_IO;
	} else {
		r = open_sealed(h, o, file, flen, key, err, errlen);
		freezero(file, flen);
	}
	if (r != 0)
		host_tpm_close(h);
	return r;
}

int
host_tpm_reseal(struct host_tpm *h, const struct host_tpm_opts *o, int state_dirfd,
		const uint8_t key[32], char *err, size_t errlen)
{
	uint8_t k[MASTER_LEN];
	int r;

	if (h->kind == HOST_TPM_KEYFILE) {
		seterr(err, errlen, "recovery reseals to a host TPM; keyfile mode has none");
		return VERR_INVAL;
	}
	if ((r = probe_version(h, err, errlen)) != 0 || (r = tpm_connect(h, err, errlen)) != 0) {
		host_tpm_close(h);
		return r;
	}
	memcpy(k, key, MASTER_LEN);
	r = create_sealed(h, o, state_dirfd, k, 1, err, errlen);
	OPENSSL_cleanse(k, sizeof(k));
	if (r != 0)
		host_tpm_close(h);
	return r;
}

int
host_tpm_counter_read(struct host_tpm *h, uint64_t *value, char *err, size_t errlen)
{
	if (!h->has_counter) {
		seterr(err, errlen, "no rollback counter (keyfile mode)");
		return VERR_INVAL;
	}
	if (h->tpm_version == 2)
		return tpm2_host_counter_read(h->t2, h->counter_index, value, err, errlen);
	return tpm12_host_counter_read(h->t12, h->counter_index, value, err, errlen);
}

int
host_tpm_counter_increment(struct host_tpm *h, uint64_t *value, char *err, size_t errlen)
{
	if (!h->has_counter) {
		seterr(err, errlen, "no rollback counter (keyfile mode)");
		return VERR_INVAL;
	}
	if (h->tpm_version == 2)
		return tpm2_host_counter_increment(h->t2, h->counter_index, h->counter_auth,
						   h->counter_auth_len, value, err, errlen);
	return tpm12_host_counter_increment(h->t12, h->counter_index, h->counter_auth, value,
					    err, errlen);
}

void
host_tpm_close(struct host_tpm *h)
{
	if (h->t2 != NULL)
		tpm2_host_close(h->t2);
	if (h->t12 != NULL)
		tpm12_host_close(h->t12);
	h->t2 = NULL;
	h->t12 = NULL;
	OPENSSL_cleanse(h->counter_auth, sizeof(h->counter_auth));
	h->has_counter = 0;
}
