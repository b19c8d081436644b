/*
 * tpm2_sealed.c - the TPM 2.0 sealed blob format; see tpm2_sealed.h.
 *
 * Owns: no state.  Trusts: nothing in a blob (it comes from disk).  Every
 * length field is read through util/buf.h, whose readers refuse to pass
 * the end of the blob, and is then held to an exact bound here; the only
 * copies out of the blob go into fixed TPM2B buffers after their size was
 * checked against that buffer.  tss2_mu unmarshals the public area inside
 * the bytes its TPM2B size names, never past them.
 */
#include "tcs/tpm2_sealed.h"

#include <stdio.h>
#include <string.h>

#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>

int
tpm2_sealed_put(const struct tpm2_sealed *s, struct buf *out, char *err, size_t errlen)
{
	uint8_t b[TPM2_SEALED_MAX];
	size_t off = TPM2_SEALED_HDR_LEN;
	TSS2_RC rc;

	memcpy(b, TPM2_SEALED_MAGIC, 4);
	be16_put(b + 4, TPM2_SEALED_VERSION);
	b[6] = s->kind;
	b[7] = 0;
	be32_put(b + 8, s->mask);
	rc = Tss2_MU_TPM2B_NAME_Marshal(&s->pname, b, sizeof(b), &off);
	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_MU_TPM2B_PUBLIC_Marshal(&s->pub, b, sizeof(b), &off);
	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_MU_TPM2B_PRIVATE_Marshal(&s->priv, b, sizeof(b), &off);
	if (rc != TSS2_RC_SUCCESS) {
		snprintf(err, errlen, "marshalling the sealed blob: %s", Tss2_RC_Decode(rc));
		return VERR_INVAL;
	}
	/* One write, so out is untouched unless the whole blob fits. */
	if (buf_put_bytes(out, b, off) != 0) {
		snprintf(err, errlen, "the sealed blob (%zu bytes) does not fit the output buffer",
			 off);
		return VERR_NOSPACE;
	}
	return 0;
}

/* Takes the next u16-sized field; its bytes stay in the caller's blob.
 * Fails unless all n bytes the size announces are there. */
static int
get_sized(struct buf *b, const uint8_t **p, uint16_t *n)
{
	if (buf_get_u16(b, n) != 0 || buf_get_direct(b, p, *n) != 0)
		return -1;
	return 0;
}

int
tpm2_sealed_parse(const uint8_t *blob, size_t len, struct tpm2_sealed *s, char *err,
		  size_t errlen)
{
	const TPMA_OBJECT need = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT;
	const TPMA_OBJECT never = TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_DECRYPT |
				  TPMA_OBJECT_RESTRICTED;
	struct buf b;
	const uint8_t *p;
	const TPMT_PUBLIC *pa;
	uint8_t magic[4], kind, reserved;
	uint16_t version, n;
	size_t off = 0;

	memset(s, 0, sizeof(*s));
	if (blob == NULL || len < TPM2_SEALED_HDR_LEN) {
		snprintf(err, errlen, "TPM 2.0 sealed blob: truncated (%zu bytes)",
			 blob == NULL ? 0 : len);
		return VERR_FORMAT;
	}
	buf_init_reader(&b, blob, len);
	if (buf_get_bytes(&b, magic, 4) != 0 || memcmp(magic, TPM2_SEALED_MAGIC, 4) != 0) {
		snprintf(err, errlen, "not a TPM 2.0 sealed blob (bad magic)");
		return VERR_FORMAT;
	}
	if (buf_get_u16(&b, &version) != 0 || version != TPM2_SEALED_VERSION) {
		snprintf(err, errlen, "TPM 2.0 sealed blob: unknown version %u", (unsigned)version);
		return VERR_FORMAT;
	}
	if (buf_get_u8(&b, &kind) != 0 || buf_get_u8(&b, &reserved) != 0 ||
	    buf_get_u32(&b, &s->mask) != 0 || reserved != 0 ||
	    (kind != TPM2_SEALED_PARENT_PERSISTENT && kind != TPM2_SEALED_PARENT_PRIMARY) ||
	    (s->mask & ~TPM2_SEALED_PCR_MASK_ALL)) {
		snprintf(err, errlen, "TPM 2.0 sealed blob: bad header");
		return VERR_FORMAT;
	}
	s->kind = kind;

	/* A Name is at least its hash algorithm (2 bytes). */
	if (get_sized(&b, &p, &n) != 0 || n < 2 || n > sizeof(s->pname.name)) {
		snprintf(err, errlen, "TPM 2.0 sealed blob: bad parent name");
		return VERR_FORMAT;
	}
	s->pname.size = n;
	memcpy(s->pname.name, p, n);

	/* The TPM2B's size must be exactly what the TPMT inside consumes. */
	if (get_sized(&b, &p, &n) != 0 || n == 0 ||
	    Tss2_MU_TPMT_PUBLIC_Unmarshal(p, n, &off, &s->pub.publicArea) != TSS2_RC_SUCCESS ||
	    off != n) {
		snprintf(err, errlen, "TPM 2.0 sealed blob: bad public area");
		return VERR_FORMAT;
	}
	s->pub.size = n;

	if (get_sized(&b, &p, &n) != 0 || n == 0 || n > sizeof(s->priv.buffer)) {
		snprintf(err, errlen, "TPM 2.0 sealed blob: bad private area");
		return VERR_FORMAT;
	}
	s->priv.size = n;
	memcpy(s->priv.buffer, p, n);
	if (buf_avail(&b) != 0) {
		snprintf(err, errlen, "TPM 2.0 sealed blob: %zu bytes after the private area",
			 buf_avail(&b));
		return VERR_FORMAT;
	}

	/* Only what tpm2_host_seal makes: a keyed-hash data object whose
	 * authorisation matches the mask in the header. */
	pa = &s->pub.publicArea;
	if (pa->type != TPM2_ALG_KEYEDHASH || pa->nameAlg != TPM2_ALG_SHA256 ||
	    (pa->objectAttributes & need) != need || (pa->objectAttributes & never) != 0 ||
	    pa->parameters.keyedHashDetail.scheme.scheme != TPM2_ALG_NULL) {
		snprintf(err, errlen, "TPM 2.0 sealed blob: not a sealed data object");
		return VERR_FORMAT;
	}
	if (s->mask != 0 ? ((pa->objectAttributes & TPMA_OBJECT_USERWITHAUTH) != 0 ||
			    pa->authPolicy.size != 32)
			 : ((pa->objectAttributes & TPMA_OBJECT_USERWITHAUTH) == 0 ||
			    pa->authPolicy.size != 0)) {
		snprintf(err, errlen, "TPM 2.0 sealed blob: PCR mask and policy disagree");
		return VERR_FORMAT;
	}
	return 0;
}
