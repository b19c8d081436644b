/*
 * ctl.c - the administrative control socket <run-dir>/vtpm_managerd.sock
 * served to vtpmctl (protocol in manager/ctl_proto.h).
 *
 * Trusts: only root (or the daemon's own uid), checked with SO_PEERCRED at
 * accept; even so, every request is size-checked exactly before use.
 * Guests never reach this socket: it is the only way to create, stop or
 * delete a vTPM (the old manager let guests send manager ordinals).
 */
#include "manager/mgr.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "manager/provision.h"
#include "tcs/host_tpm.h"
#include "util/log.h"
#include "util/strfmt.h"

/* Root's vtpmctl runs are short; more at once than this is a runaway script. */
#define CTL_CLIENTS_MAX 32

static void ctl_client_cb(struct mgr *m, struct ev *e, uint32_t events);

static void
ctl_client_free(struct mgr *m, struct ctl_client *c)
{
	for (struct ctl_client **pp = &m->ctl_clients; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	prov_client_gone(m, c);
	/* Forget it wherever it waits for a stop, a creation or a deletion. */
	for (struct vtpm *v = m->vtpms; v != NULL; v = v->next) {
		for (unsigned i = 0; i < v->nstop_waiters;) {
			if (v->stop_waiters[i].ctx == c)
				v->stop_waiters[i] = v->stop_waiters[--v->nstop_waiters];
			else
				i++;
		}
	}
	registry_cancel_waiter(m, c);
	ev_del(m, &c->ev);
	chan_close(&c->ch);
	if (c->commit_pending)
		c->gone = 1; /* its commit request is the commit thread's until done */
	else
		mgr_defer_free(m, c);
	m->nctl--;
	fd_admin_released(m);
}

static void
ctl_listen_cb(struct mgr *m, struct ev *e, uint32_t events)
{
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	struct ctl_client *c;
	int fd;

	while ((fd = accept_or_shed(m, e->fd, 1, "vtpmctl")) >= 0) {
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) != 0 ||
		    (cr.uid != 0 && cr.uid != geteuid())) {
			log_warn(LOGM_CTRL, "control connection from uid %d refused (root only)",
				 (int)cr.uid);
			close(fd);
			continue;
		}
		if (m->nctl >= CTL_CLIENTS_MAX) {
			shed_log(m, "vtpmctl connection refused: %u already open", m->nctl);
			close(fd);
			continue;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL || chan_init(&c->ch, fd) != 0) {
			free(c);
			close(fd);
			continue;
		}
		c->ev = (struct ev){ .fd = fd, .cb = ctl_client_cb, .ctx = c };
		c->accepted_ms = now_ms();
		if (ev_set(m, &c->ev, EPOLLIN) != 0) {
			chan_close(&c->ch);
			free(c);
			continue;
		}
		c->next = m->ctl_clients;
		m->ctl_clients = c;
		m->nctl++;
	}
	if (fd == -2) {
		ev_del(m, e);
		m->ctl_paused_until = now_ms() + 250;
	}
}

static void
ctl_reply(struct mgr *m, struct ctl_client *c, int ok, const char *msg, struct vtpm *one)
{
	ctl_answer(m, c, ok, msg, one, NULL, 0);
}

/* vtpmctl clients that connect and ask nothing are closed: each holds a
 * descriptor, and there may only be CTL_CLIENTS_MAX of them. */
void
ctl_tick(struct mgr *m)
{
	uint64_t now = now_ms();
	struct ctl_client *c, *next;

	for (c = m->ctl_clients; c != NULL; c = next) {
		next = c->next;
		if (!c->asked && now - c->accepted_ms >= IDLE_FIRST_REQUEST_MS) {
			shed_log(m, "vtpmctl connection sent no request in %d s; closing it",
				 IDLE_FIRST_REQUEST_MS / 1000);
			ctl_client_free(m, c);
		}
	}
}

/* The client waits for an answer that comes later: it may send nothing
 * more meanwhile (its hang-up is still seen). */
static void
wait_begin(struct mgr *m, struct ctl_client *c, const struct vtpm *record)
{
	c->waiting = 1;
	c->wait_record = record != NULL;
	if (record != NULL)
		memcpy(c->wait_uuid, record->me.uuid, UUID_LEN);
	(void)ev_set(m, &c->ev, EPOLLRDHUP);
}

/* The answer it waited for (a stop, a creation, a deletion, a commit). */
static void
wait_done(struct mgr *m, void *ctx, int ok, const char *msg)
{
	struct ctl_client *c = ctx;

	c->waiting = 0;
	ctl_reply(m, c, ok, msg, ok && c->wait_record ? vtpm_find_uuid(m, c->wait_uuid) : NULL);
	(void)ev_set(m, &c->ev, EPOLLIN);
}

