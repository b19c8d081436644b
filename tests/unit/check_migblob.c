/*
 * check_migblob.c - crypto/migblob: the migration envelope of GET/SET_STATEBLOB.
 * Round trips with and without a migration key; the exact layout (known
 * answers for the key derivation and the plain digest); every truncation,
 * every extension and every single-bit change of an envelope is refused
 * and appends nothing; another vTPM's UUID or another blob type is a
 * MISMATCH; another key is AUTH; a plain envelope where a key is configured
 * (and the reverse) is KEYMODE.
 */
#include "unit.h"
#include "crypto/aead.h"
#include "crypto/blobfmt.h"
#include "crypto/migblob.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t mkey1[32] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
				   0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00,
				   1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
static const uint8_t mkey2[32] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
				   0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00,
				   1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17 };
/* HKDF-SHA256(mkey1, salt "vtpm-manager/v1", info "migration-key"),
 * computed independently (Python hmac). */
static const uint8_t kat_key1[32] = { 0x38, 0x92, 0xda, 0x15, 0x6c, 0x49, 0x59, 0x60,
				      0x35, 0x2d, 0x37, 0x24, 0x4f, 0x64, 0xb8, 0x20,
				      0xca, 0x3a, 0xc0, 0x0d, 0xc6, 0xd6, 0x5f, 0x31,
				      0xd5, 0x7b, 0x0e, 0xe6, 0x5b, 0xba, 0xc2, 0xeb };
static const uint8_t uuid_a[UUID_LEN] = { 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0x4a, 0xaa,
					  0x8a, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0x01 };
static const uint8_t uuid_b[UUID_LEN] = { 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0x4a, 0xaa,
					  0x8a, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0x02 };
static const uint8_t vol[] = "libtpms volatile state"; /* 22 bytes, no NUL */
/* SHA-256(header || vol) for type 2, flags 0, uuid_a (Python hashlib). */
static const uint8_t kat_digest[32] = { 0x28, 0xeb, 0x95, 0x09, 0xea, 0xe5, 0x6b, 0x93,
					0x82, 0x51, 0x23, 0x49, 0x04, 0x23, 0xc0, 0x8a,
					0x45, 0xa3, 0xa8, 0xc1, 0xea, 0x16, 0x6e, 0x14,
					0x4c, 0x93, 0x04, 0xa4, 0xbd, 0xac, 0xd0, 0x52 };
#define VOL_LEN (sizeof(vol) - 1)

static uint8_t key1[32], key2[32];
static uint8_t perm[700]; /* a pretend permall */

static void
setup(void)
{
	ck_assert_int_eq(migblob_derive_key(mkey1, key1), 0);
	ck_assert_int_eq(migblob_derive_key(mkey2, key2), 0);
	for (size_t i = 0; i < sizeof(perm); i++)
		perm[i] = (uint8_t)(i * 7 + 3);
}

/* Wraps perm as uuid_a's permanent blob, under key1 or plain. */
static void
wrap_perm(int enc, struct buf *out)
{
	buf_init(out, 1u << 20);
	ck_assert_int_eq(migblob_wrap(enc ? key1 : NULL, MIGBLOB_TYPE_PERMANENT, uuid_a, perm,
				      sizeof(perm), out), 0);
}

START_TEST(test_derive_key)
{
	uint8_t again[32], storage[32];

	ck_assert_mem_eq(key1, kat_key1, 32);
	ck_assert_int_eq(migblob_derive_key(mkey1, again), 0);
	ck_assert_mem_eq(key1, again, 32);
	ck_assert_int_ne(memcmp(key1, key2, 32), 0);
	/* Not any of the storage keys derived from the same bytes. */
	ck_assert_int_eq(blobfmt_derive_key(mkey1, NULL, storage), 0);
	ck_assert_int_ne(memcmp(key1, storage, 32), 0);
	ck_assert_int_eq(blobfmt_derive_key(mkey1, uuid_a, storage), 0);
	ck_assert_int_ne(memcmp(key1, storage, 32), 0);
}
END_TEST

