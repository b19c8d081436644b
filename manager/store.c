/*
 * store.c - the manager's state directory; see store.h.  Owns <state-dir>
 * and everything under it while it holds the flock on <state-dir>/lock.
 * Trusts nothing read back from disk (every file goes through blobfmt_open)
 * and nothing in a blob name (only the three libtpms names are accepted, so
 * a name from a vtpmd can never become a path).  Holds the master key and
 * the manifest key; store_close() wipes both, and derived blob keys live on
 * the stack only for the call that needs them.
 *
 * Every function returns 0 or a negative VERR_* code (store.h says which).
 * util/fileio's -errno results are translated here (read_error); where
 * there is no err argument, errno is left as the failing system call set
 * it.
 */
#include "util/err.h"
#include "util/errmsg.h"
#include "store.h"
#include "crypto/aead.h"
#include "crypto/migblob.h"
#include "util/fileio.h"
#include "util/uuid.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>

#define MANIFEST_NAME "manifest"
#define LOCK_NAME "lock"
#define VTPM_DIR "vtpm"

/* Names may come from a vtpmd, so they are checked against the list and
 * never echoed into messages. */
static int
valid_blob_name(const char *name)
{
	return name != NULL && blob_index_of(name, strlen(name)) >= 0;
}

/* Opens <state-dir>/vtpm/<uuid>; -1 with errno set on failure. */
static int
vtpm_dir_open(struct store *s, const char *text)
{
	return openat(s->vtpmfd, text, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static size_t
keys_map_len(void)
{
	long pg = sysconf(_SC_PAGESIZE);

	return pg > 0 && (size_t)pg >= sizeof(struct store_keys) ? (size_t)pg : 4096;
}

void
store_close(struct store *s)
{
	if (s->vtpmfd >= 0)
		close(s->vtpmfd);
	if (s->dirfd >= 0)
		close(s->dirfd);
	/* Closing the lock file releases the flock. */
	if (s->lockfd >= 0)
		close(s->lockfd);
	s->dirfd = s->vtpmfd = s->lockfd = -1;
	if (s->keys != NULL) {
		OPENSSL_cleanse(s->keys, sizeof(*s->keys));
		munlock(s->keys, sizeof(*s->keys));
		munmap(s->keys, keys_map_len());
		s->keys = NULL;
	}
}

/* A private page for the keys; see store.h.  mlock failing (no
 * CAP_IPC_LOCK and a small RLIMIT_MEMLOCK) is not fatal. */
static struct store_keys *
keys_alloc(void)
{
	void *p = mmap(NULL, keys_map_len(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	(void)madvise(p, keys_map_len(), MADV_DONTDUMP);
	(void)madvise(p, keys_map_len(), MADV_WIPEONFORK);
	(void)mlock(p, sizeof(struct store_keys));
	return p;
}

int
store_set_key(struct store *s, const uint8_t master[32])
{
	if (s->keys == NULL && (s->keys = keys_alloc()) == NULL)
		return VERR_IO;
	memcpy(s->keys->master, master, sizeof(s->keys->master));
	if (blobfmt_derive_key(s->keys->master, NULL, s->keys->manifest_key) != 0 ||
	    migblob_derive_host_key(s->keys->master, s->keys->stateblob_key) != 0)
		return VERR_IO;
	return 0;
}

int
store_set_migration_key(struct store *s, const uint8_t raw[32])
{
	if (s->keys == NULL && (s->keys = keys_alloc()) == NULL)
		return VERR_IO;
	if (migblob_derive_key(raw, s->keys->migration_key) != 0)
		return VERR_IO;
	s->keys->has_migration_key = 1;
	return 0;
}

void
store_migblob_keys(const struct store *s, struct migblob_keys *k)
{
	k->migration = s->keys != NULL && s->keys->has_migration_key ? s->keys->migration_key
								      : NULL;
	k->host = s->keys != NULL ? s->keys->stateblob_key : NULL;
}

int
store_has_data(struct store *s)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	int fd, found = 0;

	if (fstatat(s->dirfd, MANIFEST_NAME, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 1;
	if ((fd = dup(s->vtpmfd)) < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return 1; /* cannot tell: assume there is state, the safe answer */
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			found = 1;
			break;
		}
	}
	closedir(d);
	return found;
}

int
store_open(struct store *s, const char *state_dir, const uint8_t master[32], char *err,
	   size_t errlen)
{
	int r;

	memset(s, 0, sizeof(*s));
	s->dirfd = s->vtpmfd = s->lockfd = -1;
	if (strlen(state_dir) >= sizeof(s->path)) {
		seterr(err, errlen, "state directory path is too long");
		return VERR_INVAL;
	}
	memcpy(s->path, state_dir, strlen(state_dir) + 1);

	/* Whoever can write here (or above) can delete or swap blobs:
	 * insist that only we can.  (Reading is harmless: every file is
	 * sealed.) */
	s->dirfd = dir_open_trusted(state_dir, 0700, "state directory", err, errlen);
	if (s->dirfd < 0) {
		r = VERR_INVAL;
		goto fail;
	}

	/* Lock before touching anything else, so a second manager changes
	 * nothing.  flock locks belong to the open file description, and are
	 * dropped by the kernel if we die. */
	s->lockfd = openat(s->dirfd, LOCK_NAME, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (s->lockfd < 0) {
		seterr(err, errlen, "cannot open %s/" LOCK_NAME ": %s", state_dir, strerror(errno));
		r = VERR_IO;
		goto fail;
	}
	if (flock(s->lockfd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK) {
			seterr(err, errlen, "state directory %s is in use by another vtpm_managerd",
			       state_dir);
			r = VERR_LOCKED;
		} else {
			seterr(err, errlen, "cannot lock %s/" LOCK_NAME ": %s", state_dir,
			       strerror(errno));
			r = VERR_IO;
		}
		goto fail;
	}

	if (mkdirat(s->dirfd, VTPM_DIR, 0700) == 0) {
		if (fsync(s->dirfd) != 0) {
			seterr(err, errlen, "cannot sync state directory %s: %s", state_dir,
			       strerror(errno));
			r = VERR_IO;
			goto fail;
		}
	} else if (errno != EEXIST) {
		seterr(err, errlen, "cannot create %s/" VTPM_DIR ": %s", state_dir,
		       strerror(errno));
		r = VERR_IO;
		goto fail;
	}
	s->vtpmfd = openat(s->dirfd, VTPM_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->vtpmfd < 0) {
		seterr(err, errlen, "cannot open %s/" VTPM_DIR " (must be a directory): %s",
		       state_dir, strerror(errno));
		r = VERR_IO;
		goto fail;
	}

	if (master != NULL && store_set_key(s, master) != 0) {
		seterr(err, errlen, "cannot derive the manifest key");
		r = VERR_IO;
		goto fail;
	}
	return 0;
fail:
	store_close(s);
	return r;
}

/*
 * Maps a file_read_all() failure (-errno) on path to a VERR_* code and message.
 * what is "blob" or "manifest".
 */
static int
read_error(int r, const char *what, const char *path, char *err, size_t errlen)
{
	switch (r) {
	case -ENOENT:
		seterr(err, errlen, "%s %s does not exist", what, path);
		return VERR_NOENT;
	case -EFBIG:
		seterr(err, errlen, "%s %s is larger than any sealed file (%u bytes)", what,
		       path, (unsigned)SEAL_FILE_MAX);
		return VERR_CORRUPT;
	case -EINVAL:
		seterr(err, errlen, "%s %s is not a regular file", what, path);
		return VERR_CORRUPT;
	case -ELOOP:
		seterr(err, errlen, "%s %s is a symbolic link; refusing to follow it", what,
		       path);
		return VERR_CORRUPT;
	default:
		seterr(err, errlen, "cannot read %s %s: %s", what, path, strerror(-r));
		return VERR_IO;
	}
}

/* Maps a blobfmt_open() failure on path to a VERR_* code and message: any
 * refusal of the file is VERR_CORRUPT to store's callers. */
static int
open_error(int r, const char *what, const char *path, char *err, size_t errlen)
{
	switch (r) {
	case VERR_AUTH:
		seterr(err, errlen,
		       "%s %s failed authentication (tampered, or sealed under another master "
		       "key)",
		       what, path);
		return VERR_CORRUPT;
	case VERR_MISMATCH:
		seterr(err, errlen,
		       "%s %s was sealed for another vTPM or name (copied or moved here)", what,
		       path);
		return VERR_CORRUPT;
	case VERR_FORMAT:
		seterr(err, errlen, "%s %s is malformed (truncated, or not a sealed file)", what,
		       path);
		return VERR_CORRUPT;
	default:
		seterr(err, errlen, "cannot open %s %s: %s", what, path, verr_str(r));
		return VERR_IO;
	}
}

int
store_manifest_load(struct store *s, struct manifest *m, char *err, size_t errlen)
{
	char path[sizeof(s->path) + sizeof(MANIFEST_NAME) + 1];
	struct buf pt;
	uint8_t *file = NULL;
	size_t flen = 0;
	uint64_t seq = 0;
	int r;

	memset(m, 0, sizeof(*m));
	snprintf(path, sizeof(path), "%s/%s", s->path, MANIFEST_NAME);
	r = file_read_all(s->dirfd, MANIFEST_NAME, SEAL_FILE_MAX, &file, &flen);
	if (r == -ENOENT)
		return 0; /* first start: an empty manifest at seq 0 */
	if (r != 0)
		return read_error(r, "manifest", path, err, errlen);

	buf_init(&pt, SEAL_CT_MAX);
	r = blobfmt_open(s->keys->manifest_key, SEAL_KIND_MANIFEST, MANIFEST_NAME, NULL, file, flen,
			 &pt, &seq);
	freezero(file, flen);
	if (r != 0) {
		buf_free(&pt);
		return open_error(r, "manifest", path, err, errlen);
	}
	r = manifest_decode(pt.d, pt.len, m);
	buf_free(&pt);
	if (r == VERR_NOMEM) {
		seterr(err, errlen, "cannot decode manifest %s: out of memory", path);
		return VERR_NOMEM;
	}
	if (r != 0) {
		/* Authentic, so we wrote it: a bug, not an attacker. */
		seterr(err, errlen,
		       "manifest %s is authentic but its contents are invalid (duplicate or "
		       "too many entries)",
		       path);
		return VERR_CORRUPT;
	}
	m->seq = seq;
	return 0;
}

int
store_manifest_save(struct store *s, const struct manifest *m, char *err, size_t errlen)
{
	struct buf pt, sealed;
	int r;

	buf_init(&pt, SEAL_CT_MAX);
	buf_init(&sealed, SEAL_FILE_MAX);
	if ((r = manifest_encode(m, &pt)) != 0) {
		seterr(err, errlen,
		       "cannot encode a manifest of %u entries (duplicates, bad version, or "
		       "larger than a sealed file)",
		       (unsigned)m->count);
		r = VERR_INVAL;
		goto out;
	}
	if (blobfmt_seal(s->keys->manifest_key, SEAL_KIND_MANIFEST, MANIFEST_NAME, NULL, m->seq,
			 pt.d, pt.len, &sealed) != 0) {
		seterr(err, errlen, "cannot seal the manifest");
		r = VERR_IO;
		goto out;
	}
	if ((r = file_write_atomic(s->dirfd, MANIFEST_NAME, sealed.d, sealed.len, 0600)) != 0) {
		seterr(err, errlen, "cannot write manifest %s/%s: %s", s->path, MANIFEST_NAME,
		       strerror(-r));
		r = VERR_IO;
		goto out;
	}
	r = 0;
out:
	buf_free(&pt);
	buf_free(&sealed);
	return r;
}

int
store_vtpm_create(struct store *s, const uint8_t uuid[UUID_LEN])
{
	char text[UUID_STR_LEN];
	int fd;

	uuid_format(uuid, text);
	if (mkdirat(s->vtpmfd, text, 0700) == 0)
		return fsync(s->vtpmfd) == 0 ? 0 : VERR_IO;
	if (errno != EEXIST)
		return VERR_IO;
	/* Already there: fine if it is a real directory, not a symlink. */
	if ((fd = vtpm_dir_open(s, text)) < 0)
		return VERR_IO;
	close(fd);
	return 0;
}

/* Unlinks every entry of the open directory fd; 0 or -1 with errno set. */
static int
empty_dir(int fd)
{
	struct dirent *de;
	DIR *d;
	int dfd, saved;

	/* fdopendir() takes ownership of its fd; give it a copy. */
	if ((dfd = dup(fd)) < 0)
		return -1;
	if ((d = fdopendir(dfd)) == NULL) {
		saved = errno;
		close(dfd);
		errno = saved;
		return -1;
	}
	/* Two passes: whether readdir returns entries behind ones we have
	 * just removed is unspecified; a second pass after rewinddir catches
	 * any it skipped. */
	for (int pass = 0; pass < 2; pass++) {
		errno = 0;
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			if (unlinkat(fd, de->d_name, 0) != 0 && errno != ENOENT) {
				saved = errno;
				closedir(d);
				errno = saved;
				return -1;
			}
		}
		rewinddir(d);
	}
	closedir(d);
	return 0;
}

int
store_vtpm_delete(struct store *s, const uint8_t uuid[UUID_LEN])
{
	char text[UUID_STR_LEN];
	int fd, saved;

	uuid_format(uuid, text);
	if ((fd = vtpm_dir_open(s, text)) < 0)
		return errno == ENOENT ? VERR_NOENT : VERR_IO;
	/* Blobs and any temp file left by a crash; then make the removals
	 * durable before the directory itself goes. */
	if (empty_dir(fd) != 0 || fsync(fd) != 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return VERR_IO;
	}
	close(fd);
	if (unlinkat(s->vtpmfd, text, AT_REMOVEDIR) != 0 || fsync(s->vtpmfd) != 0)
		return VERR_IO;
	return 0;
}

int
store_blob_load(struct store *s, const uint8_t uuid[UUID_LEN], const char *name,
		uint64_t min_gen, struct buf *out, uint64_t *gen, char *err, size_t errlen)
{
	char text[UUID_STR_LEN];
	char path[sizeof(s->path) + sizeof("/" VTPM_DIR "/") + UUID_STR_LEN + SEAL_NAME_MAX + 1];
	uint8_t key[32], *file = NULL;
	struct buf pt;
	size_t flen = 0;
	uint64_t g = 0;
	int fd, r;

	if (!valid_blob_name(name)) {
		seterr(err, errlen, "blob name is not permall, volatilestate or savestate");
		return VERR_INVAL;
	}
	uuid_format(uuid, text);
	snprintf(path, sizeof(path), "%s/" VTPM_DIR "/%s/%s", s->path, text, name);
	if ((fd = vtpm_dir_open(s, text)) < 0) {
		if (errno == ENOENT) {
			seterr(err, errlen, "blob %s does not exist (no vTPM directory)", path);
			return VERR_NOENT;
		}
		seterr(err, errlen, "cannot open the directory of blob %s: %s", path,
		       strerror(errno));
		return VERR_IO;
	}
	r = file_read_all(fd, name, SEAL_FILE_MAX, &file, &flen);
	close(fd);
	if (r != 0)
		return read_error(r, "blob", path, err, errlen);

	if (blobfmt_derive_key(s->keys->master, uuid, key) != 0) {
		freezero(file, flen);
		seterr(err, errlen, "cannot derive the key of blob %s", path);
		return VERR_IO;
	}
	/* Open into a private buffer: out must not see plaintext from a blob
	 * that then fails the rollback check. */
	buf_init(&pt, SEAL_CT_MAX);
	r = blobfmt_open(key, SEAL_KIND_BLOB, name, uuid, file, flen, &pt, &g);
	OPENSSL_cleanse(key, sizeof(key));
	freezero(file, flen);
	if (r != 0) {
		buf_free(&pt);
		return open_error(r, "blob", path, err, errlen);
	}
	if (g < min_gen) {
		buf_free(&pt);
		seterr(err, errlen,
		       "rollback detected: blob %s is at generation %llu, older than the %llu the "
		       "manifest records; restore the newest copy of that file",
		       path, (unsigned long long)g, (unsigned long long)min_gen);
		return VERR_ROLLBACK;
	}
	if (pt.len != 0 && buf_put_bytes(out, pt.d, pt.len) != 0) {
		buf_free(&pt);
		seterr(err, errlen, "blob %s does not fit the caller's buffer", path);
		return VERR_IO;
	}
	buf_free(&pt);
	if (gen != NULL)
		*gen = g;
	return 0;
}

int
store_blob_save(struct store *s, const uint8_t uuid[UUID_LEN], const char *name, uint64_t gen,
		const uint8_t *data, size_t len, char *err, size_t errlen)
{
	char text[UUID_STR_LEN];
	uint8_t key[32];
	struct buf sealed;
	int fd, r;

	if (!valid_blob_name(name)) {
		seterr(err, errlen, "blob name is not permall, volatilestate or savestate");
		return VERR_INVAL;
	}
	uuid_format(uuid, text);
	if (len > SEAL_CT_MAX) {
		seterr(err, errlen, "blob %s/" VTPM_DIR "/%s/%s: %zu bytes is over the %u limit",
		       s->path, text, name, len, (unsigned)SEAL_CT_MAX);
		return VERR_INVAL;
	}
	if (blobfmt_derive_key(s->keys->master, uuid, key) != 0) {
		seterr(err, errlen, "cannot derive the key of blob %s/" VTPM_DIR "/%s/%s", s->path,
		       text, name);
		return VERR_IO;
	}
	buf_init(&sealed, SEAL_FILE_MAX);
	r = blobfmt_seal(key, SEAL_KIND_BLOB, name, uuid, gen, data, len, &sealed);
	OPENSSL_cleanse(key, sizeof(key));
	if (r != 0) {
		seterr(err, errlen, "cannot seal blob %s/" VTPM_DIR "/%s/%s", s->path, text, name);
		r = VERR_IO;
		goto out;
	}
	if ((fd = vtpm_dir_open(s, text)) < 0) {
		if (errno == ENOENT) {
			seterr(err, errlen, "cannot write blob %s/" VTPM_DIR "/%s/%s: no vTPM "
			       "directory (store_vtpm_create not called)", s->path, text, name);
			r = VERR_NOENT;
		} else {
			seterr(err, errlen, "cannot open %s/" VTPM_DIR "/%s: %s", s->path, text,
			       strerror(errno));
			r = VERR_IO;
		}
		goto out;
	}
	r = file_write_atomic(fd, name, sealed.d, sealed.len, 0600);
	close(fd);
	if (r != 0) {
		seterr(err, errlen, "cannot write blob %s/" VTPM_DIR "/%s/%s: %s", s->path, text,
		       name, strerror(-r));
		r = VERR_IO;
		goto out;
	}
	r = 0;
out:
	buf_free(&sealed);
	return r;
}

int
store_blob_delete(struct store *s, const uint8_t uuid[UUID_LEN], const char *name)
{
	char text[UUID_STR_LEN];
	int fd, r, saved;

	if (!valid_blob_name(name))
		return VERR_INVAL;
	uuid_format(uuid, text);
	if ((fd = vtpm_dir_open(s, text)) < 0)
		return errno == ENOENT ? VERR_NOENT : VERR_IO;
	r = file_unlink_durable(fd, name);
	saved = errno;
	close(fd);
	errno = saved;
	if (r == -ENOENT)
		return VERR_NOENT;
	return r == 0 ? 0 : VERR_IO;
}

int
store_blob_exists(struct store *s, const uint8_t uuid[UUID_LEN], const char *name)
{
	char text[UUID_STR_LEN];
	int fd, r;

	if (!valid_blob_name(name))
		return VERR_INVAL;
	uuid_format(uuid, text);
	if ((fd = vtpm_dir_open(s, text)) < 0)
		return errno == ENOENT ? 0 : VERR_IO;
	r = faccessat(fd, name, F_OK, AT_SYMLINK_NOFOLLOW);
	if (r != 0 && errno != ENOENT) {
		close(fd);
		return VERR_IO;
	}
	close(fd);
	return r == 0;
}

void
store_blob_path(const struct store *s, const uint8_t uuid[UUID_LEN], const char *name, char *out,
		size_t outlen)
{
	char text[UUID_STR_LEN];

	uuid_format(uuid, text);
	snprintf(out, outlen, "%s/" VTPM_DIR "/%s/%s", s->path, text, name);
}
