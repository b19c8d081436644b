/*
 * vdrive.c - a private vtpmd driven synchronously by a worker thread; see
 * vdrive.h.  Owns the vtpmd it spawns (killed through a pidfd, so a pid
 * the manager's loop already reaped can never be hit) and the blobs in
 * d->nv (wiped when freed).  Trusts nothing the vtpmd sends.
 */
#include "manager/vdrive.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "util/ctrl_proto.h"
#include "util/err.h"
#include "util/errmsg.h"
#include "util/tpm_frame.h"

#define NV_RETRY 0x800u
#define NV_FAIL 0x09u

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
vdrive_init(struct vdrive *d, const struct vdrive_spawn *sp, int tpm2)
{
	memset(d, 0, sizeof(*d));
	d->sp = sp;
	d->tpm2 = tpm2;
	d->pidfd = -1;
	d->ch.fd = -1;
	for (int i = 0; i < BLOB_COUNT; i++)
		buf_init(&d->nv[i], SEAL_CT_MAX);
}

int
vdrive_set_blob(struct vdrive *d, enum blob_index i, const uint8_t *p, size_t len)
{
	int r;

	if ((unsigned)i >= BLOB_COUNT || len == 0 || len > CHAN_MAX_PAYLOAD - 4)
		return VERR_INVAL;
	buf_reset(&d->nv[i]);
	if ((r = buf_put_bytes(&d->nv[i], p, len)) != 0)
		return r;
	d->has[i] = 1;
	return 0;
}

static void
kill_vtpmd(struct vdrive *d)
{
	if (d->pidfd >= 0) {
		(void)syscall(SYS_pidfd_send_signal, d->pidfd, SIGKILL, NULL, 0);
		close(d->pidfd);
		d->pidfd = -1;
	}
	if (d->ch.fd >= 0)
		chan_close(&d->ch);
	d->ch.fd = -1;
	d->running = 0;
}

void
vdrive_free(struct vdrive *d)
{
	kill_vtpmd(d);
	for (int i = 0; i < BLOB_COUNT; i++) {
		buf_free(&d->nv[i]);
		d->has[i] = 0;
	}
}

/* Fails the session: the vtpmd is killed and the reason kept (why, or
 * what rc means).  errno survives for a VERR_SYSTEM. */
static int
fail(struct vdrive *d, int rc, char *err, size_t errlen, const char *stage, const char *why)
{
	int e = errno;

	if (why != NULL)
		seterr(err, errlen, "%s: %s", stage, why);
	else if (rc == VERR_SYSTEM)
		seterr(err, errlen, "%s: channel failure: %s", stage, strerror(e));
	else if (rc == VERR_EOF)
		seterr(err, errlen, "%s: the vtpmd closed its channel (it exited)", stage);
	else
		seterr(err, errlen, "%s: %s", stage, verr_str(rc));
	kill_vtpmd(d);
	errno = e;
	return rc;
}

/* Waits until fd has events or the deadline passes; cancel wins. */
static int
wait_for(struct vdrive *d, short events, uint64_t deadline)
{
	struct pollfd p[2] = { { .fd = d->ch.fd, .events = events },
			       { .fd = d->sp->cancel_fd, .events = POLLIN } };
	uint64_t now;
	int n;

	for (;;) {
		now = mono_ms();
		if (now >= deadline)
			return VERR_TIMEOUT;
		n = poll(p, d->sp->cancel_fd >= 0 ? 2 : 1, (int)(deadline - now));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return VERR_SYSTEM;
		if (d->sp->cancel_fd >= 0 && p[1].revents != 0)
			return VERR_CANCELED;
		if (p[0].revents != 0)
			return 0;
	}
}

static int
send_msg(struct vdrive *d, uint32_t type, const void *a, size_t alen, const void *b, size_t blen,
	 uint64_t deadline)
{
	int r;

	for (;;) {
		r = chan_send(d->ch.fd, type, a, alen, b, blen, -1);
		if (r == 0)
			return 0;
		if (r != VERR_AGAIN)
			return r;
		if ((r = wait_for(d, POLLOUT, deadline)) != 0)
			return r;
	}
}

/* Serves one NV request from memory; 0, VERR_PROTO for a bad one, or
 * send_msg's code. */
