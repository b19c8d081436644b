/*
 * check_migblob.c - crypto/migblob: the state envelope of GET/SET_STATEBLOB.
 * Round trips under the migration key and under the host key; the exact
 * layout and known answers for both key derivations; every truncation,
 * every extension and every single-bit change of an envelope is refused and
 * appends nothing; another vTPM's UUID or another blob type is a MISMATCH;
 * a host-key blob opened on another host is OTHERHOST; a migration-key
 * blob without a migration key here is NOMIGKEY, under another one AUTH;
 * version 1 envelopes: the encrypted ones still open, the integrity-only
 * ones (forgeable) are refused.
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
/* HKDF-SHA256(mkey1, salt "vtpm-manager/v1", info "migration-key") and
 * info "state-blob-key", computed independently (Python hmac). */
static const uint8_t kat_mig1[32] = { 0x38, 0x92, 0xda, 0x15, 0x6c, 0x49, 0x59, 0x60,
				      0x35, 0x2d, 0x37, 0x24, 0x4f, 0x64, 0xb8, 0x20,
				      0xca, 0x3a, 0xc0, 0x0d, 0xc6, 0xd6, 0x5f, 0x31,
				      0xd5, 0x7b, 0x0e, 0xe6, 0x5b, 0xba, 0xc2, 0xeb };
static const uint8_t kat_host1[32] = { 0xac, 0x3b, 0x5b, 0xa0, 0x6d, 0xcd, 0xf9, 0x65,
				       0xf7, 0x3b, 0x69, 0xa1, 0x3f, 0x0c, 0x99, 0x0d,
				       0x06, 0x24, 0x05, 0xa7, 0x9a, 0x4b, 0xee, 0x3a,
				       0x28, 0xf5, 0x56, 0x39, 0x1d, 0x14, 0x32, 0xd5 };
static const uint8_t uuid_a[UUID_LEN] = { 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0x4a, 0xaa,
					  0x8a, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0x01 };
static const uint8_t uuid_b[UUID_LEN] = { 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0x4a, 0xaa,
					  0x8a, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0x02 };
static const uint8_t vol[] = "libtpms volatile state"; /* 22 bytes, no NUL */
#define VOL_LEN (sizeof(vol) - 1)
#define GEN 0x0102030405060708ull

static uint8_t mig1[32], mig2[32], host1[32], host2[32];
static uint8_t perm[700]; /* a pretend permall */
/* This host: host key 1, with or without migration key 1. */
static struct migblob_keys k_host, k_mig, k_other_host, k_other_mig, k_nomig_other;

static void
setup(void)
{
	ck_assert_int_eq(migblob_derive_key(mkey1, mig1), 0);
	ck_assert_int_eq(migblob_derive_key(mkey2, mig2), 0);
	ck_assert_int_eq(migblob_derive_host_key(mkey1, host1), 0);
	ck_assert_int_eq(migblob_derive_host_key(mkey2, host2), 0);
	for (size_t i = 0; i < sizeof(perm); i++)
		perm[i] = (uint8_t)(i * 7 + 3);
	k_host = (struct migblob_keys){ NULL, host1 };
	k_mig = (struct migblob_keys){ mig1, host1 };
	k_other_host = (struct migblob_keys){ NULL, host2 };
	k_other_mig = (struct migblob_keys){ mig2, host2 };
	k_nomig_other = (struct migblob_keys){ NULL, host2 };
}

/* Wraps perm as uuid_a's permanent blob at generation GEN. */
static void
wrap_perm(const struct migblob_keys *k, struct buf *out)
{
	buf_init(out, 1u << 20);
	ck_assert_int_eq(migblob_wrap(k, MIGBLOB_TYPE_PERMANENT, uuid_a, GEN, perm, sizeof(perm),
				      out), 0);
}

static int
unwrap(const struct migblob_keys *k, uint8_t type, const uint8_t *uuid, const struct buf *e,
       struct buf *pt)
{
	uint64_t gen;
	uint8_t flags;

