/*
 * chanio.c - vtpmd's side of the manager channel: sending, receiving, the
 * per-type payload checks for manager requests, and the small bounded queue
 * of requests that arrived while an NV request of ours was outstanding.
 *
 * Owns: the deferred-request queue (vd->queue).  Trusts: the manager, to the extent
 * that chan_recv() has validated the packet framing; payload sizes and fds
 * are still checked here, and anything unexpected ends the process
 * (_exit 1) because a confused peer must not drive libtpms.  Channel EOF
 * means the manager is gone: adopt.c decides whether to wait for the next
 * one (guests keep being served) or to _exit(0) at once, saving nothing.
 */
#include "vtpm/vtpmd_int.h"

#include "util/buf.h"
#include "util/log.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
wait_fd(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	while (poll(&p, 1, -1) < 0) {
		if (errno != EINTR) {
			log_err(LOGM_VTPM, "poll on channel: %s", strerror(errno));
			_exit(1);
		}
	}
}

int
chanio_send(struct vtpmd *vd, uint32_t type, const void *a, size_t alen, const void *b, size_t blen)
{
	if (vd->chan.fd < 0)
		return -1; /* orphaned: nobody to answer */
	for (;;) {
		int r = chan_send(vd->chan.fd, type, a, alen, b, blen, -1);

		if (r == 0)
			return 0;
		if (r == VERR_AGAIN) {
			wait_fd(vd->chan.fd, POLLOUT);
			continue;
		}
		if (errno == EPIPE || errno == ECONNRESET) {
			chanio_manager_lost(vd, "the manager is gone");
			return -1;
		}
		log_err(LOGM_VTPM, "channel send (type %u, %zu bytes): %s", type, alen + blen,
			strerror(errno));
		_exit(1);
	}
}

int
chanio_recv(struct vtpmd *vd, struct chan_msg *m)
{
	if (vd->chan.fd < 0)
		return -1;
	for (;;) {
		int r = chan_recv(&vd->chan, m);

		switch (r) {
		case 0:
			return 0;
		case VERR_AGAIN:
			wait_fd(vd->chan.fd, POLLIN);
			continue;
		case VERR_EOF:
			chanio_manager_lost(vd, "the manager closed the channel");
			return -1;
		case VERR_PROTO:
			log_err(LOGM_VTPM, "malformed packet on the channel");
			_exit(1);
		default:
			if (errno == ECONNRESET) {
				chanio_manager_lost(vd, "the manager is gone");
				return -1;
			}
			log_err(LOGM_VTPM, "channel receive: %s", strerror(errno));
			_exit(1);
		}
	}
}

static void
bad_request(const struct chan_msg *m, const char *why)
{
	log_err(LOGM_VTPM, "protocol violation by the manager: type %u, %u bytes, fd %s: %s",
		m->type, m->len, m->fd >= 0 ? "yes" : "no", why);
	_exit(1);
}

void
chanio_check_request(const struct chan_msg *m)
{
	switch (m->type) {
	case CHAN_CTRL:
		if (m->fd >= 0)
			bad_request(m, "unexpected fd");
		if (m->len < 4)
			bad_request(m, "control message without a command code");
		return;
	case CHAN_TPM_CMD:
		/* The packet itself is checked by the handler, which answers a
		 * malformed one with a TPM error response. */
		if (m->fd >= 0)
			bad_request(m, "unexpected fd");
		return;
	case CHAN_LISTEN_FD:
	case CHAN_DATA_FD:
	case CHAN_ADOPT_SOCK:
		if (m->fd < 0)
			bad_request(m, "missing fd");
		/* DATA_FD: the u32 id of a connection the manager keeps, or
		 * nothing (one it does not). */
		if (m->len != 0 && !(m->type == CHAN_DATA_FD && m->len == 4))
			bad_request(m, "unexpected payload");
		return;
	case CHAN_HOLD_FD:
		if (m->fd < 0)
			bad_request(m, "missing fd");
		if (m->len != 8 ||
		    !(be32_get(m->data) == CHAN_FD_CTRL_LISTEN ||
		      (be32_get(m->data) == CHAN_FD_CTRL_CONN && be32_get(m->data + 4) != 0)))
			bad_request(m, "bad HOLD_FD");
		return;
	case CHAN_RELEASE_FD:
		if (m->fd >= 0)
			bad_request(m, "unexpected fd");
		if (m->len != 8 || be32_get(m->data) != CHAN_FD_CTRL_CONN)
			bad_request(m, "bad RELEASE_FD");
		return;
	case CHAN_DETACH:
		if (m->fd >= 0 || m->len != 0)
			bad_request(m, "bad DETACH");
		return;
	case CHAN_STOP:
		if (m->fd >= 0)
			bad_request(m, "unexpected fd");
		/* Nothing, or u32 flags of which we know every bit. */
		if (m->len != 0 && !(m->len == 4 && (be32_get(m->data) & ~CHAN_STOP_POWER_OFF) == 0))
			bad_request(m, "bad STOP payload");
		return;
	case CHAN_NV_DATA:
	case CHAN_NV_STATUS:
		bad_request(m, "NV reply without an outstanding NV request");
		return;
	default:
		bad_request(m, "unknown message type");
	}
}

