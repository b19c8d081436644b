/*
 * check_blobfmt.c - crypto/blobfmt: the sealed envelope and the manifest.
 * Every single-byte change and every truncation of a sealed file must be
 * refused (never opened, never a crash); a file for another vTPM, name or
 * kind is a MISMATCH; an edited generation or another master key is AUTH.
 */
#include "unit.h"
#include "crypto/aead.h"
#include "crypto/blobfmt.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t master1[32] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
				     0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00,
				     1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
static const uint8_t uuid_a[UUID_LEN] = { 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0x4a, 0xaa,
					  0x8a, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0x01 };
static const uint8_t uuid_b[UUID_LEN] = { 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0x4a, 0xaa,
					  0x8a, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0x02 };
static const uint8_t data1[] = "libtpms permanent state, pretend";

/* Offsets in an envelope whose name is namelen bytes long. */
#define OFF_VERSION 8
#define OFF_KIND 10
#define OFF_NAMELEN 11
#define OFF_NAME 12
#define OFF_UUID(nl) (12 + (nl))
#define OFF_GEN(nl) (28 + (nl))
#define OFF_NONCE(nl) (36 + (nl))
#define OFF_CTLEN(nl) (48 + (nl))
#define OFF_CT(nl) (52 + (nl))

static uint8_t key_a[32];

static void
setup(void)
{
	ck_assert_int_eq(blobfmt_derive_key(master1, uuid_a, key_a), 0);
}

/* Seals data1 as uuid_a's permall at generation 7 into out. */
static void
seal_permall(struct buf *out)
{
	buf_init(out, SEAL_FILE_MAX);
	ck_assert_int_eq(blobfmt_seal(key_a, SEAL_KIND_BLOB, "permall", uuid_a, 7, data1,
				      sizeof(data1), out), 0);
}

static int
open_permall(const uint8_t *f, size_t len, struct buf *pt, uint64_t *gen)
{
	return blobfmt_open(key_a, SEAL_KIND_BLOB, "permall", uuid_a, f, len, pt, gen);
}

START_TEST(test_names)
{
	ck_assert_int_eq(blob_index_of("permall", 7), BLOB_PERMALL);
	ck_assert_int_eq(blob_index_of("volatilestate", 13), BLOB_VOLATILE);
	ck_assert_int_eq(blob_index_of("savestate", 9), BLOB_SAVESTATE);
	ck_assert_int_eq(blob_index_of("permall", 6), -1);
	ck_assert_int_eq(blob_index_of("permallx", 8), -1);
	ck_assert_int_eq(blob_index_of("manifest", 8), -1);
	ck_assert_int_eq(blob_index_of("", 0), -1);
	ck_assert_int_eq(blob_index_of(NULL, 0), -1);
	ck_assert_str_eq(blob_name(BLOB_PERMALL), "permall");
	ck_assert_str_eq(blob_name(BLOB_VOLATILE), "volatilestate");
	ck_assert_str_eq(blob_name(BLOB_SAVESTATE), "savestate");
	ck_assert_ptr_null(blob_name(BLOB_COUNT));
	ck_assert_ptr_null(blob_name((enum blob_index)-1));
}
END_TEST

START_TEST(test_derive_key)
{
	uint8_t a1[32], a2[32], b[32], m[32], want[32];
	uint8_t info[8 + UUID_LEN];

	ck_assert_int_eq(blobfmt_derive_key(master1, uuid_a, a1), 0);
	ck_assert_int_eq(blobfmt_derive_key(master1, uuid_a, a2), 0);
	ck_assert_int_eq(blobfmt_derive_key(master1, uuid_b, b), 0);
	ck_assert_int_eq(blobfmt_derive_key(master1, NULL, m), 0);
	ck_assert_mem_eq(a1, a2, 32);
	ck_assert_int_ne(memcmp(a1, b, 32), 0);
	ck_assert_int_ne(memcmp(a1, m, 32), 0);
	/* Exactly the construction blobfmt.h documents. */
	memcpy(info, "blob-key", 8);
	memcpy(info + 8, uuid_a, UUID_LEN);
	ck_assert_int_eq(hkdf_sha256(master1, 32, (const uint8_t *)"vtpm-manager/v1", 15, info,
				     sizeof(info), want, 32), 0);
	ck_assert_mem_eq(a1, want, 32);
	ck_assert_int_eq(hkdf_sha256(master1, 32, (const uint8_t *)"vtpm-manager/v1", 15,
				     (const uint8_t *)"manifest-key", 12, want, 32), 0);
	ck_assert_mem_eq(m, want, 32);
}
END_TEST

