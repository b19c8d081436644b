/*
 * check_store.c - manager/store in a scratch directory: locking, blob and
 * manifest round trips, rollback, tampering, blobs moved between vTPMs,
 * deletion, and storage faults injected through VTPM_FAULT (util/fileio.c),
 * which must never cost the previous good copy.
 */
#include "unit.h"
#include "manager/store.h"
#include "util/fileio.h"
#include "util/uuid.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const uint8_t master1[32] = { 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
				     16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29,
				     30, 31 };
static const uint8_t uuid_a[UUID_LEN] = { 0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x41, 0xd1,
					  0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8 };
static const uint8_t uuid_b[UUID_LEN] = { 0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x41, 0xd1,
					  0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8 };
static const uint8_t old_data[] = "old permall state";
static const uint8_t new_data[] = "new permall state, longer than the old";

static char *tmp;
static char state[4096];
static struct store st;
static char err[512];

static void
setup(void)
{
	tmp = unit_mkdtemp();
	unit_path(state, sizeof(state), tmp, "state");
	st.dirfd = st.vtpmfd = st.lockfd = -1;
	err[0] = '\0';
}

static void
teardown(void)
{
	store_close(&st);
	unit_rmtree(tmp);
	free(tmp);
	tmp = NULL;
}

static void
open_store(const uint8_t *master)
{
	int r = store_open(&st, state, master, err, sizeof(err));

	ck_assert_msg(r == 0, "store_open: %d %s", r, err);
}

/* <state>/vtpm/<uuid>[/<name>] */
static void
vtpm_path(char *out, size_t len, const uint8_t *uuid, const char *name)
{
	char text[UUID_STR_LEN];
	int n;

	uuid_format(uuid, text);
	if (name != NULL)
		n = snprintf(out, len, "%s/vtpm/%s/%s", state, text, name);
	else
		n = snprintf(out, len, "%s/vtpm/%s", state, text);
	ck_assert(n > 0 && (size_t)n < len);
}

static void
save(const uint8_t *uuid, const char *name, uint64_t gen, const uint8_t *d, size_t len)
{
	int r = store_blob_save(&st, uuid, name, gen, d, len, err, sizeof(err));

	ck_assert_msg(r == 0, "save %s: %d %s", name, r, err);
}

static int
load(const uint8_t *uuid, const char *name, uint64_t min_gen, struct buf *out, uint64_t *gen)
{
	return store_blob_load(&st, uuid, name, min_gen, out, gen, err, sizeof(err));
}

static void
assert_err_has(const char *needle)
{
	ck_assert_msg(strstr(err, needle) != NULL, "error \"%s\" lacks \"%s\"", err, needle);
}

START_TEST(test_open_creates)
{
	struct stat sb;
	char p[4200];

	open_store(master1);
	ck_assert_int_eq(stat(state, &sb), 0);
	ck_assert(S_ISDIR(sb.st_mode));
	ck_assert_uint_eq(sb.st_mode & 0777, 0700);
	unit_path(p, sizeof(p), state, "vtpm");
	ck_assert_int_eq(lstat(p, &sb), 0);
	ck_assert(S_ISDIR(sb.st_mode));
	ck_assert_uint_eq(sb.st_mode & 0777, 0700);
	unit_path(p, sizeof(p), state, "lock");
	ck_assert_int_eq(lstat(p, &sb), 0);
	ck_assert(S_ISREG(sb.st_mode));
	store_close(&st);
	store_close(&st); /* idempotent */
	open_store(master1); /* an existing directory is fine */
}
END_TEST

START_TEST(test_lock)
{
	struct store st2;

	open_store(master1);
	/* flock locks belong to the open file description, so a second
	 * open in this same process conflicts like another daemon would. */
	ck_assert_int_eq(store_open(&st2, state, master1, err, sizeof(err)), VERR_LOCKED);
	assert_err_has("is in use by another vtpm_managerd");
	assert_err_has(state);
	ck_assert_int_eq(st2.dirfd, -1);
	ck_assert_int_eq(st2.lockfd, -1);
	store_close(&st);
	ck_assert_int_eq(store_open(&st2, state, master1, err, sizeof(err)), 0);
	store_close(&st2);
}
END_TEST

