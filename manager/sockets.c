/*
 * sockets.c - the per-vTPM swtpm-compatible socket pair:
 *   <run-dir>/<uuid>.sock       raw TPM commands.  The manager only listens
 *                               while no vtpmd runs; the first connection
 *                               starts one, which then accepts by itself.
 *   <run-dir>/<uuid>.sock.ctrl  swtpm's control protocol, served here.
 *
 * Trusts: no client.  Control requests are framed by util/ctrl_proto.c with
 * exact sizes; a connection has one request in flight and a capped input
 * buffer; a passed fd is accepted only with SET_DATAFD.  The manager never
 * parses TPM command bytes from these sockets (supervise.c reads the 10-byte
 * header of a command on a kept SET_DATAFD connection of a failed vTPM, to
 * answer it with an error).  A SET_STATEBLOB blob is a
 * migration envelope (crypto/migblob.h) that must verify for this vTPM
 * before the raw libtpms blob inside goes to the vtpmd, which has libtpms
 * validate it; both envelopes are stateblob.c's.
 */
#include "manager/mgr.h"
#include "manager/stateblob.h"
#include "manager/provision.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "crypto/migblob.h" /* sizes only: stateblob.c seals and opens */
#include "util/ctrl_proto.h"
#include "util/log.h"

#define CTRL_IN_MAX (CTRL_REQ_MAX + 64)
#define CTRL_OUT_MAX (CTRL_STATEBLOB_MAX + 64)

/* A raw blob's envelope fits what clients may send and receive, and a
 * relayed SET_STATEBLOB (cmd, flags, type, length, blob) fits the channel. */
_Static_assert(MIGBLOB_OVERHEAD_MAX <= CTRL_STATEBLOB_WRAP_MAX, "envelope overhead");
_Static_assert(CTRL_STATEBLOB_MAX <= MIGBLOB_PT_MAX, "envelope payload limit");
_Static_assert(16 + CTRL_STATEBLOB_MAX <= CHAN_MAX_PAYLOAD, "SET_STATEBLOB relay");
_Static_assert(16 + CTRL_STATEBLOB_MAX <= CTRL_OUT_MAX, "GET_STATEBLOB reply");

static void ctrl_conn_cb(struct mgr *m, struct ev *e, uint32_t events);
static void ctrl_conn_free(struct mgr *m, struct ctrl_conn *c);

static void
sock_name(const struct vtpm *v, int ctrl, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s.sock%s", v->uuid_str, ctrl ? ".ctrl" : "");
}

/*
 * Who may connect to a vTPM's two sockets: its owner (vtpmctl create
 * --owner, set-owner) alone when it has one (mode 0600, or 0660 with the
 * owner's group), else root and socket_group (0660).
 */
static void
sock_access(const struct mgr *m, const struct vtpm *v, mode_t *mode, uid_t *uid, gid_t *gid)
{
	if (v->me.owner_uid != MANIFEST_NO_OWNER) {
		*uid = (uid_t)v->me.owner_uid;
		*gid = v->me.owner_gid != MANIFEST_NO_OWNER ? (gid_t)v->me.owner_gid : 0;
		*mode = v->me.owner_gid != MANIFEST_NO_OWNER ? 0660 : 0600;
	} else {
		*uid = 0;
		*gid = m->cfg.socket_gid != (gid_t)-1 ? m->cfg.socket_gid : 0;
		*mode = 0660;
	}
}

int
sockets_set_owner(struct mgr *m, struct vtpm *v, char *err, size_t errlen)
{
	char name[UUID_STR_LEN + 16];
	mode_t mode;
	uid_t uid;
	gid_t gid;
	int r;

	sock_access(m, v, &mode, &uid, &gid);
	for (int ctrl = 0; ctrl < 2; ctrl++) {
		sock_name(v, ctrl, name, sizeof(name));
		if ((r = unix_set_owner(m->run_dirfd, name, mode, uid, gid)) != 0) {
			snprintf(err, errlen, "cannot set the owner of %s/%s: %s", m->cfg.run_dir,
				 name, strerror(-r));
			return -1;
		}
	}
	return 0;
}

