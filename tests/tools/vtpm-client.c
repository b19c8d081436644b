/*
 * vtpm-client.c - command-line TPM / swtpm-control / FIFO client for the
 * integration tests and for poking at a running manager by hand.  Prints
 * replies as hex on stdout; exits 0 when the TPM (or the control channel)
 * answered with the expected return code (0, or --expect RC), 2 when it
 * answered with another one (raw commands too: their reply is printed
 * first), 1 on anything else, with a one-line message on stderr.  Run
 * without arguments for usage.
 */
#include "tests/lib/tpmclient.h"

#include "util/buf.h"
#include "util/ctrl_proto.h"
#include "util/tpm_frame.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_POS 8
#define MAX_CLIENTS 64
#define EXIT_TPM_ERROR 2

static const char usage_text[] =
	"usage: vtpm-client MODE [options] COMMAND [ARGS]\n"
	"modes and options:\n"
	"  tpm  --socket PATH [--clients K]   TPM commands on a data socket\n"
	"  fifo --dir DIR --instance N [--frame]  TPM commands through DIR/in and DIR/out;\n"
	"       --frame: take the next reply frame whatever its instance, and\n"
	"       print raw replies with their 4-byte instance prefix\n"
	"  ctrl --socket PATH.ctrl            swtpm control commands\n"
	"  flood (--socket PATH | --dir DIR --instance N) KIND   hostile input\n"
	"  common: --timeout MS (default 10000), --tpm12 (getrandom as TPM 1.2),\n"
	"          --expect RC: the return code that counts as success (default 0)\n"
	"TPM commands (tpm, fifo):\n"
	"  getrandom N | raw HEX | startup [clear|state] | pcrextend PCR HEX32\n"
	"  nvdefine IDX SIZE [ATTRS] | nvundefine IDX | nvwrite IDX HEX [OFF] | nvread IDX SIZE [OFF]\n"
	"  --clients K: K connections at once; client i runs getrandom N+i (getrandom only)\n"
	"  keygen SECONDS: RSA-2048 CreatePrimary + FlushContext on one connection, again\n"
	"       and again for SECONDS; prints 'keygens N median_ms M max_ms X'\n"
	"  latency SECONDS [GAP_US]: GetRandom(8) on one connection every GAP_US (default\n"
	"       1000) for SECONDS; prints 'samples N p50_us A p90_us B p99_us C max_us D'\n"
	"control commands (ctrl):\n"
	"  getcap | init [FLAGS] | shutdown | stop | setlocality L [--pad4] | storevolatile\n"
	"  setbuffersize N | getconfig | gettpmest | resettpmest L | raw HEX\n"
	"flood KINDs (prints 'response HEX', 'closed' or 'timeout'):\n"
	"  size:N        a GetRandom header declaring N bytes (body sent when N <= 65536)\n"
	"  trunc:DECL:SENT  declares DECL, sends SENT bytes, then half-closes (socket)\n"
	"  short:N       only the first N (< 10) header bytes, then half-close (socket)\n";

struct opts {
	const char *socket;
	const char *dir;
	long instance;
	int timeout_ms;
	int clients;
	int tpm12;
	int pad4;
	int frame;
	uint32_t expect; /* return code that means success */
	const char *pos[MAX_POS];
	int npos;
};

static void __attribute__((format(printf, 1, 2), noreturn))
die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("vtpm-client: ", stderr);
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

