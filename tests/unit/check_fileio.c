/*
 * check_fileio.c - util/fileio: atomic replacement, recovery from a temp
 * file left by a crash, bounded reads and refusal to follow symlinks.
 */
#include "unit.h"
#include "util/buf.h"
#include "util/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tmp;
static int dfd = -1;

static void
setup(void)
{
	tmp = unit_mkdtemp();
	dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dfd, 0);
}

static void
teardown(void)
{
	if (dfd >= 0)
		close(dfd);
	dfd = -1;
	unit_rmtree(tmp);
	free(tmp);
	tmp = NULL;
}

/* Reads name and checks it holds exactly want[0..len). */
static void
assert_content(const char *name, const void *want, size_t len)
{
	uint8_t *p = NULL;
	size_t n = 0;

	ck_assert_int_eq(file_read_all(dfd, name, 1024, &p, &n), 0);
	ck_assert_uint_eq(n, len);
	ck_assert_int_eq(memcmp(p, want, len), 0);
	freezero(p, n);
}

static void
write_plain(const char *name, const char *s, mode_t mode)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write_full(fd, s, strlen(s)), 0);
	close(fd);
}

START_TEST(test_atomic_replace)
{
	struct stat st;

	ck_assert_int_eq(file_write_atomic(dfd, "blob", "first", 5, 0600), 0);
	assert_content("blob", "first", 5);
	ck_assert_int_eq(fstatat(dfd, "blob", &st, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(file_write_atomic(dfd, "blob", "second!", 7, 0600), 0);
	assert_content("blob", "second!", 7);
	ck_assert_int_eq(file_write_atomic(dfd, "blob", "", 0, 0600), 0);
	assert_content("blob", "", 0);
	/* No temp file is left behind. */
	ck_assert_int_eq(faccessat(dfd, ".blob.tmp", F_OK, AT_SYMLINK_NOFOLLOW), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(test_leftover_tmp)
{
	/* A crash between create and rename leaves .blob.tmp behind. */
	ck_assert_int_eq(file_write_atomic(dfd, "blob", "old", 3, 0600), 0);
	write_plain(".blob.tmp", "half-written junk", 0600);
	ck_assert_int_eq(file_write_atomic(dfd, "blob", "new", 3, 0600), 0);
	assert_content("blob", "new", 3);
	ck_assert_int_eq(faccessat(dfd, ".blob.tmp", F_OK, AT_SYMLINK_NOFOLLOW), -1);
}
END_TEST

START_TEST(test_tmp_symlink_not_followed)
{
	char target[4096];

	/* Someone plants .blob.tmp -> victim: the write must not go there. */
	write_plain("victim", "precious", 0600);
	unit_path(target, sizeof(target), tmp, "victim");
	ck_assert_int_eq(symlinkat(target, dfd, ".blob.tmp"), 0);
	ck_assert_int_eq(file_write_atomic(dfd, "blob", "new", 3, 0600), 0);
	assert_content("victim", "precious", 8);
	assert_content("blob", "new", 3);
}
END_TEST

START_TEST(test_read_bounds)
{
	uint8_t *p = (uint8_t *)1;
	size_t n = 77;

	write_plain("ten", "0123456789", 0600);
	ck_assert_int_eq(file_read_all(dfd, "ten", 10, &p, &n), 0);
	ck_assert_uint_eq(n, 10);
	freezero(p, n);
	p = (uint8_t *)1;
	n = 77;
	ck_assert_int_eq(file_read_all(dfd, "ten", 9, &p, &n), -EFBIG);
	ck_assert_int_eq(file_read_all(dfd, "ten", 0, &p, &n), -EFBIG);
	ck_assert_ptr_eq(p, (uint8_t *)1);
	ck_assert_uint_eq(n, 77);
	ck_assert_int_eq(file_read_all(dfd, "ten", SIZE_MAX, &p, &n), 0);
	freezero(p, n);

	write_plain("empty", "", 0600);
	ck_assert_int_eq(file_read_all(dfd, "empty", 0, &p, &n), 0);
	ck_assert_uint_eq(n, 0);
	freezero(p, n);

	ck_assert_int_eq(file_read_all(dfd, "absent", 10, &p, &n), -ENOENT);
	ck_assert_int_eq(mkdirat(dfd, "sub", 0700), 0);
	ck_assert_int_eq(file_read_all(dfd, "sub", 10, &p, &n), -EINVAL);
}
END_TEST

START_TEST(test_read_symlink_refused)
{
	uint8_t *p = NULL;
	size_t n = 0;

	write_plain("real", "data", 0600);
	ck_assert_int_eq(symlinkat("real", dfd, "link"), 0);
	ck_assert_int_eq(file_read_all(dfd, "link", 10, &p, &n), -ELOOP);
	ck_assert_ptr_null(p);
}
END_TEST

START_TEST(test_unlink_durable)
{
	ck_assert_int_eq(file_write_atomic(dfd, "blob", "x", 1, 0600), 0);
	ck_assert_int_eq(file_unlink_durable(dfd, "blob"), 0);
	ck_assert_int_eq(file_unlink_durable(dfd, "blob"), -ENOENT);
}
END_TEST

START_TEST(test_dir_ensure)
{
	char path[4096], file[4096], link[4096];
	struct stat st;

	unit_path(path, sizeof(path), tmp, "state");
	ck_assert_int_eq(dir_ensure(path, 0700), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 0777, 0700);
	ck_assert_int_eq(dir_ensure(path, 0700), 0);

	unit_path(file, sizeof(file), tmp, "afile");
	write_plain("afile", "x", 0600);
	ck_assert_int_eq(dir_ensure(file, 0700), -ENOTDIR);

	/* A symlink to a directory is not accepted as the directory. */
	unit_path(link, sizeof(link), tmp, "dirlink");
	ck_assert_int_eq(symlink(path, link), 0);
	ck_assert_int_eq(dir_ensure(link, 0700), -ENOTDIR);
}
END_TEST

START_TEST(test_full_io)
{
	int p[2];
	char b[8];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(write_full(p[1], "abcdef", 6), 0);
	ck_assert_int_eq(read_full(p[0], b, 4), 0);
	ck_assert_mem_eq(b, "abcd", 4);
	close(p[1]);
	/* Two bytes remain, four are wanted: early EOF. */
	ck_assert_int_eq(read_full(p[0], b, 4), -EPIPE);
	close(p[0]);
	ck_assert_int_eq(write_full(-1, "x", 1), -EBADF);
	ck_assert_int_eq(write_full(-1, "x", 0), 0);
}
END_TEST

Suite *
fileio_suite(void)
{
	Suite *s = suite_create("fileio");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_atomic_replace);
	tcase_add_test(tc, test_leftover_tmp);
	tcase_add_test(tc, test_tmp_symlink_not_followed);
	tcase_add_test(tc, test_read_bounds);
	tcase_add_test(tc, test_read_symlink_refused);
	tcase_add_test(tc, test_unlink_durable);
	tcase_add_test(tc, test_dir_ensure);
	tcase_add_test(tc, test_full_io);
	suite_add_tcase(s, tc);
	return s;
}