START_TEST(test_plain_layout)
{
	struct buf e, pt;

	buf_init(&e, 4096);
	ck_assert_int_eq(migblob_wrap(NULL, MIGBLOB_TYPE_VOLATILE, uuid_a, vol, VOL_LEN, &e), 0);
	ck_assert_uint_eq(e.len, MIGBLOB_HDR_LEN + VOL_LEN + 32);
	ck_assert_uint_eq(e.len, migblob_wrapped_len(0, VOL_LEN));
	ck_assert_mem_eq(e.d, "VTPMMIG1", 8);
	ck_assert_uint_eq(be16_get(e.d + 8), 1);
	ck_assert_uint_eq(e.d[10], MIGBLOB_TYPE_VOLATILE);
	ck_assert_uint_eq(e.d[11], 0);
	ck_assert_mem_eq(e.d + 12, uuid_a, UUID_LEN);
	ck_assert_uint_eq(be32_get(e.d + 28), VOL_LEN);
	ck_assert_mem_eq(e.d + 32, vol, VOL_LEN);
	ck_assert_mem_eq(e.d + 32 + VOL_LEN, kat_digest, 32);
	buf_init(&pt, 4096);
	ck_assert_int_eq(migblob_unwrap(NULL, MIGBLOB_TYPE_VOLATILE, uuid_a, e.d, e.len, &pt), 0);
	ck_assert_uint_eq(pt.len, VOL_LEN);
	ck_assert_mem_eq(pt.d, vol, VOL_LEN);
	buf_free(&pt);
	buf_free(&e);
}
END_TEST

START_TEST(test_sealed_layout)
{
	struct buf e, pt;
	uint8_t *dec;

	wrap_perm(1, &e);
	ck_assert_uint_eq(e.len, MIGBLOB_HDR_LEN + 12 + sizeof(perm) + 16);
	ck_assert_uint_eq(e.len, migblob_wrapped_len(1, sizeof(perm)));
	ck_assert_mem_eq(e.d, "VTPMMIG1", 8);
	ck_assert_uint_eq(be16_get(e.d + 8), 1);
	ck_assert_uint_eq(e.d[10], MIGBLOB_TYPE_PERMANENT);
	ck_assert_uint_eq(e.d[11], MIGBLOB_FLAG_ENCRYPTED);
	ck_assert_mem_eq(e.d + 12, uuid_a, UUID_LEN);
	ck_assert_uint_eq(be32_get(e.d + 28), sizeof(perm));
	/* No plaintext in the clear. */
	ck_assert_ptr_null(memmem(e.d, e.len, perm, 16));
	/* Plain AES-256-GCM with the header as AAD: nonce | ct | tag. */
	dec = malloc(sizeof(perm));
	ck_assert_ptr_nonnull(dec);
	ck_assert_int_eq(aead_open(key1, e.d + 32, e.d, 32, e.d + 44, sizeof(perm),
				   e.d + 44 + sizeof(perm), dec), 0);
	ck_assert_mem_eq(dec, perm, sizeof(perm));
	free(dec);
	buf_init(&pt, 4096);
	ck_assert_int_eq(migblob_unwrap(key1, MIGBLOB_TYPE_PERMANENT, uuid_a, e.d, e.len, &pt), 0);
	ck_assert_uint_eq(pt.len, sizeof(perm));
	ck_assert_mem_eq(pt.d, perm, sizeof(perm));
	buf_free(&pt);
	buf_free(&e);
}
END_TEST

START_TEST(test_round_trip_types_and_append)
{
	static const uint8_t types[] = { MIGBLOB_TYPE_PERMANENT, MIGBLOB_TYPE_VOLATILE,
					 MIGBLOB_TYPE_SAVESTATE };
	struct buf e, pt;

	for (int enc = 0; enc < 2; enc++) {
		for (size_t t = 0; t < sizeof(types); t++) {
			buf_init(&e, 4096);
			buf_init(&pt, 4096);
			ck_assert_int_eq(buf_put_bytes(&pt, "xy", 2), 0);
			ck_assert_int_eq(migblob_wrap(enc ? key1 : NULL, types[t], uuid_b, vol,
						      VOL_LEN, &e), 0);
			ck_assert_int_eq(migblob_unwrap(enc ? key1 : NULL, types[t], uuid_b, e.d,
							e.len, &pt), 0);
			/* Appended after what pt held. */
			ck_assert_uint_eq(pt.len, 2 + VOL_LEN);
			ck_assert_mem_eq(pt.d, "xy", 2);
			ck_assert_mem_eq(pt.d + 2, vol, VOL_LEN);
			buf_free(&e);
			buf_free(&pt);
		}
	}
}
END_TEST

