/*
 * fuzz_blob.c - crypto/blobfmt.c blobfmt_open(), the parser of every sealed
 * file in the state directory, and manager/store.c's store_blob_load()
 * around it (file read, rollback floor).
 *
 * Input: u8 flags | file bytes.  flags:
 *   bits 0-1  expectation: kind/name/uuid the caller asks for
 *   bit 2     "reseal": when the bytes have the shape of an envelope, the
 *             harness replaces ciphertext and tag with a valid encryption
 *             under the expected key, so the fuzzer also reaches everything
 *             after authentication (mismatch checks, plaintext, generation)
 *   bit 3     also write the file into a state directory and load it with
 *             store_blob_load()
 * Invariants: success only for a file that is exactly header + ct + tag,
 * with the asked-for kind, name and uuid; the plaintext is the one sealed;
 * a failed open leaves the caller's buffer as it was; seal -> open is the
 * identity.
 */
#include "tests/fuzz/common.h"
#include "crypto/aead.h"
#include "crypto/blobfmt.h"
#include "manager/store.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HDR_FIXED (8 + 2 + 1 + 1 + UUID_LEN + 8 + AEAD_NONCE_LEN + 4)

static const uint8_t master[32] = { 0x6d, 0x61, 0x73, 0x74, 0x65, 0x72, 1, 2, 3, 4, 5, 6, 7,
				    8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
				    23, 24, 25, 26 };
static const uint8_t uuid_a[UUID_LEN] = { 0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x43, 0x33,
					  0x84, 0x44, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55 };
static const uint8_t uuid_b[UUID_LEN] = { 0x11, 0x11, 0x11, 0x12, 0x22, 0x22, 0x43, 0x33,
					  0x84, 0x44, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55 };
static uint8_t key_a[32], key_m[32];
static struct store st;
static char vdir[4200];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256], text[UUID_STR_LEN];
	const char *dir = fz_scratch_dir("blob");

	(void)argc;
	(void)argv;
	if (blobfmt_derive_key(master, uuid_a, key_a) != 0 ||
	    blobfmt_derive_key(master, NULL, key_m) != 0)
		abort();
	if (store_open(&st, dir, master, err, sizeof(err)) != 0 ||
	    store_vtpm_create(&st, uuid_a) != 0) {
		fprintf(stderr, "store: %s\n", err);
		abort();
	}
	uuid_format(uuid_a, text);
	snprintf(vdir, sizeof(vdir), "%s/vtpm/%s", dir, text);
	return 0;
}

/* Re-encrypts the ciphertext field in place under key, with the header as
 * AAD, when file has the shape of an envelope. */
static void
reseal(uint8_t *file, size_t len, const uint8_t key[32])
{
	size_t namelen, hdrlen, ctlen;

	if (len < HDR_FIXED + 1)
		return;
	namelen = file[11];
	hdrlen = HDR_FIXED + namelen;
	if (len < hdrlen + AEAD_TAG_LEN)
		return;
	ctlen = len - hdrlen - AEAD_TAG_LEN;
	/* Keep the ctlen field consistent half the time, as written. */
	if (file[hdrlen - 1] & 0x80)
		be32_put(file + hdrlen - 4, (uint32_t)ctlen);
	if (aead_seal(key, file + hdrlen - 4 - AEAD_NONCE_LEN, file, hdrlen, file + hdrlen, ctlen,
		      file + hdrlen, file + len - AEAD_TAG_LEN) != 0)
		abort();
}

/* What blobfmt_open must accept: exactly the documented layout with the
 * caller's kind, name and uuid (authenticity aside). */
static int
well_formed(const uint8_t *f, size_t len, uint8_t kind, const char *name, const uint8_t *uuid)
{
	static const uint8_t nil[UUID_LEN];
	size_t nl = strlen(name), hdrlen = HDR_FIXED + nl;

	if (len > SEAL_FILE_MAX || len < hdrlen + AEAD_TAG_LEN)
		return 0;
	return memcmp(f, SEAL_MAGIC, 8) == 0 && be16_get(f + 8) == SEAL_VERSION && f[10] == kind &&
	       f[11] == nl && memcmp(f + 12, name, nl) == 0 &&
	       memcmp(f + 12 + nl, uuid != NULL ? uuid : nil, UUID_LEN) == 0 &&
	       be32_get(f + hdrlen - 4) == len - hdrlen - AEAD_TAG_LEN &&
	       len - hdrlen - AEAD_TAG_LEN <= SEAL_CT_MAX;
}

