/*
 * transport.c - the host-to-host export file; see transport.h for the
 * format and key agreement.  Pure functions.  Trusts nothing it parses:
 * exact lengths, both embedded keys must be valid P-384 points, the
 * destination fingerprint is compared before any key work, and nothing of
 * the plaintext is returned unless the GCM tag verified.
 */
#include "crypto/transport.h"
#include "crypto/aead.h"

#include <string.h>

#include <openssl/crypto.h>

#define FIXED_HDR (8 + 2 + 1 + 1 + UUID_LEN + PKEY_FP_LEN)
#define Z_MAX 66 /* P-384 shared secret is 48 bytes */

struct parsed {
	const uint8_t *src, *eph, *nonce, *ct, *tag;
	uint16_t src_len, eph_len;
	uint32_t ctlen;
	size_t aad_len;
};

static int
parse(const uint8_t *file, size_t len, struct xfer_hdr *h, struct parsed *ps)
{
	struct buf b;
	const uint8_t *magic, *uuid, *fp;
	uint16_t ver;
	uint8_t tpm, flags;

	if (file == NULL || len > XFER_FILE_MAX)
		return VERR_FORMAT;
	buf_init_reader(&b, file, len);
	if (buf_get_direct(&b, &magic, 8) != 0 || memcmp(magic, XFER_MAGIC, 8) != 0 ||
	    buf_get_u16(&b, &ver) != 0 || ver != XFER_VERSION || buf_get_u8(&b, &tpm) != 0 ||
	    (tpm != 1 && tpm != 2) || buf_get_u8(&b, &flags) != 0 || flags != 0 ||
	    buf_get_direct(&b, &uuid, UUID_LEN) != 0 || buf_get_direct(&b, &fp, PKEY_FP_LEN) != 0)
		return VERR_FORMAT;
	if (buf_get_u16(&b, &ps->src_len) != 0 || ps->src_len == 0 ||
	    ps->src_len > PKEY_SPKI_MAX || buf_get_direct(&b, &ps->src, ps->src_len) != 0 ||
	    buf_get_u16(&b, &ps->eph_len) != 0 || ps->eph_len == 0 ||
	    ps->eph_len > PKEY_SPKI_MAX || buf_get_direct(&b, &ps->eph, ps->eph_len) != 0 ||
	    buf_get_direct(&b, &ps->nonce, AEAD_NONCE_LEN) != 0 ||
	    buf_get_u32(&b, &ps->ctlen) != 0 || ps->ctlen > XFER_PT_MAX)
		return VERR_FORMAT;
	ps->aad_len = b.off;
	if (buf_get_direct(&b, &ps->ct, ps->ctlen) != 0 ||
	    buf_get_direct(&b, &ps->tag, AEAD_TAG_LEN) != 0 || buf_avail(&b) != 0)
		return VERR_FORMAT;
	h->tpm_version = tpm;
	memcpy(h->uuid, uuid, UUID_LEN);
	memcpy(h->dest_fp, fp, PKEY_FP_LEN);
	return 0;
}

/* A P-384 public key from an SPKI in the file, or NULL. */
static EVP_PKEY *
p384_from(const uint8_t *p, size_t len)
{
	EVP_PKEY *k = pkey_pub_from_der(p, len);

	if (k != NULL && pkey_kind(k, NULL) != PKEY_P384) {
		EVP_PKEY_free(k);
		k = NULL;
	}
	return k;
}

int
transport_peek(const uint8_t *file, size_t len, struct xfer_hdr *h)
{
	struct parsed ps;
	EVP_PKEY *src;
	int r;

	memset(h, 0, sizeof(*h));
	if ((r = parse(file, len, h, &ps)) != 0)
		return r;
	if ((src = p384_from(ps.src, ps.src_len)) == NULL)
		return VERR_FORMAT;
	r = pkey_fingerprint(src, h->src_fp) == 0 ? 0 : VERR_CRYPTO;
	EVP_PKEY_free(src);
	return r;
}