START_TEST(test_unsafe_dir)
{
	char longpath[5000];

	ck_assert_int_eq(mkdir(state, 0700), 0);
	ck_assert_int_eq(chmod(state, 0777), 0);
	ck_assert_int_eq(store_open(&st, state, master1, err, sizeof(err)), VERR_INVAL);
	assert_err_has("not writable by group or others");
	ck_assert_int_eq(chmod(state, 0750), 0);
	open_store(master1);
	store_close(&st);

	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	ck_assert_int_eq(store_open(&st, longpath, master1, err, sizeof(err)), VERR_INVAL);
}
END_TEST

START_TEST(test_blob_round_trip)
{
	struct buf out;
	uint64_t gen = 0;
	uint8_t *raw = NULL;
	size_t rawlen = 0;
	char p[4200];
	struct stat sb;
	int dfd;

	open_store(master1);
	ck_assert_int_eq(store_vtpm_create(&st, uuid_a), 0);
	ck_assert_int_eq(store_vtpm_create(&st, uuid_a), 0); /* idempotent */
	save(uuid_a, "permall", 5, old_data, sizeof(old_data));
	save(uuid_a, "volatilestate", 1, NULL, 0);
	buf_init(&out, SEAL_CT_MAX);
	ck_assert_int_eq(load(uuid_a, "permall", 0, &out, &gen), 0);
	ck_assert_uint_eq(gen, 5);
	ck_assert_uint_eq(out.len, sizeof(old_data));
	ck_assert_mem_eq(out.d, old_data, sizeof(old_data));
	buf_reset(&out);
	ck_assert_int_eq(load(uuid_a, "volatilestate", 1, &out, &gen), 0);
	ck_assert_uint_eq(out.len, 0);
	ck_assert_uint_eq(gen, 1);
	buf_free(&out);

	/* On disk: private, and not plaintext. */
	vtpm_path(p, sizeof(p), uuid_a, "permall");
	ck_assert_int_eq(lstat(p, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 0777, 0600);
	vtpm_path(p, sizeof(p), uuid_a, NULL);
	ck_assert_int_eq(lstat(p, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 0777, 0700);
	dfd = open(p, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(dfd, 0);
	ck_assert_int_eq(file_read_all(dfd, "permall", SEAL_FILE_MAX, &raw, &rawlen), 0);
	ck_assert_ptr_null(memmem(raw, rawlen, old_data, sizeof(old_data) - 1));
	ck_assert_mem_eq(raw, SEAL_MAGIC, 8);
	freezero(raw, rawlen);
	close(dfd);
}
END_TEST

START_TEST(test_blob_rollback)
{
	struct buf out;
	uint64_t gen = 77;

	open_store(master1);
	ck_assert_int_eq(store_vtpm_create(&st, uuid_a), 0);
	save(uuid_a, "permall", 5, old_data, sizeof(old_data));
	buf_init(&out, SEAL_CT_MAX);
	ck_assert_int_eq(load(uuid_a, "permall", 6, &out, &gen), VERR_ROLLBACK);
	ck_assert_uint_eq(out.len, 0);
	ck_assert_uint_eq(gen, 77);
	assert_err_has("generation 5");
	ck_assert_int_eq(load(uuid_a, "permall", UINT64_MAX, &out, &gen), VERR_ROLLBACK);
	ck_assert_int_eq(load(uuid_a, "permall", 5, &out, &gen), 0);
	ck_assert_uint_eq(gen, 5);
	buf_free(&out);
}
END_TEST

/* XORs byte `at` (from the end when negative) of a file with x. */
static void
poke_file(const char *path, long at, uint8_t x)
{
	int fd = open(path, O_RDWR);
	struct stat sb;
	uint8_t c;
	off_t off;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &sb), 0);
	off = at >= 0 ? at : sb.st_size + at;
	ck_assert_int_eq(pread(fd, &c, 1, off), 1);
	c ^= x;
	ck_assert_int_eq(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

START_TEST(test_blob_tampered)
{
	struct buf out;
	uint64_t gen;
	char p[4200];

	open_store(master1);
	ck_assert_int_eq(store_vtpm_create(&st, uuid_a), 0);
	save(uuid_a, "permall", 5, old_data, sizeof(old_data));
	vtpm_path(p, sizeof(p), uuid_a, "permall");
	buf_init(&out, SEAL_CT_MAX);

	poke_file(p, -20, 0x01); /* inside the ciphertext */
	ck_assert_int_eq(load(uuid_a, "permall", 0, &out, &gen), VERR_CORRUPT);
	assert_err_has(p);
	assert_err_has("failed authentication (tampered, or sealed under another master key)");
	ck_assert_uint_eq(out.len, 0);
	poke_file(p, -20, 0x01);
	ck_assert_int_eq(load(uuid_a, "permall", 0, &out, &gen), 0);
	buf_reset(&out);

	/* Truncation is "malformed". */
	ck_assert_int_eq(truncate(p, 40), 0);
	ck_assert_int_eq(load(uuid_a, "permall", 0, &out, &gen), VERR_CORRUPT);
	assert_err_has(p);
	assert_err_has("malformed");
	ck_assert_int_eq(truncate(p, 0), 0);
	ck_assert_int_eq(load(uuid_a, "permall", 0, &out, &gen), VERR_CORRUPT);
	/* Larger than any sealed file. */
	ck_assert_int_eq(truncate(p, SEAL_FILE_MAX + 1), 0);
	ck_assert_int_eq(load(uuid_a, "permall", 0, &out, &gen), VERR_CORRUPT);
	assert_err_has(p);
	ck_assert_uint_eq(out.len, 0);
	buf_free(&out);
}
END_TEST

START_TEST(test_blob_not_regular)
{
	struct buf out;
	uint64_t gen;
	char p[4200];

	open_store(master1);
	ck_assert_int_eq(store_vtpm_create(&st, uuid_a), 0);
	save(uuid_a, "savestate", 1, old_data, sizeof(old_data));
	vtpm_path(p, sizeof(p), uuid_a, "permall");
	buf_init(&out, SEAL_CT_MAX);
	/* permall -> savestate: a symlink is refused, not followed. */
	ck_assert_int_eq(symlink("savestate", p), 0);
	ck_assert_int_eq(load(uuid_a, "permall", 0, &out, &gen), VERR_CORRUPT);
	assert_err_has("symbolic link");
	ck_assert_int_eq(unlink(p), 0);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	ck_assert_int_eq(load(uuid_a, "permall", 0, &out, &gen), VERR_CORRUPT);
	assert_err_has("not a regular file");
	buf_free(&out);
}
END_TEST

START_TEST(test_blob_absent)
{
	struct buf out;
	uint64_t gen;

	open_store(master1);
	buf_init(&out, SEAL_CT_MAX);
	/* No directory for the vTPM. */
	ck_assert_int_eq(load(uuid_a, "permall", 0, &out, &gen), VERR_NOENT);
	ck_assert_int_eq(store_blob_save(&st, uuid_a, "permall", 1, old_data, 4, err,
					 sizeof(err)), VERR_NOENT);
	/* A directory but no such blob. */
	ck_assert_int_eq(store_vtpm_create(&st, uuid_a), 0);
	ck_assert_int_eq(load(uuid_a, "permall", 0, &out, &gen), VERR_NOENT);
	ck_assert_int_eq(store_blob_delete(&st, uuid_a, "permall"), VERR_NOENT);
	ck_assert_int_eq(store_blob_delete(&st, uuid_b, "permall"), VERR_NOENT);
	buf_free(&out);
}
END_TEST

/* Copies file from -> to (both absolute paths). */
static void
copy_file(const char *from, const char *to)
{
	uint8_t *d = NULL;
	size_t n = 0;
	int fd;

	ck_assert_int_eq(file_read_all(AT_FDCWD, from, SEAL_FILE_MAX, &d, &n), 0);
	fd = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write_full(fd, d, n), 0);
	close(fd);
	freezero(d, n);
}

START_TEST(test_blob_moved)
{
	struct buf out;
	uint64_t gen;
	char pa[4200], pb[4200], pa2[4200];

	open_store(master1);
	ck_assert_int_eq(store_vtpm_create(&st, uuid_a), 0);
	ck_assert_int_eq(store_vtpm_create(&st, uuid_b), 0);
	save(uuid_a, "permall", 9, old_data, sizeof(old_data));
	save(uuid_b, "permall", 1, new_data, sizeof(new_data));
	buf_init(&out, SEAL_CT_MAX);

	/* A's permall copied over B's. */
	vtpm_path(pa, sizeof(pa), uuid_a, "permall");
	vtpm_path(pb, sizeof(pb), uuid_b, "permall");
	copy_file(pa, pb);
	ck_assert_int_eq(load(uuid_b, "permall", 0, &out, &gen), VERR_CORRUPT);
	assert_err_has(pb);
	assert_err_has("another vTPM");
	ck_assert_uint_eq(out.len, 0);
	/* A's permall renamed to A's savestate. */
	vtpm_path(pa2, sizeof(pa2), uuid_a, "savestate");
	copy_file(pa, pa2);
	ck_assert_int_eq(load(uuid_a, "savestate", 0, &out, &gen), VERR_CORRUPT);
	assert_err_has(pa2);
	/* The original still opens. */
	ck_assert_int_eq(load(uuid_a, "permall", 9, &out, &gen), 0);
	buf_free(&out);
}
END_TEST

START_TEST(test_other_master)
{
	struct buf out;
	uint8_t master2[32];
	uint64_t gen;

	open_store(master1);
	ck_assert_int_eq(store_vtpm_create(&st, uuid_a), 0);
	save(uuid_a, "permall", 2, old_data, sizeof(old_data));
	store_close(&st);
	memcpy(master2, master1, 32);
	master2[0] ^= 1;
	open_store(master2);
	buf_init(&out, SEAL_CT_MAX);
	ck_assert_int_eq(load(uuid_a, "permall", 0, &out, &gen), VERR_CORRUPT);
	assert_err_has("failed authentication");
	buf_free(&out);
}
END_TEST

START_TEST(test_bad_names)
{
	static const char *bad[] = { "", "lock", "manifest", "../permall", "permall/",
				     "/etc/passwd", "permall\n", "." };
	struct buf out;
	uint64_t gen;

	open_store(master1);
	ck_assert_int_eq(store_vtpm_create(&st, uuid_a), 0);
	buf_init(&out, SEAL_CT_MAX);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(load(uuid_a, bad[i], 0, &out, &gen), VERR_INVAL);
		/* The untrusted name is not echoed into the message. */
		ck_assert_ptr_null(strstr(err, "../"));
		ck_assert_int_eq(store_blob_save(&st, uuid_a, bad[i], 1, old_data, 4, err,
						 sizeof(err)), VERR_INVAL);
		ck_assert_int_eq(store_blob_delete(&st, uuid_a, bad[i]), VERR_INVAL);
	}
	ck_assert_int_eq(load(uuid_a, NULL, 0, &out, &gen), VERR_INVAL);
	buf_free(&out);
}
END_TEST

START_TEST(test_too_large)
{
	uint8_t *big = calloc(1, SEAL_CT_MAX + 1);
	struct buf out;
	uint64_t gen;

	ck_assert_ptr_nonnull(big);
	open_store(master1);
	ck_assert_int_eq(store_vtpm_create(&st, uuid_a), 0);
	ck_assert_int_eq(store_blob_save(&st, uuid_a, "permall", 1, big, SEAL_CT_MAX + 1, err,
					 sizeof(err)), VERR_INVAL);
	save(uuid_a, "permall", 1, big, SEAL_CT_MAX);
	buf_init(&out, SEAL_CT_MAX);
	ck_assert_int_eq(load(uuid_a, "permall", 1, &out, &gen), 0);
	ck_assert_uint_eq(out.len, SEAL_CT_MAX);
	buf_free(&out);
	/* A caller buffer too small for the blob. */
	buf_init(&out, 16);
	ck_assert_int_eq(load(uuid_a, "permall", 1, &out, &gen), VERR_IO);
	ck_assert_uint_eq(out.len, 0);
	buf_free(&out);
	free(big);
}
END_TEST

START_TEST(test_blob_delete)
{
	struct buf out;
	uint64_t gen;

	open_store(master1);
	ck_assert_int_eq(store_vtpm_create(&st, uuid_a), 0);
	save(uuid_a, "permall", 1, old_data, sizeof(old_data));
	save(uuid_a, "savestate", 1, old_data, sizeof(old_data));
	ck_assert_int_eq(store_blob_delete(&st, uuid_a, "savestate"), 0);
	ck_assert_int_eq(store_blob_delete(&st, uuid_a, "savestate"), VERR_NOENT);
	buf_init(&out, SEAL_CT_MAX);
	ck_assert_int_eq(load(uuid_a, "savestate", 0, &out, &gen), VERR_NOENT);
	ck_assert_int_eq(load(uuid_a, "permall", 0, &out, &gen), 0);
	buf_free(&out);
}
END_TEST

START_TEST(test_vtpm_delete)
{
	struct buf out;
	uint64_t gen;
	char p[4200];
	struct stat sb;
	int fd;

	open_store(master1);
	ck_assert_int_eq(store_vtpm_create(&st, uuid_a), 0);
	ck_assert_int_eq(store_vtpm_create(&st, uuid_b), 0);
	save(uuid_a, "permall", 1, old_data, sizeof(old_data));
	save(uuid_a, "volatilestate", 1, old_data, sizeof(old_data));
	save(uuid_a, "savestate", 1, old_data, sizeof(old_data));
	save(uuid_b, "permall", 1, new_data, sizeof(new_data));
	/* A temp file left by a crash goes too. */
	vtpm_path(p, sizeof(p), uuid_a, ".permall.tmp");
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);

	ck_assert_int_eq(store_vtpm_delete(&st, uuid_a), 0);
	vtpm_path(p, sizeof(p), uuid_a, NULL);
	ck_assert_int_eq(lstat(p, &sb), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(store_vtpm_delete(&st, uuid_a), VERR_NOENT);
	buf_init(&out, SEAL_CT_MAX);
	ck_assert_int_eq(load(uuid_a, "permall", 0, &out, &gen), VERR_NOENT);
	/* B is untouched. */
	ck_assert_int_eq(load(uuid_b, "permall", 1, &out, &gen), 0);
	ck_assert_mem_eq(out.d, new_data, sizeof(new_data));
	buf_free(&out);
	/* And A can be created again. */
	ck_assert_int_eq(store_vtpm_create(&st, uuid_a), 0);
}
END_TEST

START_TEST(test_vtpm_dir_symlink)
{
	char p[4200], target[4200];

	open_store(master1);
	unit_path(target, sizeof(target), tmp, "elsewhere");
	ck_assert_int_eq(mkdir(target, 0700), 0);
	vtpm_path(p, sizeof(p), uuid_a, NULL);
	ck_assert_int_eq(symlink(target, p), 0);
	/* The vTPM directory must be a real directory, never followed. */
	ck_assert_int_eq(store_vtpm_create(&st, uuid_a), VERR_IO);
	ck_assert_int_eq(store_blob_save(&st, uuid_a, "permall", 1, old_data, 4, err,
					 sizeof(err)), VERR_IO);
	ck_assert_int_eq(store_vtpm_delete(&st, uuid_a), VERR_IO);
	unit_path(p, sizeof(p), target, "permall");
	ck_assert_int_eq(access(p, F_OK), -1);
}
END_TEST

/* Two entries at sequence seq.  No ck_* calls: the fault child uses it
 * outside any test.  Callers check m->e. */
static void
fill_manifest(struct manifest *m, uint64_t seq)
{
	memset(m, 0, sizeof(*m));
	m->seq = seq;
	m->next_instance = 3;
	if ((m->e = calloc(2, sizeof(*m->e))) == NULL)
		return;
	m->count = 2;
	memcpy(m->e[0].uuid, uuid_a, UUID_LEN);
	m->e[0].instance = 1;
	m->e[0].tpm_version = 2;
	m->e[0].gen[BLOB_PERMALL] = 4;
	m->e[0].created = 1000;
	m->e[0].updated = 2000;
	memcpy(m->e[1].uuid, uuid_b, UUID_LEN);
	m->e[1].instance = 2;
	m->e[1].tpm_version = 1;
}

START_TEST(test_manifest)
{
	struct manifest m, l;
	char p[4200];

	open_store(master1);
	ck_assert_int_eq(store_manifest_load(&st, &l, err, sizeof(err)), 0);
	ck_assert_uint_eq(l.seq, 0);
	ck_assert_uint_eq(l.count, 0);
	ck_assert_ptr_null(l.e);

	fill_manifest(&m, 7);
	ck_assert_ptr_nonnull(m.e);
	ck_assert_int_eq(store_manifest_save(&st, &m, err, sizeof(err)), 0);
	ck_assert_int_eq(store_manifest_load(&st, &l, err, sizeof(err)), 0);
	ck_assert_uint_eq(l.seq, 7);
	ck_assert_uint_eq(l.count, 2);
	ck_assert_uint_eq(l.next_instance, 3);
	ck_assert_mem_eq(l.e[0].uuid, uuid_a, UUID_LEN);
	ck_assert_uint_eq(l.e[0].gen[BLOB_PERMALL], 4);
	ck_assert_uint_eq(l.e[0].updated, 2000);
	ck_assert_uint_eq(l.e[1].tpm_version, 1);
	manifest_free(&l);

	/* A manifest that cannot be encoded is refused, the old one kept. */
	m.e[1].instance = 1;
	m.seq = 8;
	ck_assert_int_eq(store_manifest_save(&st, &m, err, sizeof(err)), VERR_INVAL);
	ck_assert_int_eq(store_manifest_load(&st, &l, err, sizeof(err)), 0);
	ck_assert_uint_eq(l.seq, 7);
	manifest_free(&l);
	manifest_free(&m);

	unit_path(p, sizeof(p), state, "manifest");
	poke_file(p, 43, 0x01); /* the sequence number's last byte */
	ck_assert_int_eq(store_manifest_load(&st, &l, err, sizeof(err)), VERR_CORRUPT);
	assert_err_has(p);
	assert_err_has("failed authentication");
	poke_file(p, 43, 0x01);
	poke_file(p, 10, 0x03); /* kind: 2 -> 1, a blob */
	ck_assert_int_eq(store_manifest_load(&st, &l, err, sizeof(err)), VERR_CORRUPT);
	assert_err_has(p);
	ck_assert_ptr_null(l.e);
}
END_TEST

START_TEST(test_manifest_other_master)
{
	struct manifest m, l;
	uint8_t master2[32];

	open_store(master1);
	fill_manifest(&m, 1);
	ck_assert_ptr_nonnull(m.e);
	ck_assert_int_eq(store_manifest_save(&st, &m, err, sizeof(err)), 0);
	manifest_free(&m);
	store_close(&st);
	memset(master2, 0x99, sizeof(master2));
	open_store(master2);
	ck_assert_int_eq(store_manifest_load(&st, &l, err, sizeof(err)), VERR_CORRUPT);
	assert_err_has("failed authentication");
}
END_TEST

/* --- storage faults, in a re-exec'd child (see unit.h) --- */

enum fault_exit {
	FX_OK = 0,
	FX_USAGE = 2,
	FX_OPEN = 3,
	FX_SAVE_SUCCEEDED = 4,
	FX_LOAD_FAILED = 5,
	FX_WRONG_CONTENT = 6,
	FX_TMP_LEFT = 7,
	FX_RETRY_FAILED = 8,
	FX_MANIFEST = 9,
};

/* Runs in the child: one save under the fault, then checks what is left. */
int
store_fault_child(int argc, char **argv)
{
	struct store s;
	struct buf out;
	struct manifest m, l;
	char e[512], tmpname[4200], text[UUID_STR_LEN];
	uint64_t gen = 0;
	int dirsync, r;

	if (argc != 5)
		return FX_USAGE;
	dirsync = strcmp(argv[4], "dirsync") == 0;
	if (store_open(&s, argv[2], master1, e, sizeof(e)) != 0) {
		fprintf(stderr, "fault child: %s\n", e);
		return FX_OPEN;
	}
	if (strcmp(argv[3], "manifest") == 0) {
		fill_manifest(&m, 2);
		if (m.e == NULL)
			return FX_MANIFEST;
		r = store_manifest_save(&s, &m, e, sizeof(e));
		manifest_free(&m);
		if (r != VERR_IO)
			return FX_SAVE_SUCCEEDED;
		if (store_manifest_load(&s, &l, e, sizeof(e)) != 0)
			return FX_LOAD_FAILED;
		r = (l.seq == 1 || (dirsync && l.seq == 2)) ? FX_OK : FX_MANIFEST;
		manifest_free(&l);
		store_close(&s);
		return r;
	}

	if (store_blob_save(&s, uuid_a, "permall", 2, new_data, sizeof(new_data), e,
			    sizeof(e)) != VERR_IO)
		return FX_SAVE_SUCCEEDED;
	buf_init(&out, SEAL_CT_MAX);
	if (store_blob_load(&s, uuid_a, "permall", 1, &out, &gen, e, sizeof(e)) != 0) {
		fprintf(stderr, "fault child: %s\n", e);
		return FX_LOAD_FAILED;
	}
	/* The old blob, intact; after a failed directory sync the new one
	 * is already in place (just not yet durable), which is also whole. */
	if (!((gen == 1 && out.len == sizeof(old_data) &&
	       memcmp(out.d, old_data, out.len) == 0) ||
	      (dirsync && gen == 2 && out.len == sizeof(new_data) &&
	       memcmp(out.d, new_data, out.len) == 0)))
		return FX_WRONG_CONTENT;
	buf_reset(&out);
	uuid_format(uuid_a, text);
	snprintf(tmpname, sizeof(tmpname), "%s/vtpm/%s/.permall.tmp", argv[2], text);
	if (access(tmpname, F_OK) == 0)
		return FX_TMP_LEFT;
	/* The fault hits once; the next save goes through. */
	if (store_blob_save(&s, uuid_a, "permall", 3, new_data, sizeof(new_data), e,
			    sizeof(e)) != 0 ||
	    store_blob_load(&s, uuid_a, "permall", 3, &out, &gen, e, sizeof(e)) != 0 ||
	    gen != 3)
		return FX_RETRY_FAILED;
	buf_free(&out);
	store_close(&s);
	return FX_OK;
}

static void
run_fault(const char *target, const char *step)
{
	struct manifest m;
	char spec[32], *argv[6];
	pid_t pid;
	int status;

	/* Previous good state: permall at generation 1, manifest at seq 1. */
	open_store(master1);
	ck_assert_int_eq(store_vtpm_create(&st, uuid_a), 0);
	save(uuid_a, "permall", 1, old_data, sizeof(old_data));
	fill_manifest(&m, 1);
	ck_assert_ptr_nonnull(m.e);
	ck_assert_int_eq(store_manifest_save(&st, &m, err, sizeof(err)), 0);
	manifest_free(&m);
	store_close(&st); /* the child takes the lock */

	ck_assert_msg(unit_self[0] != '\0', "cannot find the test binary to re-exec");
	snprintf(spec, sizeof(spec), "%s:1", step);
	argv[0] = unit_self;
	argv[1] = (char *)UNIT_FAULT_CHILD_ARG;
	argv[2] = state;
	argv[3] = (char *)(uintptr_t)target;
	argv[4] = (char *)(uintptr_t)step;
	argv[5] = NULL;
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		setenv("VTPM_FAULT", spec, 1);
		execv(unit_self, argv);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "fault %s on %s: child status %d (see enum fault_exit)", spec, target,
		      WIFEXITED(status) ? WEXITSTATUS(status) : -1);

	/* And the parent, a fresh process as far as the store cares, agrees. */
	open_store(master1);
	{
		struct buf out;
		uint64_t gen;

		buf_init(&out, SEAL_CT_MAX);
		ck_assert_int_eq(load(uuid_a, "permall", 1, &out, &gen), 0);
		buf_free(&out);
	}
}

