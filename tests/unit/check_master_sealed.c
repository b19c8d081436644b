/*
 * check_master_sealed.c - tcs/master_sealed: the master.sealed container
 * without a TPM.  Files made with the builder (master_sealed_put) around a
 * stand-in blob: round trips, every truncation, the blob length field
 * (zero, one over, one short, huge), the size cap, each header field, the
 * MAC over every byte it covers and under another key, and the builder's
 * refusals.  As in check_tpm2_sealed.c, each case names the message of
 * the one check that must refuse it.
 */
#include "unit.h"
#include "tcs/master_sealed.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HDR MASTER_SEALED_HDR_LEN
#define MAC MASTER_SEALED_MAC_LEN

static const uint8_t key1[32] = { 0x6b, 0x65, 0x79, 0x31, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
				  12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26,
				  27, 28 };
static const uint8_t key2[32] = { 0x6b, 0x65, 0x79, 0x32 };
static uint8_t blob[MASTER_SEALED_BLOB_MAX + 1];
static char err[256];

static void
setup(void)
{
	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)(i * 7 + 5);
	err[0] = '\0';
}

static struct master_sealed
sample(uint8_t tpm_version, size_t bloblen)
{
	struct master_sealed m = { .tpm_version = tpm_version,
				   .flags = tpm_version == 1 ? MASTER_SEALED_FLAG_OWNER_WELL_KNOWN
							     : 0,
				   .pcr_mask = 1u << 7 | 1u << 16,
				   .counter_index = 0x01a56000u,
				   .blob = blob,
				   .bloblen = bloblen };
	return m;
}

/* Builds m under key1 into a fresh buffer. */
static void
build(const struct master_sealed *m, struct buf *out)
{
	buf_init(out, MASTER_SEALED_FILE_MAX + 64);
	ck_assert_msg(master_sealed_put(m, key1, out, err, sizeof(err)) == 0, "put: %s", err);
}

static void
refused(const uint8_t *f, size_t len, const char *msg, const char *what)
{
	struct master_sealed m;
	int r;

	err[0] = '\0';
	r = master_sealed_parse(f, len, &m, err, sizeof(err));
	ck_assert_msg(r == VERR_FORMAT, "%s: parse returned %d (%s), want VERR_FORMAT", what,
		      r, err);
	ck_assert_msg(strstr(err, msg) != NULL, "%s: reason \"%s\", want \"%s\"", what, err, msg);
}

START_TEST(t_roundtrip)
{
	static const size_t lens[] = { 1, 288, MASTER_SEALED_BLOB_MAX };
	struct master_sealed m, p;
	struct buf f, again;

	for (uint8_t v = 1; v <= 2; v++)
		for (size_t i = 0; i < 3; i++) {
			m = sample(v, lens[i]);
			build(&m, &f);
			ck_assert_uint_eq(f.len, HDR + lens[i] + MAC);
			ck_assert_mem_eq(f.d, "VTPMHKEY\0\1", 10);
			ck_assert_int_eq(master_sealed_parse(f.d, f.len, &p, err, sizeof(err)), 0);
			ck_assert_uint_eq(p.tpm_version, v);
			ck_assert_uint_eq(p.flags, m.flags);
			ck_assert_uint_eq(p.pcr_mask, m.pcr_mask);
			ck_assert_uint_eq(p.counter_index, m.counter_index);
			ck_assert_uint_eq(p.bloblen, lens[i]);
			ck_assert_ptr_eq(p.blob, f.d + HDR);
			ck_assert_mem_eq(p.blob, blob, lens[i]);
			ck_assert_int_eq(master_sealed_verify(f.d, f.len, key1, err, sizeof(err)), 0);
			build(&p, &again);
			ck_assert_uint_eq(again.len, f.len);
			ck_assert_mem_eq(again.d, f.d, f.len);
			buf_free(&again);
			buf_free(&f);
		}
}
END_TEST

