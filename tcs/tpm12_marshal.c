/*
 * tpm12_marshal.c - TPM 1.2 wire structures and authorisation arithmetic;
 * see tpm12_marshal.h.  Written from the TPM 1.2 specification (Part 1 §13
 * for OIAP/OSAP/ADIP, Part 2 for the structures, Part 3 for the commands).
 *
 * Owns: nothing.  Trusts: nothing in a response; every field is read through
 * a bounded util/buf.h cursor and every read is checked.  Only OpenSSL 3's
 * EVP digest and EVP_MAC interfaces are used (no deprecated SHA1()/HMAC()).
 */
#include "util/errmsg.h"
#include "tcs/tpm12_marshal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/bn.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

#include "util/tpm_frame.h"

void
tpm12_session_wipe(struct tpm12_session *s)
{
	OPENSSL_cleanse(s, sizeof(*s));
}

int
tpm12_sha1(const struct tpm12_iov *v, size_t n, uint8_t out[TPM12_DIGEST_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int outl = 0;
	int ok;

	if (ctx == NULL)
		return VERR_CRYPTO;
	ok = EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1;
	for (size_t i = 0; ok && i < n; i++)
		if (v[i].n != 0)
			ok = EVP_DigestUpdate(ctx, v[i].p, v[i].n) == 1;
	ok = ok && EVP_DigestFinal_ex(ctx, out, &outl) == 1 && outl == TPM12_DIGEST_LEN;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : VERR_CRYPTO;
}

int
tpm12_hmac_sha1(const uint8_t *key, size_t keylen, const struct tpm12_iov *v, size_t n,
		uint8_t out[TPM12_DIGEST_LEN])
{
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	size_t outl = 0;
	int ok = 0;

	mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
	if (mac == NULL)
		return VERR_CRYPTO;
	ctx = EVP_MAC_CTX_new(mac);
	if (ctx == NULL)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA1", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(ctx, key, keylen, params) != 1)
		goto out;
	ok = 1;
	for (size_t i = 0; ok && i < n; i++)
		if (v[i].n != 0)
			ok = EVP_MAC_update(ctx, v[i].p, v[i].n) == 1;
	ok = ok && EVP_MAC_final(ctx, out, &outl, TPM12_DIGEST_LEN) == 1 &&
	     outl == TPM12_DIGEST_LEN;
out:
	EVP_MAC_CTX_free(ctx); /* frees (and cleanses) the copied key */
	EVP_MAC_free(mac);
	return ok ? 0 : VERR_CRYPTO;
}

int
tpm12_osap_secret(const uint8_t entity_auth[TPM12_SECRET_LEN],
		  const uint8_t nonce_even_osap[TPM12_NONCE_LEN],
		  const uint8_t nonce_odd_osap[TPM12_NONCE_LEN], uint8_t out[TPM12_SECRET_LEN])
{
	const struct tpm12_iov v[] = {
		{ nonce_even_osap, TPM12_NONCE_LEN },
		{ nonce_odd_osap, TPM12_NONCE_LEN },
	};

	return tpm12_hmac_sha1(entity_auth, TPM12_SECRET_LEN, v, 2, out);
}

int
tpm12_enc_auth(const uint8_t shared[TPM12_SECRET_LEN], const uint8_t nonce_even[TPM12_NONCE_LEN],
	       const uint8_t auth[TPM12_SECRET_LEN], uint8_t out[TPM12_SECRET_LEN])
{
	const struct tpm12_iov v[] = {
		{ shared, TPM12_SECRET_LEN },
		{ nonce_even, TPM12_NONCE_LEN },
	};
	uint8_t pad[TPM12_DIGEST_LEN];

	if (tpm12_sha1(v, 2, pad) != 0)
		return VERR_CRYPTO;
	for (size_t i = 0; i < TPM12_SECRET_LEN; i++)
		out[i] = auth[i] ^ pad[i];
	OPENSSL_cleanse(pad, sizeof(pad));
	return 0;
}

int
tpm12_in_digest(uint32_t ordinal, const uint8_t *params, size_t len,
		uint8_t out[TPM12_DIGEST_LEN])
{
	uint8_t ord[4];
	struct tpm12_iov v[2];

	be32_put(ord, ordinal);
	v[0] = (struct tpm12_iov){ ord, 4 };
	v[1] = (struct tpm12_iov){ params, len };
	return tpm12_sha1(v, 2, out);
}

int
tpm12_out_digest(uint32_t rc, uint32_t ordinal, const uint8_t *params, size_t len,
		 uint8_t out[TPM12_DIGEST_LEN])
{
	uint8_t hdr[8];
	struct tpm12_iov v[2];

	be32_put(hdr, rc);
	be32_put(hdr + 4, ordinal);
	v[0] = (struct tpm12_iov){ hdr, 8 };
	v[1] = (struct tpm12_iov){ params, len };
	return tpm12_sha1(v, 2, out);
}

int
tpm12_auth_hmac(const uint8_t key[TPM12_SECRET_LEN], const uint8_t digest[TPM12_DIGEST_LEN],
		const uint8_t nonce_even[TPM12_NONCE_LEN], const uint8_t nonce_odd[TPM12_NONCE_LEN],
		uint8_t cont, uint8_t out[TPM12_DIGEST_LEN])
{
	const struct tpm12_iov v[] = {
		{ digest, TPM12_DIGEST_LEN },
		{ nonce_even, TPM12_NONCE_LEN },
		{ nonce_odd, TPM12_NONCE_LEN },
		{ &cont, 1 },
	};

	return tpm12_hmac_sha1(key, TPM12_SECRET_LEN, v, 4, out);
}

int
tpm12_build_cmd(struct buf *out, uint32_t ordinal, const uint32_t *handles, size_t nhandles,
		const uint8_t *params, size_t plen, struct tpm12_session *const *sess, size_t nsess,
		char *err, size_t errlen)
{
	uint8_t digest[TPM12_DIGEST_LEN], mac[TPM12_DIGEST_LEN];
	int r = 0;

	if (nsess > TPM12_MAX_SESSIONS) {
		seterr(err, errlen, "TPM 1.2 command with %zu sessions", nsess);
		return VERR_INVAL;
	}
	buf_reset(out);
	if (nsess != 0 && tpm12_in_digest(ordinal, params, plen, digest) != 0) {
		seterr(err, errlen, "SHA-1 failed");
		return VERR_CRYPTO;
	}
	/* The size is patched in once the whole command is written. */
	r |= buf_put_u16(out, (uint16_t)(TPM12_TAG_RQU + nsess));
	r |= buf_put_u32(out, 0);
	r |= buf_put_u32(out, ordinal);
	for (size_t i = 0; r == 0 && i < nhandles; i++)
		r |= buf_put_u32(out, handles[i]);
	if (r == 0)
		r |= buf_put_bytes(out, params, plen);
	for (size_t i = 0; r == 0 && i < nsess; i++) {
		const struct tpm12_session *s = sess[i];

		if (tpm12_auth_hmac(s->key, digest, s->nonce_even, s->nonce_odd, s->cont, mac) != 0) {
			seterr(err, errlen, "HMAC-SHA1 failed");
			OPENSSL_cleanse(mac, sizeof(mac));
			return VERR_CRYPTO;
		}
		r |= buf_put_u32(out, s->handle);
		r |= buf_put_bytes(out, s->nonce_odd, TPM12_NONCE_LEN);
		r |= buf_put_u8(out, s->cont);
		r |= buf_put_bytes(out, mac, TPM12_DIGEST_LEN);
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	if (r != 0 || out->len > TPM_FRAME_MAX) {
		seterr(err, errlen, "TPM 1.2 command 0x%x does not fit %u bytes", ordinal,
		       TPM_FRAME_MAX);
		return VERR_NOSPACE;
	}
	be32_put(out->d + 2, (uint32_t)out->len);
	return 0;
}

int
tpm12_parse_resp(const uint8_t *resp, size_t len, uint32_t ordinal,
		 struct tpm12_session *const *sess, size_t nsess, struct tpm12_resp *r, char *err,
		 size_t errlen)
{
	uint8_t digest[TPM12_DIGEST_LEN], mac[TPM12_DIGEST_LEN];
	const uint8_t *trailer;
	uint16_t tag;
	size_t body, need;
	int bad = 0;

	r->rc = 0;
	r->params = NULL;
	r->plen = 0;
	if (nsess > TPM12_MAX_SESSIONS) {
		seterr(err, errlen, "TPM 1.2 response with %zu sessions", nsess);
		return VERR_INVAL;
	}
	if (resp == NULL || tpm_frame_exact(resp, len, TPM_FRAME_MAX) != 0) {
		seterr(err, errlen, "malformed TPM response (%zu bytes, header size %s)", len,
		       len >= TPM_HDR_SIZE ? "disagrees" : "missing");
		return VERR_FORMAT;
	}
	tag = be16_get(resp);
	r->rc = be32_get(resp + 6);
	if (r->rc != TPM12_SUCCESS) {
		/* Errors carry no authorisation (Part 1 §13.2): only the code
		 * is used, so a wrong-but-plausible tag is still refused. */
		if (tag < TPM12_TAG_RSP || tag > TPM12_TAG_RSP + TPM12_MAX_SESSIONS) {
			seterr(err, errlen, "TPM response tag 0x%04x is not a TPM 1.2 response tag",
			       tag);
			return VERR_FORMAT;
		}
		return 0;
	}
	if (tag != TPM12_TAG_RSP + nsess) {
		seterr(err, errlen, "TPM response tag 0x%04x, expected 0x%04x", tag,
		       (unsigned)(TPM12_TAG_RSP + nsess));
		return VERR_FORMAT;
	}
	body = len - TPM_HDR_SIZE;
	need = nsess * TPM12_RSP_AUTH_LEN;
	if (body < need) {
		seterr(err, errlen, "TPM response too short for its %zu authorisation(s)", nsess);
		return VERR_FORMAT;
	}
	r->plen = body - need;
	trailer = resp + TPM_HDR_SIZE + r->plen;
	if (nsess != 0 &&
	    tpm12_out_digest(r->rc, ordinal, resp + TPM_HDR_SIZE, r->plen, digest) != 0) {
		r->plen = 0;
		seterr(err, errlen, "SHA-1 failed");
		return VERR_CRYPTO;
	}
	for (size_t i = 0; i < nsess; i++) {
		const uint8_t *ne = trailer + i * TPM12_RSP_AUTH_LEN;
		uint8_t cont = ne[TPM12_NONCE_LEN];
		const uint8_t *res = ne + TPM12_NONCE_LEN + 1;

		if (tpm12_auth_hmac(sess[i]->key, digest, ne, sess[i]->nonce_odd, cont, mac) != 0) {
			r->plen = 0;
			seterr(err, errlen, "HMAC-SHA1 failed");
			return VERR_CRYPTO;
		}
		/* Every session is checked; the verdict is taken at the end
		 * so the time does not say which one failed. */
		bad |= CRYPTO_memcmp(mac, res, TPM12_DIGEST_LEN) != 0;
		if (cont > 1)
			bad = 1;
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	if (bad) {
		r->plen = 0;
		seterr(err, errlen,
		       "TPM response authorisation does not verify (HMAC mismatch): output discarded");
		return VERR_FORMAT;
	}
	for (size_t i = 0; i < nsess; i++) {
		memcpy(sess[i]->nonce_even, trailer + i * TPM12_RSP_AUTH_LEN, TPM12_NONCE_LEN);
		sess[i]->cont = trailer[i * TPM12_RSP_AUTH_LEN + TPM12_NONCE_LEN];
	}
	r->params = resp + TPM_HDR_SIZE;
	return 0;
}

int
tpm12_put_srk_params(struct buf *b)
{
	int r = 0;

	r |= buf_put_bytes(b, "\x01\x01\x00\x00", 4);      /* TPM_STRUCT_VER 1.1.0.0 */
	r |= buf_put_u16(b, TPM12_KEY_STORAGE);             /* keyUsage */
	r |= buf_put_u32(b, 0);                             /* keyFlags */
	r |= buf_put_u8(b, TPM12_AUTH_ALWAYS);              /* authDataUsage */
	r |= buf_put_u32(b, TPM12_ALG_RSA);                 /* algorithmParms.algorithmID */
	r |= buf_put_u16(b, TPM12_ES_RSAESOAEP_SHA1_MGF1);  /* encScheme */
	r |= buf_put_u16(b, TPM12_SS_NONE);                 /* sigScheme */
	r |= buf_put_u32(b, 12);                            /* parmSize: TPM_RSA_KEY_PARMS */
	r |= buf_put_u32(b, 2048);                          /* keyLength */
	r |= buf_put_u32(b, 2);                             /* numPrimes */
	r |= buf_put_u32(b, 0);                             /* exponentSize: default 65537 */
	r |= buf_put_u32(b, 0);                             /* PCRInfoSize */
	r |= buf_put_u32(b, 0);                             /* pubKey.keyLength */
	r |= buf_put_u32(b, 0);                             /* encDataSize */
	return r == 0 ? 0 : VERR_NOSPACE;
}

int
tpm12_put_pcr_selection(struct buf *b, uint32_t mask)
{
	int r = 0;

	if (mask >> TPM12_NUM_PCRS)
		return VERR_INVAL;
	r |= buf_put_u16(b, TPM12_PCR_SELECT_BYTES);
	for (int i = 0; i < TPM12_PCR_SELECT_BYTES; i++)
		r |= buf_put_u8(b, (uint8_t)(mask >> (8 * i)));
	return r == 0 ? 0 : VERR_NOSPACE;
}

int
tpm12_pcr_composite_digest(uint32_t mask, const uint8_t (*values)[TPM12_DIGEST_LEN],
			   uint8_t out[TPM12_DIGEST_LEN])
{
	struct buf b;
	size_t n = 0;
	int r = 0;
	struct tpm12_iov v;

	if (mask >> TPM12_NUM_PCRS)
		return VERR_INVAL;
	for (int i = 0; i < TPM12_NUM_PCRS; i++)
		n += (mask >> i) & 1;
	buf_init(&b, 2 + TPM12_PCR_SELECT_BYTES + 4 + TPM12_NUM_PCRS * TPM12_DIGEST_LEN);
	r |= tpm12_put_pcr_selection(&b, mask);
	r |= buf_put_u32(&b, (uint32_t)(n * TPM12_DIGEST_LEN));
	for (int i = 0; r == 0 && i < TPM12_NUM_PCRS; i++)
		if ((mask >> i) & 1)
			r |= buf_put_bytes(&b, values[i], TPM12_DIGEST_LEN);
	if (r == 0) {
		v = (struct tpm12_iov){ b.d, b.len };
		r = tpm12_sha1(&v, 1, out);
	}
	buf_free(&b);
	return r == 0 ? 0 : VERR_CRYPTO;
}

int
tpm12_put_pcr_info(struct buf *b, uint32_t mask, const uint8_t digest[TPM12_DIGEST_LEN])
{
	int r = 0;

	r |= tpm12_put_pcr_selection(b, mask);
	r |= buf_put_bytes(b, digest, TPM12_DIGEST_LEN); /* digestAtRelease */
	/* digestAtCreation: the TPM overwrites it with what it measures at
	 * Seal time; we send the same value. */
	r |= buf_put_bytes(b, digest, TPM12_DIGEST_LEN);
	return r == 0 ? 0 : VERR_NOSPACE;
}

int
tpm12_parse_pubek(const uint8_t *params, size_t plen, const uint8_t anti_replay[TPM12_NONCE_LEN],
		  const uint8_t **n, size_t *nlen, uint32_t *e, char *err, size_t errlen)
{
	struct buf b;
	uint32_t alg, parm_size, key_bits, primes, exp_size, key_len;
	uint16_t enc, sig;
	const uint8_t *exp = NULL, *mod, *sum;
	uint8_t digest[TPM12_DIGEST_LEN];
	size_t pub_len;
	struct tpm12_iov v[2];

	buf_init_reader(&b, params, plen);
	if (buf_get_u32(&b, &alg) != 0 || buf_get_u16(&b, &enc) != 0 ||
	    buf_get_u16(&b, &sig) != 0 || buf_get_u32(&b, &parm_size) != 0)
		goto short_;
	if (alg != TPM12_ALG_RSA) {
		seterr(err, errlen, "the endorsement key is not RSA (algorithm %u)", alg);
		return VERR_FORMAT;
	}
	/* TPM_RSA_KEY_PARMS must fill parmSize exactly. */
	if (parm_size < 12 || parm_size > buf_avail(&b))
		goto short_;
	if (buf_get_u32(&b, &key_bits) != 0 || buf_get_u32(&b, &primes) != 0 ||
	    buf_get_u32(&b, &exp_size) != 0)
		goto short_;
	if (exp_size != parm_size - 12 || exp_size > 4 ||
	    (exp_size != 0 && buf_get_direct(&b, &exp, exp_size) != 0))
		goto short_;
	if (buf_get_u32(&b, &key_len) != 0 || key_len < 128 || key_len > 512 ||
	    key_len * 8 != key_bits || buf_get_direct(&b, &mod, key_len) != 0)
		goto short_;
	pub_len = b.off;
	if (buf_get_direct(&b, &sum, TPM12_DIGEST_LEN) != 0 || buf_avail(&b) != 0)
		goto short_;
	v[0] = (struct tpm12_iov){ params, pub_len };
	v[1] = (struct tpm12_iov){ anti_replay, TPM12_NONCE_LEN };
	if (tpm12_sha1(v, 2, digest) != 0)
		return VERR_CRYPTO;
	if (CRYPTO_memcmp(digest, sum, TPM12_DIGEST_LEN) != 0) {
		seterr(err, errlen, "TPM_ReadPubek checksum does not match the key and our nonce");
		return VERR_FORMAT;
	}
	*e = 0;
	for (uint32_t i = 0; i < exp_size; i++)
		*e = (*e << 8) | exp[i];
	if (exp_size == 0)
		*e = 65537;
	if (*e < 3 || (*e & 1) == 0) {
		seterr(err, errlen, "the endorsement key has a bad public exponent %u", *e);
		return VERR_FORMAT;
	}
	(void)primes;
	(void)enc;
	(void)sig;
	*n = mod;
	*nlen = key_len;
	return 0;
short_:
	seterr(err, errlen, "malformed TPM_ReadPubek response");
	return VERR_FORMAT;
}

int
tpm12_oaep_encrypt(const uint8_t *n, size_t nlen, uint32_t e, const uint8_t *in, size_t inlen,
		   uint8_t *out, size_t cap, size_t *outlen, char *err, size_t errlen)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	EVP_PKEY_CTX *fctx = NULL, *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	unsigned char *label = NULL;
	size_t olen = 0;
	int ret = VERR_CRYPTO;

	bn_n = BN_bin2bn(n, (int)nlen, NULL);
	bn_e = BN_new();
	bld = OSSL_PARAM_BLD_new();
	if (bn_n == NULL || bn_e == NULL || bld == NULL || BN_set_word(bn_e, e) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) != 1 ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	fctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (fctx == NULL || EVP_PKEY_fromdata_init(fctx) != 1 ||
	    EVP_PKEY_fromdata(fctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (ctx == NULL || EVP_PKEY_encrypt_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha1()) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha1()) != 1)
		goto out;
	/* set0 takes the label over only on success. */
	label = OPENSSL_memdup("TCPA", 4);
	if (label == NULL)
		goto out;
	if (EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, label, 4) != 1) {
		OPENSSL_free(label);
		goto out;
	}
	if (EVP_PKEY_encrypt(ctx, NULL, &olen, in, inlen) != 1 || olen > cap)
		goto out;
	if (EVP_PKEY_encrypt(ctx, out, &olen, in, inlen) != 1)
		goto out;
	*outlen = olen;
	ret = 0;
out:
	if (ret != 0)
		seterr(err, errlen, "RSA-OAEP encryption to the endorsement key failed");
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(fctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_n);
	BN_free(bn_e);
	return ret;
}

int
tpm12_key_len(const uint8_t *p, size_t len, size_t *outlen)
{
	struct buf b;
	uint16_t tag;
	uint32_t n;

	buf_init_reader(&b, p, len);
	if (buf_peek_u16(&b, 0, &tag) != 0)
		return VERR_FORMAT;
	if (tag != TPM12_TAG_KEY12 && (len < 2 || p[0] != 1 || p[1] != 1))
		return VERR_FORMAT;
	/* ver (or tag | fill) | keyUsage | keyFlags | authDataUsage |
	 * algorithmID | encScheme | sigScheme */
	if (buf_skip(&b, 4 + 2 + 4 + 1 + 4 + 2 + 2) != 0)
		return VERR_FORMAT;
	/* parmSize | parms, PCRInfoSize | PCRInfo, pubKey, encData */
	for (int i = 0; i < 4; i++)
		if (buf_get_u32(&b, &n) != 0 || buf_skip(&b, n) != 0)
			return VERR_FORMAT;
	*outlen = b.off;
	return 0;
}

int
tpm12_stored_data_len(const uint8_t *p, size_t len, size_t *outlen)
{
	struct buf b;
	uint16_t tag;
	uint32_t n;

	buf_init_reader(&b, p, len);
	if (buf_peek_u16(&b, 0, &tag) != 0)
		return VERR_FORMAT;
	if (tag == TPM12_TAG_STORED_DATA12) {
		/* tag | entityType */
		if (buf_skip(&b, 4) != 0)
			return VERR_FORMAT;
	} else {
		/* TPM_STRUCT_VER: major 1, minor 1, revMajor, revMinor. */
		if (len < 4 || p[0] != 1 || p[1] != 1 || buf_skip(&b, 4) != 0)
			return VERR_FORMAT;
	}
	/* sealInfoSize | sealInfo | encDataSize | encData */
	for (int i = 0; i < 2; i++)
		if (buf_get_u32(&b, &n) != 0 || buf_skip(&b, n) != 0)
			return VERR_FORMAT;
	*outlen = b.off;
	return 0;
}

int
tpm12_get_counter_value(struct buf *b, uint8_t label[4], uint32_t *value)
{
	size_t off = b->off;
	uint16_t tag;

	if (buf_get_u16(b, &tag) != 0 || tag != TPM12_TAG_COUNTER_VALUE ||
	    buf_get_bytes(b, label, 4) != 0 || buf_get_u32(b, value) != 0) {
		b->off = off;
		return VERR_FORMAT;
	}
	return 0;
}

const char *
tpm12_rc_name(uint32_t rc)
{
	switch (rc) {
	case TPM12_AUTHFAIL: return "TPM_AUTHFAIL";
	case TPM12_BAD_PARAMETER: return "TPM_BAD_PARAMETER";
	case TPM12_DEACTIVATED: return "TPM_DEACTIVATED";
	case TPM12_DISABLED: return "TPM_DISABLED";
	case TPM12_DISABLED_CMD: return "TPM_DISABLED_CMD";
	case 0x09: return "TPM_FAIL";
	case 0x0a: return "TPM_BAD_ORDINAL";
	case TPM12_INSTALL_DISABLED: return "TPM_INSTALL_DISABLED";
	case TPM12_INVALID_KEYHANDLE: return "TPM_INVALID_KEYHANDLE";
	case TPM12_KEYNOTFOUND: return "TPM_KEYNOTFOUND";
	case 0x10: return "TPM_INVALID_PCR_INFO";
	case TPM12_NOSPACE: return "TPM_NOSPACE";
	case TPM12_NOSRK: return "TPM_NOSRK";
	case TPM12_NOTSEALED_BLOB: return "TPM_NOTSEALED_BLOB";
	case TPM12_OWNER_SET: return "TPM_OWNER_SET";
	case TPM12_RESOURCES: return "TPM_RESOURCES";
	case TPM12_WRONGPCRVAL: return "TPM_WRONGPCRVAL";
	case 0x19: return "TPM_BAD_PARAM_SIZE";
	case TPM12_AUTH2FAIL: return "TPM_AUTH2FAIL";
	case 0x1e: return "TPM_BADTAG";
	case TPM12_DECRYPT_ERROR: return "TPM_DECRYPT_ERROR";
	case TPM12_INVALID_AUTHHANDLE: return "TPM_INVALID_AUTHHANDLE";
	case TPM12_NO_ENDORSEMENT: return "TPM_NO_ENDORSEMENT";
	case 0x26: return "TPM_INVALID_POSTINIT";
	case TPM12_BAD_DATASIZE: return "TPM_BAD_DATASIZE";
	case TPM12_BAD_COUNTER: return "TPM_BAD_COUNTER";
	case TPM12_RETRY: return "TPM_RETRY";
	case 0x801: return "TPM_NEEDS_SELFTEST";
	case TPM12_DOING_SELFTEST: return "TPM_DOING_SELFTEST";
	case TPM12_DEFEND_LOCK_RUNNING: return "TPM_DEFEND_LOCK_RUNNING";
	default: return NULL;
	}
}
