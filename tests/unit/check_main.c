/*
 * check_main.c - the unit-test runner: every module's suite through one
 * SRunner, so Check prints one summary line.  Also holds the scratch-
 * directory helpers the suites share, and the entry point of the re-exec'd
 * storage fault child (see unit.h).
 */
#include "unit.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char unit_self[4096];

/* What unit_skip skipped, for the closing list (test runner only). */
static char skipped[1024];

int
unit_have_tool(const char *tool)
{
	const char *path = getenv("PATH");
	char *copy, *save = NULL, exe[4096];
	int found = 0;

	if (path == NULL || (copy = strdup(path)) == NULL)
		return 0;
	for (char *d = strtok_r(copy, ":", &save); d != NULL && !found;
	     d = strtok_r(NULL, ":", &save)) {
		snprintf(exe, sizeof(exe), "%s/%s", *d ? d : ".", tool);
		found = access(exe, X_OK) == 0;
	}
	free(copy);
	return found;
}

START_TEST(test_ci_must_not_skip)
{
	ck_abort_msg("skipped, but CI must run them on this machine kind: %s", skipped);
}
END_TEST

void
unit_skip(Suite *s, const char *what, const char *why)
{
	size_t k = strlen(skipped);
	const char *ci = getenv("CI");
	TCase *tc;

	fprintf(stderr, "SKIP: %s: %s\n", what, why);
	snprintf(skipped + k, sizeof(skipped) - k, "%s%s (%s)", k ? ", " : "", what, why);
	if (ci != NULL && strcmp(ci, "true") == 0) {
		tc = tcase_create("skip");
		tcase_add_test(tc, test_ci_must_not_skip);
		suite_add_tcase(s, tc);
	}
}

char *
unit_mkdtemp(void)
{
	const char *base = getenv("TMPDIR");
	char tmpl[4096], *p;
	int n;

	if (base == NULL || *base == '\0')
		base = "/tmp";
	n = snprintf(tmpl, sizeof(tmpl), "%s/vtpm-unit.XXXXXX", base);
	ck_assert(n > 0 && (size_t)n < sizeof(tmpl));
	ck_assert_msg(mkdtemp(tmpl) != NULL, "mkdtemp(%s): %s", tmpl, strerror(errno));
	p = strdup(tmpl);
	ck_assert(p != NULL);
	return p;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	(void)remove(path);
	return 0;
}

void
unit_rmtree(const char *path)
{
	if (path == NULL)
		return;
	(void)nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void
unit_path(char *out, size_t outlen, const char *dir, const char *name)
{
	int n = snprintf(out, outlen, "%s/%s", dir, name);

	ck_assert(n > 0 && (size_t)n < outlen);
}

int
main(int argc, char **argv)
{
	SRunner *sr;
	ssize_t n;
	int failed;

	if ((n = readlink("/proc/self/exe", unit_self, sizeof(unit_self) - 1)) > 0)
		unit_self[n] = '\0';
	else if (realpath(argv[0], unit_self) == NULL)
		unit_self[0] = '\0';
	if (argc >= 2 && strcmp(argv[1], UNIT_FAULT_CHILD_ARG) == 0)
		return store_fault_child(argc, argv);

	sr = srunner_create(err_suite());
	srunner_add_suite(sr, buf_suite());
	srunner_add_suite(sr, strfmt_suite());
	srunner_add_suite(sr, tpm_frame_suite());
	srunner_add_suite(sr, ctrl_proto_suite());
	srunner_add_suite(sr, chan_suite());
	srunner_add_suite(sr, aead_suite());
	srunner_add_suite(sr, blobfmt_suite());
	srunner_add_suite(sr, migblob_suite());
	srunner_add_suite(sr, fileio_suite());
	srunner_add_suite(sr, store_suite());
	srunner_add_suite(sr, host_tpm_suite());
	srunner_add_suite(sr, tpm2_sealed_suite());
	srunner_add_suite(sr, master_sealed_suite());
	srunner_add_suite(sr, tpm2_host_suite());
	srunner_add_suite(sr, tpm12_host_suite());
	srunner_add_suite(sr, ekcert_suite());
	srunner_add_suite(sr, transport_suite());
	srunner_add_suite(sr, recovery_suite());
	srunner_add_suite(sr, swtpm_state_suite());
	srunner_add_suite(sr, manufacture_suite());
	srunner_add_suite(sr, fuzz_regress_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (skipped[0] != '\0')
		fprintf(stderr, "unit: skipped: %s\n", skipped);
	return failed ? 1 : 0;
}