START_TEST(test_round_trip)
{
	struct buf f, pt;
	uint64_t gen = 0;

	seal_permall(&f);
	ck_assert_uint_eq(f.len, OFF_CT(7) + sizeof(data1) + AEAD_TAG_LEN);
	ck_assert_mem_eq(f.d, SEAL_MAGIC, 8);
	ck_assert_uint_eq(be16_get(f.d + OFF_VERSION), SEAL_VERSION);
	ck_assert_uint_eq(f.d[OFF_KIND], SEAL_KIND_BLOB);
	ck_assert_uint_eq(f.d[OFF_NAMELEN], 7);
	ck_assert_mem_eq(f.d + OFF_NAME, "permall", 7);
	ck_assert_mem_eq(f.d + OFF_UUID(7), uuid_a, UUID_LEN);
	ck_assert_uint_eq(be64_get(f.d + OFF_GEN(7)), 7);
	ck_assert_uint_eq(be32_get(f.d + OFF_CTLEN(7)), sizeof(data1));

	buf_init(&pt, SEAL_CT_MAX);
	ck_assert_int_eq(buf_put_u8(&pt, 0x5a), 0); /* open appends */
	ck_assert_int_eq(open_permall(f.d, f.len, &pt, &gen), 0);
	ck_assert_uint_eq(gen, 7);
	ck_assert_uint_eq(pt.len, 1 + sizeof(data1));
	ck_assert_uint_eq(pt.d[0], 0x5a);
	ck_assert_mem_eq(pt.d + 1, data1, sizeof(data1));
	buf_free(&pt);
	buf_free(&f);
}
END_TEST

START_TEST(test_nonce_fresh)
{
	struct buf f1, f2;

	seal_permall(&f1);
	seal_permall(&f2);
	ck_assert_uint_eq(f1.len, f2.len);
	ck_assert_int_ne(memcmp(f1.d + OFF_NONCE(7), f2.d + OFF_NONCE(7), AEAD_NONCE_LEN), 0);
	buf_free(&f1);
	buf_free(&f2);
}
END_TEST

START_TEST(test_empty_and_max_plaintext)
{
	struct buf f, pt;
	uint8_t *big;
	uint64_t gen;

	buf_init(&f, SEAL_FILE_MAX);
	buf_init(&pt, SEAL_CT_MAX);
	ck_assert_int_eq(blobfmt_seal(key_a, SEAL_KIND_BLOB, "savestate", uuid_a, 0, NULL, 0, &f),
			 0);
	ck_assert_int_eq(blobfmt_open(key_a, SEAL_KIND_BLOB, "savestate", uuid_a, f.d, f.len, &pt,
				      &gen), 0);
	ck_assert_uint_eq(pt.len, 0);
	ck_assert_uint_eq(gen, 0);
	buf_free(&f);

	big = calloc(1, SEAL_CT_MAX + 1);
	ck_assert_ptr_nonnull(big);
	big[SEAL_CT_MAX - 1] = 0x77;
	buf_init(&f, SEAL_FILE_MAX);
	ck_assert_int_eq(blobfmt_seal(key_a, SEAL_KIND_BLOB, "volatilestate", uuid_a,
				      UINT64_MAX, big, SEAL_CT_MAX, &f), 0);
	ck_assert_uint_le(f.len, SEAL_FILE_MAX);
	ck_assert_int_eq(blobfmt_open(key_a, SEAL_KIND_BLOB, "volatilestate", uuid_a, f.d, f.len,
				      &pt, &gen), 0);
	ck_assert_uint_eq(gen, UINT64_MAX);
	ck_assert_uint_eq(pt.len, SEAL_CT_MAX);
	ck_assert_uint_eq(pt.d[SEAL_CT_MAX - 1], 0x77);
	buf_free(&f);
	buf_free(&pt);

	/* One byte over the limit is refused and out is left untouched. */
	buf_init(&f, SEAL_FILE_MAX + 100);
	ck_assert_int_eq(blobfmt_seal(key_a, SEAL_KIND_BLOB, "permall", uuid_a, 1, big,
				      SEAL_CT_MAX + 1, &f), VERR_INVAL);
	ck_assert_uint_eq(f.len, 0);
	buf_free(&f);
	free(big);
}
END_TEST