	return migblob_unwrap(k, type, uuid, e->d, e->len, pt, &gen, &flags);
}

START_TEST(test_derive_keys)
{
	uint8_t again[32], storage[32];

	ck_assert_mem_eq(mig1, kat_mig1, 32);
	ck_assert_mem_eq(host1, kat_host1, 32);
	ck_assert_int_eq(migblob_derive_key(mkey1, again), 0);
	ck_assert_mem_eq(mig1, again, 32);
	ck_assert_int_ne(memcmp(mig1, mig2, 32), 0);
	ck_assert_int_ne(memcmp(host1, host2, 32), 0);
	/* Not any of the storage keys derived from the same bytes. */
	ck_assert_int_eq(blobfmt_derive_key(mkey1, NULL, storage), 0);
	ck_assert_int_ne(memcmp(host1, storage, 32), 0);
	ck_assert_int_eq(blobfmt_derive_key(mkey1, uuid_a, storage), 0);
	ck_assert_int_ne(memcmp(host1, storage, 32), 0);
}
END_TEST

/* The layout, and that the header is the AAD: the known key opens it. */
static void
check_layout(const struct migblob_keys *k, uint8_t flag, const uint8_t *key)
{
	struct buf e, pt;
	uint8_t out[VOL_LEN];
	uint64_t gen = 0;
	uint8_t flags = 0;

	buf_init(&e, 4096);
	ck_assert_int_eq(migblob_wrap(k, MIGBLOB_TYPE_VOLATILE, uuid_a, GEN, vol, VOL_LEN, &e), 0);
	ck_assert_uint_eq(e.len, MIGBLOB_HDR_LEN + 12 + VOL_LEN + 16);
	ck_assert_uint_eq(e.len, migblob_wrapped_len(VOL_LEN));
	ck_assert_mem_eq(e.d, "VTPMMIG1", 8);
	ck_assert_uint_eq(be16_get(e.d + 8), 2);
	ck_assert_uint_eq(e.d[10], MIGBLOB_TYPE_VOLATILE);
	ck_assert_uint_eq(e.d[11], flag);
	ck_assert_mem_eq(e.d + 12, uuid_a, UUID_LEN);
	ck_assert_uint_eq(be64_get(e.d + 28), GEN);
	ck_assert_uint_eq(be32_get(e.d + 36), VOL_LEN);
	ck_assert_int_ne(memcmp(e.d + MIGBLOB_HDR_LEN + 12, vol, VOL_LEN), 0); /* not in clear */
	ck_assert_int_eq(aead_open(key, e.d + MIGBLOB_HDR_LEN, e.d, MIGBLOB_HDR_LEN,
				   e.d + MIGBLOB_HDR_LEN + 12, VOL_LEN,
				   e.d + MIGBLOB_HDR_LEN + 12 + VOL_LEN, out), 0);
	ck_assert_mem_eq(out, vol, VOL_LEN);
	buf_init(&pt, 4096);
	ck_assert_int_eq(migblob_unwrap(k, MIGBLOB_TYPE_VOLATILE, uuid_a, e.d, e.len, &pt, &gen,
					&flags), 0);
	ck_assert_uint_eq(pt.len, VOL_LEN);
	ck_assert_mem_eq(pt.d, vol, VOL_LEN);
	ck_assert_uint_eq(gen, GEN);
	ck_assert_uint_eq(flags, flag);
	buf_free(&pt);
	buf_free(&e);
}

START_TEST(test_layout_host_key)
{
	check_layout(&k_host, MIGBLOB_FLAG_HOSTKEY, host1);
}
END_TEST

START_TEST(test_layout_migration_key)
{
	/* With a migration key, it is the one used. */
	check_layout(&k_mig, MIGBLOB_FLAG_MIGKEY, mig1);
}
END_TEST

