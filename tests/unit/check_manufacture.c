/*
 * check_manufacture.c - the pure parts of manager/manufacture.c: the
 * CreatePrimary command carries the TCG EK template (L-1, L-2, H-3) that
 * tpm2-tss unmarshals back; a response whose public area matches the
 * template yields the EK, one that differs in any template field (type,
 * attributes, policy, symmetric, curve, key size) or is truncated is
 * refused; the TPM 1.2 EK response is accepted only with the right
 * checksum; the TCG stored-certificate header wraps and unwraps exactly.
 */
#include "unit.h"
#include "crypto/pkey.h"
#include "manager/manufacture.h"

#include <string.h>

#include <openssl/evp.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_tpm2_types.h>

/* The public area from a CreatePrimary command we built. */
static void
template_of(enum mf_ek ek, TPM2B_PUBLIC *pub)
{
	struct buf cmd;
	size_t off = 0;

	buf_init(&cmd, 4096);
	ck_assert_int_eq(mf_build_createprimary(ek, &cmd), 0);
	ck_assert_uint_eq(be32_get(cmd.d + 2), cmd.len);
	ck_assert_uint_eq(be32_get(cmd.d + 6), TPM2_CC_CreatePrimary);
	ck_assert_uint_eq(be32_get(cmd.d + 10), TPM2_RH_ENDORSEMENT);
	/* header 10, handle 4, auth area 4 + 9, inSensitive 2 + 4 */
	memset(pub, 0, sizeof(*pub));
	ck_assert_int_eq(Tss2_MU_TPM2B_PUBLIC_Unmarshal(cmd.d + 33, cmd.len - 33, &off, pub),
			 TSS2_RC_SUCCESS);
	ck_assert_uint_eq(33 + off + 2 + 4, cmd.len);
	buf_free(&cmd);
}

/* A CreatePrimary response carrying pub. */
static void
response(const TPM2B_PUBLIC *pub, struct buf *r)
{
	uint8_t m[sizeof(TPM2B_PUBLIC)];
	size_t off = 0;

	ck_assert_int_eq(Tss2_MU_TPM2B_PUBLIC_Marshal(pub, m, sizeof(m), &off), TSS2_RC_SUCCESS);
	buf_reset(r);
	ck_assert(buf_put_u16(r, 0x8002) == 0 && buf_put_u32(r, 0) == 0 && buf_put_u32(r, 0) == 0);
	ck_assert(buf_put_u32(r, 0x80000001) == 0 && buf_put_u32(r, (uint32_t)(off + 6)) == 0);
	ck_assert(buf_put_bytes(r, m, off) == 0 && buf_put_bytes(r, "\0\0\0\0\0\0", 6) == 0);
	/* auth area of the response: nonce 0, attrs, hmac 0 */
	ck_assert(buf_put_bytes(r, "\0\0\x01\0\0", 5) == 0);
	be32_put(r->d + 2, (uint32_t)r->len);
}

START_TEST(test_templates)
{
	TPM2B_PUBLIC t;

	template_of(MF_EK_RSA2048, &t);
	ck_assert_uint_eq(t.publicArea.type, TPM2_ALG_RSA);
	ck_assert_uint_eq(t.publicArea.objectAttributes, 0x000300b2);
	ck_assert_uint_eq(t.publicArea.parameters.rsaDetail.keyBits, 2048);
	ck_assert_uint_eq(t.publicArea.unique.rsa.size, 256);
	ck_assert_uint_eq(t.publicArea.authPolicy.size, 32);
	ck_assert_uint_eq(t.publicArea.authPolicy.buffer[0], 0x83);
	template_of(MF_EK_ECCP256, &t);
	ck_assert_uint_eq(t.publicArea.parameters.eccDetail.curveID, TPM2_ECC_NIST_P256);
	ck_assert_uint_eq(t.publicArea.unique.ecc.x.size, 32);
	template_of(MF_EK_ECCP384, &t);
	ck_assert_uint_eq(t.publicArea.nameAlg, TPM2_ALG_SHA384);
	ck_assert_uint_eq(t.publicArea.objectAttributes, 0x000300f2);
	ck_assert_uint_eq(t.publicArea.unique.ecc.x.size, 0);
}
END_TEST

