/*
 * check_aead.c - crypto/aead: AES-256-GCM known answers and tamper
 * detection (ciphertext, tag, AAD, nonce, key), and HKDF-SHA256 against
 * RFC 5869 test case 1.
 */
#include "unit.h"
#include "crypto/aead.h"

#include <stdint.h>
#include <string.h>

static const uint8_t key1[AEAD_KEY_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
					    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
					    29, 30, 31, 32 };
static const uint8_t nonce1[AEAD_NONCE_LEN] = { 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5,
						0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab };
static const uint8_t aad1[] = "header bytes";
static const uint8_t msg1[] = "the TPM's permanent state, 40 bytes long";

static int
all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

START_TEST(test_gcm_known_answer)
{
	/* "The Galois/Counter Mode of Operation", test cases 13 and 14:
	 * all-zero key and IV. */
	static const uint8_t tag13[16] = { 0x53, 0x0f, 0x8a, 0xfb, 0xc7, 0x45, 0x36, 0xb9,
					   0xa9, 0x63, 0xb4, 0xf1, 0xc4, 0xcb, 0x73, 0x8b };
	static const uint8_t ct14[16] = { 0xce, 0xa7, 0x40, 0x3d, 0x4d, 0x60, 0x6b, 0x6e,
					  0x07, 0x4e, 0xc5, 0xd3, 0xba, 0xf3, 0x9d, 0x18 };
	static const uint8_t tag14[16] = { 0xd0, 0xd1, 0xc8, 0xa7, 0x99, 0x99, 0x6b, 0xf0,
					   0x26, 0x5b, 0x98, 0xb5, 0xd4, 0x8a, 0xb9, 0x19 };
	uint8_t key[32] = { 0 }, iv[12] = { 0 }, pt[16] = { 0 }, ct[16], tag[16];

	ck_assert_int_eq(aead_seal(key, iv, NULL, 0, NULL, 0, ct, tag), 0);
	ck_assert_mem_eq(tag, tag13, 16);
	ck_assert_int_eq(aead_seal(key, iv, NULL, 0, pt, 16, ct, tag), 0);
	ck_assert_mem_eq(ct, ct14, 16);
	ck_assert_mem_eq(tag, tag14, 16);
	ck_assert_int_eq(aead_open(key, iv, NULL, 0, ct14, 16, tag14, pt), 0);
	ck_assert(all_zero(pt, 16));
}
END_TEST

START_TEST(test_round_trip)
{
	uint8_t ct[sizeof(msg1)], pt[sizeof(msg1)], tag[AEAD_TAG_LEN];

	ck_assert_int_eq(aead_seal(key1, nonce1, aad1, sizeof(aad1), msg1, sizeof(msg1), ct, tag),
			 0);
	ck_assert_int_ne(memcmp(ct, msg1, sizeof(msg1)), 0);
	ck_assert_int_eq(aead_open(key1, nonce1, aad1, sizeof(aad1), ct, sizeof(ct), tag, pt), 0);
	ck_assert_mem_eq(pt, msg1, sizeof(msg1));
}
END_TEST

START_TEST(test_in_place)
{
	uint8_t b[sizeof(msg1)], tag[AEAD_TAG_LEN];

	memcpy(b, msg1, sizeof(b));
	ck_assert_int_eq(aead_seal(key1, nonce1, NULL, 0, b, sizeof(b), b, tag), 0);
	ck_assert_int_ne(memcmp(b, msg1, sizeof(b)), 0);
	ck_assert_int_eq(aead_open(key1, nonce1, NULL, 0, b, sizeof(b), tag, b), 0);
	ck_assert_mem_eq(b, msg1, sizeof(b));
}
END_TEST

/* Seals, flips bits of byte `at` of one input, opens: expects VERR_AUTH
 * and a wiped output. */
enum what { CT, TAG, AAD, NONCE, KEY };

static void
tamper(enum what w, size_t at)
{
	uint8_t ct[sizeof(msg1)], pt[sizeof(msg1)], tag[AEAD_TAG_LEN];
	uint8_t aad[sizeof(aad1)], nonce[AEAD_NONCE_LEN], key[AEAD_KEY_LEN];

	memcpy(aad, aad1, sizeof(aad));
	memcpy(nonce, nonce1, sizeof(nonce));
	memcpy(key, key1, sizeof(key));
	ck_assert_int_eq(aead_seal(key, nonce, aad, sizeof(aad), msg1, sizeof(msg1), ct, tag), 0);
	switch (w) {
	case CT: ct[at] ^= 1; break;
	case TAG: tag[at] ^= 0x80; break;
	case AAD: aad[at] ^= 1; break;
	case NONCE: nonce[at] ^= 1; break;
	case KEY: key[at] ^= 1; break;
	}
	memset(pt, 0xee, sizeof(pt));
	ck_assert_int_eq(aead_open(key, nonce, aad, sizeof(aad), ct, sizeof(ct), tag, pt),
			 VERR_AUTH);
	ck_assert(all_zero(pt, sizeof(pt)));
}

