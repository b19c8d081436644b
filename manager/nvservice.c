/*
 * nvservice.c - a vtpmd's NV requests (CHAN_NV_LOAD, CHAN_NV_STORE,
 * CHAN_NV_DELETE) turned into sealed state files, off the loop.
 *
 * Owns: the one NV request each vtpmd may have outstanding (struct nv_job),
 * from the channel message to the reply.  The file work (seal + write +
 * fsync + rename + directory fsync; read + open; unlink) runs on a storage
 * thread (worker.c) keyed by the vTPM, so one vTPM's saves stay in order
 * while other vTPMs, and the loop, go on; a manifest commit it needs goes
 * to the commit thread (commit.c).  The vtpmd waits for the reply, which
 * is sent only when what it acknowledges is durable.
 *
 * Trusts: nothing of the vtpmd's message beyond its framing: the blob name
 * must be one of blob_index_of()'s and decides the file (never a path), the
 * vTPM is the channel's, and a second request while one is outstanding is a
 * protocol violation.  A reply goes only to the vtpmd that asked: one that
 * died meanwhile gets none (its successor loads what the save left).
 *
 * Which state files exist is part of the manifest (MF_HAS bits), so a file
 * deleted behind the manager's back is told apart from one the TPM never
 * saved or deleted itself.  The rules, with F the generation floor in the
 * manifest:
 *   recorded present, file missing       refused by name (never a fresh TPM)
 *   recorded present, generation < F     refused as a rollback (store.c)
 *   recorded absent, generation >= F     a save the manifest does not show
 *                                        yet (crash before the commit): used
 *   recorded absent, generation < F      the deleted copy (crash between the
 *                                        commit and the unlink, or restored
 *                                        by someone): removed, treated as absent
 * A delete commits the manifest (bit cleared, floor above the deleted
 * generation) before the file goes; the first save of permall commits
 * before it is acknowledged, so a fresh TPM's state is never unrecorded for
 * longer than one save.
 */
#include "manager/mgr.h"
#include "manager/nvservice.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#define TPM_RETRY_RC 0x800u
#define TPM_FAIL_RC 0x09u

struct nv_job {
	struct work w;
	struct commit_req cr;
	struct vtpm *v;
	uint32_t spawn_seq;   /* the vtpmd that asked (supervise.c counts spawns) */
	uint32_t type;        /* CHAN_NV_* */
	int idx;
	char name[NV_NAME_MAX + 1];
	/* For the storage thread: copies, so it never touches struct vtpm. */
	struct store *store;
	uint8_t uuid[UUID_LEN];
	uint64_t min_gen;     /* load: the manifest's floor */
	uint64_t gen;         /* store: the generation to write; load: read */
	int recorded;         /* the manifest records the file present */
	int probe_gen;        /* store: the file's generation is unknown (adopted vtpmd) */
	struct buf data;      /* store: the plaintext; load: what was read (wiped) */
	int rc;               /* 0 or a VERR_* from store.h */
	int removed_stale;    /* load: an unrecorded old copy was removed */
	int no_reply;         /* the manager's own delete (nv_discard): nobody waits */
	char err[512];
};

static void
job_free(struct mgr *m, struct nv_job *j)
{
	struct vtpm *v = j->v;

	buf_free(&j->data); /* wipes */
	free(j);
	if (v->nv_job == j)
		v->nv_job = NULL;
	vtpm_work_done(m, v);
}

/* The reply to the vtpmd that asked, if it is still the running one. */
static void
reply(struct mgr *m, struct nv_job *j, uint32_t type, uint32_t rc, const struct buf *data)
{
	struct vtpm *v = j->v;
	uint8_t b[4];

	if (j->no_reply || !vtpm_has_vtpmd(v) || v->spawn_seq != j->spawn_seq)
		return;
	be32_put(b, rc);
	/* A vtpmd that cannot take its reply is gone or hung: its channel's
	 * end, or its deadline (no longer NV-pending), ends it (supervise.c). */
	if (chan_send(v->ch.fd, type, b, 4, data != NULL ? buf_ptr(data) : NULL,
		      data != NULL ? buf_avail(data) : 0, -1) != 0)
		log_warn(LOGM_STORE, "vtpm %s: cannot answer vtpmd pid %d's NV request: %s",
			 v->uuid_str, (int)v->pid, strerror(errno));
	else
		v->alive_ms = now_ms();
	(void)m;
}

