/*
 * pkey.c - asymmetric-key helpers; see pkey.h.  Owns no state.  Trusts
 * nothing it parses (lengths bounded before OpenSSL sees them, encrypted
 * PEM refused by a password callback that never prompts).
 */
#include "crypto/pkey.h"

#include <limits.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* Refuses every passphrase request: keys we read are never encrypted, and
 * OpenSSL's default callback would prompt on the terminal. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

enum pkey_kind
pkey_kind(const EVP_PKEY *k, int *bits)
{
	char group[64];
	size_t glen = 0;

	if (bits != NULL)
		*bits = k != NULL ? EVP_PKEY_get_bits(k) : 0;
	if (k == NULL)
		return PKEY_OTHER;
	if (EVP_PKEY_is_a(k, "RSA"))
		return PKEY_RSA;
	if (!EVP_PKEY_is_a(k, "EC"))
		return PKEY_OTHER;
	if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
					   &glen) != 1)
		return PKEY_OTHER;
	if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0)
		return PKEY_P384;
	if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
		return PKEY_P256;
	return PKEY_OTHER;
}

EVP_PKEY *
pkey_gen_p384(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
}

EVP_PKEY *
pkey_rsa_from_modulus(const uint8_t *n, size_t nlen, uint32_t e)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *k = NULL;
	BIGNUM *bn = NULL, *be = NULL;

	if (bld == NULL || n == NULL || nlen == 0 || nlen > 1024)
		goto out;
	if ((bn = BN_bin2bn(n, (int)nlen, NULL)) == NULL ||
	    (be = BN_new()) == NULL || BN_set_word(be, e != 0 ? e : 65537) != 1)
		goto out;
	if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) != 1 ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) != 1)
		k = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return k;
}

EVP_PKEY *
pkey_ec_from_xy(const char *group, const uint8_t *x, size_t xlen, const uint8_t *y, size_t ylen)
{
	uint8_t pt[1 + 2 * 66];
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *k = NULL;

	if (x == NULL || y == NULL || xlen == 0 || xlen != ylen || xlen > 66)
		return NULL;
	pt[0] = 0x04; /* uncompressed point */
	memcpy(pt + 1, x, xlen);
	memcpy(pt + 1 + xlen, y, ylen);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * xlen);
	params[2] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL)
		return NULL;
	/* fromdata checks that the point is on the curve. */
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) != 1)
		k = NULL;
	EVP_PKEY_CTX_free(ctx);
	return k;
}

int
pkey_priv_der(const EVP_PKEY *k, uint8_t *out, size_t cap, size_t *len)
{
	unsigned char *p = out;
	int n = i2d_PrivateKey(k, NULL);

	if (n <= 0 || (size_t)n > cap)
		return -1;
	/* With *pp set, OpenSSL writes into our memory: no heap copy. */
	if (i2d_PrivateKey(k, &p) != n)
		return -1;
	*len = (size_t)n;
	return 0;
}

EVP_PKEY *
pkey_priv_from_der(const uint8_t *p, size_t len)
{
	const unsigned char *q = p;

	if (p == NULL || len == 0 || len > LONG_MAX)
		return NULL;
	return d2i_AutoPrivateKey(NULL, &q, (long)len);
}

static BIO *
mem_bio(const uint8_t *p, size_t len)
{
	if (p == NULL || len == 0 || len > PKEY_PEM_MAX)
		return NULL;
	return BIO_new_mem_buf(p, (int)len);
}

EVP_PKEY *
pkey_priv_from_pem(const uint8_t *pem, size_t len)
{
	BIO *b = mem_bio(pem, len);
	EVP_PKEY *k;

	if (b == NULL)
		return NULL;
	k = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL);
	BIO_free(b);
	return k;
}

int
pkey_pub_der(const EVP_PKEY *k, struct buf *out)
{
	unsigned char *p = NULL;
	int n = i2d_PUBKEY(k, &p);
	int r;

	if (n <= 0)
		return -1;
	r = buf_put_bytes(out, p, (size_t)n) == 0 ? 0 : -1;
	OPENSSL_free(p);
	return r;
}

