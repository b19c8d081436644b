/*
 * adopt.c - a vtpmd outlives its manager.  When the manager restarts (an
 * upgrade: it sends CHAN_DETACH) or dies (kill -9: the channel ends), a
 * vtpmd whose manager gave it an adopt socket keeps serving the data
 * connections it has, so the guest's TPM commands go on, and waits on that
 * socket (<run-dir>/adopt/<uuid>, reachable by root only) for the next
 * manager.  A command that needs its state saved waits there too: without
 * a manager there is no key to seal it with, and nothing is acknowledged
 * before it is durable.
 *
 * Owns: the adopt socket, the control descriptors held for the next manager
 * (vd->held: its listening control socket and the hypervisor's control connections:
 * with them held here, QEMU's control connection never sees the manager
 * go), and the hand-over.  Trusts: a process that connects to the adopt
 * socket only when the kernel says it runs as the first manager's user
 * (SO_PEERCRED), and then only to the extent of the channel protocol; it
 * learns nothing from us it could not read from the state directory.
 *
 * Hand-over: the next manager connects and sends CHAN_ADOPT with its
 * channel's other end; we answer on that channel with CHAN_HELLO (who we
 * are), one CHAN_RETURN_FD per descriptor it needs (listening sockets,
 * kept data connections, held control connections, the flight record) and
 * CHAN_HELLO_DONE, and carry on as if it had started us.
 */
#include "vtpm/vtpmd_int.h"

#include "util/buf.h"
#include "util/flight.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* How often an orphan looks whether its guest is still there. */
#define GUEST_CHECK_MS 1000
/* How long a connecting manager has to send its CHAN_ADOPT. */
#define ADOPT_OFFER_MS 2000
/* Kept data connections reported to a next manager at most. */
#define RETURN_CONNS_MAX VTPMD_MAX_CONNS

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
adopt_set_sock(struct vtpmd *vd, int fd)
{
	int acc = 0, type = 0, fl;
	socklen_t sl = sizeof(acc), tl = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &sl) != 0 || !acc ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_SEQPACKET ||
	    (fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
		log_err(LOGM_VTPM, "CHAN_ADOPT_SOCK: not a listening SEQPACKET socket");
		close(fd);
		return;
	}
	if (vd->adopt_fd >= 0)
		close(vd->adopt_fd);
	vd->adopt_fd = fd;
}

void
adopt_hold(struct vtpmd *vd, uint32_t kind, uint32_t id, int fd)
{
	for (unsigned i = 0; i < vd->nheld; i++) {
		if (vd->held[i].kind == kind && vd->held[i].id == id) {
			close(vd->held[i].fd);
			vd->held[i].fd = fd;
			return;
		}
	}
	if (vd->nheld == CHAN_HELD_MAX) {
		log_warn(LOGM_VTPM, "holding %u control descriptors already; this one is not kept "
			 "across a manager restart", vd->nheld);
		close(fd);
		return;
	}
	vd->held[vd->nheld++] = (struct held){ .kind = kind, .id = id, .fd = fd };
}

void
adopt_release(struct vtpmd *vd, uint32_t kind, uint32_t id)
{
	for (unsigned i = 0; i < vd->nheld; i++) {
		if (vd->held[i].kind == kind && vd->held[i].id == id) {
			close(vd->held[i].fd);
			vd->held[i] = vd->held[--vd->nheld];
			return;
		}
	}
}

void
adopt_close_all(struct vtpmd *vd)
{
	while (vd->nheld > 0)
		close(vd->held[--vd->nheld].fd);
	if (vd->adopt_fd >= 0)
		close(vd->adopt_fd);
	vd->adopt_fd = -1;
}

void
adopt_manager_lost(struct vtpmd *vd, const char *why)
{
	if (vd->adopt_fd < 0) {
		log_info(LOGM_VTPM, "%s, exiting", why);
		_exit(0);
	}
	chan_close(&vd->chan);
	vd->orphan_since = mono_ms();
	(void)adopt_orphan_deadline(vd); /* no guest: nothing to wait for */
	log_warn(LOGM_VTPM, "%s: serving the guest's connections on, waiting for the next "
		 "manager (state changes wait with it)", why);
}

