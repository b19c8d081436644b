/*
 * aead.c - AES-256-GCM, HKDF-SHA256 and randomness on OpenSSL 3 EVP; see
 * aead.h.  Owns no state and no keys: callers pass keys in and wipe them.
 * Trusts its callers for pointer validity, nothing else: lengths that the
 * EVP int-based interfaces cannot take are refused, not truncated.
 */
#include "aead.h"

#include <limits.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

/* Starts a GCM context for key and nonce; enc is 1 to seal, 0 to open. */
static EVP_CIPHER_CTX *
gcm_start(const uint8_t *key, const uint8_t *nonce, int enc)
{
	EVP_CIPHER_CTX *ctx;

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return NULL;
	/* 12 bytes is GCM's default IV length, but say so rather than rely
	 * on it: a different length would silently go through GHASH. */
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, AEAD_NONCE_LEN, NULL) != 1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) != 1) {
		EVP_CIPHER_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int
aead_seal(const uint8_t key[AEAD_KEY_LEN], const uint8_t nonce[AEAD_NONCE_LEN],
	  const uint8_t *aad, size_t aadlen, const uint8_t *pt, size_t ptlen, uint8_t *ct,
	  uint8_t tag[AEAD_TAG_LEN])
{
	EVP_CIPHER_CTX *ctx;
	int n, r = VERR_CRYPTO;

	/* EVP takes int lengths; nothing we seal comes close. */
	if (aadlen > INT_MAX || ptlen > INT_MAX)
		return VERR_INVAL;
	if ((ctx = gcm_start(key, nonce, 1)) == NULL)
		return VERR_CRYPTO;
	if (aadlen != 0 && EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aadlen) != 1)
		goto out;
	if (ptlen != 0) {
		if (EVP_EncryptUpdate(ctx, ct, &n, pt, (int)ptlen) != 1 || (size_t)n != ptlen)
			goto out;
	}
	/* GCM is a stream mode: final emits no bytes. */
	if (EVP_EncryptFinal_ex(ctx, ct + ptlen, &n) != 1 || n != 0)
		goto out;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, AEAD_TAG_LEN, tag) != 1)
		goto out;
	r = 0;
out:
	/* The context holds the expanded key schedule; free wipes it.
	 * A failed seal leaves ct as is: it may be the caller's pt. */
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

int
aead_open(const uint8_t key[AEAD_KEY_LEN], const uint8_t nonce[AEAD_NONCE_LEN],
	  const uint8_t *aad, size_t aadlen, const uint8_t *ct, size_t ctlen,
	  const uint8_t tag[AEAD_TAG_LEN], uint8_t *pt)
{
	EVP_CIPHER_CTX *ctx;
	uint8_t t[AEAD_TAG_LEN];
	int n, r = VERR_CRYPTO;

	if (aadlen > INT_MAX || ctlen > INT_MAX)
		return VERR_INVAL;
	if ((ctx = gcm_start(key, nonce, 0)) == NULL)
		return VERR_CRYPTO;
	/* The ctrl takes a non-const pointer; copy rather than cast away const. */
	memcpy(t, tag, sizeof(t));
	if (aadlen != 0 && EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aadlen) != 1)
		goto out;
	if (ctlen != 0) {
		if (EVP_DecryptUpdate(ctx, pt, &n, ct, (int)ctlen) != 1 || (size_t)n != ctlen)
			goto out;
	}
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, AEAD_TAG_LEN, t) != 1)
		goto out;
	/* Decryption has already written unauthenticated plaintext to pt;
	 * on a bad tag it is wiped below so no caller can use it. */
	if (EVP_DecryptFinal_ex(ctx, pt + ctlen, &n) != 1) {
		r = VERR_AUTH;
		goto out;
	}
	r = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	if (r != 0 && ctlen != 0)
		OPENSSL_cleanse(pt, ctlen);
	return r;
}

int
hkdf_sha256(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt, size_t saltlen,
	    const uint8_t *info, size_t infolen, uint8_t *out, size_t outlen)
{
	EVP_KDF *kdf;
	EVP_KDF_CTX *kctx;
	OSSL_PARAM params[5], *p = params;
	char digest[] = "SHA256";
	int r = VERR_CRYPTO;

	/* RFC 5869: L <= 255 * HashLen. */
	if (outlen == 0 || outlen > 255 * 32 || ikmlen == 0)
		return VERR_INVAL;
	if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL)
		return VERR_CRYPTO;
	kctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (kctx == NULL)
		return VERR_CRYPTO;
	/* OSSL_PARAM wants non-const pointers; the KDF only reads them. */
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)(uintptr_t)ikm,
						 ikmlen);
	if (saltlen != 0)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
							 (void *)(uintptr_t)salt, saltlen);
	if (infolen != 0)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
							 (void *)(uintptr_t)info, infolen);
	*p = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, out, outlen, params) == 1)
		r = 0;
	else
		OPENSSL_cleanse(out, outlen);
	/* Freeing the context wipes the copies of ikm it took. */
	EVP_KDF_CTX_free(kctx);
	return r;
}

int
crypto_random(uint8_t *out, size_t len)
{
	while (len > 0) {
		int n = len > INT_MAX ? INT_MAX : (int)len;

		if (RAND_bytes(out, n) != 1)
			return VERR_CRYPTO;
		out += n;
		len -= (size_t)n;
	}
	return 0;
}

int
crypto_memcmp(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len);
}
