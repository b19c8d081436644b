/*
 * adopt.c - vtpmds that outlive a manager restart (the manager's side;
 * vtpm/adopt.c is the vtpmd's).
 *
 * A package upgrade restarts the manager; a bug may kill it.  Neither may
 * take the TPM away from a running VM.  So every vtpmd gets an adopt socket
 * (<run-dir>/adopt/<uuid>, a root-only directory) and holds duplicates of
 * what QEMU is connected to: its listening control socket and QEMU's
 * control connections (the data connection it serves already).  On SIGTERM
 * the manager detaches the vtpmds that serve a guest (CHAN_DETACH, once
 * nothing of theirs is outstanding) instead of stopping them; after a kill
 * -9 the vtpmds notice the channel's end by themselves.  Either way they
 * serve their guests on, and a command that must save state waits until
 * the next manager has adopted them.  At start, the next manager connects
 * to each vTPM's adopt socket before binding anything: a vtpmd that answers
 * hands back the listening sockets (same inodes: nothing is re-bound, a
 * client in the backlog is not lost), QEMU's connections and the flight
 * record, and carries on.
 *
 * Trusts: an adopted vtpmd exactly as a spawned one (nothing).  Its pid
 * comes from the kernel (SCM_CREDENTIALS), never from its message, and must
 * belong to the vTPM's own uid; every descriptor it returns is checked for
 * its kind (listening stream socket, connected stream socket, a sealed
 * memfd of the flight record's size) before use; a save it asks for goes
 * above the generation on disk.  A vtpmd could swap its
 * own sockets around; it cannot reach another vTPM's.
 */
#include "manager/mgr.h"
#include "manager/adopt.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/fileio.h"
#include "util/log.h"

/* The listening control socket and (sockets.c) QEMU's connections. */
#define HELD_CTRL_MAX (CHAN_HELD_MAX - 1)

int
adopt_init(struct mgr *m, char *err, size_t errlen)
{
	m->adopt_dirfd = -1;
	if (!m->cfg.survive_restart)
		return 0;
	if (path_join(m->adopt_dir, sizeof(m->adopt_dir), m->cfg.run_dir, "adopt") != 0) {
		snprintf(err, errlen, "run directory path too long");
		return -1;
	}
	m->adopt_dirfd = subdir_open_trusted(m->run_dirfd, "adopt", 0700, m->adopt_dir, err,
					     errlen);
	return m->adopt_dirfd < 0 ? -1 : 0;
}

void
adopt_close(struct mgr *m)
{
	if (m->adopt_dirfd >= 0)
		close(m->adopt_dirfd);
	m->adopt_dirfd = -1;
}

void
adopt_offer(struct mgr *m, struct vtpm *v)
{
	char err[512];
	int fd;

	v->adopt_offered = 0;
	v->nheld = 0;
	for (struct ctrl_conn *c = v->conns; c != NULL; c = c->next)
		c->held_id = 0;
	if (m->adopt_dirfd < 0)
		return;
	/* Root only (the directory is 0700): the vtpmd has the descriptor
	 * and checks that its next manager runs as its first did. */
	if ((fd = unix_listen(m->adopt_dirfd, m->adopt_dir, v->uuid_str, SOCK_SEQPACKET, 0600, 0,
			      0, 4, err, sizeof(err))) < 0) {
		log_warn(LOGM_VTPM, "vtpm %s: %s; it will not survive a manager restart",
			 v->uuid_str, err);
		return;
	}
	if (chan_send(v->ch.fd, CHAN_ADOPT_SOCK, NULL, 0, NULL, 0, fd) != 0) {
		log_warn(LOGM_VTPM, "vtpm %s: cannot pass the adopt socket to vtpmd pid %d: %s",
			 v->uuid_str, (int)v->pid, strerror(errno));
		close(fd);
		(void)unlinkat(m->adopt_dirfd, v->uuid_str, 0);
		return;
	}
	close(fd);
	v->adopt_offered = 1;
	vtpm_hold_fd(m, v, CHAN_FD_CTRL_LISTEN, 0, v->ctrl_ev.fd);
	sockets_hold_ctrl_all(m, v);
}

