/*
 * vtpmd-drive.c - test driver for vtpmd: plays the manager's side of the
 * channel (util/chan.h) for one vtpmd, from a script read on stdin.
 *
 * It spawns vtpmd with the channel on fd 3, serves its NV requests from an
 * in-memory table (which survives stop + respawn, like the manager's
 * store), hands it a listening data socket <dir>/s, and relays swtpm
 * control requests arriving on <dir>/s.ctrl as CHAN_CTRL (what the
 * manager does), so tpm2-tss's swtpm TCTI works against it:
 *     tpm2_getrandom -T swtpm:path=$VTPM_SOCK 16
 *
 * Owns: a temporary directory, the sockets in it and the NV table.
 * Trusts: nothing from vtpmd beyond what chan_recv() checks; it is a test
 * tool, so on any surprise it prints and counts a failure.
 *
 * Usage: vtpmd-drive [-x VTPMD] [-d DIR] [-v] < script
 * Environment: VTPMD_WRAPPER="valgrind --leak-check=full ..." prefixes the
 * vtpmd command line (split at spaces).
 *
 * Script commands (one per line; '#' starts a comment; HEX may be split by
 * spaces; EXP is a hex prefix where '?' matches any nibble):
 *   spawn 2|1.2 [vtpmd options]   start vtpmd, wait for CHAN_READY
 *   spawnfail 2|1.2 [options]     same, but CHAN_READY must carry a non-zero rc
 *   listen                        pass <dir>/s with CHAN_LISTEN_FD
 *   tpm HEX [expect EXP]          CHAN_TPM_CMD -> CHAN_TPM_RESP
 *   ctrl HEX [expect EXP]         CHAN_CTRL -> CHAN_CTRL_RESP
 *   data HEX [expect EXP]         one connection to <dir>/s
 *   datafd HEX [expect EXP]       a socketpair end passed with CHAN_DATA_FD
 *   hold HEX                      connect to <dir>/s, send HEX (a partial command), keep it
 *   finish HEX [expect EXP]       send HEX on the held connection, read the response
 *   run SHELL-COMMAND             run it (VTPM_SOCK, VTPM_DIR set) while relaying control
 *   runfail SHELL-COMMAND         same, but a zero exit status is the failure
 *   stop [poweroff]               CHAN_STOP (with CHAN_STOP_POWER_OFF) ->
 *                                 CHAN_STOPPED, wait for exit 0
 *   wait [CODE]                   wait for vtpmd to exit by itself (e.g. after CMD_SHUTDOWN)
 *   close                         close the channel (manager gone), wait for exit 0
 *   send TYPE [HEX]               send an arbitrary message, no fd (protocol-violation tests)
 *   inject N TYPE [HEX]           send N such messages just before answering the next
 *                                 NV request (type 3 carries <dir>/s, type 4 a fresh
 *                                 socketpair end whose peer becomes the held connection)
 *   expectmsg TYPE [expect EXP]   consume a message that arrived unsolicited
 *   nv                            list the NV table
 *   nvhas NAME / nvnot NAME       check that a blob is present / absent
 *   nvput NAME [HEX]              replace a blob (e.g. with garbage)
 *   nvfail N                      answer the next N NV stores with TPM_FAIL
 *   save FILE                     write the last tpm/ctrl reply, whole, as hex to FILE
 *   echo TEXT
 * Exit status: 0 when every check passed, 1 otherwise.
 *
 * Example:
 *   spawn 2 --autostart
 *   listen
 *   run tpm2_getrandom -T swtpm:path=$VTPM_SOCK 16 --hex
 *   tpm 8001 0000000c 0000017b 0010 expect 8001 0000001c 00000000 0010
 *   stop
 *   nvhas volatilestate
 *   spawn 2 --autostart
 *   run tpm2_pcrread -T swtpm:path=$VTPM_SOCK sha256:16
 *   stop
 */
#include "util/buf.h"
#include "util/chan.h"
#include "util/ctrl_proto.h"
#include "util/err.h"
#include "util/fileio.h"
#include "util/tpm_frame.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_NV 8
#define MAX_CTRL 8
#define MAX_ARGS 32
#define REPLY_MAX (CHAN_MAX_PAYLOAD)

