/*
 * vtpmd.c - the per-vTPM process: hosts one TPM (2.0 or 1.2) on libtpms
 * and talks only over the channel fd inherited from the manager; it opens
 * no file.  This file owns the command line, start-up, the poll loop, the
 * data connections (accepted on the listening socket the manager passes,
 * or passed one by one) and the dispatch of manager requests.
 *
 * Trusts: the manager (channel framing checked by chan_recv, payload sizes
 * re-checked in chanio.c) and libtpms.  Trusts nothing on a data
 * connection: every packet goes through tpm_frame_check() against the
 * negotiated buffer size, each connection has its own buffer and is read
 * without blocking, so a client that sends half a command stalls nobody.
 * TPM payloads are never logged; buffers that held them are wiped.
 *
 * Usage: vtpmd --channel-fd N --tpm-version 2|1.2 [--autostart]
 *              [--locality L] [--uuid UUID] [--log-level LEVEL]
 *              [--flight-fd N]
 */
#include "vtpm/sandbox.h"
#include "vtpm/vtpmd_int.h"

#include "util/buf.h"
#include "util/flight.h"
#include "util/log.h"
#include "util/uuid.h"

#include <libtpms/tpm_error.h>
#include <libtpms/tpm_library.h>
#include <libtpms/tpm_nvfilename.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WRITE_TIMEOUT_MS 5000
/* A connection is closed when a command of it stays incomplete this long
 * (a client sends a whole command at once) ... */
#define PARTIAL_TIMEOUT_MS 5000
/* ... or when one the vtpmd accepted sends nothing at all this long. */
#define IDLE_FIRST_COMMAND_MS 10000

/* ---------------------------------------------------------------- usage */

static void __attribute__((noreturn))
usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "vtpmd: %s%s\n", what, arg);
	fprintf(stderr, "usage: vtpmd --channel-fd N --tpm-version 2|1.2 [--autostart] "
			"[--locality 0-4] [--uuid UUID] [--log-level error|warn|info|debug]\n");
	exit(2);
}

static long
parse_num(const char *s, long lo, long hi, const char *opt)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		usage_error("bad value for ", opt);
	return v;
}

struct options {
	int chan_fd;
	int autostart;
	char title[64];
	enum log_level level;
	struct sandbox_opts sb;
	int have_uid, have_gid;
	int features;
	const char *hostile; /* tests only: one misbehaviour after READY */
	int test_crash;      /* tests only: abort() right after READY */
	int flight_fd;
};

