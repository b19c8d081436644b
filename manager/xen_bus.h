/*
 * xen_bus.h - the Xen thread: the xenbus side of the Xen PV vTPM backend
 * (xenstore watches, the devices' phases, InitWait/Connected/Closing), and
 * the thread's poll loop over the xenstore watch fd, the event-channel fd
 * and its mailbox.  See xen_bus.c; the page itself is xen_ring.c's, the
 * vTPMs are the loop's (xen_backend.c).
 */
#ifndef VTPM_MANAGER_XEN_BUS_H
#define VTPM_MANAGER_XEN_BUS_H

#include <stddef.h>

#include "manager/xen_if.h"
#include "manager/xen_msg.h"

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
 * Opens the Xen interfaces into *xi: called on the Xen thread, so that not
 * even the connection to xenstored is made on the loop.  0, or -1 with a
 * message in err.
 */
typedef int xen_if_open_fn(void *arg, struct xen_if *xi, char *err, size_t errlen);

struct xen_bus;

/*
 * A Xen thread's context: it posts to to_core (drained by the loop) and
 * reads inbox (posted to by the loop); both must outlive it.  NULL when
 * out of memory.
 */
struct xen_bus *xen_bus_new(struct xen_mbox *to_core, struct xen_mbox *inbox,
			    xen_if_open_fn *open, void *open_arg);
/* After the thread ended (or never started). */
void xen_bus_free(struct xen_bus *b);

/* The thread (pthread_create's start routine, arg a struct xen_bus):
 * xen_bus_setup, xen_bus_turn until XM_QUIT, xen_bus_teardown. */
void *xen_bus_main(void *arg);

/*
 * Opens the interfaces, reads our domain id, watches the backend
 * directory, and posts XM_STARTED (arg 1, or 0 with the reason; then
 * everything is already torn down).  0 or -1.
 */
int xen_bus_setup(struct xen_bus *b);
/* Waits up to timeout_ms (-1: no limit) for work and does it; 0 once
 * XM_QUIT came (or the poll set broke), 1 otherwise. */
int xen_bus_turn(struct xen_bus *b, int timeout_ms);
/* Unmaps every page, unbinds every port, stops watching, closes the
 * interfaces.  The devices' xenstore state is left as is, so a restarted
 * manager picks the guests up again. */
void xen_bus_teardown(struct xen_bus *b);

#endif
