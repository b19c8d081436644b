/*
 * blobfmt.c - the sealed envelope and the manifest encoding; see blobfmt.h
 * for the byte layout.  Pure functions, no I/O.  Trusts nothing it parses:
 * every field is read through the buf cursor API, every length is bounded
 * before it is used, and the whole input must be consumed exactly.
 */
#include "blobfmt.h"
#include "aead.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#define SEAL_MAGIC_LEN 8
/* magic, version, kind, namelen, (name), uuid, gen, nonce, ctlen */
#define SEAL_HDR_FIXED (SEAL_MAGIC_LEN + 2 + 1 + 1 + UUID_LEN + 8 + AEAD_NONCE_LEN + 4)
/* version 1: uuid, instance, tpm_version, gen[3], created, updated */
#define MANIFEST_V1_ENTRY_LEN (UUID_LEN + 4 + 1 + 8 * BLOB_COUNT + 8 + 8)

static const char *const blob_names[BLOB_COUNT] = {
	[BLOB_PERMALL] = "permall",
	[BLOB_VOLATILE] = "volatilestate",
	[BLOB_SAVESTATE] = "savestate",
};

static const uint8_t nil_uuid[UUID_LEN];

int
blob_index_of(const char *name, size_t len)
{
	if (name == NULL)
		return -1;
	for (int i = 0; i < BLOB_COUNT; i++) {
		if (strlen(blob_names[i]) == len && memcmp(blob_names[i], name, len) == 0)
			return i;
	}
	return -1;
}

const char *
blob_name(enum blob_index i)
{
	if ((unsigned)i >= BLOB_COUNT)
		return NULL;
	return blob_names[i];
}

int
blobfmt_derive_key(const uint8_t master[32], const uint8_t *uuid, uint8_t out[32])
{
	static const uint8_t salt[] = "vtpm-manager/v1";
	static const char blob_info[] = "blob-key";
	static const char manifest_info[] = "manifest-key";
	uint8_t info[sizeof(blob_info) - 1 + UUID_LEN];
	size_t infolen;
	int r;

	/* Salt and info strings are used without their terminating NUL. */
	if (uuid != NULL) {
		memcpy(info, blob_info, sizeof(blob_info) - 1);
		memcpy(info + sizeof(blob_info) - 1, uuid, UUID_LEN);
		infolen = sizeof(info);
	} else {
		memcpy(info, manifest_info, sizeof(manifest_info) - 1);
		infolen = sizeof(manifest_info) - 1;
	}
	r = hkdf_sha256(master, 32, salt, sizeof(salt) - 1, info, infolen, out, 32);
	return r == 0 ? 0 : VERR_CRYPTO;
}

static int
kind_valid(uint8_t kind)
{
	return kind == SEAL_KIND_BLOB || kind == SEAL_KIND_MANIFEST || kind == SEAL_KIND_SECRET;
}

/*
 * Takes back the last n bytes this module appended to b, wiping them.  buf.h
 * has no "unreserve", and a failed seal or open must leave the caller's
 * buffer as it found it.
 */
static void
buf_drop_tail(struct buf *b, size_t n)
{
	OPENSSL_cleanse(b->d + b->len - n, n);
	b->len -= n;
}

int
blobfmt_seal(const uint8_t key[32], uint8_t kind, const char *name,
	     const uint8_t uuid[UUID_LEN], uint64_t gen, const uint8_t *pt, size_t ptlen,
	     struct buf *out)
{
	uint8_t nonce[AEAD_NONCE_LEN], *p, *hdr;
	size_t namelen, hdrlen, total;
	int r;

	if (name == NULL || !kind_valid(kind))
		return VERR_INVAL;
	namelen = strlen(name);
	if (namelen == 0 || namelen > SEAL_NAME_MAX || ptlen > SEAL_CT_MAX)
		return VERR_INVAL;
	if (uuid == NULL)
		uuid = nil_uuid;
	hdrlen = SEAL_HDR_FIXED + namelen;
	total = hdrlen + ptlen + AEAD_TAG_LEN;
	if (crypto_random(nonce, sizeof(nonce)) != 0)
		return VERR_CRYPTO;

