/*
 * loop.c - thin epoll registration helpers and small utilities shared by
 * the manager's modules.
 */
#include "manager/mgr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

int
ev_set(struct mgr *m, struct ev *e, uint32_t events)
{
	struct epoll_event ee;
	int op;

	if (events == e->events)
		return 0;
	if (events == 0) {
		ev_del(m, e);
		return 0;
	}
	memset(&ee, 0, sizeof(ee));
	ee.events = events;
	ee.data.ptr = e;
	op = e->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
	if (epoll_ctl(m->epfd, op, e->fd, &ee) != 0)
		return -errno;
	e->events = events;
	return 0;
}

void
ev_del(struct mgr *m, struct ev *e)
{
	if (e->events != 0 && e->fd >= 0)
		(void)epoll_ctl(m->epfd, EPOLL_CTL_DEL, e->fd, NULL);
	e->events = 0;
}

int
path_join(char *out, size_t outlen, const char *dir, const char *name)
{
	int n = snprintf(out, outlen, "%s/%s", dir, name);

	return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}

uint64_t
now_unix(void)
{
	return (uint64_t)time(NULL);
}

uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
