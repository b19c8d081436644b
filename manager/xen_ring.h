/*
 * xen_ring.h - one Xen PV vTPM device's tpmif v2 shared page and event
 * channel (xen/include/public/io/tpmif.h; Linux's xen-tpmfront drives it):
 * mapping and unmapping the page, binding and unbinding the port, reading
 * a submitted command, writing the response, notifying the guest.
 *
 * Owns: the mapping and the bound port of one device, and every access to
 * the guest's page.  Runs on the Xen thread only (xen_bus.c), through
 * struct xen_if; knows nothing of xenstore or of the vTPMs.
 * Trusts: nothing in the page.  The guest may change it at any moment, so
 * each header field is read once, the packet is copied out of the page
 * before it is looked at, and every length is checked here, in
 * xen_ring_take and xen_ring_respond, and nowhere else: nothing outside
 * the page is ever read or written.  A bad request is answered here with a
 * TPM error and never leaves this file.
 */
#ifndef VTPM_MANAGER_XEN_RING_H
#define VTPM_MANAGER_XEN_RING_H

#include <stddef.h>
#include <stdint.h>

#include "manager/xen_if.h"
#include "util/tpm_frame.h"

/*
 * The tpmif v2 shared page (Linux's struct vtpm_shared_page).  Fields are
 * in the guest's native byte order; the packet starts at sizeof(header) +
 * 4 * nr_extra_pages.
 */
struct xen_tpmif_page {
	uint32_t length;        /* request or response length */
	uint8_t state;          /* enum xen_tpmif_state */
	uint8_t locality;       /* for this request */
	uint8_t pad;
	uint8_t nr_extra_pages; /* extra grant pages: not supported, but honoured for the offset */
	uint32_t extra_pages[];
};

enum xen_tpmif_state {
	XEN_TPMIF_IDLE = 0,   /* backend: cancel done / nothing */
	XEN_TPMIF_SUBMIT = 1, /* frontend: request ready */
	XEN_TPMIF_FINISH = 2, /* backend: response ready */
	XEN_TPMIF_CANCEL = 3, /* frontend: cancel requested */
};

/* TPM_RC_LOCALITY (2.0) and TPM_BAD_LOCALITY (1.2). */
#define TPM2_RC_LOCALITY 0x907u
#define TPM12_BAD_LOCALITY 0x3du

struct xen_ring {
	const struct xen_if *xi;
	const char *name;            /* the device, for log lines */
	struct xen_tpmif_page *page; /* the mapped page; NULL when not connected */
	int port;                    /* our bound port, -1 */
	int tpm2;                    /* the vTPM's generation, when a request's tag names none */
	size_t data_off;             /* where the busy command's packet lies */
	int busy;                    /* a command is at the vTPM */
	int cancelled;               /* ... and the guest cancelled it */
};

enum xen_ring_event {
	XEN_RING_NOTHING, /* idle, answered here, or left in the page */
	XEN_RING_COMMAND, /* a command for the vTPM: the ring is busy until xen_ring_respond */
	XEN_RING_CANCEL,  /* the guest cancelled the busy command: tell the vTPM (once) */
};

/* Not connected; name must outlive the ring. */
void xen_ring_init(struct xen_ring *r, const struct xen_if *xi, const char *name);

/*
 * Maps grant ref of domid and binds its port remote_port.  0, or -1 with
 * a message in err and nothing held.
 */
int xen_ring_connect(struct xen_ring *r, uint32_t domid, uint32_t ref, uint32_t remote_port,
		     char *err, size_t errlen);

/* Unbinds and unmaps; a command still at the vTPM is forgotten (its
 * response finds no busy ring).  No-op when not connected. */
void xen_ring_disconnect(struct xen_ring *r);

/*
 * Looks at the page after a notification (or at connect, when the guest's
 * notification may have gone to an unbound port).  take = 0 leaves a
 * submitted command in the page (state SUBMIT) for whoever serves the page
 * next.  On XEN_RING_COMMAND, cmd holds the validated packet (*len bytes,
 * a TPM header whose size is *len, at most TPM_FRAME_MAX) and *loc its
 * locality (0-4).  Anything malformed is answered here.
 */
enum xen_ring_event xen_ring_take(struct xen_ring *r, int take, uint8_t cmd[TPM_FRAME_MAX],
				  size_t *len, uint8_t *loc);

/*
 * The answer to the busy command: written at the command's offset, state
 * FINISH, the guest notified; a response larger than the page has room for
 * becomes a TPM failure.  A cancelled command's answer is dropped (state
 * IDLE).  No-op when the ring is not busy (disconnected since).
 */
void xen_ring_respond(struct xen_ring *r, const uint8_t *p, size_t len);

/* The busy command was not taken after all: it stays in the page (state
 * SUBMIT) for the next manager. */
void xen_ring_untake(struct xen_ring *r);

/*
 * A 10-byte TPM error for request req (its tag picks 2.0's rc2 or 1.2's
 * rc12; is2 decides when the tag is neither).  Pure; the loop uses it too.
 */
void xen_ring_error_resp(uint8_t out[TPM_HDR_SIZE], const uint8_t *req, size_t reqlen, int is2,
			 uint32_t rc2, uint32_t rc12);

#endif
