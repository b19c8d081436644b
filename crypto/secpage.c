/*
 * secpage.c - locked, non-dumpable, wipe-on-fork pages for key material;
 * see secpage.h.  Owns the pages it maps.  Trusts its callers' lengths.
 */
#include "crypto/secpage.h"

#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>

static size_t
secpage_len(size_t len)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t p = pg > 0 ? (size_t)pg : 4096;

	if (len == 0)
		len = 1;
	return (len + p - 1) / p * p;
}

void *
secpage_alloc(size_t len)
{
	size_t n = secpage_len(len);
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	(void)madvise(p, n, MADV_DONTDUMP);
	(void)madvise(p, n, MADV_WIPEONFORK);
	(void)mlock(p, n);
	return p;
}

void
secpage_free(void *p, size_t len)
{
	size_t n = secpage_len(len);

	if (p == NULL)
		return;
	OPENSSL_cleanse(p, n);
	(void)munlock(p, n);
	(void)munmap(p, n);
}