EVP_PKEY *
pkey_pub_from_der(const uint8_t *p, size_t len)
{
	const unsigned char *q = p;
	EVP_PKEY *k;

	if (p == NULL || len == 0 || len > PKEY_SPKI_MAX)
		return NULL;
	k = d2i_PUBKEY(NULL, &q, (long)len);
	/* The whole input must be the key, nothing trailing. */
	if (k != NULL && q != p + len) {
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

EVP_PKEY *
pkey_pub_from_pem(const uint8_t *pem, size_t len)
{
	BIO *b = mem_bio(pem, len);
	EVP_PKEY *k;

	if (b == NULL)
		return NULL;
	k = PEM_read_bio_PUBKEY(b, NULL, no_passphrase, NULL);
	BIO_free(b);
	if (k == NULL && (b = mem_bio(pem, len)) != NULL) {
		/* A private-key PEM: keep only its public half. */
		EVP_PKEY *priv = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL);
		struct buf d;

		BIO_free(b);
		if (priv == NULL)
			return NULL;
		buf_init(&d, PKEY_SPKI_MAX);
		if (pkey_pub_der(priv, &d) == 0)
			k = pkey_pub_from_der(d.d, d.len);
		buf_free(&d);
		EVP_PKEY_free(priv);
	}
	return k;
}

int
pkey_pub_pem(const EVP_PKEY *k, struct buf *out)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL;
	long n;
	int r = -1;

	if (b == NULL)
		return -1;
	if (PEM_write_bio_PUBKEY(b, k) == 1 && (n = BIO_get_mem_data(b, &p)) > 0)
		r = buf_put_bytes(out, p, (size_t)n) == 0 ? 0 : -1;
	BIO_free(b);
	return r;
}

int
pkey_fingerprint(const EVP_PKEY *k, uint8_t fp[PKEY_FP_LEN])
{
	struct buf d;
	unsigned int n = 0;
	int r = -1;

	buf_init(&d, PKEY_SPKI_MAX);
	if (pkey_pub_der(k, &d) == 0 &&
	    EVP_Digest(d.d, d.len, fp, &n, EVP_sha256(), NULL) == 1 && n == PKEY_FP_LEN)
		r = 0;
	buf_free(&d);
	return r;
}

void
pkey_fp_hex(const uint8_t fp[PKEY_FP_LEN], char out[PKEY_FP_HEX_LEN])
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < PKEY_FP_LEN; i++) {
		out[2 * i] = hex[fp[i] >> 4];
		out[2 * i + 1] = hex[fp[i] & 15];
	}
	out[2 * PKEY_FP_LEN] = '\0';
}

int
pkey_ecdh(EVP_PKEY *priv, EVP_PKEY *peer, uint8_t *z, size_t cap, size_t *zlen)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
	size_t n = 0;
	int r = -1;

	if (ctx == NULL)
		return -1;
	if (EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, peer) == 1 &&
	    EVP_PKEY_derive(ctx, NULL, &n) == 1 && n <= cap &&
	    EVP_PKEY_derive(ctx, z, &n) == 1) {
		*zlen = n;
		r = 0;
	}
	EVP_PKEY_CTX_free(ctx);
	return r;
}

int
pem_armor(const char *label, const uint8_t *der, size_t len, struct buf *out)
{
	unsigned char line[65 + 1];
	size_t off = 0;
	int n;

	if (len == 0 || len > PKEY_PEM_MAX)
		return -1;
	if (buf_put_bytes(out, "-----BEGIN ", 11) != 0 ||
	    buf_put_bytes(out, label, strlen(label)) != 0 ||
	    buf_put_bytes(out, "-----\n", 6) != 0)
		return -1;
	while (off < len) {
		size_t k = len - off > 48 ? 48 : len - off; /* 48 bytes -> 64 chars */

		n = EVP_EncodeBlock(line, der + off, (int)k);
		if (n <= 0 || buf_put_bytes(out, line, (size_t)n) != 0 || buf_put_u8(out, '\n') != 0)
			return -1;
		off += k;
	}
	if (buf_put_bytes(out, "-----END ", 9) != 0 ||
	    buf_put_bytes(out, label, strlen(label)) != 0 ||
	    buf_put_bytes(out, "-----\n", 6) != 0)
		return -1;
	return 0;
}
