/*
 * secpage.h - memory for private keys outside store.c's key page: whole
 * pages, mlock'ed (never swapped), excluded from core dumps
 * (MADV_DONTDUMP) and wiped in a forked child (MADV_WIPEONFORK), so a
 * vtpmd never holds their contents even between fork and exec.  Owns only
 * the pages it hands out; secpage_free wipes them before unmapping.
 */
#ifndef VTPM_CRYPTO_SECPAGE_H
#define VTPM_CRYPTO_SECPAGE_H

#include <stddef.h>

/* len bytes (rounded up to whole pages), zeroed; NULL on failure.  mlock
 * failing (small RLIMIT_MEMLOCK) is not fatal, as in store.c. */
void *secpage_alloc(size_t len);
/* Wipes, unlocks and unmaps what secpage_alloc(len) returned; p may be NULL. */
void secpage_free(void *p, size_t len);

#endif