START_TEST(test_nonce_fresh)
{
	struct buf a, b;

	wrap_perm(1, &a);
	wrap_perm(1, &b);
	ck_assert_uint_eq(a.len, b.len);
	ck_assert_int_ne(memcmp(a.d + 32, b.d + 32, 12), 0);
	ck_assert_int_ne(memcmp(a.d + 44, b.d + 44, sizeof(perm)), 0);
	buf_free(&a);
	buf_free(&b);
}
END_TEST

START_TEST(test_wrap_bad_args)
{
	struct buf e;
	uint8_t *big;

	buf_init(&e, 1u << 20);
	ck_assert_int_eq(migblob_wrap(NULL, 0, uuid_a, vol, VOL_LEN, &e), MIGBLOB_E_FORMAT);
	ck_assert_int_eq(migblob_wrap(NULL, 4, uuid_a, vol, VOL_LEN, &e), MIGBLOB_E_FORMAT);
	ck_assert_int_eq(migblob_wrap(key1, 1, uuid_a, vol, 0, &e), MIGBLOB_E_FORMAT);
	ck_assert_int_eq(migblob_wrap(key1, 1, NULL, vol, VOL_LEN, &e), MIGBLOB_E_FORMAT);
	ck_assert_int_eq(migblob_wrap(key1, 1, uuid_a, NULL, VOL_LEN, &e), MIGBLOB_E_FORMAT);
	ck_assert_int_eq(migblob_wrap(key1, 1, uuid_a, vol, MIGBLOB_PT_MAX + 1, &e),
			 MIGBLOB_E_FORMAT);
	ck_assert_uint_eq(e.len, 0);
	buf_free(&e);
	/* Too little room in out: out is left as it was. */
	buf_init(&e, MIGBLOB_HDR_LEN + VOL_LEN + 31);
	ck_assert_int_eq(buf_put_u8(&e, 0x5a), 0);
	ck_assert_int_eq(migblob_wrap(NULL, 1, uuid_a, vol, VOL_LEN, &e), MIGBLOB_E_NOMEM);
	ck_assert_uint_eq(e.len, 1);
	buf_free(&e);
	/* The largest plaintext. */
	big = calloc(1, MIGBLOB_PT_MAX);
	ck_assert_ptr_nonnull(big);
	buf_init(&e, MIGBLOB_PT_MAX + MIGBLOB_OVERHEAD_MAX);
	ck_assert_int_eq(migblob_wrap(key1, 1, uuid_a, big, MIGBLOB_PT_MAX, &e), 0);
	ck_assert_uint_eq(e.len, MIGBLOB_PT_MAX + MIGBLOB_OVERHEAD_SEALED);
	buf_free(&e);
	free(big);
}
END_TEST

/* Every prefix, and the envelope with one byte more, is FORMAT. */
static void
check_truncations(int enc)
{
	struct buf e, pt, longer;

	wrap_perm(enc, &e);
	buf_init(&pt, 1u << 20);
	for (size_t n = 0; n < e.len; n++) {
		ck_assert_int_eq(migblob_unwrap(enc ? key1 : NULL, MIGBLOB_TYPE_PERMANENT, uuid_a,
						e.d, n, &pt),
				 MIGBLOB_E_FORMAT);
		ck_assert_uint_eq(pt.len, 0);
	}
	buf_init(&longer, 1u << 20);
	ck_assert_int_eq(buf_put_bytes(&longer, e.d, e.len), 0);
	ck_assert_int_eq(buf_put_u8(&longer, 0), 0);
	ck_assert_int_eq(migblob_unwrap(enc ? key1 : NULL, MIGBLOB_TYPE_PERMANENT, uuid_a,
					longer.d, longer.len, &pt),
			 MIGBLOB_E_FORMAT);
	ck_assert_uint_eq(pt.len, 0);
	buf_free(&longer);
	buf_free(&pt);
	buf_free(&e);
}

START_TEST(test_truncations_plain)
{
	check_truncations(0);
}
END_TEST

START_TEST(test_truncations_sealed)
{
	check_truncations(1);
}
END_TEST

