/*
 * registry.c - the vTPMs this manager defines: looking one up, adding one
 * (at start-up from the manifest, or created by an operator or a Xen
 * toolstack), removing one, and whether a guest uses it.
 *
 * Owns: the list of struct vtpm (in instance order) and the lifecycle of
 * each entry; a vTPM's creation and deletion are durable (directory,
 * manifest commit) before they are reported, and that work runs off the
 * loop (worker.c, commit.c).  Trusts: its callers for what they ask;
 * nothing on disk (store.c checks that).  Its sockets and its adoption are
 * the front ends' (m->hooks): the registry calls none of them.
 */
#include "manager/mgr.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/log.h"

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
	v->pidfd = -1;
	v->data_ev.fd = v->ctrl_ev.fd = v->ch_ev.fd = v->pid_ev.fd = -1;
	v->state = VS_STOPPED;
	/* Its sockets (or the adoption of a vtpmd that outlived the last
	 * manager, which brings them back): the front ends'. */
	if (m->hooks.vtpm_added != NULL && m->hooks.vtpm_added(m, v, err, errlen) != 0) {
		free(v);
		return NULL;
	}
	/* Kept in instance order (vtpmctl list pages by instance).  Instances
	 * only grow, so this is an append but for a manifest out of order. */
	if (m->vtpms_tail == NULL || m->vtpms_tail->me.instance < me->instance) {
		pp = m->vtpms_tail != NULL ? &m->vtpms_tail->next : &m->vtpms;
	} else {
		for (pp = &m->vtpms; *pp != NULL && (*pp)->me.instance < me->instance;
		     pp = &(*pp)->next)
			;
	}
	v->next = *pp;
	*pp = v;
	if (v->next == NULL)
		m->vtpms_tail = v;
	return v;
}

int
vtpm_xen_attached(struct mgr *m, const struct vtpm *v)
{
	return m->hooks.xen_open != NULL && m->hooks.xen_open(m, v);
}

int
vtpm_guest_attached(struct mgr *m, const struct vtpm *v, char *why, size_t whylen)
{
	if (v->nkept != 0)
		snprintf(why, whylen, "a QEMU data connection");
	else if (vtpm_xen_attached(m, v))
		snprintf(why, whylen, "a Xen PV device");
	else
		return 0;
	return 1;
}

/* A creation or deletion under way: the directory work on a storage
 * thread, the manifest commit on the commit thread, then done. */
struct life_op {
	struct work w;
	struct life_op *next;     /* m->life_ops */
	struct commit_req cr;
	struct vtpm *v;
	struct store *store;
	uint8_t uuid[UUID_LEN];
	int rc;
	struct stop_wait waiter;
	const struct vtpm_seed *seed; /* an installation's first files, or NULL */
};

static struct life_op *
op_new(struct mgr *m)
{
	struct life_op *op = calloc(1, sizeof(*op));

	if (op != NULL) {
		op->next = m->life_ops;
		m->life_ops = op;
	}
	return op;
}

static void
op_free(struct mgr *m, struct life_op *op)
{
	struct vtpm *v = op->v;

	for (struct life_op **pp = &m->life_ops; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == op) {
			*pp = op->next;
			break;
		}
	}
	if (v->create_op == op)
		v->create_op = NULL;
	free(op);
	vtpm_work_done(m, v);
}

void
registry_cancel_waiter(struct mgr *m, void *ctx)
{
	for (struct life_op *op = m->life_ops; op != NULL; op = op->next)
		if (op->waiter.ctx == ctx)
			op->waiter.done = NULL;
}

/* Fire and forget: the manifest as it is now, once durable, is all. */
static void
commit_done_free(struct mgr *m, struct work *w)
{
	(void)m;
	free((char *)w - offsetof(struct commit_req, w));
}

static void
commit_soon(struct mgr *m)
{
	struct commit_req *cr = calloc(1, sizeof(*cr));

	if (cr == NULL) {
		manifest_mark_dirty(m);
		return;
	}
	cr->w.done = commit_done_free;
	manifest_commit(m, cr);
}

static void
dir_create_run(struct work *w)
{
	struct life_op *op = (struct life_op *)w;
	const struct vtpm_seed *sd = op->seed;
	char err[256];

	if ((op->rc = store_vtpm_create(op->store, op->uuid)) != 0 || sd == NULL)
		return;
	for (int i = 0; i < BLOB_COUNT && op->rc == 0; i++)
		if (sd->has[i])
			op->rc = store_blob_save(op->store, op->uuid,
						 blob_name((enum blob_index)i), 1, sd->blobs[i].d,
						 sd->blobs[i].len, err, sizeof(err));
	if (op->rc == 0 && sd->write != NULL)
		op->rc = sd->write(op->store, op->uuid, sd->ctx);
}

