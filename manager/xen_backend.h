/*
 * xen_backend.h - the Xen PV vTPM backend (tpmif protocol v2, as served to
 * the stock Linux xen-tpmfront).  See xen_backend.c (xenbus), xen_ring.c
 * (the shared page) and docs/XEN.md.
 * Its requests carry their own completion (struct req done), so the core
 * knows nothing of Xen; frontends.c hooks xen_vtpm_open in.
 */
#ifndef VTPM_MANAGER_XEN_BACKEND_H
#define VTPM_MANAGER_XEN_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "manager/xen_if.h"
#include "manager/xen_ring.h"

struct mgr;
struct xen_backend;

/* xenbus states (xen/include/public/io/xenbus.h). */
enum xen_bus_state {
	XEN_BUS_UNKNOWN = 0,
	XEN_BUS_INITIALISING = 1,
	XEN_BUS_INITWAIT = 2,
	XEN_BUS_INITIALISED = 3,
	XEN_BUS_CONNECTED = 4,
	XEN_BUS_CLOSING = 5,
	XEN_BUS_CLOSED = 6,
};

/*
 * Starts serving /local/domain/<self>/backend/vtpm through xi and registers
 * the xenstore and event-channel fds with ev_set.  The backend owns xi from
 * here on, also on failure (xi->close is called).  Returns 0, or -1 with a
 * message in err.
 */
int xen_backend_open(struct mgr *m, const struct xen_if *xi, char *err, size_t errlen);

/* xen_backend_open on the real libxenstore/libxengnttab/libxenevtchn
 * (defined in xen_if_real.c). */
int xen_backend_start(struct mgr *m, char *err, size_t errlen);

/*
 * Unmaps every page, unbinds every channel and stops watching.  The
 * devices' xenstore state is left as is, so a restarted manager picks
 * connected guests up again.  No-op when the backend is not open.
 */
void xen_backend_close(struct mgr *m);

/* 1 when a Xen device has the vTPM named uuid open (a guest uses it). */
int xen_vtpm_open(struct mgr *m, const uint8_t uuid[16]);

#endif