static void
parse_args(int argc, char **argv, struct options *o, struct vtpmd *vd)
{
	static const struct option longopts[] = {
		{ "channel-fd", required_argument, NULL, 'c' },
		{ "tpm-version", required_argument, NULL, 't' },
		{ "autostart", no_argument, NULL, 'a' },
		{ "locality", required_argument, NULL, 'l' },
		{ "uuid", required_argument, NULL, 'u' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "uid", required_argument, NULL, 'U' },
		{ "gid", required_argument, NULL, 'G' },
		{ "root", required_argument, NULL, 'R' },
		{ "test-forbidden-syscall", no_argument, NULL, 'F' },
		{ "test-syscall", required_argument, NULL, 'Y' },
		{ "test-hostile", required_argument, NULL, 'H' },
		{ "test-crash", no_argument, NULL, 'X' },
		{ "test-delay", required_argument, NULL, 'D' },
		{ "flight-fd", required_argument, NULL, 'P' },
		{ "features", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	uint8_t u[UUID_LEN];
	char ustr[UUID_STR_LEN];
	int c, have_version = 0;

	o->chan_fd = -1;
	o->flight_fd = -1;
	o->autostart = 0;
	o->level = LOG_LVL_INFO;
	snprintf(o->title, sizeof(o->title), "vtpmd");
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->chan_fd = (int)parse_num(optarg, 0, INT_MAX, "--channel-fd");
			break;
		case 't':
			if (strcmp(optarg, "2") == 0)
				vd->is_tpm2 = 1;
			else if (strcmp(optarg, "1.2") == 0)
				vd->is_tpm2 = 0;
			else
				usage_error("bad value for --tpm-version (2 or 1.2): ", optarg);
			have_version = 1;
			break;
		case 'a':
			o->autostart = 1;
			break;
		case 'l':
			vd->locality = (TPM_MODIFIER_INDICATOR)parse_num(optarg, 0, 4, "--locality");
			break;
		case 'u':
			if (uuid_parse(optarg, u) != 0)
				usage_error("bad value for --uuid: ", optarg);
			uuid_format(u, ustr);
			memcpy(vd->uuid, u, sizeof(vd->uuid));
			snprintf(o->title, sizeof(o->title), "vtpmd[%s]", ustr);
			break;
		case 'L':
			if (log_parse_level(optarg, &o->level) != 0)
				usage_error("bad value for --log-level: ", optarg);
			break;
		case 'U':
			o->sb.uid = (uid_t)parse_num(optarg, 0, INT_MAX, "--uid");
			o->have_uid = 1;
			break;
		case 'G':
			o->sb.gid = (gid_t)parse_num(optarg, 0, INT_MAX, "--gid");
			o->have_gid = 1;
			break;
		case 'R':
			if (optarg[0] != '/')
				usage_error("--root must be an absolute path: ", optarg);
			o->sb.root = optarg;
			break;
		case 'F':
			o->sb.test_syscall = "socket";
			break;
		case 'Y':
			o->sb.test_syscall = optarg;
			break;
		case 'H':
			if (strcmp(optarg, "garbage") != 0 && strcmp(optarg, "badname") != 0 &&
			    strcmp(optarg, "mismatch") != 0 && strcmp(optarg, "unsolicited") != 0)
				usage_error("bad value for --test-hostile: ", optarg);
			o->hostile = optarg;
			break;
		case 'X':
			o->test_crash = 1;
			break;
		case 'D':
			if (flight_set_test_delay(optarg) != 0)
				usage_error("bad value for --test-delay (ORDINAL:MS): ", optarg);
			break;
		case 'P':
			o->flight_fd = (int)parse_num(optarg, 0, INT_MAX, "--flight-fd");
			break;
		case 'f':
			o->features = 1;
			return;
		default:
			usage_error("unknown option or missing value: ",
				    argv[optind - 1] != NULL ? argv[optind - 1] : "?");
		}
	}
	if (optind != argc)
		usage_error("unexpected argument: ", argv[optind]);
	if (o->chan_fd < 0)
		usage_error("--channel-fd is required", "");
	if (!have_version)
		usage_error("--tpm-version is required", "");
	/* The manager always confines us; all three or none (a vtpmd started
	 * by hand for debugging runs unconfined). */
	if (o->have_uid || o->have_gid || o->sb.root != NULL) {
		if (!o->have_uid || !o->have_gid || o->sb.root == NULL)
			usage_error("--uid, --gid and --root go together", "");
		o->sb.enabled = 1;
	}
	o->sb.max_fds = VTPMD_MAX_CONNS + 16 + CHAN_HELD_MAX;
}

/*
 * Tests only (--test-hostile): what a compromised vtpmd might send.  The
 * manager must kill us and leave every other vTPM, and every blob, alone.
 */
static void
test_misbehave(struct vtpmd *vd, const char *kind)
{
	static const uint8_t bad[] = { 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 99, 'x' };
	/* Another vTPM's blob, by path: names are not paths to the manager. */
	static const char other[] = "../00000000-0000-4000-8000-000000000001/permall";
	uint8_t nv[1 + sizeof(other)];

	log_warn(LOGM_VTPM, "test: misbehaving on purpose (%s)", kind);
	if (strcmp(kind, "garbage") == 0) {
		(void)!send(vd->chan.fd, bad, sizeof(bad), MSG_NOSIGNAL);
	} else if (strcmp(kind, "mismatch") == 0) {
		/* Header claims 99 payload bytes, one follows. */
		(void)!send(vd->chan.fd, bad + 4, 5, MSG_NOSIGNAL);
	} else if (strcmp(kind, "badname") == 0) {
		nv[0] = (uint8_t)(sizeof(other) - 1);
		memcpy(nv + 1, other, sizeof(other) - 1);
		(void)chanio_send(vd, CHAN_NV_STORE, nv, sizeof(other), "x", 1);
	} else {
		(void)chanio_send(vd, CHAN_CTRL_RESP, "\0\0\0\0", 4, NULL, 0);
	}
	/* Serve nobody: whatever a client sees comes from the manager's
	 * handling of this vtpmd (poll is in the seccomp allow-list). */
	for (;;)
		(void)poll(NULL, 0, -1);
}