START_TEST(test_tamper)
{
	for (size_t i = 0; i < sizeof(msg1); i++)
		tamper(CT, i);
	for (size_t i = 0; i < AEAD_TAG_LEN; i++)
		tamper(TAG, i);
	for (size_t i = 0; i < sizeof(aad1); i++)
		tamper(AAD, i);
	for (size_t i = 0; i < AEAD_NONCE_LEN; i++)
		tamper(NONCE, i);
	tamper(KEY, 0);
	tamper(KEY, 31);
}
END_TEST

START_TEST(test_aad_length_matters)
{
	uint8_t ct[sizeof(msg1)], pt[sizeof(msg1)], tag[AEAD_TAG_LEN];

	ck_assert_int_eq(aead_seal(key1, nonce1, aad1, sizeof(aad1), msg1, sizeof(msg1), ct, tag),
			 0);
	ck_assert_int_eq(aead_open(key1, nonce1, aad1, sizeof(aad1) - 1, ct, sizeof(ct), tag, pt),
			 VERR_AUTH);
	ck_assert_int_eq(aead_open(key1, nonce1, NULL, 0, ct, sizeof(ct), tag, pt), VERR_AUTH);
	/* A truncated ciphertext does not authenticate either. */
	ck_assert_int_eq(aead_open(key1, nonce1, aad1, sizeof(aad1), ct, sizeof(ct) - 1, tag, pt),
			 VERR_AUTH);
}
END_TEST

START_TEST(test_wrong_key)
{
	uint8_t ct[sizeof(msg1)], pt[sizeof(msg1)], tag[AEAD_TAG_LEN], other[32];

	memset(other, 0x55, sizeof(other));
	ck_assert_int_eq(aead_seal(key1, nonce1, aad1, sizeof(aad1), msg1, sizeof(msg1), ct, tag),
			 0);
	ck_assert_int_eq(aead_open(other, nonce1, aad1, sizeof(aad1), ct, sizeof(ct), tag, pt),
			 VERR_AUTH);
}
END_TEST

START_TEST(test_empty_plaintext)
{
	uint8_t tag[AEAD_TAG_LEN], dummy[1];

	ck_assert_int_eq(aead_seal(key1, nonce1, aad1, sizeof(aad1), NULL, 0, dummy, tag), 0);
	ck_assert_int_eq(aead_open(key1, nonce1, aad1, sizeof(aad1), NULL, 0, tag, dummy), 0);
	tag[0] ^= 1;
	ck_assert_int_eq(aead_open(key1, nonce1, aad1, sizeof(aad1), NULL, 0, tag, dummy),
			 VERR_AUTH);
	tag[0] ^= 1;
	ck_assert_int_eq(aead_open(key1, nonce1, aad1, 3, NULL, 0, tag, dummy), VERR_AUTH);
}
END_TEST

START_TEST(test_too_long)
{
	uint8_t tag[AEAD_TAG_LEN], b[1] = { 0 };

	ck_assert_int_eq(aead_seal(key1, nonce1, NULL, SIZE_MAX, b, 1, b, tag), VERR_INVAL);
	ck_assert_int_eq(aead_seal(key1, nonce1, NULL, 0, b, SIZE_MAX, b, tag), VERR_INVAL);
	ck_assert_int_eq(aead_open(key1, nonce1, NULL, 0, b, SIZE_MAX, tag, b), VERR_INVAL);
	ck_assert_int_eq(aead_open(key1, nonce1, b, SIZE_MAX, b, 1, tag, b), VERR_INVAL);
}
END_TEST