static void
open_one(const uint8_t *file, size_t len, int sel, int resealed, const uint8_t *pt_expect)
{
	static const char *const names[] = { "permall", "volatilestate", "savestate",
					     "manifest" };
	const char *name = names[sel & 3];
	uint8_t kind = (sel & 3) == 3 ? SEAL_KIND_MANIFEST : SEAL_KIND_BLOB;
	const uint8_t *uuid = kind == SEAL_KIND_MANIFEST ? NULL : uuid_a;
	const uint8_t *key = kind == SEAL_KIND_MANIFEST ? key_m : key_a;
	int ok = well_formed(file, len, kind, name, uuid);
	struct buf pt;
	uint64_t gen = 0;
	int r;

	buf_init(&pt, SEAL_CT_MAX);
	FZ_CHECK(buf_put_bytes(&pt, "pre", 3) == 0, "prefill");
	r = blobfmt_open(key, kind, name, uuid, file, len, &pt, &gen);
	if (r == 0) {
		size_t nl = strlen(name), ctlen = len - HDR_FIXED - nl - AEAD_TAG_LEN;

		FZ_CHECK(ok, "opened a file that is not exactly the documented layout");
		FZ_CHECK(gen == be64_get(file + 12 + nl + UUID_LEN), "generation");
		FZ_CHECK(pt.len == 3 + ctlen && memcmp(pt.d, "pre", 3) == 0, "plaintext length");
		if (resealed && pt_expect != NULL)
			FZ_CHECK(ctlen == 0 || memcmp(pt.d + 3, pt_expect, ctlen) == 0, "plaintext");
	} else {
		FZ_CHECK(r == VERR_FORMAT || r == VERR_AUTH || r == VERR_MISMATCH,
			 "unexpected error %d", r);
		FZ_CHECK(pt.len == 3 && memcmp(pt.d, "pre", 3) == 0, "failed open changed pt");
		FZ_CHECK(!(resealed && ok), "authentic, well-formed file refused (%d)", r);
	}
	buf_free(&pt);
}

static void
store_load(const uint8_t *file, size_t len, int sel)
{
	static const char *const names[] = { "permall", "volatilestate", "savestate" };
	const char *name = names[sel % 3];
	char path[4300], err[512];
	struct buf out;
	uint64_t gen = 0;
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s", vdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FZ_CHECK(fd >= 0, "cannot create %s", path);
	FZ_CHECK(len == 0 || write(fd, file, len) == (ssize_t)len, "write");
	close(fd);
	buf_init(&out, SEAL_CT_MAX);
	r = store_blob_load(&st, uuid_a, name, (uint64_t)(sel >> 2), &out, &gen, err, sizeof(err));
	FZ_CHECK(r == 0 || r == VERR_CORRUPT || r == VERR_ROLLBACK || r == VERR_IO,
		 "store_blob_load %d", r);
	if (r == 0)
		FZ_CHECK(gen >= (uint64_t)(sel >> 2), "rollback floor ignored");
	else
		FZ_CHECK(out.len == 0, "failed load wrote to out");
	buf_free(&out);
	(void)unlink(path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t flags, *file, *orig;
	size_t len;

	if (size < 1)
		return 0;
	flags = data[0];
	len = size - 1;
	file = fz_dup(data + 1, len);
	orig = NULL;
	if (flags & 4) {
		int sel = flags & 3;
		orig = fz_dup(file, len);
		reseal(file, len, sel == 3 ? key_m : key_a);
	}
	/* The expected plaintext of a resealed file is what stood in the ct
	 * field before: at the same offset in orig. */
	{
		size_t off = len > 11 ? (size_t)HDR_FIXED + file[11] : len;
		open_one(file, len, flags & 3, orig != NULL,
			 orig != NULL && off <= len ? orig + off : NULL);
		open_one(file, len, (flags & 3) ^ 1, 0, NULL);
	}
	if (flags & 8)
		store_load(file, len, flags >> 4);

	/* seal -> open round trip of the input as plaintext. */
	if (flags & 0x40) {
		struct buf sealed, pt;
		uint64_t gen = 0;

		buf_init(&sealed, SEAL_FILE_MAX);
		buf_init(&pt, SEAL_CT_MAX);
		FZ_CHECK(blobfmt_seal(key_a, SEAL_KIND_BLOB, "savestate", uuid_a, len, data + 1, len,
				      &sealed) == 0, "seal");
		FZ_CHECK(blobfmt_open(key_a, SEAL_KIND_BLOB, "savestate", uuid_a, sealed.d,
				      sealed.len, &pt, &gen) == 0, "open of a fresh seal");
		FZ_CHECK(gen == len && pt.len == len && (len == 0 || memcmp(pt.d, data + 1, len) == 0),
			 "round trip");
		FZ_CHECK(blobfmt_open(key_a, SEAL_KIND_BLOB, "savestate", uuid_b, sealed.d,
				      sealed.len, &pt, &gen) == VERR_MISMATCH, "uuid mismatch");
		buf_free(&sealed);
		buf_free(&pt);
	}
	free(orig);
	free(file);
	return 0;
}