START_TEST(test_fault_write)
{
	run_fault("blob", "write");
}
END_TEST

START_TEST(test_fault_fsync)
{
	run_fault("blob", "fsync");
}
END_TEST

START_TEST(test_fault_rename)
{
	run_fault("blob", "rename");
}
END_TEST

START_TEST(test_fault_dirsync)
{
	run_fault("blob", "dirsync");
}
END_TEST

START_TEST(test_fault_manifest)
{
	run_fault("manifest", "write");
	store_close(&st);
	run_fault("manifest", "rename");
}
END_TEST

Suite *
store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("core");
	TCase *tf = tcase_create("faults");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_open_creates);
	tcase_add_test(tc, test_lock);
	tcase_add_test(tc, test_unsafe_dir);
	tcase_add_test(tc, test_blob_round_trip);
	tcase_add_test(tc, test_blob_rollback);
	tcase_add_test(tc, test_blob_tampered);
	tcase_add_test(tc, test_blob_not_regular);
	tcase_add_test(tc, test_blob_absent);
	tcase_add_test(tc, test_blob_moved);
	tcase_add_test(tc, test_other_master);
	tcase_add_test(tc, test_bad_names);
	tcase_add_test(tc, test_too_large);
	tcase_add_test(tc, test_blob_delete);
	tcase_add_test(tc, test_vtpm_delete);
	tcase_add_test(tc, test_vtpm_dir_symlink);
	tcase_add_test(tc, test_manifest);
	tcase_add_test(tc, test_manifest_other_master);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(tf, setup, teardown);
	tcase_set_timeout(tf, 60);
	tcase_add_test(tf, test_fault_write);
	tcase_add_test(tf, test_fault_fsync);
	tcase_add_test(tf, test_fault_rename);
	tcase_add_test(tf, test_fault_dirsync);
	tcase_add_test(tf, test_fault_manifest);
	suite_add_tcase(s, tf);
	return s;
}