/* Connections the manager keeps a duplicate of (CHAN_DATA_FD with an id):
 * how many are open, and each one's fd and id (for a next manager). */
static unsigned
kept_conns(const struct vtpmd *vd, int *fds, uint32_t *ids, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < vd->nconns; i++) {
		if (vd->conns[i]->fd < 0 || vd->conns[i]->id == FLIGHT_CONN_NONE)
			continue;
		if (n < max) {
			fds[n] = vd->conns[i]->fd;
			ids[n] = vd->conns[i]->id;
		}
		n++;
	}
	return n;
}

/* Sends what the next manager needs; 0, or -1 when it went away. */
static int
send_hello(struct vtpmd *vd)
{
	int fds[RETURN_CONNS_MAX];
	uint32_t ids[RETURN_CONNS_MAX];
	uint8_t h[CHAN_HELLO_SIZE], rf[8];
	unsigned n, sent = 0;
	int lfd = vd->listen_fd;

	memset(h, 0, sizeof(h));
	be32_put(h, CHAN_ADOPT_VERSION);
	h[4] = vd->is_tpm2 ? 2 : 1;
	h[5] = (uint8_t)((vd->running ? CHAN_HELLO_RUNNING : 0) |
			 (vd->autostarted ? CHAN_HELLO_AUTOSTARTED : 0));
	h[6] = (uint8_t)vd->locality;
	memcpy(h + 8, vd->uuid, sizeof(vd->uuid));
	if (chan_send(vd->chan.fd, CHAN_HELLO, h, sizeof(h), NULL, 0, -1) != 0)
		return -1;
#define RETURN(k_, id_, fd_)                                                              \
	do {                                                                               \
		be32_put(rf, (k_));                                                      \
		be32_put(rf + 4, (id_));                                                    \
		if (chan_send(vd->chan.fd, CHAN_RETURN_FD, rf, sizeof(rf), NULL, 0, (fd_)) != 0) \
			return -1;                                                         \
		sent++;                                                                    \
	} while (0)
	if (lfd >= 0)
		RETURN(CHAN_FD_DATA_LISTEN, 0, lfd);
	if (flight_fd() >= 0)
		RETURN(CHAN_FD_FLIGHT, 0, flight_fd());
	n = kept_conns(vd, fds, ids, RETURN_CONNS_MAX);
	for (unsigned i = 0; i < n && i < RETURN_CONNS_MAX; i++)
		RETURN(CHAN_FD_DATA_CONN, ids[i], fds[i]);
	for (unsigned i = 0; i < vd->nheld; i++)
		RETURN(vd->held[i].kind, vd->held[i].id, vd->held[i].fd);
#undef RETURN
	be32_put(rf, sent);
	return chan_send(vd->chan.fd, CHAN_HELLO_DONE, rf, 4, NULL, 0, -1) == 0 ? 0 : -1;
}