/* key = HKDF(Ze || Zs). */
static int
derive(EVP_PKEY *a_priv, EVP_PKEY *a_peer, EVP_PKEY *b_priv, EVP_PKEY *b_peer,
       uint8_t key[AEAD_KEY_LEN])
{
	static const uint8_t salt[] = "vtpm-manager/v1", info[] = "export-key";
	uint8_t z[2 * Z_MAX];
	size_t ze = 0, zs = 0;
	int r = VERR_CRYPTO;

	if (pkey_ecdh(a_priv, a_peer, z, Z_MAX, &ze) == 0 &&
	    pkey_ecdh(b_priv, b_peer, z + ze, Z_MAX, &zs) == 0 &&
	    hkdf_sha256(z, ze + zs, salt, sizeof(salt) - 1, info, sizeof(info) - 1, key,
			AEAD_KEY_LEN) == 0)
		r = 0;
	OPENSSL_cleanse(z, sizeof(z));
	return r;
}

int
transport_seal(EVP_PKEY *src_priv, EVP_PKEY *dest_pub, uint8_t tpm_version,
	       const uint8_t uuid[UUID_LEN], const struct xfer_blob *blobs, size_t n,
	       struct buf *out)
{
	uint8_t key[AEAD_KEY_LEN], nonce[AEAD_NONCE_LEN], fp[PKEY_FP_LEN], *hdr, *ct;
	struct buf src, eph, pt;
	EVP_PKEY *e = NULL;
	size_t start = out->len, aad_len;
	int r = VERR_NOMEM, have_perm = 0;

	buf_init(&src, PKEY_SPKI_MAX);
	buf_init(&eph, PKEY_SPKI_MAX);
	buf_init(&pt, XFER_PT_MAX);
	if ((tpm_version != 1 && tpm_version != 2) || n == 0 || n > 4 ||
	    pkey_kind(dest_pub, NULL) != PKEY_P384 || pkey_kind(src_priv, NULL) != PKEY_P384) {
		r = VERR_FORMAT;
		goto out;
	}
	if (buf_put_u8(&pt, (uint8_t)n) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (blobs[i].type < XFER_PERMALL || blobs[i].type > XFER_EKINFO ||
		    blobs[i].len == 0 || blobs[i].len > XFER_BLOB_MAX) {
			r = VERR_FORMAT;
			goto out;
		}
		have_perm |= blobs[i].type == XFER_PERMALL;
		if (buf_put_u8(&pt, blobs[i].type) != 0 ||
		    buf_put_u32(&pt, (uint32_t)blobs[i].len) != 0 ||
		    buf_put_bytes(&pt, blobs[i].p, blobs[i].len) != 0)
			goto out;
	}
	if (!have_perm) {
		r = VERR_FORMAT;
		goto out;
	}
	r = VERR_CRYPTO;
	if ((e = pkey_gen_p384()) == NULL || pkey_pub_der(src_priv, &src) != 0 ||
	    pkey_pub_der(e, &eph) != 0 || pkey_fingerprint(dest_pub, fp) != 0 ||
	    crypto_random(nonce, sizeof(nonce)) != 0 ||
	    derive(e, dest_pub, src_priv, dest_pub, key) != 0)
		goto out;
	r = VERR_NOMEM;
	if (buf_put_bytes(out, XFER_MAGIC, 8) != 0 || buf_put_u16(out, XFER_VERSION) != 0 ||
	    buf_put_u8(out, tpm_version) != 0 || buf_put_u8(out, 0) != 0 ||
	    buf_put_bytes(out, uuid, UUID_LEN) != 0 || buf_put_bytes(out, fp, PKEY_FP_LEN) != 0 ||
	    buf_put_u16(out, (uint16_t)src.len) != 0 || buf_put_bytes(out, src.d, src.len) != 0 ||
	    buf_put_u16(out, (uint16_t)eph.len) != 0 || buf_put_bytes(out, eph.d, eph.len) != 0 ||
	    buf_put_bytes(out, nonce, sizeof(nonce)) != 0 ||
	    buf_put_u32(out, (uint32_t)pt.len) != 0)
		goto fail;
	aad_len = out->len - start;
	if (buf_reserve(out, pt.len + AEAD_TAG_LEN, &ct) != 0)
		goto fail;
	hdr = out->d + start; /* after the reserve: storage may have moved */
	if (aead_seal(key, nonce, hdr, aad_len, pt.d, pt.len, ct, ct + pt.len) != 0) {
		r = VERR_CRYPTO;
		goto fail;
	}
	r = 0;
	goto out;
fail:
	if (out->len > start)
		OPENSSL_cleanse(out->d + start, out->len - start);
	out->len = start;
out:
	OPENSSL_cleanse(key, sizeof(key));
	EVP_PKEY_free(e);
	buf_free(&src);
	buf_free(&eph);
	buf_free(&pt);
	return r;
}

