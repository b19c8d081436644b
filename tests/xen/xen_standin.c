/*
 * xen_standin.c - see xen_standin.h.  One mutex guards the whole machine;
 * readiness is signalled through eventfds, so the backend polls the stand-in
 * exactly as it polls xs_fileno() and xenevtchn_fd().
 */
#include "xen_standin.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

struct node {
	struct node *next;
	char *path;
	char *value;
};

struct xs_event {
	struct xs_event *next;
	char *path;
	char *token;
};

struct conn; /* one domain's handles */

struct watch {
	struct watch *next;
	struct conn *c;
	char *path;
	char *token;
};

enum port_state { P_FREE, P_UNBOUND, P_INTERDOMAIN };

struct port {
	enum port_state st;
	struct conn *c;       /* the handle that owns it */
	unsigned domid;       /* its domain */
	unsigned num;         /* its number in that domain */
	unsigned remote_domid;
	int peer;             /* index of the peer port, -1 */
	int pending, masked;
};

struct grant {
	int used;
	uint32_t ref;
	unsigned owner, grantee;
	void *page;
	unsigned maps;
};

struct mapping {
	struct mapping *next;
	struct conn *c;
	void *page;
	uint32_t ref;
};

#define MAX_PORTS 256
#define MAX_GRANTS 256

struct standin {
	pthread_mutex_t mu;
	struct node *nodes;
	struct watch *watches;
	struct port ports[MAX_PORTS];
	unsigned next_port[64]; /* per domain (domid % 64) */
	struct grant grants[MAX_GRANTS];
	uint32_t next_ref;
	struct mapping *maps;
	/* A hung xenstored (standin_xs_hang). */
	pthread_cond_t hang_cv;
	char *hang_prefix; /* NULL: not hung */
	unsigned hang_ops;
	struct timespec hang_until; /* CLOCK_MONOTONIC */
	unsigned hung[2]; /* blocked reads, writes */
	unsigned forbidden; /* calls from a handle's forbidden thread */
};

struct conn {
	struct standin *w;
	unsigned domid;
	int xs_efd;
	int ev_efd;
	struct xs_event *q_head, *q_tail;
	unsigned ev_q[MAX_PORTS]; /* delivered port numbers */
	unsigned ev_n;
	int forbid_set;
	pthread_t forbid; /* calls from this thread are counted */
};

/* Counts a call made on the handle's forbidden thread. */
static void
check_thread(struct conn *c)
{
	if (c->forbid_set && pthread_equal(pthread_self(), c->forbid))
		__atomic_add_fetch(&c->w->forbidden, 1, __ATOMIC_RELAXED);
}

/* Under w->mu: blocks while xenstore "hangs" for op on path (the mutex is
 * released while blocked, so the rest of the machine goes on). */
static void
hang_wait(struct standin *w, const char *path, unsigned op)
{
	struct timespec until;
	size_t n;

	for (;;) {
		if (w->hang_prefix == NULL || (w->hang_ops & op) == 0)
			return;
		n = strlen(w->hang_prefix);
		if (strncmp(path, w->hang_prefix, n) != 0 || (path[n] != '\0' && path[n] != '/'))
			return;
		until = w->hang_until; /* standin_xs_hang may change it meanwhile */
		w->hung[op == STANDIN_HANG_WRITE]++;
		if (pthread_cond_timedwait(&w->hang_cv, &w->mu, &until) == ETIMEDOUT &&
		    w->hang_prefix != NULL) {
			/* The hang is over by itself. */
			free(w->hang_prefix);
			w->hang_prefix = NULL;
		}
		w->hung[op == STANDIN_HANG_WRITE]--;
	}
}

static void
efd_raise(int fd)
{
	uint64_t one = 1;

	(void)!write(fd, &one, sizeof(one));
}

static void
efd_drain(int fd)
{
	uint64_t v;

	(void)!read(fd, &v, sizeof(v));
}

static int
is_under(const char *child, const char *parent)
{
	size_t n = strlen(parent);

	return strncmp(child, parent, n) == 0 && (child[n] == '\0' || child[n] == '/');
}

/* Under w->mu. */
static void
queue_event(struct conn *c, const char *path, const char *token)
{
	struct xs_event *e = calloc(1, sizeof(*e));

	if (e == NULL)
		abort();
	e->path = strdup(path);
	e->token = strdup(token);
	if (c->q_tail != NULL)
		c->q_tail->next = e;
	else
		c->q_head = e;
	c->q_tail = e;
	efd_raise(c->xs_efd);
}