/* ---------------------------------------------------------------- load */

static void
load_run(struct work *w)
{
	struct nv_job *j = (struct nv_job *)w;

	j->rc = store_blob_load(j->store, j->uuid, j->name, j->min_gen, &j->data, &j->gen, j->err,
				sizeof(j->err));
	if (j->rc == VERR_ROLLBACK && !j->recorded) {
		(void)store_blob_delete(j->store, j->uuid, j->name);
		j->removed_stale = 1;
		j->rc = VERR_NOENT;
	}
}

static void
load_done(struct mgr *m, struct work *w)
{
	struct nv_job *j = (struct nv_job *)w;
	struct vtpm *v = j->v;
	char path[PATH_MAX], msg[768];

	if (j->removed_stale)
		log_warn(LOGM_STORE, "vtpm %s: %s; the manifest records it as deleted: removed it",
			 v->uuid_str, j->err);
	if (j->rc == 0) {
		v->gen[j->idx] = j->gen;
		if (!(v->me.flags & MF_HAS(j->idx))) {
			v->me.flags |= MF_HAS(j->idx);
			manifest_mark_dirty(m);
		}
		log_debug(LOGM_STORE, "vtpm %s: loaded %s (%zu bytes, generation %llu)",
			  v->uuid_str, j->name, buf_avail(&j->data), (unsigned long long)j->gen);
		reply(m, j, CHAN_NV_DATA, 0, &j->data);
	} else if (j->rc == VERR_NOENT && !j->recorded) {
		reply(m, j, CHAN_NV_DATA, TPM_RETRY_RC, NULL);
	} else {
		if (j->rc == VERR_NOENT) {
			store_blob_path(&m->store, v->me.uuid, j->name, path, sizeof(path));
			snprintf(msg, sizeof(msg), "state file %s is missing (the manifest records "
				 "it at generation %llu or later): restore it from a backup, or "
				 "`vtpmctl delete` the vTPM to start over with a new TPM", path,
				 (unsigned long long)v->me.gen[j->idx]);
		} else {
			snprintf(msg, sizeof(msg), "%s", j->err);
		}
		log_err(LOGM_STORE, "vtpm %s: %s; this vTPM will not start until the file is "
			"restored or the vTPM is deleted", v->uuid_str, msg);
		snprintf(v->reason, sizeof(v->reason), "%s", msg);
		reply(m, j, CHAN_NV_DATA, TPM_FAIL_RC, NULL);
	}
	job_free(m, j);
}

/* --------------------------------------------------------------- store */

static void
store_run(struct work *w)
{
	struct nv_job *j = (struct nv_job *)w;
	struct buf old;
	uint64_t g = 0;
	char e[64];

	if (j->probe_gen) {
		/* An adopted vtpmd's last manager may have saved past what
		 * the manifest says: go above what is on disk. */
		buf_init(&old, CHAN_MAX_PAYLOAD);
		if (store_blob_load(j->store, j->uuid, j->name, 0, &old, &g, e, sizeof(e)) == 0 &&
		    g >= j->gen)
			j->gen = g + 1;
		buf_free(&old);
	}
	j->rc = store_blob_save(j->store, j->uuid, j->name, j->gen, buf_ptr(&j->data),
				buf_avail(&j->data), j->err, sizeof(j->err));
}

static void
store_committed(struct mgr *m, struct work *w)
{
	struct nv_job *j = (struct nv_job *)((char *)w - offsetof(struct nv_job, cr.w));
	struct vtpm *v = j->v;

	if (j->cr.rc != 0) {
		log_err(LOGM_STORE, "vtpm %s: cannot record its first %s in the manifest",
			v->uuid_str, j->name);
		reply(m, j, CHAN_NV_STATUS, TPM_FAIL_RC, NULL);
	} else {
		reply(m, j, CHAN_NV_STATUS, 0, NULL);
	}
	job_free(m, j);
}