static void
do_create(struct mgr *m, struct ctl_client *c, const uint8_t *p, size_t len)
{
	uint32_t owner_uid = MANIFEST_NO_OWNER, owner_gid = MANIFEST_NO_OWNER;
	uint8_t uuid[UUID_LEN];
	char err[512], msg[600];
	struct vtpm *v;

	if ((len != 18 && len != 26 && len != 28) || (p[0] != 1 && p[0] != 2) || p[1] > 1) {
		ctl_reply(m, c, 0, "malformed create request", NULL);
		return;
	}
	if (len >= 26) {
		owner_uid = be32_get(p + 18);
		owner_gid = be32_get(p + 22);
		if (owner_uid == MANIFEST_NO_OWNER && owner_gid != MANIFEST_NO_OWNER) {
			ctl_reply(m, c, 0, "an owner group needs an owner user", NULL);
			return;
		}
	}
	if (p[1]) {
		memcpy(uuid, p + 2, UUID_LEN);
	} else if (uuid_generate(uuid) != 0) {
		ctl_reply(m, c, 0, "cannot generate a UUID", NULL);
		return;
	}
	if (uuid_is_nil(uuid)) {
		ctl_reply(m, c, 0, "the nil UUID cannot name a vTPM", NULL);
		return;
	}
	if (prov_uuid_taken(m, c, uuid))
		return;
	/* EKs, certificates, PCR banks: a job of provision.c's makes the
	 * vTPM's first state, then creates it (vtpm_install). */
	if (prov_create(m, c, uuid, p[0], owner_uid, owner_gid, len == 28 ? p[26] : 0,
			len == 28 ? p[27] : 0) != 0)
		return;
	if ((v = vtpm_create(m, uuid, p[0], owner_uid, owner_gid,
			     (struct stop_wait){ .done = wait_done, .ctx = c }, err,
			     sizeof(err))) == NULL) {
		snprintf(msg, sizeof(msg), "%s", err);
		ctl_reply(m, c, 0, msg, NULL);
		return;
	}
	/* "created" once its directory and the manifest are durable. */
	wait_begin(m, c, v);
}

static void
do_status(struct mgr *m, struct ctl_client *c)
{
	char text[1024], pcrs[80] = "none";
	uint64_t seq, counter;
	unsigned n = 0, running = 0;
	size_t k = 0, w = 0;
	int has_counter;

	text[0] = '\0';
	for (struct vtpm *v = m->vtpms; v != NULL; v = v->next) {
		n++;
		running += vtpm_has_vtpmd(v) ? 1 : 0;
	}
	commit_status(m, &seq, &counter, &has_counter);
	if (m->host->seal_pcrs != 0) {
		pcrs[0] = '\0';
		for (int i = 0; i < 24; i++)
			if (m->host->seal_pcrs & (1u << i))
				(void)strfmt_append(pcrs, sizeof(pcrs), &w, "%s%d", w ? "," : "", i);
	}
	/* A cut line (a very long host TPM path) is fine: the text stays
	 * inside text[] whatever is appended (util/strfmt.h). */
	(void)strfmt_append(text, sizeof(text), &k, "host-tpm: %s\nhost-tpm-kind: %s\n",
			    m->host->path, host_tpm_describe(m->host));
	if (m->host->tpm_version != 0)
		(void)strfmt_append(text, sizeof(text), &k,
				    "host-tpm-version: %s\nmanufacturer: %s\nseal-pcrs: %s\n",
				    m->host->tpm_version == 1 ? "1.2" : "2.0",
				    m->host->manufacturer, pcrs);
	if (has_counter)
		(void)strfmt_append(text, sizeof(text), &k, "rollback-counter: 0x%08x = %llu\n",
				    m->host->counter_index, (unsigned long long)counter);
	else
		(void)strfmt_append(text, sizeof(text), &k, "rollback-counter: none\n");
	(void)strfmt_append(text, sizeof(text), &k,
			    "manifest-sequence: %llu\nrollback-interval: %u s\nvtpms: %u (%u running)",
			    (unsigned long long)seq, m->cfg.rollback_interval, n, running);
	ctl_reply(m, c, 1, text, NULL);
}

/* vtpmctl set-owner: the sockets change hands now, and the manifest keeps
 * the owner for later starts.  A failure leaves the old owner in place. */
