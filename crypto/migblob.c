/*
 * migblob.c - the migration envelope; see migblob.h for the byte layout.
 * Pure functions, no I/O.  Trusts nothing it parses: every field is read
 * through the buf cursor API, the length is bounded before it is used, and
 * the whole input must be consumed exactly.
 */
#include "migblob.h"
#include "aead.h"

#include <string.h>
#include <openssl/crypto.h>

#define MIGBLOB_MAGIC_LEN 8

static int
derive(const uint8_t *ikm, const char *info, uint8_t out[MIGBLOB_KEY_LEN])
{
	/* Same salt as the storage keys (blobfmt.c); the info keeps the
	 * families apart.  Both used without their NUL. */
	static const uint8_t salt[] = "vtpm-manager/v1";

	if (hkdf_sha256(ikm, MIGBLOB_KEY_LEN, salt, sizeof(salt) - 1, (const uint8_t *)info,
			strlen(info), out, MIGBLOB_KEY_LEN) != 0)
		return VERR_CRYPTO;
	return 0;
}

int
migblob_derive_key(const uint8_t migration_key[MIGBLOB_KEY_LEN], uint8_t out[MIGBLOB_KEY_LEN])
{
	return derive(migration_key, "migration-key", out);
}

int
migblob_derive_host_key(const uint8_t master[32], uint8_t out[MIGBLOB_KEY_LEN])
{
	return derive(master, "state-blob-key", out);
}

size_t
migblob_wrapped_len(size_t ptlen)
{
	return ptlen + MIGBLOB_OVERHEAD;
}

static int
type_valid(uint8_t type)
{
	return type >= MIGBLOB_TYPE_PERMANENT && type <= MIGBLOB_TYPE_SAVESTATE;
}

/* Takes back the last n bytes appended to b, wiping them (see blobfmt.c). */
static void
buf_drop_tail(struct buf *b, size_t n)
{
	OPENSSL_cleanse(b->d + b->len - n, n);
	b->len -= n;
}

int
migblob_wrap(const struct migblob_keys *k, uint8_t type, const uint8_t uuid[UUID_LEN],
	     uint64_t gen, const uint8_t *pt, size_t ptlen, struct buf *out)
{
	const uint8_t *key;
	uint8_t *p, *nonce, *ct;
	size_t total;
	int r;

	if (k == NULL || !type_valid(type) || uuid == NULL || pt == NULL || ptlen == 0 ||
	    ptlen > MIGBLOB_PT_MAX)
		return VERR_INVAL;
	key = k->migration != NULL ? k->migration : k->host;
	if (key == NULL)
		return VERR_INVAL;
	total = migblob_wrapped_len(ptlen);
	/* One reservation, so a failure cannot leave half an envelope. */
	if ((r = buf_reserve(out, total, &p)) != 0)
		return r;
	memcpy(p, MIGBLOB_MAGIC, MIGBLOB_MAGIC_LEN);
	be16_put(p + 8, MIGBLOB_VERSION);
	p[10] = type;
	p[11] = k->migration != NULL ? MIGBLOB_FLAG_MIGKEY : MIGBLOB_FLAG_HOSTKEY;
	memcpy(p + 12, uuid, UUID_LEN);
	be64_put(p + 28, gen);
	be32_put(p + 36, (uint32_t)ptlen);
	nonce = p + MIGBLOB_HDR_LEN;
	ct = nonce + AEAD_NONCE_LEN;
	if (crypto_random(nonce, AEAD_NONCE_LEN) != 0 ||
	    aead_seal(key, nonce, p, MIGBLOB_HDR_LEN, pt, ptlen, ct, ct + ptlen) != 0) {
		buf_drop_tail(out, total);
		return VERR_CRYPTO;
	}
	return 0;
}