START_TEST(test_seal_bad_args)
{
	struct buf f;
	char longname[SEAL_NAME_MAX + 2];

	memset(longname, 'n', sizeof(longname));
	longname[SEAL_NAME_MAX + 1] = '\0';
	buf_init(&f, SEAL_FILE_MAX);
	ck_assert_int_eq(blobfmt_seal(key_a, 0, "permall", uuid_a, 1, data1, 4, &f),
			 VERR_INVAL);
	ck_assert_int_eq(blobfmt_seal(key_a, 4, "permall", uuid_a, 1, data1, 4, &f),
			 VERR_INVAL);
	ck_assert_int_eq(blobfmt_seal(key_a, SEAL_KIND_BLOB, "", uuid_a, 1, data1, 4, &f),
			 VERR_INVAL);
	ck_assert_int_eq(blobfmt_seal(key_a, SEAL_KIND_BLOB, NULL, uuid_a, 1, data1, 4, &f),
			 VERR_INVAL);
	ck_assert_int_eq(blobfmt_seal(key_a, SEAL_KIND_BLOB, longname, uuid_a, 1, data1, 4, &f),
			 VERR_INVAL);
	ck_assert_uint_eq(f.len, 0);
	/* A 32-byte name is the maximum, and fine. */
	longname[SEAL_NAME_MAX] = '\0';
	ck_assert_int_eq(blobfmt_seal(key_a, SEAL_KIND_BLOB, longname, uuid_a, 1, data1, 4, &f),
			 0);
	buf_free(&f);

	/* An output buffer too small: refused, unchanged. */
	buf_init(&f, OFF_CT(7) + 4 + AEAD_TAG_LEN - 1);
	ck_assert_int_eq(blobfmt_seal(key_a, SEAL_KIND_BLOB, "permall", uuid_a, 1, data1, 4, &f),
			 VERR_NOSPACE);
	ck_assert_uint_eq(f.len, 0);
	buf_free(&f);
}
END_TEST

START_TEST(test_flip_every_byte)
{
	struct buf f, pt;
	uint64_t gen;
	int r;

	seal_permall(&f);
	buf_init(&pt, SEAL_CT_MAX);
	for (size_t i = 0; i < f.len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			f.d[i] ^= (uint8_t)(1u << bit);
			gen = 12345;
			r = open_permall(f.d, f.len, &pt, &gen);
			ck_assert_msg(r == VERR_FORMAT || r == VERR_AUTH ||
					      r == VERR_MISMATCH,
				      "byte %zu bit %d: open returned %d", i, bit, r);
			ck_assert_uint_eq(pt.len, 0);
			ck_assert_uint_eq(gen, 12345);
			f.d[i] ^= (uint8_t)(1u << bit);
		}
	}
	/* Untouched again, it opens. */
	ck_assert_int_eq(open_permall(f.d, f.len, &pt, &gen), 0);
	buf_free(&pt);
	buf_free(&f);
}
END_TEST

START_TEST(test_field_errors)
{
	struct buf f, pt;
	uint64_t gen;

	seal_permall(&f);
	buf_init(&pt, SEAL_CT_MAX);
	/* Header fields that fail the parse. */
	f.d[0] ^= 1;
	ck_assert_int_eq(open_permall(f.d, f.len, &pt, &gen), VERR_FORMAT);
	f.d[0] ^= 1;
	f.d[OFF_VERSION + 1] = 2;
	ck_assert_int_eq(open_permall(f.d, f.len, &pt, &gen), VERR_FORMAT);
	f.d[OFF_VERSION + 1] = 1;
	f.d[OFF_KIND] = 4; /* no such kind */
	ck_assert_int_eq(open_permall(f.d, f.len, &pt, &gen), VERR_FORMAT);
	f.d[OFF_KIND] = SEAL_KIND_SECRET; /* a host secret is no blob */
	ck_assert_int_eq(open_permall(f.d, f.len, &pt, &gen), VERR_MISMATCH);
	f.d[OFF_KIND] = SEAL_KIND_BLOB;
	f.d[OFF_NAMELEN] = 0;
	ck_assert_int_eq(open_permall(f.d, f.len, &pt, &gen), VERR_FORMAT);
	f.d[OFF_NAMELEN] = SEAL_NAME_MAX + 1;
	ck_assert_int_eq(open_permall(f.d, f.len, &pt, &gen), VERR_FORMAT);
	f.d[OFF_NAMELEN] = 0xff;
	ck_assert_int_eq(open_permall(f.d, f.len, &pt, &gen), VERR_FORMAT);
	f.d[OFF_NAMELEN] = 7;
	be32_put(f.d + OFF_CTLEN(7), SEAL_CT_MAX + 1);
	ck_assert_int_eq(open_permall(f.d, f.len, &pt, &gen), VERR_FORMAT);
	be32_put(f.d + OFF_CTLEN(7), 0xffffffffu);
	ck_assert_int_eq(open_permall(f.d, f.len, &pt, &gen), VERR_FORMAT);
	be32_put(f.d + OFF_CTLEN(7), sizeof(data1) - 1);
	ck_assert_int_eq(open_permall(f.d, f.len, &pt, &gen), VERR_FORMAT);
	be32_put(f.d + OFF_CTLEN(7), sizeof(data1));

	/* Authenticated fields: an edited generation or nonce fails the tag. */
	f.d[OFF_GEN(7) + 7] = 8;
	ck_assert_int_eq(open_permall(f.d, f.len, &pt, &gen), VERR_AUTH);
	f.d[OFF_GEN(7) + 7] = 7;
	f.d[OFF_GEN(7)] = 0x80;
	ck_assert_int_eq(open_permall(f.d, f.len, &pt, &gen), VERR_AUTH);
	f.d[OFF_GEN(7)] = 0;
	f.d[OFF_NONCE(7)] ^= 1;
	ck_assert_int_eq(open_permall(f.d, f.len, &pt, &gen), VERR_AUTH);
	f.d[OFF_NONCE(7)] ^= 1;
	f.d[OFF_CT(7)] ^= 1;
	ck_assert_int_eq(open_permall(f.d, f.len, &pt, &gen), VERR_AUTH);
	f.d[OFF_CT(7)] ^= 1;
	f.d[f.len - 1] ^= 1;
	ck_assert_int_eq(open_permall(f.d, f.len, &pt, &gen), VERR_AUTH);
	f.d[f.len - 1] ^= 1;
	ck_assert_uint_eq(pt.len, 0);
	ck_assert_int_eq(open_permall(f.d, f.len, &pt, &gen), 0);
	buf_free(&pt);
	buf_free(&f);
}
END_TEST