	/* One reservation for the whole envelope, so a failure part way
	 * cannot leave half a header behind in out. */
	if ((r = buf_reserve(out, total, &p)) != 0)
		return r;
	hdr = p;
	memcpy(p, SEAL_MAGIC, SEAL_MAGIC_LEN);
	p += SEAL_MAGIC_LEN;
	be16_put(p, SEAL_VERSION);
	p += 2;
	*p++ = kind;
	*p++ = (uint8_t)namelen;
	memcpy(p, name, namelen);
	p += namelen;
	memcpy(p, uuid, UUID_LEN);
	p += UUID_LEN;
	be64_put(p, gen);
	p += 8;
	memcpy(p, nonce, AEAD_NONCE_LEN);
	p += AEAD_NONCE_LEN;
	be32_put(p, (uint32_t)ptlen);
	p += 4;
	/* The AAD is the header just written: magic through ctlen. */
	if (aead_seal(key, nonce, hdr, hdrlen, pt, ptlen, p, p + ptlen) != 0) {
		buf_drop_tail(out, total);
		return VERR_CRYPTO;
	}
	return 0;
}

int
blobfmt_open(const uint8_t key[32], uint8_t kind, const char *name,
	     const uint8_t uuid[UUID_LEN], const uint8_t *file, size_t filelen, struct buf *pt,
	     uint64_t *gen)
{
	struct buf b;
	uint8_t magic[SEAL_MAGIC_LEN], fkind, namelen, *dst, empty[1];
	const uint8_t *fname, *fuuid, *nonce, *ct, *tag;
	uint16_t version;
	uint32_t ctlen;
	uint64_t fgen;
	size_t hdrlen, explen;
	int r;

	if (name == NULL || file == NULL || filelen > SEAL_FILE_MAX)
		return VERR_FORMAT;
	if (uuid == NULL)
		uuid = nil_uuid;
	explen = strlen(name);

	buf_init_reader(&b, file, filelen);
	if (buf_get_bytes(&b, magic, sizeof(magic)) != 0 ||
	    memcmp(magic, SEAL_MAGIC, SEAL_MAGIC_LEN) != 0)
		return VERR_FORMAT;
	if (buf_get_u16(&b, &version) != 0 || version != SEAL_VERSION)
		return VERR_FORMAT;
	if (buf_get_u8(&b, &fkind) != 0 || !kind_valid(fkind))
		return VERR_FORMAT;
	if (buf_get_u8(&b, &namelen) != 0 || namelen == 0 || namelen > SEAL_NAME_MAX)
		return VERR_FORMAT;
	if (buf_get_direct(&b, &fname, namelen) != 0 ||
	    buf_get_direct(&b, &fuuid, UUID_LEN) != 0 ||
	    buf_get_u64(&b, &fgen) != 0 ||
	    buf_get_direct(&b, &nonce, AEAD_NONCE_LEN) != 0 ||
	    buf_get_u32(&b, &ctlen) != 0)
		return VERR_FORMAT;
	if (ctlen > SEAL_CT_MAX)
		return VERR_FORMAT;
	hdrlen = b.off;
	if (buf_get_direct(&b, &ct, ctlen) != 0 ||
	    buf_get_direct(&b, &tag, AEAD_TAG_LEN) != 0 || buf_avail(&b) != 0)
		return VERR_FORMAT;

	/*
	 * kind, name and uuid are in the AAD, so a file carrying other values
	 * could never authenticate under this vTPM's key anyway; checking them
	 * first tells the operator "this file belongs elsewhere" instead of
	 * "tampered".  Nothing else is decided on these unauthenticated bytes.
	 */
	if (fkind != kind || namelen != explen || memcmp(fname, name, explen) != 0 ||
	    memcmp(fuuid, uuid, UUID_LEN) != 0)
		return VERR_MISMATCH;

	/* An empty plaintext reserves nothing: pt may still have no storage,
	 * and there is nothing to point into. */
	dst = empty;
	if (ctlen != 0 && (r = buf_reserve(pt, ctlen, &dst)) != 0)
		return r;
	r = aead_open(key, nonce, file, hdrlen, ct, ctlen, tag, dst);
	if (r != 0) {
		if (ctlen != 0)
			buf_drop_tail(pt, ctlen);
		return r == VERR_AUTH ? VERR_AUTH : VERR_CRYPTO;
	}
	*gen = fgen;
	return 0;
}