static void
dir_delete_run(struct work *w)
{
	struct life_op *op = (struct life_op *)w;

	op->rc = store_vtpm_delete(op->store, op->uuid);
}

static void
cleanup_done(struct mgr *m, struct work *w)
{
	op_free(m, (struct life_op *)w);
}

/* A creation failed: the vTPM goes again (its directory, if any, too). */
static void
create_failed(struct mgr *m, struct life_op *op, const char *what)
{
	struct vtpm *v = op->v;
	struct stop_wait wt = op->waiter;
	char msg[256];

	log_err(LOGM_CTRL, "vtpm %s: creation failed: %s", v->uuid_str, what);
	snprintf(msg, sizeof(msg), "cannot create vTPM: %s (see the log)", what);
	v->create_op = NULL;
	vtpm_abort(m, v, "its creation failed");
	vtpm_free(m, v);
	commit_soon(m);
	/* The directory goes after whatever of it is already queued. */
	op->w.run = dir_delete_run;
	op->w.done = cleanup_done;
	worker_submit(m, &op->w);
	if (wt.done != NULL)
		wt.done(m, wt.ctx, 0, msg);
}

static void
create_committed(struct mgr *m, struct work *w)
{
	struct life_op *op = (struct life_op *)((char *)w - offsetof(struct life_op, cr.w));
	struct vtpm *v = op->v;
	struct stop_wait wt = op->waiter;

	if (op->cr.rc != 0) {
		create_failed(m, op, "committing the manifest failed");
		return;
	}
	if (op->seed == NULL) /* an installer logs what it made */
		log_info(LOGM_CTRL, "vtpm %s: created (instance %u, TPM %s)", v->uuid_str,
			 v->me.instance, v->me.tpm_version == 1 ? "1.2" : "2.0");
	op_free(m, op);
	if (wt.done != NULL)
		wt.done(m, wt.ctx, 1, "created");
}

static void
create_dir_done(struct mgr *m, struct work *w)
{
	struct life_op *op = (struct life_op *)w;

	if (op->rc != 0) {
		create_failed(m, op, op->seed != NULL ? "writing its first state failed" :
							  "making its state directory failed");
		return;
	}
	/* Recorded only now that the files are durable: from the next
	 * commit on a missing one is refused, never a fresh TPM. */
	for (int i = 0; op->seed != NULL && i < BLOB_COUNT; i++) {
		if (op->seed->has[i]) {
			op->v->gen[i] = 1;
			op->v->me.flags |= MF_HAS(i);
		}
	}
	op->cr.w.done = create_committed;
	manifest_commit(m, &op->cr);
}

struct vtpm *
vtpm_install(struct mgr *m, const struct manifest_entry *me, const struct vtpm_seed *seed,
	     struct stop_wait waiter, char *err, size_t errlen)
{
	char us[UUID_STR_LEN], why[512];
	struct manifest_entry e = *me;
	struct life_op *op;
	struct vtpm *v;

	if (uuid_is_nil(me->uuid)) {
		snprintf(err, errlen, "the nil UUID cannot name a vTPM");
		return NULL;
	}
	if (vtpm_find_uuid(m, me->uuid) != NULL) {
		uuid_format(me->uuid, us);
		snprintf(err, errlen, "a vTPM with UUID %s already exists", us);
		return NULL;
	}
	if (!fd_budget_allows(m, 1)) {
		snprintf(err, errlen, "cannot create vTPM: not enough file descriptors "
			 "(RLIMIT_NOFILE %u: each vTPM needs up to %u, guest connections up to %u "
			 "(max_connections)); raise LimitNOFILE", m->nofile, FD_PER_VTPM,
			 m->cfg.max_connections);
		log_warn(LOGM_CTRL, "%s", err);
		return NULL;
	}
	if ((op = op_new(m)) == NULL) {
		snprintf(err, errlen, "cannot create vTPM: out of memory");
		return NULL;
	}
	/* Its files are recorded (MF_HAS) once written: create_dir_done. */
	e.flags = MF_PRESENCE_KNOWN;
	memset(e.gen, 0, sizeof(e.gen));
	e.created = e.updated = now_unix();
	if ((v = vtpm_add(m, &e, why, sizeof(why))) == NULL) {
		m->life_ops = op->next;
		free(op);
		snprintf(err, errlen, "cannot create vTPM: %s", why);
		return NULL;
	}
	/* Usable at once: whatever a vtpmd of it loads or saves is keyed
	 * behind the directory and the seed's files, and every commit
	 * carries the new entry; the creator hears "created" once both are
	 * durable. */
	op->v = v;
	op->store = &m->store;
	op->seed = seed;
	memcpy(op->uuid, e.uuid, UUID_LEN);
	op->waiter = waiter;
	op->w.key = v;
	op->w.run = dir_create_run;
	op->w.done = create_dir_done;
	v->create_op = op;
	vtpm_work_begin(v);
	worker_submit(m, &op->w);
	return v;
}