static int
serve_nv(struct vdrive *d, const struct chan_msg *m, uint64_t deadline)
{
	uint8_t rc[4];
	int idx;

	switch (m->type) {
	case CHAN_NV_LOAD:
		if ((idx = blob_index_of((const char *)m->data, m->len)) < 0)
			return VERR_PROTO;
		be32_put(rc, d->has[idx] ? 0 : NV_RETRY);
		return send_msg(d, CHAN_NV_DATA, rc, 4, d->has[idx] ? d->nv[idx].d : NULL,
				d->has[idx] ? d->nv[idx].len : 0, deadline);
	case CHAN_NV_STORE:
		if (m->len < 1 || m->len - 1 < m->data[0] ||
		    (idx = blob_index_of((const char *)m->data + 1, m->data[0])) < 0)
			return VERR_PROTO;
		buf_reset(&d->nv[idx]);
		d->has[idx] = 0;
		be32_put(rc, 0);
		if (m->len - 1 - m->data[0] == 0 ||
		    buf_put_bytes(&d->nv[idx], m->data + 1 + m->data[0],
				  m->len - 1 - m->data[0]) != 0)
			be32_put(rc, NV_FAIL);
		else
			d->has[idx] = 1;
		return send_msg(d, CHAN_NV_STATUS, rc, 4, NULL, 0, deadline);
	case CHAN_NV_DELETE:
		if (m->len < 2 || m->data[0] > 1 ||
		    (idx = blob_index_of((const char *)m->data + 1, m->len - 1)) < 0)
			return VERR_PROTO;
		be32_put(rc, d->has[idx] ? 0 : NV_RETRY);
		buf_reset(&d->nv[idx]);
		d->has[idx] = 0;
		return send_msg(d, CHAN_NV_STATUS, rc, 4, NULL, 0, deadline);
	default:
		return VERR_PROTO;
	}
}

/*
 * Receives until a message of type want arrives (NV requests are served on
 * the way).  EOF gives VERR_EOF unless want is 0 (waiting for the end); a
 * packet that is not an expected one is VERR_PROTO.
 */
static int
recv_until(struct vdrive *d, uint32_t want, struct chan_msg *m, uint64_t deadline)
{
	int r;

	for (;;) {
		r = chan_recv(&d->ch, m);
		if (r == VERR_AGAIN) {
			if ((r = wait_for(d, POLLIN, deadline)) != 0)
				return r;
			continue;
		}
		if (r == VERR_EOF)
			return want == 0 ? 0 : VERR_EOF;
		if (r != 0)
			return r;
		if (m->fd >= 0) {
			close(m->fd);
			return VERR_PROTO;
		}
		if (want != 0 && m->type == want)
			return 0;
		if (m->type == CHAN_NV_LOAD || m->type == CHAN_NV_STORE ||
		    m->type == CHAN_NV_DELETE) {
			if ((r = serve_nv(d, m, deadline)) != 0)
				return r;
			continue;
		}
		return VERR_PROTO;
	}
}

