/*
 * vtpm.c - supervision of vtpmd processes and the manager's end of their
 * channels.
 *
 * Owns: each vTPM's vtpmd (spawn, stop, kill, reap), its request queue and
 * the NV load/store/delete service that turns a vtpmd's blobs into sealed
 * files.  Trusts: nothing a vtpmd sends.  Every message is size-checked here
 * per type, a reply must match the request we have outstanding, and a vtpmd
 * that breaks the protocol is killed.  Which vTPM a blob belongs to is
 * decided by the channel it arrived on, never by the message.
 */
#include "manager/mgr.h"
#include "manager/xen_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "crypto/migblob.h"
#include "util/ctrl_proto.h"
#include "util/log.h"
#include "util/tpm_frame.h"

#define TPM_RETRY_RC 0x800u
#define TPM_FAIL_RC 0x09u
#define STOP_TIMEOUT_MS 10000

static void vtpm_channel_lost(struct mgr *m, struct vtpm *v, const char *why);
static void vtpm_pump(struct mgr *m, struct vtpm *v);
static void vtpm_chan_cb(struct mgr *m, struct ev *e, uint32_t events);

struct vtpm *
vtpm_find_uuid(struct mgr *m, const uint8_t uuid[UUID_LEN])
{
	for (struct vtpm *v = m->vtpms; v != NULL; v = v->next)
		if (memcmp(v->me.uuid, uuid, UUID_LEN) == 0)
			return v;
	return NULL;
}

struct vtpm *
vtpm_find_instance(struct mgr *m, uint32_t instance)
{
	for (struct vtpm *v = m->vtpms; v != NULL; v = v->next)
		if (v->me.instance == instance)
			return v;
	return NULL;
}

int
vtpm_has_vtpmd(const struct vtpm *v)
{
	return v->ch.fd >= 0;
}

struct req *
req_new(enum req_kind kind, enum req_origin origin)
{
	struct req *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->kind = kind;
	r->origin = origin;
	buf_init(&r->payload, CHAN_MAX_PAYLOAD);
	return r;
}

void
req_free(struct req *r)
{
	if (r == NULL)
		return;
	buf_free(&r->payload);
	free(r);
}