/* A connection arrived on the data socket while no vtpmd runs. */
static void
data_listen_cb(struct mgr *m, struct ev *e, uint32_t events)
{
	struct vtpm *v = e->ctx;
	int fd;

	if (v->state != VS_FAILED && vtpm_spawn(m, v, 1) == 0)
		return; /* the new vtpmd accepts the waiting client itself */
	/* A failed vTPM, or no vtpmd could be started (out of memory or
	 * descriptors): refuse promptly rather than leave clients hanging;
	 * the reason is in the log and in `vtpmctl show`. */
	while ((fd = accept_or_shed(m, e->fd, 0, v->uuid_str)) >= 0)
		close(fd);
	if (fd == -2) {
		/* Not even a reserve descriptor: stop listening for a while
		 * instead of spinning on a backlog we cannot drain. */
		ev_del(m, e);
		v->ctrl_paused_until = now_ms() + 250;
	}
}

/*
 * Restart survival: the vtpmd holds a duplicate of each established
 * control connection (QEMU's), so the connection outlives this manager
 * (adopt.c).  At most CHAN_HELD_MAX - 1 (the listening socket takes one).
 */
static void
hold_conn(struct mgr *m, struct vtpm *v, struct ctrl_conn *c)
{
	if (!v->adopt_offered || c->held_id != 0 || !c->established ||
	    v->nheld >= CHAN_HELD_MAX - 1)
		return;
	if (++v->next_held_id == 0)
		++v->next_held_id;
	c->held_id = v->next_held_id;
	v->nheld++;
	vtpm_hold_fd(m, v, CHAN_FD_CTRL_CONN, c->held_id, c->ev.fd);
}

static void
hold_release(struct mgr *m, struct vtpm *v, struct ctrl_conn *c)
{
	if (c->held_id == 0)
		return;
	v->nheld--;
	if (v->adopt_offered)
		vtpm_hold_fd(m, v, CHAN_FD_CTRL_CONN, c->held_id, -1);
	c->held_id = 0;
}

void
sockets_hold_ctrl_all(struct mgr *m, struct vtpm *v)
{
	v->nheld = 0;
	for (struct ctrl_conn *c = v->conns; c != NULL; c = c->next) {
		c->held_id = 0;
		hold_conn(m, v, c);
	}
}

/* A control connection on fd (closed by the caller on failure). */
static struct ctrl_conn *
ctrl_conn_new(struct mgr *m, struct vtpm *v, int fd)
{
	struct ctrl_conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->v = v;
	c->id = ++m->next_conn_id;
	c->accepted_ms = now_ms();
	c->ev.fd = fd;
	c->ev.cb = ctrl_conn_cb;
	c->ev.ctx = c;
	buf_init(&c->in, CTRL_IN_MAX);
	buf_init(&c->out, CTRL_OUT_MAX);
	if (ev_set(m, &c->ev, EPOLLIN) != 0) {
		buf_free(&c->in);
		buf_free(&c->out);
		free(c);
		return NULL;
	}
	c->next = v->conns;
	v->conns = c;
	v->nconns++;
	m->nguest++;
	return c;
}

int
sockets_adopt_ctrl_conn(struct mgr *m, struct vtpm *v, int fd, uint32_t held_id)
{
	struct ctrl_conn *c;

	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if ((c = ctrl_conn_new(m, v, fd)) == NULL)
		return -1;
	c->established = 1;
	c->held_id = held_id;
	return 0;
}

static void
ctrl_listen_cb(struct mgr *m, struct ev *e, uint32_t events)
{
	struct vtpm *v = e->ctx;
	int fd;

	while ((fd = accept_or_shed(m, e->fd, 0, v->uuid_str)) >= 0) {
		if (v->nconns >= m->cfg.max_conns_per_vtpm) {
			shed_log(m, "vtpm %s: control connection refused: %u already open (limit)",
				 v->uuid_str, v->nconns);
			close(fd);
			continue;
		}
		if (m->nguest >= m->cfg.max_connections) {
			shed_log(m, "vtpm %s: control connection refused: %u guest connections open "
				 "on this host (max_connections)", v->uuid_str, m->nguest);
			close(fd);
			continue;
		}
		if (ctrl_conn_new(m, v, fd) == NULL)
			close(fd);
	}
	if (fd == -2) {
		ev_del(m, e);
		v->ctrl_paused_until = now_ms() + 250;
	}
}