START_TEST(t_truncations)
{
	struct master_sealed m = sample(2, 288);
	struct buf f;
	uint8_t *c;

	build(&m, &f);
	for (size_t n = 0; n < f.len; n++) {
		c = malloc(n == 0 ? 1 : n);
		ck_assert_ptr_nonnull(c);
		memcpy(c, f.d, n);
		refused(c, n, n < HDR + MAC ? "not a vtpm-manager sealed key file"
					    : "inconsistent lengths",
			"truncation");
		free(c);
	}
	refused(NULL, 0, "not a vtpm-manager", "NULL");
	refused(NULL, 4096, "not a vtpm-manager", "NULL with a length");
	buf_free(&f);
}
END_TEST

START_TEST(t_lengths)
{
	struct master_sealed m = sample(2, 288);
	struct buf f;
	uint8_t *c;

	build(&m, &f);
	c = malloc(f.len + 1);
	ck_assert_ptr_nonnull(c);

	memcpy(c, f.d, f.len);
	be32_put(c + 20, 289);
	refused(c, f.len, "inconsistent lengths", "bloblen one over");
	be32_put(c + 20, 287);
	refused(c, f.len, "inconsistent lengths", "bloblen one short");
	be32_put(c + 20, 0);
	refused(c, f.len, "inconsistent lengths", "bloblen 0");
	be32_put(c + 20, 0xffffffffu);
	refused(c, f.len, "inconsistent lengths", "bloblen 0xffffffff");
	/* A MAC-sized bloblen that would put the "MAC" over the blob. */
	be32_put(c + 20, 288 + MAC);
	refused(c, f.len, "inconsistent lengths", "bloblen covering the MAC");
	/* One byte more in the file than the header accounts for. */
	memcpy(c, f.d, f.len);
	c[f.len] = 0;
	refused(c, f.len + 1, "inconsistent lengths", "a trailing byte");
	/* An empty blob, consistent with its length field. */
	memcpy(c, f.d, HDR);
	be32_put(c + 20, 0);
	memcpy(c + HDR, f.d + f.len - MAC, MAC);
	refused(c, HDR + MAC, "inconsistent lengths", "empty blob");
	free(c);
	buf_free(&f);

	/* The largest file, and one byte over the cap (consistent fields). */
	m = sample(2, MASTER_SEALED_BLOB_MAX);
	build(&m, &f);
	ck_assert_uint_eq(f.len, MASTER_SEALED_FILE_MAX);
	c = malloc(f.len + 1);
	ck_assert_ptr_nonnull(c);
	memcpy(c, f.d, f.len);
	c[f.len] = 0;
	be32_put(c + 20, MASTER_SEALED_BLOB_MAX + 1);
	refused(c, f.len + 1, "not a vtpm-manager sealed key file", "over the size cap");
	free(c);
	buf_free(&f);
}
END_TEST

START_TEST(t_header)
{
	struct master_sealed m = sample(2, 64);
	struct buf f;
	uint8_t c[HDR + 64 + MAC];

	build(&m, &f);
	ck_assert_uint_eq(f.len, sizeof(c));
	for (size_t i = 0; i < 8; i++) {
		memcpy(c, f.d, f.len);
		c[i] ^= 0x01;
		refused(c, f.len, "not a vtpm-manager sealed key file", "magic");
	}
	for (unsigned v = 0; v < 4; v++) {
		if (v == MASTER_SEALED_VERSION)
			continue;
		memcpy(c, f.d, f.len);
		be16_put(c + 8, (uint16_t)v);
		refused(c, f.len, "not a vtpm-manager sealed key file", "version");
	}
	for (unsigned v = 0; v < 256; v++) {
		if (v == 1 || v == 2)
			continue;
		memcpy(c, f.d, f.len);
		c[10] = (uint8_t)v;
		refused(c, f.len, "unknown TPM version", "TPM version");
	}
	for (unsigned fl = 2; fl < 256; fl++) {
		memcpy(c, f.d, f.len);
		c[11] = (uint8_t)fl;
		refused(c, f.len, "unknown flags", "flags");
	}
	for (int bit = 24; bit < 32; bit++) {
		memcpy(c, f.d, f.len);
		be32_put(c + 12, 1u << bit);
		refused(c, f.len, "PCRs above 23", "PCR mask");
	}
	buf_free(&f);
}
END_TEST

