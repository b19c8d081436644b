/*
 * fileio.h - crash-safe file writes and bounded reads inside a directory fd.
 *
 * Every write is: temp file (O_CREAT|O_EXCL|O_NOFOLLOW) -> write all ->
 * fsync -> rename over the target -> fsync the directory.  A crash at any
 * point leaves either the old or the new file, never a mix.  Names are
 * single path components; callers never pass user-controlled paths here.
 * Functions return 0 or -errno, not a VERR_* (util/err.h): this is the
 * system-call layer, and its callers branch on the errno itself (ENOENT,
 * EFBIG, ELOOP, EPIPE) and print strerror(-r); a module above translates
 * at its own API (manager/store.c).
 */
#ifndef VTPM_UTIL_FILEIO_H
#define VTPM_UTIL_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

int file_write_atomic(int dirfd, const char *name, const void *data, size_t len, mode_t mode);
/* Reads a regular file of at most max bytes into a malloc'd buffer
 * (freed by the caller with freezero).  -ENOENT when absent, -EFBIG when
 * larger than max. */
int file_read_all(int dirfd, const char *name, size_t max, uint8_t **out, size_t *len);
/* Unlinks name and fsyncs the directory; -ENOENT when it was absent. */
int file_unlink_durable(int dirfd, const char *name);
/* Writes all of len bytes to fd, retrying on EINTR and short writes. */
int write_full(int fd, const void *p, size_t len);
/* Reads exactly len bytes; -EPIPE on early EOF. */
int read_full(int fd, void *p, size_t len);
/* mkdir -p of one directory with mode (existing is fine, but it must be a
 * directory and not a symlink). */
int dir_ensure(const char *path, mode_t mode);

/*
 * Opens a directory that nobody but us can change, creating it with mode
 * when it is missing (its parent must exist).  The directory itself must
 * not be a symlink, must be owned by our euid and not writable by group or
 * others; every ancestor of its real path must be owned by root or us and
 * be writable by group or others only with the sticky bit (like /tmp).
 * Whoever could write to the directory or an ancestor could swap entries
 * we create for symlinks, or plant sockets of their own.  Returns an
 * O_DIRECTORY fd, or -1 with a one-line reason in err naming what to fix.
 * `what` names the directory in messages ("run directory").
 */
int dir_open_trusted(const char *path, mode_t mode, const char *what, char *err, size_t errlen);
/* The same for an entry `name` of a trusted directory dirfd (the entry
 * alone is checked): for subdirectories we create inside one. */
int subdir_open_trusted(int dirfd, const char *name, mode_t mode, const char *what, char *err,
			size_t errlen);

/*
 * Fault injection for tests (issue: storage faults; safe with several storage
 * threads: the Nth step of the kind fails, counted atomically): when the environment
 * variable VTPM_FAULT is "write:N", "fsync:N", "rename:N" or "dirsync:N",
 * the Nth such step in this process fails with EIO (ENOSPC for write).
 * Read once at the first call; costs one branch otherwise.
 */

struct buf;
/* A small file an administrator names (a key, a certificate): a regular file,
 * not a symbolic link, of 1..max bytes, appended to out; *mode gets its
 * permission bits for the caller to judge.  0, or -1 with a reason in err. */
int file_read_named(const char *path, size_t max, struct buf *out, unsigned *mode, char *err,
		    size_t errlen);

#endif
