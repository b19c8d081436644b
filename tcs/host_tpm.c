/*
 * host_tpm.c - the host-TPM front end; see host_tpm.h.  Only the keyfile
 * kind exists so far: the master key is 32 random bytes in a file that only
 * its owner may read.  Owns that file; trusts its contents no further than
 * "exactly 32 bytes, regular file, private mode".  Never overwrites a key:
 * losing it loses every vTPM sealed under it.
 *
 * The key-file helpers below are thin system-call layers and return
 * -errno (util/err.h); host_tpm_master_key translates at its API.
 */
#include "util/errmsg.h"
#include "host_tpm.h"
#include "crypto/aead.h"
#include "util/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>

#define KEYFILE_PREFIX "keyfile:"
#define MASTER_KEY_LEN 32
#define HOST_TPM_PATH_MAX sizeof(((struct host_tpm *)0)->path)

int
host_tpm_parse(const char *spec, struct host_tpm *h, char *err, size_t errlen)
{
	static const struct {
		const char *prefix;
		enum host_tpm_kind kind;
		int keep_prefix;
	} kinds[] = {
		{ KEYFILE_PREFIX, HOST_TPM_KEYFILE, 0 },
		{ "device:", HOST_TPM_DEVICE, 1 },
		{ "swtpm:", HOST_TPM_SWTPM, 1 },
	};
	const char *rest;
	size_t len;

	memset(h, 0, sizeof(*h));
	if (spec == NULL || *spec == '\0') {
		/* The default: the host's TPM, the resource manager first. */
		if (access("/dev/tpmrm0", R_OK | W_OK) == 0)
			spec = "device:/dev/tpmrm0";
		else if (access("/dev/tpm0", R_OK | W_OK) == 0)
			spec = "device:/dev/tpm0";
		else {
			seterr(err, errlen, "no host TPM found (/dev/tpmrm0, /dev/tpm0); name one "
			       "with --host-tpm device:PATH or swtpm:path=SOCKET, or accept an "
			       "unprotected master key with --host-tpm keyfile:PATH");
			return -1;
		}
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t pl = strlen(kinds[i].prefix);
		if (strncmp(spec, kinds[i].prefix, pl) != 0)
			continue;
		rest = kinds[i].keep_prefix ? spec : spec + pl;
		len = strlen(rest);
		if (strlen(spec) == pl) {
			seterr(err, errlen, "host TPM \"%s\" needs a value, as in keyfile:PATH, "
			       "device:/dev/tpmrm0 or swtpm:path=SOCKET", kinds[i].prefix);
			return -1;
		}
		if (len >= sizeof(h->path)) {
			seterr(err, errlen, "host TPM path is longer than %zu bytes",
			       sizeof(h->path) - 1);
			return -1;
		}
		if (kinds[i].kind == HOST_TPM_SWTPM && strncmp(spec, "swtpm:path=", 11) != 0 &&
		    strncmp(spec, "swtpm:host=", 11) != 0) {
			seterr(err, errlen, "host TPM \"%.64s\": expected swtpm:path=SOCKET or "
			       "swtpm:host=H,port=P (other kinds: device:PATH, keyfile:PATH)", spec);
			return -1;
		}
		h->kind = kinds[i].kind;
		memcpy(h->path, rest, len + 1);
		return 0;
	}
	/* The spec comes from the operator; show only a bounded part. */
	seterr(err, errlen, "unknown host TPM \"%.64s\"; accepted kinds: device:PATH, "
	       "swtpm:path=SOCKET, swtpm:host=H,port=P, keyfile:PATH", spec);
	return -1;
}

const char *
host_tpm_describe(const struct host_tpm *h)
{
	switch (h->kind) {
	case HOST_TPM_KEYFILE:
		return "keyfile, no hardware TPM";
	case HOST_TPM_DEVICE:
		return h->tpm_version == 1 ? "TPM 1.2 device" : "TPM 2.0 device";
	case HOST_TPM_SWTPM:
		return h->tpm_version == 1 ? "swtpm (TPM 1.2) standing in for the host TPM"
					   : "swtpm (TPM 2.0) standing in for the host TPM";
	default:
		return "unknown";
	}
}

