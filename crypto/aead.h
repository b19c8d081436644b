/*
 * aead.h - the crypto module: AES-256-GCM, HKDF-SHA256 and randomness on
 * OpenSSL 3 EVP.  Owns no state; keys are passed in by the caller, who is
 * responsible for wiping them.  Functions return 0 or a negative VERR_*
 * (util/err.h): VERR_AUTH when a tag does not match (data or AAD
 * modified, or the wrong key), VERR_INVAL for a length EVP cannot take,
 * VERR_CRYPTO when OpenSSL fails.
 */
#ifndef VTPM_CRYPTO_AEAD_H
#define VTPM_CRYPTO_AEAD_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define AEAD_KEY_LEN 32
#define AEAD_NONCE_LEN 12
#define AEAD_TAG_LEN 16

/* ct must have room for ptlen bytes; ct may equal pt. */
int aead_seal(const uint8_t key[AEAD_KEY_LEN], const uint8_t nonce[AEAD_NONCE_LEN],
	      const uint8_t *aad, size_t aadlen, const uint8_t *pt, size_t ptlen, uint8_t *ct,
	      uint8_t tag[AEAD_TAG_LEN]) __attribute__((warn_unused_result));
/* pt must have room for ctlen bytes; on VERR_AUTH pt is wiped. */
int aead_open(const uint8_t key[AEAD_KEY_LEN], const uint8_t nonce[AEAD_NONCE_LEN],
	      const uint8_t *aad, size_t aadlen, const uint8_t *ct, size_t ctlen,
	      const uint8_t tag[AEAD_TAG_LEN], uint8_t *pt) __attribute__((warn_unused_result));
int hkdf_sha256(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt, size_t saltlen,
		const uint8_t *info, size_t infolen, uint8_t *out, size_t outlen)
	__attribute__((warn_unused_result));
int crypto_random(uint8_t *out, size_t len) __attribute__((warn_unused_result));
/* Constant-time comparison; 0 when equal. */
int crypto_memcmp(const void *a, const void *b, size_t len);

#endif
