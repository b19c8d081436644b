/*
 * check_recovery.c - crypto/recovery: master.recovery.  Wrap and unwrap
 * with RSA-3072 and P-384; another key is OTHERKEY; every single-byte
 * change is refused (FORMAT, OTHERKEY or AUTH, never success); the
 * manager's check (master key, no private key) accepts an intact file,
 * tells another recovery key apart, and catches any change; RSA-2048 and
 * P-256 are refused as recovery keys.
 */
#include "unit.h"
#include "crypto/pkey.h"
#include "crypto/recovery.h"

#include <string.h>

static const uint8_t master[32] = { 'm', 'a', 's', 't', 'e', 'r', 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
				    11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26 };
static EVP_PKEY *rsa, *ec, *ec2;

static void
setup(void)
{
	ck_assert_ptr_nonnull(rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072));
	ck_assert_ptr_nonnull(ec = pkey_gen_p384());
	ck_assert_ptr_nonnull(ec2 = pkey_gen_p384());
}

static void
teardown(void)
{
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(ec2);
}

static void
roundtrip(EVP_PKEY *k)
{
	struct buf f;
	uint8_t out[32], fp[PKEY_FP_LEN], ofp[PKEY_FP_LEN], *copy;

	buf_init(&f, RECOVERY_FILE_MAX);
	ck_assert_int_eq(recovery_wrap(k, master, &f), 0);
	ck_assert_int_eq(pkey_fingerprint(k, fp), 0);
	ck_assert_int_eq(pkey_fingerprint(ec2, ofp), 0);
	ck_assert_int_eq(recovery_check(f.d, f.len, master, fp), 0);
	ck_assert_int_eq(recovery_check(f.d, f.len, master, ofp), VERR_OTHERKEY);
	memset(out, 0, sizeof(out));
	ck_assert_int_eq(recovery_unwrap(k, f.d, f.len, out), 0);
	ck_assert_mem_eq(out, master, 32);
	ck_assert_int_eq(recovery_unwrap(ec2, f.d, f.len, out), VERR_OTHERKEY);
	copy = malloc(f.len);
	ck_assert_ptr_nonnull(copy);
	/* Every byte of a P-384 file; every 5th of an RSA one (an RSA
	 * decryption per byte is slow under valgrind), and all of its last 64. */
	for (size_t i = 0; i < f.len; i += (pkey_kind(k, NULL) == PKEY_RSA && i + 64 < f.len) ? 5 : 1) {
		memcpy(copy, f.d, f.len);
		copy[i] ^= 0x80;
		ck_assert_msg(recovery_unwrap(k, copy, f.len, out) != 0, "unwrap: byte %zu", i);
		ck_assert_msg(recovery_check(copy, f.len, master, fp) != 0, "check: byte %zu", i);
	}
	for (size_t n = 0; n < f.len; n++)
		ck_assert_int_eq(recovery_unwrap(k, f.d, n, out), VERR_FORMAT);
	free(copy);
	buf_free(&f);
}

START_TEST(test_rsa)
{
	roundtrip(rsa);
}
END_TEST

START_TEST(test_p384)
{
	roundtrip(ec);
}
END_TEST

START_TEST(test_weak_keys_refused)
{
	EVP_PKEY *r2 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	struct buf f;

	buf_init(&f, RECOVERY_FILE_MAX);
	ck_assert_int_eq(recovery_key_ok(r2), VERR_BADKEY);
	ck_assert_int_eq(recovery_key_ok(p256), VERR_BADKEY);
	ck_assert_int_eq(recovery_wrap(r2, master, &f), VERR_BADKEY);
	ck_assert_int_eq(recovery_wrap(p256, master, &f), VERR_BADKEY);
	ck_assert_uint_eq(f.len, 0);
	EVP_PKEY_free(r2);
	EVP_PKEY_free(p256);
	buf_free(&f);
}
END_TEST

Suite *
recovery_suite(void)
{
	Suite *s = suite_create("recovery");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_rsa);
	tcase_add_test(tc, test_p384);
	tcase_add_test(tc, test_weak_keys_refused);
	suite_add_tcase(s, tc);
	return s;
}
