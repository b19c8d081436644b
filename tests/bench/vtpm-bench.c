/*
 * vtpm-bench.c - latency/throughput probe used by tests/bench/run-bench.sh.
 * The same client code (tests/lib/tpmclient.c, one persistent connection)
 * measures any swtpm-compatible data socket, so the manager's vTPMs and a
 * plain swtpm are compared like for like.  Output is "key value" lines.
 *
 *   vtpm-bench run (--socket PATH | --target NAME=PATH...) [--iters N]
 *                  [--warmup N] [--nv-index IDX] [--ops LIST]
 *                  [--durable DIR (--durable-size N | --durable-size-of FILE)]
 *       TPM2 GetRandom(32), PCR_Extend(sha256, PCR 16), NV_Write(64 B)
 *       (LIST: a comma list of getrandom, pcrextend, nvwrite; default all):
 *       [NAME.]<op>_p50_us, _p99_us, _mean_us, _ops_s.  Several targets are
 *       measured interleaved, in blocks of 50 operations each.  --durable
 *       adds a target "durable" to the NV_Write measurement, interleaved
 *       like the others: a bare durable save (see below) of a file of N
 *       bytes, or of FILE's size when the measurement starts;
 *       durable.durable_p50_us ..., durable.size_bytes.
 *   vtpm-bench durable --dir DIR (--size N | --size-of FILE) [--iters N]
 *                      [--warmup N]
 *       the same bare durable save alone: create DIR/.permall.tmp, write N
 *       bytes, fsync, close, rename it to DIR/permall, fsync DIR (what the
 *       manager does for every sealed file, without sealing): durable_*.
 *   vtpm-bench first --spawn [--setsid] --socket PATH -- CMD [ARGS...]
 *       starts CMD (a server, left running), polls PATH, times the first
 *       GetRandom(32) response: first_ms, pid.  --setsid starts it in a
 *       session of its own (see below).
 *   vtpm-bench first --run-dir DIR -- CMD [ARGS...]
 *       runs CMD (e.g. vtpmctl create), reads the UUID it prints, connects
 *       DIR/<uuid>.sock, times the first GetRandom(32) response: first_ms, uuid
 *   vtpm-bench wake --list FILE [--swtpm BIN [--setsid]] [--timeout-ms N]
 *       FILE: one data socket path a line.  Connects to all of them at
 *       once (non-blocking, one process, poll), sends each a GetRandom(32)
 *       and times until every one has answered: wake_ms (last answer),
 *       wake_first_ms, wake_p50_ms, wake_count.  With --swtpm, a line is
 *       "SOCKET STATEDIR" and the clock starts before spawning one
 *       `BIN socket --tpm2 ... --flags not-need-init,startup-clear` per
 *       line; their summed RSS is printed (rss_sum_kb) before they are
 *       terminated.  Without --swtpm the servers must be listening already
 *       (or appear within the timeout).  --setsid: each swtpm in a session
 *       of its own.
 *   vtpm-bench create --count N [--chunk K] [--uuids FILE] -- CMD [ARGS...]
 *       runs CMD (vtpmctl create) N times in a row, each printing a UUID
 *       (written to FILE): created, create_s, create_per_s, and the rates
 *       of the first and last chunk of K (default 1000).  Stops at the
 *       first failure (create_stopped_at I; CMD's error is on stderr).
 *   vtpm-bench time [--runs K] -- CMD [ARGS...]
 *       runs CMD K times (default 3), its output counted and dropped:
 *       time_ms_min, time_ms_p50, time_ms_max, out_lines, out_bytes.
 *
 * Sessions: a server that shares this client's session also shares its
 * scheduler autogroup (CONFIG_SCHED_AUTOGROUP, on in Debian), which makes
 * every switch between client and server cheaper than between processes of
 * different groups.  vtpmd runs in a session of its own, as does swtpm
 * started the way libvirt starts it (swtpm socket --daemon), so like is
 * compared with like only with --setsid.
 */
#include "tests/lib/tpmclient.h"

#include "util/buf.h"
#include "util/fileio.h"
#include "util/tpm_frame.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NV_SIZE 64
#define FIRST_TIMEOUT_MS 10000
#define DURABLE_MAX (16u << 20) /* largest file the durable save writes */

/* Servers this process spawned and must not leave behind when it dies
 * (wake --swtpm); `first --spawn` deliberately leaves its server running. */
static pid_t *g_children;
static size_t g_nchildren;

static void
reap_children(int sig)
{
	size_t i;

	for (i = 0; i < g_nchildren; i++)
		if (g_children[i] > 0)
			kill(g_children[i], sig);
	for (i = 0; i < g_nchildren; i++)
		if (g_children[i] > 0) {
			while (waitpid(g_children[i], NULL, 0) < 0 && errno == EINTR)
				;
			g_children[i] = -1;
		}
}

