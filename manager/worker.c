/*
 * worker.c - the storage threads and the completion queue (worker.h).
 *
 * Owns: the queue of works not yet run, the set of keys being run, the
 * queue of finished works and the eventfd that tells the loop about them.
 * Trusts: its callers (works come from the manager's own code).  One mutex
 * guards both queues; run() is called without it.
 */
#include "manager/mgr.h"
#include "manager/worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/log.h"

#define WORKERS_MAX 8

struct workers {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct work *q_head, *q_tail;       /* submitted, not started */
	struct work *d_head, *d_tail;       /* finished, done() not run */
	const void *running[WORKERS_MAX];   /* keys being run */
	pthread_t thr[WORKERS_MAX];
	unsigned nthr;
	unsigned pending;                   /* submitted or completed, done() not run (loop only) */
	unsigned busy;                      /* works being run */
	int quit;
	int efd;
	struct ev ev;
};

/* The first queued work whose key is not being run (mu held). */
static struct work *
take_runnable(struct workers *w)
{
	struct work **pp, *p;

	for (pp = &w->q_head; (p = *pp) != NULL; pp = &p->next) {
		int blocked = 0;

		if (p->key != NULL) {
			for (unsigned i = 0; i < w->nthr && !blocked; i++)
				blocked = w->running[i] == p->key;
			/* An earlier work of the same key, still queued, goes first. */
			for (struct work *q = w->q_head; q != p && !blocked; q = q->next)
				blocked = q->key == p->key;
		}
		if (blocked)
			continue;
		*pp = p->next;
		if (w->q_tail == p) {
			w->q_tail = NULL;
			for (struct work *q = w->q_head; q != NULL; q = q->next)
				w->q_tail = q;
		}
		p->next = NULL;
		return p;
	}
	return NULL;
}

static void
push_done(struct workers *w, struct work *p)
{
	uint64_t one = 1;

	pthread_mutex_lock(&w->mu);
	p->next = NULL;
	if (w->d_tail != NULL)
		w->d_tail->next = p;
	else
		w->d_head = p;
	w->d_tail = p;
	pthread_mutex_unlock(&w->mu);
	(void)!write(w->efd, &one, sizeof(one));
}

struct thread_arg {
	struct workers *w;
	unsigned slot;
};

static void *
worker_main(void *arg)
{
	struct thread_arg *ta = arg;
	struct workers *w = ta->w;
	unsigned slot = ta->slot;
	uint64_t one = 1;
	struct work *p;

	free(ta);
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while ((p = take_runnable(w)) == NULL && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		if (p == NULL)
			break;
		w->running[slot] = p->key;
		w->busy++;
		pthread_mutex_unlock(&w->mu);
		if (p->run != NULL)
			p->run(p);
		pthread_mutex_lock(&w->mu);
		w->running[slot] = NULL;
		w->busy--;
		/* Finished before the next of its key starts: done()s keep
		 * the order of their key. */
		p->next = NULL;
		if (w->d_tail != NULL)
			w->d_tail->next = p;
		else
			w->d_head = p;
		w->d_tail = p;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		(void)!write(w->efd, &one, sizeof(one));
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

void
worker_reap(struct mgr *m)
{
	struct workers *w = m->workers;
	struct work *list, *p;
	uint64_t n;

	if (w == NULL)
		return;
	(void)!read(w->efd, &n, sizeof(n));
	pthread_mutex_lock(&w->mu);
	list = w->d_head;
	w->d_head = w->d_tail = NULL;
	pthread_mutex_unlock(&w->mu);
	while ((p = list) != NULL) {
		list = p->next;
		p->next = NULL;
		w->pending--;
		p->done(m, p);
	}
}

static void
efd_cb(struct mgr *m, struct ev *e, uint32_t events)
{
	(void)e;
	(void)events;
	worker_reap(m);
}

int
worker_init(struct mgr *m, unsigned threads, char *err, size_t errlen)
{
	struct workers *w = calloc(1, sizeof(*w));

	if (threads == 0 || threads > WORKERS_MAX)
		threads = WORKERS_MAX;
	if (w == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if ((w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		free(w);
		return -1;
	}
	w->ev = (struct ev){ .fd = w->efd, .cb = efd_cb, .ctx = w };
	m->workers = w;
	if (ev_set(m, &w->ev, EPOLLIN) != 0) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		worker_shutdown(m);
		return -1;
	}
	for (unsigned i = 0; i < threads; i++) {
		struct thread_arg *ta = malloc(sizeof(*ta));

		if (ta == NULL)
			break;
		*ta = (struct thread_arg){ .w = w, .slot = i };
		if (pthread_create(&w->thr[i], NULL, worker_main, ta) != 0) {
			free(ta);
			break;
		}
		w->nthr++;
	}
	if (w->nthr == 0) {
		snprintf(err, errlen, "cannot start the storage threads");
		worker_shutdown(m);
		return -1;
	}
	return 0;
}

void
worker_submit(struct mgr *m, struct work *p)
{
	struct workers *w = m->workers;

	p->next = NULL;
	w->pending++;
	pthread_mutex_lock(&w->mu);
	if (w->q_tail != NULL)
		w->q_tail->next = p;
	else
		w->q_head = p;
	w->q_tail = p;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void
worker_expect(struct mgr *m)
{
	m->workers->pending++;
}

void
worker_complete(struct mgr *m, struct work *p)
{
	push_done(m->workers, p);
}

unsigned
worker_pending(const struct mgr *m)
{
	return m->workers != NULL ? m->workers->pending : 0;
}

void
worker_shutdown(struct mgr *m)
{
	struct workers *w = m->workers;

	if (w == NULL)
		return;
	/* Queued writes are acknowledged to nobody yet, but they are the
	 * newest state: let them land. */
	pthread_mutex_lock(&w->mu);
	w->quit = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	for (unsigned i = 0; i < w->nthr; i++)
		pthread_join(w->thr[i], NULL);
	/* A done may complete another work (a creation's manifest commit
	 * completes at once when the commit thread has ended): reap until
	 * none is left, or its memory and its waiter are lost. */
	do
		worker_reap(m);
	while (w->d_head != NULL);
	if (w->ev.events != 0)
		ev_del(m, &w->ev);
	close(w->efd);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
	m->workers = NULL;
}