/* The channel must be an open SEQPACKET socket (util/chan.h).  Its peer
 * is the manager: a next one that adopts us must run as the same user. */
static void
check_channel_fd(struct vtpmd *vd, int fd)
{
	struct ucred cr;
	int type = 0;
	socklen_t sl = sizeof(type), cl = sizeof(cr);

	if (fcntl(fd, F_GETFD) < 0 || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &sl) != 0 ||
	    type != SOCK_SEQPACKET)
		usage_error("--channel-fd is not an open SEQPACKET socket", "");
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	vd->manager_uid = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0 ? cr.uid : 0;
}

/* ---------------------------------------------------- data connections */

static int64_t now_ms(void);

static void
conn_add(struct vtpmd *vd, int fd, uint32_t id)
{
	struct conn *c;

	if (vd->nconns == VTPMD_MAX_CONNS) {
		log_warn(LOGM_VTPM, "too many data connections (%u), refusing a new one",
			 VTPMD_MAX_CONNS);
		close(fd);
		return;
	}
	c = malloc(sizeof(*c));
	if (c == NULL) {
		log_err(LOGM_VTPM, "out of memory for a data connection");
		close(fd);
		return;
	}
	c->fd = fd;
	c->id = id;
	c->eof = 0;
	c->len = 0;
	c->served = id != FLIGHT_CONN_NONE;
	c->since = now_ms();
	vd->conns[vd->nconns++] = c;
	log_debug(LOGM_VTPM, "data connection added (%u open)", vd->nconns);
}