struct vtpm *
vtpm_add(struct mgr *m, const struct manifest_entry *me, char *err, size_t errlen)
{
	struct vtpm *v, **pp;

	if ((v = calloc(1, sizeof(*v))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	v->me = *me;
	memcpy(v->gen, me->gen, sizeof(v->gen));
	uuid_format(me->uuid, v->uuid_str);
	v->ch.fd = -1;
	v->data_ev.fd = v->ctrl_ev.fd = v->ch_ev.fd = -1;
	v->state = VS_STOPPED;
	if (sockets_bind_vtpm(m, v, err, errlen) != 0) {
		free(v);
		return NULL;
	}
	for (pp = &m->vtpms; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = v;
	return v;
}

void
vtpm_free(struct mgr *m, struct vtpm *v)
{
	struct vtpm **pp;
	struct req *r, *n;

	for (pp = &m->vtpms; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == v) {
			*pp = v->next;
			break;
		}
	}
	sockets_unbind_vtpm(m, v);
	for (r = v->q_head; r != NULL; r = n) {
		n = r->next;
		req_free(r);
	}
	req_free(v->outstanding);
	free(v);
}

static const char *
vtpm_version_str(const struct vtpm *v)
{
	return v->me.tpm_version == 1 ? "1.2" : "2";
}

/* Exec'd in the child: only async-signal-safe calls, and _exit on failure. */
static void
spawn_child(struct mgr *m, struct vtpm *v, int chfd, int autostart)
{
	char loc[8], uid[16], gid[16];
	const char *lvl[] = { "error", "warn", "info", "debug" };
	const char *argv[24];
	int a = 0, devnull;
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Its own session: a terminal's ^C or a signal to the manager's
	 * process group must not kill vTPMs behind the manager's back; the
	 * manager stops them in order over the channel. */
	(void)setsid();
	if (chfd == 3) {
		if (fcntl(3, F_SETFD, 0) != 0)
			_exit(127);
	} else if (dup2(chfd, 3) != 3) {
		_exit(127);
	}
	if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0 || dup2(devnull, 0) != 0)
		_exit(127);
	/* Nothing but the channel and stdio crosses into the vtpmd. */
	if (syscall(SYS_close_range, 4U, ~0U, 0U) != 0) {
		for (int fd = 4; fd < 1024; fd++)
			close(fd);
	}
	snprintf(loc, sizeof(loc), "%u", v->locality);
	argv[a++] = "vtpmd";
	argv[a++] = "--channel-fd";
	argv[a++] = "3";
	argv[a++] = "--tpm-version";
	argv[a++] = vtpm_version_str(v);
	argv[a++] = "--uuid";
	argv[a++] = v->uuid_str;
	argv[a++] = "--locality";
	argv[a++] = loc;
	argv[a++] = "--log-level";
	argv[a++] = lvl[m->cfg.log_level];
	if (autostart)
		argv[a++] = "--autostart";
	snprintf(uid, sizeof(uid), "%u", (unsigned)m->vtpm_uid);
	snprintf(gid, sizeof(gid), "%u", (unsigned)m->vtpm_gid);
	argv[a++] = "--uid";
	argv[a++] = uid;
	argv[a++] = "--gid";
	argv[a++] = gid;
	argv[a++] = "--root";
	argv[a++] = m->empty_dir;
	/* Tests only: make the vtpmd misbehave (a forbidden syscall, hostile
	 * channel messages) to prove the manager contains it.  Only flags
	 * named --test-* pass, and they only ever weaken the vtpmd itself. */
	const char *tf = getenv("VTPM_TEST_VTPMD_FLAG");
	if (tf != NULL && strncmp(tf, "--test-", 7) == 0)
		argv[a++] = tf;
	argv[a] = NULL;
	execv(m->cfg.vtpmd_path, (char *const *)(uintptr_t)argv);
	_exit(127);
}

int
vtpm_spawn(struct mgr *m, struct vtpm *v, int autostart)
{
	int sv[2], fl;
	pid_t pid;

	if (vtpm_has_vtpmd(v))
		return 0;
	if (v->state == VS_FAILED || m->stopping)
		return -1;
	if (chan_socketpair(sv) != 0) {
		log_err(LOGM_VTPM, "vtpm %s: socketpair: %s", v->uuid_str, strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		log_err(LOGM_VTPM, "vtpm %s: fork: %s", v->uuid_str, strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0)
		spawn_child(m, v, sv[1], autostart);
	close(sv[1]);
	if ((fl = fcntl(sv[0], F_GETFL)) < 0 || fcntl(sv[0], F_SETFL, fl | O_NONBLOCK) != 0 ||
	    chan_init(&v->ch, sv[0]) != 0) {
		log_err(LOGM_VTPM, "vtpm %s: channel setup failed", v->uuid_str);
		kill(pid, SIGKILL);
		close(sv[0]);
		v->ch.fd = -1;
		v->dying_pid = pid;
		return -1;
	}
	v->pid = pid;
	v->state = VS_STARTING;
	v->autostart = autostart;
	v->reason[0] = '\0';
	v->stop_deadline = 0;
	v->ch_ev.fd = sv[0];
	v->ch_ev.cb = vtpm_chan_cb;
	v->ch_ev.ctx = v;
	log_info(LOGM_VTPM, "vtpm %s: started vtpmd pid %d (TPM %s%s)", v->uuid_str, (int)pid,
		 vtpm_version_str(v), autostart ? ", powered on" : ", waiting for INIT");
	/* The vtpmd now accepts data connections itself. */
	ev_del(m, &v->data_ev);
	if (ev_set(m, &v->ch_ev, EPOLLIN) != 0 ||
	    chan_send(v->ch.fd, CHAN_LISTEN_FD, NULL, 0, NULL, 0, v->data_ev.fd) != 0) {
		kill(pid, SIGKILL);
		vtpm_channel_lost(m, v, "cannot hand over the data socket");
		return -1;
	}
	return 0;
}

/* Answers a request that will never reach a vtpmd. */
static void
req_fail(struct mgr *m, struct vtpm *v, struct req *r)
{
	uint8_t out[16], err[TPM_HDR_SIZE];
	size_t n;

	switch (r->kind) {
	case REQ_CTRL:
		/* A SHUTDOWN or STOP whose vtpmd is gone did what it asked. */
		if (r->cmd == CMD_SHUTDOWN || r->cmd == CMD_STOP)
			n = ctrl_error_reply(r->cmd, CTRL_RES_SUCCESS, out, sizeof(out));
		else
			n = ctrl_error_reply(r->cmd, CTRL_RES_FAIL, out, sizeof(out));
		vtpm_ctrl_reply(m, v, r->conn_id, out, n);
		break;
	case REQ_TPM:
		tpm_frame_error(err, buf_ptr(&r->payload), buf_avail(&r->payload),
				v->me.tpm_version == 2,
				tpm_frame_fail_code(buf_ptr(&r->payload), buf_avail(&r->payload),
						    v->me.tpm_version == 2));
		if (r->origin == ORIG_FIFO)
			fifo_reply(m, r->instance, err, sizeof(err));
		else if (r->origin == ORIG_XEN)
			xen_reply(m, r->conn_id, err, sizeof(err));
		break;
	case REQ_STOP:
		break;
	}
	req_free(r);
}

void
vtpm_submit(struct mgr *m, struct vtpm *v, struct req *r)
{
	if (v->q_tail != NULL)
		v->q_tail->next = r;
	else
		v->q_head = r;
	v->q_tail = r;
	r->next = NULL;
	if (!vtpm_has_vtpmd(v)) {
		/* First use: a TPM command (FIFO) needs a powered-on TPM, as
		 * swtpm's not-need-init,startup-clear; a control command
		 * (a hypervisor) gets a TPM that waits for INIT. */
		if (vtpm_spawn(m, v, r->kind == REQ_TPM) != 0) {
			while ((r = v->q_head) != NULL) {
				v->q_head = r->next;
				req_fail(m, v, r);
			}
			v->q_tail = NULL;
			return;
		}
	}
	vtpm_pump(m, v);
}

static void
vtpm_kill(struct mgr *m, struct vtpm *v, const char *why)
{
	log_warn(LOGM_VTPM, "vtpm %s: killing vtpmd pid %d: %s", v->uuid_str, (int)v->pid, why);
	if (v->pid > 0)
		kill(v->pid, SIGKILL);
	vtpm_channel_lost(m, v, why);
}

static void
vtpm_pump(struct mgr *m, struct vtpm *v)
{
	struct req *r;
	uint32_t type;
	int rc;

	if (v->state != VS_RUNNING || v->outstanding != NULL || (r = v->q_head) == NULL)
		return;
	v->q_head = r->next;
	if (v->q_head == NULL)
		v->q_tail = NULL;
	switch (r->kind) {
	case REQ_CTRL: type = CHAN_CTRL; break;
	case REQ_TPM: type = CHAN_TPM_CMD; break;
	default: type = CHAN_STOP; break;
	}
	if (r->kind == REQ_CTRL && r->cmd == CMD_SET_LOCALITY && buf_avail(&r->payload) > 4)
		v->locality = buf_ptr(&r->payload)[4];
	v->outstanding = r;
	rc = chan_send(v->ch.fd, type, buf_ptr(&r->payload), buf_avail(&r->payload), NULL, 0, -1);
	if (r->kind == REQ_STOP) {
		v->state = VS_STOPPING;
		v->stop_deadline = now_ms() + STOP_TIMEOUT_MS;
	}
	if (rc != 0)
		vtpm_kill(m, v, "channel send failed");
}

void
vtpm_request_stop(struct mgr *m, struct vtpm *v)
{
	struct req *r;

	if (!vtpm_has_vtpmd(v) || v->state == VS_STOPPING)
		return;
	for (r = v->q_head; r != NULL; r = r->next)
		if (r->kind == REQ_STOP)
			return;
	if ((r = req_new(REQ_STOP, ORIG_CTL)) == NULL) {
		vtpm_kill(m, v, "out of memory while stopping");
		return;
	}
	if (v->state == VS_STARTING)
		v->stop_deadline = now_ms() + STOP_TIMEOUT_MS;
	vtpm_submit(m, v, r);
}

void
vtpm_ctrl_reply(struct mgr *m, struct vtpm *v, uint64_t conn_id, const uint8_t *p, size_t len)
{
	struct ctrl_conn *c = ctrl_conn_find(v, conn_id);

	if (c == NULL)
		return; /* the client went away; nobody to tell */
	c->busy = 0;
	ctrl_conn_reply(m, c, p, len);
	/* A reply produced while the connection is still parsing (a request
	 * that failed at once) is picked up by that loop instead. */
	if (ctrl_conn_find(v, conn_id) != NULL && !c->processing)
		ctrl_conn_resume(m, c);
}

/* Everything below handles one message from a vtpmd. */

static int
reply_status(struct vtpm *v, uint32_t rc)
{
	uint8_t b[4];

	be32_put(b, rc);
	return chan_send(v->ch.fd, CHAN_NV_STATUS, b, 4, NULL, 0, -1);
}

static int
nv_load(struct mgr *m, struct vtpm *v, const char *name, int idx)
{
	struct buf out;
	uint8_t rcb[4];
	uint64_t gen = 0;
	char err[512];
	int r, s;

	buf_init(&out, CHAN_MAX_PAYLOAD - 4);
	r = store_blob_load(&m->store, v->me.uuid, name, v->me.gen[idx], &out, &gen, err,
			    sizeof(err));
	if (r == 0) {
		v->gen[idx] = gen;
		be32_put(rcb, 0);
		s = chan_send(v->ch.fd, CHAN_NV_DATA, rcb, 4, buf_ptr(&out), buf_avail(&out), -1);
		log_debug(LOGM_STORE, "vtpm %s: loaded %s (%zu bytes, generation %llu)",
			  v->uuid_str, name, buf_avail(&out), (unsigned long long)gen);
	} else if (r == STORE_E_NOENT) {
		be32_put(rcb, TPM_RETRY_RC);
		s = chan_send(v->ch.fd, CHAN_NV_DATA, rcb, 4, NULL, 0, -1);
	} else {
		log_err(LOGM_STORE, "vtpm %s: %s; this vTPM will not start until the file is "
			"restored or the vTPM is deleted", v->uuid_str, err);
		snprintf(v->reason, sizeof(v->reason), "%s", err);
		be32_put(rcb, TPM_FAIL_RC);
		s = chan_send(v->ch.fd, CHAN_NV_DATA, rcb, 4, NULL, 0, -1);
	}
	buf_free(&out);
	return s;
}

static int
nv_store(struct mgr *m, struct vtpm *v, const char *name, int idx, const uint8_t *data,
	 size_t len)
{
	uint64_t gen = (v->gen[idx] > v->me.gen[idx] ? v->gen[idx] : v->me.gen[idx]) + 1;
	char err[512];

	if (store_blob_save(&m->store, v->me.uuid, name, gen, data, len, err, sizeof(err)) != 0) {
		log_err(LOGM_STORE, "vtpm %s: %s", v->uuid_str, err);
		return reply_status(v, TPM_FAIL_RC);
	}
	v->gen[idx] = gen;
	manifest_mark_dirty(m);
	log_debug(LOGM_STORE, "vtpm %s: saved %s (%zu bytes, generation %llu)", v->uuid_str,
		  name, len, (unsigned long long)gen);
	return reply_status(v, 0);
}

static int
nv_delete(struct mgr *m, struct vtpm *v, const char *name)
{
	int r = store_blob_delete(&m->store, v->me.uuid, name);

	if (r == 0)
		return reply_status(v, 0);
	if (r == STORE_E_NOENT)
		return reply_status(v, TPM_RETRY_RC);
	log_err(LOGM_STORE, "vtpm %s: cannot delete %s: %s", v->uuid_str, name,
		strerror(errno));
	return reply_status(v, TPM_FAIL_RC);
}

/* Validates a blob name sent by a vtpmd; returns its index or -1. */
static int
parse_name(const uint8_t *p, size_t len, char out[NV_NAME_MAX + 1])
{
	int idx;

	if (len == 0 || len > NV_NAME_MAX)
		return -1;
	if ((idx = blob_index_of((const char *)p, len)) < 0)
		return -1;
	memcpy(out, p, len);
	out[len] = '\0';
	return idx;
}

/*
 * Answers a GET_STATEBLOB request r with the vtpmd's reply p (already
 * checked by ctrl_check_response: res, state_flags, totlength, length |
 * raw libtpms blob).  A client never sees the raw blob: it gets it in the
 * migration envelope (crypto/migblob.h) for this vTPM's UUID, encrypted
 * when a migration key is configured (state_flags ENCRYPTED), else with a
 * digest.  An error reply is passed on without any bytes that came with it.
 */
static void
stateblob_reply(struct mgr *m, struct vtpm *v, const struct req *r, const uint8_t *p,
		size_t len)
{
	uint32_t res = be32_get(p), n = be32_get(p + 12), type;
	uint8_t key[MIGBLOB_KEY_LEN] = { 0 }, err[16];
	int enc = m->cfg.has_migration_key, rc = 0;
	struct buf out;
	uint8_t *hdr;
	size_t k;

	if (res != 0 || n == 0 || buf_avail(&r->payload) < 16) {
		k = ctrl_error_reply(CMD_GET_STATEBLOB, res, err, sizeof(err));
		vtpm_ctrl_reply(m, v, r->conn_id, err, k);
		return;
	}
	type = be32_get(buf_ptr(&r->payload) + 8);
	buf_init(&out, 16 + CTRL_STATEBLOB_MAX);
	if (buf_reserve(&out, 16, &hdr) != 0)
		rc = MIGBLOB_E_NOMEM;
	if (rc == 0 && enc)
		rc = migblob_derive_key(m->cfg.migration_key, key);
	if (rc == 0)
		rc = migblob_wrap(enc ? key : NULL, (uint8_t)type, v->me.uuid, p + 16, n, &out);
	OPENSSL_cleanse(key, sizeof(key));
	if (rc != 0) {
		log_err(LOGM_BACKEND, "vtpm %s: cannot wrap the state blob (type %u, %u bytes): %s",
			v->uuid_str, type, n, migblob_strerror(rc));
		buf_free(&out);
		k = ctrl_error_reply(CMD_GET_STATEBLOB, CTRL_RES_FAIL, err, sizeof(err));
		vtpm_ctrl_reply(m, v, r->conn_id, err, k);
		return;
	}
	/* The header goes in last: out's storage may have moved. */
	hdr = out.d;
	be32_put(hdr, CTRL_RES_SUCCESS);
	be32_put(hdr + 4, enc ? PTM_STATE_FLAG_ENCRYPTED : 0);
	be32_put(hdr + 8, (uint32_t)(out.len - 16));
	be32_put(hdr + 12, (uint32_t)(out.len - 16));
	log_info(LOGM_BACKEND, "vtpm %s: state blob type %u sent (%zu bytes, %s)", v->uuid_str,
		 type, out.len - 16, enc ? "encrypted" : "integrity only, not encrypted");
	vtpm_ctrl_reply(m, v, r->conn_id, out.d, out.len);
	buf_free(&out);
}

/* Returns 0, or -1 with *why set when the vtpmd must be killed. */
static int
handle_msg(struct mgr *m, struct vtpm *v, const struct chan_msg *msg, const char **why)
{
	char name[NV_NAME_MAX + 1];
	struct req *r = v->outstanding;
	int idx;

	if (msg->fd >= 0) {
		*why = "sent a file descriptor";
		return -1;
	}
	switch (msg->type) {
	case CHAN_READY:
		if (msg->len != 4 || v->state != VS_STARTING) {
			*why = "unexpected READY";
			return -1;
		}
		if (be32_get(msg->data) != 0) {
			if (v->reason[0] == '\0')
				snprintf(v->reason, sizeof(v->reason),
					 "vtpmd failed to start the TPM (rc 0x%x)",
					 be32_get(msg->data));
			v->state = VS_FAILED;
			log_err(LOGM_VTPM, "vtpm %s: start failed: %s", v->uuid_str, v->reason);
			*why = "start-up failed";
			return -1;
		}
		v->state = VS_RUNNING;
		log_debug(LOGM_VTPM, "vtpm %s: vtpmd ready", v->uuid_str);
		vtpm_pump(m, v);
		return 0;
	case CHAN_CTRL_RESP:
		if (r == NULL || r->kind != REQ_CTRL ||
		    ctrl_check_response(r->cmd, msg->data, msg->len) != 0) {
			*why = "unexpected or malformed control response";
			return -1;
		}
		v->outstanding = NULL;
		if (r->origin == ORIG_CTRL_CONN && r->cmd == CMD_GET_STATEBLOB)
			stateblob_reply(m, v, r, msg->data, msg->len);
		else if (r->origin == ORIG_CTRL_CONN)
			vtpm_ctrl_reply(m, v, r->conn_id, msg->data, msg->len);
		if (r->cmd == CMD_SHUTDOWN) {
			/* vtpmd exits after SHUTDOWN; wait for its channel
			 * to close instead of sending it more. */
			v->state = VS_STOPPING;
			v->stop_deadline = now_ms() + STOP_TIMEOUT_MS;
		}
		req_free(r);
		vtpm_pump(m, v);
		return 0;
	case CHAN_TPM_RESP:
		if (r == NULL || r->kind != REQ_TPM ||
		    tpm_frame_exact(msg->data, msg->len, TPM_FRAME_MAX) != 0) {
			*why = "unexpected or malformed TPM response";
			return -1;
		}
		v->outstanding = NULL;
		if (r->origin == ORIG_FIFO)
			fifo_reply(m, r->instance, msg->data, msg->len);
		else if (r->origin == ORIG_XEN)
			xen_reply(m, r->conn_id, msg->data, msg->len);
		req_free(r);
		vtpm_pump(m, v);
		return 0;
	case CHAN_STOPPED:
		if (r == NULL || r->kind != REQ_STOP || msg->len != 4) {
			*why = "unexpected STOPPED";
			return -1;
		}
		v->outstanding = NULL;
		req_free(r);
		return 0; /* the channel closes next */
	case CHAN_NV_LOAD:
		if ((idx = parse_name(msg->data, msg->len, name)) < 0) {
			*why = "bad blob name in NV_LOAD";
			return -1;
		}
		return nv_load(m, v, name, idx) == 0 ? 0 : (*why = "channel send failed", -1);
	case CHAN_NV_STORE:
		if (msg->len < 1 || msg->len - 1 < msg->data[0] ||
		    (idx = parse_name(msg->data + 1, msg->data[0], name)) < 0) {
			*why = "bad NV_STORE";
			return -1;
		}
		return nv_store(m, v, name, idx, msg->data + 1 + msg->data[0],
				msg->len - 1 - msg->data[0]) == 0
			       ? 0
			       : (*why = "channel send failed", -1);
	case CHAN_NV_DELETE:
		if (msg->len < 2 || msg->data[0] > 1 ||
		    parse_name(msg->data + 1, msg->len - 1, name) < 0) {
			*why = "bad NV_DELETE";
			return -1;
		}
		return nv_delete(m, v, name) == 0 ? 0 : (*why = "channel send failed", -1);
	default:
		*why = "unknown message type";
		return -1;
	}
}

static void
vtpm_chan_cb(struct mgr *m, struct ev *e, uint32_t events)
{
	struct vtpm *v = e->ctx;
	struct chan_msg msg;
	const char *why;
	int r;

	/* Bounded so one chatty vtpmd cannot starve the others. */
	for (int i = 0; i < 16 && vtpm_has_vtpmd(v); i++) {
		r = chan_recv(&v->ch, &msg);
		if (r == CHAN_E_AGAIN)
			return;
		if (r == CHAN_E_EOF) {
			vtpm_channel_lost(m, v, "channel closed");
			return;
		}
		if (r == CHAN_E_PROTO) {
			vtpm_kill(m, v, "malformed channel packet");
			return;
		}
		if (r != 0) {
			vtpm_kill(m, v, "channel error");
			return;
		}
		why = NULL;
		if (handle_msg(m, v, &msg, &why) != 0) {
			if (msg.fd >= 0)
				close(msg.fd);
			vtpm_kill(m, v, why);
			return;
		}
	}
}

/* Called whenever a vtpmd's channel is gone, for whatever reason. */
static void
vtpm_channel_lost(struct mgr *m, struct vtpm *v, const char *why)
{
	struct req *r;
	int was_stopping = v->state == VS_STOPPING;

	if (!vtpm_has_vtpmd(v))
		return;
	ev_del(m, &v->ch_ev);
	chan_close(&v->ch);
	v->ch_ev.fd = -1;
	v->dying_pid = v->pid;
	v->pid = 0;
	if (v->state == VS_STARTING) {
		if (v->reason[0] == '\0')
			snprintf(v->reason, sizeof(v->reason), "vtpmd exited during start-up (%s)",
				 why);
		v->state = VS_FAILED;
	} else if (v->state != VS_FAILED) {
		v->state = VS_STOPPED;
	}
	if (!was_stopping && v->state != VS_FAILED)
		log_warn(LOGM_VTPM, "vtpm %s: vtpmd lost: %s", v->uuid_str, why);
	else
		log_info(LOGM_VTPM, "vtpm %s: vtpmd stopped", v->uuid_str);
	if ((r = v->outstanding) != NULL) {
		v->outstanding = NULL;
		req_fail(m, v, r);
	}
	while ((r = v->q_head) != NULL) {
		v->q_head = r->next;
		req_fail(m, v, r);
	}
	v->q_tail = NULL;
	manifest_mark_dirty(m);

	/* Answer the waiting vtpmctl clients only once the work is done
	 * (for a delete: sockets and files gone), so they see the result. */
	struct ctl_client *waiters[sizeof(v->stop_waiters) / sizeof(v->stop_waiters[0])];
	unsigned nwaiters = v->nstop_waiters;
	int deleting = v->delete_after_stop;

	memcpy(waiters, v->stop_waiters, nwaiters * sizeof(waiters[0]));
	v->nstop_waiters = 0;
	if (deleting)
		vtpm_delete(m, v); /* frees v */
	else if (!m->stopping)
		(void)ev_set(m, &v->data_ev, EPOLLIN); /* back to lazy start */
	for (unsigned i = 0; i < nwaiters; i++)
		ctl_stop_done(m, waiters[i], 1, deleting ? "deleted" : "stopped");
}

void
vtpm_delete(struct mgr *m, struct vtpm *v)
{
	int r;

	log_info(LOGM_VTPM, "vtpm %s: deleted", v->uuid_str);
	if ((r = store_vtpm_delete(&m->store, v->me.uuid)) != 0)
		log_err(LOGM_STORE, "vtpm %s: removing its state failed (%d)", v->uuid_str, r);
	vtpm_free(m, v);
	(void)manifest_sync(m);
}

void
vtpm_reap(struct mgr *m, pid_t pid, int status)
{
	char how[64];
	struct vtpm *v;

	if (WIFEXITED(status))
		snprintf(how, sizeof(how), "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "was killed by signal %d", WTERMSIG(status));
	else
		return;
	for (v = m->vtpms; v != NULL; v = v->next) {
		if (v->pid == pid || v->dying_pid == pid)
			break;
	}
	if (v == NULL) {
		log_debug(LOGM_VTPM, "reaped pid %d: %s", (int)pid, how);
		return;
	}
	if (v->dying_pid == pid)
		v->dying_pid = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		log_debug(LOGM_VTPM, "vtpm %s: vtpmd pid %d %s", v->uuid_str, (int)pid, how);
	else
		log_warn(LOGM_VTPM, "vtpm %s: vtpmd pid %d %s", v->uuid_str, (int)pid, how);
}

void
vtpm_check_deadlines(struct mgr *m)
{
	uint64_t now = now_ms();
	struct vtpm *v, *next;

	for (v = m->vtpms; v != NULL; v = next) {
		next = v->next;
		if (vtpm_has_vtpmd(v) && v->stop_deadline != 0 && now > v->stop_deadline &&
		    (v->state == VS_STOPPING || m->stopping)) {
			v->stop_deadline = 0;
			vtpm_kill(m, v, "did not stop in time");
		}
	}
}
