/*
 * tpmlog.c - libtpms' own diagnostics, filtered.
 *
 * libtpms writes its forced error messages ("Entering failure mode ...")
 * to its debug fd, or to stderr when none is set, and when a command puts
 * the TPM into failure mode it hex-dumps that command there.  A TPM
 * command may carry secrets, and nothing in this project logs payloads, so
 * libtpms gets a non-blocking pipe instead: its text lines are passed on
 * through util/log.h, its hex-dump lines are dropped and only counted.
 *
 * Owns: the pipe.  Trusts: libtpms' text (non-printable bytes are still
 * replaced before logging).  libtpms never blocks on the pipe: a full pipe
 * loses messages rather than stalling a command.
 */
#include "vtpm/vtpmd.h"

#include "util/log.h"

#include <libtpms/tpm_library.h>

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static int rd = -1;
static char line[512];
static size_t llen;
static size_t dump_bytes; /* hex-dump bytes dropped since the last text line */

int
tpmlog_init(void)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0)
		return -1;
	TPMLIB_SetDebugFD(p[1]); /* debug level stays 0: only forced messages */
	rd = p[0];
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

int
tpmlog_fd(void)
{
	return rd;
}

void
tpmlog_drain(void)
{
	char buf[1024];
	ssize_t n;

	if (rd < 0)
		return;
	for (;;) {
		n = read(rd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				emit();
				continue;
			}
			if (llen == sizeof(line))
				emit();
			line[llen++] = buf[i];
		}
	}
	if (dump_bytes != 0) {
		log_err(LOGM_VTPM, "libtpms: (a %zu-byte hex dump was suppressed)", dump_bytes);
		dump_bytes = 0;
	}
}
