/*
 * fuzz_manifest.c - crypto/blobfmt.c manifest_decode(), the parser of the
 * manifest plaintext, and manager/store.c store_manifest_load(), which reads
 * <state-dir>/manifest, opens the envelope and decodes it at every start.
 *
 * Input: u8 flags | bytes.  flags bit 0 clear: the bytes are a manifest
 * plaintext; it is decoded directly, then sealed under the manifest key
 * into <state>/manifest and loaded through the store, which must agree.
 * flags bit 0 set: the bytes are written as the manifest file itself.
 * Invariants: decode accepts exactly 8 + count * entry bytes with valid
 * versions and no duplicate uuid or instance; decode -> encode is the
 * identity; the store's result equals the direct decode.
 */
#include "tests/fuzz/common.h"
#include "crypto/blobfmt.h"
#include "manager/store.h"
#include "util/err.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ENTRY_LEN (UUID_LEN + 4 + 1 + 8 * BLOB_COUNT + 8 + 8)

static const uint8_t master[32] = { 0x6d, 0x61, 0x6e, 0x69, 0x66, 1, 2, 3, 4, 5, 6, 7, 8, 9,
				    10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
				    25, 26, 27 };
static uint8_t key_m[32];
static struct store st;
static char mpath[4200];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];
	const char *dir = fz_scratch_dir("manifest");

	(void)argc;
	(void)argv;
	if (blobfmt_derive_key(master, NULL, key_m) != 0 ||
	    store_open(&st, dir, master, err, sizeof(err)) != 0)
		abort();
	snprintf(mpath, sizeof(mpath), "%s/manifest", dir);
	return 0;
}

static void
write_manifest(const uint8_t *p, size_t len)
{
	int fd = open(mpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	FZ_CHECK(fd >= 0, "create %s", mpath);
	FZ_CHECK(len == 0 || write(fd, p, len) == (ssize_t)len, "write");
	close(fd);
}

static void
same(const struct manifest *a, const struct manifest *b)
{
	FZ_CHECK(a->count == b->count && a->next_instance == b->next_instance, "header differs");
	FZ_CHECK(a->count == 0 || memcmp(a->e, b->e, a->count * sizeof(*a->e)) == 0,
		 "entries differ");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest m, l, m2;
	struct buf out, again;
	char err[512];
	uint8_t *p;
	size_t len;
	int r, rl;

	if (size < 1)
		return 0;
	len = size - 1;
	p = fz_dup(data + 1, len);

	if (data[0] & 1) {
		/* A hostile manifest file. */
		write_manifest(p, len);
		rl = store_manifest_load(&st, &l, err, sizeof(err));
		FZ_CHECK(rl == 0 || rl == VERR_CORRUPT || rl == VERR_IO || rl == VERR_NOMEM, "load %d (%s)",
			 rl, verr_str(rl));
		if (rl != 0)
			FZ_CHECK(l.count == 0 && l.e == NULL, "failed load left entries");
		manifest_free(&l);
		free(p);
		return 0;
	}

	r = manifest_decode(p, len, &m);
	if (r == 0) {
		int v2 = len >= 4 && be32_get(p) == MANIFEST_V2_MAGIC;

		/* A version 1 manifest is exactly its entries; version 2's
		 * entries may carry bytes this version skips. */
		FZ_CHECK(v2 || len == 8 + (size_t)m.count * ENTRY_LEN,
			 "decoded %u v1 entries from %zu bytes", m.count, len);
		for (uint32_t i = 0; i < m.count; i++) {
			FZ_CHECK(m.e[i].tpm_version == 1 || m.e[i].tpm_version == 2, "version");
			for (uint32_t j = 0; j < i; j++)
				FZ_CHECK(m.e[j].instance != m.e[i].instance &&
					 memcmp(m.e[j].uuid, m.e[i].uuid, UUID_LEN) != 0,
					 "duplicate entries %u and %u", j, i);
		}
		/* What we write (always version 2) reads back as what was
		 * read: every field of every entry. */
		buf_init(&out, SEAL_CT_MAX);
		FZ_CHECK(manifest_encode(&m, &out) == 0, "encode of a decoded manifest");
		FZ_CHECK(manifest_decode(out.d, out.len, &m2) == 0, "decode of our own encoding");
		FZ_CHECK(m2.count == m.count && m2.next_instance == m.next_instance,
			 "decode -> encode -> decode: count or next instance differs");
		for (uint32_t i = 0; i < m.count; i++) {
			const struct manifest_entry *a = &m.e[i], *b = &m2.e[i];

			FZ_CHECK(memcmp(a->uuid, b->uuid, UUID_LEN) == 0 && a->instance == b->instance &&
					 a->tpm_version == b->tpm_version &&
					 memcmp(a->gen, b->gen, sizeof(a->gen)) == 0 &&
					 a->created == b->created && a->updated == b->updated &&
					 a->flags == b->flags && a->owner_uid == b->owner_uid &&
					 a->owner_gid == b->owner_gid,
				 "decode -> encode -> decode: entry %u differs", i);
		}
		/* Canonical: our encoding re-encodes to the same bytes. */
		buf_init(&again, SEAL_CT_MAX);
		FZ_CHECK(manifest_encode(&m2, &again) == 0 && again.len == out.len &&
				 memcmp(again.d, out.d, out.len) == 0,
			 "our encoding is not canonical");
		buf_free(&again);
		manifest_free(&m2);
		buf_free(&out);
	} else {
		FZ_CHECK(r == VERR_FORMAT, "decode error %d", r);
		FZ_CHECK(m.count == 0 && m.e == NULL, "failed decode left entries");
	}

	/* The same plaintext through the store: sealed as we would write it. */
	buf_init(&out, SEAL_FILE_MAX);
	FZ_CHECK(blobfmt_seal(key_m, SEAL_KIND_MANIFEST, "manifest", NULL, 77, p, len, &out) == 0,
		 "seal");
	write_manifest(out.d, out.len);
	buf_free(&out);
	rl = store_manifest_load(&st, &l, err, sizeof(err));
	if (r == 0) {
		FZ_CHECK(rl == 0, "store refused a manifest that decodes: %s", err);
		FZ_CHECK(l.seq == 77, "sequence");
		same(&m, &l);
	} else {
		FZ_CHECK(rl == VERR_CORRUPT, "store accepted what decode refused (%d)", rl);
	}
	manifest_free(&l);
	manifest_free(&m);
	free(p);
	return 0;
}