START_TEST(test_round_trip_types_and_append)
{
	static const uint8_t types[] = { MIGBLOB_TYPE_PERMANENT, MIGBLOB_TYPE_VOLATILE,
					 MIGBLOB_TYPE_SAVESTATE };
	const struct migblob_keys *ks[] = { &k_host, &k_mig };

	for (int j = 0; j < 2; j++) {
		for (size_t t = 0; t < 3; t++) {
			struct buf e, pt;

			buf_init(&e, 4096);
			buf_init(&pt, 4096);
			ck_assert_int_eq(buf_put_bytes(&e, (const uint8_t *)"xy", 2), 0);
			ck_assert_int_eq(migblob_wrap(ks[j], types[t], uuid_b, 7, vol, VOL_LEN, &e),
					 0);
			ck_assert_int_eq(buf_put_bytes(&pt, (const uint8_t *)"ab", 2), 0);
			ck_assert_int_eq(buf_skip(&e, 2), 0);
			{
				uint64_t gen;
				uint8_t fl;

				ck_assert_int_eq(migblob_unwrap(ks[j], types[t], uuid_b,
								buf_ptr(&e), buf_avail(&e), &pt,
								&gen, &fl), 0);
				ck_assert_uint_eq(gen, 7);
			}
			ck_assert_uint_eq(pt.len, 2 + VOL_LEN);
			ck_assert_mem_eq(pt.d, "ab", 2);
			ck_assert_mem_eq(pt.d + 2, vol, VOL_LEN);
			buf_free(&pt);
			buf_free(&e);
		}
	}
}
END_TEST

START_TEST(test_nonce_fresh)
{
	struct buf a, b;

	wrap_perm(&k_host, &a);
	wrap_perm(&k_host, &b);
	ck_assert_uint_eq(a.len, b.len);
	ck_assert_int_ne(memcmp(a.d + MIGBLOB_HDR_LEN, b.d + MIGBLOB_HDR_LEN, 12), 0);
	buf_free(&a);
	buf_free(&b);
}
END_TEST

START_TEST(test_wrap_bad_args)
{
	struct migblob_keys none = { NULL, NULL };
	struct buf e;
	uint8_t *big;

	buf_init(&e, 4096);
	ck_assert_int_eq(migblob_wrap(&k_host, 0, uuid_a, 1, vol, VOL_LEN, &e), VERR_INVAL);
	ck_assert_int_eq(migblob_wrap(&k_host, 4, uuid_a, 1, vol, VOL_LEN, &e), VERR_INVAL);
	ck_assert_int_eq(migblob_wrap(&k_host, 1, uuid_a, 1, vol, 0, &e), VERR_INVAL);
	ck_assert_int_eq(migblob_wrap(&k_host, 1, NULL, 1, vol, VOL_LEN, &e), VERR_INVAL);
	ck_assert_int_eq(migblob_wrap(&k_host, 1, uuid_a, 1, NULL, VOL_LEN, &e), VERR_INVAL);
	ck_assert_int_eq(migblob_wrap(&none, 1, uuid_a, 1, vol, VOL_LEN, &e), VERR_INVAL);
	ck_assert_int_eq(migblob_wrap(NULL, 1, uuid_a, 1, vol, VOL_LEN, &e), VERR_INVAL);
	ck_assert_int_eq(migblob_wrap(&k_host, 1, uuid_a, 1, vol, MIGBLOB_PT_MAX + 1, &e),
			 VERR_INVAL);
	ck_assert_uint_eq(e.len, 0);
	buf_free(&e);
	/* No room: nothing appended. */
	buf_init(&e, MIGBLOB_OVERHEAD + VOL_LEN - 1);
	ck_assert_int_eq(migblob_wrap(&k_host, 1, uuid_a, 1, vol, VOL_LEN, &e), VERR_NOSPACE);
	ck_assert_uint_eq(e.len, 0);
	buf_free(&e);
	big = calloc(1, MIGBLOB_PT_MAX);
	ck_assert_ptr_nonnull(big);
	buf_init(&e, MIGBLOB_PT_MAX + MIGBLOB_OVERHEAD_MAX);
	ck_assert_int_eq(migblob_wrap(&k_mig, 1, uuid_a, 1, big, MIGBLOB_PT_MAX, &e), 0);
	ck_assert_uint_eq(e.len, MIGBLOB_PT_MAX + MIGBLOB_OVERHEAD);
	buf_free(&e);
	free(big);
}
END_TEST