void
chanio_defer(struct vtpmd *vd, const struct chan_msg *m)
{
	struct qmsg *q;

	if (vd->q_count == VTPMD_QUEUE_MAX) {
		log_err(LOGM_VTPM, "too many deferred channel messages (%u)", VTPMD_QUEUE_MAX);
		_exit(1);
	}
	q = &vd->queue[(vd->q_head + vd->q_count) % VTPMD_QUEUE_MAX];
	q->type = m->type;
	q->len = m->len;
	q->fd = m->fd;
	q->data = NULL;
	if (m->len != 0) {
		q->data = malloc(m->len);
		if (q->data == NULL) {
			log_err(LOGM_VTPM, "out of memory queueing a %u-byte message", m->len);
			_exit(1);
		}
		memcpy(q->data, m->data, m->len);
		chanio_wipe(vd, m);
	}
	vd->q_count++;
}

int
chanio_pop(struct vtpmd *vd, struct qmsg *q)
{
	if (vd->q_count == 0)
		return -1;
	*q = vd->queue[vd->q_head];
	memset(&vd->queue[vd->q_head], 0, sizeof(vd->queue[vd->q_head]));
	vd->q_head = (vd->q_head + 1) % VTPMD_QUEUE_MAX;
	vd->q_count--;
	return 0;
}

void
qmsg_free(struct qmsg *q)
{
	freezero(q->data, q->len);
	q->data = NULL;
	q->len = 0;
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
}

/* Waits for the reply to our one outstanding NV request: 0, or -1 when the
 * manager went away first. */
static int
wait_reply(struct vtpmd *vd, uint32_t want, struct chan_msg *m)
{
	for (;;) {
		if (chanio_recv(vd, m) != 0)
			return -1;
		if (m->type == want) {
			if (m->fd >= 0)
				bad_request(m, "unexpected fd");
			return 0;
		}
		/* Anything else must be a well-formed manager request; the
		 * other NV reply type is rejected by the check. */
		chanio_check_request(m);
		chanio_defer(vd, m);
	}
}

void
chanio_call(struct vtpmd *vd, uint32_t type, const void *a, size_t alen, const void *b, size_t blen,
	    uint32_t want, struct chan_msg *m)
{
	/* A request the old manager may or may not have carried out is
	 * asked again of the next one: loads and deletes are idempotent,
	 * and a store writes the same bytes at a newer generation. */
	while (chanio_send(vd, type, a, alen, b, blen) != 0 || wait_reply(vd, want, m) != 0)
		adopt_wait(vd);
}

/* Drops the deferred requests whose answer the gone manager waited for:
 * nobody will read it, and the next manager would take it for a protocol
 * violation.  Descriptors it passed are ours to keep using. */
static void
forget_requests(struct vtpmd *vd)
{
	unsigned n = vd->q_count, dropped = 0;
	struct qmsg q;

	for (unsigned i = 0; i < n; i++) {
		q = vd->queue[vd->q_head];
		memset(&vd->queue[vd->q_head], 0, sizeof(vd->queue[vd->q_head]));
		vd->q_head = (vd->q_head + 1) % VTPMD_QUEUE_MAX;
		vd->q_count--;
		if (q.type == CHAN_CTRL || q.type == CHAN_TPM_CMD || q.type == CHAN_STOP ||
		    q.type == CHAN_DETACH) {
			qmsg_free(&q);
			dropped++;
			continue;
		}
		vd->queue[(vd->q_head + vd->q_count) % VTPMD_QUEUE_MAX] = q;
		vd->q_count++;
	}
	if (dropped != 0)
		log_info(LOGM_VTPM, "dropped %u request(s) of the manager that went away", dropped);
}

void
chanio_manager_lost(struct vtpmd *vd, const char *why)
{
	adopt_manager_lost(vd, why); /* returns only when we wait for the next one */
	forget_requests(vd);
}

void
chanio_wipe(struct vtpmd *vd, const struct chan_msg *m)
{
	/* m->data points into our own receive buffer. */
	if (m->len != 0)
		explicit_bzero(vd->chan.rbuf + CHAN_HDR_SIZE, m->len);
}
