/*
 * unit.h - what the Check unit-test files share: one suite constructor per
 * module (check_<module>.c) and the scratch-directory helpers in
 * check_main.c.  Tests may use $TMPDIR or /tmp; product code never does.
 */
#ifndef VTPM_TESTS_UNIT_H
#define VTPM_TESTS_UNIT_H

#include <check.h>
#include <stddef.h>

Suite *err_suite(void);
Suite *buf_suite(void);
Suite *strfmt_suite(void);
Suite *tpm_frame_suite(void);
Suite *ctrl_proto_suite(void);
Suite *chan_suite(void);
Suite *aead_suite(void);
Suite *blobfmt_suite(void);
Suite *migblob_suite(void);
Suite *store_suite(void);
Suite *host_tpm_suite(void);
Suite *fileio_suite(void);
Suite *tpm2_host_suite(void);
Suite *tpm2_sealed_suite(void);
Suite *master_sealed_suite(void);
Suite *tpm12_host_suite(void);
Suite *ekcert_suite(void);
Suite *transport_suite(void);
Suite *recovery_suite(void);
Suite *swtpm_state_suite(void);
Suite *manufacture_suite(void);
Suite *fuzz_regress_suite(void); /* tests/fuzz findings; see check_fuzz_regress.c */

/* A fresh 0700 directory under $TMPDIR (or /tmp); aborts the test on
 * failure.  Returns a malloc'd path. */
char *unit_mkdtemp(void);
/* rm -rf without following symlinks; path may be NULL. */
void unit_rmtree(const char *path);
/* Joins dir and name into out (aborting the test if it does not fit). */
void unit_path(char *out, size_t outlen, const char *dir, const char *name);
/* 1 when an executable named tool is on $PATH. */
int unit_have_tool(const char *tool);
/*
 * A suite (or test case) that cannot run here: says "SKIP: what: why" on
 * stderr and in the runner's closing list.  Under CI (CI=true) this
 * machine kind must be able to run it, so instead a test case named "skip"
 * is added to s that fails with that message.
 */
void unit_skip(Suite *s, const char *what, const char *why);

/* Absolute path of this test binary, for tests that re-exec it. */
extern char unit_self[4096];

/*
 * The storage fault tests run in a freshly exec'd copy of this binary, so
 * that util/fileio.c reads VTPM_FAULT at its first call whatever ran before
 * in the process (CK_FORK=no runs every test in one process).
 */
#define UNIT_FAULT_CHILD_ARG "--store-fault-child"
int store_fault_child(int argc, char **argv);

#endif
