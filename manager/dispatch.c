/*
 * dispatch.c - runs one epoll batch for the manager's loop (main.c), and
 * the deferred frees that make it safe: a callback may free an object
 * (a vTPM, a control connection, a vtpmctl client, a kept connection)
 * whose struct ev still sits in a later slot of the same batch.  Such
 * objects are ev_del'ed at once (so their stale event is skipped) and
 * released after the batch.  Found by fuzzing (docs/SECURITY.md).
 */
#include "manager/mgr.h"

#include <stdlib.h>

void
mgr_defer_free(struct mgr *m, void *p)
{
	if (p == NULL)
		return;
	if (m->ngrave == m->capgrave) {
		size_t ncap = m->capgrave ? m->capgrave * 2 : 16;
		void **ng = realloc(m->grave, ncap * sizeof(*ng));
		if (ng == NULL)
			return; /* leak rather than risk a use after free */
		m->grave = ng;
		m->capgrave = ncap;
	}
	m->grave[m->ngrave++] = p;
}

void
mgr_release_deferred(struct mgr *m)
{
	for (size_t i = 0; i < m->ngrave; i++)
		free(m->grave[i]);
	m->ngrave = 0;
}

void
mgr_dispatch(struct mgr *m, const struct epoll_event *evs, int n)
{
	for (int i = 0; i < n; i++) {
		struct ev *e = evs[i].data.ptr;

		/* Unregistered by an earlier callback of this batch (closed,
		 * freed, or handed to a vtpmd): its event is stale. */
		if (e->events == 0)
			continue;
		e->cb(m, e, evs[i].events);
	}
	if (m->hooks.after_batch != NULL)
		m->hooks.after_batch(m);
	mgr_release_deferred(m);
}

