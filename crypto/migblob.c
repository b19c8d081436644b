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
#include <openssl/evp.h>

#define MIGBLOB_MAGIC_LEN 8

int
migblob_derive_key(const uint8_t migration_key[MIGBLOB_KEY_LEN], uint8_t out[MIGBLOB_KEY_LEN])
{
	/* Same salt as the storage keys (blobfmt.c); the info keeps the
	 * two families apart.  Both used without their NUL. */
	static const uint8_t salt[] = "vtpm-manager/v1";
	static const uint8_t info[] = "migration-key";

	if (hkdf_sha256(migration_key, MIGBLOB_KEY_LEN, salt, sizeof(salt) - 1, info,
			sizeof(info) - 1, out, MIGBLOB_KEY_LEN) != 0)
		return MIGBLOB_E_CRYPTO;
	return 0;
}

size_t
migblob_wrapped_len(int encrypted, size_t ptlen)
{
	return ptlen + (encrypted ? MIGBLOB_OVERHEAD_SEALED : MIGBLOB_OVERHEAD_PLAIN);
}

static int
type_valid(uint8_t type)
{
	return type >= MIGBLOB_TYPE_PERMANENT && type <= MIGBLOB_TYPE_SAVESTATE;
}

/* SHA-256 over a || b. */
static int
digest2(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
	uint8_t out[MIGBLOB_DIGEST_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = 0;
	int ok;

	if (ctx == NULL)
		return MIGBLOB_E_CRYPTO;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(ctx, a, alen) == 1 && EVP_DigestUpdate(ctx, b, blen) == 1 &&
	     EVP_DigestFinal_ex(ctx, out, &n) == 1 && n == MIGBLOB_DIGEST_LEN;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : MIGBLOB_E_CRYPTO;
}

/* Takes back the last n bytes appended to b, wiping them (see blobfmt.c). */
static void
buf_drop_tail(struct buf *b, size_t n)
{
	OPENSSL_cleanse(b->d + b->len - n, n);
	b->len -= n;
}

static void
put_header(uint8_t *p, uint8_t type, uint8_t flags, const uint8_t uuid[UUID_LEN], size_t ptlen)
{
	memcpy(p, MIGBLOB_MAGIC, MIGBLOB_MAGIC_LEN);
	be16_put(p + 8, MIGBLOB_VERSION);
	p[10] = type;
	p[11] = flags;
	memcpy(p + 12, uuid, UUID_LEN);
	be32_put(p + 28, (uint32_t)ptlen);
}

int
migblob_wrap(const uint8_t *key, uint8_t type, const uint8_t uuid[UUID_LEN], const uint8_t *pt,
	     size_t ptlen, struct buf *out)
{
	uint8_t *p, *hdr;
	size_t total;
	int enc = key != NULL, r;

	if (!type_valid(type) || uuid == NULL || pt == NULL || ptlen == 0 ||
	    ptlen > MIGBLOB_PT_MAX)
		return MIGBLOB_E_FORMAT;
	total = migblob_wrapped_len(enc, ptlen);
	/* One reservation, so a failure cannot leave half an envelope. */
	if (buf_reserve(out, total, &p) != 0)
		return MIGBLOB_E_NOMEM;
	hdr = p;
	put_header(hdr, type, enc ? MIGBLOB_FLAG_ENCRYPTED : 0, uuid, ptlen);
	p += MIGBLOB_HDR_LEN;
	if (enc) {
		uint8_t *nonce = p, *ct = p + AEAD_NONCE_LEN;

		if (crypto_random(nonce, AEAD_NONCE_LEN) != 0 ||
		    aead_seal(key, nonce, hdr, MIGBLOB_HDR_LEN, pt, ptlen, ct, ct + ptlen) != 0) {
			buf_drop_tail(out, total);
			return MIGBLOB_E_CRYPTO;
		}
		return 0;
	}
	memcpy(p, pt, ptlen);
	if ((r = digest2(hdr, MIGBLOB_HDR_LEN, pt, ptlen, p + ptlen)) != 0) {
		buf_drop_tail(out, total);
		return r;
	}
	return 0;
}

int
migblob_unwrap(const uint8_t *key, uint8_t type, const uint8_t uuid[UUID_LEN], const uint8_t *env,
	       size_t len, struct buf *pt)
{
	struct buf b;
	uint8_t magic[MIGBLOB_MAGIC_LEN], ftype, flags, want[MIGBLOB_DIGEST_LEN], *dst;
	const uint8_t *fuuid, *nonce = NULL, *body, *check;
	uint16_t version;
	uint32_t n;
	int r;

	if (env == NULL || uuid == NULL || !type_valid(type))
		return MIGBLOB_E_FORMAT;
	buf_init_reader(&b, env, len);
	if (buf_get_bytes(&b, magic, sizeof(magic)) != 0 ||
	    memcmp(magic, MIGBLOB_MAGIC, MIGBLOB_MAGIC_LEN) != 0)
		return MIGBLOB_E_FORMAT;
	if (buf_get_u16(&b, &version) != 0 || version != MIGBLOB_VERSION)
		return MIGBLOB_E_FORMAT;
	if (buf_get_u8(&b, &ftype) != 0 || !type_valid(ftype))
		return MIGBLOB_E_FORMAT;
	if (buf_get_u8(&b, &flags) != 0 || (flags & ~MIGBLOB_FLAG_ENCRYPTED) != 0)
		return MIGBLOB_E_FORMAT;
	if (buf_get_direct(&b, &fuuid, UUID_LEN) != 0 || buf_get_u32(&b, &n) != 0)
		return MIGBLOB_E_FORMAT;
	if (n == 0 || n > MIGBLOB_PT_MAX)
		return MIGBLOB_E_FORMAT;
	if (flags & MIGBLOB_FLAG_ENCRYPTED) {
		if (buf_get_direct(&b, &nonce, AEAD_NONCE_LEN) != 0 ||
		    buf_get_direct(&b, &body, n) != 0 ||
		    buf_get_direct(&b, &check, AEAD_TAG_LEN) != 0)
			return MIGBLOB_E_FORMAT;
	} else if (buf_get_direct(&b, &body, n) != 0 ||
		   buf_get_direct(&b, &check, MIGBLOB_DIGEST_LEN) != 0) {
		return MIGBLOB_E_FORMAT;
	}
	if (buf_avail(&b) != 0)
		return MIGBLOB_E_FORMAT;

	/*
	 * Type and uuid are covered by the digest or tag; checking them first
	 * only tells the operator "this blob is for another vTPM" rather than
	 * "modified".  Nothing is accepted on these unauthenticated bytes.
	 */
	if (ftype != type || memcmp(fuuid, uuid, UUID_LEN) != 0)
		return MIGBLOB_E_MISMATCH;
	/* With a key, a plain envelope is refused: its digest proves
	 * nothing, anyone on the migration path could have forged it. */
	if (((flags & MIGBLOB_FLAG_ENCRYPTED) != 0) != (key != NULL))
		return MIGBLOB_E_KEYMODE;

	if (buf_reserve(pt, n, &dst) != 0)
		return MIGBLOB_E_NOMEM;
	if (key != NULL) {
		r = aead_open(key, nonce, env, MIGBLOB_HDR_LEN, body, n, check, dst);
		if (r != 0) {
			buf_drop_tail(pt, n);
			return r == CRYPTO_E_AUTH ? MIGBLOB_E_AUTH : MIGBLOB_E_CRYPTO;
		}
		return 0;
	}
	if ((r = digest2(env, MIGBLOB_HDR_LEN, body, n, want)) != 0) {
		buf_drop_tail(pt, n);
		return r;
	}
	if (crypto_memcmp(want, check, MIGBLOB_DIGEST_LEN) != 0) {
		buf_drop_tail(pt, n);
		return MIGBLOB_E_AUTH;
	}
	memcpy(dst, body, n);
	return 0;
}

const char *
migblob_strerror(int err)
{
	switch (err) {
	case 0: return "ok";
	case MIGBLOB_E_FORMAT: return "not a well-formed migration blob";
	case MIGBLOB_E_MISMATCH: return "migration blob is for another blob type or vTPM UUID";
	case MIGBLOB_E_KEYMODE: return "migration blob encryption does not match this host's "
				       "migration_key setting";
	case MIGBLOB_E_AUTH: return "migration blob failed its integrity check (modified, or "
				    "another migration key)";
	case MIGBLOB_E_NOMEM: return "out of memory";
	case MIGBLOB_E_CRYPTO: return "crypto library error";
	default: return "unknown error";
	}
}