/* A change at path (removed: rm). Under w->mu. */
static void
fire(struct standin *w, const char *path, int removed)
{
	for (struct watch *wa = w->watches; wa != NULL; wa = wa->next) {
		if (is_under(path, wa->path))
			queue_event(wa->c, path, wa->token);
		else if (removed && is_under(wa->path, path))
			queue_event(wa->c, wa->path, wa->token);
	}
}

static struct node *
node_find(struct standin *w, const char *path)
{
	for (struct node *n = w->nodes; n != NULL; n = n->next)
		if (strcmp(n->path, path) == 0)
			return n;
	return NULL;
}

static int
valid_path(const char *path)
{
	size_t n = strlen(path);

	return path[0] == '/' && n < 3072 && (n == 1 || path[n - 1] != '/') &&
	       strstr(path, "//") == NULL;
}

/* Creates path (and its parents) or replaces its value. Under w->mu. */
static void
node_set(struct standin *w, const char *path, const char *value)
{
	struct node *n = node_find(w, path);
	char *parent, *slash;

	if (n != NULL) {
		free(n->value);
		n->value = strdup(value);
		return;
	}
	parent = strdup(path);
	if ((slash = strrchr(parent, '/')) != NULL && slash != parent) {
		*slash = '\0';
		if (node_find(w, parent) == NULL)
			node_set(w, parent, "");
	}
	free(parent);
	n = calloc(1, sizeof(*n));
	if (n == NULL)
		abort();
	n->path = strdup(path);
	n->value = strdup(value);
	n->next = w->nodes;
	w->nodes = n;
}

static int
node_rm(struct standin *w, const char *path)
{
	struct node **pp = &w->nodes;
	int found = 0;

	while (*pp != NULL) {
		struct node *n = *pp;

		if (is_under(n->path, path)) {
			*pp = n->next;
			free(n->path);
			free(n->value);
			free(n);
			found = 1;
		} else {
			pp = &n->next;
		}
	}
	return found;
}

/* ---- xenstore ops ---- */

static int
s_xs_fd(void *ctx)
{
	check_thread(ctx);
	return ((struct conn *)ctx)->xs_efd;
}

static char *
s_xs_read(void *ctx, const char *path)
{
	struct conn *c = ctx;
	struct node *n;
	char *v = NULL;

	check_thread(ctx);
	pthread_mutex_lock(&c->w->mu);
	hang_wait(c->w, path, STANDIN_HANG_READ);
	if ((n = node_find(c->w, path)) != NULL)
		v = strdup(n->value);
	pthread_mutex_unlock(&c->w->mu);
	if (n == NULL)
		errno = ENOENT;
	return v;
}

static int
s_xs_write(void *ctx, const char *path, const char *value)
{
	struct conn *c = ctx;

	check_thread(ctx);
	if (!valid_path(path)) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&c->w->mu);
	hang_wait(c->w, path, STANDIN_HANG_WRITE);
	node_set(c->w, path, value);
	fire(c->w, path, 0);
	pthread_mutex_unlock(&c->w->mu);
	return 0;
}

static char **
s_xs_directory(void *ctx, const char *path, unsigned *num)
{
	struct conn *c = ctx;
	size_t pl = strlen(path), bytes = 0;
	unsigned count = 0;
	char **vec = NULL, *s = NULL;

	check_thread(ctx);
	pthread_mutex_lock(&c->w->mu);
	hang_wait(c->w, path, STANDIN_HANG_READ);
	if (node_find(c->w, path) == NULL) {
		pthread_mutex_unlock(&c->w->mu);
		errno = ENOENT;
		return NULL;
	}
	for (int pass = 0; pass < 2; pass++) {
		unsigned i = 0;

		for (struct node *n = c->w->nodes; n != NULL; n = n->next) {
			const char *name = n->path + pl + 1;

			if (strncmp(n->path, path, pl) != 0 || n->path[pl] != '/' ||
			    strchr(name, '/') != NULL)
				continue;
			if (pass == 0) {
				count++;
				bytes += strlen(name) + 1;
			} else {
				vec[i++] = s;
				memcpy(s, name, strlen(name) + 1);
				s += strlen(name) + 1;
			}
		}
		if (pass == 0) {
			/* One block, as xs_directory returns: free once. */
			vec = malloc(sizeof(char *) * (count + 1) + bytes + 1);
			if (vec == NULL)
				abort();
			s = (char *)(vec + count + 1);
		}
	}
	vec[count] = NULL;
	pthread_mutex_unlock(&c->w->mu);
	*num = count;
	return vec;
}