/* Marks a connection closed; conn_reap() removes it from the table. */
static void
conn_drop(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* Ends a connection for cause (bad packet, client gone or not reading).
 * The manager holds a duplicate of a SET_DATAFD connection, so closing our
 * descriptor alone would leave the client connected to no one: shut the
 * socket down, which the client and the manager both see. */
static void
conn_close(struct conn *c)
{
	if (c->fd >= 0 && c->id != FLIGHT_CONN_NONE)
		(void)shutdown(c->fd, SHUT_RDWR);
	conn_drop(c);
}

static void
conn_reap(struct vtpmd *vd)
{
	unsigned j = 0;

	for (unsigned i = 0; i < vd->nconns; i++) {
		if (vd->conns[i]->fd >= 0) {
			vd->conns[j++] = vd->conns[i];
			continue;
		}
		/* Served commands were moved, not erased: wipe it all. */
		explicit_bzero(vd->conns[i]->buf, sizeof(vd->conns[i]->buf));
		free(vd->conns[i]);
	}
	vd->nconns = j;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes all of p on a connection we never block on: waits for POLLOUT
 * up to WRITE_TIMEOUT_MS in total.  0 or -1 (connection to be closed). */
static int
conn_write(int fd, const uint8_t *p, size_t len)
{
	int64_t deadline = -1; /* set when the client first makes us wait */

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pf = { .fd = fd, .events = POLLOUT };
			int64_t left;

			if (deadline < 0)
				deadline = now_ms() + WRITE_TIMEOUT_MS;
			left = deadline - now_ms();

			if (left <= 0 || poll(&pf, 1, (int)left) == 0) {
				log_warn(LOGM_VTPM, "data client did not read its response in %d ms",
					 WRITE_TIMEOUT_MS);
				return -1;
			}
			continue;
		}
		log_debug(LOGM_VTPM, "data connection write: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void
conn_read(const struct vtpmd *vd, struct conn *c)
{
	ssize_t n;

	if (c->eof || c->len == sizeof(c->buf))
		return;
	n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, MSG_DONTWAIT);
	if (n > 0) {
		uint32_t sz, was = c->len;

		c->len += (uint32_t)n;
		/* An incomplete command's clock starts with its first bytes.
		 * One that arrived whole is served this turn and needs none
		 * (conn_serve starts the clock of what is left after it). */
		if (was == 0 &&
		    tpm_frame_check(c->buf, c->len, vd->bufsize, &sz) == TPM_FRAME_INCOMPLETE)
			c->since = now_ms();
	}
	else if (n == 0)
		c->eof = 1;
	else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		log_debug(LOGM_VTPM, "data connection read: %s", strerror(errno));
		conn_close(c);
	}
}

/* A whole packet (or a bad header) is buffered: serving it needs no read. */
static int
conn_ready(const struct vtpmd *vd, const struct conn *c)
{
	uint32_t sz;

	return c->fd >= 0 && tpm_frame_check(c->buf, c->len, vd->bufsize, &sz) != TPM_FRAME_INCOMPLETE;
}

/*
 * A client's command could not save the state it changed: libtpms is in
 * failure mode now and would fail every later command.  Its answer (an
 * error) has gone out; exit, so that the manager restarts this TPM from
 * the last state that was saved (it shows the vTPM degraded meanwhile).
 */
static void
exit_if_state_lost(const struct vtpmd *vd, unsigned failures_before)
{
	if (vd->store_failures == failures_before)
		return;
	log_err(LOGM_VTPM, "saving the TPM state failed: exiting, to be restarted from the last "
		"saved state");
	tpmlog_drain();
	_exit(VTPMD_EXIT_SAVE_FAILED);
}

/* Serves at most one command from the connection's buffer. */
static void
conn_serve(struct vtpmd *vd, struct conn *c)
{
	uint8_t err[TPM_HDR_SIZE];
	const uint8_t *resp;
	uint32_t sz = 0, rlen;
	unsigned failures;

	if (c->fd < 0)
		return;
	switch (tpm_frame_check(c->buf, c->len, vd->bufsize, &sz)) {
	case TPM_FRAME_BAD:
		log_warn(LOGM_VTPM, "data client sent a bad packet size; closing it");
		tpm_bad_frame_response(vd, err, c->buf, c->len);
		(void)conn_write(c->fd, err, sizeof(err));
		conn_close(c);
		return;
	case TPM_FRAME_INCOMPLETE:
		if (c->eof) {
			if (c->len != 0)
				log_debug(LOGM_VTPM, "data client left with %u bytes of a command",
					  c->len);
			conn_close(c);
		}
		return;
	case TPM_FRAME_OK:
		break;
	}
	failures = vd->store_failures;
	flight_begin(c->id, c->buf);
	tpm_execute(vd, c->buf, sz, &resp, &rlen);
	flight_responding();
	if (conn_write(c->fd, resp, rlen) != 0) {
		flight_idle();
		conn_close(c);
		exit_if_state_lost(vd, failures);
		return;
	}
	flight_idle();
	exit_if_state_lost(vd, failures);
	explicit_bzero(c->buf, sz);
	memmove(c->buf, c->buf + sz, c->len - sz);
	c->len -= sz;
	c->served = 1;
	if (c->len != 0)
		c->since = now_ms(); /* a pipelined next command counts from here */
}

/*
 * Closes connections that hold a slot without sending a whole command in
 * time; returns the ms until the next such deadline (or -1: none).
 */
static int
conn_deadlines(struct vtpmd *vd)
{
	int64_t now = -1, next = -1, due;

	for (unsigned i = 0; i < vd->nconns; i++) {
		struct conn *c = vd->conns[i];

		if (c->fd < 0 || c->eof)
			continue;
		if (c->len != 0)
			due = c->since + PARTIAL_TIMEOUT_MS;
		else if (!c->served)
			due = c->since + IDLE_FIRST_COMMAND_MS;
		else
			continue;
		if (now < 0)
			now = now_ms(); /* only when some connection has a deadline */
		if (now >= due) {
			log_warn(LOGM_VTPM, "data connection %s for %d s; closing it",
				 c->len != 0 ? "left a command incomplete" : "sent no command",
				 (int)((c->len != 0 ? PARTIAL_TIMEOUT_MS : IDLE_FIRST_COMMAND_MS) / 1000));
			conn_close(c);
			continue;
		}
		if (next < 0 || due - now < next)
			next = due - now;
	}
	return (int)next;
}

static void
accept_clients(struct vtpmd *vd)
{
	for (;;) {
		int fd = accept4(vd->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			conn_add(vd, fd, FLIGHT_CONN_NONE);
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED)
			log_warn(LOGM_VTPM, "accept: %s", strerror(errno));
		return;
	}
}

static void
set_listen_fd(struct vtpmd *vd, int fd)
{
	int acc = 0, fl;
	socklen_t sl = sizeof(acc);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &sl) != 0 || !acc) {
		log_err(LOGM_VTPM, "CHAN_LISTEN_FD: not a listening socket");
		close(fd);
		return;
	}
	/* A poll-then-accept race must never block the loop.  (The flag is
	 * shared with the manager's copy; it polls the socket too.) */
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
		log_err(LOGM_VTPM, "CHAN_LISTEN_FD: fcntl: %s", strerror(errno));
		close(fd);
		return;
	}
	if (vd->listen_fd >= 0) {
		log_warn(LOGM_VTPM, "replacing the listening data socket");
		close(vd->listen_fd);
	}
	vd->listen_fd = fd;
	log_debug(LOGM_VTPM, "listening data socket installed");
}