/* SIGTERM/SIGINT/SIGHUP while servers run: take them along. */
static void
on_fatal_signal(int sig)
{
	for (size_t i = 0; i < g_nchildren; i++)
		if (g_children[i] > 0)
			kill(g_children[i], SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void __attribute__((format(printf, 1, 2), noreturn))
die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("vtpm-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	reap_children(SIGKILL);
	exit(1);
}

static unsigned long
num(const char *s, unsigned long max, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > max)
		die("bad %s '%s'", what, s);
	return v;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static double
pct_us(const uint64_t *sorted, size_t n, double p)
{
	size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);

	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return (double)sorted[rank - 1] / 1000.0;
}

/* TPM_RC_HANDLE in format 1 (any handle number): "no such index". */
#define RC_IS_HANDLE_ERR(rc) (((rc) & 0x8ffu) == 0x08bu)

/* Sends one command and requires rc == 0 (or, with missing_ok, a handle
 * error). */
static void
do_cmd(int fd, const struct buf *cmd, int missing_ok, const char *what)
{
	uint8_t resp[TPM_FRAME_MAX];
	size_t len = 0;
	uint32_t rc;
	int e = tc_tpm_transact(fd, cmd->d, cmd->len, resp, sizeof(resp), &len, TC_TIMEOUT_MS);

	if (e != 0)
		die("%s: %s", what, strerror(-e));
	rc = tc_tpm_rc(resp, len);
	if (rc != 0 && !(missing_ok && RC_IS_HANDLE_ERR(rc)))
		die("%s: TPM rc 0x%x", what, rc);
}

enum op { OP_GETRANDOM, OP_PCREXTEND, OP_NVWRITE, OP_COUNT };
static const char *const op_names[OP_COUNT] = { "getrandom", "pcrextend", "nvwrite" };

static int
build_op(enum op op, struct buf *cmd, unsigned long i, uint32_t nv_index)
{
	uint8_t data[NV_SIZE];
	size_t k;

	for (k = 0; k < sizeof(data); k++)
		data[k] = (uint8_t)(i + k);
	switch (op) {
	case OP_GETRANDOM:
		return tc_build_tpm2_getrandom(cmd, 32);
	case OP_PCREXTEND:
		return tc_build_tpm2_pcr_extend_sha256(cmd, 16, data);
	case OP_NVWRITE:
		return tc_build_tpm2_nv_write(cmd, nv_index, data, NV_SIZE, 0);
	case OP_COUNT:
		break;
	}
	return -EINVAL;
}

#define MAX_TARGETS 5
#define BLOCK 50 /* ops per target before switching to the next */

/*
 * A bare durable save, the baseline of NV_Write: what the manager does for
 * every sealed file (util/fileio.c file_write_atomic), without the sealing,
 * the channel and the TPM.  Written out here rather than calling
 * file_write_atomic so that the baseline stays put when the daemon's code
 * changes.
 */
struct durable {
	const char *dir;
	const char *size_of; /* take the size of this file at start, or */
	size_t size;         /* this size */
	int dirfd;
	uint8_t *data;
};

#define DURABLE_NAME "permall"
#define DURABLE_TMP ".permall.tmp"

static void
durable_open(struct durable *d)
{
	if (d->size_of != NULL) {
		struct stat st;

		if (lstat(d->size_of, &st) != 0)
			die("--size-of %s: %s", d->size_of, strerror(errno));
		if (!S_ISREG(st.st_mode))
			die("--size-of %s: not a regular file", d->size_of);
		if (st.st_size < 1 || (uint64_t)st.st_size > DURABLE_MAX)
			die("--size-of %s: size %lld is not 1..%u", d->size_of,
			    (long long)st.st_size, DURABLE_MAX);
		d->size = (size_t)st.st_size;
	}
	if (d->size < 1 || d->size > DURABLE_MAX)
		die("durable save size %zu is not 1..%u", d->size, DURABLE_MAX);
	d->dirfd = open(d->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d->dirfd < 0)
		die("durable: cannot open directory %s: %s", d->dir, strerror(errno));
	if ((d->data = malloc(d->size)) == NULL)
		die("out of memory");
	for (size_t k = 0; k < d->size; k++)
		d->data[k] = (uint8_t)(k * 131u + 7u);
	if (unlinkat(d->dirfd, DURABLE_TMP, 0) != 0 && errno != ENOENT)
		die("durable: cannot remove %s/%s: %s", d->dir, DURABLE_TMP, strerror(errno));
}

static void
durable_save(struct durable *d, unsigned long i)
{
	int fd, r;

	/* Different bytes each time, as a TPM's state would be. */
	memcpy(d->data, &i, d->size < sizeof(i) ? d->size : sizeof(i));
	fd = openat(d->dirfd, DURABLE_TMP, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	if (fd < 0)
		die("durable: create %s/%s: %s", d->dir, DURABLE_TMP, strerror(errno));
	if ((r = write_full(fd, d->data, d->size)) != 0)
		die("durable: write %s/%s: %s", d->dir, DURABLE_TMP, strerror(-r));
	if (fsync(fd) != 0)
		die("durable: fsync %s/%s: %s", d->dir, DURABLE_TMP, strerror(errno));
	if (close(fd) != 0)
		die("durable: close %s/%s: %s", d->dir, DURABLE_TMP, strerror(errno));
	if (renameat(d->dirfd, DURABLE_TMP, d->dirfd, DURABLE_NAME) != 0)
		die("durable: rename %s/%s: %s", d->dir, DURABLE_TMP, strerror(errno));
	if (fsync(d->dirfd) != 0)
		die("durable: fsync directory %s: %s", d->dir, strerror(errno));
}

static void
durable_close(struct durable *d)
{
	(void)unlinkat(d->dirfd, DURABLE_NAME, 0);
	close(d->dirfd);
	free(d->data);
	d->data = NULL;
	d->dirfd = -1;
}

struct target {
	const char *name; /* key prefix; "" for a lone --socket */
	const char *path;
	int fd;
	struct durable *dur; /* non-NULL: a durable-save target, no socket */
	uint64_t *lat;
	uint64_t busy_ns; /* wall time of this target's blocks */
};

/* One "[name.]op_what value" line; decimals: digits after the point. */
static void
put_key(const struct target *t, const char *op, const char *what, int decimals, double v)
{
	printf("%s%s%s_%s %.*f\n", t->name, t->name[0] != '\0' ? "." : "", op, what, decimals, v);
}

/* Whether target t takes part in measuring op: socket targets in every
 * op, the durable save only alongside NV_Write (or alone). */
static int
takes_part(const struct target *t, enum op op, int alone)
{
	return t->dur == NULL || op == OP_NVWRITE || alone;
}

static void
one_op(struct target *t, enum op op, const struct buf *cmd, unsigned long i)
{
	if (t->dur != NULL)
		durable_save(t->dur, i);
	else
		do_cmd(t->fd, cmd, 0, op_names[op]);
}

/*
 * Measures op on every target, interleaved in blocks of BLOCK operations
 * (target 0, target 1, ..., target 0, ...), so that load from elsewhere on
 * the host falls on all targets alike.  Throughput is operations over the
 * summed wall time of that target's blocks.
 */
static void
measure(struct target *tg, int nt, enum op op, unsigned long iters, unsigned long warmup,
	uint32_t nv_index)
{
	int alone = nt == 1;
	struct buf cmd;
	unsigned long i, base;
	int k;

	buf_init(&cmd, TPM_FRAME_MAX);
	for (k = 0; k < nt; k++) {
		if (!takes_part(&tg[k], op, alone))
			continue;
		tg[k].busy_ns = 0;
		for (i = 0; i < warmup; i++) {
			if (build_op(op, &cmd, i, nv_index) != 0)
				die("build %s", op_names[op]);
			one_op(&tg[k], op, &cmd, i);
		}
	}
	for (base = 0; base < iters; base += BLOCK) {
		unsigned long lim = base + BLOCK < iters ? base + BLOCK : iters;

		for (k = 0; k < nt; k++) {
			uint64_t b0 = tc_now_ns();

			if (!takes_part(&tg[k], op, alone))
				continue;
			for (i = base; i < lim; i++) {
				uint64_t t0;

				/* Building is outside the timer: neither side's cost. */
				if (build_op(op, &cmd, i, nv_index) != 0)
					die("build %s", op_names[op]);
				t0 = tc_now_ns();
				one_op(&tg[k], op, &cmd, i);
				tg[k].lat[i] = tc_now_ns() - t0;
			}
			tg[k].busy_ns += tc_now_ns() - b0;
		}
	}
	for (k = 0; k < nt; k++) {
		const char *what = tg[k].dur != NULL ? "durable" : op_names[op];
		uint64_t sum = 0;

		if (!takes_part(&tg[k], op, alone))
			continue;
		for (i = 0; i < iters; i++)
			sum += tg[k].lat[i];
		qsort(tg[k].lat, iters, sizeof(uint64_t), cmp_u64);
		put_key(&tg[k], what, "p50_us", 1, pct_us(tg[k].lat, iters, 50));
		put_key(&tg[k], what, "p99_us", 1, pct_us(tg[k].lat, iters, 99));
		put_key(&tg[k], what, "mean_us", 1, (double)sum / (double)iters / 1000.0);
		put_key(&tg[k], what, "ops_s", 0, (double)iters * 1e9 / (double)tg[k].busy_ns);
	}
	fflush(stdout);
	buf_free(&cmd);
}

static void
nv_prepare(struct target *tg, int nt, uint32_t nv_index, int define)
{
	struct buf cmd;
	int k;

	buf_init(&cmd, TPM_FRAME_MAX);
	for (k = 0; k < nt; k++) {
		if (tg[k].dur != NULL)
			continue;
		if (tc_build_tpm2_nv_undefine(&cmd, nv_index) != 0)
			die("build NV_UndefineSpace");
		/* Before: a leftover index of an aborted run may or may not be
		 * there (a TPM_RC_HANDLE error when not).  After: it must be. */
		do_cmd(tg[k].fd, &cmd, define, "NV_UndefineSpace");
		if (!define)
			continue;
		if (tc_build_tpm2_nv_define(&cmd, nv_index, NV_SIZE,
					    TC_TPMA_NV_OWNERREAD | TC_TPMA_NV_OWNERWRITE) != 0)
			die("build NV_DefineSpace");
		do_cmd(tg[k].fd, &cmd, 0, "NV_DefineSpace");
	}
	buf_free(&cmd);
}

/* "getrandom,nvwrite" -> bit mask of enum op. */
static unsigned
parse_ops(const char *list)
{
	unsigned mask = 0;
	const char *p = list;

	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		int o, found = 0;

		for (o = 0; o < OP_COUNT; o++)
			if (strlen(op_names[o]) == n && strncmp(p, op_names[o], n) == 0) {
				mask |= 1u << o;
				found = 1;
			}
		if (!found)
			die("--ops: unknown operation '%.*s' (getrandom, pcrextend, nvwrite)", (int)n,
			    p);
		p += n;
		if (*p == ',')
			p++;
	}
	if (mask == 0)
		die("--ops: no operation");
	return mask;
}

static int
cmd_run(int argc, char **argv)
{
	struct target tg[MAX_TARGETS];
	struct durable dur = { .dirfd = -1 };
	unsigned long iters = 2000, warmup = 100;
	uint32_t nv_index = 0x01500020;
	unsigned ops = (1u << OP_COUNT) - 1;
	int i, k, nt = 0, nsock;

	memset(tg, 0, sizeof(tg));
	for (i = 0; i < argc; i++) {
		if ((strcmp(argv[i], "--socket") == 0 || strcmp(argv[i], "--target") == 0) &&
		    i + 1 < argc) {
			char *eq;

			if (nt == MAX_TARGETS - 1)
				die("at most %d targets", MAX_TARGETS - 1);
			tg[nt].name = "";
			tg[nt].path = argv[i + 1];
			if (strcmp(argv[i], "--target") == 0) {
				if ((eq = strchr(argv[i + 1], '=')) == NULL || eq == argv[i + 1])
					die("--target wants NAME=PATH");
				*eq = '\0';
				if (strcmp(argv[i + 1], "durable") == 0)
					die("--target: the name 'durable' is taken by --durable");
				tg[nt].name = argv[i + 1];
				tg[nt].path = eq + 1;
			}
			nt++;
			i++;
		} else if (strcmp(argv[i], "--iters") == 0 && i + 1 < argc) {
			iters = num(argv[++i], 10000000, "iteration count");
		} else if (strcmp(argv[i], "--warmup") == 0 && i + 1 < argc) {
			warmup = num(argv[++i], 10000000, "warm-up count");
		} else if (strcmp(argv[i], "--nv-index") == 0 && i + 1 < argc) {
			nv_index = (uint32_t)num(argv[++i], UINT32_MAX, "NV index");
		} else if (strcmp(argv[i], "--ops") == 0 && i + 1 < argc) {
			ops = parse_ops(argv[++i]);
		} else if (strcmp(argv[i], "--durable") == 0 && i + 1 < argc) {
			dur.dir = argv[++i];
		} else if (strcmp(argv[i], "--durable-size") == 0 && i + 1 < argc) {
			dur.size = num(argv[++i], DURABLE_MAX, "durable save size");
		} else if (strcmp(argv[i], "--durable-size-of") == 0 && i + 1 < argc) {
			dur.size_of = argv[++i];
		} else {
			die("run: unknown argument '%s'", argv[i]);
		}
	}
	nsock = nt;
	if (nsock == 0 || iters == 0)
		die("run needs --socket PATH or --target NAME=PATH, and --iters >= 1");
	if (dur.dir != NULL) {
		if ((dur.size == 0) == (dur.size_of == NULL))
			die("--durable needs one of --durable-size N and --durable-size-of FILE");
		if (!(ops & (1u << OP_NVWRITE)))
			die("--durable is measured alongside NV_Write: --ops must include nvwrite");
		tg[nt].name = "durable";
		tg[nt].path = dur.dir;
		tg[nt].dur = &dur;
		nt++;
	} else if (dur.size != 0 || dur.size_of != NULL) {
		die("--durable-size and --durable-size-of go with --durable DIR");
	}
	if (nt > 1)
		for (k = 0; k < nt; k++)
			if (tg[k].name[0] == '\0')
				die("several targets need names: --target NAME=PATH");
	for (k = 0; k < nt; k++) {
		if ((tg[k].lat = calloc(iters, sizeof(uint64_t))) == NULL)
			die("out of memory");
		if (tg[k].dur != NULL)
			continue;
		/* One persistent connection per target (a plain swtpm serves
		 * one data client at a time). */
		if ((tg[k].fd = tc_connect_retry(tg[k].path, FIRST_TIMEOUT_MS)) < 0)
			die("connect %s: %s", tg[k].path, strerror(-tg[k].fd));
	}

	if (ops & (1u << OP_GETRANDOM))
		measure(tg, nt, OP_GETRANDOM, iters, warmup, nv_index);
	if (ops & (1u << OP_PCREXTEND))
		measure(tg, nt, OP_PCREXTEND, iters, warmup, nv_index);
	if (ops & (1u << OP_NVWRITE)) {
		nv_prepare(tg, nt, nv_index, 1);
		/* After the index is defined: the TPM's state file has the
		 * size it keeps during the NV_Write run. */
		if (dur.dir != NULL) {
			durable_open(&dur);
			printf("durable.size_bytes %zu\n", dur.size);
		}
		measure(tg, nt, OP_NVWRITE, iters, warmup, nv_index);
		nv_prepare(tg, nt, nv_index, 0);
		if (dur.dir != NULL)
			durable_close(&dur);
	}

	for (k = 0; k < nt; k++) {
		if (tg[k].dur == NULL)
			close(tg[k].fd);
		free(tg[k].lat);
	}
	return 0;
}

static int
cmd_durable(int argc, char **argv)
{
	struct durable dur = { .dirfd = -1 };
	struct target t = { .name = "", .dur = &dur, .fd = -1 };
	unsigned long iters = 1000, warmup = 50;
	int i;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dur.dir = argv[++i];
		else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
			dur.size = num(argv[++i], DURABLE_MAX, "size");
		else if (strcmp(argv[i], "--size-of") == 0 && i + 1 < argc)
			dur.size_of = argv[++i];
		else if (strcmp(argv[i], "--iters") == 0 && i + 1 < argc)
			iters = num(argv[++i], 10000000, "iteration count");
		else if (strcmp(argv[i], "--warmup") == 0 && i + 1 < argc)
			warmup = num(argv[++i], 10000000, "warm-up count");
		else
			die("durable: unknown argument '%s'", argv[i]);
	}
	if (dur.dir == NULL || (dur.size == 0) == (dur.size_of == NULL) || iters == 0)
		die("durable needs --dir DIR, one of --size N and --size-of FILE, and --iters >= 1");
	t.path = dur.dir;
	if ((t.lat = calloc(iters, sizeof(uint64_t))) == NULL)
		die("out of memory");
	durable_open(&dur);
	printf("size_bytes %zu\n", dur.size);
	measure(&t, 1, OP_NVWRITE, iters, warmup, 0);
	durable_close(&dur);
	free(t.lat);
	return 0;
}