struct vtpm *
vtpm_create(struct mgr *m, const uint8_t uuid[UUID_LEN], int tpm_version, uint32_t owner_uid,
	    uint32_t owner_gid, struct stop_wait waiter, char *err, size_t errlen)
{
	struct manifest_entry me;
	struct vtpm *v;

	memset(&me, 0, sizeof(me));
	memcpy(me.uuid, uuid, UUID_LEN);
	me.tpm_version = (uint8_t)tpm_version;
	me.owner_uid = owner_uid;
	me.owner_gid = owner_gid;
	if (m->manifest.next_instance == 0)
		m->manifest.next_instance = 1;
	me.instance = m->manifest.next_instance;
	if ((v = vtpm_install(m, &me, NULL, waiter, err, errlen)) != NULL)
		m->manifest.next_instance++;
	return v;
}


void
vtpm_free(struct mgr *m, struct vtpm *v)
{
	struct vtpm **pp, *prev = NULL;

	for (pp = &m->vtpms; *pp != NULL; prev = *pp, pp = &(*pp)->next) {
		if (*pp == v) {
			*pp = v->next;
			if (m->vtpms_tail == v)
				m->vtpms_tail = prev;
			break;
		}
	}
	v->next = NULL;
	if (m->hooks.vtpm_removed != NULL)
		m->hooks.vtpm_removed(m, v);
	supervise_forget(m, v);
	/* Storage work of it still under way keeps it (vtpm_work_done). */
	if (v->nwork != 0)
		v->free_pending = 1;
	else
		mgr_defer_free(m, v);
}

static void
delete_dir_done(struct mgr *m, struct work *w)
{
	struct life_op *op = (struct life_op *)w;
	struct stop_wait wt = op->waiter;
	char us[UUID_STR_LEN];

	uuid_format(op->uuid, us);
	if (op->rc != 0)
		log_err(LOGM_STORE, "vtpm %s: removing its state failed (%s); the manifest no "
			"longer names it, the directory can go by hand", us, verr_str(op->rc));
	else
		log_info(LOGM_VTPM, "vtpm %s: deleted", us);
	op_free(m, op);
	if (wt.done != NULL)
		wt.done(m, wt.ctx, 1, "deleted");
}

static void
delete_committed(struct mgr *m, struct work *w)
{
	struct life_op *op = (struct life_op *)((char *)w - offsetof(struct life_op, cr.w));
	struct stop_wait wt = op->waiter;

	if (op->cr.rc != 0) {
		/* Gone from memory already; the next commit records it. */
		log_err(LOGM_STORE, "vtpm %s: the manifest commit of its deletion failed; its "
			"files stay until a commit works", op->v->uuid_str);
		manifest_mark_dirty(m);
		op_free(m, op);
		if (wt.done != NULL)
			wt.done(m, wt.ctx, 0, "deleting failed: committing the manifest failed");
		return;
	}
	/* Its files go only once no record names them: a crash in between
	 * leaves a directory the manifest ignores, never a vTPM whose state
	 * is missing. */
	worker_submit(m, &op->w);
}

int
vtpm_delete(struct mgr *m, struct vtpm *v, struct stop_wait waiter)
{
	struct life_op *op = op_new(m);

	if (op == NULL)
		return -1;
	log_info(LOGM_VTPM, "vtpm %s: deleting", v->uuid_str);
	op->v = v;
	op->store = &m->store;
	memcpy(op->uuid, v->me.uuid, UUID_LEN);
	op->waiter = waiter;
	op->w.key = v;
	op->w.run = dir_delete_run;
	op->w.done = delete_dir_done;
	op->cr.w.done = delete_committed;
	vtpm_work_begin(v); /* v's memory outlives the list: the ordering key */
	vtpm_free(m, v);
	manifest_commit(m, &op->cr);
	return 0;
}

