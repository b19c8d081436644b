/*
 * commit.c - manifest commits, anchored in the host TPM's monotonic counter.
 *
 * Owns the manifest's sequence number and the counter.  The invariant, with
 * C the TPM counter and S the sequence of the manifest on disk, is
 * S == C or S == C + 1:
 *   commit = write the manifest with S = C + 1 (atomic, durable), then
 *            increment the counter to C + 1.
 * A crash between the two leaves S == C + 1, which the next start accepts
 * and completes; so a crash never looks like a rollback.  A manifest with
 * S < C is an old copy: rollback, refused.  Blob writes do not wait for a
 * commit (each blob is durable on its own); commits that only advance blob
 * generations are batched, at most one per rollback_interval, because
 * counters wear out and TPMs rate-limit NV writes.  That interval is the
 * rollback window documented in docs/STORAGE.md.
 *
 * Threads: the I/O loop builds snapshots; the commit thread writes them
 * and talks to the TPM, so neither disk nor host-TPM latency stalls the
 * loop.  Urgent commits (create, delete, a first or deleted state file)
 * are requests (manifest_commit) answered on the loop through the worker
 * completion queue once durable; requests that queue up meanwhile share
 * one commit of the newest snapshot.  Only start-up and exit commit on the
 * loop itself (manifest_sync), when nothing else is served.  Without a
 * counter (keyfile mode) the same code runs with S simply incremented.
 */
#include "manager/mgr.h"
#include "manager/worker.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcs/host_tpm.h"
#include "util/log.h"

struct commit {
	pthread_t thr;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int job, busy, quit;
	struct manifest snap;
	struct commit_req *waiters, *waiters_tail; /* urgent requests */
	struct manifest urgent;                    /* their snapshot (the newest) */
	struct mgr *m;                             /* for worker_complete only */
	struct store *store;
	struct host_tpm *host;
	uint64_t seq;      /* S of the last manifest written */
	uint64_t counter;  /* C as last read or incremented */
	uint64_t last_ms;
	unsigned interval_ms;
	int dirty;
	int failures;
};

static int
build_snapshot(struct mgr *m, struct manifest *mf)
{
	unsigned n = 0;

	for (struct vtpm *v = m->vtpms; v != NULL; v = v->next)
		n++;
	memset(mf, 0, sizeof(*mf));
	mf->next_instance = m->manifest.next_instance;
	mf->count = n;
	if (n != 0 && (mf->e = calloc(n, sizeof(*mf->e))) == NULL)
		return VERR_NOMEM;
	n = 0;
	for (struct vtpm *v = m->vtpms; v != NULL; v = v->next) {
		for (int i = 0; i < BLOB_COUNT; i++)
			if (v->gen[i] > v->me.gen[i])
				v->me.gen[i] = v->gen[i];
		mf->e[n++] = v->me;
	}
	return 0;
}

/* Writes mf and advances the counter: 0 or a VERR_* from the store or the
 * host TPM (their reason is logged here).  Runs on whichever thread holds
 * the right to commit (see the header comment). */
static int
do_commit(struct commit *c, struct manifest *mf)
{
	char err[512];
	uint64_t v;
	int r;

	for (int attempt = 0; attempt < 2; attempt++) {
		mf->seq = c->host->has_counter ? c->counter + 1 : c->seq + 1;
		if ((r = store_manifest_save(c->store, mf, err, sizeof(err))) != 0) {
			log_err(LOGM_STORE, "manifest commit failed: %s", err);
			return r;
		}
		c->seq = mf->seq;
		if (!c->host->has_counter)
			return 0;
		if ((r = host_tpm_counter_increment(c->host, &v, err, sizeof(err))) != 0) {
			/* S == C + 1 on disk stays valid; the next commit
			 * rewrites the same S and tries again. */
			log_err(LOGM_TCS, "rollback counter increment failed: %s", err);
			return r;
		}
		if (v == c->counter + 1) {
			c->counter = v;
			return 0;
		}
		/* Someone else moved our counter (it is owned through its own
		 * auth, so this means a misbehaving TPM): re-anchor on it. */
		log_warn(LOGM_TCS, "rollback counter moved from %llu to %llu unexpectedly",
			 (unsigned long long)c->counter, (unsigned long long)v);
		c->counter = v - 1;
	}
	/* Moved under us twice running: not a counter we can anchor on. */
	return VERR_TPM;
}