START_TEST(test_truncated_and_extended)
{
	struct buf f, pt;
	uint8_t *longer;
	uint64_t gen;

	seal_permall(&f);
	buf_init(&pt, SEAL_CT_MAX);
	for (size_t len = 0; len < f.len; len++) {
		/* A private copy of exactly len bytes, so an overread would
		 * be seen by ASan and valgrind. */
		uint8_t *t = malloc(len ? len : 1);

		ck_assert_ptr_nonnull(t);
		memcpy(t, f.d, len);
		ck_assert_int_eq(open_permall(t, len, &pt, &gen), VERR_FORMAT);
		free(t);
	}
	longer = malloc(f.len + 1);
	ck_assert_ptr_nonnull(longer);
	memcpy(longer, f.d, f.len);
	longer[f.len] = 0;
	ck_assert_int_eq(open_permall(longer, f.len + 1, &pt, &gen), VERR_FORMAT);
	ck_assert_int_eq(open_permall(NULL, 0, &pt, &gen), VERR_FORMAT);
	ck_assert_int_eq(open_permall(longer, SEAL_FILE_MAX + 1, &pt, &gen), VERR_FORMAT);
	ck_assert_uint_eq(pt.len, 0);
	free(longer);
	buf_free(&pt);
	buf_free(&f);
}
END_TEST

START_TEST(test_mismatch)
{
	struct buf f, pt, m;
	uint8_t key_b[32], key_m[32];
	uint64_t gen;

	seal_permall(&f);
	buf_init(&pt, SEAL_CT_MAX);
	ck_assert_int_eq(blobfmt_derive_key(master1, uuid_b, key_b), 0);
	ck_assert_int_eq(blobfmt_derive_key(master1, NULL, key_m), 0);
	/* vTPM A's permall presented as B's, under B's key or A's. */
	ck_assert_int_eq(blobfmt_open(key_b, SEAL_KIND_BLOB, "permall", uuid_b, f.d, f.len, &pt,
				      &gen), VERR_MISMATCH);
	ck_assert_int_eq(blobfmt_open(key_a, SEAL_KIND_BLOB, "permall", uuid_b, f.d, f.len, &pt,
				      &gen), VERR_MISMATCH);
	/* Under another name. */
	ck_assert_int_eq(blobfmt_open(key_a, SEAL_KIND_BLOB, "savestate", uuid_a, f.d, f.len, &pt,
				      &gen), VERR_MISMATCH);
	ck_assert_int_eq(blobfmt_open(key_a, SEAL_KIND_BLOB, "permal", uuid_a, f.d, f.len, &pt,
				      &gen), VERR_MISMATCH);
	ck_assert_int_eq(blobfmt_open(key_a, SEAL_KIND_BLOB, "permall2", uuid_a, f.d, f.len, &pt,
				      &gen), VERR_MISMATCH);
	/* As the manifest. */
	ck_assert_int_eq(blobfmt_open(key_m, SEAL_KIND_MANIFEST, "manifest", NULL, f.d, f.len,
				      &pt, &gen), VERR_MISMATCH);
	ck_assert_int_eq(blobfmt_open(key_a, SEAL_KIND_MANIFEST, "permall", uuid_a, f.d, f.len,
				      &pt, &gen), VERR_MISMATCH);

	/* And the manifest presented as a blob. */
	buf_init(&m, SEAL_FILE_MAX);
	ck_assert_int_eq(blobfmt_seal(key_m, SEAL_KIND_MANIFEST, "manifest", NULL, 3, data1, 8,
				      &m), 0);
	ck_assert_int_eq(blobfmt_open(key_a, SEAL_KIND_BLOB, "permall", uuid_a, m.d, m.len, &pt,
				      &gen), VERR_MISMATCH);
	ck_assert_int_eq(blobfmt_open(key_m, SEAL_KIND_MANIFEST, "manifest", NULL, m.d, m.len,
				      &pt, &gen), 0);
	ck_assert_uint_eq(gen, 3);
	ck_assert_mem_eq(m.d + OFF_UUID(8), (uint8_t[UUID_LEN]){ 0 }, UUID_LEN);
	buf_free(&m);
	buf_free(&pt);
	buf_free(&f);
}
END_TEST

