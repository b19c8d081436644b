/*
 * buf.c - bounded byte buffer; see buf.h.  Every size comparison is written
 * as "n > limit - used" so it cannot wrap.
 */
#include "buf.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

void
freezero(void *p, size_t len)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, len);
	free(p);
}

void
buf_init_reader(struct buf *b, const uint8_t *data, size_t len)
{
	/* Readers never write, so casting away const is safe: max == 0 and
	 * alloc == 0 make every writer fail and buf_free a no-op. */
	b->d = (uint8_t *)(uintptr_t)data;
	b->alloc = 0;
	b->len = len;
	b->off = 0;
	b->max = 0;
}

void
buf_init(struct buf *b, size_t max)
{
	b->d = NULL;
	b->alloc = 0;
	b->len = 0;
	b->off = 0;
	b->max = max > BUF_SIZE_MAX ? BUF_SIZE_MAX : max;
}

void
buf_free(struct buf *b)
{
	if (b->alloc != 0)
		freezero(b->d, b->alloc);
	b->d = NULL;
	b->alloc = b->len = b->off = 0;
}

void
buf_reset(struct buf *b)
{
	if (b->alloc != 0)
		OPENSSL_cleanse(b->d, b->alloc);
	b->len = b->off = 0;
}

void
buf_compact(struct buf *b)
{
	size_t left = buf_avail(b);

	if (b->off == 0 || b->alloc == 0)
		return;
	memmove(b->d, b->d + b->off, left);
	/* Wipe the tail that held consumed bytes. */
	OPENSSL_cleanse(b->d + left, b->len - left);
	b->len = left;
	b->off = 0;
}

int
buf_get_bytes(struct buf *b, void *out, size_t n)
{
	if (n > buf_avail(b))
		return VERR_INCOMPLETE;
	if (n != 0)
		memcpy(out, b->d + b->off, n);
	b->off += n;
	return 0;
}

int
buf_get_direct(struct buf *b, const uint8_t **p, size_t n)
{
	if (n > buf_avail(b))
		return VERR_INCOMPLETE;
	/* NULL + 0 is undefined, even though nothing is read through it. */
	*p = b->d != NULL ? b->d + b->off : b->d;
	b->off += n;
	return 0;
}

int
buf_skip(struct buf *b, size_t n)
{
	if (n > buf_avail(b))
		return VERR_INCOMPLETE;
	b->off += n;
	return 0;
}

void
buf_drop(struct buf *b, size_t n)
{
	b->off += n < buf_avail(b) ? n : buf_avail(b);
}

int
buf_get_u8(struct buf *b, uint8_t *v)
{
	return buf_get_bytes(b, v, 1);
}

int
buf_get_u16(struct buf *b, uint16_t *v)
{
	if (buf_avail(b) < 2)
		return VERR_INCOMPLETE;
	*v = be16_get(b->d + b->off);
	b->off += 2;
	return 0;
}

int
buf_get_u32(struct buf *b, uint32_t *v)
{
	if (buf_avail(b) < 4)
		return VERR_INCOMPLETE;
	*v = be32_get(b->d + b->off);
	b->off += 4;
	return 0;
}

int
buf_get_u64(struct buf *b, uint64_t *v)
{
	if (buf_avail(b) < 8)
		return VERR_INCOMPLETE;
	*v = be64_get(b->d + b->off);
	b->off += 8;
	return 0;
}

int
buf_peek_u16(const struct buf *b, size_t at, uint16_t *v)
{
	if (at > buf_avail(b) || buf_avail(b) - at < 2)
		return VERR_INCOMPLETE;
	*v = be16_get(b->d + b->off + at);
	return 0;
}

int
buf_peek_u32(const struct buf *b, size_t at, uint32_t *v)
{
	if (at > buf_avail(b) || buf_avail(b) - at < 4)
		return VERR_INCOMPLETE;
	*v = be32_get(b->d + b->off + at);
	return 0;
}

int
buf_reserve(struct buf *b, size_t n, uint8_t **p)
{
	size_t need, nalloc;
	uint8_t *nd;

	if (n > b->max || b->len > b->max - n)
		return VERR_NOSPACE;
	need = b->len + n;
	if (need > b->alloc) {
		/* Grow geometrically, but never past max; copy into a fresh
		 * block and wipe the old one instead of realloc(), which could
		 * leave state behind in freed memory. */
		nalloc = b->alloc < 256 ? 256 : b->alloc;
		while (nalloc < need)
			nalloc = nalloc > b->max / 2 ? b->max : nalloc * 2;
		if (nalloc > b->max)
			nalloc = b->max;
		if ((nd = calloc(1, nalloc)) == NULL)
			return VERR_NOMEM;
		if (b->len != 0)
			memcpy(nd, b->d, b->len);
		if (b->alloc != 0)
			freezero(b->d, b->alloc);
		b->d = nd;
		b->alloc = nalloc;
	}
	*p = b->d != NULL ? b->d + b->len : b->d;
	b->len += n;
	return 0;
}

int
buf_put_bytes(struct buf *b, const void *src, size_t n)
{
	uint8_t *p;
	int r;

	if ((r = buf_reserve(b, n, &p)) != 0)
		return r;
	if (n != 0)
		memcpy(p, src, n);
	return 0;
}

int
buf_put_u8(struct buf *b, uint8_t v)
{
	return buf_put_bytes(b, &v, 1);
}

int
buf_put_u16(struct buf *b, uint16_t v)
{
	uint8_t t[2];

	be16_put(t, v);
	return buf_put_bytes(b, t, 2);
}

int
buf_put_u32(struct buf *b, uint32_t v)
{
	uint8_t t[4];

	be32_put(t, v);
	return buf_put_bytes(b, t, 4);
}

int
buf_put_u64(struct buf *b, uint64_t v)
{
	uint8_t t[8];

	be64_put(t, v);
	return buf_put_bytes(b, t, 8);
}