/* Forks argv with stdout on a pipe (stdin from /dev/null is not needed:
 * the tools read none); returns the pid and the read end in *rfd. */
static pid_t
spawn_piped(char **argv, int *rfd)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0)
		die("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		execvp(argv[0], argv);
		fprintf(stderr, "vtpm-bench: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	*rfd = p[0];
	return pid;
}

static int
wait_status(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	return st;
}

/* Runs argv with stdout on a pipe; its first line (trimmed) goes to line.
 * Returns the wait status. */
static int
capture(char **argv, char *line, size_t linemax)
{
	char sink[512];
	size_t n = 0;
	ssize_t r;
	int fd;
	pid_t pid = spawn_piped(argv, &fd);

	for (;;) {
		/* Keep the first linemax-1 bytes, drain the rest. */
		if (n + 1 < linemax)
			r = read(fd, line + n, linemax - 1 - n);
		else
			r = read(fd, sink, sizeof(sink));
		if (r == 0)
			break;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("read: %s", strerror(errno));
		}
		if (n + 1 < linemax)
			n += (size_t)r;
	}
	line[n] = '\0';
	close(fd);
	line[strcspn(line, "\r\n")] = '\0';
	return wait_status(pid);
}

/* The same, failing loudly. */
static void
run_capture(char **argv, char *line, size_t linemax)
{
	int st = capture(argv, line, linemax);

	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("%s failed (status 0x%x)", argv[0], st);
}

