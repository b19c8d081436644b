/*
 * fuzz_tpm2_sealed.c - tcs/tpm2_sealed.c tpm2_sealed_parse(), the parser
 * of the TPM 2.0 sealed blob inside master.sealed (what tpm2_host_unseal
 * reads from disk before anything reaches the TPM).
 *
 * Input: the blob, raw.
 * Invariants: a refused blob is VERR_FORMAT with a reason; an accepted
 * one has a defined header (parent kind 1 or 2, PCR mask within 0..23)
 * and a keyed-hash public area, and tpm2_sealed_put() writes it back byte
 * for byte (the format has no slack: every field is kept whole, the
 * TPM2B_PUBLIC's size must equal what its TPMT consumes, and nothing may
 * follow the private area, so there is exactly one encoding per value).
 *
 * Seeds (FUZZ_WRITE_SEEDS=DIR, see common.h) are made by tpm2_sealed_put
 * from the public area tpm2_host_seal creates: without and with a PCR
 * policy, under either parent, and with name and private area at their
 * smallest and largest.  swtpm-* are two blobs a real swtpm (TPM 2.0)
 * sealed through tpm2_host_seal, without and with a PCR 16 policy; they
 * are kept as they are.
 */
#include "tests/fuzz/common.h"
#include "tcs/tpm2_sealed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct tpm2_sealed *parsed;
static struct buf out;

static void
sample(struct tpm2_sealed *s, uint8_t kind, uint32_t mask, uint16_t namelen, uint16_t privlen)
{
	TPMT_PUBLIC *pa = &s->pub.publicArea;

	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->mask = mask;
	s->pname.size = namelen;
	for (uint16_t i = 0; i < namelen; i++)
		s->pname.name[i] = (uint8_t)(0x40 + i);
	s->pname.name[0] = 0x00; /* TPM2_ALG_SHA256 */
	s->pname.name[1] = 0x0b;
	pa->type = TPM2_ALG_KEYEDHASH;
	pa->nameAlg = TPM2_ALG_SHA256;
	pa->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT;
	pa->parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
	if (mask == 0) {
		pa->objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
	} else {
		pa->authPolicy.size = 32;
		memset(pa->authPolicy.buffer, 0xa7, 32);
	}
	pa->unique.keyedHash.size = 32;
	memset(pa->unique.keyedHash.buffer, 0x3c, 32);
	s->priv.size = privlen;
	for (uint16_t i = 0; i < privlen; i++)
		s->priv.buffer[i] = (uint8_t)(i * 13 + 1);
}

static void
seed(const char *name, uint8_t kind, uint32_t mask, uint16_t namelen, uint16_t privlen)
{
	struct tpm2_sealed s;
	char err[128];

	sample(&s, kind, mask, namelen, privlen);
	buf_reset(&out);
	if (tpm2_sealed_put(&s, &out, err, sizeof(err)) != 0) {
		fprintf(stderr, "seed %s: %s\n", name, err);
		abort();
	}
	fz_seed(name, out.d, out.len);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	parsed = malloc(sizeof(*parsed));
	if (parsed == NULL)
		abort();
	buf_init(&out, TPM2_SEALED_MAX);
	if (fz_seed_dir() != NULL) {
		/* 190: the private area swtpm returns for the 64-byte secret
		 * host_seal.c seals (integrity HMAC, IV, encrypted sensitive). */
		seed("primary-no-pcr", TPM2_SEALED_PARENT_PRIMARY, 0, 34, 190);
		seed("persistent-pcr", TPM2_SEALED_PARENT_PERSISTENT, 1u << 16 | 1u << 7, 34, 190);
		seed("smallest", TPM2_SEALED_PARENT_PRIMARY, 0, 2, 1);
		seed("largest", TPM2_SEALED_PARENT_PERSISTENT, TPM2_SEALED_PCR_MASK_ALL,
		     sizeof(parsed->pname.name), sizeof(parsed->priv.buffer));
		exit(0);
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *blob = fz_dup(data, size);
	char err[256] = "";
	int r;

	r = tpm2_sealed_parse(blob, size, parsed, err, sizeof(err));
	if (r != 0) {
		FZ_CHECK(r == VERR_FORMAT, "parse returned %d (%s)", r, err);
		FZ_CHECK(err[0] != '\0', "refused without a reason");
		free(blob);
		return 0;
	}
	FZ_CHECK(size >= TPM2_SEALED_HDR_LEN && size <= TPM2_SEALED_MAX, "accepted %zu bytes",
		 size);
	FZ_CHECK(parsed->kind == TPM2_SEALED_PARENT_PERSISTENT ||
			 parsed->kind == TPM2_SEALED_PARENT_PRIMARY,
		 "parent kind %u", parsed->kind);
	FZ_CHECK((parsed->mask & ~TPM2_SEALED_PCR_MASK_ALL) == 0, "mask 0x%x", parsed->mask);
	FZ_CHECK(parsed->pname.size >= 2 && parsed->pname.size <= sizeof(parsed->pname.name),
		 "name size %u", parsed->pname.size);
	FZ_CHECK(parsed->priv.size >= 1 && parsed->priv.size <= sizeof(parsed->priv.buffer),
		 "private size %u", parsed->priv.size);
	FZ_CHECK(parsed->pub.publicArea.type == TPM2_ALG_KEYEDHASH, "type 0x%x",
		 parsed->pub.publicArea.type);
	FZ_CHECK((parsed->mask != 0) == (parsed->pub.publicArea.authPolicy.size != 0),
		 "mask 0x%x with a policy of %u bytes", parsed->mask,
		 parsed->pub.publicArea.authPolicy.size);

	/* Parse, then build: the same bytes. */
	buf_reset(&out);
	r = tpm2_sealed_put(parsed, &out, err, sizeof(err));
	FZ_CHECK(r == 0, "an accepted blob does not build again: %s", err);
	FZ_CHECK(out.len == size, "rebuilt %zu bytes from %zu", out.len, size);
	FZ_CHECK(memcmp(out.d, blob, size) == 0, "rebuilt blob differs");
	free(blob);
	return 0;
}