int
sockets_bind_vtpm(struct mgr *m, struct vtpm *v, char *err, size_t errlen)
{
	char name[UUID_STR_LEN + 16];
	mode_t mode;
	uid_t uid;
	gid_t gid;
	int dfd, cfd;

	sock_access(m, v, &mode, &uid, &gid);
	sock_name(v, 0, name, sizeof(name));
	if ((dfd = unix_listen(m->run_dirfd, m->cfg.run_dir, name, SOCK_STREAM, mode, uid, gid, 64,
			       err, errlen)) < 0)
		return -1;
	sock_name(v, 1, name, sizeof(name));
	if ((cfd = unix_listen(m->run_dirfd, m->cfg.run_dir, name, SOCK_STREAM, mode, uid, gid, 64,
			       err, errlen)) < 0) {
		close(dfd);
		sock_name(v, 0, name, sizeof(name));
		(void)unlinkat(m->run_dirfd, name, 0);
		return -1;
	}
	v->data_ev = (struct ev){ .fd = dfd, .cb = data_listen_cb, .ctx = v };
	v->ctrl_ev = (struct ev){ .fd = cfd, .cb = ctrl_listen_cb, .ctx = v };
	if (ev_set(m, &v->data_ev, EPOLLIN) != 0 || ev_set(m, &v->ctrl_ev, EPOLLIN) != 0) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		sockets_unbind_vtpm(m, v);
		return -1;
	}
	return 0;
}

void
sockets_release_vtpm(struct mgr *m, struct vtpm *v)
{
	while (v->conns != NULL)
		ctrl_conn_free(m, v->conns);
	if (v->data_ev.fd >= 0) {
		ev_del(m, &v->data_ev);
		close(v->data_ev.fd);
		v->data_ev.fd = -1;
	}
	if (v->ctrl_ev.fd >= 0) {
		ev_del(m, &v->ctrl_ev);
		close(v->ctrl_ev.fd);
		v->ctrl_ev.fd = -1;
	}
}

void
sockets_unbind_vtpm(struct mgr *m, struct vtpm *v)
{
	char name[UUID_STR_LEN + 16];

	while (v->conns != NULL)
		ctrl_conn_free(m, v->conns);
	if (v->data_ev.fd >= 0) {
		ev_del(m, &v->data_ev);
		close(v->data_ev.fd);
		v->data_ev.fd = -1;
		sock_name(v, 0, name, sizeof(name));
		(void)unlinkat(m->run_dirfd, name, 0);
	}
	if (v->ctrl_ev.fd >= 0) {
		ev_del(m, &v->ctrl_ev);
		close(v->ctrl_ev.fd);
		v->ctrl_ev.fd = -1;
		sock_name(v, 1, name, sizeof(name));
		(void)unlinkat(m->run_dirfd, name, 0);
	}
}