static void
parse_opts(int argc, char **argv, struct opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->instance = -1;
	o->timeout_ms = TC_TIMEOUT_MS;
	o->clients = 1;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];
		int has_val = i + 1 < argc;

		if (strcmp(a, "--socket") == 0 && has_val)
			o->socket = argv[++i];
		else if (strcmp(a, "--dir") == 0 && has_val)
			o->dir = argv[++i];
		else if (strcmp(a, "--instance") == 0 && has_val)
			o->instance = (long)num(argv[++i], UINT32_MAX, "instance");
		else if (strcmp(a, "--timeout") == 0 && has_val)
			o->timeout_ms = (int)num(argv[++i], 3600000, "timeout");
		else if (strcmp(a, "--clients") == 0 && has_val)
			o->clients = (int)num(argv[++i], MAX_CLIENTS, "client count");
		else if (strcmp(a, "--tpm12") == 0)
			o->tpm12 = 1;
		else if (strcmp(a, "--pad4") == 0)
			o->pad4 = 1;
		else if (strcmp(a, "--frame") == 0)
			o->frame = 1;
		else if (strcmp(a, "--expect") == 0 && has_val)
			o->expect = (uint32_t)num(argv[++i], UINT32_MAX, "expected return code");
		else if (strncmp(a, "--", 2) == 0)
			die("unknown option or missing value: %s", a);
		else if (o->npos < MAX_POS)
			o->pos[o->npos++] = a;
		else
			die("too many arguments");
	}
	if (o->npos == 0)
		die("missing command (run without arguments for usage)");
	if (o->clients < 1)
		die("--clients must be at least 1");
}

static void
need_args(const struct opts *o, int min, int max)
{
	if (o->npos - 1 < min || o->npos - 1 > max)
		die("wrong number of arguments for '%s'", o->pos[0]);
}

/* ---- transport: one data socket or the FIFO with an instance -------- */

struct target {
	int fd;           /* data socket, or -1 */
	struct tc_fifo f; /* FIFO, when fd < 0 */
	uint32_t instance;
	int any_instance;      /* FIFO: take the next reply frame, whatever it names */
	uint32_t got_instance; /* FIFO: the prefix of the reply read */
	int timeout_ms;
};

static void
target_open(struct target *t, const struct opts *o, int fifo)
{
	int rc;

	t->fd = -1;
	t->f.in = t->f.out = -1;
	t->timeout_ms = o->timeout_ms;
	t->any_instance = o->frame;
	if (fifo) {
		if (o->dir == NULL || o->instance < 0)
			die("fifo needs --dir and --instance");
		t->instance = (uint32_t)o->instance;
		if ((rc = tc_fifo_open(&t->f, o->dir)) != 0)
			die("open FIFOs in %s: %s", o->dir, strerror(-rc));
		return;
	}
	if (o->socket == NULL)
		die("missing --socket");
	if ((t->fd = tc_connect(o->socket)) < 0)
		die("connect %s: %s", o->socket, strerror(-t->fd));
}

static void
target_close(struct target *t)
{
	if (t->fd >= 0)
		close(t->fd);
	tc_fifo_close(&t->f);
}

static int
target_send(struct target *t, const uint8_t *p, size_t len)
{
	if (t->fd >= 0)
		return tc_send(t->fd, p, len);
	return tc_fifo_send(&t->f, t->instance, p, len);
}

static int
target_recv(struct target *t, uint8_t *resp, size_t max, size_t *len)
{
	unsigned skipped = 0;
	int rc;

	if (t->fd >= 0)
		return tc_tpm_recv(t->fd, resp, max, len, t->timeout_ms, NULL);
	if (t->any_instance)
		return tc_fifo_recv(&t->f, &t->got_instance, resp, max, len, t->timeout_ms);
	t->got_instance = t->instance;
	rc = tc_fifo_recv_for(&t->f, t->instance, resp, max, len, t->timeout_ms, &skipped);
	if (skipped != 0)
		fprintf(stderr, "vtpm-client: note: dropped %u reply frame(s) for other instances\n",
			skipped);
	return rc;
}

static void
transact(struct target *t, const uint8_t *cmd, size_t cmdlen, uint8_t *resp, size_t max,
	 size_t *len)
{
	int rc = target_send(t, cmd, cmdlen);

	if (rc != 0)
		die("send: %s", strerror(-rc));
	rc = target_recv(t, resp, max, len);
	if (rc == -EPIPE || rc == -ECONNRESET)
		die("connection closed before a whole response arrived");
	if (rc != 0)
		die("receive: %s", strerror(-rc));
}

static void
check_built(int rc)
{
	if (rc != 0)
		die("cannot build command: %s", strerror(-rc));
}

/* The TPM (or control channel) answered rc: success when it is the one
 * the caller expects (--expect, default 0). */