static int
s_xs_watch(void *ctx, const char *path, const char *token)
{
	struct conn *c = ctx;
	struct watch *wa = calloc(1, sizeof(*wa));

	check_thread(ctx);
	if (wa == NULL || !valid_path(path)) {
		free(wa);
		errno = EINVAL;
		return -1;
	}
	wa->c = c;
	wa->path = strdup(path);
	wa->token = strdup(token);
	pthread_mutex_lock(&c->w->mu);
	wa->next = c->w->watches;
	c->w->watches = wa;
	queue_event(c, path, token); /* a new watch fires once */
	pthread_mutex_unlock(&c->w->mu);
	return 0;
}

static int
s_xs_unwatch(void *ctx, const char *path, const char *token)
{
	struct conn *c = ctx;
	struct watch **pp;
	int found = 0;

	check_thread(ctx);
	pthread_mutex_lock(&c->w->mu);
	for (pp = &c->w->watches; *pp != NULL; pp = &(*pp)->next) {
		struct watch *wa = *pp;

		if (wa->c == c && strcmp(wa->path, path) == 0 && strcmp(wa->token, token) == 0) {
			*pp = wa->next;
			free(wa->path);
			free(wa->token);
			free(wa);
			found = 1;
			break;
		}
	}
	pthread_mutex_unlock(&c->w->mu);
	if (!found)
		errno = ENOENT;
	return found ? 0 : -1;
}

static int
s_xs_read_watch(void *ctx, char *path, size_t pathlen, char *token, size_t toklen)
{
	struct conn *c = ctx;
	struct xs_event *e;

	check_thread(ctx);
	pthread_mutex_lock(&c->w->mu);
	if ((e = c->q_head) == NULL) {
		pthread_mutex_unlock(&c->w->mu);
		return 0;
	}
	if ((c->q_head = e->next) == NULL) {
		c->q_tail = NULL;
		efd_drain(c->xs_efd); /* readable only while events are queued */
	}
	pthread_mutex_unlock(&c->w->mu);
	snprintf(path, pathlen, "%s", e->path);
	snprintf(token, toklen, "%s", e->token);
	free(e->path);
	free(e->token);
	free(e);
	return 1;
}

static int
s_xs_domid(void *ctx, unsigned *domid)
{
	check_thread(ctx);
	*domid = ((struct conn *)ctx)->domid;
	return 0;
}

/* ---- grants ---- */

static void *
s_gnt_map(void *ctx, uint32_t domid, uint32_t ref)
{
	struct conn *c = ctx;
	struct standin *w = c->w;
	struct mapping *mp;
	void *page = NULL;

	check_thread(ctx);
	pthread_mutex_lock(&w->mu);
	for (int i = 0; i < MAX_GRANTS; i++) {
		struct grant *g = &w->grants[i];

		if (g->used && g->ref == ref && g->owner == domid && g->grantee == c->domid) {
			if ((mp = calloc(1, sizeof(*mp))) == NULL)
				abort();
			mp->c = c;
			mp->page = g->page;
			mp->ref = ref;
			mp->next = w->maps;
			w->maps = mp;
			g->maps++;
			page = g->page;
			break;
		}
	}
	pthread_mutex_unlock(&w->mu);
	if (page == NULL)
		errno = EINVAL; /* GNTST_bad_gntref / permission_denied */
	return page;
}

/* Under w->mu. */
static int
unmap_locked(struct standin *w, struct conn *c, void *page)
{
	for (struct mapping **pp = &w->maps; *pp != NULL; pp = &(*pp)->next) {
		struct mapping *mp = *pp;

		if (mp->c == c && mp->page == page) {
			for (int i = 0; i < MAX_GRANTS; i++)
				if (w->grants[i].used && w->grants[i].ref == mp->ref)
					w->grants[i].maps--;
			*pp = mp->next;
			free(mp);
			return 0;
		}
	}
	errno = EINVAL;
	return -1;
}

static int
s_gnt_unmap(void *ctx, void *page)
{
	struct conn *c = ctx;
	int r;

	check_thread(ctx);
	pthread_mutex_lock(&c->w->mu);
	r = unmap_locked(c->w, c, page);
	pthread_mutex_unlock(&c->w->mu);
	return r;
}

