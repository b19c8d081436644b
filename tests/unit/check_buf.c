/*
 * check_buf.c - util/buf: every reader and writer at 0, exactly the limit,
 * one past it and SIZE_MAX; failures must return the documented code and
 * leave the buffer exactly as it was.
 */
#include "unit.h"
#include "util/buf.h"

#include <stdint.h>
#include <string.h>

static const uint8_t seq10[10] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 };

/* The whole visible state of a buf, to prove a failed call changed nothing. */
struct snap {
	uint8_t *d;
	size_t alloc, len, off, max;
};

static struct snap
snap(const struct buf *b)
{
	struct snap s = { b->d, b->alloc, b->len, b->off, b->max };
	return s;
}

static void
assert_same(const struct buf *b, struct snap s)
{
	ck_assert_ptr_eq(b->d, s.d);
	ck_assert_uint_eq(b->alloc, s.alloc);
	ck_assert_uint_eq(b->len, s.len);
	ck_assert_uint_eq(b->off, s.off);
	ck_assert_uint_eq(b->max, s.max);
}

START_TEST(test_reader_empty)
{
	struct buf b;
	uint8_t u8, out[1];
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	const uint8_t *p;
	struct snap s;

	buf_init_reader(&b, seq10, 0);
	s = snap(&b);
	ck_assert_int_eq(buf_get_u8(&b, &u8), VERR_INCOMPLETE);
	ck_assert_int_eq(buf_get_u16(&b, &u16), VERR_INCOMPLETE);
	ck_assert_int_eq(buf_get_u32(&b, &u32), VERR_INCOMPLETE);
	ck_assert_int_eq(buf_get_u64(&b, &u64), VERR_INCOMPLETE);
	ck_assert_int_eq(buf_get_bytes(&b, out, 1), VERR_INCOMPLETE);
	ck_assert_int_eq(buf_get_direct(&b, &p, 1), VERR_INCOMPLETE);
	ck_assert_int_eq(buf_skip(&b, 1), VERR_INCOMPLETE);
	ck_assert_int_eq(buf_peek_u16(&b, 0, &u16), VERR_INCOMPLETE);
	ck_assert_int_eq(buf_peek_u32(&b, 0, &u32), VERR_INCOMPLETE);
	assert_same(&b, s);
	/* Zero-length reads always succeed and move nothing. */
	ck_assert_int_eq(buf_get_bytes(&b, out, 0), 0);
	ck_assert_int_eq(buf_skip(&b, 0), 0);
	ck_assert_int_eq(buf_get_direct(&b, &p, 0), 0);
	assert_same(&b, s);
}
END_TEST

START_TEST(test_reader_exact)
{
	struct buf b;
	uint8_t u8, out[10];
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	const uint8_t *p;

	buf_init_reader(&b, seq10, 1);
	ck_assert_int_eq(buf_get_u8(&b, &u8), 0);
	ck_assert_uint_eq(u8, 0);
	ck_assert_uint_eq(buf_avail(&b), 0);

	buf_init_reader(&b, seq10, 2);
	ck_assert_int_eq(buf_get_u16(&b, &u16), 0);
	ck_assert_uint_eq(u16, 0x0001);

	buf_init_reader(&b, seq10, 4);
	ck_assert_int_eq(buf_get_u32(&b, &u32), 0);
	ck_assert_uint_eq(u32, 0x00010203);

	buf_init_reader(&b, seq10, 8);
	ck_assert_int_eq(buf_get_u64(&b, &u64), 0);
	ck_assert_uint_eq(u64, 0x0001020304050607ull);
	ck_assert_uint_eq(buf_avail(&b), 0);

	buf_init_reader(&b, seq10, 10);
	ck_assert_int_eq(buf_get_bytes(&b, out, 10), 0);
	ck_assert_mem_eq(out, seq10, 10);

	buf_init_reader(&b, seq10, 10);
	ck_assert_int_eq(buf_get_direct(&b, &p, 10), 0);
	ck_assert_ptr_eq(p, seq10);
	ck_assert_uint_eq(b.off, 10);

	buf_init_reader(&b, seq10, 10);
	ck_assert_int_eq(buf_skip(&b, 10), 0);
	ck_assert_uint_eq(buf_avail(&b), 0);
}
END_TEST

