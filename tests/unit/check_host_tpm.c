/*
 * check_host_tpm.c - tcs/host_tpm, keyfile kind: spec parsing, first-start
 * key creation (0600, 32 bytes, O_EXCL), reload, and refusal of a key file
 * that is the wrong size, too open, a symlink or not a file.
 */
#include "unit.h"
#include "tcs/host_tpm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tmp;
static char keypath[4096];
static char spec[4200];
static char err[512];

static void
setup(void)
{
	int n;

	tmp = unit_mkdtemp();
	unit_path(keypath, sizeof(keypath), tmp, "master.key");
	n = snprintf(spec, sizeof(spec), "keyfile:%s", keypath);
	ck_assert(n > 0 && (size_t)n < sizeof(spec));
	err[0] = '\0';
}

static void
teardown(void)
{
	unit_rmtree(tmp);
	free(tmp);
	tmp = NULL;
}

static void
assert_err_has(const char *needle)
{
	ck_assert_msg(strstr(err, needle) != NULL, "error \"%s\" lacks \"%s\"", err, needle);
}

static void
write_key(size_t len, mode_t mode)
{
	uint8_t b[64];
	int fd;

	memset(b, 0x5c, sizeof(b));
	fd = open(keypath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, b, len), (ssize_t)len);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

START_TEST(test_parse)
{
	struct host_tpm h;

	ck_assert_int_eq(host_tpm_parse(spec, &h, err, sizeof(err)), 0);
	ck_assert_int_eq(h.kind, HOST_TPM_KEYFILE);
	ck_assert_str_eq(h.path, keypath);
	ck_assert_ptr_nonnull(host_tpm_describe(&h));
	ck_assert_int_eq(host_tpm_parse("keyfile:relative/key", &h, err, sizeof(err)), 0);
	ck_assert_str_eq(h.path, "relative/key");
}
END_TEST

START_TEST(test_parse_bad)
{
	static const char *bad[] = { "", "tpm2:/dev/tpmrm0", "device:", "swtpm:foo", "keyfile",
				     "KEYFILE:/x", " keyfile:/x" };
	struct host_tpm h;
	char *longspec;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_int_eq(host_tpm_parse(bad[i], &h, err, sizeof(err)), -1);
		/* The reason names what is accepted. */
		assert_err_has("keyfile:PATH");
	}
	ck_assert_int_eq(host_tpm_parse(NULL, &h, err, sizeof(err)), -1);
	ck_assert_int_eq(host_tpm_parse("keyfile:", &h, err, sizeof(err)), -1);
	assert_err_has("keyfile:PATH");

	longspec = malloc(8 + sizeof(h.path) + 1);
	ck_assert_ptr_nonnull(longspec);
	memcpy(longspec, "keyfile:", 8);
	memset(longspec + 8, 'k', sizeof(h.path));
	longspec[8 + sizeof(h.path)] = '\0';
	ck_assert_int_eq(host_tpm_parse(longspec, &h, err, sizeof(err)), -1);
	free(longspec);
}
END_TEST