static int
cmd_first(int argc, char **argv)
{
	const char *sock = NULL, *run_dir = NULL;
	char path[PATH_MAX], uuid[256];
	uint8_t resp[TPM_FRAME_MAX];
	uint64_t t0, t1;
	int i, spawn = 0, own_session = 0, fd, e;
	pid_t pid = -1;
	struct buf cmd;
	size_t len = 0;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc)
			sock = argv[++i];
		else if (strcmp(argv[i], "--run-dir") == 0 && i + 1 < argc)
			run_dir = argv[++i];
		else if (strcmp(argv[i], "--spawn") == 0)
			spawn = 1;
		else if (strcmp(argv[i], "--setsid") == 0)
			own_session = 1;
		else if (strcmp(argv[i], "--") == 0)
			break;
		else
			die("first: unknown argument '%s'", argv[i]);
	}
	if (i + 1 >= argc)
		die("first: missing -- CMD");
	argv += i + 1;
	if (spawn ? sock == NULL : run_dir == NULL)
		die("first needs --spawn --socket PATH or --run-dir DIR");
	if (own_session && !spawn)
		die("first: --setsid goes with --spawn");

	buf_init(&cmd, TPM_FRAME_MAX);
	if (tc_build_tpm2_getrandom(&cmd, 32) != 0)
		die("build GetRandom");
	t0 = tc_now_ns();
	if (spawn) {
		pid = fork();
		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (pid == 0) {
			if (own_session && setsid() < 0)
				_exit(126);
			/* Keep our stdout for the figures. */
			dup2(STDERR_FILENO, STDOUT_FILENO);
			execvp(argv[0], argv);
			fprintf(stderr, "vtpm-bench: exec %s: %s\n", argv[0], strerror(errno));
			_exit(127);
		}
	} else {
		run_capture(argv, uuid, sizeof(uuid));
		if ((size_t)snprintf(path, sizeof(path), "%s/%s.sock", run_dir, uuid) >= sizeof(path))
			die("socket path too long");
		sock = path;
	}
	fd = tc_connect_retry(sock, FIRST_TIMEOUT_MS);
	if (fd < 0)
		die("connect %s: %s", sock, strerror(-fd));
	e = tc_tpm_transact(fd, cmd.d, cmd.len, resp, sizeof(resp), &len, FIRST_TIMEOUT_MS);
	t1 = tc_now_ns();
	if (e != 0)
		die("first GetRandom: %s", strerror(-e));
	if (tc_tpm_rc(resp, len) != 0)
		die("first GetRandom: TPM rc 0x%x", tc_tpm_rc(resp, len));
	close(fd);
	buf_free(&cmd);
	printf("first_ms %.2f\n", (double)(t1 - t0) / 1e6);
	if (spawn)
		printf("pid %ld\n", (long)pid);
	else
		printf("uuid %s\n", uuid);
	return 0;
}