/* ---- event channels ---- */

static int
s_evtchn_fd(void *ctx)
{
	check_thread(ctx);
	return ((struct conn *)ctx)->ev_efd;
}

/* Under w->mu. */
static struct port *
port_find(struct standin *w, unsigned domid, unsigned num)
{
	for (int i = 0; i < MAX_PORTS; i++)
		if (w->ports[i].st != P_FREE && w->ports[i].domid == domid &&
		    w->ports[i].num == num)
			return &w->ports[i];
	return NULL;
}

static int
port_new(struct standin *w, struct conn *c)
{
	for (int i = 0; i < MAX_PORTS; i++) {
		if (w->ports[i].st == P_FREE) {
			memset(&w->ports[i], 0, sizeof(w->ports[i]));
			w->ports[i].c = c;
			w->ports[i].domid = c->domid;
			w->ports[i].num = ++w->next_port[c->domid % 64];
			w->ports[i].peer = -1;
			return i;
		}
	}
	return -1;
}

/* Under w->mu: an event arrives at port p. */
static void
deliver(struct port *p)
{
	if (p->masked) {
		p->pending = 1;
		return;
	}
	p->masked = 1;
	p->pending = 0;
	if (p->c->ev_n < MAX_PORTS)
		p->c->ev_q[p->c->ev_n++] = p->num;
	efd_raise(p->c->ev_efd);
}

int
standin_evtchn_alloc_unbound(const struct xen_if *xi, unsigned remote_domid)
{
	struct conn *c = xi->ctx;
	int i;

	pthread_mutex_lock(&c->w->mu);
	if ((i = port_new(c->w, c)) >= 0) {
		c->w->ports[i].st = P_UNBOUND;
		c->w->ports[i].remote_domid = remote_domid;
	}
	pthread_mutex_unlock(&c->w->mu);
	return i < 0 ? -1 : (int)c->w->ports[i].num;
}

static int
s_evtchn_bind(void *ctx, uint32_t domid, uint32_t remote_port)
{
	struct conn *c = ctx;
	struct standin *w = c->w;
	struct port *rp;
	int i, num = -1;

	check_thread(ctx);
	pthread_mutex_lock(&w->mu);
	rp = port_find(w, domid, remote_port);
	if (rp == NULL || rp->st != P_UNBOUND || rp->remote_domid != c->domid) {
		errno = EINVAL;
	} else if ((i = port_new(w, c)) < 0) {
		errno = ENOSPC;
	} else {
		w->ports[i].st = P_INTERDOMAIN;
		w->ports[i].remote_domid = domid;
		w->ports[i].peer = (int)(rp - w->ports);
		rp->st = P_INTERDOMAIN;
		rp->peer = i;
		num = (int)w->ports[i].num;
	}
	pthread_mutex_unlock(&w->mu);
	return num;
}

/* Under w->mu: port p of c goes away; its peer is unbound again. */
static void
port_close(struct standin *w, struct port *p)
{
	if (p->st == P_INTERDOMAIN && p->peer >= 0) {
		struct port *peer = &w->ports[p->peer];

		peer->st = P_UNBOUND;
		peer->peer = -1;
	}
	p->st = P_FREE;
}