struct ctrl_conn *
ctrl_conn_find(struct vtpm *v, uint64_t id)
{
	for (struct ctrl_conn *c = v->conns; c != NULL; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

static void
ctrl_conn_free(struct mgr *m, struct ctrl_conn *c)
{
	struct vtpm *v = c->v;

	for (struct ctrl_conn **pp = &v->conns; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	v->nconns--;
	m->nguest--;
	hold_release(m, v, c);
	ev_del(m, &c->ev);
	close(c->ev.fd);
	c->ev.fd = -1;
	buf_free(&c->in);
	buf_free(&c->out);
	mgr_defer_free(m, c);
}

/* Parses what control connections buffered while they waited for a
 * reply (see ctrl_req_done); runs after each epoll batch (m->hooks). */
void
sockets_run_resumes(struct mgr *m)
{
	while (m->resume_pending) {
		m->resume_pending = 0;
		for (struct vtpm *v = m->vtpms; v != NULL; v = v->next) {
			struct ctrl_conn *c, *next;
			for (c = v->conns; c != NULL; c = next) {
				next = c->next;
				if (c->resume_pending && !c->busy) {
					c->resume_pending = 0;
					ctrl_conn_resume(m, c);
				}
			}
		}
	}
}

/* Sets the epoll interest from the connection's state. */
static void
ctrl_conn_update(struct mgr *m, struct ctrl_conn *c)
{
	uint32_t want = 0;

	/* A vTPM being detached reads no more requests: what is unread
	 * stays in the socket for the next manager. */
	if (!c->busy && !c->closing && !c->v->detaching)
		want |= EPOLLIN;
	if (buf_avail(&c->out) != 0)
		want |= EPOLLOUT;
	if (want == 0 && c->closing) {
		ctrl_conn_free(m, c);
		return;
	}
	/* A busy connection with nothing to write still needs to notice a
	 * hang-up; EPOLLRDHUP without EPOLLIN does that without spinning. */
	if (want == 0)
		want = EPOLLRDHUP;
	if (ev_set(m, &c->ev, want) != 0)
		ctrl_conn_free(m, c);
}

/* Returns 0, or -1 when the connection was freed. */
static int
ctrl_conn_flush(struct mgr *m, struct ctrl_conn *c)
{
	while (buf_avail(&c->out) != 0) {
		ssize_t n = send(c->ev.fd, buf_ptr(&c->out), buf_avail(&c->out), MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			ctrl_conn_free(m, c);
			return -1;
		}
		buf_drop(&c->out, (size_t)n);
	}
	buf_reset(&c->out);
	return 0;
}

void
ctrl_conn_reply(struct mgr *m, struct ctrl_conn *c, const uint8_t *p, size_t len)
{
	if (buf_put_bytes(&c->out, p, len) != 0) {
		log_warn(LOGM_BACKEND, "vtpm %s: control client not reading; closing",
			 c->v->uuid_str);
		c->closing = 1;
		buf_reset(&c->out);
	}
	if (ctrl_conn_flush(m, c) == 0)
		ctrl_conn_update(m, c);
}

static void
reply_res(struct mgr *m, struct ctrl_conn *c, uint32_t cmd, uint32_t res)
{
	uint8_t out[16];
	size_t n = ctrl_error_reply(cmd, res, out, sizeof(out));

	ctrl_conn_reply(m, c, out, n);
}

/* A control request's answer (the vtpmd's, or the manager's error when no
 * vtpmd answered): to its connection, if it is still there.  A state blob
 * leaves in its envelope only. */
static void
ctrl_req_done(struct mgr *m, struct req *r, const uint8_t *p, size_t len, int failed)
{
	struct vtpm *v = r->v;
	struct ctrl_conn *c = ctrl_conn_find(v, r->tag);
	struct buf out;

	if (c == NULL)
		return; /* the client went away; nobody to tell */
	c->busy = 0;
	if (r->cmd == CMD_GET_STATEBLOB && !failed) {
		buf_init(&out, 16 + CTRL_STATEBLOB_MAX);
		stateblob_wrap(m, v, r, p, len, &out);
		ctrl_conn_reply(m, c, buf_ptr(&out), buf_avail(&out));
		buf_free(&out);
	} else {
		ctrl_conn_reply(m, c, p, len);
	}
	/* Parsing the connection's next buffered request may submit work
	 * and start a vtpmd; never do that from inside whatever produced
	 * this reply (a failing queue, a dying vtpmd): after the batch. */
	if (ctrl_conn_find(v, r->tag) != NULL && !c->processing) {
		c->resume_pending = 1;
		m->resume_pending = 1;
	}
}

/* Queues r (a control request for c's vTPM) to the vtpmd; c is busy until
 * its reply.  Returns 1 (for ctrl_dispatch). */
static int
ctrl_submit(struct mgr *m, struct ctrl_conn *c, uint32_t cmd, struct req *r)
{
	r->cmd = cmd;
	c->busy = 1;
	vtpm_submit(m, c->v, r);
	return 1;
}

/* SET_STATEBLOB: the envelope is opened (stateblob.c) before anything
 * reaches the vtpmd.  Returns as ctrl_dispatch. */
static int
stateblob_set(struct mgr *m, struct ctrl_conn *c, const uint8_t *req, size_t total)
{
	struct vtpm *v = c->v;
	struct req *r;
	uint32_t res;

	if (v->state == VS_FAILED) {
		reply_res(m, c, CMD_SET_STATEBLOB, CTRL_RES_FAIL);
		return 0;
	}
	if ((r = req_new(REQ_CTRL, ctrl_req_done, c->id)) == NULL) {
		reply_res(m, c, CMD_SET_STATEBLOB, CTRL_RES_FAIL);
		return 0;
	}
	if ((res = stateblob_unwrap(m, v, req, total, &r->payload)) != 0) {
		req_free(r);
		reply_res(m, c, CMD_SET_STATEBLOB, res);
		return 0;
	}
	/* A verified permanent blob: another TPM's seeds from now on. */
	if (be32_get(req + 8) == PTM_BLOB_TYPE_PERMANENT)
		prov_ek_forget(m, v);
	return ctrl_submit(m, c, CMD_SET_STATEBLOB, r);
}

/*
 * Handles one framed request.  Returns 1 when it was sent to the vtpmd (the
 * connection is now busy), 0 when answered here.
 */
static int
ctrl_dispatch(struct mgr *m, struct ctrl_conn *c, uint32_t cmd, const uint8_t *req,
	      size_t total, int *passed_fd)
{
	struct vtpm *v = c->v;
	struct req *r;
	uint8_t caps[8], cfg[8];
	uint32_t type;

	if (cmd != CMD_SET_DATAFD && *passed_fd >= 0) {
		close(*passed_fd);
		*passed_fd = -1;
	}
	switch (cmd) {
	case CMD_GET_CAPABILITY:
		memset(caps, 0, sizeof(caps));
		be32_put(caps + 4, VTPM_CTRL_CAPS);
		ctrl_conn_reply(m, c, caps, sizeof(caps));
		return 0;
	case CMD_SET_DATAFD:
		if (*passed_fd < 0) {
			reply_res(m, c, cmd, CTRL_RES_BAD_PARAMETER);
			return 0;
		}
		/* The manager keeps the connection (supervise.c, struct kept_conn)
		 * and hands it to the vtpmd, now and after a crash. */
		type = vtpm_add_data_fd(m, v, *passed_fd);
		*passed_fd = -1;
		reply_res(m, c, cmd, type);
		return 0;
	case CMD_CANCEL_TPM_CMD:
		/* A vtpmd executing a command does not read its channel, so
		 * the cancel cannot queue behind it: answered here, and the
		 * vtpmd is signalled if a command executes. */
		reply_res(m, c, cmd, vtpm_cancel(m, v));
		return 0;
	case CMD_SET_LOCALITY:
		if (req[4] > 4) {
			reply_res(m, c, cmd, CTRL_RES_BAD_LOCALITY);
			return 0;
		}
		if (!vtpm_has_vtpmd(v)) {
			/* Remembered for the next vtpmd; no process needed. */
			v->locality = req[4];
			reply_res(m, c, cmd, CTRL_RES_SUCCESS);
			return 0;
		}
		break;
	case CMD_STOP:
	case CMD_SHUTDOWN:
		if (!vtpm_has_vtpmd(v)) {
			reply_res(m, c, cmd, CTRL_RES_SUCCESS);
			return 0;
		}
		break;
	case CMD_GET_CONFIG:
		/* No swtpm file key (state is sealed by the manager instead,
		 * docs/PROTOCOLS.md); the migration key flag as swtpm's. */
		memset(cfg, 0, sizeof(cfg));
		be32_put(cfg + 4, m->cfg.has_migration_key ? PTM_CONFIG_FLAG_MIGRATION_KEY : 0);
		ctrl_conn_reply(m, c, cfg, sizeof(cfg));
		return 0;
	case CMD_LOCK_STORAGE:
		/* swtpm re-takes its state directory lock here after a failed
		 * outgoing migration.  The manager holds the state directory's
		 * lock for its whole life, so there is nothing to re-take. */
		reply_res(m, c, cmd, CTRL_RES_SUCCESS);
		return 0;
	case CMD_GET_STATEBLOB:
		/* state_flags, type, offset.  The whole envelope is returned at
		 * once (socket variant); every GET makes a new one (new nonce),
		 * so reading it in pieces at offsets cannot work and is refused. */
		type = be32_get(req + 8);
		if (type < PTM_BLOB_TYPE_PERMANENT || type > PTM_BLOB_TYPE_SAVESTATE ||
		    be32_get(req + 12) != 0) {
			reply_res(m, c, cmd, CTRL_RES_BAD_PARAMETER);
			return 0;
		}
		if (!vtpm_has_vtpmd(v)) {
			/* No TPM is running: swtpm's answer, without starting one. */
			reply_res(m, c, cmd, CTRL_RES_BAD_ORDINAL);
			return 0;
		}
		break;
	case CMD_SET_STATEBLOB:
		return stateblob_set(m, c, req, total);
	default:
		break;
	}
	if (v->state == VS_FAILED) {
		reply_res(m, c, cmd, CTRL_RES_FAIL);
		return 0;
	}
	if ((r = req_new(REQ_CTRL, ctrl_req_done, c->id)) == NULL ||
	    buf_put_bytes(&r->payload, req, total) != 0) {
		req_free(r);
		reply_res(m, c, cmd, CTRL_RES_FAIL);
		return 0;
	}
	return ctrl_submit(m, c, cmd, r);
}

/* Parses and dispatches buffered requests until one goes to the vtpmd.
 * Any reply may free c (a send error), so c is looked up again by id after
 * each step. */
static void
ctrl_conn_process(struct mgr *m, struct ctrl_conn *c, int settled, int *passed_fd)
{
	uint64_t id = c->id;
	struct vtpm *v = c->v;
	uint32_t cmd;
	size_t total;

	c->processing = 1;
	while (!c->busy && !c->closing && buf_avail(&c->in) != 0) {
		enum ctrl_parse p = ctrl_parse_request(buf_ptr(&c->in), buf_avail(&c->in),
						       settled, &cmd, &total);
		if (p == CTRL_PARSE_INCOMPLETE)
			break;
		if (p == CTRL_PARSE_UNKNOWN) {
			/* Its length is unknown, so the rest of the input
			 * cannot be framed: answer and discard it. */
			uint8_t res[4];
			be32_put(res, CTRL_RES_BAD_ORDINAL);
			buf_reset(&c->in);
			ctrl_conn_reply(m, c, res, sizeof(res));
		} else if (p == CTRL_PARSE_TOO_LARGE) {
			log_warn(LOGM_BACKEND, "vtpm %s: control request 0x%x too large; closing",
				 v->uuid_str, cmd);
			c->closing = 1;
			buf_reset(&c->in);
			reply_res(m, c, cmd, CTRL_RES_SIZE);
		} else {
			if (!c->established) {
				c->established = 1;
				if (vtpm_has_vtpmd(v))
					hold_conn(m, v, c);
			}
			(void)ctrl_dispatch(m, c, cmd, buf_ptr(&c->in), total, passed_fd);
			if (ctrl_conn_find(v, id) == NULL)
				return;
			buf_drop(&c->in, total);
		}
		if (ctrl_conn_find(v, id) == NULL)
			return;
	}
	c->processing = 0;
	if (buf_avail(&c->in) == 0) {
		buf_reset(&c->in);
		c->partial_since = 0;
	} else if (!c->busy && c->partial_since == 0) {
		c->partial_since = now_ms();
	}
	ctrl_conn_update(m, c);
}

/* Closes control connections that left a request half-sent, as swtpm
 * does after 500 ms, so they cannot pin buffers forever. */
void
sockets_tick(struct mgr *m)
{
	uint64_t now = now_ms();

	if (m->ctl_paused_until != 0 && now >= m->ctl_paused_until) {
		m->ctl_paused_until = 0;
		(void)ev_set(m, &m->ctl_ev, EPOLLIN);
	}
	for (struct vtpm *v = m->vtpms; v != NULL; v = v->next) {
		struct ctrl_conn *c = v->conns, *next;

		if (v->ctrl_paused_until != 0 && now >= v->ctrl_paused_until) {
			v->ctrl_paused_until = 0;
			(void)ev_set(m, &v->ctrl_ev, EPOLLIN);
			if (!vtpm_has_vtpmd(v))
				(void)ev_set(m, &v->data_ev, EPOLLIN);
		}
		for (; c != NULL; c = next) {
			next = c->next;
			if (!c->established && now - c->accepted_ms >= IDLE_FIRST_REQUEST_MS) {
				shed_log(m, "vtpm %s: control connection sent no request in %d s; "
					 "closing it", v->uuid_str, IDLE_FIRST_REQUEST_MS / 1000);
				ctrl_conn_free(m, c);
				continue;
			}
			if (c->partial_since != 0 && !c->busy &&
			    now - c->partial_since >= PARTIAL_TIMEOUT_MS) {
				log_warn(LOGM_BACKEND, "vtpm %s: control request incomplete after "
					 "%d ms; closing the connection", v->uuid_str,
					 PARTIAL_TIMEOUT_MS);
				ctrl_conn_free(m, c);
			}
		}
	}
}

void
ctrl_conn_resume(struct mgr *m, struct ctrl_conn *c)
{
	int nofd = -1;

	ctrl_conn_process(m, c, 1, &nofd);
}

static void
ctrl_conn_cb(struct mgr *m, struct ev *e, uint32_t events)
{
	struct ctrl_conn *c = e->ctx;
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * 4)];
	} cm;
	struct msghdr mh;
	struct iovec iov;
	uint8_t tmp[4096];
	size_t room;
	ssize_t n;
	int passed_fd = -1;

	if ((events & EPOLLOUT) && ctrl_conn_flush(m, c) != 0)
		return;
	if (c->busy || c->closing) {
		if (events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR))
			ctrl_conn_free(m, c); /* its reply will find no one */
		else
			ctrl_conn_update(m, c);
		return;
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	buf_compact(&c->in);
	room = c->in.max - c->in.len;
	if (room == 0) {
		ctrl_conn_free(m, c);
		return;
	}
	iov.iov_base = tmp;
	iov.iov_len = room < sizeof(tmp) ? room : sizeof(tmp);
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.b;
	mh.msg_controllen = sizeof(cm.b);
	n = recvmsg(e->fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	for (struct cmsghdr *ch = CMSG_FIRSTHDR(&mh); n >= 0 && ch != NULL;
	     ch = CMSG_NXTHDR(&mh, ch)) {
		if (ch->cmsg_level != SOL_SOCKET || ch->cmsg_type != SCM_RIGHTS)
			continue;
		size_t nfd = (ch->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfd; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(ch) + i * sizeof(int), sizeof(int));
			if (passed_fd < 0)
				passed_fd = fd;
			else
				close(fd); /* one fd per request, at most */
		}
	}
	if (n <= 0) {
		if (passed_fd >= 0)
			close(passed_fd);
		ctrl_conn_free(m, c);
		return;
	}
	if (buf_put_bytes(&c->in, tmp, (size_t)n) != 0) {
		if (passed_fd >= 0)
			close(passed_fd);
		ctrl_conn_free(m, c);
		return;
	}
	/* A short read means the client's write ended here. */
	ctrl_conn_process(m, c, (size_t)n < iov.iov_len, &passed_fd);
	if (passed_fd >= 0)
		close(passed_fd);
}