static void
owner_committed(struct mgr *m, struct work *w)
{
	struct ctl_client *c = (struct ctl_client *)((char *)w - offsetof(struct ctl_client, cr.w));

	c->commit_pending = 0;
	if (c->gone) {
		mgr_defer_free(m, c);
		return;
	}
	if (c->cr.rc != 0)
		log_err(LOGM_CTRL, "the manifest commit of an owner change failed; it is in "
			"effect and will be committed with the next one");
	wait_done(m, c, c->cr.rc == 0, c->cr.rc == 0 ? "owner set"
			: "the owner is set, but saving the manifest failed (see the log)");
}

static void
do_set_owner(struct mgr *m, struct ctl_client *c, struct vtpm *v, uint32_t uid, uint32_t gid)
{
	uint32_t old_uid = v->me.owner_uid, old_gid = v->me.owner_gid;
	char err[512] = "", msg[600];

	if (uid == MANIFEST_NO_OWNER && gid != MANIFEST_NO_OWNER) {
		ctl_reply(m, c, 0, "an owner group needs an owner user", NULL);
		return;
	}
	v->me.owner_uid = uid;
	v->me.owner_gid = gid;
	if (sockets_set_owner(m, v, err, sizeof(err)) != 0) {
		v->me.owner_uid = old_uid;
		v->me.owner_gid = old_gid;
		(void)sockets_set_owner(m, v, msg, sizeof(msg));
		snprintf(msg, sizeof(msg), "cannot change the owner: %s", err);
		ctl_reply(m, c, 0, msg, NULL);
		return;
	}
	if (uid == MANIFEST_NO_OWNER)
		log_info(LOGM_CTRL, "vtpm %s: no owner; its sockets are for socket_group",
			 v->uuid_str);
	else
		log_info(LOGM_CTRL, "vtpm %s: owner uid %u gid %d", v->uuid_str, uid,
			 gid == MANIFEST_NO_OWNER ? -1 : (int)gid);
	/* "owner set" once the manifest with it is durable. */
	c->cr = (struct commit_req){ .w.done = owner_committed };
	c->commit_pending = 1;
	wait_begin(m, c, v);
	manifest_commit(m, &c->cr);
}

/* A deletion's vtpmd stopped: now the vTPM goes (vtpm_delete answers). */
static void
delete_after_stop(struct mgr *m, void *ctx, int ok, const char *msg)
{
	struct ctl_client *c = ctx;
	struct vtpm *v;

	(void)ok;
	(void)msg;
	/* Gone already (another client deleted it meanwhile): deleted. */
	if ((v = vtpm_find_uuid(m, c->wait_uuid)) == NULL)
		wait_done(m, c, 1, "deleted");
	else if (vtpm_delete(m, v, (struct stop_wait){ .done = wait_done, .ctx = c }) != 0)
		wait_done(m, c, 0, "cannot delete: out of memory");
}

/* Starts a stop, or answers at once when nothing runs.  Returns 1 when the
 * answer comes later. */
static int
begin_stop(struct mgr *m, struct ctl_client *c, struct vtpm *v)
{
	if (!vtpm_has_vtpmd(v))
		return 0;
	if (v->nstop_waiters == sizeof(v->stop_waiters) / sizeof(v->stop_waiters[0])) {
		ctl_reply(m, c, 0, "too many pending stop requests for this vTPM", NULL);
		return -1;
	}
	v->stop_waiters[v->nstop_waiters++] =
		(struct stop_wait){ .done = v->delete_after_stop ? delete_after_stop : wait_done,
				    .ctx = c };
	wait_begin(m, c, NULL);
	vtpm_request_stop(m, v);
	return 1;
}

