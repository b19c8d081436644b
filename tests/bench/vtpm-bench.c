/*
 * vtpm-bench.c - latency/throughput probe used by tests/bench/run-bench.sh.
 * The same client code (tests/lib/tpmclient.c, one persistent connection)
 * measures any swtpm-compatible data socket, so the manager's vTPMs and a
 * plain swtpm are compared like for like.  Output is "key value" lines.
 *
 *   vtpm-bench run (--socket PATH | --target NAME=PATH...) [--iters N]
 *                  [--warmup N] [--nv-index IDX]
 *       TPM2 GetRandom(32), PCR_Extend(sha256, PCR 16), NV_Write(64 B):
 *       [NAME.]<op>_p50_us, _p99_us, _mean_us, _ops_s.  Several targets are
 *       measured interleaved, in blocks of 50 operations each.
 *   vtpm-bench first --spawn --socket PATH -- CMD [ARGS...]
 *       starts CMD (a server, left running), polls PATH, times the first
 *       GetRandom(32) response: first_ms, pid
 *   vtpm-bench first --run-dir DIR -- CMD [ARGS...]
 *       runs CMD (e.g. vtpmctl create), reads the UUID it prints, connects
 *       DIR/<uuid>.sock, times the first GetRandom(32) response: first_ms, uuid
 */
#include "tests/lib/tpmclient.h"

#include "util/buf.h"
#include "util/tpm_frame.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NV_SIZE 64
#define FIRST_TIMEOUT_MS 10000

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

enum op { OP_GETRANDOM, OP_PCREXTEND, OP_NVWRITE };
static const char *const op_names[] = { "getrandom", "pcrextend", "nvwrite" };

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
	}
	return -EINVAL;
}

#define MAX_TARGETS 4
#define BLOCK 50 /* ops per target before switching to the next */

struct target {
	const char *name; /* key prefix; "" for a lone --socket */
	const char *path;
	int fd;
	uint64_t *lat;
	uint64_t busy_ns; /* wall time of this target's blocks */
};