static int
s_evtchn_unbind(void *ctx, uint32_t port)
{
	struct conn *c = ctx;
	struct port *p;

	check_thread(ctx);
	pthread_mutex_lock(&c->w->mu);
	p = port_find(c->w, c->domid, port);
	if (p != NULL && p->c == c)
		port_close(c->w, p);
	pthread_mutex_unlock(&c->w->mu);
	if (p == NULL || p->c != c) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static int
s_evtchn_notify(void *ctx, uint32_t port)
{
	struct conn *c = ctx;
	struct port *p;
	int r = 0;

	check_thread(ctx);
	pthread_mutex_lock(&c->w->mu);
	p = port_find(c->w, c->domid, port);
	if (p == NULL || p->c != c) {
		errno = EINVAL;
		r = -1;
	} else if (p->st == P_INTERDOMAIN) {
		deliver(&c->w->ports[p->peer]);
	} /* an unbound port: the event is lost, as with Xen */
	pthread_mutex_unlock(&c->w->mu);
	return r;
}

static int
s_evtchn_pending(void *ctx)
{
	struct conn *c = ctx;
	int num = -1;

	check_thread(ctx);
	pthread_mutex_lock(&c->w->mu);
	while (c->ev_n > 0) {
		unsigned n = c->ev_q[0];
		struct port *p;

		memmove(c->ev_q, c->ev_q + 1, (c->ev_n - 1) * sizeof(c->ev_q[0]));
		c->ev_n--;
		if ((p = port_find(c->w, c->domid, n)) != NULL && p->c == c) {
			num = (int)n;
			break;
		}
	}
	if (c->ev_n == 0)
		efd_drain(c->ev_efd);
	pthread_mutex_unlock(&c->w->mu);
	if (num < 0)
		errno = EAGAIN;
	return num;
}

static int
s_evtchn_unmask(void *ctx, uint32_t port)
{
	struct conn *c = ctx;
	struct port *p;

	check_thread(ctx);
	pthread_mutex_lock(&c->w->mu);
	if ((p = port_find(c->w, c->domid, port)) != NULL && p->c == c) {
		p->masked = 0;
		if (p->pending)
			deliver(p);
	}
	pthread_mutex_unlock(&c->w->mu);
	if (p == NULL) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static void
s_close(void *ctx)
{
	struct conn *c = ctx;
	struct standin *w = c->w;
	struct watch **wp;
	struct xs_event *e;

	pthread_mutex_lock(&w->mu);
	for (wp = &w->watches; *wp != NULL;) {
		struct watch *wa = *wp;

		if (wa->c == c) {
			*wp = wa->next;
			free(wa->path);
			free(wa->token);
			free(wa);
		} else {
			wp = &wa->next;
		}
	}
	for (int i = 0; i < MAX_PORTS; i++)
		if (w->ports[i].st != P_FREE && w->ports[i].c == c)
			port_close(w, &w->ports[i]);
	for (;;) {
		struct mapping *mp = w->maps;

		while (mp != NULL && mp->c != c)
			mp = mp->next;
		if (mp == NULL)
			break;
		(void)unmap_locked(w, c, mp->page);
	}
	pthread_mutex_unlock(&w->mu);
	while ((e = c->q_head) != NULL) {
		c->q_head = e->next;
		free(e->path);
		free(e->token);
		free(e);
	}
	close(c->xs_efd);
	close(c->ev_efd);
	free(c);
}

int
standin_open(struct standin *w, unsigned domid, struct xen_if *xi)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return -1;
	c->w = w;
	c->domid = domid;
	c->xs_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	c->ev_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->xs_efd < 0 || c->ev_efd < 0) {
		if (c->xs_efd >= 0)
			close(c->xs_efd);
		if (c->ev_efd >= 0)
			close(c->ev_efd);
		free(c);
		return -1;
	}
	*xi = (struct xen_if){
		.ctx = c,
		.xs_fd = s_xs_fd,
		.xs_read = s_xs_read,
		.xs_write = s_xs_write,
		.xs_directory = s_xs_directory,
		.xs_watch = s_xs_watch,
		.xs_unwatch = s_xs_unwatch,
		.xs_read_watch = s_xs_read_watch,
		.xs_domid = s_xs_domid,
		.gnt_map = s_gnt_map,
		.gnt_unmap = s_gnt_unmap,
		.evtchn_fd = s_evtchn_fd,
		.evtchn_bind = s_evtchn_bind,
		.evtchn_unbind = s_evtchn_unbind,
		.evtchn_notify = s_evtchn_notify,
		.evtchn_pending = s_evtchn_pending,
		.evtchn_unmask = s_evtchn_unmask,
		.close = s_close,
	};
	return 0;
}