/* ---- wake: many servers answering their first command at once ---- */

#define WAKE_MAX 4096
#define WAKE_RESP_MAX 256 /* a GetRandom(32) response is 44 bytes */
#define WAKE_RETRY_NS 1000000u      /* refused / backlog full: again in 1 ms */
#define WAKE_ABSENT_NS 50000000u    /* absent: inotify says when; else 50 ms */

enum wake_state { W_CONNECT, W_SEND, W_RECV, W_DONE };

struct waker {
	char *path;
	const char *base;   /* last component, for inotify events */
	char *statedir;     /* --swtpm */
	int fd, wd;
	enum wake_state st;
	uint64_t next_try_ns, done_ns;
	size_t sent, got;
	uint8_t resp[WAKE_RESP_MAX];
	pid_t pid;
};

/* Reads "PATH [STATEDIR]" lines; every length is bounded. */
static size_t
wake_read_list(const char *file, struct waker *w, int want_dirs)
{
	char line[2 * PATH_MAX + 8];
	size_t n = 0;
	unsigned long lineno = 0;
	FILE *f = fopen(file, "re");

	if (f == NULL)
		die("wake: cannot open %s: %s", file, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		char *sp, *p = line;
		size_t len = strlen(line);

		lineno++;
		if (len == 0 || line[len - 1] != '\n') {
			if (!feof(f))
				die("%s:%lu: line too long", file, lineno);
		} else {
			line[--len] = '\0';
		}
		if (len == 0)
			continue;
		if (n == WAKE_MAX)
			die("%s: more than %d lines", file, WAKE_MAX);
		sp = strchr(p, ' ');
		if ((sp != NULL) != want_dirs)
			die("%s:%lu: want %s", file, lineno,
			    want_dirs ? "SOCKET STATEDIR (with --swtpm)" : "one socket path");
		if (sp != NULL)
			*sp = '\0';
		if (strlen(p) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			die("%s:%lu: socket path too long for a UNIX socket", file, lineno);
		memset(&w[n], 0, sizeof(w[n]));
		if ((w[n].path = strdup(p)) == NULL ||
		    (sp != NULL && (w[n].statedir = strdup(sp + 1)) == NULL))
			die("out of memory");
		w[n].base = strrchr(w[n].path, '/') != NULL ? strrchr(w[n].path, '/') + 1
							    : w[n].path;
		w[n].fd = -1;
		w[n].wd = -1;
		w[n].pid = -1;
		n++;
	}
	if (ferror(f))
		die("wake: read %s: %s", file, strerror(errno));
	fclose(f);
	if (n == 0)
		die("wake: %s lists no socket", file);
	return n;
}

static void
wake_try_connect(struct waker *w, uint64_t now)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, w->path, strlen(w->path) + 1); /* length checked on reading */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		w->fd = fd;
		w->st = W_SEND;
		return;
	}
	if (errno != ENOENT && errno != ECONNREFUSED && errno != EAGAIN)
		die("connect %s: %s", w->path, strerror(errno));
	w->next_try_ns = now + (errno == ENOENT ? WAKE_ABSENT_NS : WAKE_RETRY_NS);
	close(fd);
}