/* One "[name.]op_what value" line; decimals: digits after the point. */
static void
put_key(const struct target *t, const char *op, const char *what, int decimals, double v)
{
	printf("%s%s%s_%s %.*f\n", t->name, t->name[0] != '\0' ? "." : "", op, what, decimals, v);
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
	struct buf cmd;
	unsigned long i, base;
	int k;

	buf_init(&cmd, TPM_FRAME_MAX);
	for (k = 0; k < nt; k++) {
		tg[k].busy_ns = 0;
		for (i = 0; i < warmup; i++) {
			if (build_op(op, &cmd, i, nv_index) != 0)
				die("build %s", op_names[op]);
			do_cmd(tg[k].fd, &cmd, 0, op_names[op]);
		}
	}
	for (base = 0; base < iters; base += BLOCK) {
		unsigned long lim = base + BLOCK < iters ? base + BLOCK : iters;

		for (k = 0; k < nt; k++) {
			uint64_t b0 = tc_now_ns();

			for (i = base; i < lim; i++) {
				uint64_t t0;

				/* Building is outside the timer: neither side's cost. */
				if (build_op(op, &cmd, i, nv_index) != 0)
					die("build %s", op_names[op]);
				t0 = tc_now_ns();
				do_cmd(tg[k].fd, &cmd, 0, op_names[op]);
				tg[k].lat[i] = tc_now_ns() - t0;
			}
			tg[k].busy_ns += tc_now_ns() - b0;
		}
	}
	for (k = 0; k < nt; k++) {
		uint64_t sum = 0;

		for (i = 0; i < iters; i++)
			sum += tg[k].lat[i];
		qsort(tg[k].lat, iters, sizeof(uint64_t), cmp_u64);
		put_key(&tg[k], op_names[op], "p50_us", 1, pct_us(tg[k].lat, iters, 50));
		put_key(&tg[k], op_names[op], "p99_us", 1, pct_us(tg[k].lat, iters, 99));
		put_key(&tg[k], op_names[op], "mean_us", 1,
			(double)sum / (double)iters / 1000.0);
		put_key(&tg[k], op_names[op], "ops_s", 0,
			(double)iters * 1e9 / (double)tg[k].busy_ns);
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

static int
cmd_run(int argc, char **argv)
{
	struct target tg[MAX_TARGETS];
	unsigned long iters = 2000, warmup = 100;
	uint32_t nv_index = 0x01500020;
	int i, k, nt = 0;

	memset(tg, 0, sizeof(tg));
	for (i = 0; i < argc; i++) {
		if ((strcmp(argv[i], "--socket") == 0 || strcmp(argv[i], "--target") == 0) &&
		    i + 1 < argc) {
			char *eq;

			if (nt == MAX_TARGETS)
				die("at most %d targets", MAX_TARGETS);
			tg[nt].name = "";
			tg[nt].path = argv[i + 1];
			if (strcmp(argv[i], "--target") == 0) {
				if ((eq = strchr(argv[i + 1], '=')) == NULL || eq == argv[i + 1])
					die("--target wants NAME=PATH");
				*eq = '\0';
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
		} else {
			die("run: unknown argument '%s'", argv[i]);
		}
	}
	if (nt == 0 || iters == 0)
		die("run needs --socket PATH or --target NAME=PATH, and --iters >= 1");
	if (nt > 1)
		for (k = 0; k < nt; k++)
			if (tg[k].name[0] == '\0')
				die("several targets need names: --target NAME=PATH");
	for (k = 0; k < nt; k++) {
		/* One persistent connection per target (a plain swtpm serves
		 * one data client at a time). */
		if ((tg[k].fd = tc_connect_retry(tg[k].path, FIRST_TIMEOUT_MS)) < 0)
			die("connect %s: %s", tg[k].path, strerror(-tg[k].fd));
		if ((tg[k].lat = calloc(iters, sizeof(uint64_t))) == NULL)
			die("out of memory");
	}

	measure(tg, nt, OP_GETRANDOM, iters, warmup, nv_index);
	measure(tg, nt, OP_PCREXTEND, iters, warmup, nv_index);
	nv_prepare(tg, nt, nv_index, 1);
	measure(tg, nt, OP_NVWRITE, iters, warmup, nv_index);
	nv_prepare(tg, nt, nv_index, 0);

	for (k = 0; k < nt; k++) {
		close(tg[k].fd);
		free(tg[k].lat);
	}
	return 0;
}

/* Runs argv with stdout on a pipe; returns its first line (trimmed). */
static void
run_capture(char **argv, char *line, size_t linemax)
{
	int p[2], st;
	pid_t pid;
	size_t n = 0;
	ssize_t r;

	if (pipe(p) != 0)
		die("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		close(p[0]);
		close(p[1]);
		execvp(argv[0], argv);
		fprintf(stderr, "vtpm-bench: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	while (n + 1 < linemax && (r = read(p[0], line + n, linemax - 1 - n)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("read: %s", strerror(errno));
		}
		n += (size_t)r;
	}
	line[n] = '\0';
	close(p[0]);
	if (waitpid(pid, &st, 0) < 0)
		die("waitpid: %s", strerror(errno));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("%s failed (status 0x%x)", argv[0], st);
	line[strcspn(line, "\r\n")] = '\0';
}

static int
cmd_first(int argc, char **argv)
{
	const char *sock = NULL, *run_dir = NULL;
	char path[PATH_MAX], uuid[256];
	uint8_t resp[TPM_FRAME_MAX];
	uint64_t t0, t1;
	int i, spawn = 0, fd, e;
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

	buf_init(&cmd, TPM_FRAME_MAX);
	if (tc_build_tpm2_getrandom(&cmd, 32) != 0)
		die("build GetRandom");
	t0 = tc_now_ns();
	if (spawn) {
		pid = fork();
		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (pid == 0) {
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

int
main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 2 && strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "first") == 0)
		return cmd_first(argc - 2, argv + 2);
	fprintf(stderr, "usage: vtpm-bench run (--socket PATH | --target NAME=PATH...) [--iters N]\n"
			"                      [--warmup N] [--nv-index IDX]\n"
			"       vtpm-bench first --spawn --socket PATH -- CMD [ARGS...]\n"
			"       vtpm-bench first --run-dir DIR -- CMD [ARGS...]\n");
	return 1;
}
