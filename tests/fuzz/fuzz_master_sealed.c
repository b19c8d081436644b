/*
 * fuzz_master_sealed.c - tcs/master_sealed.c, the parser and MAC check of
 * <state-dir>/master.sealed (what host_seal.c's open_sealed reads before
 * it asks the TPM anything), and the TPM blob parsers open_sealed hands
 * the blob to before the TPM sees it: tpm2_sealed_parse (TPM 2.0) and
 * tpm12_stored_data_len (TPM 1.2, as tpm12_host_unseal checks it).
 *
 * Input: u8 flags | file.  flags:
 *   bit 0  "fix MAC": the last 32 bytes are replaced by the MAC under the
 *          harness's master key, so the fuzzer gets past authentication
 *   bit 1  "fix length": bytes 20..23 are set to what the file holds
 *          between header and MAC
 * Invariants: a refused file is VERR_FORMAT with a reason; an accepted
 * one is exactly the documented layout (its fields are the file's bytes,
 * the blob lies between header and MAC); it verifies under the harness
 * key iff its MAC is that key's (always after bit 0), never under another
 * key (a MAC that does not verify is VERR_AUTH); master_sealed_put() of what was parsed writes back the same bytes
 * when the MAC verified, and the same header and blob otherwise (the MAC
 * cannot round-trip without the key it was made with).  An inner TPM 2.0
 * blob that parses builds back to itself; a TPM 1.2 stored-data length
 * never exceeds the blob.
 *
 * Seeds (FUZZ_WRITE_SEEDS=DIR, see common.h) are files master_sealed_put
 * made around a TPM 2.0 blob from tpm2_sealed_put and around a TPM 1.2
 * TPM_STORED_DATA in both its forms; swtpm2-file is a master.sealed
 * host_seal.c wrote on a real swtpm (its MAC is under another key: the
 * seed sets bit 0), kept as it is.
 */
#include "tests/fuzz/common.h"
#include "tcs/master_sealed.h"
#include "tcs/tpm12_marshal.h"
#include "tcs/tpm2_sealed.h"

#include <openssl/evp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/aead.h"
#include "util/err.h"

#define HDR MASTER_SEALED_HDR_LEN
#define MAC MASTER_SEALED_MAC_LEN

static const uint8_t key[32] = { 0x6d, 0x61, 0x73, 0x74, 0x65, 0x72, 0x2e, 0x73, 1,  2, 3,
				 4,    5,    6,    7,    8,    9,    10,   11,   12,   13, 14,
				 15,   16,   17,   18,   19,   20,   21,   22,   23,   24 };
static const uint8_t other_key[32] = { 0x6f, 0x74, 0x68, 0x65, 0x72 };
static struct tpm2_sealed *inner;
static struct buf out;

/* The MAC master_sealed.c computes, independently (HKDF, then HMAC). */
static void
mac_of(const uint8_t *p, size_t len, uint8_t m[MAC])
{
	uint8_t k[32];
	size_t olen = 0;

	if (hkdf_sha256(key, 32, (const uint8_t *)"vtpm-manager/v1", 15,
			(const uint8_t *)"host-header", 11, k, sizeof(k)) != 0 ||
	    EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, k, sizeof(k), p, len, m, MAC, &olen) ==
		    NULL ||
	    olen != MAC)
		abort();
}

static void
seed_file(const char *name, uint8_t flags, uint8_t tpm_version, uint8_t fl,
	  const uint8_t *blob, size_t bloblen)
{
	struct master_sealed m = { .tpm_version = tpm_version,
				   .flags = fl,
				   .pcr_mask = 1u << 16,
				   .counter_index = tpm_version == 2 ? 0x01a56000u : 3,
				   .blob = blob,
				   .bloblen = bloblen };
	char err[128];

	buf_reset(&out);
	if (buf_put_u8(&out, flags) != 0 || master_sealed_put(&m, key, &out, err, sizeof(err)) != 0) {
		fprintf(stderr, "seed %s: %s\n", name, err);
		abort();
	}
	fz_seed(name, out.d, out.len);
}

static void
write_seeds(void)
{
	struct tpm2_sealed s;
	struct buf b;
	uint8_t sd[4 + 4 + 45 + 4 + 256];
	char err[128];

	memset(&s, 0, sizeof(s));
	s.kind = TPM2_SEALED_PARENT_PRIMARY;
	s.mask = 1u << 16;
	s.pname.size = 34;
	s.pname.name[1] = 0x0b;
	s.pub.publicArea.type = TPM2_ALG_KEYEDHASH;
	s.pub.publicArea.nameAlg = TPM2_ALG_SHA256;
	s.pub.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT;
	s.pub.publicArea.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
	s.pub.publicArea.authPolicy.size = 32;
	s.pub.publicArea.unique.keyedHash.size = 32;
	s.priv.size = 190;
	buf_init(&b, TPM2_SEALED_MAX);
	if (tpm2_sealed_put(&s, &b, err, sizeof(err)) != 0)
		abort();
	seed_file("tpm2", 0, 2, 0, b.d, b.len);
	seed_file("tpm2-fix-both", 3, 2, 0, b.d, b.len);
	buf_free(&b);

	/* TPM_STORED_DATA (ver 1.1.0.0): sealInfo = TPM_PCR_INFO (45 bytes),
	 * encData = one 2048-bit RSA block. */
	memset(sd, 0x5a, sizeof(sd));
	memcpy(sd, "\x01\x01\x00\x00", 4);
	be32_put(sd + 4, 45);
	be32_put(sd + 4 + 4 + 45, 256);
	seed_file("tpm12-stored-data", 0, 1, MASTER_SEALED_FLAG_OWNER_WELL_KNOWN, sd, sizeof(sd));
	/* TPM_STORED_DATA12: tag 0x0016 | entityType, no sealInfo. */
	memcpy(sd, "\x00\x16\x00\x01", 4);
	be32_put(sd + 4, 0);
	be32_put(sd + 8, 256);
	seed_file("tpm12-stored-data12", 0, 1, 0, sd, 12 + 256);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	inner = malloc(sizeof(*inner));
	if (inner == NULL)
		abort();
	buf_init(&out, MASTER_SEALED_FILE_MAX + 1);
	if (fz_seed_dir() != NULL) {
		write_seeds();
		exit(0);
	}
	return 0;
}

