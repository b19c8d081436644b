/*
 * check_strfmt.c - strfmt_append never writes past its buffer and keeps
 * its offset inside it, whatever it is asked to append (the vtpmctl status
 * text is built with it from configured paths of any length).  Checked
 * with guard bytes around the buffer, so an overrun fails in every build,
 * not only under ASan.
 */
#include "unit.h"
#include "util/strfmt.h"

#include <string.h>

#define GUARD 0xa5
#define LEN 16

struct guarded {
	unsigned char before[32];
	char buf[LEN];
	unsigned char after[64];
};

static void
guard_init(struct guarded *g)
{
	memset(g, GUARD, sizeof(*g));
}

static void
guard_check(const struct guarded *g)
{
	for (size_t i = 0; i < sizeof(g->before); i++)
		ck_assert_msg(g->before[i] == GUARD, "byte %zu before the buffer overwritten", i);
	for (size_t i = 0; i < sizeof(g->after); i++)
		ck_assert_msg(g->after[i] == GUARD, "byte %zu after the buffer overwritten", i);
}

START_TEST(test_fits)
{
	struct guarded g;
	size_t k = 0;

	guard_init(&g);
	ck_assert_int_eq(strfmt_append(g.buf, LEN, &k, "%s", "abc"), 0);
	ck_assert_int_eq(strfmt_append(g.buf, LEN, &k, "%d", 42), 0);
	ck_assert_uint_eq(k, 5);
	ck_assert_str_eq(g.buf, "abc42");
	guard_check(&g);
}
END_TEST

START_TEST(test_exactly_full)
{
	struct guarded g;
	size_t k = 0;

	guard_init(&g);
	/* 15 characters and the NUL fill 16 bytes exactly. */
	ck_assert_int_eq(strfmt_append(g.buf, LEN, &k, "%s", "123456789012345"), 0);
	ck_assert_uint_eq(k, LEN - 1);
	ck_assert_int_eq(strfmt_append(g.buf, LEN, &k, "%s", "x"), -1);
	ck_assert_uint_eq(k, LEN - 1);
	ck_assert_str_eq(g.buf, "123456789012345");
	guard_check(&g);
}
END_TEST

/* What F5 was (tests/unit/check_fuzz_regress.c): a first append far longer
 * than the buffer, then more appends; none may write past the buffer. */
START_TEST(test_overlong_then_more)
{
	struct guarded g;
	char big[200];
	size_t k = 0;

	guard_init(&g);
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(strfmt_append(g.buf, LEN, &k, "path: %s\n", big), -1);
	ck_assert_uint_eq(k, LEN - 1);
	for (int i = 0; i < 10; i++) {
		ck_assert_int_eq(strfmt_append(g.buf, LEN, &k, "line %d: %s\n", i, big), -1);
		ck_assert_uint_eq(k, LEN - 1);
	}
	ck_assert_uint_eq(strlen(g.buf), LEN - 1);
	guard_check(&g);
}
END_TEST

START_TEST(test_cut_midway)
{
	struct guarded g;
	size_t k = 0;

	guard_init(&g);
	ck_assert_int_eq(strfmt_append(g.buf, LEN, &k, "%s", "0123456789"), 0);
	ck_assert_int_eq(strfmt_append(g.buf, LEN, &k, "%s", "abcdefghij"), -1);
	ck_assert_uint_eq(k, LEN - 1);
	ck_assert_str_eq(g.buf, "0123456789abcde");
	guard_check(&g);
}
END_TEST

Suite *
strfmt_suite(void)
{
	Suite *s = suite_create("strfmt");
	TCase *tc = tcase_create("append");

	tcase_add_test(tc, test_fits);
	tcase_add_test(tc, test_exactly_full);
	tcase_add_test(tc, test_overlong_then_more);
	tcase_add_test(tc, test_cut_midway);
	suite_add_tcase(s, tc);
	return s;
}