int
transport_open(EVP_PKEY *dest_priv, const uint8_t *file, size_t len, struct xfer_hdr *h,
	       struct buf *pt)
{
	uint8_t key[AEAD_KEY_LEN], fp[PKEY_FP_LEN], *dst;
	EVP_PKEY *src = NULL, *eph = NULL;
	struct parsed ps;
	int r;

	memset(h, 0, sizeof(*h));
	if ((r = parse(file, len, h, &ps)) != 0)
		return r;
	if (pkey_fingerprint(dest_priv, fp) != 0)
		return VERR_CRYPTO;
	if (CRYPTO_memcmp(fp, h->dest_fp, PKEY_FP_LEN) != 0)
		return VERR_OTHERKEY;
	if ((src = p384_from(ps.src, ps.src_len)) == NULL ||
	    (eph = p384_from(ps.eph, ps.eph_len)) == NULL) {
		r = VERR_FORMAT;
		goto out;
	}
	if (pkey_fingerprint(src, h->src_fp) != 0 ||
	    derive(dest_priv, eph, dest_priv, src, key) != 0) {
		r = VERR_CRYPTO;
		goto out;
	}
	if (ps.ctlen == 0 || buf_reserve(pt, ps.ctlen, &dst) != 0) {
		r = ps.ctlen == 0 ? VERR_FORMAT : VERR_NOMEM;
		goto out;
	}
	if (aead_open(key, ps.nonce, file, ps.aad_len, ps.ct, ps.ctlen, ps.tag, dst) != 0) {
		OPENSSL_cleanse(dst, ps.ctlen);
		pt->len -= ps.ctlen;
		r = VERR_AUTH;
		goto out;
	}
	r = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	EVP_PKEY_free(src);
	EVP_PKEY_free(eph);
	return r;
}

int
transport_payload(const uint8_t *pt, size_t len, struct xfer_blob out[4], size_t *n)
{
	struct buf b;
	uint8_t count, seen = 0;
	uint32_t l;

	*n = 0;
	buf_init_reader(&b, pt, len);
	if (buf_get_u8(&b, &count) != 0 || count == 0 || count > 4)
		return VERR_FORMAT;
	for (unsigned i = 0; i < count; i++) {
		if (buf_get_u8(&b, &out[i].type) != 0 || out[i].type < XFER_PERMALL ||
		    out[i].type > XFER_EKINFO || (seen & (1u << out[i].type)) != 0 ||
		    buf_get_u32(&b, &l) != 0 || l == 0 || l > XFER_BLOB_MAX ||
		    buf_get_direct(&b, &out[i].p, l) != 0)
			return VERR_FORMAT;
		seen |= (uint8_t)(1u << out[i].type);
		out[i].len = l;
	}
	if (buf_avail(&b) != 0 || !(seen & (1u << XFER_PERMALL)))
		return VERR_FORMAT;
	*n = count;
	return 0;
}