int
migblob_unwrap(const struct migblob_keys *k, uint8_t type, const uint8_t uuid[UUID_LEN],
	       const uint8_t *env, size_t len, struct buf *pt, uint64_t *gen, uint8_t *flags)
{
	struct buf b;
	uint8_t magic[MIGBLOB_MAGIC_LEN], ftype, fflags, *dst;
	const uint8_t *fuuid, *nonce, *body, *tag, *key;
	uint16_t version;
	uint64_t fgen = 0;
	uint32_t n;
	size_t hlen;
	int r;

	if (k == NULL || env == NULL || uuid == NULL || !type_valid(type))
		return VERR_FORMAT;
	buf_init_reader(&b, env, len);
	if (buf_get_bytes(&b, magic, sizeof(magic)) != 0 ||
	    memcmp(magic, MIGBLOB_MAGIC, MIGBLOB_MAGIC_LEN) != 0)
		return VERR_FORMAT;
	if (buf_get_u16(&b, &version) != 0 || (version != 1 && version != MIGBLOB_VERSION))
		return VERR_FORMAT;
	if (buf_get_u8(&b, &ftype) != 0 || !type_valid(ftype) || buf_get_u8(&b, &fflags) != 0)
		return VERR_FORMAT;
	if (version == 1) {
		/* Encrypted under the migration key, or plain with a digest
		 * anybody can recompute: only the first is worth anything. */
		if (fflags != 0 && fflags != MIGBLOB_FLAG_MIGKEY)
			return VERR_FORMAT;
	} else if (fflags != MIGBLOB_FLAG_MIGKEY && fflags != MIGBLOB_FLAG_HOSTKEY) {
		return VERR_FORMAT;
	}
	if (buf_get_direct(&b, &fuuid, UUID_LEN) != 0 ||
	    (version != 1 && buf_get_u64(&b, &fgen) != 0) || buf_get_u32(&b, &n) != 0)
		return VERR_FORMAT;
	if (n == 0 || n > MIGBLOB_PT_MAX)
		return VERR_FORMAT;
	hlen = version == 1 ? MIGBLOB_V1_HDR_LEN : MIGBLOB_HDR_LEN;
	if (version == 1 && fflags == 0) {
		/* pt | SHA-256: check the size, then refuse. */
		if (buf_get_direct(&b, &body, n) != 0 || buf_get_direct(&b, &tag, 32) != 0 ||
		    buf_avail(&b) != 0)
			return VERR_FORMAT;
		return ftype != type || memcmp(fuuid, uuid, UUID_LEN) != 0 ? VERR_MISMATCH
									  : VERR_PLAIN;
	}
	if (buf_get_direct(&b, &nonce, AEAD_NONCE_LEN) != 0 || buf_get_direct(&b, &body, n) != 0 ||
	    buf_get_direct(&b, &tag, AEAD_TAG_LEN) != 0 || buf_avail(&b) != 0)
		return VERR_FORMAT;

	/*
	 * Type and uuid are covered by the tag; checking them first only
	 * tells the operator "this blob is for another vTPM" rather than
	 * "modified".  Nothing is accepted on these unauthenticated bytes.
	 */
	if (ftype != type || memcmp(fuuid, uuid, UUID_LEN) != 0)
		return VERR_MISMATCH;
	if (fflags == MIGBLOB_FLAG_MIGKEY) {
		if ((key = k->migration) == NULL)
			return VERR_NOKEY;
	} else if ((key = k->host) == NULL) {
		return VERR_FORMAT;
	}
	if ((r = buf_reserve(pt, n, &dst)) != 0)
		return r;
	r = aead_open(key, nonce, env, hlen, body, n, tag, dst);
	if (r != 0) {
		buf_drop_tail(pt, n);
		if (r != VERR_AUTH)
			return VERR_CRYPTO;
		return fflags == MIGBLOB_FLAG_HOSTKEY ? VERR_OTHERKEY : VERR_AUTH;
	}
	*gen = fgen;
	*flags = fflags;
	return 0;
}