void
adopt_forget(struct mgr *m, struct vtpm *v)
{
	if (v->adopt_offered && m->adopt_dirfd >= 0)
		(void)unlinkat(m->adopt_dirfd, v->uuid_str, 0);
	v->adopt_offered = 0;
	v->nheld = 0;
	for (struct ctrl_conn *c = v->conns; c != NULL; c = c->next)
		c->held_id = 0;
}

int
adopt_connect(struct mgr *m, struct vtpm *v)
{
	struct sockaddr_un sa;
	struct stat st;
	int cfd, sv[2], on = 1;
	uint8_t ver[4];

	if (m->adopt_dirfd < 0 ||
	    fstatat(m->adopt_dirfd, v->uuid_str, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		log_warn(LOGM_VTPM, "vtpm %s: %s/%s is not a socket; ignored", v->uuid_str,
			 m->adopt_dir, v->uuid_str);
		return 0;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", m->adopt_dirfd,
		 v->uuid_str);
	if ((cfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0)
		return 0;
	if (connect(cfd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		/* Nobody listens: the vtpmd exited (or never ran since). */
		log_debug(LOGM_VTPM, "vtpm %s: no vtpmd to adopt (%s)", v->uuid_str,
			  strerror(errno));
		close(cfd);
		(void)unlinkat(m->adopt_dirfd, v->uuid_str, 0);
		return 0;
	}
	if (chan_socketpair(sv) != 0) {
		close(cfd);
		return 0;
	}
	/* The kernel, not the vtpmd, tells us who sends the HELLO. */
	be32_put(ver, CHAN_ADOPT_VERSION);
	if (setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) != 0 ||
	    chan_send(cfd, CHAN_ADOPT, ver, sizeof(ver), NULL, 0, sv[1]) != 0) {
		log_warn(LOGM_VTPM, "vtpm %s: cannot offer adoption: %s", v->uuid_str,
			 strerror(errno));
		close(cfd);
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	close(cfd);
	close(sv[1]);
	if (vtpm_adopt_channel(m, v, sv[0]) != 0)
		return 0;
	log_info(LOGM_VTPM, "vtpm %s: a vtpmd outlived the last manager: adopting it",
		 v->uuid_str);
	return 1;
}

/* A listening unix stream socket (what a vtpmd returns as DATA/CTRL_LISTEN). */
static int
is_listener(int fd)
{
	int acc = 0, type = 0;
	socklen_t al = sizeof(acc), tl = sizeof(type);
	struct sockaddr_un sa;
	socklen_t sl = sizeof(sa);

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) == 0 && acc &&
	       getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_STREAM &&
	       getsockname(fd, (struct sockaddr *)&sa, &sl) == 0 && sa.sun_family == AF_UNIX;
}

/* A connected unix stream socket (a kept data or a control connection). */
static int
is_stream_conn(int fd)
{
	int acc = 1, type = 0;
	socklen_t al = sizeof(acc), tl = sizeof(type);
	struct sockaddr_un sa;
	socklen_t sl = sizeof(sa);

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) == 0 && !acc &&
	       getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_STREAM &&
	       getsockname(fd, (struct sockaddr *)&sa, &sl) == 0 && sa.sun_family == AF_UNIX;
}

/* The flight record as the first manager made it (supervise.c flight_create). */
static const struct vtpm_flight *
map_flight(int fd)
{
	struct stat st;
	int seals = fcntl(fd, F_GET_SEALS);
	void *p;

	if (seals < 0 || (seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) !=
				 (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) ||
	    fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size != (off_t)FLIGHT_SIZE)
		return NULL;
	p = mmap(NULL, FLIGHT_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

static int
hello(struct mgr *m, struct vtpm *v, const struct chan_msg *msg, const char **why)
{
	const uint8_t *h = msg->data;
	int pidfd;

	if (msg->len != CHAN_HELLO_SIZE || be32_get(h) != CHAN_ADOPT_VERSION) {
		*why = "adoption: malformed HELLO";
		return -1;
	}
	if (msg->cred_pid <= 0 || msg->cred_uid != vtpm_uid_of(m, v)) {
		*why = "adoption: HELLO not from this vTPM's vtpmd (credentials)";
		return -1;
	}
	if (memcmp(h + 8, v->me.uuid, UUID_LEN) != 0 || h[4] != v->me.tpm_version ||
	    (h[5] & ~(CHAN_HELLO_RUNNING | CHAN_HELLO_AUTOSTARTED)) != 0 || h[6] > 4) {
		*why = "adoption: HELLO names another TPM";
		return -1;
	}
	/* The process is alive while its end of the channel is open (it
	 * cannot fork), so the pid is not yet anyone else's. */
	if ((pidfd = (int)syscall(SYS_pidfd_open, (pid_t)msg->cred_pid, 0)) < 0) {
		*why = "adoption: pidfd_open failed";
		return -1;
	}
	v->pidfd = pidfd;
	v->adopted = 1;
	v->pid = (pid_t)msg->cred_pid;
	v->autostart = (h[5] & CHAN_HELLO_AUTOSTARTED) != 0;
	v->locality = h[6];
	v->adopt_stage = ADOPT_FDS;
	return 0;
}

static int
returned_fd(struct mgr *m, struct vtpm *v, const struct chan_msg *msg, const char **why)
{
	uint32_t kind, id;
	int fd = msg->fd;
	const struct vtpm_flight *f;

	if (msg->len != 8 || fd < 0) {
		*why = "adoption: malformed RETURN_FD";
		return -1;
	}
	kind = be32_get(msg->data);
	id = be32_get(msg->data + 4);
	if (++v->adopt_nfds > 3 + m->cfg.max_conns_per_vtpm + HELD_CTRL_MAX) {
		*why = "adoption: too many descriptors returned";
		return -1;
	}
	switch (kind) {
	case CHAN_FD_DATA_LISTEN:
	case CHAN_FD_CTRL_LISTEN: {
		struct ev *e = kind == CHAN_FD_DATA_LISTEN ? &v->data_ev : &v->ctrl_ev;

		if (id != 0 || e->fd >= 0 || !is_listener(fd))
			break;
		(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		e->fd = fd;
		return 0;
	}
	case CHAN_FD_DATA_CONN:
		if (id == 0 || id == FLIGHT_CONN_NONE || !is_stream_conn(fd) ||
		    vtpm_keep_conn(m, v, fd, id) != 0)
			break;
		return 0;
	case CHAN_FD_CTRL_CONN:
		if (id == 0 || !is_stream_conn(fd) || sockets_adopt_ctrl_conn(m, v, fd, id) != 0)
			break;
		if (id > v->next_held_id)
			v->next_held_id = id;
		v->nheld++;
		return 0;
	case CHAN_FD_FLIGHT:
		if (id != 0 || v->flight != NULL || (f = map_flight(fd)) == NULL)
			break;
		close(fd);
		v->flight = f;
		return 0;
	default:
		break;
	}
	log_warn(LOGM_VTPM, "vtpm %s: adoption: returned descriptor of kind %u id %u refused",
		 v->uuid_str, kind, id);
	close(fd);
	*why = "adoption: a returned descriptor is not what it claims";
	return -1;
}

static int
hello_done(struct mgr *m, struct vtpm *v, const struct chan_msg *msg, const char **why)
{
	int on = 0;

	if (msg->len != 4 || msg->fd >= 0 || be32_get(msg->data) != v->adopt_nfds) {
		*why = "adoption: malformed HELLO_DONE";
		return -1;
	}
	if (v->data_ev.fd < 0 || v->ctrl_ev.fd < 0) {
		*why = "adoption: listening sockets missing";
		return -1;
	}
	(void)setsockopt(v->ch.fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on));
	if (ev_set(m, &v->ctrl_ev, EPOLLIN) != 0) {
		*why = "adoption: epoll";
		return -1;
	}
	/* The last manager may have saved past what its manifest says:
	 * the next save of each file looks on disk first (nvservice.c). */
	v->gen_unknown = 0;
	for (int i = 0; i < BLOB_COUNT; i++)
		if (v->me.flags & MF_HAS(i))
			v->gen_unknown |= 1u << i;
	v->adopt_stage = ADOPT_NONE;
	v->state = VS_RUNNING;
	v->adopt_offered = 1;
	v->alive_ms = v->exec_seen_ms = now_ms();
	log_info(LOGM_VTPM, "vtpm %s: adopted vtpmd pid %d (TPM %s, %s): %u kept data and %u "
		 "control connection(s)", v->uuid_str, (int)v->pid,
		 v->me.tpm_version == 1 ? "1.2" : "2", v->autostart ? "powered on" : "guest's",
		 v->nkept, v->nheld);
	return 0;
}

int
adopt_handle_msg(struct mgr *m, struct vtpm *v, const struct chan_msg *msg, const char **why)
{
	if (v->adopt_stage == ADOPT_HELLO) {
		if (msg->type != CHAN_HELLO || msg->fd >= 0) {
			*why = "adoption: expected HELLO";
			return -1;
		}
		return hello(m, v, msg, why);
	}
	if (msg->type == CHAN_RETURN_FD)
		return returned_fd(m, v, msg, why);
	if (msg->type == CHAN_HELLO_DONE)
		return hello_done(m, v, msg, why);
	*why = "adoption: unexpected message";
	return -1;
}

void
adopt_failed(struct mgr *m, struct vtpm *v)
{
	char err[512];

	log_warn(LOGM_VTPM, "vtpm %s: adoption failed; the vTPM restarts from its saved state",
		 v->uuid_str);
	v->adopt_stage = ADOPT_NONE;
	/* What came back is used (the sockets are the ones QEMU knows);
	 * what did not is made anew. */
	if (v->data_ev.fd < 0 || v->ctrl_ev.fd < 0) {
		if (v->data_ev.fd >= 0)
			close(v->data_ev.fd);
		if (v->ctrl_ev.fd >= 0)
			close(v->ctrl_ev.fd);
		v->data_ev.fd = v->ctrl_ev.fd = -1;
		if (sockets_bind_vtpm(m, v, err, sizeof(err)) != 0)
			log_err(LOGM_VTPM, "vtpm %s: %s", v->uuid_str, err);
		else
			ev_del(m, &v->data_ev); /* the crash path re-arms it */
	} else {
		(void)ev_set(m, &v->ctrl_ev, EPOLLIN);
	}
	/* Whatever it was doing, it is handled like a crash from here. */
	v->state = VS_RUNNING;
}

int
adopt_should_detach(struct mgr *m, const struct vtpm *v)
{
	return m->cfg.survive_restart && v->adopt_offered && vtpm_has_vtpmd(v) && v->nkept != 0 &&
	       (v->state == VS_RUNNING || v->state == VS_STARTING) &&
	       !vtpm_xen_attached(m, v);
}

void
adopt_tick(struct mgr *m)
{
	for (struct vtpm *v = m->vtpms; v != NULL; v = v->next) {
		if (!v->detaching || !vtpm_has_vtpmd(v) || v->state != VS_RUNNING ||
		    v->outstanding != NULL || v->q_head != NULL)
			continue;
		for (struct ctrl_conn *c = v->conns; c != NULL; c = c->next)
			if (c->busy)
				goto next;
		if (chan_send(v->ch.fd, CHAN_DETACH, NULL, 0, NULL, 0, -1) != 0) {
			log_warn(LOGM_VTPM, "vtpm %s: cannot detach vtpmd pid %d (%s); stopping it",
				 v->uuid_str, (int)v->pid, strerror(errno));
			v->detaching = 0;
			vtpm_request_stop(m, v);
			continue;
		}
		log_info(LOGM_VTPM, "vtpm %s: vtpmd pid %d left running for the next manager "
			 "(%u kept data, %u control connection(s))", v->uuid_str, (int)v->pid,
			 v->nkept, v->nheld);
		vtpm_let_go(m, v);
		sockets_release_vtpm(m, v); /* closes ours; the names stay */
		v->detaching = 0;
		v->adopt_offered = 0;
		m->ndetached++;
next:;
	}
}