static int
rc_outcome(uint32_t rc, uint32_t expect)
{
	if (rc == expect)
		return 0;
	fflush(stdout);
	if (expect != 0)
		fprintf(stderr, "vtpm-client: TPM error rc=0x%x (expected 0x%x)\n", rc, expect);
	else
		fprintf(stderr, "vtpm-client: TPM error rc=0x%x\n", rc);
	return EXIT_TPM_ERROR;
}

/* Checks the return code of commands whose response has no payload we print. */
static int
expect_success(const uint8_t *resp, size_t len, uint32_t expect)
{
	return rc_outcome(tc_tpm_rc(resp, len), expect);
}

static int
parse_result(int e, uint32_t rc, uint32_t expect)
{
	if (e == -EPROTO)
		return rc_outcome(rc, expect);
	die("malformed response");
}

/* ---- TPM commands --------------------------------------------------- */

static int
getrandom_multi(const struct opts *o, unsigned long n)
{
	uint8_t resp[TPM_FRAME_MAX];
	int fds[MAX_CLIENTS];
	struct buf cmd;
	int i, rc, ret = 0;

	if (o->tpm12)
		die("--clients supports TPM 2.0 getrandom only");
	if (n + (unsigned long)o->clients > 1024)
		die("getrandom size too large");
	if (o->socket == NULL)
		die("missing --socket");
	buf_init(&cmd, TPM_FRAME_MAX);
	/* Connect everyone and send everything before reading anything, so the
	 * server really has K clients with a command each. */
	for (i = 0; i < o->clients; i++) {
		if ((fds[i] = tc_connect(o->socket)) < 0)
			die("connect %s (client %d): %s", o->socket, i, strerror(-fds[i]));
	}
	for (i = 0; i < o->clients; i++) {
		check_built(tc_build_tpm2_getrandom(&cmd, (uint16_t)(n + (unsigned long)i)));
		if ((rc = tc_send(fds[i], cmd.d, cmd.len)) != 0)
			die("send (client %d): %s", i, strerror(-rc));
	}
	for (i = 0; i < o->clients; i++) {
		const uint8_t *data;
		size_t len = 0, dlen = 0;
		uint32_t trc = 0;

		rc = tc_tpm_recv(fds[i], resp, sizeof(resp), &len, o->timeout_ms, NULL);
		if (rc != 0)
			die("receive (client %d): %s", i, strerror(-rc));
		rc = tc_parse_tpm2_getrandom(resp, len, &data, &dlen, &trc);
		if (rc != 0) {
			ret = parse_result(rc, trc, o->expect);
		} else if (dlen != n + (unsigned long)i) {
			die("client %d asked for %lu bytes, got %zu: responses crossed", i,
			    n + (unsigned long)i, dlen);
		} else {
			tc_hex_print(data, dlen);
		}
		/* Close as we go: a plain swtpm serves the next client only once
		 * this one has gone. */
		close(fds[i]);
	}
	buf_free(&cmd);
	return ret;
}

/* ---- measurements (test_busy_isolation) ---------------------------- */

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The q-th quantile (0..100) of n sorted samples: the smallest sample at
 * or above which q% of all samples lie (nearest rank). */
static uint64_t
quantile(const uint64_t *v, size_t n, unsigned q)
{
	size_t rank = (n * q + 99) / 100;

	return v[rank == 0 ? 0 : rank - 1];
}

static void
timed_transact(int fd, const struct buf *cmd, uint8_t *resp, size_t *len, int timeout_ms,
	       uint64_t *ns)
{
	uint64_t t0 = tc_now_ns();
	int rc = tc_tpm_transact(fd, cmd->d, cmd->len, resp, TPM_FRAME_MAX, len, timeout_ms);

	if (rc != 0)
		die("transaction: %s", strerror(-rc));
	*ns = tc_now_ns() - t0;
}

