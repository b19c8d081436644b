/*
 * xen_ring.c - the tpmif v2 shared page and event channel of one device
 * (xen_ring.h).  Runs on the Xen thread.
 *
 * The page is the guest's memory, mapped read/write: it can change between
 * any two loads.  So the header is loaded once per request (length,
 * locality, nr_extra_pages), the offset and the largest length are derived
 * from those loads alone, the packet is copied out, and only the copy is
 * validated and passed on.  state is the only field both sides write; it is
 * read with acquire and written with release ordering, after the data it
 * publishes.
 *
 * Not done: multi-page requests (nr_extra_pages is honoured for the data
 * offset, as by mini-os tpmback; the extra pages are not mapped).
 */
#include "manager/xen_ring.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/buf.h"
#include "util/log.h"
#include "util/tpm_frame.h"

_Static_assert(sizeof(struct xen_tpmif_page) == 8, "tpmif v2 header is 8 bytes");

void
xen_ring_init(struct xen_ring *r, const struct xen_if *xi, const char *name)
{
	memset(r, 0, sizeof(*r));
	r->xi = xi;
	r->name = name;
	r->port = -1;
	r->tpm2 = 1;
}

int
xen_ring_connect(struct xen_ring *r, uint32_t domid, uint32_t ref, uint32_t remote_port,
		 char *err, size_t errlen)
{
	const struct xen_if *xi = r->xi;
	int port;

	xen_ring_disconnect(r);
	if ((r->page = xi->gnt_map(xi->ctx, domid, ref)) == NULL) {
		snprintf(err, errlen, "cannot map grant %u of domain %u: %s", ref, domid,
			 strerror(errno));
		return -1;
	}
	if ((port = xi->evtchn_bind(xi->ctx, domid, remote_port)) < 0) {
		snprintf(err, errlen, "cannot bind event channel %u of domain %u: %s", remote_port,
			 domid, strerror(errno));
		xen_ring_disconnect(r);
		return -1;
	}
	r->port = port;
	r->busy = r->cancelled = 0;
	return 0;
}

void
xen_ring_disconnect(struct xen_ring *r)
{
	const struct xen_if *xi = r->xi;

	if (r->port >= 0 && xi->evtchn_unbind(xi->ctx, (uint32_t)r->port) != 0)
		log_warn(LOGM_BACKEND, "xen: %s: unbind port %d: %s", r->name, r->port,
			 strerror(errno));
	if (r->page != NULL && xi->gnt_unmap(xi->ctx, r->page) != 0)
		log_warn(LOGM_BACKEND, "xen: %s: unmap: %s", r->name, strerror(errno));
	r->page = NULL;
	r->port = -1;
	r->busy = r->cancelled = 0;
}

static void
notify(struct xen_ring *r)
{
	(void)r->xi->evtchn_notify(r->xi->ctx, (uint32_t)r->port);
}

void
xen_ring_error_resp(uint8_t out[TPM_HDR_SIZE], const uint8_t *req, size_t reqlen, int is2,
		    uint32_t rc2, uint32_t rc12)
{
	uint16_t tag = reqlen >= 2 ? be16_get(req) : 0;
	int req2 = (tag == TPM2_ST_NO_SESSIONS || tag == TPM2_ST_SESSIONS) ? 1
		   : (tag >= TPM12_TAG_RQU_COMMAND && tag <= TPM12_TAG_RQU_AUTH2) ? 0 : is2;

	tpm_frame_error(out, req, reqlen, is2, req2 ? rc2 : rc12);
}

static void
respond_error(struct xen_ring *r, const uint8_t *req, size_t reqlen, uint32_t rc2, uint32_t rc12)
{
	uint8_t out[TPM_HDR_SIZE];

	xen_ring_error_resp(out, req, reqlen, r->tpm2, rc2, rc12);
	xen_ring_respond(r, out, sizeof(out));
}

