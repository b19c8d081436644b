/*
 * pkey.h - asymmetric-key helpers on OpenSSL 3 EVP for the provisioning
 * features (EK certificate CA, transport keys, recovery keys): key
 * generation, DER/PEM conversion with bounded inputs, fingerprints and
 * ECDH.  Owns no state.  Trusts nothing it parses: every input has an
 * explicit length, PEM input is capped at PKEY_PEM_MAX, an encrypted PEM
 * key is refused (no passphrase prompt ever reaches a terminal).
 * Private keys written by pkey_priv_der go into caller-supplied memory (a
 * secpage), never into a heap copy of ours.
 */
#ifndef VTPM_CRYPTO_PKEY_H
#define VTPM_CRYPTO_PKEY_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "util/buf.h"

#define PKEY_FP_LEN 32
#define PKEY_FP_HEX_LEN (2 * PKEY_FP_LEN + 1)
#define PKEY_PEM_MAX (64u * 1024)
#define PKEY_SPKI_MAX 2048 /* RSA-8192 SPKI is ~1.1 KB */

enum pkey_kind { PKEY_OTHER = 0, PKEY_RSA = 1, PKEY_P256 = 2, PKEY_P384 = 3 };

/* The kind of k; *bits (may be NULL) gets the key size in bits. */
enum pkey_kind pkey_kind(const EVP_PKEY *k, int *bits);
/* A new NIST P-384 key pair, or NULL. */
EVP_PKEY *pkey_gen_p384(void);

/* An RSA public key from a big-endian modulus and exponent (0 = 65537). */
EVP_PKEY *pkey_rsa_from_modulus(const uint8_t *n, size_t nlen, uint32_t e);
/* An EC public key on group ("P-256", "P-384") from big-endian x and y. */
EVP_PKEY *pkey_ec_from_xy(const char *group, const uint8_t *x, size_t xlen, const uint8_t *y,
			  size_t ylen);

/* Private key DER (OpenSSL's traditional form: SEC1 / PKCS#1) written
 * into out (cap bytes); 0 or -1. */
int pkey_priv_der(const EVP_PKEY *k, uint8_t *out, size_t cap, size_t *len)
	__attribute__((warn_unused_result));
EVP_PKEY *pkey_priv_from_der(const uint8_t *p, size_t len);
/* First private key in an unencrypted PEM text of len bytes, or NULL. */
EVP_PKEY *pkey_priv_from_pem(const uint8_t *pem, size_t len);

/* SubjectPublicKeyInfo DER appended to out. */
int pkey_pub_der(const EVP_PKEY *k, struct buf *out) __attribute__((warn_unused_result));
EVP_PKEY *pkey_pub_from_der(const uint8_t *p, size_t len);
/* A "PUBLIC KEY" PEM (or the public half of an unencrypted private-key
 * PEM, so an operator may point at either), or NULL. */
EVP_PKEY *pkey_pub_from_pem(const uint8_t *pem, size_t len);
/* "-----BEGIN PUBLIC KEY-----" PEM appended to out. */
int pkey_pub_pem(const EVP_PKEY *k, struct buf *out) __attribute__((warn_unused_result));

/* SHA-256 over the SubjectPublicKeyInfo DER. */
int pkey_fingerprint(const EVP_PKEY *k, uint8_t fp[PKEY_FP_LEN])
	__attribute__((warn_unused_result));
void pkey_fp_hex(const uint8_t fp[PKEY_FP_LEN], char out[PKEY_FP_HEX_LEN]);

/* ECDH shared secret of priv and peer (same curve) into z (cap bytes). */
int pkey_ecdh(EVP_PKEY *priv, EVP_PKEY *peer, uint8_t *z, size_t cap, size_t *zlen)
	__attribute__((warn_unused_result));

/* PEM armour ("-----BEGIN <label>-----", base64 in 64-column lines) of
 * len DER bytes, appended to out; the bytes are not parsed. */
int pem_armor(const char *label, const uint8_t *der, size_t len, struct buf *out)
	__attribute__((warn_unused_result));

#endif