START_TEST(test_other_master)
{
	struct buf f, pt;
	uint8_t master2[32], key2[32];
	uint64_t gen;

	memcpy(master2, master1, 32);
	master2[31] ^= 1;
	ck_assert_int_eq(blobfmt_derive_key(master2, uuid_a, key2), 0);
	seal_permall(&f);
	buf_init(&pt, SEAL_CT_MAX);
	ck_assert_int_eq(blobfmt_open(key2, SEAL_KIND_BLOB, "permall", uuid_a, f.d, f.len, &pt,
				      &gen), VERR_AUTH);
	ck_assert_uint_eq(pt.len, 0);
	buf_free(&pt);
	buf_free(&f);
}
END_TEST

START_TEST(test_open_into_small_buf)
{
	struct buf f, pt;
	uint64_t gen;

	seal_permall(&f);
	buf_init(&pt, sizeof(data1) - 1);
	ck_assert_int_eq(open_permall(f.d, f.len, &pt, &gen), VERR_NOSPACE);
	ck_assert_uint_eq(pt.len, 0);
	buf_free(&pt);
	buf_free(&f);
}
END_TEST

/* --- manifest --- */

/* Version 2: a 12-byte header, entries of a u16 length and the fields. */
#define HDR 12
#define ENTRY_LEN (2 + MANIFEST_V2_ENTRY_MIN)
#define V1_ENTRY_LEN 61

static void
fill_entry(struct manifest_entry *e, uint32_t i)
{
	memset(e, 0, sizeof(*e));
	memcpy(e->uuid, uuid_a, UUID_LEN);
	be32_put(e->uuid + 12, i);
	e->instance = i + 1;
	e->tpm_version = (i & 1) ? 1 : 2;
	e->gen[BLOB_PERMALL] = 100 + i;
	e->gen[BLOB_VOLATILE] = 200 + i;
	e->gen[BLOB_SAVESTATE] = 0xffffffffffffffffull - i;
	e->created = 1700000000 + i;
	e->updated = 1800000000 + i;
	e->flags = MF_PRESENCE_KNOWN | MF_HAS(BLOB_PERMALL) | (i << 16);
	e->owner_uid = i == 0 ? MANIFEST_NO_OWNER : 1000 + i;
	e->owner_gid = i == 0 ? MANIFEST_NO_OWNER : 2000 + i;
}

static void
make_manifest(struct manifest *m, uint32_t n)
{
	m->seq = 99;
	m->next_instance = n + 1;
	m->count = n;
	m->e = n ? calloc(n, sizeof(*m->e)) : NULL;
	ck_assert(n == 0 || m->e != NULL);
	for (uint32_t i = 0; i < n; i++)
		fill_entry(&m->e[i], i);
}

START_TEST(test_manifest_round_trip)
{
	struct manifest m, d;
	struct buf b;

	make_manifest(&m, 3);
	buf_init(&b, SEAL_CT_MAX);
	ck_assert_int_eq(manifest_encode(&m, &b), 0);
	ck_assert_uint_eq(b.len, HDR + 3 * ENTRY_LEN);
	ck_assert_uint_eq(be32_get(b.d), MANIFEST_V2_MAGIC);
	ck_assert_uint_eq(be32_get(b.d + 4), 3);
	ck_assert_uint_eq(be32_get(b.d + 8), 4);
	ck_assert_int_eq(manifest_decode(b.d, b.len, &d), 0);
	ck_assert_uint_eq(d.count, 3);
	ck_assert_uint_eq(d.next_instance, 4);
	ck_assert_uint_eq(d.seq, 0); /* seq lives in the envelope, not here */
	for (uint32_t i = 0; i < 3; i++) {
		ck_assert_mem_eq(d.e[i].uuid, m.e[i].uuid, UUID_LEN);
		ck_assert_uint_eq(d.e[i].instance, m.e[i].instance);
		ck_assert_uint_eq(d.e[i].tpm_version, m.e[i].tpm_version);
		for (int g = 0; g < BLOB_COUNT; g++)
			ck_assert_uint_eq(d.e[i].gen[g], m.e[i].gen[g]);
		ck_assert_uint_eq(d.e[i].created, m.e[i].created);
		ck_assert_uint_eq(d.e[i].updated, m.e[i].updated);
		ck_assert_uint_eq(d.e[i].flags, m.e[i].flags);
		ck_assert_uint_eq(d.e[i].owner_uid, m.e[i].owner_uid);
		ck_assert_uint_eq(d.e[i].owner_gid, m.e[i].owner_gid);
	}
	manifest_free(&d);
	ck_assert_ptr_null(d.e);
	ck_assert_uint_eq(d.count, 0);
	manifest_free(&m);
	buf_free(&b);
}
END_TEST

