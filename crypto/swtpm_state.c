/*
 * swtpm_state.c - swtpm state files and key files; see swtpm_state.h for
 * the formats.  Pure functions.  Trusts nothing it parses: the header's
 * total length must equal the file's, TLVs must tile the rest exactly,
 * each tag may appear once, and the HMAC is verified before decryption.
 */
#include "crypto/swtpm_state.h"

#include <ctype.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#define HDR_LEN 10
#define HDR_VERSION 2
#define FLAG_ENCRYPTED 0x01
#define FLAG_256BIT 0x08
#define TAG_DATA 1
#define TAG_ENCRYPTED_DATA 2
#define TAG_HMAC 3
#define TAG_IVEC 6
#define HMAC_LEN 32
#define AES_BLOCK 16

struct tlvs {
	const uint8_t *data, *enc, *hmac, *iv;
	uint32_t data_len, enc_len, hmac_len, iv_len;
	int have_data, have_enc, have_hmac, have_iv;
};

static int
parse_tlvs(const uint8_t *p, size_t len, struct tlvs *t)
{
	struct buf b;
	uint16_t tag;
	uint32_t l;
	const uint8_t *v;

	memset(t, 0, sizeof(*t));
	buf_init_reader(&b, p, len);
	while (buf_avail(&b) != 0) {
		if (buf_get_u16(&b, &tag) != 0 || buf_get_u32(&b, &l) != 0 ||
		    buf_get_direct(&b, &v, l) != 0)
			return VERR_FORMAT;
		switch (tag) {
		case TAG_DATA:
			if (t->have_data++)
				return VERR_FORMAT;
			t->data = v;
			t->data_len = l;
			break;
		case TAG_ENCRYPTED_DATA:
			if (t->have_enc++)
				return VERR_FORMAT;
			t->enc = v;
			t->enc_len = l;
			break;
		case TAG_HMAC:
			if (t->have_hmac++)
				return VERR_FORMAT;
			t->hmac = v;
			t->hmac_len = l;
			break;
		case TAG_IVEC:
			if (t->have_iv++)
				return VERR_FORMAT;
			t->iv = v;
			t->iv_len = l;
			break;
		default:
			/* Migration TLVs (4, 5, 7) belong in GET_STATEBLOB
			 * blobs, never in a state file. */
			return VERR_FORMAT;
		}
	}
	return 0;
}

static int
hmac_sha256(const uint8_t *key, size_t keylen, const uint8_t *a, size_t alen, const uint8_t *b,
	    size_t blen, uint8_t out[HMAC_LEN])
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[2];
	size_t n = 0;
	int ok;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	ok = ctx != NULL && EVP_MAC_init(ctx, key, keylen, params) == 1 &&
	     (alen == 0 || EVP_MAC_update(ctx, a, alen) == 1) &&
	     (blen == 0 || EVP_MAC_update(ctx, b, blen) == 1) &&
	     EVP_MAC_final(ctx, out, &n, HMAC_LEN) == 1 && n == HMAC_LEN;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ok ? 0 : -1;
}

/* AES-CBC without padding; enc 1 encrypts.  len is a multiple of 16. */
static int
aes_cbc(const uint8_t *key, size_t keylen, const uint8_t iv[AES_BLOCK], const uint8_t *in,
	size_t len, uint8_t *out, int enc)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	const EVP_CIPHER *c = keylen == 32 ? EVP_aes_256_cbc() : EVP_aes_128_cbc();
	int n1 = 0, n2 = 0, ok;

	ok = ctx != NULL && len <= SWTPM_STATE_MAX &&
	     EVP_CipherInit_ex(ctx, c, NULL, key, iv, enc) == 1 &&
	     EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
	     EVP_CipherUpdate(ctx, out, &n1, in, (int)len) == 1 &&
	     EVP_CipherFinal_ex(ctx, out + n1, &n2) == 1 && (size_t)(n1 + n2) == len;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -1;
}

int
swtpm_state_decode(const uint8_t *file, size_t len, const uint8_t *key, size_t keylen,
		   struct buf *out, int *was_encrypted)
{
	uint8_t iv[AES_BLOCK] = { 0 }, mac[HMAC_LEN], *pt = NULL;
	uint16_t flags, hdrsize;
	struct tlvs t;
	size_t want, plen;
	uint8_t pad;
	int r;