/* One connection on the adopt socket: 1 when it adopted us. */
static int
handshake(struct vtpmd *vd, int cfd)
{
	struct pollfd p = { .fd = cfd, .events = POLLIN };
	struct ucred cr;
	socklen_t cl = sizeof(cr);
	struct chan hc = { .fd = -1 };
	struct chan_msg m;
	int type = 0, nfd = -1, r;
	socklen_t tl = sizeof(type);

	if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) != 0 ||
	    cr.uid != vd->manager_uid) {
		log_warn(LOGM_VTPM, "adopt socket: connection from uid %u refused (the manager runs "
			 "as %u)", (unsigned)cr.uid, (unsigned)vd->manager_uid);
		close(cfd);
		return 0;
	}
	if (poll(&p, 1, ADOPT_OFFER_MS) != 1 || chan_init(&hc, cfd) != 0) {
		log_warn(LOGM_VTPM, "adopt socket: no offer from pid %d", (int)cr.pid);
		close(cfd);
		return 0;
	}
	r = chan_recv(&hc, &m);
	if (r == 0 && m.type == CHAN_ADOPT && m.len == 4 && be32_get(m.data) == CHAN_ADOPT_VERSION &&
	    m.fd >= 0 && getsockopt(m.fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 &&
	    type == SOCK_SEQPACKET) {
		nfd = m.fd;
	} else {
		log_warn(LOGM_VTPM, "adopt socket: malformed offer from pid %d", (int)cr.pid);
		if (r == 0 && m.fd >= 0)
			close(m.fd);
	}
	chan_close(&hc);
	if (nfd < 0)
		return 0;
	if (chan_init(&vd->chan, nfd) != 0) {
		log_err(LOGM_VTPM, "out of memory");
		_exit(1);
	}
	if (send_hello(vd) != 0) {
		log_warn(LOGM_VTPM, "the manager pid %d went away during the hand-over", (int)cr.pid);
		chan_close(&vd->chan);
		return 0;
	}
	log_info(LOGM_VTPM, "adopted by the manager pid %d after %lld ms on our own", (int)cr.pid,
		 (long long)(mono_ms() - vd->orphan_since));
	vd->orphan_since = 0;
	return 1;
}

int
adopt_try(struct vtpmd *vd)
{
	for (;;) {
		int cfd = accept4(vd->adopt_fd, NULL, NULL, SOCK_CLOEXEC);

		if (cfd < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED)
				log_warn(LOGM_VTPM, "adopt socket: accept: %s", strerror(errno));
			return 0;
		}
		if (handshake(vd, cfd))
			return 1;
	}
}

/* 0 once the peer of a connection hung up (or it failed). */
static int
peer_there(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };

	return poll(&p, 1, 0) == 0;
}

/* Whether a guest still expects this TPM: a data connection the manager
 * kept (QEMU's) or a hypervisor's control connection we hold is open.
 * Control connections whose client left are let go here: no manager
 * watches them now. */
static int
guests_left(struct vtpmd *vd)
{
	int fds[RETURN_CONNS_MAX];
	uint32_t ids[RETURN_CONNS_MAX];
	unsigned n = kept_conns(vd, fds, ids, RETURN_CONNS_MAX), alive = 0;

	for (unsigned i = 0; i < n && i < RETURN_CONNS_MAX; i++)
		alive += peer_there(fds[i]);
	for (unsigned i = 0; i < vd->nheld;) {
		if (vd->held[i].kind != CHAN_FD_CTRL_CONN) {
			i++;
		} else if (peer_there(vd->held[i].fd)) {
			alive++;
			i++;
		} else {
			adopt_release(vd, vd->held[i].kind, vd->held[i].id);
		}
	}
	return alive != 0;
}

int
adopt_orphan_deadline(struct vtpmd *vd)
{
	if (vd->chan.fd >= 0)
		return -1;
	if (guests_left(vd))
		return GUEST_CHECK_MS;
	/* Tools reconnect for every command and find the next manager; only
	 * a guest's connection is worth keeping the process for.  What it
	 * acknowledged is saved; its volatile state cannot be (no key). */
	log_info(LOGM_VTPM, "no manager and no guest connection left: exiting");
	vd->cleanup(vd);
	_exit(0);
}

void
adopt_wait(struct vtpmd *vd)
{
	struct pollfd p = { .fd = vd->adopt_fd, .events = POLLIN };
	int t;

	log_info(LOGM_VTPM, "a state change waits for the next manager");
	while (vd->chan.fd < 0) {
		/* The guest's connections are not served meanwhile; whether
		 * any is left is still checked (once a second). */
		t = adopt_orphan_deadline(vd);
		if (poll(&p, 1, t) > 0)
			(void)adopt_try(vd);
	}
}