static void *
commit_worker(void *arg)
{
	struct commit *c = arg;
	struct commit_req *list, *r;
	struct manifest mf;
	int rc;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->job && c->waiters == NULL && !c->quit)
			pthread_cond_wait(&c->cv, &c->mu);
		if (!c->job && c->waiters == NULL && c->quit)
			break;
		list = c->waiters;
		if (list != NULL) {
			/* The urgent snapshot is newer than any batched one. */
			mf = c->urgent;
			memset(&c->urgent, 0, sizeof(c->urgent));
			c->waiters = c->waiters_tail = NULL;
			if (c->job) {
				manifest_free(&c->snap);
				c->job = 0;
			}
		} else {
			mf = c->snap;
			memset(&c->snap, 0, sizeof(c->snap));
			c->job = 0;
		}
		c->busy = 1;
		pthread_mutex_unlock(&c->mu);
		rc = do_commit(c, &mf);
		manifest_free(&mf);
		pthread_mutex_lock(&c->mu);
		c->busy = 0;
		c->failures = rc == 0 ? 0 : c->failures + 1;
		pthread_cond_broadcast(&c->cv);
		pthread_mutex_unlock(&c->mu);
		while ((r = list) != NULL) {
			list = r->cnext;
			r->rc = rc;
			worker_complete(c->m, &r->w);
		}
		pthread_mutex_lock(&c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

int
commit_init(struct mgr *m, struct host_tpm *host, uint64_t seq, char *err, size_t errlen)
{
	struct commit *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->store = &m->store;
	c->host = host;
	c->m = m;
	c->seq = seq;
	c->interval_ms = m->cfg.rollback_interval * 1000u;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	if (host->has_counter &&
	    host_tpm_counter_read(host, &c->counter, err, errlen) != 0) {
		free(c);
		return -1;
	}
	if (pthread_create(&c->thr, NULL, commit_worker, c) != 0) {
		snprintf(err, errlen, "cannot start the commit thread");
		free(c);
		return -1;
	}
	c->started = 1;
	c->last_ms = now_ms();
	m->commit = c;
	return 0;
}

/*
 * Checks the manifest just loaded (sequence seq, or absent) against the
 * counter.  Completes a commit that a crash interrupted.  fresh: the master
 * key was created at this start, so there can be no manifest yet.
 */
int
commit_check_anchor(struct mgr *m, int present, uint64_t seq, int fresh, char *err,
		    size_t errlen)
{
	struct commit *c = m->commit;
	uint64_t v;
	char e2[256];

	if (!c->host->has_counter)
		return 0;
	if (!present) {
		if (fresh)
			return 0;
		snprintf(err, errlen, "rollback or tampering detected: %s/manifest is missing "
			 "while the host TPM's counter says the state was committed %llu times; "
			 "restore the newest state directory", m->cfg.state_dir,
			 (unsigned long long)c->counter);
		return -1;
	}
	if (seq == c->counter)
		return 0;
	if (seq == c->counter + 1) {
		/* A crash came between writing the manifest and counting it. */
		if (host_tpm_counter_increment(c->host, &v, e2, sizeof(e2)) != 0) {
			snprintf(err, errlen, "cannot complete an interrupted commit: %s", e2);
			return -1;
		}
		log_info(LOGM_TCS, "completed an interrupted manifest commit (sequence %llu)",
			 (unsigned long long)seq);
		c->counter = v;
		return 0;
	}
	if (seq < c->counter) {
		snprintf(err, errlen, "rollback detected: %s/manifest has sequence %llu but the "
			 "host TPM's counter is at %llu; the state directory was restored from an "
			 "older copy. Refusing to start; restore the newest state",
			 m->cfg.state_dir, (unsigned long long)seq,
			 (unsigned long long)c->counter);
		return -1;
	}
	snprintf(err, errlen, "%s/manifest has sequence %llu, ahead of the host TPM's counter "
		 "(%llu): the counter was reset or belongs to another TPM", m->cfg.state_dir,
		 (unsigned long long)seq, (unsigned long long)c->counter);
	return -1;
}

void
manifest_commit(struct mgr *m, struct commit_req *r)
{
	struct commit *c = m->commit;
	struct manifest mf;

	r->cnext = NULL;
	worker_expect(m);
	if (c == NULL || build_snapshot(m, &mf) != 0) {
		r->rc = c == NULL ? 0 : VERR_NOMEM;
		worker_complete(m, &r->w);
		return;
	}
	pthread_mutex_lock(&c->mu);
	manifest_free(&c->urgent);
	c->urgent = mf;
	if (c->waiters_tail != NULL)
		c->waiters_tail->cnext = r;
	else
		c->waiters = r;
	c->waiters_tail = r;
	c->dirty = 0;
	c->last_ms = now_ms();
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

/* Commit now, on the loop: start-up and exit only (nothing is served). */
int
manifest_sync(struct mgr *m)
{
	struct commit *c = m->commit;
	struct manifest mf;
	int r;

	if (c == NULL)
		return 0;
	if (build_snapshot(m, &mf) != 0)
		return VERR_NOMEM;
	pthread_mutex_lock(&c->mu);
	if (c->job) {
		/* Ours is newer than the queued snapshot. */
		manifest_free(&c->snap);
		c->job = 0;
	}
	while (c->busy || c->waiters != NULL)
		pthread_cond_wait(&c->cv, &c->mu);
	r = do_commit(c, &mf);
	c->dirty = 0;
	c->last_ms = now_ms();
	pthread_mutex_unlock(&c->mu);
	manifest_free(&mf);
	m->manifest.seq = c->seq;
	return r;
}

/* Blob generations moved on: commit at the next opportunity. */
void
manifest_mark_dirty(struct mgr *m)
{
	if (m->commit != NULL)
		m->commit->dirty = 1;
}

/* Called from the loop about twice a second. */
void
commit_tick(struct mgr *m)
{
	struct commit *c = m->commit;
	struct manifest mf;
	uint64_t now = now_ms();

	if (c == NULL || !c->dirty || now - c->last_ms < c->interval_ms)
		return;
	pthread_mutex_lock(&c->mu);
	if (!c->busy && !c->job && c->waiters == NULL && build_snapshot(m, &mf) == 0) {
		c->snap = mf;
		c->job = 1;
		c->dirty = 0;
		c->last_ms = now;
		pthread_cond_signal(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
}

void
commit_status(struct mgr *m, uint64_t *seq, uint64_t *counter, int *has_counter)
{
	struct commit *c = m->commit;

	*seq = *counter = 0;
	*has_counter = 0;
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	*seq = c->seq;
	*counter = c->counter;
	*has_counter = c->host->has_counter;
	pthread_mutex_unlock(&c->mu);
}

void
commit_shutdown(struct mgr *m)
{
	struct commit *c = m->commit;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	c->quit = 1;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	if (c->started)
		pthread_join(c->thr, NULL);
	manifest_free(&c->snap);
	manifest_free(&c->urgent);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c);
	m->commit = NULL;
}