/* Orders 16-byte UUIDs, or u32 instances, for the duplicate check. */
static int
cmp_uuid(const void *a, const void *b)
{
	return memcmp(a, b, UUID_LEN);
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * 0 when no two entries share a UUID or an instance.  Sorting copies keeps
 * this O(n log n) at MANIFEST_MAX_ENTRIES, where pairwise would not be.
 */
static int
entries_unique(const struct manifest_entry *e, uint32_t n)
{
	uint8_t (*u)[UUID_LEN];
	uint32_t *inst;
	int r = VERR_NOMEM;

	if (n < 2)
		return 0;
	u = calloc(n, UUID_LEN);
	inst = calloc(n, sizeof(*inst));
	if (u == NULL || inst == NULL)
		goto out;
	for (uint32_t i = 0; i < n; i++) {
		memcpy(u[i], e[i].uuid, UUID_LEN);
		inst[i] = e[i].instance;
	}
	qsort(u, n, UUID_LEN, cmp_uuid);
	qsort(inst, n, sizeof(*inst), cmp_u32);
	r = 0;
	for (uint32_t i = 1; i < n; i++) {
		if (memcmp(u[i - 1], u[i], UUID_LEN) == 0 || inst[i - 1] == inst[i]) {
			r = VERR_FORMAT;
			break;
		}
	}
out:
	free(u);
	free(inst);
	return r;
}

static int
tpm_version_valid(uint8_t v)
{
	return v == 1 || v == 2;
}

int
manifest_encode(const struct manifest *m, struct buf *out)
{
	size_t start = out->len, total;
	int r;

	if (m->count > MANIFEST_MAX_ENTRIES || (m->count != 0 && m->e == NULL))
		return VERR_INVAL;
	/* Never write what manifest_decode would refuse to read back. */
	for (uint32_t i = 0; i < m->count; i++)
		if (!tpm_version_valid(m->e[i].tpm_version))
			return VERR_INVAL;
	if ((r = entries_unique(m->e, m->count)) != 0)
		return r == VERR_FORMAT ? VERR_INVAL : r;
	total = 12 + (size_t)m->count * (2 + MANIFEST_V2_ENTRY_MIN);
	if (total > out->max || out->len > out->max - total)
		return VERR_NOSPACE;

	if (buf_put_u32(out, MANIFEST_V2_MAGIC) != 0 || buf_put_u32(out, m->count) != 0 ||
	    buf_put_u32(out, m->next_instance) != 0)
		goto fail;
	for (uint32_t i = 0; i < m->count; i++) {
		const struct manifest_entry *e = &m->e[i];

		if (buf_put_u16(out, MANIFEST_V2_ENTRY_MIN) != 0 ||
		    buf_put_bytes(out, e->uuid, UUID_LEN) != 0 ||
		    buf_put_u32(out, e->instance) != 0 || buf_put_u8(out, e->tpm_version) != 0)
			goto fail;
		for (int g = 0; g < BLOB_COUNT; g++)
			if (buf_put_u64(out, e->gen[g]) != 0)
				goto fail;
		if (buf_put_u64(out, e->created) != 0 || buf_put_u64(out, e->updated) != 0 ||
		    buf_put_u32(out, e->flags) != 0 || buf_put_u32(out, e->owner_uid) != 0 ||
		    buf_put_u32(out, e->owner_gid) != 0)
			goto fail;
	}
	return 0;
fail:
	buf_drop_tail(out, out->len - start);
	return VERR_NOMEM;
}

/* The fields both versions share, from b; 0 or VERR_FORMAT. */
static int
entry_common(struct buf *b, struct manifest_entry *e)
{
	if (buf_get_bytes(b, e->uuid, UUID_LEN) != 0 || buf_get_u32(b, &e->instance) != 0 ||
	    buf_get_u8(b, &e->tpm_version) != 0 || !tpm_version_valid(e->tpm_version))
		return VERR_FORMAT;
	for (int g = 0; g < BLOB_COUNT; g++)
		if (buf_get_u64(b, &e->gen[g]) != 0)
			return VERR_FORMAT;
	if (buf_get_u64(b, &e->created) != 0 || buf_get_u64(b, &e->updated) != 0)
		return VERR_FORMAT;
	return 0;
}

int
manifest_decode(const uint8_t *p, size_t len, struct manifest *m)
{
	struct buf b, eb;
	struct manifest_entry *e = NULL;
	const uint8_t *ep;
	uint32_t count, next, first;
	uint16_t elen;
	int r, v2;

	memset(m, 0, sizeof(*m));
	if (p == NULL && len != 0)
		return VERR_FORMAT;
	buf_init_reader(&b, p, len);
	if (buf_get_u32(&b, &first) != 0)
		return VERR_FORMAT;
	v2 = first == MANIFEST_V2_MAGIC;
	if (v2 ? buf_get_u32(&b, &count) != 0 : (count = first, 0))
		return VERR_FORMAT;
	if (buf_get_u32(&b, &next) != 0)
		return VERR_FORMAT;
	/* Check the size before allocating, so a short input cannot make us
	 * allocate for 65536 entries: exact for version 1, a lower bound for
	 * version 2 (entries may grow). */
	if (count > MANIFEST_MAX_ENTRIES ||
	    (!v2 && buf_avail(&b) != (size_t)count * MANIFEST_V1_ENTRY_LEN) ||
	    (v2 && buf_avail(&b) < (size_t)count * (2 + MANIFEST_V2_ENTRY_MIN)))
		return VERR_FORMAT;
	if (count != 0 && (e = calloc(count, sizeof(*e))) == NULL)
		return VERR_NOMEM;
	for (uint32_t i = 0; i < count; i++) {
		if (!v2) {
			if ((r = entry_common(&b, &e[i])) != 0)
				goto fail;
			e[i].flags = 0; /* which state files exist is not recorded */
			e[i].owner_uid = e[i].owner_gid = MANIFEST_NO_OWNER;
			continue;
		}
		r = VERR_FORMAT;
		if (buf_get_u16(&b, &elen) != 0 || elen < MANIFEST_V2_ENTRY_MIN ||
		    buf_get_direct(&b, &ep, elen) != 0)
			goto fail;
		buf_init_reader(&eb, ep, elen);
		if (entry_common(&eb, &e[i]) != 0 || buf_get_u32(&eb, &e[i].flags) != 0 ||
		    buf_get_u32(&eb, &e[i].owner_uid) != 0 || buf_get_u32(&eb, &e[i].owner_gid) != 0)
			goto fail;
		/* Bytes a later version added to the entry are not ours. */
	}
	if (buf_avail(&b) != 0) {
		r = VERR_FORMAT;
		goto fail;
	}
	if ((r = entries_unique(e, count)) != 0)
		goto fail;
	m->count = count;
	m->next_instance = next;
	m->e = e;
	return 0;
fail:
	free(e);
	return r;
}

void
manifest_free(struct manifest *m)
{
	if (m == NULL)
		return;
	free(m->e);
	memset(m, 0, sizeof(*m));
}