	if (was_encrypted != NULL)
		*was_encrypted = 0;
	if (file == NULL || len < HDR_LEN || len > SWTPM_STATE_MAX)
		return VERR_FORMAT;
	hdrsize = be16_get(file + 2);
	flags = be16_get(file + 4);
	if (file[0] < HDR_VERSION || file[1] > HDR_VERSION || file[1] == 0 ||
	    hdrsize != HDR_LEN || be32_get(file + 6) != len)
		return VERR_FORMAT;
	if ((flags & ~(FLAG_ENCRYPTED | FLAG_256BIT)) != 0 ||
	    ((flags & FLAG_256BIT) && !(flags & FLAG_ENCRYPTED)))
		return VERR_FORMAT;
	if ((r = parse_tlvs(file + HDR_LEN, len - HDR_LEN, &t)) != 0)
		return r;

	if (!(flags & FLAG_ENCRYPTED)) {
		if (!t.have_data || t.have_enc || t.have_hmac || t.have_iv || t.data_len == 0)
			return VERR_FORMAT;
		return buf_put_bytes(out, t.data, t.data_len) == 0 ? 0 : VERR_NOMEM;
	}
	if (t.have_data || !t.have_enc || !t.have_hmac || t.hmac_len != HMAC_LEN)
		return VERR_FORMAT;
	if (key == NULL || keylen == 0)
		return VERR_NOKEY;
	want = (flags & FLAG_256BIT) ? 32 : 16;
	if (keylen != want)
		return VERR_BADKEY;
	if (t.enc_len == 0 || t.enc_len % want != 0 || (t.have_iv && t.iv_len != want))
		return VERR_FORMAT;
	if (hmac_sha256(key, keylen, t.enc, t.enc_len, t.have_iv ? t.iv : NULL,
			t.have_iv ? t.iv_len : 0, mac) != 0)
		return VERR_CRYPTO;
	if (CRYPTO_memcmp(mac, t.hmac, HMAC_LEN) != 0)
		return VERR_AUTH;
	if (t.have_iv)
		memcpy(iv, t.iv, AES_BLOCK); /* CBC uses the first block's worth */
	if (buf_reserve(out, t.enc_len, &pt) != 0)
		return VERR_NOMEM;
	if (aes_cbc(key, keylen, iv, t.enc, t.enc_len, pt, 0) != 0) {
		r = VERR_CRYPTO;
		goto undo;
	}
	pad = pt[t.enc_len - 1];
	if (pad == 0 || pad > want || pad >= t.enc_len) {
		r = VERR_FORMAT;
		goto undo;
	}
	plen = t.enc_len - pad;
	for (size_t i = plen; i < t.enc_len; i++) {
		if (pt[i] != pad) {
			r = VERR_FORMAT;
			goto undo;
		}
	}
	OPENSSL_cleanse(pt + plen, pad);
	out->len -= pad;
	if (was_encrypted != NULL)
		*was_encrypted = 1;
	return 0;
undo:
	OPENSSL_cleanse(pt, t.enc_len);
	out->len -= t.enc_len;
	return r;
}

static int
put_tlv(struct buf *b, uint16_t tag, const uint8_t *v, size_t l)
{
	if (buf_put_u16(b, tag) != 0 || buf_put_u32(b, (uint32_t)l) != 0 ||
	    (l != 0 && buf_put_bytes(b, v, l) != 0))
		return -1;
	return 0;
}