START_TEST(test_truncations_and_extension)
{
	const struct migblob_keys *ks[] = { &k_host, &k_mig };

	for (int j = 0; j < 2; j++) {
		struct buf e, pt;
		uint64_t gen;
		uint8_t fl;

		wrap_perm(ks[j], &e);
		buf_init(&pt, 1u << 20);
		for (size_t n = 0; n < e.len; n++) {
			ck_assert_int_eq(migblob_unwrap(ks[j], MIGBLOB_TYPE_PERMANENT, uuid_a, e.d, n,
							&pt, &gen, &fl),
					 VERR_FORMAT);
			ck_assert_uint_eq(pt.len, 0);
		}
		ck_assert_int_eq(buf_put_u8(&e, 0), 0);
		ck_assert_int_eq(unwrap(ks[j], MIGBLOB_TYPE_PERMANENT, uuid_a, &e, &pt),
				 VERR_FORMAT);
		ck_assert_uint_eq(pt.len, 0);
		buf_free(&pt);
		buf_free(&e);
	}
}
END_TEST

/* Every single-bit change is refused, whatever it hits. */
START_TEST(test_every_bit_flipped)
{
	const struct migblob_keys *ks[] = { &k_host, &k_mig };

	for (int j = 0; j < 2; j++) {
		struct buf e, pt;

		wrap_perm(ks[j], &e);
		buf_init(&pt, 1u << 20);
		for (size_t i = 0; i < e.len; i++) {
			for (int bit = 0; bit < 8; bit++) {
				e.d[i] ^= (uint8_t)(1u << bit);
				ck_assert_msg(unwrap(ks[j], MIGBLOB_TYPE_PERMANENT, uuid_a, &e,
						     &pt) != 0,
					      "byte %zu bit %d flipped was accepted", i, bit);
				ck_assert_uint_eq(pt.len, 0);
				e.d[i] ^= (uint8_t)(1u << bit);
			}
		}
		ck_assert_int_eq(unwrap(ks[j], MIGBLOB_TYPE_PERMANENT, uuid_a, &e, &pt), 0);
		buf_free(&pt);
		buf_free(&e);
	}
}
END_TEST

/* A blob edited to claim another vTPM or a later generation does not open:
 * the header is authenticated. */
START_TEST(test_forged_header_fields)
{
	struct buf e, pt;

	wrap_perm(&k_host, &e);
	buf_init(&pt, 1u << 20);
	ck_assert_int_eq(unwrap(&k_host, MIGBLOB_TYPE_PERMANENT, uuid_b, &e, &pt),
			 VERR_MISMATCH);
	ck_assert_int_eq(unwrap(&k_host, MIGBLOB_TYPE_VOLATILE, uuid_a, &e, &pt),
			 VERR_MISMATCH);
	memcpy(e.d + 12, uuid_b, UUID_LEN); /* made for B */
	ck_assert_int_eq(unwrap(&k_host, MIGBLOB_TYPE_PERMANENT, uuid_b, &e, &pt),
			 VERR_OTHERKEY);
	memcpy(e.d + 12, uuid_a, UUID_LEN);
	be64_put(e.d + 28, GEN + 1);
	ck_assert_int_eq(unwrap(&k_host, MIGBLOB_TYPE_PERMANENT, uuid_a, &e, &pt),
			 VERR_OTHERKEY);
	ck_assert_uint_eq(pt.len, 0);
	buf_free(&pt);
	buf_free(&e);
}
END_TEST