/* ------------------------------------------------------- manager requests */

/* Releases everything (wiping buffers that held TPM data) before an
 * orderly exit; also vd->cleanup, for adopt.c. */
static void
vtpmd_cleanup(struct vtpmd *vd)
{
	tpmlog_drain();
	/* Exiting: the manager decides what becomes of the connections it
	 * keeps (closed on STOP, kept after SHUTDOWN), so no shutdown here. */
	for (unsigned i = 0; i < vd->nconns; i++)
		conn_drop(vd->conns[i]);
	conn_reap(vd);
	if (vd->listen_fd >= 0)
		close(vd->listen_fd);
	vd->listen_fd = -1;
	adopt_close_all(vd);
	freezero(vd->rbuf, vd->rbufsize);
	vd->rbuf = NULL;
	vd->rbufsize = 0;
	for (struct qmsg q; chanio_pop(vd, &q) == 0;)
		qmsg_free(&q);
	chan_close(&vd->chan);
}

static void
handle_tpm_cmd(struct vtpmd *vd, struct qmsg *q)
{
	uint8_t err[TPM_HDR_SIZE];
	const uint8_t *resp;
	uint32_t rlen;
	unsigned failures = vd->store_failures;

	if (q->data == NULL || tpm_frame_exact(q->data, q->len, vd->bufsize) != 0) {
		log_warn(LOGM_VTPM, "CHAN_TPM_CMD: bad packet of %u bytes", q->len);
		tpm_bad_frame_response(vd, err, q->data, q->len);
		resp = err;
		rlen = sizeof(err);
	} else {
		flight_begin(FLIGHT_CONN_NONE, q->data);
		tpm_execute(vd, q->data, q->len, &resp, &rlen);
		flight_responding();
	}
	(void)chanio_send(vd, CHAN_TPM_RESP, resp, rlen, NULL, 0);
	flight_idle();
	exit_if_state_lost(vd, failures);
}

static void __attribute__((noreturn))
handle_stop(struct vtpmd *vd, uint32_t flags)
{
	uint32_t rc = TPM_SUCCESS;
	uint8_t out[4];

	if (flags & CHAN_STOP_POWER_OFF) {
		/* The guest's machine went off (reboot, shutdown, destroy):
		 * nothing volatile may survive into its next boot, however the
		 * TPM was started.  Shutdown(CLEAR) first, as an OS would, so
		 * the next Startup does not count as after an unorderly one. */
		if (vd->running) {
			tpm_auto_shutdown(vd);
			TPMLIB_Terminate();
			vd->running = 0;
		}
		rc = nvram_delete(vd, TPM_VOLATILESTATE_NAME, 0);
		log_info(LOGM_VTPM, "powered off: volatile state discarded");
	} else if (vd->running) {
		if (vd->failed) {
			/* Nothing worth resuming: the next start is a clean
			 * power cycle from the permanent state, so an older
			 * saved volatile state (STORE_VOLATILE) goes too. */
			log_warn(LOGM_VTPM, "TPM in failure mode: volatile state not saved");
			rc = nvram_delete(vd, TPM_VOLATILESTATE_NAME, 0);
		} else if (vd->autostarted) {
			/* Tool/FIFO clients never power-cycle the TPM: keep the
			 * session state for the next autostart to resume. */
			rc = tpm_store_volatile(vd);
		} else {
			/* A hypervisor sends its own Startup at every boot. */
			tpm_auto_shutdown(vd);
		}
		TPMLIB_Terminate();
		vd->running = 0;
	}
	be32_put(out, rc);
	(void)chanio_send(vd, CHAN_STOPPED, out, sizeof(out), NULL, 0);
	log_info(LOGM_VTPM, "stopped (rc 0x%x)", rc);
	vtpmd_cleanup(vd);
	exit(0);
}