static int
run_keygen(const struct opts *o, unsigned long seconds)
{
	uint8_t resp[TPM_FRAME_MAX];
	uint64_t *ms = NULL, end, ns, ns2;
	size_t n = 0, cap = 0, len;
	uint32_t handle, rc;
	struct buf cmd;
	int fd;

	if (o->socket == NULL)
		die("keygen needs --socket");
	if ((fd = tc_connect(o->socket)) < 0)
		die("connect %s: %s", o->socket, strerror(-fd));
	buf_init(&cmd, TPM_FRAME_MAX);
	end = tc_now_ns() + seconds * 1000000000ull;
	while (tc_now_ns() < end) {
		check_built(tc_build_tpm2_create_primary_rsa2048(&cmd, (uint32_t)n + 1));
		timed_transact(fd, &cmd, resp, &len, o->timeout_ms, &ns);
		if (tc_parse_tpm2_create_primary(resp, len, &handle, &rc) != 0)
			die("CreatePrimary %zu: %s (rc 0x%x)", n + 1,
			    rc != 0 ? "TPM error" : "malformed response", rc);
		/* Flushed at once: the TPM never runs out of object slots. */
		check_built(tc_build_tpm2_flush_context(&cmd, handle));
		timed_transact(fd, &cmd, resp, &len, o->timeout_ms, &ns2);
		if (tc_tpm_rc(resp, len) != 0)
			die("FlushContext 0x%x: rc 0x%x", handle, tc_tpm_rc(resp, len));
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((ms = realloc(ms, cap * sizeof(*ms))) == NULL)
				die("out of memory");
		}
		ms[n++] = ns / 1000000;
	}
	close(fd);
	buf_free(&cmd);
	if (n == 0)
		die("no key generated in %lu s", seconds);
	qsort(ms, n, sizeof(*ms), cmp_u64);
	printf("keygens %zu median_ms %llu max_ms %llu\n", n,
	       (unsigned long long)quantile(ms, n, 50), (unsigned long long)ms[n - 1]);
	free(ms);
	return 0;
}

static int
run_latency(const struct opts *o, unsigned long seconds, unsigned long gap_us)
{
	uint8_t resp[TPM_FRAME_MAX];
	const uint8_t *data;
	uint64_t *us = NULL, end, ns;
	size_t n = 0, cap = 0, len, dlen;
	struct timespec gap = { (time_t)(gap_us / 1000000), (long)(gap_us % 1000000) * 1000 };
	uint32_t rc;
	struct buf cmd;
	int fd;

	if (o->socket == NULL)
		die("latency needs --socket");
	if ((fd = tc_connect(o->socket)) < 0)
		die("connect %s: %s", o->socket, strerror(-fd));
	buf_init(&cmd, TPM_FRAME_MAX);
	check_built(tc_build_tpm2_getrandom(&cmd, 8));
	end = tc_now_ns() + seconds * 1000000000ull;
	while (tc_now_ns() < end) {
		timed_transact(fd, &cmd, resp, &len, o->timeout_ms, &ns);
		if (tc_parse_tpm2_getrandom(resp, len, &data, &dlen, &rc) != 0 || dlen != 8)
			die("GetRandom %zu: bad response (rc 0x%x)", n + 1, rc);
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			if ((us = realloc(us, cap * sizeof(*us))) == NULL)
				die("out of memory");
		}
		us[n++] = ns / 1000;
		if (gap_us != 0)
			(void)nanosleep(&gap, NULL);
	}
	close(fd);
	buf_free(&cmd);
	if (n == 0)
		die("no GetRandom answered in %lu s", seconds);
	qsort(us, n, sizeof(*us), cmp_u64);
	printf("samples %zu p50_us %llu p90_us %llu p99_us %llu max_us %llu\n", n,
	       (unsigned long long)quantile(us, n, 50), (unsigned long long)quantile(us, n, 90),
	       (unsigned long long)quantile(us, n, 99), (unsigned long long)us[n - 1]);
	free(us);
	return 0;
}

