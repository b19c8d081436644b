/*
 * xen_if_real.c - struct xen_if on libxenstore, libxengnttab and
 * libxenevtchn (Xen 4.17 as packaged by Debian 12's libxen-dev).
 *
 * Built in when the Makefile defines VTPM_XEN (it does so, and links
 * -lxenstore -lxengnttab -lxenevtchn, only when the headers exist); without
 * it xen_if_real_open() reports that the manager was built without Xen.
 * The macro, not __has_include alone, decides: a build that finds the
 * headers but does not link the libraries must not fail to link.
 *
 * Tested on a real Xen 4.17 (Debian 12's, under QEMU TCG) by
 * tests/integration/test_xen_real.sh: PV domUs with the stock xen-tpmfront,
 * reboots, destroys, a manager restart that binds the guests' ports again.
 */
#include "manager/xen_if.h"
#include "manager/mgr.h"
#include "manager/xen_backend.h"

#include <stdio.h>

#if defined(VTPM_XEN) && defined(__has_include)
#if __has_include(<xenstore.h>) && __has_include(<xengnttab.h>) && __has_include(<xenevtchn.h>)
#define XEN_IF_REAL 1
#endif
#endif

#ifdef XEN_IF_REAL

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <xenevtchn.h>
#include <xengnttab.h>
#include <xenstore.h>

struct xen_real {
	struct xs_handle *xs;
	xengnttab_handle *gt;
	xenevtchn_handle *ev;
	int xs_fd;
};

static int
r_xs_fd(void *ctx)
{
	return ((struct xen_real *)ctx)->xs_fd;
}

static char *
r_xs_read(void *ctx, const char *path)
{
	struct xen_real *x = ctx;
	unsigned int len;

	/* xs_read NUL-terminates and sets errno (ENOENT when missing). */
	return xs_read(x->xs, XBT_NULL, path, &len);
}

static int
r_xs_write(void *ctx, const char *path, const char *value)
{
	struct xen_real *x = ctx;

	return xs_write(x->xs, XBT_NULL, path, value, (unsigned int)strlen(value)) ? 0 : -1;
}

static char **
r_xs_directory(void *ctx, const char *path, unsigned *num)
{
	struct xen_real *x = ctx;
	unsigned int n = 0;
	char **d = xs_directory(x->xs, XBT_NULL, path, &n);

	*num = d != NULL ? n : 0;
	return d;
}

static int
r_xs_watch(void *ctx, const char *path, const char *token)
{
	struct xen_real *x = ctx;

	return xs_watch(x->xs, path, token) ? 0 : -1;
}

static int
r_xs_unwatch(void *ctx, const char *path, const char *token)
{
	struct xen_real *x = ctx;

	return xs_unwatch(x->xs, path, token) ? 0 : -1;
}

static int
r_xs_read_watch(void *ctx, char *path, size_t pathlen, char *token, size_t toklen)
{
	struct xen_real *x = ctx;
	char **vec = xs_check_watch(x->xs);

	if (vec == NULL)
		return errno == EAGAIN ? 0 : -1;
	snprintf(path, pathlen, "%s", vec[XS_WATCH_PATH]);
	snprintf(token, toklen, "%s", vec[XS_WATCH_TOKEN]);
	free(vec);
	return 1;
}

static int
r_xs_domid(void *ctx, unsigned *domid)
{
	struct xen_real *x = ctx;
	unsigned int len;
	char *s, *end;
	unsigned long v;

	/* Relative to our own /local/domain/<id>; xen-init-dom0 writes it for
	 * dom0, libxl for every other domain. */
	if ((s = xs_read(x->xs, XBT_NULL, "domid", &len)) == NULL)
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v >= 0x7ff0) {
		free(s);
		errno = EINVAL;
		return -1;
	}
	free(s);
	*domid = (unsigned)v;
	return 0;
}

static void *
r_gnt_map(void *ctx, uint32_t domid, uint32_t ref)
{
	struct xen_real *x = ctx;

	return xengnttab_map_grant_ref(x->gt, domid, ref, PROT_READ | PROT_WRITE);
}

static int
r_gnt_unmap(void *ctx, void *page)
{
	struct xen_real *x = ctx;

	return xengnttab_unmap(x->gt, page, 1);
}

