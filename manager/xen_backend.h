/*
 * xen_backend.h - the Xen PV vTPM backend (tpmif protocol v2, as served to
 * the stock Linux xen-tpmfront), as the manager's loop sees it.  Three
 * parts (docs/XEN.md, docs/ARCHITECTURE.md):
 *   - xen_bus.c, the Xen thread: xenstore and the devices' xenbus states;
 *   - xen_ring.c, on that thread: each device's shared page and port;
 *   - xen_backend.c, on the loop: starts and ends the thread, and answers
 *     what it asks of the vTPMs (xen_msg.h).
 * Its requests carry their own completion (struct req done), so the core
 * knows nothing of Xen; frontends.c hooks xen_vtpm_open in.
 */
#ifndef VTPM_MANAGER_XEN_BACKEND_H
#define VTPM_MANAGER_XEN_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "manager/xen_bus.h"
#include "manager/xen_if.h"
#include "manager/xen_ring.h"

struct mgr;
struct xen_backend;

/*
 * Starts the Xen thread, which opens its interfaces with open(open_arg, ...)
 * and starts serving /local/domain/<self>/backend/vtpm, and registers the
 * thread's answers with ev_set.  Waits for the thread's start-up (the
 * interfaces, our domain id, the backend directory's watch): a manager whose
 * Xen backend cannot start does not start.  Returns 0, or -1 with a message
 * in err (the thread has ended then).
 */
int xen_backend_open(struct mgr *m, xen_if_open_fn *open, void *open_arg, char *err,
		     size_t errlen);

/* xen_backend_open on the real libxenstore/libxengnttab/libxenevtchn
 * (defined in xen_if_real.c). */
int xen_backend_start(struct mgr *m, char *err, size_t errlen);

/*
 * Ends the Xen thread and waits for it: it unmaps every page, unbinds
 * every channel and stops watching.  The devices' xenstore state is left
 * as is, so a restarted manager picks connected guests up again.  Messages
 * the thread sent that the loop has not seen are dropped (no power-off:
 * the vtpmds stopped with their state saved).  No-op when not open.
 */
void xen_backend_close(struct mgr *m);

/* 1 when a Xen device holds the vTPM named uuid (a guest uses it). */
int xen_vtpm_open(struct mgr *m, const uint8_t uuid[16]);

#endif
