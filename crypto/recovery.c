/*
 * recovery.c - master.recovery; see recovery.h for the format.  Pure
 * functions.  Trusts nothing it parses; the master key it unwraps is
 * handed out only after the file's MAC verified under that very key.
 */
#include "crypto/recovery.h"
#include "crypto/aead.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rsa.h>

#define ALG_RSA 1
#define ALG_EC 2
#define FIXED (8 + 2 + 1 + 1 + PKEY_FP_LEN)
#define MAC_LEN 32
#define WRAP_MAX 1200 /* RSA-8192 ciphertext is 1024 bytes */

static const uint8_t salt[] = "vtpm-manager/v1";

struct parsed {
	uint8_t alg;
	const uint8_t *fp, *wrapped, *mac;
	uint16_t wlen;
	size_t maclen_in; /* bytes covered by the MAC */
};

int
recovery_key_ok(const EVP_PKEY *k)
{
	int bits = 0;
	enum pkey_kind kind = pkey_kind(k, &bits);

	if (kind == PKEY_P384 || (kind == PKEY_RSA && bits >= 3072 && bits <= 8192))
		return 0;
	return VERR_BADKEY;
}

static int
parse(const uint8_t *file, size_t len, struct parsed *ps)
{
	struct buf b;
	const uint8_t *magic;
	uint16_t ver;
	uint8_t flags;

	if (file == NULL || len > RECOVERY_FILE_MAX)
		return VERR_FORMAT;
	buf_init_reader(&b, file, len);
	if (buf_get_direct(&b, &magic, 8) != 0 || memcmp(magic, RECOVERY_MAGIC, 8) != 0 ||
	    buf_get_u16(&b, &ver) != 0 || ver != 1 || buf_get_u8(&b, &ps->alg) != 0 ||
	    (ps->alg != ALG_RSA && ps->alg != ALG_EC) || buf_get_u8(&b, &flags) != 0 ||
	    flags != 0 || buf_get_direct(&b, &ps->fp, PKEY_FP_LEN) != 0 ||
	    buf_get_u16(&b, &ps->wlen) != 0 || ps->wlen == 0 || ps->wlen > WRAP_MAX ||
	    buf_get_direct(&b, &ps->wrapped, ps->wlen) != 0)
		return VERR_FORMAT;
	ps->maclen_in = b.off;
	if (buf_get_direct(&b, &ps->mac, MAC_LEN) != 0 || buf_avail(&b) != 0)
		return VERR_FORMAT;
	return 0;
}

static int
file_mac(const uint8_t master[RECOVERY_MASTER_LEN], const uint8_t *p, size_t len,
	 uint8_t out[MAC_LEN])
{
	static const uint8_t info[] = "recovery-file";
	uint8_t k[32];
	size_t olen = 0;
	int ok;

	if (hkdf_sha256(master, RECOVERY_MASTER_LEN, salt, sizeof(salt) - 1, info,
			sizeof(info) - 1, k, sizeof(k)) != 0)
		return VERR_CRYPTO;
	ok = EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, k, sizeof(k), p, len, out, MAC_LEN,
		       &olen) != NULL && olen == MAC_LEN;
	OPENSSL_cleanse(k, sizeof(k));
	return ok ? 0 : VERR_CRYPTO;
}

static int
ec_key(EVP_PKEY *priv, EVP_PKEY *peer, uint8_t key[AEAD_KEY_LEN])
{
	static const uint8_t info[] = "recovery-key";
	uint8_t z[66];
	size_t zl = 0;
	int r = VERR_CRYPTO;

	if (pkey_ecdh(priv, peer, z, sizeof(z), &zl) == 0 &&
	    hkdf_sha256(z, zl, salt, sizeof(salt) - 1, info, sizeof(info) - 1, key,
			AEAD_KEY_LEN) == 0)
		r = 0;
	OPENSSL_cleanse(z, sizeof(z));
	return r;
}

