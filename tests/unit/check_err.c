/*
 * check_err.c - the error space (util/err.h): every VERR_ code has its own
 * message, and that message says something (not "error" or "failed"), so
 * that a log line built from verr_str() tells two failures apart; a value
 * that is no code, a leaked -errno included, reads "unknown error".
 */
#include "unit.h"
#include "util/err.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

/* Every named code, by hand: a code added to err.h but left out of
 * VERR_MIN..VERR_MAX shows up as a count mismatch below. */
static const int named[] = {
	VERR_NOMEM,    VERR_INVAL,    VERR_SYSTEM,    VERR_IO,       VERR_NOENT,
	VERR_INCOMPLETE, VERR_NOSPACE, VERR_AGAIN,    VERR_EOF,      VERR_PROTO,
	VERR_TIMEOUT,  VERR_CANCELED, VERR_FORMAT,    VERR_AUTH,     VERR_CRYPTO,
	VERR_MISMATCH, VERR_OTHERKEY, VERR_NOKEY,     VERR_BADKEY,   VERR_PLAIN,
	VERR_CORRUPT,  VERR_ROLLBACK, VERR_LOCKED,    VERR_CERT,     VERR_TPM,
	VERR_NOTPM,    VERR_BUSY,     VERR_WRONG_TPM, VERR_PCR,      VERR_TPM_AUTH,
	VERR_TPM_NOSPACE,
};

/* Messages that would not tell the operator anything. */
static const char *const generic[] = {
	"", "error", "failed", "failure", "fail", "unknown error", "success", "internal error",
	"ok",
};

START_TEST(test_codes_are_the_range)
{
	size_t n = sizeof(named) / sizeof(named[0]);

	ck_assert_int_lt(VERR_MAX, 0);
	ck_assert_int_le(VERR_MIN, VERR_MAX);
	ck_assert_uint_eq(n, (size_t)(VERR_MAX - VERR_MIN + 1));
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_ge(named[i], VERR_MIN);
		ck_assert_int_le(named[i], VERR_MAX);
		for (size_t j = 0; j < i; j++)
			ck_assert_msg(named[i] != named[j], "codes %zu and %zu share the value %d", j,
				      i, named[i]);
	}
	/* Clear of every -errno (Linux's end near 135), so that a -errno
	 * cannot pass for a code. */
	for (int e = 1; e < 1000; e++)
		ck_assert_str_eq(verr_str(-e), "unknown error");
}
END_TEST

START_TEST(test_messages_distinct)
{
	for (int c = VERR_MAX; c >= VERR_MIN; c--) {
		const char *s = verr_str(c);

		ck_assert_ptr_nonnull(s);
		for (size_t g = 0; g < sizeof(generic) / sizeof(generic[0]); g++)
			ck_assert_msg(strcmp(s, generic[g]) != 0, "code %d has the generic message \"%s\"",
				      c, s);
		ck_assert_msg(strchr(s, '\n') == NULL, "code %d: message is not one line", c);
		for (int d = VERR_MAX; d > c; d--)
			ck_assert_msg(strcmp(s, verr_str(d)) != 0,
				      "codes %d and %d share the message \"%s\"", d, c, s);
	}
}
END_TEST

START_TEST(test_unknown)
{
	static const int not_codes[] = { 1, -1, -2, -ENOENT, -EIO, -4095, VERR_MAX + 1,
					 VERR_MIN - 1, INT_MIN, INT_MAX };

	for (size_t i = 0; i < sizeof(not_codes) / sizeof(not_codes[0]); i++)
		ck_assert_str_eq(verr_str(not_codes[i]), "unknown error");
	ck_assert_str_eq(verr_str(0), "success");
}
END_TEST

Suite *
err_suite(void)
{
	Suite *s = suite_create("err");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_codes_are_the_range);
	tcase_add_test(tc, test_messages_distinct);
	tcase_add_test(tc, test_unknown);
	suite_add_tcase(s, tc);
	return s;
}