static void
check_inner(const struct master_sealed *m)
{
	char err[256] = "";
	size_t n = 0;
	int r;

	if (m->tpm_version == 1) {
		r = tpm12_stored_data_len(m->blob, m->bloblen, &n);
		FZ_CHECK(r == 0 || r == VERR_FORMAT, "tpm12_stored_data_len returned %d", r);
		FZ_CHECK(r != 0 || n <= m->bloblen, "stored data of %zu bytes in a blob of %zu", n,
			 m->bloblen);
		return;
	}
	r = tpm2_sealed_parse(m->blob, m->bloblen, inner, err, sizeof(err));
	if (r != 0) {
		FZ_CHECK(r == VERR_FORMAT && err[0] != '\0', "inner parse returned %d (%s)", r,
			 err);
		return;
	}
	buf_reset(&out);
	FZ_CHECK(tpm2_sealed_put(inner, &out, err, sizeof(err)) == 0, "inner put: %s", err);
	FZ_CHECK(out.len == m->bloblen && memcmp(out.d, m->blob, m->bloblen) == 0,
		 "inner blob does not build back to itself");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct master_sealed m;
	char err[256] = "";
	uint8_t flags, *f, want[MAC];
	size_t len;
	int r, mac_ok;

	if (size < 1)
		return 0;
	flags = data[0];
	len = size - 1;
	f = fz_dup(data + 1, len);
	if ((flags & 2) && len >= HDR + MAC)
		be32_put(f + 20, (uint32_t)(len - HDR - MAC));
	if ((flags & 1) && len >= HDR + MAC)
		mac_of(f, len - MAC, f + len - MAC);

	r = master_sealed_parse(f, len, &m, err, sizeof(err));
	if (r != 0) {
		FZ_CHECK(r == VERR_FORMAT, "parse returned %d (%s)", r, err);
		FZ_CHECK(err[0] != '\0', "refused without a reason");
		free(f);
		return 0;
	}
	FZ_CHECK(len > HDR + MAC && len <= MASTER_SEALED_FILE_MAX, "accepted %zu bytes", len);
	FZ_CHECK(memcmp(f, MASTER_SEALED_MAGIC, 8) == 0 && be16_get(f + 8) == 1, "magic/version");
	FZ_CHECK(m.tpm_version == f[10] && (m.tpm_version == 1 || m.tpm_version == 2),
		 "TPM version %u", m.tpm_version);
	FZ_CHECK(m.flags == f[11] && (m.flags & ~MASTER_SEALED_FLAG_OWNER_WELL_KNOWN) == 0,
		 "flags 0x%x", m.flags);
	FZ_CHECK(m.pcr_mask == be32_get(f + 12) && (m.pcr_mask >> 24) == 0, "mask 0x%x",
		 m.pcr_mask);
	FZ_CHECK(m.counter_index == be32_get(f + 16), "counter index");
	FZ_CHECK(m.blob == f + HDR && m.bloblen == len - HDR - MAC &&
			 m.bloblen == be32_get(f + 20),
		 "blob at %td, %zu bytes, in a file of %zu", m.blob - f, m.bloblen, len);

	mac_of(f, len - MAC, want);
	mac_ok = memcmp(want, f + len - MAC, MAC) == 0;
	r = master_sealed_verify(f, len, key, err, sizeof(err));
	FZ_CHECK((r == 0) == mac_ok, "verify returned %d, MAC %s", r, mac_ok ? "right" : "wrong");
	FZ_CHECK(r == 0 || r == VERR_AUTH, "verify returned %d (%s)", r, verr_str(r));
	FZ_CHECK(!(flags & 1) || r == 0, "a fixed-up MAC does not verify: %s", err);
	FZ_CHECK(master_sealed_verify(f, len, other_key, err, sizeof(err)) == VERR_AUTH,
		 "verified under another key");

	/* Parse, then build: the same bytes (all of them when the MAC was
	 * this key's). */
	buf_reset(&out);
	r = master_sealed_put(&m, key, &out, err, sizeof(err));
	FZ_CHECK(r == 0, "an accepted file does not build again: %s", err);
	FZ_CHECK(out.len == len, "rebuilt %zu bytes from %zu", out.len, len);
	FZ_CHECK(memcmp(out.d, f, len - MAC) == 0, "rebuilt header or blob differs");
	FZ_CHECK(!mac_ok || memcmp(out.d + len - MAC, f + len - MAC, MAC) == 0,
		 "rebuilt MAC differs");

	check_inner(&m);
	free(f);
	return 0;
}