START_TEST(test_other_host_and_keys)
{
	struct buf h, mg, pt;

	wrap_perm(&k_host, &h);
	wrap_perm(&k_mig, &mg);
	buf_init(&pt, 1u << 20);
	/* This host's own key: another host cannot open it, with or without
	 * a migration key. */
	ck_assert_int_eq(unwrap(&k_other_host, MIGBLOB_TYPE_PERMANENT, uuid_a, &h, &pt),
			 VERR_OTHERKEY);
	ck_assert_int_eq(unwrap(&k_other_mig, MIGBLOB_TYPE_PERMANENT, uuid_a, &h, &pt),
			 VERR_OTHERKEY);
	/* Sealed under the migration key: needs it. */
	ck_assert_int_eq(unwrap(&k_nomig_other, MIGBLOB_TYPE_PERMANENT, uuid_a, &mg, &pt),
			 VERR_NOKEY);
	ck_assert_int_eq(unwrap(&k_other_mig, MIGBLOB_TYPE_PERMANENT, uuid_a, &mg, &pt),
			 VERR_AUTH);
	ck_assert_uint_eq(pt.len, 0);
	/* Another host with the same migration key opens it. */
	{
		struct migblob_keys k = { mig1, host2 };

		ck_assert_int_eq(unwrap(&k, MIGBLOB_TYPE_PERMANENT, uuid_a, &mg, &pt), 0);
		ck_assert_uint_eq(pt.len, sizeof(perm));
	}
	buf_free(&pt);
	buf_free(&h);
	buf_free(&mg);
}
END_TEST

/* Version 1: 32-byte header (no generation); flags 1 sealed under the
 * migration key, flags 0 plain with SHA-256 (refused). */
static void
make_v1(int sealed, const uint8_t *uuid, struct buf *e)
{
	uint8_t *p;

	buf_init(e, 4096);
	ck_assert_int_eq(buf_reserve(e, MIGBLOB_V1_HDR_LEN + (sealed ? 12 + VOL_LEN + 16 :
							       VOL_LEN + 32), &p), 0);
	memcpy(p, "VTPMMIG1", 8);
	be16_put(p + 8, 1);
	p[10] = MIGBLOB_TYPE_VOLATILE;
	p[11] = sealed ? 1 : 0;
	memcpy(p + 12, uuid, UUID_LEN);
	be32_put(p + 28, VOL_LEN);
	if (sealed) {
		memset(p + 32, 0x42, 12);
		ck_assert_int_eq(aead_seal(mig1, p + 32, p, 32, vol, VOL_LEN, p + 44,
					   p + 44 + VOL_LEN), 0);
	} else {
		memcpy(p + 32, vol, VOL_LEN);
		memset(p + 32 + VOL_LEN, 0x17, 32); /* the digest is never checked */
	}
}

START_TEST(test_version1)
{
	struct buf e, pt;
	uint64_t gen = 99;
	uint8_t fl = 0;

	buf_init(&pt, 4096);
	make_v1(1, uuid_a, &e);
	ck_assert_int_eq(migblob_unwrap(&k_mig, MIGBLOB_TYPE_VOLATILE, uuid_a, e.d, e.len, &pt,
					&gen, &fl), 0);
	ck_assert_uint_eq(gen, 0);
	ck_assert_uint_eq(fl, MIGBLOB_FLAG_MIGKEY);
	ck_assert_mem_eq(pt.d, vol, VOL_LEN);
	ck_assert_int_eq(unwrap(&k_host, MIGBLOB_TYPE_VOLATILE, uuid_a, &e, &pt),
			 VERR_NOKEY);
	buf_free(&e);
	pt.len = 0;
	make_v1(0, uuid_a, &e);
	ck_assert_int_eq(unwrap(&k_mig, MIGBLOB_TYPE_VOLATILE, uuid_a, &e, &pt), VERR_PLAIN);
	ck_assert_int_eq(unwrap(&k_host, MIGBLOB_TYPE_VOLATILE, uuid_a, &e, &pt), VERR_PLAIN);
	ck_assert_int_eq(unwrap(&k_host, MIGBLOB_TYPE_VOLATILE, uuid_b, &e, &pt),
			 VERR_MISMATCH);
	ck_assert_uint_eq(pt.len, 0);
	buf_free(&e);
	buf_free(&pt);
}
END_TEST