START_TEST(test_reader_one_short)
{
	struct buf b;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	uint8_t out[10];
	const uint8_t *p = NULL;
	struct snap s;

	buf_init_reader(&b, seq10, 1);
	s = snap(&b);
	ck_assert_int_eq(buf_get_u16(&b, &u16), VERR_INCOMPLETE);
	assert_same(&b, s);
	buf_init_reader(&b, seq10, 3);
	s = snap(&b);
	ck_assert_int_eq(buf_get_u32(&b, &u32), VERR_INCOMPLETE);
	assert_same(&b, s);
	buf_init_reader(&b, seq10, 7);
	s = snap(&b);
	ck_assert_int_eq(buf_get_u64(&b, &u64), VERR_INCOMPLETE);
	assert_same(&b, s);
	buf_init_reader(&b, seq10, 9);
	s = snap(&b);
	ck_assert_int_eq(buf_get_bytes(&b, out, 10), VERR_INCOMPLETE);
	ck_assert_int_eq(buf_get_direct(&b, &p, 10), VERR_INCOMPLETE);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(buf_skip(&b, 10), VERR_INCOMPLETE);
	assert_same(&b, s);
}
END_TEST

START_TEST(test_reader_size_max)
{
	struct buf b;
	uint8_t out[1];
	uint16_t u16;
	uint32_t u32;
	const uint8_t *p = NULL;
	struct snap s;

	buf_init_reader(&b, seq10, 10);
	ck_assert_int_eq(buf_skip(&b, 3), 0);
	s = snap(&b);
	ck_assert_int_eq(buf_skip(&b, SIZE_MAX), VERR_INCOMPLETE);
	ck_assert_int_eq(buf_get_bytes(&b, out, SIZE_MAX), VERR_INCOMPLETE);
	ck_assert_int_eq(buf_get_direct(&b, &p, SIZE_MAX), VERR_INCOMPLETE);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(buf_peek_u16(&b, SIZE_MAX, &u16), VERR_INCOMPLETE);
	ck_assert_int_eq(buf_peek_u32(&b, SIZE_MAX, &u32), VERR_INCOMPLETE);
	ck_assert_int_eq(buf_peek_u32(&b, SIZE_MAX - 3, &u32), VERR_INCOMPLETE);
	assert_same(&b, s);
}
END_TEST

START_TEST(test_peek)
{
	struct buf b;
	uint16_t u16;
	uint32_t u32;

	buf_init_reader(&b, seq10, 10);
	ck_assert_int_eq(buf_skip(&b, 2), 0);
	/* at is relative to the cursor; 8 bytes remain. */
	ck_assert_int_eq(buf_peek_u16(&b, 6, &u16), 0);
	ck_assert_uint_eq(u16, 0x0809);
	ck_assert_int_eq(buf_peek_u16(&b, 7, &u16), VERR_INCOMPLETE);
	ck_assert_int_eq(buf_peek_u32(&b, 4, &u32), 0);
	ck_assert_uint_eq(u32, 0x06070809);
	ck_assert_int_eq(buf_peek_u32(&b, 5, &u32), VERR_INCOMPLETE);
	ck_assert_int_eq(buf_peek_u32(&b, 8, &u32), VERR_INCOMPLETE);
	ck_assert_int_eq(buf_peek_u16(&b, 9, &u16), VERR_INCOMPLETE);
	ck_assert_uint_eq(b.off, 2);
}
END_TEST