static void
store_done(struct mgr *m, struct work *w)
{
	struct nv_job *j = (struct nv_job *)w;
	struct vtpm *v = j->v;

	if (j->rc != 0) {
		/* The command that needed the save fails, and libtpms stays
		 * in failure mode (every later command fails too): the vTPM
		 * is degraded, and its vtpmd exits once the command is
		 * answered (VTPMD_EXIT_SAVE_FAILED); the next command restarts
		 * it from the last state that was saved. */
		log_err(LOGM_STORE, "vtpm %s: %s; restarting it from its last saved state",
			v->uuid_str, j->err);
		snprintf(v->reason, sizeof(v->reason), "saving %s failed (%s); restarted from the "
			 "last saved state", j->name, j->err);
		v->degraded = 1;
		reply(m, j, CHAN_NV_STATUS, TPM_FAIL_RC, NULL);
		job_free(m, j);
		return;
	}
	if (v->degraded) {
		log_info(LOGM_STORE, "vtpm %s: saving works again", v->uuid_str);
		v->degraded = 0;
		v->reason[0] = '\0';
	}
	if (j->gen > v->gen[j->idx])
		v->gen[j->idx] = j->gen;
	v->gen_unknown &= ~(1u << j->idx);
	log_debug(LOGM_STORE, "vtpm %s: saved %s (%zu bytes, generation %llu)", v->uuid_str,
		  j->name, buf_avail(&j->data), (unsigned long long)j->gen);
	buf_free(&j->data);
	if (!(v->me.flags & MF_HAS(j->idx))) {
		v->me.flags |= MF_HAS(j->idx);
		/* A TPM's first permanent state is recorded before the TPM
		 * may rely on it: deleting the file must never be able to
		 * turn it into a fresh TPM. */
		if (j->idx == BLOB_PERMALL) {
			j->cr.w.done = store_committed;
			manifest_commit(m, &j->cr);
			return;
		}
	}
	manifest_mark_dirty(m);
	reply(m, j, CHAN_NV_STATUS, 0, NULL);
	job_free(m, j);
}

/* -------------------------------------------------------------- delete */

static void
delete_run(struct work *w)
{
	struct nv_job *j = (struct nv_job *)w;

	j->rc = store_blob_delete(j->store, j->uuid, j->name);
	if (j->rc != 0 && j->rc != VERR_NOENT)
		snprintf(j->err, sizeof(j->err), "%s", strerror(errno));
}

static void
delete_done(struct mgr *m, struct work *w)
{
	struct nv_job *j = (struct nv_job *)w;

	if (j->rc == 0) {
		if (j->no_reply)
			log_info(LOGM_VTPM, "vtpm %s: saved %s discarded", j->v->uuid_str, j->name);
		reply(m, j, CHAN_NV_STATUS, 0, NULL);
	} else if (j->rc == VERR_NOENT) {
		reply(m, j, CHAN_NV_STATUS, TPM_RETRY_RC, NULL);
	} else {
		log_err(LOGM_STORE, "vtpm %s: cannot delete %s: %s", j->v->uuid_str, j->name,
			j->err);
		reply(m, j, CHAN_NV_STATUS, TPM_FAIL_RC, NULL);
	}
	job_free(m, j);
}

static void
delete_committed(struct mgr *m, struct work *w)
{
	struct nv_job *j = (struct nv_job *)((char *)w - offsetof(struct nv_job, cr.w));
	struct vtpm *v = j->v;

	if (j->cr.rc != 0) {
		v->me.flags |= MF_HAS(j->idx);
		log_err(LOGM_STORE, "vtpm %s: cannot record the deletion of %s", v->uuid_str,
			j->name);
		reply(m, j, CHAN_NV_STATUS, TPM_FAIL_RC, NULL);
		job_free(m, j);
		return;
	}
	worker_submit(m, &j->w);
}

/* ------------------------------------------------------------- request */

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