static int failures;
static int verbose;
static const char *vtpmd_path = "build/vtpmd";
static char dir[90], sock_path[96], ctrl_path[100];
static int data_listen = -1, ctrl_listen = -1;

static struct chan ch = { .fd = -1 };
static pid_t vtpmd_pid = -1;

static struct nvblob {
	char name[NV_NAME_MAX + 1];
	uint8_t *data;
	uint32_t len;
} nv[MAX_NV];

/* The last non-NV message from vtpmd. */
static struct {
	int have;
	uint32_t type;
	uint32_t len;
	uint8_t data[REPLY_MAX];
} got;

static struct ctrl_conn {
	int fd;
	size_t len;
	int64_t last_rx;
	uint8_t buf[CTRL_REQ_MAX];
} *cc[MAX_CTRL];

static void __attribute__((format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stdout, "FAIL: ");
	vfprintf(stdout, fmt, ap);
	fprintf(stdout, "\n");
	va_end(ap);
	fflush(stdout);
	failures++;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ hex helpers */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parses hex from words up to "expect"; returns the byte count or -1. */
static long
parse_hex(char **w, int nw, int *used, uint8_t *out, size_t max)
{
	size_t n = 0;
	int i, hi = -1;

	for (i = 0; i < nw && strcmp(w[i], "expect") != 0; i++) {
		for (const char *p = w[i]; *p; p++) {
			int v = hexval((unsigned char)*p);

			if (v < 0)
				return -1;
			if (hi < 0) {
				hi = v;
				continue;
			}
			if (n == max)
				return -1;
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	*used = i;
	return hi >= 0 ? -1 : (long)n;
}

static void
print_hex(const char *what, const uint8_t *p, size_t len)
{
	size_t show = len > 64 ? 64 : len;

	printf("%s:", what);
	for (size_t i = 0; i < show; i++)
		printf("%s%02x", i % 4 == 0 ? " " : "", p[i]);
	if (show < len)
		printf(" ... (%zu bytes)", len);
	printf("\n");
	fflush(stdout);
}

/* words[0] == "expect", words[1..] the expected hex prefix. */
static void
check_expect(char **w, int nw, const uint8_t *p, size_t len)
{
	char exp[1024] = "";
	size_t el;

	if (nw == 0)
		return;
	for (int i = 1; i < nw; i++)
		strncat(exp, w[i], sizeof(exp) - strlen(exp) - 1);
	el = strlen(exp);
	if (el % 2 != 0 || el / 2 > len) {
		fail("response of %zu bytes shorter than expected %s", len, exp);
		return;
	}
	for (size_t i = 0; i < el; i++) {
		int nib = (i % 2 == 0) ? p[i / 2] >> 4 : p[i / 2] & 15;

		if (exp[i] != '?' && hexval((unsigned char)exp[i]) != nib) {
			fail("response differs from expected %s", exp);
			return;
		}
	}
	printf("ok: matches %s\n", exp);
	fflush(stdout);
}

/* ----------------------------------------------------------- NV table */

static struct nvblob *
nv_find(const char *name)
{
	for (int i = 0; i < MAX_NV; i++)
		if (nv[i].data != NULL && strcmp(nv[i].name, name) == 0)
			return &nv[i];
	return NULL;
}

static void
send_or_fail(uint32_t type, const void *a, size_t alen, const void *b, size_t blen, int fd)
{
	if (chan_send(ch.fd, type, a, alen, b, blen, fd) != 0)
		fail("chan_send type %u: %s", type, strerror(errno));
}

static void
send_status(uint32_t rc)
{
	uint8_t b[4];

	be32_put(b, rc);
	send_or_fail(CHAN_NV_STATUS, b, 4, NULL, 0, -1);
}

static int held_fd = -1;
static int nv_fail_stores;
static struct {
	int count;
	uint32_t type;
	size_t len;
	uint8_t data[TPM_FRAME_MAX];
} inj;

static void
send_typed(uint32_t type, const uint8_t *p, size_t len)
{
	int sv[2];

	if (type == CHAN_DATA_FD) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
			fail("socketpair: %s", strerror(errno));
			return;
		}
		send_or_fail(type, p, len, NULL, 0, sv[1]);
		close(sv[1]);
		if (held_fd >= 0)
			close(held_fd);
		held_fd = sv[0];
		return;
	}
	send_or_fail(type, p, len, NULL, 0, type == CHAN_LISTEN_FD ? data_listen : -1);
}

/* Answers one NV request; returns 1 when m was an NV request. */
static int
serve_nv(const struct chan_msg *m)
{
	char name[NV_NAME_MAX + 1];
	struct nvblob *b;
	uint8_t rc[4];
	size_t nl;

	if (inj.count > 0 && (m->type == CHAN_NV_LOAD || m->type == CHAN_NV_STORE ||
			      m->type == CHAN_NV_DELETE)) {
		if (verbose)
			printf("  injecting %d message(s) of type %u\n", inj.count, inj.type);
		for (; inj.count > 0; inj.count--)
			send_typed(inj.type, inj.data, inj.len);
	}
	switch (m->type) {
	case CHAN_NV_LOAD:
		if (m->len == 0 || m->len > NV_NAME_MAX) {
			fail("NV_LOAD with a %u-byte name", m->len);
			return 1;
		}
		memcpy(name, m->data, m->len);
		name[m->len] = '\0';
		b = nv_find(name);
		if (verbose)
			printf("  nv load %s -> %s\n", name, b ? "found" : "absent");
		be32_put(rc, b ? 0 : 0x800);
		send_or_fail(CHAN_NV_DATA, rc, 4, b ? b->data : NULL, b ? b->len : 0, -1);
		return 1;
	case CHAN_NV_STORE:
		if (m->len < 1 || m->data[0] == 0 || m->data[0] > NV_NAME_MAX ||
		    m->len < 1u + m->data[0]) {
			fail("malformed NV_STORE");
			return 1;
		}
		nl = m->data[0];
		memcpy(name, m->data + 1, nl);
		name[nl] = '\0';
		if (nv_fail_stores > 0) {
			nv_fail_stores--;
			if (verbose)
				printf("  nv store %s: failing it\n", name);
			send_status(9);
			return 1;
		}
		b = nv_find(name);
		for (int i = 0; b == NULL && i < MAX_NV; i++)
			if (nv[i].data == NULL)
				b = &nv[i];
		if (b == NULL) {
			fail("NV table full");
			send_status(9);
			return 1;
		}
		freezero(b->data, b->len);
		snprintf(b->name, sizeof(b->name), "%s", name);
		b->len = m->len - 1 - (uint32_t)nl;
		b->data = malloc(b->len ? b->len : 1);
		memcpy(b->data, m->data + 1 + nl, b->len);
		if (verbose)
			printf("  nv store %s %u bytes\n", name, b->len);
		send_status(0);
		return 1;
	case CHAN_NV_DELETE:
		if (m->len < 2 || m->len > 1 + NV_NAME_MAX) {
			fail("malformed NV_DELETE");
			return 1;
		}
		memcpy(name, m->data + 1, m->len - 1);
		name[m->len - 1] = '\0';
		b = nv_find(name);
		if (verbose)
			printf("  nv delete %s (must_exist %u) -> %s\n", name, m->data[0],
			       b ? "deleted" : "absent");
		if (b != NULL) {
			freezero(b->data, b->len);
			b->data = NULL;
			b->len = 0;
		}
		send_status(b ? 0 : 0x800);
		return 1;
	default:
		return 0;
	}
}

/* ------------------------------------------------------------ channel */

/* Receives and handles one message; -1 when the channel is closed. */
static int
chan_step(int timeout)
{
	struct pollfd p = { .fd = ch.fd, .events = POLLIN };
	struct chan_msg m;
	int r;

	if (ch.fd < 0)
		return -1;
	if (poll(&p, 1, timeout) <= 0)
		return 0;
	r = chan_recv(&ch, &m);
	if (r == VERR_AGAIN)
		return 0;
	if (r != 0) {
		/* vtpmd exiting with our messages unread resets the socket. */
		if (r != VERR_EOF && !(r == VERR_SYSTEM && errno == ECONNRESET))
			fail("chan_recv: %s", verr_str(r));
		chan_close(&ch);
		return -1;
	}
	if (m.fd >= 0) {
		fail("vtpmd sent an fd");
		close(m.fd);
	}
	if (serve_nv(&m))
		return 1;
	if (got.have)
		fail("unsolicited message type %u (previous %u unread)", m.type, got.type);
	got.have = 1;
	got.type = m.type;
	got.len = m.len;
	memcpy(got.data, m.data, m.len);
	return 1;
}

/* Serves NV until a message of type want arrives; 0 or -1 (vtpmd gone). */
static int
await(uint32_t want)
{
	for (;;) {
		if (got.have) {
			got.have = 0;
			if (got.type == want)
				return 0;
			fail("expected message type %u, got %u", want, got.type);
			continue;
		}
		if (chan_step(-1) < 0) {
			fail("vtpmd closed the channel while we waited for type %u", want);
			return -1;
		}
	}
}

static int
reap(int *status)
{
	if (vtpmd_pid < 0)
		return -1;
	if (waitpid(vtpmd_pid, status, 0) != vtpmd_pid)
		return -1;
	vtpmd_pid = -1;
	return 0;
}

static void
report_exit(int want_code)
{
	int st;

	if (reap(&st) != 0) {
		fail("waitpid: %s", strerror(errno));
		return;
	}
	if (WIFEXITED(st)) {
		printf("vtpmd exited %d\n", WEXITSTATUS(st));
		if (want_code >= 0 && WEXITSTATUS(st) != want_code)
			fail("exit status %d, want %d", WEXITSTATUS(st), want_code);
	} else {
		fail("vtpmd killed by signal %d", WTERMSIG(st));
	}
	fflush(stdout);
}

/* -------------------------------------------------------- control relay */

static void
ctrl_conn_close(int i)
{
	close(cc[i]->fd);
	free(cc[i]);
	cc[i] = NULL;
}

/* Relays a complete request; returns the bytes consumed or 0 to close. */
static size_t
ctrl_relay(struct ctrl_conn *c, size_t total)
{
	if (verbose)
		printf("  ctrl relay cmd 0x%x (%zu bytes)\n", be32_get(c->buf), total);
	send_or_fail(CHAN_CTRL, c->buf, total, NULL, 0, -1);
	if (await(CHAN_CTRL_RESP) != 0)
		return 0;
	if (ctrl_check_response(be32_get(c->buf), got.data, got.len) != 0)
		fail("vtpmd's reply to control command 0x%x (%u bytes) fails ctrl_check_response",
		     be32_get(c->buf), got.len);
	if (write_full(c->fd, got.data, got.len) != 0)
		return 0;
	return total;
}

static void
ctrl_service(int i, int readable)
{
	struct ctrl_conn *c = cc[i];
	enum ctrl_parse pr;
	uint32_t cmd;
	size_t total;
	ssize_t n;

	if (readable) {
		n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (n <= 0) {
			ctrl_conn_close(i);
			return;
		}
		c->len += (size_t)n;
		c->last_rx = now_ms();
	}
	for (;;) {
		int settled = now_ms() - c->last_rx >= 30;

		pr = ctrl_parse_request(c->buf, c->len, settled, &cmd, &total);
		if (pr == CTRL_PARSE_INCOMPLETE)
			return;
		if (pr != CTRL_PARSE_OK) {
			uint8_t r[4];

			be32_put(r, CTRL_RES_BAD_ORDINAL);
			(void)write_full(c->fd, r, 4);
			ctrl_conn_close(i);
			return;
		}
		if (ctrl_relay(c, total) == 0) {
			ctrl_conn_close(i);
			return;
		}
		memmove(c->buf, c->buf + total, c->len - total);
		c->len -= total;
	}
}

/* One round of the background service: vtpmd's NV requests and clients
 * of the control socket. */
static void
serve_round(int timeout)
{
	struct pollfd p[2 + MAX_CTRL];
	int idx[MAX_CTRL], np = 0, nc = 0;

	p[np++] = (struct pollfd){ .fd = ch.fd, .events = POLLIN };
	p[np++] = (struct pollfd){ .fd = ctrl_listen, .events = POLLIN };
	for (int i = 0; i < MAX_CTRL; i++) {
		if (cc[i] == NULL)
			continue;
		idx[nc++] = i;
		p[np++] = (struct pollfd){ .fd = cc[i]->fd, .events = POLLIN };
		if (cc[i]->len > 0)
			timeout = timeout > 10 || timeout < 0 ? 10 : timeout; /* settle */
	}
	if (poll(p, (nfds_t)np, timeout) < 0)
		return;
	if (p[0].revents)
		(void)chan_step(0);
	if (p[1].revents) {
		int fd = accept4(ctrl_listen, NULL, NULL, SOCK_CLOEXEC);

		for (int i = 0; fd >= 0 && i < MAX_CTRL; i++) {
			if (cc[i] == NULL) {
				cc[i] = calloc(1, sizeof(*cc[i]));
				cc[i]->fd = fd;
				fd = -1;
			}
		}
		if (fd >= 0)
			close(fd);
	}
	for (int k = 0; k < nc; k++) {
		int i = idx[k];

		if (cc[i] != NULL && (p[2 + k].revents || cc[i]->len > 0))
			ctrl_service(i, p[2 + k].revents != 0);
	}
	if (got.have) {
		fail("unexpected message type %u from vtpmd", got.type);
		got.have = 0;
	}
}

/* ------------------------------------------------------------ commands */

static void
cmd_spawn(char **w, int nw, int want_ok)
{
	char *argv[MAX_ARGS + 8];
	char wrap[512];
	int sv[2], na = 0;
	pid_t pid;

	if (vtpmd_pid >= 0) {
		fail("spawn: vtpmd already running");
		return;
	}
	if (nw < 1) {
		fail("spawn: TPM version missing");
		return;
	}
	if (chan_socketpair(sv) != 0) {
		fail("chan_socketpair: %s", strerror(errno));
		return;
	}
	if (getenv("VTPMD_WRAPPER") != NULL) {
		snprintf(wrap, sizeof(wrap), "%s", getenv("VTPMD_WRAPPER"));
		for (char *t = strtok(wrap, " "); t != NULL && na < MAX_ARGS; t = strtok(NULL, " "))
			argv[na++] = t;
	}
	argv[na++] = (char *)vtpmd_path;
	argv[na++] = "--channel-fd";
	argv[na++] = "3";
	argv[na++] = "--tpm-version";
	argv[na++] = w[0];
	for (int i = 1; i < nw && na < MAX_ARGS + 6; i++)
		argv[na++] = w[i];
	argv[na] = NULL;

	pid = fork();
	if (pid < 0) {
		fail("fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		if (nul < 0 || dup2(nul, 0) < 0 || dup2(sv[1], 3) < 0)
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(sv[1]);
	if (chan_init(&ch, sv[0]) != 0) {
		fail("chan_init");
		return;
	}
	vtpmd_pid = pid;
	if (await(CHAN_READY) != 0 || got.len != 4) {
		fail("no CHAN_READY");
		return;
	}
	printf("ready rc=0x%x\n", be32_get(got.data));
	fflush(stdout);
	if ((be32_get(got.data) == 0) != want_ok)
		fail(want_ok ? "vtpmd not ready" : "vtpmd unexpectedly ready");
}

static void
cmd_msg(uint32_t type, uint32_t want, char **w, int nw)
{
	static uint8_t req[CTRL_REQ_MAX];
	int used;
	long n = parse_hex(w, nw, &used, req, sizeof(req));

	if (n < 0) {
		fail("bad hex");
		return;
	}
	send_or_fail(type, req, (size_t)n, NULL, 0, -1);
	if (await(want) != 0)
		return;
	print_hex("resp", got.data, got.len);
	if (type == CHAN_CTRL && ctrl_check_response(be32_get(req), got.data, got.len) != 0)
		fail("reply fails ctrl_check_response");
	check_expect(w + used, nw - used, got.data, got.len);
}

static int
connect_data(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		fail("connect %s: %s", sock_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Reads one TPM response from fd while serving vtpmd's NV requests. */
static long
read_response(int fd, uint8_t *out, size_t max)
{
	int64_t deadline = now_ms() + 30000;
	size_t len = 0;
	uint32_t sz;

	for (;;) {
		struct pollfd p[2] = { { .fd = fd, .events = POLLIN },
				       { .fd = ch.fd, .events = POLLIN } };
		int64_t left = deadline - now_ms();
		ssize_t n;

		if (len >= TPM_HDR_SIZE &&
		    tpm_frame_check(out, len, TPM_FRAME_MAX, &sz) == TPM_FRAME_OK)
			return (long)len;
		if (left <= 0 || poll(p, ch.fd >= 0 ? 2 : 1, (int)left) <= 0) {
			fail("no response on the data connection");
			return -1;
		}
		if (p[1].revents)
			(void)chan_step(0);
		if (p[0].revents) {
			n = read(fd, out + len, max - len);
			if (n <= 0) {
				fail("data connection closed after %zu bytes", len);
				return len > 0 ? (long)len : -1;
			}
			len += (size_t)n;
		}
	}
}

static void
cmd_data(int fd, char **w, int nw)
{
	uint8_t req[TPM_FRAME_MAX * 2], resp[TPM_FRAME_MAX];
	int used;
	long n = parse_hex(w, nw, &used, req, sizeof(req));

	if (fd < 0) {
		fail("no connection");
		return;
	}
	if (n < 0) {
		fail("bad hex");
		close(fd);
		return;
	}
	if (write_full(fd, req, (size_t)n) != 0) {
		fail("write: %s", strerror(errno));
		close(fd);
		return;
	}
	n = read_response(fd, resp, sizeof(resp));
	if (n > 0) {
		print_hex("resp", resp, (size_t)n);
		check_expect(w + used, nw - used, resp, (size_t)n);
	}
	close(fd);
}

static void
cmd_hold(char **w, int nw)
{
	uint8_t req[TPM_FRAME_MAX];
	int used;
	long n = parse_hex(w, nw, &used, req, sizeof(req));

	if (held_fd >= 0)
		close(held_fd);
	held_fd = connect_data();
	if (held_fd >= 0 && (n < 0 || write_full(held_fd, req, (size_t)n) != 0))
		fail("hold: write");
}

static void
cmd_datafd(char **w, int nw)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		fail("socketpair: %s", strerror(errno));
		return;
	}
	send_or_fail(CHAN_DATA_FD, NULL, 0, NULL, 0, sv[1]);
	close(sv[1]);
	cmd_data(sv[0], w, nw);
}

static void
cmd_run(const char *shell, int want_ok)
{
	pid_t pid = fork();
	int st;

	if (pid < 0) {
		fail("fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", shell, (char *)NULL);
		_exit(127);
	}
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			break;
		serve_round(20);
	}
	/* Let the client's last control connections drain. */
	for (int i = 0; i < 3; i++)
		serve_round(5);
	printf("run: exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	fflush(stdout);
	if ((WIFEXITED(st) && WEXITSTATUS(st) == 0) != want_ok)
		fail("command %s: %s", want_ok ? "failed" : "unexpectedly succeeded", shell);
}

static void
cmd_stop(int poweroff)
{
	uint8_t flags[4];

	be32_put(flags, CHAN_STOP_POWER_OFF);
	if (poweroff)
		send_or_fail(CHAN_STOP, flags, sizeof(flags), NULL, 0, -1);
	else
		send_or_fail(CHAN_STOP, NULL, 0, NULL, 0, -1);
	if (await(CHAN_STOPPED) == 0) {
		printf("stopped rc=0x%x\n", got.len == 4 ? be32_get(got.data) : 0xffffffffu);
		if (got.len != 4 || be32_get(got.data) != 0)
			fail("CHAN_STOPPED rc");
	}
	while (chan_step(-1) >= 0)
		;
	report_exit(0);
}

static void
cmd_wait(int code)
{
	while (chan_step(-1) >= 0)
		;
	report_exit(code);
}

static void
cmd_close(void)
{
	chan_close(&ch);
	report_exit(0);
}

static int
make_listener(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 16) != 0) {
		perror(path);
		exit(1);
	}
	return fd;
}

static void
cleanup(void)
{
	unlink(sock_path);
	unlink(ctrl_path);
	rmdir(dir);
}

static void
execute(char *line)
{
	char *w[MAX_ARGS + 2], *rest;
	int nw = 0;

	line[strcspn(line, "\n")] = '\0';
	while (*line == ' ' || *line == '\t')
		line++;
	if (*line == '\0' || *line == '#')
		return;
	printf("> %s\n", line);
	fflush(stdout);
	if (strncmp(line, "run ", 4) == 0 || strncmp(line, "runfail ", 8) == 0) {
		rest = strchr(line, ' ') + 1;
		cmd_run(rest, line[3] == ' ');
		return;
	}
	if (strncmp(line, "echo ", 5) == 0)
		return;
	for (char *t = strtok(line, " \t"); t != NULL && nw < MAX_ARGS; t = strtok(NULL, " \t"))
		w[nw++] = t;
	if (strcmp(w[0], "spawn") == 0)
		cmd_spawn(w + 1, nw - 1, 1);
	else if (strcmp(w[0], "spawnfail") == 0)
		cmd_spawn(w + 1, nw - 1, 0);
	else if (strcmp(w[0], "listen") == 0)
		send_or_fail(CHAN_LISTEN_FD, NULL, 0, NULL, 0, data_listen);
	else if (strcmp(w[0], "tpm") == 0)
		cmd_msg(CHAN_TPM_CMD, CHAN_TPM_RESP, w + 1, nw - 1);
	else if (strcmp(w[0], "ctrl") == 0)
		cmd_msg(CHAN_CTRL, CHAN_CTRL_RESP, w + 1, nw - 1);
	else if (strcmp(w[0], "data") == 0)
		cmd_data(connect_data(), w + 1, nw - 1);
	else if (strcmp(w[0], "datafd") == 0)
		cmd_datafd(w + 1, nw - 1);
	else if (strcmp(w[0], "hold") == 0)
		cmd_hold(w + 1, nw - 1);
	else if (strcmp(w[0], "finish") == 0) {
		cmd_data(held_fd, w + 1, nw - 1);
		held_fd = -1;
	} else if (strcmp(w[0], "send") == 0 && nw >= 2) {
		static uint8_t b[CTRL_REQ_MAX];
		int used;
		long n = parse_hex(w + 2, nw - 2, &used, b, sizeof(b));

		if (n < 0)
			fail("bad hex");
		else
			send_or_fail((uint32_t)strtoul(w[1], NULL, 0), b, (size_t)n, NULL, 0, -1);
	} else if (strcmp(w[0], "inject") == 0 && nw >= 3) {
		int used;
		long n = parse_hex(w + 3, nw - 3, &used, inj.data, sizeof(inj.data));

		if (n < 0) {
			fail("bad hex");
		} else {
			inj.len = (size_t)n;
			inj.type = (uint32_t)strtoul(w[2], NULL, 0);
			inj.count = atoi(w[1]);
		}
	} else if (strcmp(w[0], "expectmsg") == 0 && nw >= 2) {
		uint32_t t = (uint32_t)strtoul(w[1], NULL, 0);

		if (await(t) == 0) {
			print_hex("msg", got.data, got.len);
			check_expect(w + 2, nw - 2, got.data, got.len);
		}
	} else if (strcmp(w[0], "stop") == 0)
		cmd_stop(nw > 1 && strcmp(w[1], "poweroff") == 0);
	else if (strcmp(w[0], "wait") == 0)
		cmd_wait(nw > 1 ? atoi(w[1]) : -1);
	else if (strcmp(w[0], "close") == 0)
		cmd_close();
	else if (strcmp(w[0], "nv") == 0) {
		for (int i = 0; i < MAX_NV; i++)
			if (nv[i].data != NULL)
				printf("  %s: %u bytes\n", nv[i].name, nv[i].len);
	} else if (strcmp(w[0], "nvhas") == 0 && nw == 2) {
		if (nv_find(w[1]) == NULL)
			fail("blob %s absent", w[1]);
	} else if (strcmp(w[0], "nvput") == 0 && nw >= 2 && strlen(w[1]) <= NV_NAME_MAX) {
		static uint8_t b[TPM_FRAME_MAX];
		struct nvblob *e = nv_find(w[1]);
		int used;
		long n = parse_hex(w + 2, nw - 2, &used, b, sizeof(b));

		for (int i = 0; e == NULL && i < MAX_NV; i++)
			if (nv[i].data == NULL)
				e = &nv[i];
		if (n < 0 || e == NULL) {
			fail("nvput");
		} else {
			freezero(e->data, e->len);
			snprintf(e->name, sizeof(e->name), "%s", w[1]);
			e->data = malloc((size_t)n + 1);
			memcpy(e->data, b, (size_t)n);
			e->len = (uint32_t)n;
		}
	} else if (strcmp(w[0], "save") == 0 && nw == 2) {
		FILE *f = fopen(w[1], "w");

		if (f == NULL) {
			fail("save %s: %s", w[1], strerror(errno));
		} else {
			for (size_t i = 0; i < got.len; i++)
				fprintf(f, "%02x", got.data[i]);
			fputc('\n', f);
			if (fclose(f) != 0)
				fail("save %s: %s", w[1], strerror(errno));
		}
	} else if (strcmp(w[0], "nvfail") == 0 && nw == 2) {
		nv_fail_stores = atoi(w[1]);
	} else if (strcmp(w[0], "nvnot") == 0 && nw == 2) {
		if (nv_find(w[1]) != NULL)
			fail("blob %s present", w[1]);
	} else
		fail("unknown script command %s", w[0]);
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	char *line = NULL;
	size_t linecap = 0;
	int c;

	while ((c = getopt(argc, argv, "x:d:v")) != -1) {
		switch (c) {
		case 'x':
			vtpmd_path = optarg;
			break;
		case 'd':
			if (strlen(optarg) >= sizeof(dir)) {
				fprintf(stderr, "vtpmd-drive: -d path too long\n");
				return 2;
			}
			snprintf(dir, sizeof(dir), "%s", optarg);
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			fprintf(stderr, "usage: vtpmd-drive [-x VTPMD] [-d DIR] [-v] < script\n");
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	if (dir[0] == '\0') {
		const char *tmpdir = getenv("TMPDIR");
		snprintf(dir, sizeof(dir), "%s/vtpmd-drive.XXXXXX",
			 tmpdir != NULL && *tmpdir == '/' ? tmpdir : "/tmp");
		if (mkdtemp(dir) == NULL) {
			perror("mkdtemp");
			return 1;
		}
	}
	snprintf(sock_path, sizeof(sock_path), "%s/s", dir);
	snprintf(ctrl_path, sizeof(ctrl_path), "%s/s.ctrl", dir);
	data_listen = make_listener(sock_path);
	ctrl_listen = make_listener(ctrl_path);
	atexit(cleanup);
	setenv("VTPM_SOCK", sock_path, 1);
	setenv("VTPM_DIR", dir, 1);

	/* Lines of any length: a SET_STATEBLOB line carries a whole blob. */
	while (getline(&line, &linecap, stdin) >= 0)
		execute(line);
	free(line);
	if (vtpmd_pid >= 0) {
		chan_close(&ch);
		report_exit(-1);
	}
	for (int i = 0; i < MAX_NV; i++)
		freezero(nv[i].data, nv[i].len);
	printf("%s (%d failure%s)\n", failures ? "FAILED" : "PASSED", failures,
	       failures == 1 ? "" : "s");
	return failures ? 1 : 0;
}