START_TEST(test_manifest_empty)
{
	struct manifest m, d;
	struct buf b;

	make_manifest(&m, 0);
	buf_init(&b, 64);
	ck_assert_int_eq(manifest_encode(&m, &b), 0);
	ck_assert_uint_eq(b.len, HDR);
	ck_assert_int_eq(manifest_decode(b.d, b.len, &d), 0);
	ck_assert_uint_eq(d.count, 0);
	ck_assert_ptr_null(d.e);
	ck_assert_uint_eq(d.next_instance, 1);
	manifest_free(&d);
	buf_free(&b);
	ck_assert_int_eq(manifest_decode(NULL, 0, &d), VERR_FORMAT);
}
END_TEST

START_TEST(test_manifest_duplicates)
{
	struct manifest m, d;
	struct buf b;
	size_t e1;

	make_manifest(&m, 4);
	buf_init(&b, SEAL_CT_MAX);
	/* Duplicate UUID (not adjacent) is refused by both ends. */
	memcpy(m.e[3].uuid, m.e[0].uuid, UUID_LEN);
	ck_assert_int_eq(manifest_encode(&m, &b), VERR_INVAL);
	ck_assert_uint_eq(b.len, 0);
	fill_entry(&m.e[3], 3);
	/* Duplicate instance. */
	m.e[2].instance = m.e[0].instance;
	ck_assert_int_eq(manifest_encode(&m, &b), VERR_INVAL);
	ck_assert_uint_eq(b.len, 0);
	fill_entry(&m.e[2], 2);
	ck_assert_int_eq(manifest_encode(&m, &b), 0);

	/* Patch the encoding so decode sees the duplicates. */
	e1 = HDR + ENTRY_LEN + 2;
	memcpy(b.d + e1, b.d + HDR + 2, UUID_LEN);
	ck_assert_int_eq(manifest_decode(b.d, b.len, &d), VERR_FORMAT);
	ck_assert_ptr_null(d.e);
	memcpy(b.d + e1, m.e[1].uuid, UUID_LEN);
	ck_assert_int_eq(manifest_decode(b.d, b.len, &d), 0);
	manifest_free(&d);
	be32_put(b.d + HDR + 3 * ENTRY_LEN + 2 + UUID_LEN, m.e[0].instance);
	ck_assert_int_eq(manifest_decode(b.d, b.len, &d), VERR_FORMAT);
	be32_put(b.d + HDR + 3 * ENTRY_LEN + 2 + UUID_LEN, m.e[3].instance);
	/* And a TPM version that is neither 1 nor 2. */
	b.d[HDR + 2 + UUID_LEN + 4] = 3;
	ck_assert_int_eq(manifest_decode(b.d, b.len, &d), VERR_FORMAT);
	b.d[HDR + 2 + UUID_LEN + 4] = 0;
	ck_assert_int_eq(manifest_decode(b.d, b.len, &d), VERR_FORMAT);
	m.e[1].tpm_version = 0;
	buf_reset(&b);
	ck_assert_int_eq(manifest_encode(&m, &b), VERR_INVAL);
	manifest_free(&m);
	buf_free(&b);
}
END_TEST

