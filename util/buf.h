/*
 * buf.h - bounded byte buffer with a read cursor (sshbuf/ibuf style).
 *
 * Owns: nothing but its own storage.  Trusts: nobody; every length comes
 * in as a size_t and is compared without overflow before use.  All calls
 * return 0 or a negative VERR_* code (util/err.h: VERR_INCOMPLETE,
 * VERR_NOSPACE, VERR_NOMEM) and change nothing on failure; a reader's
 * cursor moves only on success.  Storage is wiped when freed or
 * grown, so a buf may hold key material or TPM state.
 */
#ifndef VTPM_UTIL_BUF_H
#define VTPM_UTIL_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define BUF_SIZE_MAX (16u * 1024 * 1024) /* hard cap on any buf */

struct buf {
	uint8_t *d;   /* storage, NULL until first write */
	size_t alloc; /* bytes allocated */
	size_t len;   /* bytes written */
	size_t off;   /* read cursor, off <= len */
	size_t max;   /* per-buffer cap, <= BUF_SIZE_MAX */
};

#define BUF_WUR __attribute__((warn_unused_result))

/* A reader over caller-owned memory: no allocation, no writes allowed. */
void buf_init_reader(struct buf *b, const uint8_t *data, size_t len);
/* An empty writable buffer that may grow up to max bytes. */
void buf_init(struct buf *b, size_t max);
/* Wipes and frees storage; the struct may be reused after buf_init. */
void buf_free(struct buf *b);
/* Forget contents (wiped), keep the allocation. */
void buf_reset(struct buf *b);
/* Moves unread bytes to the front so the whole max is free for writes. */
void buf_compact(struct buf *b);

static inline size_t buf_avail(const struct buf *b) { return b->len - b->off; }
static inline const uint8_t *buf_ptr(const struct buf *b)
{
	return b->d != NULL ? b->d + b->off : b->d; /* NULL + 0 is undefined */
}

/* Readers: fail with VERR_INCOMPLETE when fewer bytes remain. */
int buf_get_u8(struct buf *b, uint8_t *v) BUF_WUR;
int buf_get_u16(struct buf *b, uint16_t *v) BUF_WUR;  /* big-endian */
int buf_get_u32(struct buf *b, uint32_t *v) BUF_WUR;  /* big-endian */
int buf_get_u64(struct buf *b, uint64_t *v) BUF_WUR;  /* big-endian */
int buf_get_bytes(struct buf *b, void *out, size_t n) BUF_WUR;
/* Points *p at the next n bytes without copying, and consumes them. */
int buf_get_direct(struct buf *b, const uint8_t **p, size_t n) BUF_WUR;
int buf_skip(struct buf *b, size_t n) BUF_WUR;
/* Consumes min(n, avail) bytes: for output queues whose writer reports how
 * much went out, where a shortfall is impossible by construction. */
void buf_drop(struct buf *b, size_t n);
/* Peeks without consuming: reads at cursor + at. */
int buf_peek_u16(const struct buf *b, size_t at, uint16_t *v) BUF_WUR;
int buf_peek_u32(const struct buf *b, size_t at, uint32_t *v) BUF_WUR;

/* Writers: fail with VERR_NOSPACE past b->max (VERR_NOMEM when allocation fails). */
int buf_reserve(struct buf *b, size_t n, uint8_t **p) BUF_WUR;
int buf_put_u8(struct buf *b, uint8_t v) BUF_WUR;
int buf_put_u16(struct buf *b, uint16_t v) BUF_WUR;
int buf_put_u32(struct buf *b, uint32_t v) BUF_WUR;
int buf_put_u64(struct buf *b, uint64_t v) BUF_WUR;
int buf_put_bytes(struct buf *b, const void *p, size_t n) BUF_WUR;

/* Big-endian helpers for fixed-layout headers. */
static inline uint16_t be16_get(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t be32_get(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void be16_put(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline uint64_t be64_get(const uint8_t *p)
{
	return ((uint64_t)be32_get(p) << 32) | be32_get(p + 4);
}
static inline void be64_put(uint8_t *p, uint64_t v)
{
	be32_put(p, (uint32_t)(v >> 32)); be32_put(p + 4, (uint32_t)v);
}

/* Wipes then frees; p may be NULL. */
void freezero(void *p, size_t len);

#endif