/* fsyncs the directory holding path, so a new file's name is durable. */
static int
sync_parent(const char *path)
{
	char dir[HOST_TPM_PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n;
	int fd, r = 0;

	if (slash == NULL) {
		dir[0] = '.';
		dir[1] = '\0';
	} else {
		n = slash == path ? 1 : (size_t)(slash - path); /* "/key" -> "/" */
		if (n >= sizeof(dir))
			return -ENAMETOOLONG;
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	if (fsync(fd) != 0)
		r = -errno;
	close(fd);
	return r;
}

/*
 * Creates the key file with O_EXCL.  Returns 0, -EEXIST when someone else
 * created it first (the caller reads theirs), or another -errno.
 */
static int
keyfile_create(const char *path, uint8_t key[MASTER_KEY_LEN], char *err, size_t errlen)
{
	int fd, r;

	if (crypto_random(key, MASTER_KEY_LEN) != 0) {
		seterr(err, errlen, "cannot get randomness for a new master key");
		return -EIO;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		OPENSSL_cleanse(key, MASTER_KEY_LEN);
		if (r != -EEXIST)
			seterr(err, errlen, "cannot create key file %s: %s", path, strerror(-r));
		return r;
	}
	r = write_full(fd, key, MASTER_KEY_LEN);
	if (r == 0 && fsync(fd) != 0)
		r = -errno;
	if (r != 0) {
		close(fd);
		/* We created it with O_EXCL, so it is ours to remove; a
		 * short key left behind would block every later start. */
		(void)unlink(path);
		OPENSSL_cleanse(key, MASTER_KEY_LEN);
		seterr(err, errlen, "cannot write key file %s: %s", path, strerror(-r));
		return r;
	}
	if (close(fd) != 0) {
		r = -errno;
		(void)unlink(path);
		OPENSSL_cleanse(key, MASTER_KEY_LEN);
		seterr(err, errlen, "cannot write key file %s: %s", path, strerror(-r));
		return r;
	}
	if ((r = sync_parent(path)) != 0) {
		/* The key is complete on disk; only its name may not survive a
		 * crash.  Refuse anyway: we must not seal state under a key
		 * that could vanish. */
		OPENSSL_cleanse(key, MASTER_KEY_LEN);
		seterr(err, errlen, "cannot sync the directory of key file %s: %s", path,
		       strerror(-r));
		return r;
	}
	return 0;
}

/* Reads an existing key file; -ENOENT when there is none. */
static int
keyfile_read(const char *path, uint8_t key[MASTER_KEY_LEN], char *err, size_t errlen)
{
	struct stat st;
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		r = -errno;
		if (r == -ELOOP)
			seterr(err, errlen, "key file %s is a symbolic link; refusing to follow it",
			       path);
		else if (r != -ENOENT)
			seterr(err, errlen, "cannot open key file %s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) != 0) {
		r = -errno;
		close(fd);
		seterr(err, errlen, "cannot stat key file %s: %s", path, strerror(-r));
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		seterr(err, errlen, "key file %s is not a regular file", path);
		return -EINVAL;
	}
	if (st.st_size != MASTER_KEY_LEN) {
		close(fd);
		seterr(err, errlen, "key file %s must hold exactly 32 bytes (has %lld)", path,
		       (long long)st.st_size);
		return -EINVAL;
	}
	if ((st.st_mode & 077) != 0) {
		close(fd);
		seterr(err, errlen,
		       "key file %s is readable by group or others (mode %o); chmod 600 it", path,
		       (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	/* Its owner could replace it, or open it up, at will. */
	if (st.st_uid != geteuid()) {
		close(fd);
		seterr(err, errlen, "key file %s is owned by uid %u; it must be owned by uid %u "
		       "(chown it)", path, (unsigned)st.st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	r = read_full(fd, key, MASTER_KEY_LEN);
	close(fd);
	if (r != 0) {
		OPENSSL_cleanse(key, MASTER_KEY_LEN);
		seterr(err, errlen, "cannot read key file %s: %s", path,
		       r == -EPIPE ? "file shrank while reading" : strerror(-r));
		return r;
	}
	return 0;
}

/* A key-file helper's -errno as host_tpm_master_key's code: a file that is
 * there but refused (a link, not a regular file, the wrong size, mode or
 * owner) is the operator's to fix, anything else is I/O. */
static int
keyfile_verr(int r)
{
	switch (r) {
	case -ENOENT: return VERR_NOENT;
	case -EINVAL:
	case -EPERM:
	case -ELOOP: return VERR_INVAL;
	default: return VERR_IO;
	}
}

int
host_tpm_master_key(struct host_tpm *h, uint8_t key[32], int *created, char *err,
		    size_t errlen)
{
	int r;

	if (created != NULL)
		*created = 0;
	if (h->kind != HOST_TPM_KEYFILE) {
		seterr(err, errlen, "unknown host TPM kind; accepted kinds: keyfile:PATH");
		return VERR_INVAL;
	}
	/* Read, else create; if another process wins the O_EXCL race, read
	 * the key it wrote.  Two rounds are enough. */
	for (int round = 0; round < 2; round++) {
		r = keyfile_read(h->path, key, err, errlen);
		if (r == 0)
			return 0;
		if (r != -ENOENT)
			return keyfile_verr(r);
		r = keyfile_create(h->path, key, err, errlen);
		if (r == 0) {
			if (created != NULL)
				*created = 1;
			return 0;
		}
		if (r != -EEXIST)
			return keyfile_verr(r);
	}
	seterr(err, errlen, "key file %s keeps appearing and disappearing", h->path);
	return VERR_IO;
}