/* Reads what is there of w's response; W_DONE once complete. */
static void
wake_recv(struct waker *w, uint64_t now)
{
	uint32_t size = 0;
	size_t want;
	ssize_t r;
	enum tpm_frame_status fs = TPM_FRAME_INCOMPLETE;

	if (w->got >= TPM_HDR_SIZE)
		fs = tpm_frame_check(w->resp, w->got, sizeof(w->resp), &size);
	if (fs == TPM_FRAME_BAD)
		die("%s: response header size out of range", w->path);
	want = w->got < TPM_HDR_SIZE ? TPM_HDR_SIZE : size;
	r = read(w->fd, w->resp + w->got, want - w->got);
	if (r < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		die("read %s: %s", w->path, strerror(errno));
	}
	if (r == 0)
		die("%s closed the connection before answering (%zu bytes read)", w->path, w->got);
	w->got += (size_t)r;
	if (w->got < TPM_HDR_SIZE)
		return;
	fs = tpm_frame_check(w->resp, w->got, sizeof(w->resp), &size);
	if (fs == TPM_FRAME_BAD)
		die("%s: response header size out of range (over %d bytes?)", w->path,
		    WAKE_RESP_MAX);
	if (fs == TPM_FRAME_OK) {
		if (tc_tpm_rc(w->resp, w->got) != 0)
			die("%s: GetRandom: TPM rc 0x%x", w->path, tc_tpm_rc(w->resp, w->got));
		w->st = W_DONE;
		w->done_ns = now;
	}
}