/* Every byte the MAC covers, and the MAC itself: parse may accept the
 * change, verify never does; nor does another key. */
START_TEST(t_mac)
{
	struct master_sealed m = sample(1, 100), p;
	struct buf f;
	uint8_t c[HDR + 100 + MAC];

	build(&m, &f);
	ck_assert_int_eq(master_sealed_verify(f.d, f.len, key2, err, sizeof(err)), VERR_AUTH);
	ck_assert_ptr_nonnull(strstr(err, "header authentication failed"));
	for (size_t i = 0; i < f.len; i++) {
		memcpy(c, f.d, f.len);
		c[i] ^= (uint8_t)(1u << (i % 8));
		err[0] = '\0';
		ck_assert_msg(master_sealed_verify(c, f.len, key1, err, sizeof(err)) ==
				      VERR_AUTH,
			      "byte %zu flipped: verified", i);
		ck_assert_ptr_nonnull(strstr(err, "header authentication failed"));
	}
	/* The counter index is any value: parse accepts it, only the MAC
	 * stands between a changed one and use. */
	memcpy(c, f.d, f.len);
	c[19] ^= 1;
	ck_assert_int_eq(master_sealed_parse(c, f.len, &p, err, sizeof(err)), 0);
	ck_assert_int_eq(master_sealed_verify(c, f.len, key1, err, sizeof(err)), VERR_AUTH);
	/* Too short to hold a MAC: not this file at all. */
	ck_assert_int_eq(master_sealed_verify(NULL, 0, key1, err, sizeof(err)), VERR_FORMAT);
	ck_assert_int_eq(master_sealed_verify(c, HDR + MAC - 1, key1, err, sizeof(err)),
			 VERR_FORMAT);
	buf_free(&f);
}
END_TEST

START_TEST(t_put_refuses)
{
	struct master_sealed m;
	struct buf out;

	buf_init(&out, MASTER_SEALED_FILE_MAX);
	ck_assert(buf_put_bytes(&out, "x", 1) == 0);
	m = sample(3, 10);
	ck_assert_int_eq(master_sealed_put(&m, key1, &out, err, sizeof(err)), VERR_INVAL);
	m = sample(0, 10);
	ck_assert_int_eq(master_sealed_put(&m, key1, &out, err, sizeof(err)), VERR_INVAL);
	m = sample(2, 10);
	m.flags = 2;
	ck_assert_int_eq(master_sealed_put(&m, key1, &out, err, sizeof(err)), VERR_INVAL);
	m = sample(2, 10);
	m.pcr_mask = 1u << 24;
	ck_assert_int_eq(master_sealed_put(&m, key1, &out, err, sizeof(err)), VERR_INVAL);
	m = sample(2, 0);
	ck_assert_int_eq(master_sealed_put(&m, key1, &out, err, sizeof(err)), VERR_INVAL);
	m = sample(2, 10);
	m.blob = NULL;
	ck_assert_int_eq(master_sealed_put(&m, key1, &out, err, sizeof(err)), VERR_INVAL);
	m = sample(2, MASTER_SEALED_BLOB_MAX + 1);
	ck_assert_int_eq(master_sealed_put(&m, key1, &out, err, sizeof(err)), VERR_INVAL);
	/* Does not fit what is left of out: nothing written. */
	m = sample(2, MASTER_SEALED_BLOB_MAX);
	ck_assert_int_eq(master_sealed_put(&m, key1, &out, err, sizeof(err)), VERR_NOSPACE);
	ck_assert_uint_eq(out.len, 1);
	buf_free(&out);
}
END_TEST

Suite *
master_sealed_suite(void)
{
	Suite *s = suite_create("master_sealed");
	TCase *tc = tcase_create("format");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, t_roundtrip);
	tcase_add_test(tc, t_truncations);
	tcase_add_test(tc, t_lengths);
	tcase_add_test(tc, t_header);
	tcase_add_test(tc, t_mac);
	tcase_add_test(tc, t_put_refuses);
	suite_add_tcase(s, tc);
	return s;
}