struct standin *
standin_new(void)
{
	struct standin *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	pthread_mutex_init(&w->mu, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&w->hang_cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	w->next_ref = 8; /* Linux's first usable grant refs are small numbers too */
	pthread_mutex_lock(&w->mu);
	node_set(w, "/local/domain/0/domid", "0");
	pthread_mutex_unlock(&w->mu);
	return w;
}

void
standin_free(struct standin *w)
{
	if (w == NULL)
		return;
	while (w->nodes != NULL) {
		struct node *n = w->nodes;

		w->nodes = n->next;
		free(n->path);
		free(n->value);
		free(n);
	}
	while (w->maps != NULL) {
		struct mapping *mp = w->maps;

		w->maps = mp->next;
		free(mp);
	}
	free(w->hang_prefix);
	pthread_cond_destroy(&w->hang_cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

void *
standin_page_alloc(void)
{
	void *p = aligned_alloc(XEN_PAGE_SIZE, XEN_PAGE_SIZE);

	if (p != NULL)
		memset(p, 0, XEN_PAGE_SIZE);
	return p;
}

uint32_t
standin_grant(struct standin *w, unsigned owner, unsigned grantee, void *page)
{
	uint32_t ref = 0;

	pthread_mutex_lock(&w->mu);
	for (int i = 0; i < MAX_GRANTS; i++) {
		if (!w->grants[i].used) {
			w->grants[i] = (struct grant){ .used = 1, .ref = w->next_ref++,
						       .owner = owner, .grantee = grantee,
						       .page = page };
			ref = w->grants[i].ref;
			break;
		}
	}
	pthread_mutex_unlock(&w->mu);
	return ref;
}

int
standin_grant_end(struct standin *w, uint32_t ref)
{
	int r = -1;

	errno = EINVAL;
	pthread_mutex_lock(&w->mu);
	for (int i = 0; i < MAX_GRANTS; i++) {
		if (w->grants[i].used && w->grants[i].ref == ref) {
			if (w->grants[i].maps != 0) {
				errno = EBUSY;
			} else {
				w->grants[i].used = 0;
				r = 0;
			}
			break;
		}
	}
	pthread_mutex_unlock(&w->mu);
	return r;
}

int
standin_xs_write_txn(struct standin *w, const char *const *kv, size_t n)
{
	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; i + 1 < 2 * n; i += 2)
		node_set(w, kv[i], kv[i + 1]);
	for (size_t i = 0; i + 1 < 2 * n; i += 2)
		fire(w, kv[i], 0);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

int
standin_xs_rm(struct standin *w, const char *path)
{
	int found;

	pthread_mutex_lock(&w->mu);
	if ((found = node_rm(w, path)) != 0)
		fire(w, path, 1);
	pthread_mutex_unlock(&w->mu);
	if (!found)
		errno = ENOENT;
	return found ? 0 : -1;
}

unsigned
standin_mappings(struct standin *w)
{
	unsigned n = 0;

	pthread_mutex_lock(&w->mu);
	for (struct mapping *mp = w->maps; mp != NULL; mp = mp->next)
		n++;
	pthread_mutex_unlock(&w->mu);
	return n;
}

unsigned
standin_bound_pairs(struct standin *w)
{
	unsigned n = 0;

	pthread_mutex_lock(&w->mu);
	for (int i = 0; i < MAX_PORTS; i++)
		if (w->ports[i].st == P_INTERDOMAIN)
			n++;
	pthread_mutex_unlock(&w->mu);
	return n / 2;
}

void
standin_xs_hang(struct standin *w, const char *prefix, unsigned ops, unsigned max_ms)
{
	char *p = strdup(prefix);
	struct timespec ts;

	if (p == NULL)
		abort();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += max_ms / 1000;
	ts.tv_nsec += (long)(max_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->mu);
	free(w->hang_prefix);
	w->hang_prefix = p;
	w->hang_ops = ops;
	w->hang_until = ts;
	pthread_cond_broadcast(&w->hang_cv); /* blocked callers look again */
	pthread_mutex_unlock(&w->mu);
}

void
standin_xs_unhang(struct standin *w)
{
	pthread_mutex_lock(&w->mu);
	free(w->hang_prefix);
	w->hang_prefix = NULL;
	pthread_cond_broadcast(&w->hang_cv);
	pthread_mutex_unlock(&w->mu);
}

unsigned
standin_xs_hung(struct standin *w, unsigned ops)
{
	unsigned n = 0;

	pthread_mutex_lock(&w->mu);
	if (ops & STANDIN_HANG_READ)
		n += w->hung[0];
	if (ops & STANDIN_HANG_WRITE)
		n += w->hung[1];
	pthread_mutex_unlock(&w->mu);
	return n;
}

void
standin_forbid_thread(const struct xen_if *xi, pthread_t t)
{
	struct conn *c = xi->ctx;

	pthread_mutex_lock(&c->w->mu);
	c->forbid = t;
	c->forbid_set = 1;
	pthread_mutex_unlock(&c->w->mu);
}

unsigned
standin_forbidden_calls(struct standin *w)
{
	return __atomic_load_n(&w->forbidden, __ATOMIC_RELAXED);
}