static int
run_tpm(const struct opts *o, int fifo)
{
	const char *c = o->pos[0];
	uint8_t resp[TPM_FRAME_MAX], data_in[TPM_FRAME_MAX];
	const uint8_t *data;
	size_t len = 0, dlen = 0;
	uint32_t trc = 0;
	struct target t;
	struct buf cmd;
	int ret = 0, e;
	long hl;

	if (!fifo && strcmp(c, "keygen") == 0) {
		need_args(o, 1, 1);
		return run_keygen(o, num(o->pos[1], 3600, "seconds"));
	}
	if (!fifo && strcmp(c, "latency") == 0) {
		need_args(o, 1, 2);
		return run_latency(o, num(o->pos[1], 3600, "seconds"),
				   o->npos == 3 ? num(o->pos[2], 1000000, "gap") : 1000);
	}
	if (o->clients > 1) {
		if (fifo || strcmp(c, "getrandom") != 0)
			die("--clients works with 'tpm ... getrandom' only");
		need_args(o, 1, 1);
		return getrandom_multi(o, num(o->pos[1], 1024, "byte count"));
	}
	buf_init(&cmd, TPM_FRAME_MAX);
	if (strcmp(c, "getrandom") == 0) {
		need_args(o, 1, 1);
		if (o->tpm12)
			e = tc_build_tpm12_getrandom(&cmd, (uint32_t)num(o->pos[1], 4096, "byte count"));
		else
			e = tc_build_tpm2_getrandom(&cmd, (uint16_t)num(o->pos[1], 1024, "byte count"));
		check_built(e);
	} else if (strcmp(c, "raw") == 0) {
		need_args(o, 1, 1);
		hl = tc_hex_decode(o->pos[1], data_in, sizeof(data_in));
		if (hl < 0)
			die("bad hex command");
		check_built(buf_put_bytes(&cmd, data_in, (size_t)hl) != 0 ? -ENOBUFS : 0);
	} else if (strcmp(c, "startup") == 0) {
		uint16_t su = TC_TPM2_SU_CLEAR;

		need_args(o, 0, 1);
		if (o->npos == 2 && strcmp(o->pos[1], "state") == 0)
			su = TC_TPM2_SU_STATE;
		else if (o->npos == 2 && strcmp(o->pos[1], "clear") != 0)
			die("startup takes 'clear' or 'state'");
		check_built(tc_build_tpm2_startup(&cmd, su));
	} else if (strcmp(c, "pcrextend") == 0) {
		need_args(o, 2, 2);
		if (tc_hex_decode(o->pos[2], data_in, sizeof(data_in)) != 32)
			die("pcrextend needs a 32-byte sha256 digest in hex");
		check_built(tc_build_tpm2_pcr_extend_sha256(
			&cmd, (uint32_t)num(o->pos[1], 23, "PCR"), data_in));
	} else if (strcmp(c, "nvdefine") == 0) {
		uint32_t attrs = TC_TPMA_NV_OWNERREAD | TC_TPMA_NV_OWNERWRITE;

		need_args(o, 2, 3);
		if (o->npos == 4)
			attrs = (uint32_t)num(o->pos[3], UINT32_MAX, "attributes");
		check_built(tc_build_tpm2_nv_define(&cmd, (uint32_t)num(o->pos[1], UINT32_MAX, "index"),
						    (uint16_t)num(o->pos[2], 2048, "size"), attrs));
	} else if (strcmp(c, "nvundefine") == 0) {
		need_args(o, 1, 1);
		check_built(tc_build_tpm2_nv_undefine(&cmd, (uint32_t)num(o->pos[1], UINT32_MAX, "index")));
	} else if (strcmp(c, "nvwrite") == 0) {
		uint16_t off = 0;

		need_args(o, 2, 3);
		hl = tc_hex_decode(o->pos[2], data_in, 1024);
		if (hl < 0)
			die("bad hex data");
		if (o->npos == 4)
			off = (uint16_t)num(o->pos[3], 2048, "offset");
		check_built(tc_build_tpm2_nv_write(&cmd, (uint32_t)num(o->pos[1], UINT32_MAX, "index"),
						   data_in, (uint16_t)hl, off));
	} else if (strcmp(c, "nvread") == 0) {
		uint16_t off = 0;

		need_args(o, 2, 3);
		if (o->npos == 4)
			off = (uint16_t)num(o->pos[3], 2048, "offset");
		check_built(tc_build_tpm2_nv_read(&cmd, (uint32_t)num(o->pos[1], UINT32_MAX, "index"),
						  (uint16_t)num(o->pos[2], 1024, "size"), off));
	} else {
		die("unknown TPM command '%s'", c);
	}

	target_open(&t, o, fifo);
	transact(&t, cmd.d, cmd.len, resp, sizeof(resp), &len);
	target_close(&t);
	buf_free(&cmd);

	if (strcmp(c, "raw") == 0) {
		if (fifo && o->frame)
			printf("%08x", t.got_instance);
		tc_hex_print(resp, len);
		ret = expect_success(resp, len, o->expect);
	} else if (strcmp(c, "getrandom") == 0) {
		e = o->tpm12 ? tc_parse_tpm12_getrandom(resp, len, &data, &dlen, &trc)
			     : tc_parse_tpm2_getrandom(resp, len, &data, &dlen, &trc);
		if (e != 0)
			return parse_result(e, trc, o->expect);
		tc_hex_print(data, dlen);
	} else if (strcmp(c, "nvread") == 0) {
		e = tc_parse_tpm2_nv_read(resp, len, &data, &dlen, &trc);
		if (e != 0)
			return parse_result(e, trc, o->expect);
		tc_hex_print(data, dlen);
	} else {
		ret = expect_success(resp, len, o->expect);
	}
	return ret;
}