START_TEST(test_manifest_count)
{
	struct manifest m, d;
	struct buf b;
	uint8_t hdr[8], hdr2[12];

	/* A count over the cap is refused on the header alone. */
	be32_put(hdr, MANIFEST_MAX_ENTRIES + 1);
	be32_put(hdr + 4, 1);
	ck_assert_int_eq(manifest_decode(hdr, sizeof(hdr), &d), VERR_FORMAT);
	be32_put(hdr, 0xffffffffu);
	ck_assert_int_eq(manifest_decode(hdr, sizeof(hdr), &d), VERR_FORMAT);
	/* A count that the bytes do not back. */
	be32_put(hdr, MANIFEST_MAX_ENTRIES);
	ck_assert_int_eq(manifest_decode(hdr, sizeof(hdr), &d), VERR_FORMAT);
	be32_put(hdr, 1);
	ck_assert_int_eq(manifest_decode(hdr, sizeof(hdr), &d), VERR_FORMAT);
	/* The same in version 2. */
	be32_put(hdr2, MANIFEST_V2_MAGIC);
	be32_put(hdr2 + 8, 1);
	be32_put(hdr2 + 4, MANIFEST_MAX_ENTRIES + 1);
	ck_assert_int_eq(manifest_decode(hdr2, sizeof(hdr2), &d), VERR_FORMAT);
	be32_put(hdr2 + 4, MANIFEST_MAX_ENTRIES);
	ck_assert_int_eq(manifest_decode(hdr2, sizeof(hdr2), &d), VERR_FORMAT);
	be32_put(hdr2 + 4, 1);
	ck_assert_int_eq(manifest_decode(hdr2, sizeof(hdr2), &d), VERR_FORMAT);

	m.count = MANIFEST_MAX_ENTRIES + 1;
	m.e = NULL;
	buf_init(&b, BUF_SIZE_MAX);
	ck_assert_int_eq(manifest_encode(&m, &b), VERR_INVAL);
	m.count = 1;
	ck_assert_int_eq(manifest_encode(&m, &b), VERR_INVAL);

	/* Exactly the cap round-trips (and the duplicate check copes). */
	make_manifest(&m, MANIFEST_MAX_ENTRIES);
	ck_assert_int_eq(manifest_encode(&m, &b), 0);
	ck_assert_uint_eq(b.len, HDR + (size_t)MANIFEST_MAX_ENTRIES * ENTRY_LEN);
	ck_assert_int_eq(manifest_decode(b.d, b.len, &d), 0);
	ck_assert_uint_eq(d.count, MANIFEST_MAX_ENTRIES);
	ck_assert_uint_eq(d.e[MANIFEST_MAX_ENTRIES - 1].instance, MANIFEST_MAX_ENTRIES);
	manifest_free(&d);
	/* The last entry duplicating the first is still found. */
	memcpy(b.d + HDR + (size_t)(MANIFEST_MAX_ENTRIES - 1) * ENTRY_LEN + 2, b.d + HDR + 2,
	       UUID_LEN);
	ck_assert_int_eq(manifest_decode(b.d, b.len, &d), VERR_FORMAT);
	manifest_free(&m);
	buf_free(&b);
}
END_TEST

/* A version 1 manifest (written before issue 9) is still read: no record
 * of which files exist, no owner. */
START_TEST(test_manifest_v1)
{
	struct manifest m, d;
	struct buf b;

	make_manifest(&m, 2);
	buf_init(&b, 4096);
	ck_assert_int_eq(buf_put_u32(&b, 2), 0);
	ck_assert_int_eq(buf_put_u32(&b, 3), 0);
	for (int i = 0; i < 2; i++) {
		const struct manifest_entry *e = &m.e[i];

		ck_assert_int_eq(buf_put_bytes(&b, e->uuid, UUID_LEN), 0);
		ck_assert_int_eq(buf_put_u32(&b, e->instance), 0);
		ck_assert_int_eq(buf_put_u8(&b, e->tpm_version), 0);
		for (int g = 0; g < BLOB_COUNT; g++)
			ck_assert_int_eq(buf_put_u64(&b, e->gen[g]), 0);
		ck_assert_int_eq(buf_put_u64(&b, e->created), 0);
		ck_assert_int_eq(buf_put_u64(&b, e->updated), 0);
	}
	ck_assert_uint_eq(b.len, 8 + 2 * V1_ENTRY_LEN);
	ck_assert_int_eq(manifest_decode(b.d, b.len, &d), 0);
	ck_assert_uint_eq(d.count, 2);
	ck_assert_uint_eq(d.next_instance, 3);
	for (int i = 0; i < 2; i++) {
		ck_assert_mem_eq(d.e[i].uuid, m.e[i].uuid, UUID_LEN);
		ck_assert_uint_eq(d.e[i].gen[BLOB_SAVESTATE], m.e[i].gen[BLOB_SAVESTATE]);
		ck_assert_uint_eq(d.e[i].updated, m.e[i].updated);
		ck_assert_uint_eq(d.e[i].flags, 0);
		ck_assert_uint_eq(d.e[i].owner_uid, MANIFEST_NO_OWNER);
		ck_assert_uint_eq(d.e[i].owner_gid, MANIFEST_NO_OWNER);
	}
	manifest_free(&d);
	/* One byte more or less is refused. */
	ck_assert_int_eq(manifest_decode(b.d, b.len - 1, &d), VERR_FORMAT);
	ck_assert_int_eq(buf_put_u8(&b, 0), 0);
	ck_assert_int_eq(manifest_decode(b.d, b.len, &d), VERR_FORMAT);
	manifest_free(&m);
	buf_free(&b);
}
END_TEST