int
vdrive_start(struct vdrive *d, const char *uuid_str, int autostart, char *err, size_t errlen)
{
	char uid[16], gid[16];
	const char *argv[24];
	struct chan_msg m;
	int sv[2], a = 0, r, fl, e;
	pid_t pid;

	if (chan_socketpair(sv) != 0) {
		seterr(err, errlen, "socketpair: %s", strerror(errno));
		return VERR_SYSTEM;
	}
	/* Everything the child needs is ready before fork: after it, the
	 * child (a copy of a multithreaded process) only calls
	 * async-signal-safe functions on its way to exec. */
	snprintf(uid, sizeof(uid), "%u", (unsigned)d->sp->uid);
	snprintf(gid, sizeof(gid), "%u", (unsigned)d->sp->gid);
	argv[a++] = "vtpmd";
	argv[a++] = "--channel-fd";
	argv[a++] = "3";
	argv[a++] = "--tpm-version";
	argv[a++] = d->tpm2 ? "2" : "1.2";
	argv[a++] = "--uuid";
	argv[a++] = uuid_str;
	argv[a++] = "--log-level";
	argv[a++] = d->sp->log_level != NULL ? d->sp->log_level : "warn";
	if (autostart)
		argv[a++] = "--autostart";
	if (d->sp->sandbox) {
		argv[a++] = "--uid";
		argv[a++] = uid;
		argv[a++] = "--gid";
		argv[a++] = gid;
		argv[a++] = "--root";
		argv[a++] = d->sp->root;
	}
	argv[a] = NULL;

	pid = fork();
	if (pid < 0) {
		e = errno;
		seterr(err, errlen, "fork: %s", strerror(e));
		close(sv[0]);
		close(sv[1]);
		errno = e;
		return VERR_SYSTEM;
	}
	if (pid == 0) {
		sigset_t none;
		int devnull, c;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		(void)setsid();
		if ((c = fcntl(sv[1], F_DUPFD, 10)) < 0 || dup2(c, 3) != 3)
			_exit(127);
		if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0 || dup2(devnull, 0) != 0)
			_exit(127);
		if (syscall(SYS_close_range, 4u, ~0U, 0U) != 0)
			for (int fd = 4; fd < 1024; fd++)
				close(fd);
		execv(d->sp->vtpmd, (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	close(sv[1]);
	d->pid = pid;
	d->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (d->pidfd < 0 || (fl = fcntl(sv[0], F_GETFL)) < 0 ||
	    fcntl(sv[0], F_SETFL, fl | O_NONBLOCK) != 0 || chan_init(&d->ch, sv[0]) != 0) {
		e = errno;
		seterr(err, errlen, "cannot set up the vtpmd (pidfd or channel): %s",
		       strerror(e));
		if (d->pidfd < 0)
			(void)kill(pid, SIGKILL); /* not reaped yet: it cannot exit on its own first */
		close(sv[0]);
		d->ch.fd = -1;
		kill_vtpmd(d);
		errno = e;
		return VERR_SYSTEM;
	}
	d->running = 1;
	r = recv_until(d, CHAN_READY, &m, mono_ms() + d->sp->timeout_ms);
	if (r != 0)
		return fail(d, r, err, errlen, "vtpmd start-up", NULL);
	if (m.len != 4)
		return fail(d, VERR_PROTO, err, errlen, "vtpmd start-up", "malformed READY");
	d->ready_rc = be32_get(m.data);
	if (d->ready_rc != 0) {
		seterr(err, errlen, "libtpms could not start the TPM from this state (rc 0x%x)",
		       d->ready_rc);
		kill_vtpmd(d);
		return VERR_TPM;
	}
	return 0;
}

int
vdrive_tpm(struct vdrive *d, const uint8_t *cmd, size_t len, struct buf *resp, char *err,
	   size_t errlen)
{
	uint64_t deadline = mono_ms() + d->sp->timeout_ms;
	struct chan_msg m;
	int r;

	if (!d->running) {
		seterr(err, errlen, "no vtpmd");
		return VERR_INVAL;
	}
	if ((r = send_msg(d, CHAN_TPM_CMD, cmd, len, NULL, 0, deadline)) != 0 ||
	    (r = recv_until(d, CHAN_TPM_RESP, &m, deadline)) != 0)
		return fail(d, r, err, errlen, "TPM command", NULL);
	if (tpm_frame_exact(m.data, m.len, TPM_FRAME_MAX) != 0)
		return fail(d, VERR_PROTO, err, errlen, "TPM command", "malformed response");
	if ((r = buf_put_bytes(resp, m.data, m.len)) != 0)
		return fail(d, r, err, errlen, "TPM command", "response too large");
	explicit_bzero(d->ch.rbuf + CHAN_HDR_SIZE, m.len);
	return 0;
}

int
vdrive_ctrl(struct vdrive *d, uint32_t cmd, const uint8_t *body, size_t blen, struct buf *resp,
	    char *err, size_t errlen)
{
	uint64_t deadline = mono_ms() + d->sp->timeout_ms;
	uint8_t c[4];
	struct chan_msg m;
	int r;

	if (!d->running) {
		seterr(err, errlen, "no vtpmd");
		return VERR_INVAL;
	}
	be32_put(c, cmd);
	if ((r = send_msg(d, CHAN_CTRL, c, 4, body, blen, deadline)) != 0 ||
	    (r = recv_until(d, CHAN_CTRL_RESP, &m, deadline)) != 0)
		return fail(d, r, err, errlen, "control command", NULL);
	if (ctrl_check_response(cmd, m.data, m.len) != 0)
		return fail(d, VERR_PROTO, err, errlen, "control command", "malformed response");
	if ((r = buf_put_bytes(resp, m.data, m.len)) != 0)
		return fail(d, r, err, errlen, "control command", "response too large");
	return 0;
}

int
vdrive_stop(struct vdrive *d, char *err, size_t errlen)
{
	uint64_t deadline = mono_ms() + d->sp->timeout_ms;
	struct chan_msg m;
	int r;

	if (!d->running)
		return 0;
	if ((r = send_msg(d, CHAN_STOP, NULL, 0, NULL, 0, deadline)) != 0 ||
	    (r = recv_until(d, CHAN_STOPPED, &m, deadline)) != 0)
		return fail(d, r, err, errlen, "stopping the vtpmd", NULL);
	if (m.len != 4)
		return fail(d, VERR_PROTO, err, errlen, "stopping the vtpmd", "malformed STOPPED");
	if (be32_get(m.data) != 0)
		return fail(d, VERR_TPM, err, errlen, "stopping the vtpmd",
			    "it could not save its state");
	/* Then its channel closes as it exits. */
	if ((r = recv_until(d, 0, &m, deadline)) != 0)
		return fail(d, r, err, errlen, "stopping the vtpmd", NULL);
	chan_close(&d->ch);
	d->ch.fd = -1;
	close(d->pidfd);
	d->pidfd = -1;
	d->running = 0;
	return 0;
}
