/*
 * flight.c - vtpmd's side of the flight record (util/flight.h), the cancel
 * signal, and the test-only faults.
 *
 * The record is the manager's window on the one command vtpmd executes:
 * flight_begin() before TPMLIB_Process, flight_responding() once the
 * response exists, flight_idle() after it was written.  Each is a handful
 * of stores to a shared page and a vDSO clock read, no syscall.  Without
 * --flight-fd (a vtpmd started by hand or by vtpmd-drive) the stores go to
 * a private dummy record.
 *
 * Cancel: the manager sends SIGUSR1 when it receives CANCEL_TPM_CMD while a
 * command executes (the channel is not read during TPMLIB_Process).  The
 * handler calls TPMLIB_CancelCommand().  In libtpms 0.9 that is, for TPM
 * 2.0, _rpc__Signal_CancelOn(): one test of a static flag (s_isPowerOn) and
 * one store to another (s_isCanceled), no lock, no allocation, no libc, so
 * it is safe in a signal handler; the running command sees the flag where
 * libtpms polls it (_plat__IsCanceled(): between the prime candidates of an
 * RSA key derivation, in ECC signing loops) and ends with TPM_RC_CANCELED.
 * TPM2_Process clears the flag when the next command starts, so a signal
 * that lands after the command finished cancels nothing.  TPM 1.2 has no
 * cancel in libtpms (TPMLIB_CancelCommand returns TPM_FAIL); the manager
 * does not signal 1.2 vtpmds.  SA_RESTART keeps the channel and data I/O
 * uninterrupted; poll() returns EINTR, which every caller handles.
 */
#include "vtpm/vtpmd_int.h"

#include "util/buf.h"
#include "util/flight.h"
#include "util/log.h"

#include <libtpms/tpm_library.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

static struct vtpm_flight dummy;
static struct vtpm_flight *rec = &dummy;
static int rec_fd = -1; /* kept for a next manager (adopt.c) */

static volatile sig_atomic_t cancels; /* SIGUSR1s received */
static sig_atomic_t cancels_seen;

/* Tests only (--test-delay ORD:MS): commands with this code take MS longer. */
static int delay_set;
static uint32_t delay_ordinal;
static unsigned long delay_ms;

int
flight_init(int fd)
{
	struct stat st;
	void *p;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)FLIGHT_SIZE) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	p = mmap(NULL, FLIGHT_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		close(fd);
		return -1;
	}
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	rec = p;
	rec_fd = fd;
	return 0;
}

int
flight_fd(void)
{
	return rec_fd;
}

static void
on_cancel(int sig)
{
	int saved = errno;

	(void)sig;
	(void)TPMLIB_CancelCommand();
	cancels++;
	errno = saved;
}

int
flight_cancel_setup(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_cancel;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGUSR1, &sa, NULL);
}

int
flight_set_test_delay(const char *spec)
{
	char *end;
	unsigned long ord, ms;

	errno = 0;
	ord = strtoul(spec, &end, 0);
	if (errno != 0 || end == spec || *end != ':' || ord > 0xffffffffUL)
		return -1;
	spec = end + 1;
	ms = strtoul(spec, &end, 10);
	if (errno != 0 || end == spec || *end != '\0' || ms > 3600000UL)
		return -1;
	delay_set = 1;
	delay_ordinal = (uint32_t)ord;
	delay_ms = ms;
	return 0;
}

static void
test_delay(void)
{
	struct timespec t;

	log_warn(LOGM_VTPM, "test: command 0x%x delayed by %lu ms", delay_ordinal, delay_ms);
	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += (time_t)(delay_ms / 1000);
	t.tv_nsec += (long)(delay_ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR)
		; /* a cancel signal does not shorten it */
}

void
flight_begin(uint32_t conn_id, const uint8_t *cmd)
{
	struct timespec ts;
	uint32_t ordinal = be32_get(cmd + 6);

	clock_gettime(CLOCK_MONOTONIC, &ts);
	flight_write_begin(rec);
	FLIGHT_STORE(rec->conn_id, conn_id);
	FLIGHT_STORE(rec->tag, (uint32_t)be16_get(cmd));
	FLIGHT_STORE(rec->ordinal, ordinal);
	FLIGHT_STORE(rec->start_ms, (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
	FLIGHT_STORE(rec->count, rec->count + 1);
	FLIGHT_STORE(rec->phase, (uint32_t)FLIGHT_EXECUTING);
	flight_write_end(rec);
	if (delay_set && ordinal == delay_ordinal)
		test_delay();
}

void
flight_responding(void)
{
	flight_write_begin(rec);
	FLIGHT_STORE(rec->phase, (uint32_t)FLIGHT_RESPONDING);
	flight_write_end(rec);
}

void
flight_idle(void)
{
	flight_write_begin(rec);
	FLIGHT_STORE(rec->phase, (uint32_t)FLIGHT_IDLE);
	flight_write_end(rec);
	if (cancels != cancels_seen) {
		cancels_seen = cancels;
		log_info(LOGM_VTPM, "cancel signal received while executing command 0x%x",
			 FLIGHT_LOAD(rec->ordinal));
	}
}