int
nv_request(struct mgr *m, struct vtpm *v, const struct chan_msg *msg, const char **why)
{
	const uint8_t *name = NULL, *data = NULL;
	size_t namelen = 0, datalen = 0;
	struct nv_job *j;

	switch (msg->type) {
	case CHAN_NV_LOAD:
		name = msg->data;
		namelen = msg->len;
		break;
	case CHAN_NV_STORE:
		if (msg->len < 1 || msg->len - 1 < msg->data[0]) {
			*why = "bad NV_STORE";
			return -1;
		}
		name = msg->data + 1;
		namelen = msg->data[0];
		data = msg->data + 1 + namelen;
		datalen = msg->len - 1 - namelen;
		break;
	case CHAN_NV_DELETE:
		if (msg->len < 2 || msg->data[0] > 1) {
			*why = "bad NV_DELETE";
			return -1;
		}
		name = msg->data + 1;
		namelen = msg->len - 1;
		break;
	default:
		*why = "unknown message type";
		return -1;
	}
	if (v->nv_job != NULL) {
		*why = "a second NV request while one is outstanding";
		return -1;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		*why = "out of memory for an NV request";
		return -1;
	}
	if ((j->idx = parse_name(name, namelen, j->name)) < 0) {
		free(j);
		*why = msg->type == CHAN_NV_LOAD ? "bad blob name in NV_LOAD" : "bad blob name";
		return -1;
	}
	j->v = v;
	j->spawn_seq = v->spawn_seq;
	j->type = msg->type;
	j->store = &m->store;
	memcpy(j->uuid, v->me.uuid, UUID_LEN);
	j->recorded = (v->me.flags & MF_HAS(j->idx)) != 0;
	j->w.key = v;
	j->cr.w.key = v;
	buf_init(&j->data, CHAN_MAX_PAYLOAD);
	v->nv_job = j;
	vtpm_work_begin(v);

	switch (msg->type) {
	case CHAN_NV_LOAD:
		j->min_gen = v->me.gen[j->idx];
		j->w.run = load_run;
		j->w.done = load_done;
		worker_submit(m, &j->w);
		return 0;
	case CHAN_NV_STORE:
		j->gen = (v->gen[j->idx] > v->me.gen[j->idx] ? v->gen[j->idx] : v->me.gen[j->idx]) + 1;
		j->probe_gen = (v->gen_unknown >> j->idx) & 1;
		if (buf_put_bytes(&j->data, data, datalen) != 0) {
			job_free(m, j);
			*why = "NV_STORE too large";
			return -1;
		}
		j->w.run = store_run;
		j->w.done = store_done;
		worker_submit(m, &j->w);
		return 0;
	default:
		j->w.run = delete_run;
		j->w.done = delete_done;
		if (v->me.flags & MF_HAS(j->idx)) {
			/* Recorded absent, with a floor above the copy that
			 * goes, before it goes: a crash in between leaves a file
			 * the manifest says to ignore, never a recorded file
			 * that is missing. */
			v->me.flags &= ~MF_HAS(j->idx);
			if (v->gen[j->idx] + 1 > v->me.gen[j->idx])
				v->me.gen[j->idx] = v->gen[j->idx] + 1;
			v->gen[j->idx] = v->me.gen[j->idx];
			j->cr.w.done = delete_committed;
			manifest_commit(m, &j->cr);
			return 0;
		}
		worker_submit(m, &j->w);
		return 0;
	}
}

void
nv_discard(struct mgr *m, struct vtpm *v, int idx)
{
	struct nv_job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		log_err(LOGM_STORE, "vtpm %s: out of memory discarding its %s", v->uuid_str,
			blob_name(idx));
		return;
	}
	j->v = v;
	j->no_reply = 1;
	j->type = CHAN_NV_DELETE;
	j->idx = idx;
	snprintf(j->name, sizeof(j->name), "%s", blob_name(idx));
	j->store = &m->store;
	memcpy(j->uuid, v->me.uuid, UUID_LEN);
	j->w.key = v;
	j->cr.w.key = v;
	j->w.run = delete_run;
	j->w.done = delete_done;
	buf_init(&j->data, 0);
	vtpm_work_begin(v);
	/* As a vtpmd's delete: recorded absent (floor above it) first. */
	if (v->me.flags & MF_HAS(idx)) {
		v->me.flags &= ~MF_HAS(idx);
		if (v->gen[idx] + 1 > v->me.gen[idx])
			v->me.gen[idx] = v->gen[idx] + 1;
		v->gen[idx] = v->me.gen[idx];
		j->cr.w.done = delete_committed;
		manifest_commit(m, &j->cr);
		return;
	}
	worker_submit(m, &j->w);
}

int
nv_pending(const struct vtpm *v)
{
	return v->nv_job != NULL;
}