START_TEST(test_bad_headers)
{
	struct buf e, pt;

	wrap_perm(&k_host, &e);
	buf_init(&pt, 1u << 20);
	e.d[9] = 3; /* version 3 */
	ck_assert_int_eq(unwrap(&k_host, 1, uuid_a, &e, &pt), VERR_FORMAT);
	e.d[9] = 2;
	for (unsigned f = 0; f < 256; f++) {
		if (f == MIGBLOB_FLAG_HOSTKEY)
			continue;
		e.d[11] = (uint8_t)f;
		ck_assert_int_ne(unwrap(&k_host, 1, uuid_a, &e, &pt), 0);
	}
	e.d[11] = MIGBLOB_FLAG_HOSTKEY;
	be32_put(e.d + 36, 0);
	ck_assert_int_eq(unwrap(&k_host, 1, uuid_a, &e, &pt), VERR_FORMAT);
	be32_put(e.d + 36, MIGBLOB_PT_MAX + 1);
	ck_assert_int_eq(unwrap(&k_host, 1, uuid_a, &e, &pt), VERR_FORMAT);
	be32_put(e.d + 36, 0xffffffffu);
	ck_assert_int_eq(unwrap(&k_host, 1, uuid_a, &e, &pt), VERR_FORMAT);
	be32_put(e.d + 36, sizeof(perm));
	ck_assert_int_eq(unwrap(&k_host, 1, uuid_a, &e, &pt), 0);
	{
		uint64_t gen;
		uint8_t fl;

		ck_assert_int_eq(migblob_unwrap(&k_host, 1, uuid_a, NULL, 0, &pt, &gen, &fl),
				 VERR_FORMAT);
		ck_assert_int_eq(migblob_unwrap(&k_host, 1, NULL, e.d, e.len, &pt, &gen, &fl),
				 VERR_FORMAT);
		ck_assert_int_eq(migblob_unwrap(NULL, 1, uuid_a, e.d, e.len, &pt, &gen, &fl),
				 VERR_FORMAT);
	}
	buf_free(&pt);
	buf_free(&e);
}
END_TEST

START_TEST(test_unwrap_no_room)
{
	struct buf e, pt;

	wrap_perm(&k_mig, &e);
	buf_init(&pt, sizeof(perm) - 1);
	ck_assert_int_eq(unwrap(&k_mig, 1, uuid_a, &e, &pt), VERR_NOSPACE);
	ck_assert_uint_eq(pt.len, 0);
	buf_free(&pt);
	buf_free(&e);
}
END_TEST

Suite *
migblob_suite(void)
{
	Suite *s = suite_create("migblob");
	TCase *tc = tcase_create("envelope");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_derive_keys);
	tcase_add_test(tc, test_layout_host_key);
	tcase_add_test(tc, test_layout_migration_key);
	tcase_add_test(tc, test_round_trip_types_and_append);
	tcase_add_test(tc, test_nonce_fresh);
	tcase_add_test(tc, test_wrap_bad_args);
	tcase_add_test(tc, test_truncations_and_extension);
	tcase_add_test(tc, test_every_bit_flipped);
	tcase_add_test(tc, test_forged_header_fields);
	tcase_add_test(tc, test_other_host_and_keys);
	tcase_add_test(tc, test_version1);
	tcase_add_test(tc, test_bad_headers);
	tcase_add_test(tc, test_unwrap_no_room);
	suite_add_tcase(s, tc);
	return s;
}