static void
dispatch(struct vtpmd *vd, struct qmsg *q)
{
	switch (q->type) {
	case CHAN_CTRL:
		if (ctrl_handle(vd, q->data, q->len)) {
			qmsg_free(q);
			log_info(LOGM_VTPM, "shut down by control command");
			vtpmd_cleanup(vd);
			exit(0);
		}
		break;
	case CHAN_TPM_CMD:
		handle_tpm_cmd(vd, q);
		break;
	case CHAN_LISTEN_FD:
		set_listen_fd(vd, q->fd);
		q->fd = -1;
		break;
	case CHAN_DATA_FD:
		/* u32 id (chanio_check_request: 0 or 4 bytes). */
		conn_add(vd, q->fd, q->len == 4 ? be32_get(q->data) : FLIGHT_CONN_NONE);
		q->fd = -1;
		break;
	case CHAN_ADOPT_SOCK:
		adopt_set_sock(vd, q->fd);
		q->fd = -1;
		break;
	case CHAN_HOLD_FD:
		/* chanio_check_request: u32 kind | u32 id. */
		adopt_hold(vd, be32_get(q->data), be32_get(q->data + 4), q->fd);
		q->fd = -1;
		break;
	case CHAN_RELEASE_FD:
		adopt_release(vd, be32_get(q->data), be32_get(q->data + 4));
		break;
	case CHAN_DETACH:
		qmsg_free(q);
		chanio_manager_lost(vd, "the manager detached");
		return;
	case CHAN_STOP: {
		/* chanio_check_request: no payload, or u32 flags. */
		uint32_t flags = q->len == 4 ? be32_get(q->data) : 0;

		qmsg_free(q);
		handle_stop(vd, flags);
	}
	default:
		/* chanio_check_request() let nothing else through. */
		log_err(LOGM_VTPM, "internal error: message type %u", q->type);
		_exit(1);
	}
	qmsg_free(q);
}

static void
dispatch_deferred(struct vtpmd *vd)
{
	struct qmsg q;

	while (chanio_pop(vd, &q) == 0)
		dispatch(vd, &q);
}

/* ---------------------------------------------------------------- loop */

static void __attribute__((noreturn))
main_loop(struct vtpmd *vd)
{
	struct pollfd pfd[2 + VTPMD_MAX_CONNS]; /* channel (or adopt socket), listener, connections */
	struct conn *polled[VTPMD_MAX_CONNS];

	for (;;) {
		unsigned np = 0, nc = 0, base;
		int timeout, r;

		/* What libtpms wrote during the last turn's calls (no syscall
		 * when it wrote nothing; tpmlog.c). */
		tpmlog_drain();
		dispatch_deferred(vd);
		timeout = conn_deadlines(vd);
		conn_reap(vd);
		if (vd->chan.fd < 0) {
			/* Orphaned: exits here once no guest is left. */
			int t = adopt_orphan_deadline(vd);

			if (t >= 0 && (timeout < 0 || t < timeout))
				timeout = t;
		}

		/* Without a manager, the adopt socket is where the next one
		 * comes. */
		pfd[np++] = (struct pollfd){ .fd = vd->chan.fd >= 0 ? vd->chan.fd : vd->adopt_fd,
					     .events = POLLIN };
		if (vd->listen_fd >= 0)
			pfd[np++] = (struct pollfd){ .fd = vd->listen_fd, .events = POLLIN };
		base = np;
		for (unsigned i = 0; i < vd->nconns; i++) {
			struct conn *c = vd->conns[i];

			if (conn_ready(vd, c) || c->eof)
				timeout = 0; /* serve it without waiting */
			if (c->eof || c->len == sizeof(c->buf))
				continue;
			polled[nc++] = c;
			pfd[np++] = (struct pollfd){ .fd = c->fd, .events = POLLIN };
		}
		r = poll(pfd, np, timeout);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			log_err(LOGM_VTPM, "poll: %s", strerror(errno));
			_exit(1);
		}
		if (pfd[0].revents != 0 && vd->chan.fd >= 0) {
			struct chan_msg m;

			if (chanio_recv(vd, &m) == 0) {
				chanio_check_request(&m);
				chanio_defer(vd, &m);
			}
		} else if (pfd[0].revents != 0) {
			(void)adopt_try(vd);
		}
		if (base == 2 && pfd[1].revents != 0)
			accept_clients(vd);
		for (unsigned i = 0; i < nc; i++) {
			if (pfd[base + i].revents != 0)
				conn_read(vd, polled[i]);
		}
		/* One command per connection per round keeps clients fair; a
		 * deferred manager request is served at the top of the loop. */
		for (unsigned i = 0; i < vd->nconns; i++)
			conn_serve(vd, vd->conns[i]);
	}
}