static void
ctl_handle(struct mgr *m, struct ctl_client *c, const struct chan_msg *msg)
{
	char us[UUID_STR_LEN], text[128];
	struct vtpm *v = NULL;

	if (msg->type == CTL_CREATE) {
		do_create(m, c, msg->data, msg->len);
		return;
	}
	if (msg->type == CTL_LIST) {
		if (msg->len != 0 && msg->len != 4)
			ctl_reply(m, c, 0, "malformed list request", NULL);
		else
			ctl_answer_list(m, c, msg->len == 4 ? be32_get(msg->data) : 0);
		return;
	}
	if (prov_handles(msg->type)) {
		if (m->prov == NULL) /* a manager without provisioning (tests/fuzz) */
			ctl_reply(m, c, 0, "provisioning is not available in this manager", NULL);
		else
			prov_ctl(m, c, msg);
		return;
	}
	if (msg->type == CTL_STATUS) {
		if (msg->len != 0)
			ctl_reply(m, c, 0, "malformed status request", NULL);
		else
			do_status(m, c);
		return;
	}
	if (msg->type != CTL_SHOW && msg->type != CTL_STOP && msg->type != CTL_DELETE &&
	    msg->type != CTL_SET_OWNER) {
		ctl_reply(m, c, 0, "unknown request", NULL);
		return;
	}
	if (msg->len != UUID_LEN && !(msg->type == CTL_DELETE && msg->len == UUID_LEN + 1) &&
	    !(msg->type == CTL_SET_OWNER && msg->len == UUID_LEN + 8)) {
		ctl_reply(m, c, 0, "malformed request", NULL);
		return;
	}
	if ((v = vtpm_find_uuid(m, msg->data)) == NULL) {
		uuid_format(msg->data, us);
		snprintf(text, sizeof(text), "no vTPM with UUID %s", us);
		ctl_reply(m, c, 0, text, NULL);
		return;
	}
	switch (msg->type) {
	case CTL_SHOW:
		ctl_reply(m, c, 1, "ok", v);
		return;
	case CTL_STOP:
		if (begin_stop(m, c, v) != 0)
			return;
		/* Nothing runs: close the connections kept for the VM, clear
		 * a failed start or crash loop so the next use tries again. */
		vtpm_stop_idle(m, v);
		ctl_reply(m, c, 1, "stopped", NULL);
		return;
	case CTL_SET_OWNER:
		do_set_owner(m, c, v, be32_get(msg->data + UUID_LEN),
			     be32_get(msg->data + UUID_LEN + 4));
		return;
	default: /* CTL_DELETE */
		if (!(msg->len == UUID_LEN + 1 && msg->data[UUID_LEN] == 1) &&
		    vtpm_guest_attached(m, v, text, sizeof(text))) {
			char refuse[300];

			snprintf(refuse, sizeof(refuse), "vTPM %s is in use by a guest (%s): stop the "
				 "VM first, or delete it anyway with --force", v->uuid_str, text);
			log_warn(LOGM_CTRL, "vtpm %s: delete refused: in use by a guest (%s)",
				 v->uuid_str, text);
			ctl_reply(m, c, 0, refuse, NULL);
			return;
		}
		v->delete_after_stop = 1;
		memcpy(c->wait_uuid, v->me.uuid, UUID_LEN);
		if (begin_stop(m, c, v) != 0)
			return;
		if (vtpm_delete(m, v, (struct stop_wait){ .done = wait_done, .ctx = c }) != 0) {
			v->delete_after_stop = 0;
			ctl_reply(m, c, 0, "cannot delete: out of memory", NULL);
			return;
		}
		/* "deleted" once no record names it and its files are gone. */
		wait_begin(m, c, NULL);
		return;
	}
}

static void
ctl_client_cb(struct mgr *m, struct ev *e, uint32_t events)
{
	struct ctl_client *c = e->ctx;
	struct chan_msg msg;
	int r;

	if (c->waiting) {
		if (events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR))
			ctl_client_free(m, c);
		return;
	}
	r = chan_recv(&c->ch, &msg);
	if (r == VERR_AGAIN)
		return;
	if (r != 0) {
		ctl_client_free(m, c);
		return;
	}
	if (msg.fd >= 0) {
		close(msg.fd);
		ctl_client_free(m, c);
		return;
	}
	c->asked = 1;
	ctl_handle(m, c, &msg);
}

int
ctl_open(struct mgr *m, char *err, size_t errlen)
{
	int fd;

	/* Root only: mode 0600 here, SO_PEERCRED at accept. */
	if ((fd = unix_listen(m->run_dirfd, m->cfg.run_dir, CTL_SOCKET_NAME, SOCK_SEQPACKET, 0600,
			      0, 0, 16, err, errlen)) < 0)
		return -1;
	m->ctl_ev = (struct ev){ .fd = fd, .cb = ctl_listen_cb, .ctx = NULL };
	if (ev_set(m, &m->ctl_ev, EPOLLIN) != 0) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		close(fd);
		m->ctl_ev.fd = -1;
		return -1;
	}
	return 0;
}

void
ctl_close(struct mgr *m)
{
	while (m->ctl_clients != NULL)
		ctl_client_free(m, m->ctl_clients);
	if (m->ctl_ev.fd >= 0) {
		ev_del(m, &m->ctl_ev);
		close(m->ctl_ev.fd);
		m->ctl_ev.fd = -1;
		(void)unlinkat(m->run_dirfd, CTL_SOCKET_NAME, 0);
	}
}
