/*
 * tpmlog.c - libtpms' own diagnostics, filtered.
 *
 * libtpms writes its forced error messages ("Entering failure mode ...")
 * to its debug fd, or to stderr when none is set, and when a command puts
 * the TPM into failure mode it hex-dumps that command there.  A TPM
 * command may carry secrets, and nothing in this project logs payloads, so
 * libtpms gets a file of our own instead: its text lines are passed on
 * through util/log.h, its hex-dump lines are dropped and only counted.
 *
 * The file is a memfd of TPMLOG_SIZE bytes, sealed against growing and
 * shrinking, that we also map.  libtpms writes to it (dprintf at the fd's
 * offset) only from inside our own calls into it, on our one thread, so
 * what it wrote is visible in the mapping when the call returns: a look at
 * the first byte tells whether there is anything, without a system call
 * and without a descriptor in the poll set (a pipe there cost every
 * command about 0.2 us of poll work; docs/PERFORMANCE.md).  After a drain
 * the bytes read are zeroed and the offset is put back to 0 (lseek), which
 * happens only when libtpms wrote something.  libtpms never blocks on it:
 * what does not fit in TPMLOG_SIZE bytes between two drains is lost
 * (writes past the seal fail), and the loss is logged.
 *
 * Owns: the memfd and its mapping.  Trusts: libtpms' text (non-printable
 * bytes are still replaced before logging; a NUL ends what is read).
 */
#include "vtpm/vtpmd_int.h"

#include "util/log.h"

#include <libtpms/tpm_library.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Room for what libtpms writes between two drains (vtpmd drains after
 * every command): its hex dump of one 4 kB command is about 12 kB. */
#define TPMLOG_SIZE (64u * 1024u)

static int mfd = -1;
static unsigned char *map;
static char line[512];
static size_t llen;
static size_t dump_bytes; /* hex-dump bytes dropped since the last text line */

int
tpmlog_init(void)
{
	void *p;

	mfd = memfd_create("vtpmd-libtpms-log", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0)
		return -1;
	if (ftruncate(mfd, TPMLOG_SIZE) != 0 ||
	    fcntl(mfd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) != 0 ||
	    (p = mmap(NULL, TPMLOG_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0)) ==
		    MAP_FAILED) {
		int e = errno;

		close(mfd);
		mfd = -1;
		errno = e;
		return -1;
	}
	map = p;
	TPMLIB_SetDebugFD(mfd); /* debug level stays 0: only forced messages */
	return 0;
}

/* A line of "xx xx xx ..." as written by TPMLIB_LogArray; returns the
 * number of bytes it shows, or 0 when it is text. */
static size_t
hexdump_bytes(const char *s, size_t n)
{
	size_t digits = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))
			digits++;
		else if (c != ' ')
			return 0;
	}
	return digits / 2;
}

static void
emit(void)
{
	size_t dump = hexdump_bytes(line, llen);

	if (llen == 0)
		return;
	if (dump != 0) {
		dump_bytes += dump;
		llen = 0;
		return;
	}
	if (dump_bytes != 0) {
		log_err(LOGM_VTPM, "libtpms: (a %zu-byte hex dump was suppressed)", dump_bytes);
		dump_bytes = 0;
	}
	for (size_t i = 0; i < llen; i++)
		if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] > 0x7e)
			line[i] = '?';
	log_err(LOGM_VTPM, "libtpms: %.*s", (int)llen, line);
	llen = 0;
}

void
tpmlog_drain(void)
{
	const unsigned char *end;
	size_t n;

	if (map == NULL || map[0] == 0)
		return; /* the common case: libtpms said nothing */
	end = memchr(map, 0, TPMLOG_SIZE);
	n = end != NULL ? (size_t)(end - map) : TPMLOG_SIZE;
	for (size_t i = 0; i < n; i++) {
		if (map[i] == '\n') {
			emit();
			continue;
		}
		if (llen == sizeof(line))
			emit();
		line[llen++] = (char)map[i];
	}
	memset(map, 0, n);
	if (lseek(mfd, 0, SEEK_SET) != 0)
		log_err(LOGM_VTPM, "libtpms log: lseek: %s", strerror(errno));
	if (dump_bytes != 0) {
		log_err(LOGM_VTPM, "libtpms: (a %zu-byte hex dump was suppressed)", dump_bytes);
		dump_bytes = 0;
	}
	if (n == TPMLOG_SIZE)
		log_err(LOGM_VTPM, "libtpms: more than %u bytes of messages; the rest was lost",
			TPMLOG_SIZE);
}