static EVP_PKEY_CTX *
oaep_ctx(EVP_PKEY *k, int enc)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);

	if (ctx == NULL)
		return NULL;
	if ((enc ? EVP_PKEY_encrypt_init(ctx) : EVP_PKEY_decrypt_init(ctx)) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) != 1) {
		EVP_PKEY_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int
recovery_wrap(EVP_PKEY *rec_pub, const uint8_t master[RECOVERY_MASTER_LEN], struct buf *out)
{
	uint8_t fp[PKEY_FP_LEN], w[WRAP_MAX], mac[MAC_LEN], key[AEAD_KEY_LEN];
	uint8_t nonce[AEAD_NONCE_LEN];
	size_t wlen = sizeof(w), start = out->len;
	struct buf eph_der;
	EVP_PKEY *eph = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	enum pkey_kind kind = pkey_kind(rec_pub, NULL);
	int r = VERR_CRYPTO;

	buf_init(&eph_der, PKEY_SPKI_MAX);
	if (recovery_key_ok(rec_pub) != 0) {
		r = VERR_BADKEY;
		goto out;
	}
	if (pkey_fingerprint(rec_pub, fp) != 0)
		goto out;
	if (kind == PKEY_RSA) {
		if ((ctx = oaep_ctx(rec_pub, 1)) == NULL ||
		    EVP_PKEY_encrypt(ctx, w, &wlen, master, RECOVERY_MASTER_LEN) != 1)
			goto out;
	} else {
		struct buf wb;
		uint8_t *ct;

		if ((eph = pkey_gen_p384()) == NULL || pkey_pub_der(eph, &eph_der) != 0 ||
		    ec_key(eph, rec_pub, key) != 0 || crypto_random(nonce, sizeof(nonce)) != 0)
			goto out;
		buf_init(&wb, sizeof(w));
		if (buf_put_u16(&wb, (uint16_t)eph_der.len) != 0 ||
		    buf_put_bytes(&wb, eph_der.d, eph_der.len) != 0 ||
		    buf_put_bytes(&wb, nonce, sizeof(nonce)) != 0 ||
		    buf_reserve(&wb, RECOVERY_MASTER_LEN + AEAD_TAG_LEN, &ct) != 0 ||
		    aead_seal(key, nonce, fp, sizeof(fp), master, RECOVERY_MASTER_LEN, ct,
			      ct + RECOVERY_MASTER_LEN) != 0) {
			buf_free(&wb);
			goto out;
		}
		memcpy(w, wb.d, wb.len);
		wlen = wb.len;
		buf_free(&wb);
	}
	if (buf_put_bytes(out, RECOVERY_MAGIC, 8) != 0 || buf_put_u16(out, 1) != 0 ||
	    buf_put_u8(out, kind == PKEY_RSA ? ALG_RSA : ALG_EC) != 0 || buf_put_u8(out, 0) != 0 ||
	    buf_put_bytes(out, fp, sizeof(fp)) != 0 || buf_put_u16(out, (uint16_t)wlen) != 0 ||
	    buf_put_bytes(out, w, wlen) != 0 ||
	    file_mac(master, out->d + start, out->len - start, mac) != 0 ||
	    buf_put_bytes(out, mac, sizeof(mac)) != 0) {
		out->len = start;
		goto out;
	}
	r = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(eph);
	buf_free(&eph_der);
	return r;
}

int
recovery_peek(const uint8_t *file, size_t len, uint8_t fp[PKEY_FP_LEN])
{
	struct parsed ps;
	int r = parse(file, len, &ps);

	if (r == 0)
		memcpy(fp, ps.fp, PKEY_FP_LEN);
	return r;
}

int
recovery_check(const uint8_t *file, size_t len, const uint8_t master[RECOVERY_MASTER_LEN],
	       const uint8_t fp[PKEY_FP_LEN])
{
	uint8_t mac[MAC_LEN];
	struct parsed ps;
	int r;

	if ((r = parse(file, len, &ps)) != 0)
		return r;
	if ((r = file_mac(master, file, ps.maclen_in, mac)) != 0)
		return r;
	if (CRYPTO_memcmp(mac, ps.mac, MAC_LEN) != 0)
		return VERR_AUTH;
	return CRYPTO_memcmp(fp, ps.fp, PKEY_FP_LEN) == 0 ? 0 : VERR_OTHERKEY;
}

int
recovery_unwrap(EVP_PKEY *rec_priv, const uint8_t *file, size_t len,
		uint8_t master[RECOVERY_MASTER_LEN])
{
	uint8_t fp[PKEY_FP_LEN], key[AEAD_KEY_LEN], mac[MAC_LEN], out[WRAP_MAX];
	size_t olen = sizeof(out);
	struct parsed ps;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *eph = NULL;
	int r;

	if ((r = parse(file, len, &ps)) != 0)
		return r;
	if (recovery_key_ok(rec_priv) != 0)
		return VERR_BADKEY;
	if (pkey_fingerprint(rec_priv, fp) != 0)
		return VERR_CRYPTO;
	if (CRYPTO_memcmp(fp, ps.fp, PKEY_FP_LEN) != 0)
		return VERR_OTHERKEY;
	if ((ps.alg == ALG_RSA) != (pkey_kind(rec_priv, NULL) == PKEY_RSA))
		return VERR_FORMAT;
	r = VERR_AUTH;
	if (ps.alg == ALG_RSA) {
		if ((ctx = oaep_ctx(rec_priv, 0)) == NULL) {
			r = VERR_CRYPTO;
			goto out;
		}
		if (EVP_PKEY_decrypt(ctx, out, &olen, ps.wrapped, ps.wlen) != 1 ||
		    olen != RECOVERY_MASTER_LEN)
			goto out;
	} else {
		struct buf b;
		uint16_t el;
		const uint8_t *e, *nonce, *ct, *tag;

		buf_init_reader(&b, ps.wrapped, ps.wlen);
		if (buf_get_u16(&b, &el) != 0 || buf_get_direct(&b, &e, el) != 0 ||
		    buf_get_direct(&b, &nonce, AEAD_NONCE_LEN) != 0 ||
		    buf_get_direct(&b, &ct, RECOVERY_MASTER_LEN) != 0 ||
		    buf_get_direct(&b, &tag, AEAD_TAG_LEN) != 0 || buf_avail(&b) != 0) {
			r = VERR_FORMAT;
			goto out;
		}
		if ((eph = pkey_pub_from_der(e, el)) == NULL || pkey_kind(eph, NULL) != PKEY_P384) {
			r = VERR_FORMAT;
			goto out;
		}
		if (ec_key(rec_priv, eph, key) != 0) {
			r = VERR_CRYPTO;
			goto out;
		}
		if (aead_open(key, nonce, ps.fp, PKEY_FP_LEN, ct, RECOVERY_MASTER_LEN, tag, out) !=
		    0)
			goto out;
		olen = RECOVERY_MASTER_LEN;
	}
	/* The MAC under the unwrapped key proves it is the master key. */
	if (file_mac(out, file, ps.maclen_in, mac) != 0) {
		r = VERR_CRYPTO;
		goto out;
	}
	if (CRYPTO_memcmp(mac, ps.mac, MAC_LEN) != 0)
		goto out;
	memcpy(master, out, RECOVERY_MASTER_LEN);
	r = 0;
out:
	OPENSSL_cleanse(out, sizeof(out));
	OPENSSL_cleanse(key, sizeof(key));
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(eph);
	return r;
}