/* Every single-bit change anywhere is refused and appends nothing. */
static void
check_flips(int enc)
{
	struct buf e, pt;

	wrap_perm(enc, &e);
	buf_init(&pt, 1u << 20);
	for (size_t i = 0; i < e.len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			int r;

			e.d[i] ^= (uint8_t)(1u << bit);
			r = migblob_unwrap(enc ? key1 : NULL, MIGBLOB_TYPE_PERMANENT, uuid_a, e.d,
					   e.len, &pt);
			e.d[i] ^= (uint8_t)(1u << bit);
			ck_assert_msg(r < 0, "byte %zu bit %d changed: accepted", i, bit);
			ck_assert_uint_eq(pt.len, 0);
		}
	}
	/* Unchanged, it still opens. */
	ck_assert_int_eq(migblob_unwrap(enc ? key1 : NULL, MIGBLOB_TYPE_PERMANENT, uuid_a, e.d,
					e.len, &pt), 0);
	buf_free(&pt);
	buf_free(&e);
}

START_TEST(test_flips_plain)
{
	check_flips(0);
}
END_TEST

START_TEST(test_flips_sealed)
{
	check_flips(1);
}
END_TEST

START_TEST(test_body_changes_are_auth)
{
	struct buf e, pt;

	/* A change in the state itself (not the header) is an AUTH error in
	 * both modes: the digest and the tag cover it. */
	for (int enc = 0; enc < 2; enc++) {
		wrap_perm(enc, &e);
		buf_init(&pt, 1u << 20);
		e.d[e.len - 40] ^= 0x01;
		ck_assert_int_eq(migblob_unwrap(enc ? key1 : NULL, MIGBLOB_TYPE_PERMANENT, uuid_a,
						e.d, e.len, &pt),
				 MIGBLOB_E_AUTH);
		e.d[e.len - 40] ^= 0x01;
		e.d[e.len - 1] ^= 0x80; /* the digest or the tag */
		ck_assert_int_eq(migblob_unwrap(enc ? key1 : NULL, MIGBLOB_TYPE_PERMANENT, uuid_a,
						e.d, e.len, &pt),
				 MIGBLOB_E_AUTH);
		ck_assert_uint_eq(pt.len, 0);
		buf_free(&pt);
		buf_free(&e);
	}
}
END_TEST

START_TEST(test_wrong_uuid_and_type)
{
	struct buf e, pt;

	for (int enc = 0; enc < 2; enc++) {
		wrap_perm(enc, &e);
		buf_init(&pt, 1u << 20);
		ck_assert_int_eq(migblob_unwrap(enc ? key1 : NULL, MIGBLOB_TYPE_PERMANENT, uuid_b,
						e.d, e.len, &pt),
				 MIGBLOB_E_MISMATCH);
		ck_assert_int_eq(migblob_unwrap(enc ? key1 : NULL, MIGBLOB_TYPE_VOLATILE, uuid_a,
						e.d, e.len, &pt),
				 MIGBLOB_E_MISMATCH);
		ck_assert_int_eq(migblob_unwrap(enc ? key1 : NULL, 0, uuid_a, e.d, e.len, &pt),
				 MIGBLOB_E_FORMAT);
		ck_assert_int_eq(migblob_unwrap(enc ? key1 : NULL, 4, uuid_a, e.d, e.len, &pt),
				 MIGBLOB_E_FORMAT);
		/* Rewriting the header to claim uuid_b: the digest or the
		 * AAD catches it. */
		memcpy(e.d + 12, uuid_b, UUID_LEN);
		ck_assert_int_eq(migblob_unwrap(enc ? key1 : NULL, MIGBLOB_TYPE_PERMANENT, uuid_b,
						e.d, e.len, &pt),
				 MIGBLOB_E_AUTH);
		ck_assert_uint_eq(pt.len, 0);
		buf_free(&pt);
		buf_free(&e);
	}
}
END_TEST

START_TEST(test_wrong_key_and_keymode)
{
	struct buf e, p, pt;

	wrap_perm(1, &e);
	wrap_perm(0, &p);
	buf_init(&pt, 1u << 20);
	ck_assert_int_eq(migblob_unwrap(key2, MIGBLOB_TYPE_PERMANENT, uuid_a, e.d, e.len, &pt),
			 MIGBLOB_E_AUTH);
	/* Sealed, but this host has no key. */
	ck_assert_int_eq(migblob_unwrap(NULL, MIGBLOB_TYPE_PERMANENT, uuid_a, e.d, e.len, &pt),
			 MIGBLOB_E_KEYMODE);
	/* Plain, but this host has a key: its digest proves nothing. */
	ck_assert_int_eq(migblob_unwrap(key1, MIGBLOB_TYPE_PERMANENT, uuid_a, p.d, p.len, &pt),
			 MIGBLOB_E_KEYMODE);
	ck_assert_uint_eq(pt.len, 0);
	buf_free(&pt);
	buf_free(&p);
	buf_free(&e);
}
END_TEST