static void
wake_spawn_swtpm(struct waker *w, const char *bin, int own_session)
{
	char server[PATH_MAX + 32], ctrl[PATH_MAX + 40], state[PATH_MAX + 16];
	pid_t pid, parent = getpid();

	if ((size_t)snprintf(server, sizeof(server), "type=unixio,path=%s", w->path) >=
		    sizeof(server) ||
	    (size_t)snprintf(ctrl, sizeof(ctrl), "type=unixio,path=%s.ctrl", w->path) >=
		    sizeof(ctrl) ||
	    (size_t)snprintf(state, sizeof(state), "dir=%s", w->statedir) >= sizeof(state))
		die("swtpm argument too long");
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		char *argv[] = { (char *)bin, "socket", "--tpm2", "--server", server, "--ctrl",
				 ctrl, "--flags", "not-need-init,startup-clear", "--tpmstate",
				 state, NULL };

		/* Even a vtpm-bench killed by SIGKILL leaves no swtpm behind. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent ||
		    (own_session && setsid() < 0))
			_exit(126);
		dup2(STDERR_FILENO, STDOUT_FILENO);
		execvp(bin, argv);
		fprintf(stderr, "vtpm-bench: exec %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	w->pid = pid;
	g_children[g_nchildren++] = pid;
}

/* VmRSS of pid in kB, or -1. */
static long
rss_kb(pid_t pid)
{
	char path[64], text[8192], *p, *end;
	ssize_t n;
	size_t got = 0;
	long v;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	while (got + 1 < sizeof(text) && (n = read(fd, text + got, sizeof(text) - 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	text[got] = '\0';
	if ((p = strstr(text, "\nVmRSS:")) == NULL)
		return -1;
	errno = 0;
	v = strtol(p + 7, &end, 10);
	if (errno != 0 || end == p + 7 || v < 0)
		return -1;
	return v;
}

static int
cmp_waker_done(const void *a, const void *b)
{
	return cmp_u64(&((const struct waker *)a)->done_ns, &((const struct waker *)b)->done_ns);
}

static int
cmd_wake(int argc, char **argv)
{
	const char *list = NULL, *swtpm = NULL;
	unsigned long timeout_ms = 120000;
	struct waker *w;
	struct pollfd *pfd;
	size_t n, i, ndone = 0, *which;
	uint8_t req[64];
	size_t reqlen;
	struct buf cmd;
	uint64_t t0, t_spawned = 0, deadline;
	int ino, k, own_session = 0;

	for (k = 0; k < argc; k++) {
		if (strcmp(argv[k], "--list") == 0 && k + 1 < argc)
			list = argv[++k];
		else if (strcmp(argv[k], "--swtpm") == 0 && k + 1 < argc)
			swtpm = argv[++k];
		else if (strcmp(argv[k], "--setsid") == 0)
			own_session = 1;
		else if (strcmp(argv[k], "--timeout-ms") == 0 && k + 1 < argc)
			timeout_ms = num(argv[++k], 3600000, "timeout");
		else
			die("wake: unknown argument '%s'", argv[k]);
	}
	if (list == NULL)
		die("wake needs --list FILE");
	if (own_session && swtpm == NULL)
		die("wake: --setsid goes with --swtpm");
	if ((w = calloc(WAKE_MAX, sizeof(*w))) == NULL ||
	    (pfd = calloc(WAKE_MAX + 1, sizeof(*pfd))) == NULL ||
	    (which = calloc(WAKE_MAX + 1, sizeof(*which))) == NULL ||
	    (g_children = calloc(WAKE_MAX, sizeof(*g_children))) == NULL)
		die("out of memory");
	n = wake_read_list(list, w, swtpm != NULL);
	signal(SIGTERM, on_fatal_signal);
	signal(SIGINT, on_fatal_signal);
	signal(SIGHUP, on_fatal_signal);

	buf_init(&cmd, TPM_FRAME_MAX);
	if (tc_build_tpm2_getrandom(&cmd, 32) != 0 || cmd.len > sizeof(req))
		die("build GetRandom");
	memcpy(req, cmd.d, cmd.len);
	reqlen = cmd.len;
	buf_free(&cmd);

	/* Watch the sockets' directories before anything starts, so that no
	 * socket appears unnoticed. */
	if ((ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0)
		die("inotify_init1: %s", strerror(errno));
	for (i = 0; i < n; i++) {
		char dir[PATH_MAX];
		size_t dl = (size_t)(w[i].base - w[i].path);

		if (dl == 0) {
			snprintf(dir, sizeof(dir), ".");
		} else {
			memcpy(dir, w[i].path, dl - 1 == 0 ? 1 : dl - 1);
			dir[dl - 1 == 0 ? 1 : dl - 1] = '\0';
		}
		w[i].wd = inotify_add_watch(ino, dir, IN_CREATE | IN_MOVED_TO | IN_ATTRIB);
		if (w[i].wd < 0)
			die("inotify_add_watch %s: %s", dir, strerror(errno));
	}

	t0 = tc_now_ns();
	deadline = t0 + (uint64_t)timeout_ms * 1000000u;
	if (swtpm != NULL) {
		for (i = 0; i < n; i++)
			wake_spawn_swtpm(&w[i], swtpm, own_session);
		t_spawned = tc_now_ns();
	}
	while (ndone < n) {
		uint64_t now = tc_now_ns(), next = now + WAKE_ABSENT_NS;
		size_t np = 0;
		int wait_ms, pr;

		if (now >= deadline) {
			for (i = 0; i < n && w[i].st == W_DONE; i++)
				;
			die("wake: only %zu of %zu answered within %lu ms (first missing: %s)",
			    ndone, n, timeout_ms, w[i].path);
		}
		if (swtpm != NULL) {
			int st;
			pid_t pid = waitpid(-1, &st, WNOHANG);

			if (pid > 0) {
				for (i = 0; i < n && w[i].pid != pid; i++)
					;
				for (size_t c = 0; c < g_nchildren; c++)
					if (g_children[c] == pid)
						g_children[c] = -1;
				die("wake: swtpm for %s exited early (status 0x%x)",
				    i < n ? w[i].path : "?", st);
			}
		}
		pfd[np].fd = ino;
		pfd[np].events = POLLIN;
		which[np++] = SIZE_MAX;
		for (i = 0; i < n; i++) {
			if (w[i].st == W_CONNECT && w[i].next_try_ns <= now)
				wake_try_connect(&w[i], now);
			if (w[i].st == W_SEND) {
				ssize_t r = send(w[i].fd, req + w[i].sent, reqlen - w[i].sent,
						 MSG_NOSIGNAL);

				if (r < 0 && errno != EAGAIN && errno != EINTR)
					die("send %s: %s", w[i].path, strerror(errno));
				if (r > 0 && (w[i].sent += (size_t)r) == reqlen)
					w[i].st = W_RECV;
			}
			if (w[i].st == W_CONNECT && w[i].next_try_ns < next)
				next = w[i].next_try_ns;
			if (w[i].st == W_SEND || w[i].st == W_RECV) {
				pfd[np].fd = w[i].fd;
				pfd[np].events = w[i].st == W_SEND ? POLLOUT : POLLIN;
				which[np++] = i;
			}
		}
		now = tc_now_ns();
		wait_ms = next <= now ? 0 : (int)((next - now + 999999u) / 1000000u);
		pr = poll(pfd, np, wait_ms);
		if (pr < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		if (pr <= 0)
			continue;
		now = tc_now_ns();
		for (size_t p = 0; p < np; p++) {
			if (pfd[p].revents == 0)
				continue;
			if (which[p] == SIZE_MAX) {
				alignas(struct inotify_event) char ev[4096];
				ssize_t r = read(ino, ev, sizeof(ev));
				size_t off = 0;

				while (r > 0 && off + sizeof(struct inotify_event) <= (size_t)r) {
					const struct inotify_event *e =
						(const struct inotify_event *)(ev + off);

					if (off + sizeof(*e) + e->len > (size_t)r)
						break;
					if (e->len > 0)
						for (i = 0; i < n; i++)
							if (w[i].st == W_CONNECT &&
							    w[i].wd == e->wd &&
							    strncmp(w[i].base, e->name,
								    e->len) == 0 &&
							    strlen(w[i].base) < e->len)
								w[i].next_try_ns = 0;
					off += sizeof(*e) + e->len;
				}
				continue;
			}
			i = which[p];
			if (w[i].st == W_RECV) {
				wake_recv(&w[i], now);
				if (w[i].st == W_DONE)
					ndone++;
			}
		}
	}
	qsort(w, n, sizeof(*w), cmp_waker_done);
	printf("wake_count %zu\n", n);
	printf("wake_ms %.1f\n", (double)(w[n - 1].done_ns - t0) / 1e6);
	printf("wake_first_ms %.1f\n", (double)(w[0].done_ns - t0) / 1e6);
	printf("wake_p50_ms %.1f\n", (double)(w[(n - 1) / 2].done_ns - t0) / 1e6);
	if (swtpm != NULL) {
		long sum = 0, r;

		printf("spawn_ms %.1f\n", (double)(t_spawned - t0) / 1e6);
		for (i = 0; i < n; i++) {
			if ((r = rss_kb(w[i].pid)) < 0) {
				sum = -1;
				break;
			}
			sum += r;
		}
		if (sum >= 0)
			printf("rss_sum_kb %ld\n", sum);
	}
	fflush(stdout);
	for (i = 0; i < n; i++) {
		if (w[i].fd >= 0)
			close(w[i].fd);
		free(w[i].path);
		free(w[i].statedir);
	}
	reap_children(SIGTERM);
	close(ino);
	free(w);
	free(pfd);
	free(which);
	free(g_children);
	g_children = NULL;
	g_nchildren = 0;
	return 0;
}

/* ---- create: N definitions in a row ---- */

static int
cmd_create(int argc, char **argv)
{
	unsigned long count = 0, chunk = 1000, i;
	const char *uuids = NULL;
	uint64_t t0, tc, now, first_chunk_ns = 0, last_chunk_ns = 0;
	char line[256];
	FILE *out = NULL;
	int k;

	for (k = 0; k < argc; k++) {
		if (strcmp(argv[k], "--count") == 0 && k + 1 < argc)
			count = num(argv[++k], 10000000, "count");
		else if (strcmp(argv[k], "--chunk") == 0 && k + 1 < argc)
			chunk = num(argv[++k], 10000000, "chunk");
		else if (strcmp(argv[k], "--uuids") == 0 && k + 1 < argc)
			uuids = argv[++k];
		else if (strcmp(argv[k], "--") == 0)
			break;
		else
			die("create: unknown argument '%s'", argv[k]);
	}
	if (k + 1 >= argc || count == 0 || chunk == 0)
		die("create needs --count N (>= 1) and -- CMD");
	argv += k + 1;
	if (uuids != NULL && (out = fopen(uuids, "we")) == NULL)
		die("create: cannot write %s: %s", uuids, strerror(errno));
	t0 = tc = tc_now_ns();
	for (i = 0; i < count; i++) {
		int st = capture(argv, line, sizeof(line));

		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || line[0] == '\0') {
			fprintf(stderr, "vtpm-bench: create: %s failed (status 0x%x) after %lu "
				"created\n", argv[0], st, i);
			printf("create_stopped_at %lu\n", i);
			break;
		}
		if (out != NULL && fprintf(out, "%s\n", line) < 0)
			die("create: write %s: %s", uuids, strerror(errno));
		if ((i + 1) % chunk == 0) {
			now = tc_now_ns();
			if (first_chunk_ns == 0)
				first_chunk_ns = now - tc;
			last_chunk_ns = now - tc;
			tc = now;
			if (count > chunk)
				fprintf(stderr, "vtpm-bench: created %lu of %lu (%.0f/s over the "
					"last %lu)\n", i + 1, count,
					(double)chunk * 1e9 / (double)last_chunk_ns, chunk);
		}
	}
	now = tc_now_ns();
	if (out != NULL && fclose(out) != 0)
		die("create: write %s: %s", uuids, strerror(errno));
	printf("created %lu\n", i);
	printf("create_s %.2f\n", (double)(now - t0) / 1e9);
	if (i > 0)
		printf("create_per_s %.1f\n", (double)i * 1e9 / (double)(now - t0));
	if (first_chunk_ns != 0) {
		printf("create_chunk %lu\n", chunk);
		printf("create_first_chunk_per_s %.1f\n", (double)chunk * 1e9 / (double)first_chunk_ns);
		printf("create_last_chunk_per_s %.1f\n", (double)chunk * 1e9 / (double)last_chunk_ns);
	}
	return 0;
}

/* ---- time: a command's wall time, output counted ---- */

static int
cmd_time(int argc, char **argv)
{
	unsigned long runs = 3, r;
	uint64_t *t;
	size_t bytes = 0, lines = 0;
	int k;

	for (k = 0; k < argc; k++) {
		if (strcmp(argv[k], "--runs") == 0 && k + 1 < argc)
			runs = num(argv[++k], 1000, "run count");
		else if (strcmp(argv[k], "--") == 0)
			break;
		else
			die("time: unknown argument '%s'", argv[k]);
	}
	if (k + 1 >= argc || runs == 0)
		die("time needs --runs K (>= 1) and -- CMD");
	argv += k + 1;
	if ((t = calloc(runs, sizeof(*t))) == NULL)
		die("out of memory");
	for (r = 0; r < runs; r++) {
		uint8_t b[65536];
		uint64_t t0 = tc_now_ns();
		ssize_t n;
		int fd, st;
		pid_t pid = spawn_piped(argv, &fd);

		bytes = lines = 0;
		while ((n = read(fd, b, sizeof(b))) != 0) {
			if (n < 0) {
				if (errno == EINTR)
					continue;
				die("read: %s", strerror(errno));
			}
			bytes += (size_t)n;
			for (ssize_t j = 0; j < n; j++)
				lines += b[j] == '\n';
		}
		close(fd);
		st = wait_status(pid);
		t[r] = tc_now_ns() - t0;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			die("%s failed (status 0x%x)", argv[0], st);
	}
	qsort(t, runs, sizeof(*t), cmp_u64);
	printf("time_ms_min %.1f\n", (double)t[0] / 1e6);
	printf("time_ms_p50 %.1f\n", (double)t[(runs - 1) / 2] / 1e6);
	printf("time_ms_max %.1f\n", (double)t[runs - 1] / 1e6);
	printf("out_lines %zu\n", lines);
	printf("out_bytes %zu\n", bytes);
	free(t);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "run", cmd_run },	  { "durable", cmd_durable }, { "first", cmd_first },
		{ "wake", cmd_wake },	  { "create", cmd_create },   { "time", cmd_time },
	};

	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; argc >= 2 && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 2, argv + 2);
	fprintf(stderr,
		"usage: vtpm-bench run (--socket PATH | --target NAME=PATH...) [--iters N]\n"
		"                      [--warmup N] [--nv-index IDX] [--ops LIST]\n"
		"                      [--durable DIR (--durable-size N | --durable-size-of FILE)]\n"
		"       vtpm-bench durable --dir DIR (--size N | --size-of FILE) [--iters N]\n"
		"                          [--warmup N]\n"
		"       vtpm-bench first --spawn [--setsid] --socket PATH -- CMD [ARGS...]\n"
		"       vtpm-bench first --run-dir DIR -- CMD [ARGS...]\n"
		"       vtpm-bench wake --list FILE [--swtpm BIN [--setsid]] [--timeout-ms N]\n"
		"       vtpm-bench create --count N [--chunk K] [--uuids FILE] -- CMD [ARGS...]\n"
		"       vtpm-bench time [--runs K] -- CMD [ARGS...]\n");
	return 1;
}