static int
r_evtchn_fd(void *ctx)
{
	return xenevtchn_fd(((struct xen_real *)ctx)->ev);
}

static int
r_evtchn_bind(void *ctx, uint32_t domid, uint32_t remote_port)
{
	struct xen_real *x = ctx;

	return xenevtchn_bind_interdomain(x->ev, domid, remote_port);
}

static int
r_evtchn_unbind(void *ctx, uint32_t port)
{
	struct xen_real *x = ctx;

	return xenevtchn_unbind(x->ev, port);
}

static int
r_evtchn_notify(void *ctx, uint32_t port)
{
	struct xen_real *x = ctx;

	return xenevtchn_notify(x->ev, port);
}

static int
r_evtchn_pending(void *ctx)
{
	struct xen_real *x = ctx;

	/* The fd is non-blocking (see open), so this never waits. */
	return xenevtchn_pending(x->ev);
}

static int
r_evtchn_unmask(void *ctx, uint32_t port)
{
	struct xen_real *x = ctx;

	return xenevtchn_unmask(x->ev, port);
}

static void
r_close(void *ctx)
{
	struct xen_real *x = ctx;

	if (x == NULL)
		return;
	if (x->ev != NULL)
		xenevtchn_close(x->ev);
	if (x->gt != NULL)
		xengnttab_close(x->gt);
	if (x->xs != NULL)
		xs_close(x->xs);
	free(x);
}

int
xen_if_real_open(struct xen_if *xi, char *err, size_t errlen)
{
	struct xen_real *x = calloc(1, sizeof(*x));
	int fd, fl;

	if (x == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((x->xs = xs_open(0)) == NULL) {
		snprintf(err, errlen, "cannot connect to xenstore: %s (is xenstored running?)",
			 strerror(errno));
		goto fail;
	}
	/* xs_fileno starts libxenstore's reader thread; its pipe stays
	 * readable while watch events are queued. */
	if ((x->xs_fd = xs_fileno(x->xs)) < 0) {
		snprintf(err, errlen, "xenstore: no watch fd: %s", strerror(errno));
		goto fail;
	}
	if ((x->gt = xengnttab_open(NULL, 0)) == NULL) {
		snprintf(err, errlen, "cannot open the grant-table device: %s", strerror(errno));
		goto fail;
	}
	if ((x->ev = xenevtchn_open(NULL, 0)) == NULL) {
		snprintf(err, errlen, "cannot open the event-channel device: %s", strerror(errno));
		goto fail;
	}
	/* xenevtchn_pending reads the fd: make it return EAGAIN, not block. */
	fd = xenevtchn_fd(x->ev);
	if ((fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
		snprintf(err, errlen, "event-channel fd: %s", strerror(errno));
		goto fail;
	}
	*xi = (struct xen_if){
		.ctx = x,
		.xs_fd = r_xs_fd,
		.xs_read = r_xs_read,
		.xs_write = r_xs_write,
		.xs_directory = r_xs_directory,
		.xs_watch = r_xs_watch,
		.xs_unwatch = r_xs_unwatch,
		.xs_read_watch = r_xs_read_watch,
		.xs_domid = r_xs_domid,
		.gnt_map = r_gnt_map,
		.gnt_unmap = r_gnt_unmap,
		.evtchn_fd = r_evtchn_fd,
		.evtchn_bind = r_evtchn_bind,
		.evtchn_unbind = r_evtchn_unbind,
		.evtchn_notify = r_evtchn_notify,
		.evtchn_pending = r_evtchn_pending,
		.evtchn_unmask = r_evtchn_unmask,
		.close = r_close,
	};
	return 0;
fail:
	r_close(x);
	return -1;
}

#else /* !XEN_IF_REAL */

int
xen_if_real_open(struct xen_if *xi, char *err, size_t errlen)
{
	(void)xi;
	snprintf(err, errlen, "this vtpm_managerd was built without Xen support "
		 "(install libxen-dev and rebuild)");
	return -1;
}

#endif

/* Here, not in xen_backend.c, so that the tests link the backend without
 * the libraries. */
int
xen_backend_start(struct mgr *m, char *err, size_t errlen)
{
	struct xen_if xi;

	if (xen_if_real_open(&xi, err, errlen) != 0)
		return -1;
	return xen_backend_open(m, &xi, err, errlen);
}