START_TEST(test_reader_refuses_writes)
{
	struct buf b;
	uint8_t *p = NULL;
	struct snap s;

	buf_init_reader(&b, seq10, 10);
	s = snap(&b);
	ck_assert_int_eq(buf_put_u8(&b, 1), VERR_NOSPACE);
	ck_assert_int_eq(buf_put_u16(&b, 1), VERR_NOSPACE);
	ck_assert_int_eq(buf_put_u32(&b, 1), VERR_NOSPACE);
	ck_assert_int_eq(buf_put_u64(&b, 1), VERR_NOSPACE);
	ck_assert_int_eq(buf_put_bytes(&b, seq10, 1), VERR_NOSPACE);
	ck_assert_int_eq(buf_reserve(&b, 1, &p), VERR_NOSPACE);
	ck_assert_ptr_null(p);
	assert_same(&b, s);
	buf_free(&b); /* must not free caller memory */
	ck_assert_uint_eq(seq10[9], 9);
}
END_TEST

START_TEST(test_big_endian)
{
	static const uint8_t want[] = { 0xab, 0x01, 0x02, 0x01, 0x02, 0x03, 0x04, 0x01,
					0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 };
	struct buf b, r;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	uint8_t raw[8];

	buf_init(&b, 64);
	ck_assert_int_eq(buf_put_u8(&b, 0xab), 0);
	ck_assert_int_eq(buf_put_u16(&b, 0x0102), 0);
	ck_assert_int_eq(buf_put_u32(&b, 0x01020304), 0);
	ck_assert_int_eq(buf_put_u64(&b, 0x0102030405060708ull), 0);
	ck_assert_uint_eq(b.len, sizeof(want));
	ck_assert_mem_eq(b.d, want, sizeof(want));

	buf_init_reader(&r, b.d, b.len);
	ck_assert_int_eq(buf_get_u8(&r, &u8), 0);
	ck_assert_int_eq(buf_get_u16(&r, &u16), 0);
	ck_assert_int_eq(buf_get_u32(&r, &u32), 0);
	ck_assert_int_eq(buf_get_u64(&r, &u64), 0);
	ck_assert_uint_eq(u8, 0xab);
	ck_assert_uint_eq(u16, 0x0102);
	ck_assert_uint_eq(u32, 0x01020304);
	ck_assert_uint_eq(u64, 0x0102030405060708ull);
	buf_free(&b);

	be16_put(raw, 0xfffe);
	ck_assert_uint_eq(be16_get(raw), 0xfffe);
	ck_assert_uint_eq(raw[0], 0xff);
	be32_put(raw, 0x80000001u);
	ck_assert_uint_eq(be32_get(raw), 0x80000001u);
	ck_assert_uint_eq(raw[0], 0x80);
	be64_put(raw, 0x8000000000000001ull);
	ck_assert_uint_eq(be64_get(raw), 0x8000000000000001ull);
	ck_assert_uint_eq(raw[0], 0x80);
	ck_assert_uint_eq(raw[7], 0x01);
}
END_TEST

START_TEST(test_writer_limits)
{
	struct buf b;
	uint8_t *p = NULL;
	struct snap s;

	/* Exactly max fits, one more does not, and the failure changes
	 * nothing. */
	buf_init(&b, 15);
	ck_assert_int_eq(buf_put_u64(&b, 1), 0);
	ck_assert_int_eq(buf_put_u32(&b, 2), 0);
	ck_assert_int_eq(buf_put_u16(&b, 3), 0);
	s = snap(&b);
	ck_assert_int_eq(buf_put_u16(&b, 4), VERR_NOSPACE);
	ck_assert_int_eq(buf_put_u32(&b, 4), VERR_NOSPACE);
	ck_assert_int_eq(buf_put_u64(&b, 4), VERR_NOSPACE);
	ck_assert_int_eq(buf_put_bytes(&b, seq10, 2), VERR_NOSPACE);
	assert_same(&b, s);
	ck_assert_int_eq(buf_put_u8(&b, 5), 0);
	ck_assert_uint_eq(b.len, 15);
	s = snap(&b);
	ck_assert_int_eq(buf_put_u8(&b, 6), VERR_NOSPACE);
	ck_assert_int_eq(buf_reserve(&b, 1, &p), VERR_NOSPACE);
	ck_assert_ptr_null(p);
	assert_same(&b, s);
	/* Zero-length writes at the limit are fine. */
	ck_assert_int_eq(buf_put_bytes(&b, seq10, 0), 0);
	assert_same(&b, s);
	buf_free(&b);
	ck_assert_ptr_null(b.d);
	ck_assert_uint_eq(b.len, 0);
}
END_TEST