START_TEST(test_create_and_reload)
{
	struct host_tpm h;
	uint8_t k1[32], k2[32], disk[33];
	struct stat sb;
	int created = -1, fd;

	ck_assert_int_eq(host_tpm_parse(spec, &h, err, sizeof(err)), 0);
	ck_assert_msg(host_tpm_master_key(&h, k1, &created, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(created, 1);
	ck_assert_int_eq(lstat(keypath, &sb), 0);
	ck_assert(S_ISREG(sb.st_mode));
	ck_assert_uint_eq(sb.st_mode & 0777, 0600);
	ck_assert_int_eq(sb.st_size, 32);
	fd = open(keypath, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(read(fd, disk, sizeof(disk)), 32);
	close(fd);
	ck_assert_mem_eq(disk, k1, 32);

	/* Second start: the same key, nothing created. */
	ck_assert_int_eq(host_tpm_master_key(&h, k2, &created, err, sizeof(err)), 0);
	ck_assert_int_eq(created, 0);
	ck_assert_mem_eq(k1, k2, 32);
	ck_assert_int_eq(host_tpm_master_key(&h, k2, NULL, err, sizeof(err)), 0);
}
END_TEST

START_TEST(test_wrong_size)
{
	struct host_tpm h;
	uint8_t k[32];
	int created = -1;

	ck_assert_int_eq(host_tpm_parse(spec, &h, err, sizeof(err)), 0);
	write_key(31, 0600);
	ck_assert_int_eq(host_tpm_master_key(&h, k, &created, err, sizeof(err)), VERR_INVAL);
	assert_err_has("must hold exactly 32 bytes (has 31)");
	assert_err_has(keypath);
	ck_assert_int_eq(created, 0);
	write_key(33, 0600);
	ck_assert_int_eq(host_tpm_master_key(&h, k, &created, err, sizeof(err)), VERR_INVAL);
	assert_err_has("(has 33)");
	write_key(0, 0600);
	ck_assert_int_eq(host_tpm_master_key(&h, k, &created, err, sizeof(err)), VERR_INVAL);
	assert_err_has("(has 0)");
	/* Never overwritten: still the empty file. */
	{
		struct stat sb;

		ck_assert_int_eq(stat(keypath, &sb), 0);
		ck_assert_int_eq(sb.st_size, 0);
	}
}
END_TEST

START_TEST(test_mode_refused)
{
	struct host_tpm h;
	uint8_t k[32];

	ck_assert_int_eq(host_tpm_parse(spec, &h, err, sizeof(err)), 0);
	write_key(32, 0644);
	ck_assert_int_eq(host_tpm_master_key(&h, k, NULL, err, sizeof(err)), VERR_INVAL);
	assert_err_has("is readable by group or others (mode 644); chmod 600 it");
	assert_err_has(keypath);
	write_key(32, 0640);
	ck_assert_int_eq(host_tpm_master_key(&h, k, NULL, err, sizeof(err)), VERR_INVAL);
	assert_err_has("(mode 640)");
	write_key(32, 0400);
	ck_assert_int_eq(host_tpm_master_key(&h, k, NULL, err, sizeof(err)), 0);
}
END_TEST

START_TEST(test_not_a_file)
{
	struct host_tpm h;
	uint8_t k[32];
	char target[4200];

	ck_assert_int_eq(host_tpm_parse(spec, &h, err, sizeof(err)), 0);
	/* A symlink, even to a good key, is refused and not replaced. */
	unit_path(target, sizeof(target), tmp, "real.key");
	ck_assert_int_eq(symlink(target, keypath), 0);
	ck_assert_int_eq(host_tpm_master_key(&h, k, NULL, err, sizeof(err)), VERR_INVAL);
	assert_err_has("symbolic link");
	ck_assert_int_eq(access(target, F_OK), -1); /* nothing created through it */
	ck_assert_int_eq(unlink(keypath), 0);

	ck_assert_int_eq(mkdir(keypath, 0700), 0);
	ck_assert_int_eq(host_tpm_master_key(&h, k, NULL, err, sizeof(err)), VERR_INVAL);
	assert_err_has("not a regular file");
	ck_assert_int_eq(rmdir(keypath), 0);

	/* A directory that does not exist: cannot create, says so. */
	unit_path(target, sizeof(target), tmp, "no/such/dir/key");
	ck_assert_int_eq(snprintf(spec, sizeof(spec), "keyfile:%s", target) > 0, 1);
	ck_assert_int_eq(host_tpm_parse(spec, &h, err, sizeof(err)), 0);
	ck_assert_int_eq(host_tpm_master_key(&h, k, NULL, err, sizeof(err)), VERR_NOENT);
	assert_err_has("cannot create key file");
}
END_TEST

START_TEST(test_relative_path)
{
	struct host_tpm h;
	uint8_t k[32];
	int created = 0, cwd;

	cwd = open(".", O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(cwd, 0);
	ck_assert_int_eq(chdir(tmp), 0);
	ck_assert_int_eq(host_tpm_parse("keyfile:rel.key", &h, err, sizeof(err)), 0);
	ck_assert_msg(host_tpm_master_key(&h, k, &created, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(created, 1);
	ck_assert_int_eq(fchdir(cwd), 0);
	close(cwd);
}
END_TEST

Suite *
host_tpm_suite(void)
{
	Suite *s = suite_create("host_tpm");
	TCase *tc = tcase_create("keyfile");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_parse_bad);
	tcase_add_test(tc, test_create_and_reload);
	tcase_add_test(tc, test_wrong_size);
	tcase_add_test(tc, test_mode_refused);
	tcase_add_test(tc, test_not_a_file);
	tcase_add_test(tc, test_relative_path);
	suite_add_tcase(s, tc);
	return s;
}