void
xen_ring_respond(struct xen_ring *r, const uint8_t *p, size_t len)
{
	struct xen_tpmif_page *pg = r->page;
	uint8_t err[TPM_HDR_SIZE];

	if (pg == NULL || !r->busy)
		return;
	r->busy = 0;
	if (r->cancelled) {
		r->cancelled = 0;
		__atomic_store_n(&pg->state, XEN_TPMIF_IDLE, __ATOMIC_RELEASE);
		notify(r);
		log_debug(LOGM_BACKEND, "xen: %s: cancelled command done", r->name);
		return;
	}
	/* data_off <= 8 + 4 * 255 (xen_ring_take), so this cannot wrap. */
	if (len > XEN_PAGE_SIZE - r->data_off) {
		int is2 = !(len >= 2 && be16_get(p) >= TPM12_TAG_RSP_COMMAND &&
			    be16_get(p) <= TPM12_TAG_RSP_COMMAND + 2);

		log_warn(LOGM_BACKEND, "xen: %s: %zu-byte response does not fit the page", r->name,
			 len);
		tpm_frame_error(err, NULL, 0, is2, is2 ? TPM2_RC_FAILURE : TPM12_FAIL);
		p = err;
		len = sizeof(err);
	}
	memcpy((uint8_t *)pg + r->data_off, p, len);
	__atomic_store_n(&pg->length, (uint32_t)len, __ATOMIC_RELAXED);
	__atomic_store_n(&pg->state, XEN_TPMIF_FINISH, __ATOMIC_RELEASE);
	notify(r);
}

void
xen_ring_untake(struct xen_ring *r)
{
	/* Nothing was written: the page still says SUBMIT. */
	r->busy = r->cancelled = 0;
}

/* A SUBMIT: the one place a request's length from the page is checked. */
static enum xen_ring_event
take_submit(struct xen_ring *r, uint8_t cmd[TPM_FRAME_MAX], size_t *lenp, uint8_t *locp)
{
	struct xen_tpmif_page *pg = r->page;
	uint32_t len = __atomic_load_n(&pg->length, __ATOMIC_RELAXED);
	uint8_t loc = __atomic_load_n(&pg->locality, __ATOMIC_RELAXED);
	uint8_t nx = __atomic_load_n(&pg->nr_extra_pages, __ATOMIC_RELAXED);
	/* At most 8 + 4 * 255 = 1028: the page always has room for a header. */
	size_t off = sizeof(*pg) + 4u * nx;
	size_t max = XEN_PAGE_SIZE - off < TPM_FRAME_MAX ? XEN_PAGE_SIZE - off : TPM_FRAME_MAX;

	r->data_off = off;
	r->busy = 1;
	r->cancelled = 0;
	if (len > max) {
		memcpy(cmd, (uint8_t *)pg + off, TPM_HDR_SIZE);
		log_warn(LOGM_BACKEND, "xen: %s: request length %u exceeds the page (%zu)", r->name,
			 len, max);
		respond_error(r, cmd, TPM_HDR_SIZE, TPM2_RC_COMMAND_SIZE, TPM12_BAD_PARAM_SIZE);
		return XEN_RING_NOTHING;
	}
	/* One copy out of the guest's page; everything below reads the copy. */
	memcpy(cmd, (uint8_t *)pg + off, len);
	if (tpm_frame_exact(cmd, len, max) != 0) {
		log_warn(LOGM_BACKEND, "xen: %s: malformed request (%u bytes)", r->name, len);
		respond_error(r, cmd, len, TPM2_RC_COMMAND_SIZE, TPM12_BAD_PARAM_SIZE);
		return XEN_RING_NOTHING;
	}
	if (loc > 4) {
		respond_error(r, cmd, len, TPM2_RC_LOCALITY, TPM12_BAD_LOCALITY);
		return XEN_RING_NOTHING;
	}
	*lenp = len;
	*locp = loc;
	return XEN_RING_COMMAND;
}

enum xen_ring_event
xen_ring_take(struct xen_ring *r, int take, uint8_t cmd[TPM_FRAME_MAX], size_t *len,
	      uint8_t *loc)
{
	if (r->page == NULL)
		return XEN_RING_NOTHING;
	switch (__atomic_load_n(&r->page->state, __ATOMIC_ACQUIRE)) {
	case XEN_TPMIF_SUBMIT:
		if (!r->busy && take)
			return take_submit(r, cmd, len, loc);
		break;
	case XEN_TPMIF_CANCEL:
		if (r->busy) {
			/* The response is dropped when it comes back; libtpms is
			 * asked to cut the command short (as CANCEL_TPM_CMD). */
			if (r->cancelled)
				break;
			r->cancelled = 1;
			return XEN_RING_CANCEL;
		}
		__atomic_store_n(&r->page->state, XEN_TPMIF_IDLE, __ATOMIC_RELEASE);
		notify(r);
		break;
	default:
		break; /* IDLE or FINISH: nothing for us */
	}
	return XEN_RING_NOTHING;
}
