/*
 * worker.h - blocking work off the event loop (worker.c).
 *
 * The loop thread only does non-blocking socket and channel work.  Whatever
 * may block (sealing and writing a state file with its fsyncs, reading one,
 * removing a vTPM's directory) is a struct work: its run() executes on one
 * of a few storage threads, then its done() on the loop thread, which an
 * eventfd wakes.  Works with the same key (a vTPM) run one at a time, in
 * the order submitted, and their done()s run in that order too: one vTPM's
 * writes stay ordered while another vTPM's proceed.  Other threads (the
 * manifest commit thread) finish works of their own with worker_complete().
 *
 * Ownership: a work is its submitter's until done() returns; run() touches
 * only the work (and thread-safe parts of the store), never struct mgr or a
 * struct vtpm.
 */
#ifndef VTPM_MANAGER_WORKER_H
#define VTPM_MANAGER_WORKER_H

struct mgr;

struct work {
	struct work *next;
	const void *key;                             /* ordering key, or NULL */
	void (*run)(struct work *w);                 /* a storage thread; NULL: none */
	void (*done)(struct mgr *m, struct work *w); /* the loop thread */
};

/* Starts `threads` storage threads and registers the completion eventfd. */
int worker_init(struct mgr *m, unsigned threads, char *err, size_t errlen);
/* Queues w (loop thread). */
void worker_submit(struct mgr *m, struct work *w);
/* Loop thread: a work another thread will finish with worker_complete(). */
void worker_expect(struct mgr *m);
/* Any thread: w is finished; its done() runs on the loop. */
void worker_complete(struct mgr *m, struct work *w);
/* Works submitted whose done() has not run yet. */
unsigned worker_pending(const struct mgr *m);
/* Runs done() of every finished work (the eventfd callback does this too). */
void worker_reap(struct mgr *m);
/* Exit: lets queued works finish, runs their done()s, stops the threads. */
void worker_shutdown(struct mgr *m);

#endif