START_TEST(test_hkdf_rfc5869_case1)
{
	static const uint8_t okm[42] = {
		0x3c, 0xb2, 0x5f, 0x25, 0xfa, 0xac, 0xd5, 0x7a, 0x90, 0x43, 0x4f, 0x64, 0xd0, 0x36,
		0x2f, 0x2a, 0x2d, 0x2d, 0x0a, 0x90, 0xcf, 0x1a, 0x5a, 0x4c, 0x5d, 0xb0, 0x2d, 0x56,
		0xec, 0xc4, 0xc5, 0xbf, 0x34, 0x00, 0x72, 0x08, 0xd5, 0xb8, 0x87, 0x18, 0x58, 0x65,
	};
	uint8_t ikm[22], salt[13], info[10], out[42];

	memset(ikm, 0x0b, sizeof(ikm));
	for (int i = 0; i < 13; i++)
		salt[i] = (uint8_t)i;
	for (int i = 0; i < 10; i++)
		info[i] = (uint8_t)(0xf0 + i);
	ck_assert_int_eq(hkdf_sha256(ikm, sizeof(ikm), salt, sizeof(salt), info, sizeof(info),
				     out, sizeof(out)), 0);
	ck_assert_mem_eq(out, okm, sizeof(okm));
	/* A prefix of the output is the shorter output. */
	ck_assert_int_eq(hkdf_sha256(ikm, sizeof(ikm), salt, sizeof(salt), info, sizeof(info),
				     out, 32), 0);
	ck_assert_mem_eq(out, okm, 32);
}
END_TEST

START_TEST(test_hkdf_rfc5869_case3)
{
	/* Test case 3: no salt, no info. */
	static const uint8_t okm[42] = {
		0x8d, 0xa4, 0xe7, 0x75, 0xa5, 0x63, 0xc1, 0x8f, 0x71, 0x5f, 0x80, 0x2a, 0x06, 0x3c,
		0x5a, 0x31, 0xb8, 0xa1, 0x1f, 0x5c, 0x5e, 0xe1, 0x87, 0x9e, 0xc3, 0x45, 0x4e, 0x5f,
		0x3c, 0x73, 0x8d, 0x2d, 0x9d, 0x20, 0x13, 0x95, 0xfa, 0xa4, 0xb6, 0x1a, 0x96, 0xc8,
	};
	uint8_t ikm[22], out[42];

	memset(ikm, 0x0b, sizeof(ikm));
	ck_assert_int_eq(hkdf_sha256(ikm, sizeof(ikm), NULL, 0, NULL, 0, out, sizeof(out)), 0);
	ck_assert_mem_eq(out, okm, sizeof(okm));
}
END_TEST

START_TEST(test_hkdf_limits)
{
	uint8_t ikm[32] = { 1 }, out[1];

	ck_assert_int_eq(hkdf_sha256(ikm, 32, NULL, 0, NULL, 0, out, 0), VERR_INVAL);
	ck_assert_int_eq(hkdf_sha256(ikm, 32, NULL, 0, NULL, 0, out, 255 * 32 + 1),
			 VERR_INVAL);
	ck_assert_int_eq(hkdf_sha256(ikm, 32, NULL, 0, NULL, 0, out, SIZE_MAX), VERR_INVAL);
	ck_assert_int_eq(hkdf_sha256(ikm, 0, NULL, 0, NULL, 0, out, 1), VERR_INVAL);
}
END_TEST

START_TEST(test_random_and_memcmp)
{
	uint8_t a[32], b[32];

	ck_assert_int_eq(crypto_random(a, sizeof(a)), 0);
	ck_assert_int_eq(crypto_random(b, sizeof(b)), 0);
	ck_assert_int_ne(crypto_memcmp(a, b, sizeof(a)), 0);
	ck_assert_int_eq(crypto_random(a, 0), 0);
	memcpy(b, a, sizeof(a));
	ck_assert_int_eq(crypto_memcmp(a, b, sizeof(a)), 0);
	b[31] ^= 1;
	ck_assert_int_ne(crypto_memcmp(a, b, sizeof(a)), 0);
	ck_assert_int_eq(crypto_memcmp(a, b, 31), 0);
	ck_assert_int_eq(crypto_memcmp(a, b, 0), 0);
}
END_TEST

Suite *
aead_suite(void)
{
	Suite *s = suite_create("aead");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_gcm_known_answer);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_in_place);
	tcase_add_test(tc, test_tamper);
	tcase_add_test(tc, test_aad_length_matters);
	tcase_add_test(tc, test_wrong_key);
	tcase_add_test(tc, test_empty_plaintext);
	tcase_add_test(tc, test_too_long);
	tcase_add_test(tc, test_hkdf_rfc5869_case1);
	tcase_add_test(tc, test_hkdf_rfc5869_case3);
	tcase_add_test(tc, test_hkdf_limits);
	tcase_add_test(tc, test_random_and_memcmp);
	suite_add_tcase(s, tc);
	return s;
}