START_TEST(test_bad_headers)
{
	struct buf e, pt;
	uint8_t save;

	wrap_perm(0, &e);
	buf_init(&pt, 1u << 20);
	/* version 2, unknown flag bits, zero and oversized lengths */
	e.d[9] = 2;
	ck_assert_int_eq(migblob_unwrap(NULL, 1, uuid_a, e.d, e.len, &pt), MIGBLOB_E_FORMAT);
	e.d[9] = 1;
	for (int bit = 1; bit < 8; bit++) {
		e.d[11] = (uint8_t)(1u << bit);
		ck_assert_int_eq(migblob_unwrap(NULL, 1, uuid_a, e.d, e.len, &pt),
				 MIGBLOB_E_FORMAT);
	}
	e.d[11] = 0;
	save = e.d[31];
	be32_put(e.d + 28, 0);
	ck_assert_int_eq(migblob_unwrap(NULL, 1, uuid_a, e.d, e.len, &pt), MIGBLOB_E_FORMAT);
	be32_put(e.d + 28, MIGBLOB_PT_MAX + 1);
	ck_assert_int_eq(migblob_unwrap(NULL, 1, uuid_a, e.d, e.len, &pt), MIGBLOB_E_FORMAT);
	be32_put(e.d + 28, 0xffffffffu);
	ck_assert_int_eq(migblob_unwrap(NULL, 1, uuid_a, e.d, e.len, &pt), MIGBLOB_E_FORMAT);
	be32_put(e.d + 28, sizeof(perm));
	ck_assert_uint_eq(e.d[31], save);
	ck_assert_int_eq(migblob_unwrap(NULL, 1, uuid_a, e.d, e.len, &pt), 0);
	ck_assert_int_eq(migblob_unwrap(NULL, 1, uuid_a, NULL, 0, &pt), MIGBLOB_E_FORMAT);
	ck_assert_int_eq(migblob_unwrap(NULL, 1, NULL, e.d, e.len, &pt), MIGBLOB_E_FORMAT);
	buf_free(&pt);
	buf_free(&e);
}
END_TEST

START_TEST(test_unwrap_no_room)
{
	struct buf e, pt;

	wrap_perm(1, &e);
	buf_init(&pt, sizeof(perm) - 1);
	ck_assert_int_eq(migblob_unwrap(key1, 1, uuid_a, e.d, e.len, &pt), MIGBLOB_E_NOMEM);
	ck_assert_uint_eq(pt.len, 0);
	buf_free(&pt);
	buf_free(&e);
}
END_TEST

START_TEST(test_strerror)
{
	static const int codes[] = { 0, MIGBLOB_E_FORMAT, MIGBLOB_E_MISMATCH, MIGBLOB_E_KEYMODE,
				     MIGBLOB_E_AUTH, MIGBLOB_E_NOMEM, MIGBLOB_E_CRYPTO, -999 };

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		ck_assert_ptr_nonnull(migblob_strerror(codes[i]));
		ck_assert_uint_gt(strlen(migblob_strerror(codes[i])), 0);
	}
}
END_TEST

Suite *
migblob_suite(void)
{
	Suite *s = suite_create("migblob");
	TCase *tc = tcase_create("envelope");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_derive_key);
	tcase_add_test(tc, test_plain_layout);
	tcase_add_test(tc, test_sealed_layout);
	tcase_add_test(tc, test_round_trip_types_and_append);
	tcase_add_test(tc, test_nonce_fresh);
	tcase_add_test(tc, test_wrap_bad_args);
	tcase_add_test(tc, test_truncations_plain);
	tcase_add_test(tc, test_truncations_sealed);
	tcase_add_test(tc, test_flips_plain);
	tcase_add_test(tc, test_flips_sealed);
	tcase_add_test(tc, test_body_changes_are_auth);
	tcase_add_test(tc, test_wrong_uuid_and_type);
	tcase_add_test(tc, test_wrong_key_and_keymode);
	tcase_add_test(tc, test_bad_headers);
	tcase_add_test(tc, test_unwrap_no_room);
	tcase_add_test(tc, test_strerror);
	suite_add_tcase(s, tc);
	return s;
}