int
main(int argc, char **argv)
{
	/* The process's one context (vtpmd_int.h), passed to whoever uses it;
	 * main never returns, so it lives as long as the process. */
	struct vtpmd ctx = { .chan = { .fd = -1 }, .listen_fd = -1, .adopt_fd = -1,
			     .cleanup = vtpmd_cleanup };
	struct vtpmd *vd = &ctx;
	struct options o;
	uint32_t min, max;
	uint8_t out[4];
	TPM_RESULT rc;

	memset(&o, 0, sizeof(o));
	parse_args(argc, argv, &o, vd);
	if (o.features) {
		printf("seccomp=%s\n", sandbox_has_seccomp() ? "yes" : "no");
		return 0;
	}
	check_channel_fd(vd, o.chan_fd);
	if (o.flight_fd >= 0 && flight_init(o.flight_fd) != 0) {
		fprintf(stderr, "vtpmd: --flight-fd %d is not a mappable record: %s\n", o.flight_fd,
			strerror(errno));
		exit(2);
	}
	signal(SIGPIPE, SIG_IGN);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	log_init(o.title, o.level, LOGGING_MODULES, 0);

	if (chan_init(&vd->chan, o.chan_fd) != 0) {
		log_err(LOGM_VTPM, "out of memory");
		_exit(1);
	}
	if (tpmlog_init() != 0) {
		/* Without it libtpms would write to stderr unfiltered. */
		log_err(LOGM_VTPM, "libtpms log: %s", strerror(errno));
		_exit(1);
	}
	rc = TPMLIB_ChooseTPMVersion(vd->is_tpm2 ? TPMLIB_TPM_VERSION_2 : TPMLIB_TPM_VERSION_1_2);
	if (rc == TPM_SUCCESS)
		rc = nvram_register(vd);
	if (rc != TPM_SUCCESS) {
		log_err(LOGM_VTPM, "libtpms set-up failed: rc 0x%x", rc);
		be32_put(out, rc);
		(void)chanio_send(vd, CHAN_READY, out, sizeof(out), NULL, 0);
		_exit(1);
	}
	vd->bufsize = TPMLIB_SetBufferSize(0, &min, &max);
	if (vd->bufsize > TPM_FRAME_MAX)
		vd->bufsize = TPMLIB_SetBufferSize(TPM_FRAME_MAX, &min, &max);

	/* sigaction is not in the seccomp allow-list: install it now. */
	if (flight_cancel_setup() != 0) {
		log_err(LOGM_VTPM, "sigaction: %s", strerror(errno));
		_exit(1);
	}
	/* Confined before the first guest byte, and before MainInit reads any
	 * state: from here on only the channel and passed fds exist. */
	if (sandbox_enter(&o.sb) != 0) {
		be32_put(out, TPM_FAIL);
		(void)chanio_send(vd, CHAN_READY, out, sizeof(out), NULL, 0);
		_exit(1);
	}
	if (o.sb.test_syscall != NULL) {
		(void)sandbox_probe(o.sb.test_syscall);
		log_err(LOGM_VTPM, "unknown --test-syscall %s", o.sb.test_syscall);
		_exit(2);
	}
	rc = TPM_SUCCESS;
	if (o.autostart)
		rc = tpm_autostart(vd);
	tpmlog_drain();
	be32_put(out, rc);
	(void)chanio_send(vd, CHAN_READY, out, sizeof(out), NULL, 0);
	if (rc != TPM_SUCCESS) {
		log_err(LOGM_VTPM, "TPM %s failed to start: rc 0x%x", vd->is_tpm2 ? "2.0" : "1.2", rc);
		_exit(1);
	}
	log_info(LOGM_VTPM, "ready: TPM %s, %s", vd->is_tpm2 ? "2.0" : "1.2",
		 o.autostart ? "started" : "waiting for INIT");
	if (o.hostile != NULL)
		test_misbehave(vd, o.hostile);
	if (o.test_crash) {
		log_warn(LOGM_VTPM, "test: aborting on purpose after READY");
		abort();
	}
	main_loop(vd);
}