/* Version 2 entries may grow: extra bytes are skipped; an entry shorter
 * than the fields this version knows is refused. */
START_TEST(test_manifest_v2_entry_len)
{
	struct manifest m, d;
	struct buf b, g;

	make_manifest(&m, 2);
	buf_init(&b, 4096);
	buf_init(&g, 4096);
	ck_assert_int_eq(manifest_encode(&m, &b), 0);
	/* Rebuild with 5 extra bytes in the first entry. */
	ck_assert_int_eq(buf_put_bytes(&g, b.d, HDR), 0);
	ck_assert_int_eq(buf_put_u16(&g, MANIFEST_V2_ENTRY_MIN + 5), 0);
	ck_assert_int_eq(buf_put_bytes(&g, b.d + HDR + 2, MANIFEST_V2_ENTRY_MIN), 0);
	ck_assert_int_eq(buf_put_bytes(&g, (const uint8_t *)"later", 5), 0);
	ck_assert_int_eq(buf_put_bytes(&g, b.d + HDR + ENTRY_LEN, ENTRY_LEN), 0);
	ck_assert_int_eq(manifest_decode(g.d, g.len, &d), 0);
	ck_assert_uint_eq(d.count, 2);
	ck_assert_uint_eq(d.e[0].owner_gid, m.e[0].owner_gid);
	ck_assert_uint_eq(d.e[1].owner_uid, m.e[1].owner_uid);
	manifest_free(&d);
	/* A length that claims more than there is, or less than the fields. */
	be16_put(g.d + HDR, MANIFEST_V2_ENTRY_MIN + 6 + ENTRY_LEN);
	ck_assert_int_eq(manifest_decode(g.d, g.len, &d), VERR_FORMAT);
	be16_put(b.d + HDR, MANIFEST_V2_ENTRY_MIN - 1);
	ck_assert_int_eq(manifest_decode(b.d, b.len, &d), VERR_FORMAT);
	manifest_free(&m);
	buf_free(&b);
	buf_free(&g);
}
END_TEST

START_TEST(test_manifest_truncated)
{
	struct manifest m, d;
	struct buf b;
	uint8_t *t;

	make_manifest(&m, 3);
	buf_init(&b, SEAL_CT_MAX);
	ck_assert_int_eq(manifest_encode(&m, &b), 0);
	for (size_t len = 0; len < b.len; len++) {
		t = malloc(len ? len : 1);
		ck_assert_ptr_nonnull(t);
		memcpy(t, b.d, len);
		ck_assert_int_eq(manifest_decode(t, len, &d), VERR_FORMAT);
		ck_assert_ptr_null(d.e);
		free(t);
	}
	ck_assert_int_eq(buf_put_u8(&b, 0), 0);
	ck_assert_int_eq(manifest_decode(b.d, b.len, &d), VERR_FORMAT);
	manifest_free(&m);
	buf_free(&b);
}
END_TEST

START_TEST(test_manifest_encode_no_room)
{
	struct manifest m;
	struct buf b;

	make_manifest(&m, 3);
	buf_init(&b, 8 + 3 * ENTRY_LEN - 1);
	ck_assert_int_eq(buf_put_u8(&b, 0xaa), 0);
	ck_assert_int_eq(manifest_encode(&m, &b), VERR_NOSPACE);
	ck_assert_uint_eq(b.len, 1);
	manifest_free(&m);
	buf_free(&b);
}
END_TEST

Suite *
blobfmt_suite(void)
{
	Suite *s = suite_create("blobfmt");
	TCase *tc = tcase_create("envelope");
	TCase *tm = tcase_create("manifest");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_derive_key);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_nonce_fresh);
	tcase_add_test(tc, test_empty_and_max_plaintext);
	tcase_add_test(tc, test_seal_bad_args);
	tcase_add_test(tc, test_flip_every_byte);
	tcase_add_test(tc, test_field_errors);
	tcase_add_test(tc, test_truncated_and_extended);
	tcase_add_test(tc, test_mismatch);
	tcase_add_test(tc, test_other_master);
	tcase_add_test(tc, test_open_into_small_buf);
	suite_add_tcase(s, tc);

	tcase_set_timeout(tm, 60);
	tcase_add_test(tm, test_manifest_round_trip);
	tcase_add_test(tm, test_manifest_empty);
	tcase_add_test(tm, test_manifest_duplicates);
	tcase_add_test(tm, test_manifest_count);
	tcase_add_test(tm, test_manifest_truncated);
	tcase_add_test(tm, test_manifest_v1);
	tcase_add_test(tm, test_manifest_v2_entry_len);
	tcase_add_test(tm, test_manifest_encode_no_room);
	suite_add_tcase(s, tm);
	return s;
}
