/*
 * fileio.c - atomic, durable file replacement; see fileio.h.
 */
#include "fileio.h"
#include "buf.h"
#include "errmsg.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Fault injection: see fileio.h.  Tests only; set via the environment. */
enum fault_step { FAULT_NONE, FAULT_WRITE, FAULT_FSYNC, FAULT_RENAME, FAULT_DIRSYNC };

static enum fault_step fault_step_set;
static long fault_count;
static atomic_long fault_seen;
static pthread_once_t fault_once = PTHREAD_ONCE_INIT;

static void
fault_init(void)
{
	const char *e = getenv("VTPM_FAULT"), *colon;
	size_t n;

	if (e == NULL || (colon = strchr(e, ':')) == NULL)
		return;
	n = (size_t)(colon - e);
	if (n == 5 && strncmp(e, "write", 5) == 0) fault_step_set = FAULT_WRITE;
	else if (n == 5 && strncmp(e, "fsync", 5) == 0) fault_step_set = FAULT_FSYNC;
	else if (n == 6 && strncmp(e, "rename", 6) == 0) fault_step_set = FAULT_RENAME;
	else if (n == 7 && strncmp(e, "dirsync", 7) == 0) fault_step_set = FAULT_DIRSYNC;
	fault_count = strtol(colon + 1, NULL, 10);
}

/* Several storage threads write at once: the setting is read once, and
 * the count of steps seen is atomic, so exactly the Nth step fails. */
static int
fault_hit(enum fault_step step)
{
	(void)pthread_once(&fault_once, fault_init);
	if (fault_step_set == FAULT_NONE || step != fault_step_set)
		return 0;
	return atomic_fetch_add(&fault_seen, 1) + 1 == fault_count;
}