/* ---- control channel ------------------------------------------------ */

static int
run_ctrl(const struct opts *o)
{
	const char *c = o->pos[0];
	uint8_t body[CTRL_HASH_DATA_MAX + 8], resp[CTRL_STATEBLOB_MAX + 16];
	size_t blen = 0, rlen = 0;
	long code;
	int fd, rc;

	if (o->socket == NULL)
		die("missing --socket");
	if (strcmp(c, "raw") == 0) {
		long hl;

		need_args(o, 1, 1);
		hl = tc_hex_decode(o->pos[1], body, sizeof(body));
		if (hl < 4)
			die("raw needs hex of at least a 4-byte command code");
		code = (long)be32_get(body);
		blen = (size_t)hl - 4;
		memmove(body, body + 4, blen);
	} else {
		if ((code = tc_ctrl_code(c)) < 0)
			die("unknown control command '%s'", c);
		switch (code) {
		case CMD_INIT:
			need_args(o, 0, 1);
			be32_put(body, o->npos == 2 ? (uint32_t)num(o->pos[1], UINT32_MAX, "flags") : 0);
			blen = 4;
			break;
		case CMD_SET_LOCALITY:
		case CMD_RESET_TPMESTABLISHED:
			need_args(o, 1, 1);
			memset(body, 0, 4);
			body[0] = (uint8_t)num(o->pos[1], 255, "locality");
			blen = o->pad4 ? 4 : 1;
			break;
		case CMD_SET_BUFFERSIZE:
			need_args(o, 1, 1);
			be32_put(body, (uint32_t)num(o->pos[1], UINT32_MAX, "buffer size"));
			blen = 4;
			break;
		case CMD_GET_CAPABILITY:
		case CMD_SHUTDOWN:
		case CMD_GET_TPMESTABLISHED:
		case CMD_HASH_START:
		case CMD_HASH_END:
		case CMD_CANCEL_TPM_CMD:
		case CMD_STORE_VOLATILE:
		case CMD_STOP:
		case CMD_GET_CONFIG:
			need_args(o, 0, 0);
			break;
		default:
			die("'%s' needs arguments this tool does not build; use 'raw'", c);
		}
	}
	if ((fd = tc_connect(o->socket)) < 0)
		die("connect %s: %s", o->socket, strerror(-fd));
	rc = tc_ctrl_cmd(fd, (uint32_t)code, body, blen, resp, sizeof(resp), &rlen, o->timeout_ms);
	close(fd);
	if (rc == -EPIPE || rc == -ECONNRESET) {
		if (rlen == 0)
			die("connection closed without a reply");
		die("connection closed after %zu reply bytes", rlen);
	}
	if (rc != 0)
		die("control command: %s (after %zu reply bytes)", strerror(-rc), rlen);
	tc_hex_print(resp, rlen);
	if (rlen < 4)
		die("control reply of %zu bytes has no result code", rlen);
	return rc_outcome(be32_get(resp), o->expect);
}

/* ---- hostile input -------------------------------------------------- */