int
swtpm_state_encode(const uint8_t *blob, size_t len, const uint8_t *key, size_t keylen,
		   const uint8_t *iv, struct buf *out)
{
	uint8_t hdr[HDR_LEN], mac[HMAC_LEN];
	struct buf body, ct;
	size_t padded, start = out->len;
	int r = VERR_NOMEM;

	if (len == 0 || len > SWTPM_STATE_MAX / 2 ||
	    (key != NULL && keylen != 16 && keylen != 32))
		return VERR_FORMAT;
	buf_init(&body, SWTPM_STATE_MAX);
	buf_init(&ct, SWTPM_STATE_MAX);
	if (key == NULL) {
		if (put_tlv(&body, TAG_DATA, blob, len) != 0)
			goto out;
	} else {
		uint8_t *p, ivb[AES_BLOCK];
		uint8_t pad = (uint8_t)(keylen - len % keylen);

		padded = len + pad;
		if (buf_reserve(&ct, padded, &p) != 0)
			goto out;
		memcpy(p, blob, len);
		memset(p + len, pad, pad);
		memcpy(ivb, iv, AES_BLOCK);
		if (aes_cbc(key, keylen, ivb, p, padded, p, 1) != 0 ||
		    hmac_sha256(key, keylen, p, padded, iv, keylen, mac) != 0) {
			r = VERR_CRYPTO;
			goto out;
		}
		if (put_tlv(&body, TAG_ENCRYPTED_DATA, p, padded) != 0 ||
		    put_tlv(&body, TAG_HMAC, mac, HMAC_LEN) != 0 ||
		    put_tlv(&body, TAG_IVEC, iv, keylen) != 0)
			goto out;
	}
	hdr[0] = HDR_VERSION;
	hdr[1] = 1;
	be16_put(hdr + 2, HDR_LEN);
	be16_put(hdr + 4, key == NULL ? 0 : (uint16_t)(FLAG_ENCRYPTED | (keylen == 32 ? FLAG_256BIT : 0)));
	be32_put(hdr + 6, (uint32_t)(HDR_LEN + body.len));
	if (buf_put_bytes(out, hdr, HDR_LEN) != 0 || buf_put_bytes(out, body.d, body.len) != 0) {
		out->len = start;
		goto out;
	}
	r = 0;
out:
	buf_free(&body);
	buf_free(&ct);
	return r;
}

static int
hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
parse_hex(const uint8_t *p, size_t len, uint8_t key[SWTPM_KEY_MAX], size_t *keylen)
{
	size_t i = 0, digits;

	if (len >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		i = 2;
	for (digits = 0; i + digits < len && hexval(p[i + digits]) >= 0; digits++)
		;
	/* Then only whitespace (a trailing newline, typically). */
	for (size_t j = i + digits; j < len; j++)
		if (!isspace(p[j]))
			return VERR_FORMAT;
	if (digits != 32 && digits != 64)
		return VERR_FORMAT;
	for (size_t k = 0; k < digits / 2; k++)
		key[k] = (uint8_t)(hexval(p[i + 2 * k]) << 4 | hexval(p[i + 2 * k + 1]));
	*keylen = digits / 2;
	return 0;
}

int
swtpm_key_parse(const uint8_t *file, size_t len, enum swtpm_key_format fmt,
		uint8_t key[SWTPM_KEY_MAX], size_t *keylen)
{
	if (file == NULL || len == 0 || len > 256)
		return VERR_FORMAT;
	if (fmt == SWTPM_KEY_HEX || fmt == SWTPM_KEY_AUTO) {
		if (parse_hex(file, len, key, keylen) == 0)
			return 0;
		if (fmt == SWTPM_KEY_HEX)
			return VERR_FORMAT;
	}
	/* Binary: exactly a 128- or 256-bit key. */
	if (len != 16 && len != 32)
		return VERR_FORMAT;
	memcpy(key, file, len);
	*keylen = len;
	return 0;
}

int
swtpm_key_from_passphrase(const uint8_t *pw, size_t len, size_t keylen,
			  uint8_t key[SWTPM_KEY_MAX])
{
	static const char salt[] = "swtpm";
	unsigned int iter = 1000;
	EVP_KDF *kdf;
	EVP_KDF_CTX *ctx;
	OSSL_PARAM params[5];
	int ok;

	if (pw == NULL || len == 0 || len > 4096 || (keylen != 16 && keylen != 32))
		return VERR_FORMAT;
	if ((kdf = EVP_KDF_fetch(NULL, "PBKDF2", NULL)) == NULL)
		return VERR_CRYPTO;
	ctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (ctx == NULL)
		return VERR_CRYPTO;
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)pw, len);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt,
						      sizeof(salt) - 1);
	params[2] = OSSL_PARAM_construct_uint(OSSL_KDF_PARAM_ITER, &iter);
	params[3] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA512", 0);
	params[4] = OSSL_PARAM_construct_end();
	ok = EVP_KDF_derive(ctx, key, keylen, params) == 1;
	EVP_KDF_CTX_free(ctx);
	return ok ? 0 : VERR_CRYPTO;
}