START_TEST(test_zero_length_fresh)
{
	struct buf b;
	uint8_t *p = NULL;
	const uint8_t *q;

	/* Zero-length writes to a buffer that has no storage yet succeed,
	 * allocate nothing and do not compute NULL + 0 (UBSan). */
	buf_init(&b, 16);
	ck_assert_int_eq(buf_put_bytes(&b, seq10, 0), 0);
	ck_assert_int_eq(buf_reserve(&b, 0, &p), 0);
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);
	/* Likewise for zero-length reads of an empty reader over NULL. */
	buf_init_reader(&b, NULL, 0);
	ck_assert_int_eq(buf_skip(&b, 0), 0);
	ck_assert_int_eq(buf_get_bytes(&b, p, 0), 0);
	ck_assert_int_eq(buf_get_direct(&b, &q, 0), 0);
}
END_TEST

START_TEST(test_reserve_size_max)
{
	struct buf b;
	uint8_t *p = NULL;
	struct snap s;

	buf_init(&b, 64);
	ck_assert_int_eq(buf_put_u32(&b, 7), 0);
	s = snap(&b);
	ck_assert_int_eq(buf_reserve(&b, SIZE_MAX, &p), VERR_NOSPACE);
	ck_assert_int_eq(buf_reserve(&b, SIZE_MAX - 3, &p), VERR_NOSPACE);
	ck_assert_int_eq(buf_put_bytes(&b, seq10, SIZE_MAX), VERR_NOSPACE);
	ck_assert_ptr_null(p);
	assert_same(&b, s);
	buf_free(&b);

	/* Even a buffer allowed the hard cap cannot be asked for SIZE_MAX. */
	buf_init(&b, SIZE_MAX);
	ck_assert_uint_eq(b.max, BUF_SIZE_MAX);
	s = snap(&b);
	ck_assert_int_eq(buf_reserve(&b, SIZE_MAX, &p), VERR_NOSPACE);
	ck_assert_int_eq(buf_reserve(&b, BUF_SIZE_MAX + 1, &p), VERR_NOSPACE);
	assert_same(&b, s);
	buf_free(&b);
}
END_TEST

START_TEST(test_growth)
{
	struct buf b;
	uint8_t *p;
	size_t i;

	/* Grow one byte at a time through several reallocations up to a max
	 * that is not a power of two; contents must survive every move. */
	buf_init(&b, 1000);
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(buf_put_u8(&b, (uint8_t)i), 0);
	ck_assert_uint_eq(b.len, 1000);
	ck_assert_uint_le(b.alloc, 1000);
	for (i = 0; i < 1000; i++)
		ck_assert_uint_eq(b.d[i], (uint8_t)i);
	ck_assert_int_eq(buf_put_u8(&b, 0), VERR_NOSPACE);
	buf_free(&b);

	buf_init(&b, 1000);
	ck_assert_int_eq(buf_reserve(&b, 999, &p), 0);
	ck_assert_ptr_eq(p, b.d);
	ck_assert_int_eq(buf_reserve(&b, 2, &p), VERR_NOSPACE);
	ck_assert_int_eq(buf_reserve(&b, 1, &p), 0);
	ck_assert_ptr_eq(p, b.d + 999);
	buf_free(&b);
}
END_TEST