static int
run_flood(const struct opts *o)
{
	const char *k = o->pos[0];
	uint8_t resp[TPM_FRAME_MAX];
	unsigned long decl = 0, sent = 0;
	size_t len = 0, got = 0;
	int half_close = 0, fifo = o->socket == NULL, rc;
	uint8_t *pkt;
	struct target t;
	char *end;

	need_args(o, 0, 0);
	if (strncmp(k, "size:", 5) == 0) {
		decl = num(k + 5, UINT32_MAX, "size");
		sent = decl <= 65536 ? (decl < TPM_HDR_SIZE ? TPM_HDR_SIZE : decl) : TPM_HDR_SIZE;
	} else if (strncmp(k, "trunc:", 6) == 0) {
		errno = 0;
		decl = strtoul(k + 6, &end, 0);
		if (errno != 0 || *end != ':' || decl > UINT32_MAX)
			die("bad flood kind '%s'", k);
		sent = num(end + 1, 65536, "sent byte count");
		half_close = 1;
	} else if (strncmp(k, "short:", 6) == 0) {
		sent = num(k + 6, TPM_HDR_SIZE - 1, "header byte count");
		decl = 12;
		half_close = 1;
	} else {
		die("unknown flood kind '%s'", k);
	}

	/* A TPM2 GetRandom(8) header with the hostile size, then filler. */
	pkt = calloc(1, sent < TPM_HDR_SIZE + 2 ? TPM_HDR_SIZE + 2 : sent);
	if (pkt == NULL)
		die("out of memory");
	be16_put(pkt, TPM2_ST_NO_SESSIONS);
	be32_put(pkt + 2, (uint32_t)decl);
	be32_put(pkt + 6, TC_TPM2_CC_GET_RANDOM);
	be16_put(pkt + 10, 8);

	target_open(&t, o, fifo);
	if (fifo) {
		uint8_t *frame = malloc(4 + sent);

		if (frame == NULL)
			die("out of memory");
		be32_put(frame, t.instance);
		memcpy(frame + 4, pkt, sent);
		rc = tc_fifo_send_raw(&t.f, frame, 4 + sent);
		free(frame);
	} else {
		rc = tc_send(t.fd, pkt, sent);
		if (rc == 0 && half_close)
			shutdown(t.fd, SHUT_WR);
	}
	free(pkt);
	if (rc == -EPIPE || rc == -ECONNRESET) {
		printf("closed\n");
		target_close(&t);
		return 0;
	}
	if (rc != 0)
		die("send: %s", strerror(-rc));

	if (fifo) {
		rc = tc_fifo_recv_for(&t.f, t.instance, resp, sizeof(resp), &len, o->timeout_ms, NULL);
	} else {
		rc = tc_tpm_recv(t.fd, resp, sizeof(resp), &len, o->timeout_ms, &got);
	}
	target_close(&t);
	if (rc == 0) {
		printf("response ");
		tc_hex_print(resp, len);
	} else if (rc == -EPIPE || rc == -ECONNRESET) {
		if (got != 0)
			printf("closed after %zu bytes\n", got);
		else
			printf("closed\n");
	} else if (rc == -ETIMEDOUT) {
		printf("timeout\n");
	} else if (rc == -EBADMSG) {
		printf("badframe ");
		tc_hex_print(resp, TPM_HDR_SIZE);
	} else {
		die("receive: %s", strerror(-rc));
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct opts o;
	const char *mode;

	signal(SIGPIPE, SIG_IGN);
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? 1 : 0;
	}
	mode = argv[1];
	if (strcmp(mode, "tpm") != 0 && strcmp(mode, "fifo") != 0 && strcmp(mode, "ctrl") != 0 &&
	    strcmp(mode, "flood") != 0)
		die("unknown mode '%s' (tpm, fifo, ctrl, flood)", mode);
	parse_opts(argc - 2, argv + 2, &o);
	if (strcmp(mode, "tpm") == 0)
		return run_tpm(&o, 0);
	if (strcmp(mode, "fifo") == 0)
		return run_tpm(&o, 1);
	if (strcmp(mode, "ctrl") == 0)
		return run_ctrl(&o);
	return run_flood(&o);
}