START_TEST(test_parse_createprimary)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), *got = NULL;
	uint8_t pt[65];
	size_t ptlen = 0;
	TPM2B_PUBLIC t, bad;
	struct buf r;
	uint32_t h = 0;

	ck_assert_int_eq(EVP_PKEY_get_octet_string_param(k, "pub", pt, sizeof(pt), &ptlen), 1);
	ck_assert_uint_eq(ptlen, 65);
	template_of(MF_EK_ECCP256, &t);
	memcpy(t.publicArea.unique.ecc.x.buffer, pt + 1, 32);
	memcpy(t.publicArea.unique.ecc.y.buffer, pt + 33, 32);
	buf_init(&r, 4096);
	response(&t, &r);
	ck_assert_int_eq(mf_parse_createprimary(MF_EK_ECCP256, r.d, r.len, &h, &got), 0);
	ck_assert_uint_eq(h, 0x80000001);
	ck_assert_int_eq(EVP_PKEY_eq(got, k), 1);
	EVP_PKEY_free(got);
	got = NULL;
	/* Parsed as the RSA EK, it does not match. */
	ck_assert_int_eq(mf_parse_createprimary(MF_EK_RSA2048, r.d, r.len, &h, &got), VERR_FORMAT);
	/* Every truncation. */
	for (size_t n = 0; n < r.len; n++)
		ck_assert_int_eq(mf_parse_createprimary(MF_EK_ECCP256, r.d, n, &h, &got), VERR_FORMAT);
	/* Any template field changed. */
	bad = t;
	bad.publicArea.objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
	response(&bad, &r);
	ck_assert_int_eq(mf_parse_createprimary(MF_EK_ECCP256, r.d, r.len, &h, &got), VERR_FORMAT);
	bad = t;
	bad.publicArea.authPolicy.buffer[5] ^= 1;
	response(&bad, &r);
	ck_assert_int_eq(mf_parse_createprimary(MF_EK_ECCP256, r.d, r.len, &h, &got), VERR_FORMAT);
	bad = t;
	bad.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P384;
	response(&bad, &r);
	ck_assert_int_eq(mf_parse_createprimary(MF_EK_ECCP256, r.d, r.len, &h, &got), VERR_FORMAT);
	bad = t;
	bad.publicArea.parameters.eccDetail.symmetric.keyBits.aes = 256;
	response(&bad, &r);
	ck_assert_int_eq(mf_parse_createprimary(MF_EK_ECCP256, r.d, r.len, &h, &got), VERR_FORMAT);
	/* A point off the curve. */
	bad = t;
	bad.publicArea.unique.ecc.y.buffer[31] ^= 1;
	response(&bad, &r);
	ck_assert_int_eq(mf_parse_createprimary(MF_EK_ECCP256, r.d, r.len, &h, &got), VERR_FORMAT);
	/* A TPM error code. */
	response(&t, &r);
	be32_put(r.d + 6, 0x9a2);
	ck_assert_int_eq(mf_parse_createprimary(MF_EK_ECCP256, r.d, r.len, &h, &got), VERR_FORMAT);
	ck_assert_ptr_null(got);
	EVP_PKEY_free(k);
	buf_free(&r);
}
END_TEST