START_TEST(test_reset_and_read_back)
{
	struct buf b;
	uint32_t v;

	buf_init(&b, 64);
	ck_assert_int_eq(buf_put_u32(&b, 0xdeadbeef), 0);
	ck_assert_int_eq(buf_get_u32(&b, &v), 0);
	ck_assert_uint_eq(v, 0xdeadbeef);
	ck_assert_int_eq(buf_get_u32(&b, &v), VERR_INCOMPLETE);
	buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.off, 0);
	ck_assert_uint_ne(b.alloc, 0);
	ck_assert_uint_eq(b.d[0], 0); /* wiped */
	ck_assert_int_eq(buf_put_u32(&b, 1), 0);
	buf_free(&b);
	freezero(NULL, 10);
}
END_TEST

START_TEST(test_drop)
{
	struct buf b;

	buf_init_reader(&b, seq10, 10);
	buf_drop(&b, 0);
	ck_assert_uint_eq(b.off, 0);
	buf_drop(&b, 3);
	ck_assert_uint_eq(b.off, 3);
	buf_drop(&b, 7);
	ck_assert_uint_eq(b.off, 10);
	buf_drop(&b, 1);
	ck_assert_uint_eq(b.off, 10);
	/* Clamped to what is there, never past len. */
	buf_init_reader(&b, seq10, 10);
	buf_drop(&b, 11);
	ck_assert_uint_eq(b.off, 10);
	buf_init_reader(&b, seq10, 10);
	ck_assert_int_eq(buf_skip(&b, 4), 0);
	buf_drop(&b, SIZE_MAX);
	ck_assert_uint_eq(b.off, 10);
	ck_assert_uint_eq(b.len, 10);
}
END_TEST

START_TEST(test_compact)
{
	struct buf b;
	uint8_t out[4];

	buf_init(&b, 10);
	ck_assert_int_eq(buf_put_bytes(&b, seq10, 10), 0);
	ck_assert_int_eq(buf_put_u8(&b, 0), VERR_NOSPACE);
	ck_assert_int_eq(buf_get_bytes(&b, out, 4), 0);
	buf_compact(&b);
	ck_assert_uint_eq(b.off, 0);
	ck_assert_uint_eq(b.len, 6);
	ck_assert_mem_eq(b.d, seq10 + 4, 6);
	/* The consumed bytes' old places are wiped... */
	for (size_t i = 6; i < 10; i++)
		ck_assert_uint_eq(b.d[i], 0);
	/* ...and the room is writable again, up to max exactly. */
	ck_assert_int_eq(buf_put_u32(&b, 0x01020304), 0);
	ck_assert_int_eq(buf_put_u8(&b, 0), VERR_NOSPACE);
	/* Nothing consumed: no change.  All consumed: empty. */
	buf_compact(&b);
	ck_assert_uint_eq(b.len, 10);
	ck_assert_int_eq(buf_skip(&b, 10), 0);
	buf_compact(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.off, 0);
	buf_free(&b);

	/* A reader or a never-written buffer: no-op. */
	buf_init_reader(&b, seq10, 10);
	ck_assert_int_eq(buf_skip(&b, 5), 0);
	buf_compact(&b);
	ck_assert_uint_eq(b.off, 5);
	ck_assert_uint_eq(seq10[0], 0);
	buf_init(&b, 10);
	buf_compact(&b);
	ck_assert_uint_eq(b.len, 0);
}
END_TEST

Suite *
buf_suite(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_reader_empty);
	tcase_add_test(tc, test_reader_exact);
	tcase_add_test(tc, test_reader_one_short);
	tcase_add_test(tc, test_reader_size_max);
	tcase_add_test(tc, test_peek);
	tcase_add_test(tc, test_reader_refuses_writes);
	tcase_add_test(tc, test_big_endian);
	tcase_add_test(tc, test_writer_limits);
	tcase_add_test(tc, test_zero_length_fresh);
	tcase_add_test(tc, test_reserve_size_max);
	tcase_add_test(tc, test_growth);
	tcase_add_test(tc, test_reset_and_read_back);
	tcase_add_test(tc, test_drop);
	tcase_add_test(tc, test_compact);
	suite_add_tcase(s, tc);
	return s;
}