int
write_full(int fd, const void *p, size_t len)
{
	const uint8_t *b = p;

	while (len > 0) {
		ssize_t n = write(fd, b, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

int
read_full(int fd, void *p, size_t len)
{
	uint8_t *b = p;

	while (len > 0) {
		ssize_t n = read(fd, b, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EPIPE;
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

int
file_write_atomic(int dirfd, const char *name, const void *data, size_t len, mode_t mode)
{
	char tmp[256];
	int fd, r;

	if ((size_t)snprintf(tmp, sizeof(tmp), ".%s.tmp", name) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0 && errno == EEXIST) {
		/* Left by a crash mid-write: it was never renamed into place,
		 * so it holds nothing acknowledged. */
		(void)unlinkat(dirfd, tmp, 0);
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	}
	if (fd < 0)
		return -errno;
	if (fault_hit(FAULT_WRITE)) {
		/* Simulate a short write followed by ENOSPC. */
		(void)!write(fd, data, len / 2);
		r = -ENOSPC;
		goto fail;
	}
	if ((r = write_full(fd, data, len)) != 0)
		goto fail;
	if (fault_hit(FAULT_FSYNC)) {
		r = -EIO;
		goto fail;
	}
	if (fsync(fd) != 0) {
		r = -errno;
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		r = -errno;
		goto fail;
	}
	fd = -1;
	if (fault_hit(FAULT_RENAME)) {
		r = -EIO;
		goto fail;
	}
	if (renameat(dirfd, tmp, dirfd, name) != 0) {
		r = -errno;
		goto fail;
	}
	if (fault_hit(FAULT_DIRSYNC))
		return -EIO; /* the new file is in place but not yet durable */
	if (fsync(dirfd) != 0)
		return -errno;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	(void)unlinkat(dirfd, tmp, 0);
	return r;
}

int
file_read_all(int dirfd, const char *name, size_t max, uint8_t **out, size_t *len)
{
	struct stat st;
	uint8_t *p;
	int fd, r;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > max) {
		close(fd);
		return -EFBIG;
	}
	if ((p = malloc(st.st_size > 0 ? (size_t)st.st_size : 1)) == NULL) {
		close(fd);
		return -ENOMEM;
	}
	if ((r = read_full(fd, p, (size_t)st.st_size)) != 0) {
		close(fd);
		freezero(p, (size_t)st.st_size);
		return r == -EPIPE ? -EIO : r;
	}
	close(fd);
	*out = p;
	*len = (size_t)st.st_size;
	return 0;
}

int
file_unlink_durable(int dirfd, const char *name)
{
	if (unlinkat(dirfd, name, 0) != 0)
		return -errno;
	if (fsync(dirfd) != 0)
		return -errno;
	return 0;
}

int
dir_ensure(const char *path, mode_t mode)
{
	struct stat st;

	if (mkdir(path, mode) != 0 && errno != EEXIST)
		return -errno;
	if (lstat(path, &st) != 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	return 0;
}

/* The checks on one directory we own; 0 or -1 with err set. */
static int
check_own_dir(int fd, const char *path, const char *what, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "cannot stat %s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s %s is not a directory", what, path);
		return -1;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
		snprintf(err, errlen, "%s %s must be owned by uid %u and not writable by group or "
			 "others (it is owned by uid %u, mode %03o): whoever can write to it can "
			 "replace what the daemon creates there", what, path, (unsigned)geteuid(),
			 (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

/* Every ancestor of real path rp: owned by root or us, and writable by
 * group or others only with the sticky bit. */
static int
check_ancestors(const char *rp, const char *what, const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	struct stat st;
	size_t n = strlen(rp);

	if (n >= sizeof(dir))
		return -1;
	memcpy(dir, rp, n + 1);
	for (;;) {
		char *slash = strrchr(dir, '/');

		if (slash == NULL)
			return 0;
		if (slash == dir)
			slash[1] = '\0'; /* "/" itself */
		else
			*slash = '\0';
		if (lstat(dir, &st) != 0) {
			snprintf(err, errlen, "cannot stat %s (above %s %s): %s", dir, what, path,
				 strerror(errno));
			return -1;
		}
		if ((st.st_uid != 0 && st.st_uid != geteuid()) ||
		    ((st.st_mode & 022) != 0 && !(st.st_mode & S_ISVTX))) {
			snprintf(err, errlen, "%s %s is inside %s, which uid %u owns with mode %03o: "
				 "every directory above it must be owned by root and writable by no "
				 "one else (or sticky, like /tmp)", what, path, dir,
				 (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
			return -1;
		}
		if (strcmp(dir, "/") == 0)
			return 0;
	}
}

int
dir_open_trusted(const char *path, mode_t mode, const char *what, char *err, size_t errlen)
{
	char rp[PATH_MAX];
	int fd;

	if (mkdir(path, mode) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s %s: %s", what, path, strerror(errno));
		return -1;
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP || errno == ENOTDIR)
			snprintf(err, errlen, "%s %s is a symlink or not a directory; give the real "
				 "path", what, path);
		else
			snprintf(err, errlen, "cannot open %s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (check_own_dir(fd, path, what, err, errlen) != 0)
		goto fail;
	/* The real path of what we opened, not of whatever the name means
	 * now. */
	char link[64];
	ssize_t k;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((k = readlink(link, rp, sizeof(rp) - 1)) <= 0) {
		snprintf(err, errlen, "cannot resolve %s %s: %s", what, path, strerror(errno));
		goto fail;
	}
	rp[k] = '\0';
	if (check_ancestors(rp, what, path, err, errlen) != 0)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

int
subdir_open_trusted(int dirfd, const char *name, mode_t mode, const char *what, char *err,
		    size_t errlen)
{
	int fd;

	if (mkdirat(dirfd, name, mode) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", what, strerror(errno));
		return -1;
	}
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s (%s; a symlink is refused)", what,
			 strerror(errno));
		return -1;
	}
	if (check_own_dir(fd, name, what, err, errlen) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
file_read_named(const char *path, size_t max, struct buf *out, unsigned *mode, char *err,
		size_t errlen)
{
	struct stat st;
	uint8_t *p;
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		seterr(err, errlen, "cannot open %s: %s", path,
		       errno == ELOOP ? "it is a symbolic link" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (size_t)st.st_size > max) {
		seterr(err, errlen, "%s is not a regular file of 1..%zu bytes", path, max);
		close(fd);
		return -1;
	}
	if (buf_reserve(out, (size_t)st.st_size, &p) != 0) {
		seterr(err, errlen, "out of memory reading %s", path);
		close(fd);
		return -1;
	}
	r = read_full(fd, p, (size_t)st.st_size);
	close(fd);
	if (r != 0) {
		seterr(err, errlen, "cannot read %s: %s", path, strerror(-r));
		return -1;
	}
	*mode = (unsigned)(st.st_mode & 07777);
	return 0;
}