START_TEST(test_pubek12)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048), *got = NULL;
	uint8_t nonce[20], n[256], sum[20];
	BIGNUM *bn = NULL;
	struct buf r;
	unsigned int sl = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	memset(nonce, 7, sizeof(nonce));
	ck_assert_int_eq(EVP_PKEY_get_bn_param(k, "n", &bn), 1);
	ck_assert_int_eq(BN_bn2binpad(bn, n, 256), 256);
	buf_init(&r, 4096);
	ck_assert(buf_put_u16(&r, 0xc4) == 0 && buf_put_u32(&r, 0) == 0 && buf_put_u32(&r, 0) == 0);
	/* TPM_PUBKEY: RSA, OAEP, no sig, parms { 2048, 2 primes, no exponent }, key */
	ck_assert(buf_put_u32(&r, 1) == 0 && buf_put_u16(&r, 3) == 0 && buf_put_u16(&r, 1) == 0 &&
		  buf_put_u32(&r, 12) == 0 && buf_put_u32(&r, 2048) == 0 &&
		  buf_put_u32(&r, 2) == 0 && buf_put_u32(&r, 0) == 0 && buf_put_u32(&r, 256) == 0 &&
		  buf_put_bytes(&r, n, 256) == 0);
	ck_assert_int_eq(EVP_DigestInit_ex(ctx, EVP_sha1(), NULL), 1);
	ck_assert_int_eq(EVP_DigestUpdate(ctx, r.d + 10, r.len - 10), 1);
	ck_assert_int_eq(EVP_DigestUpdate(ctx, nonce, 20), 1);
	ck_assert_int_eq(EVP_DigestFinal_ex(ctx, sum, &sl), 1);
	ck_assert(buf_put_bytes(&r, sum, 20) == 0);
	be32_put(r.d + 2, (uint32_t)r.len);
	ck_assert_int_eq(mf_parse_pubek12(r.d, r.len, nonce, &got), 0);
	ck_assert_int_eq(EVP_PKEY_eq(got, k), 1);
	EVP_PKEY_free(got);
	got = NULL;
	nonce[0] ^= 1; /* another anti-replay nonce: the checksum fails */
	ck_assert_int_eq(mf_parse_pubek12(r.d, r.len, nonce, &got), VERR_FORMAT);
	nonce[0] ^= 1;
	for (size_t i = 0; i < r.len; i++)
		ck_assert_int_eq(mf_parse_pubek12(r.d, i, nonce, &got), VERR_FORMAT);
	r.d[r.len - 1] ^= 1;
	ck_assert_int_eq(mf_parse_pubek12(r.d, r.len, nonce, &got), VERR_FORMAT);
	ck_assert_ptr_null(got);
	EVP_MD_CTX_free(ctx);
	BN_free(bn);
	EVP_PKEY_free(k);
	buf_free(&r);
}
END_TEST

START_TEST(test_tcg12_header)
{
	static const uint8_t der[] = { 0x30, 0x03, 0x02, 0x01, 0x05 };
	const uint8_t *d;
	size_t dl;
	struct buf b;

	buf_init(&b, 64);
	ck_assert_int_eq(mf_tcg12_wrap(der, sizeof(der), &b), 0);
	ck_assert_uint_eq(b.len, 7 + sizeof(der));
	ck_assert_mem_eq(b.d, "\x10\x01\x00\x00\x07\x10\x02", 7);
	ck_assert_int_eq(mf_tcg12_unwrap(b.d, b.len, &d, &dl), 0);
	ck_assert_uint_eq(dl, sizeof(der));
	ck_assert_mem_eq(d, der, dl);
	ck_assert_int_eq(mf_tcg12_unwrap(b.d, b.len - 1, &d, &dl), -1);
	b.d[1] = 2;
	ck_assert_int_eq(mf_tcg12_unwrap(b.d, b.len, &d, &dl), -1);
	buf_free(&b);
}
END_TEST

Suite *
manufacture_suite(void)
{
	Suite *s = suite_create("manufacture");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_templates);
	tcase_add_test(tc, test_parse_createprimary);
	tcase_add_test(tc, test_pubek12);
	tcase_add_test(tc, test_tcg12_header);
	suite_add_tcase(s, tc);
	return s;
}
