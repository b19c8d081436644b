/*
 * xen_backend.c - the Xen PV vTPM backend's end on the manager's loop
 * thread: starts and ends the Xen thread (xen_bus.c), and answers what it
 * asks of the vTPMs, one message at a time and in order (xen_msg.h):
 *   XM_OPEN     may device D have vTPM U?  The checks that name a vTPM are
 *               all here: U defined (or created, xen_autocreate), not held
 *               by another Xen device, not in use by a QEMU/libvirt control
 *               connection, started (launch on open).  XM_OPENED/XM_REFUSED.
 *   XM_RELEASE  D's guest is gone: U is powered off and free again.
 *   XM_COMMAND  a TPM command from D's ring: submitted to U as a struct req
 *               whose completion (xen_req_done, on the loop) posts the
 *               response back as XM_RESPONSE; XM_DECLINED while stopping.
 *   XM_CANCEL   D's guest cancelled its command: vtpm_cancel.
 * No Xen library is called here, and nothing of the Xen thread's is read:
 * a hung xenstored stalls the Xen thread only.
 *
 * Owns: the two mailboxes, the thread, and the claims (which device holds
 * which vTPM; xen_vtpm_open answers from them).  Trusts: the Xen thread's
 * messages as the manager's own code (it checked what the guest and the
 * toolstack wrote: a command is a valid TPM packet, a UUID came from the
 * toolstack's backend directory); still, a command is only taken from a
 * device that holds a claim on exactly that vTPM.
 */
#include "manager/xen_backend.h"
#include "manager/mgr.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "manager/xen_msg.h"
#include "util/ctrl_proto.h"
#include "util/log.h"
#include "util/tpm_frame.h"
#include "util/uuid.h"

#define XB_MSGS_PER_CB 64

/* A vTPM held by a Xen device. */
struct xen_claim {
	struct xen_claim *next;
	uint64_t dev;
	uint8_t uuid[UUID_LEN];
	char path[XEN_MSG_TEXT]; /* the device's backend directory */
};

struct xen_backend {
	struct xen_mbox from_xen; /* the loop's inbox */
	struct xen_mbox to_xen;   /* the Xen thread's */
	struct ev ev;             /* from_xen's eventfd in the loop's epoll */
	struct xen_bus *bus;      /* the thread's; not touched while it runs */
	pthread_t thr;
	struct xen_msg *quit;     /* XM_QUIT, allocated up front */
	struct xen_claim *claims;
};

static struct xen_claim *
claim_of_dev(struct xen_backend *xb, uint64_t dev)
{
	for (struct xen_claim *c = xb->claims; c != NULL; c = c->next)
		if (c->dev == dev)
			return c;
	return NULL;
}

static struct xen_claim *
claim_of_uuid(struct xen_backend *xb, const uint8_t uuid[UUID_LEN])
{
	for (struct xen_claim *c = xb->claims; c != NULL; c = c->next)
		if (memcmp(c->uuid, uuid, UUID_LEN) == 0)
			return c;
	return NULL;
}

static void
to_xen(struct xen_backend *xb, struct xen_msg *msg)
{
	xen_mbox_post(&xb->to_xen, msg);
}

/* msg (an XM_OPEN) goes back as the refusal. */
static void __attribute__((format(printf, 3, 4)))
refuse(struct xen_backend *xb, struct xen_msg *msg, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg->text, sizeof(msg->text), fmt, ap);
	va_end(ap);
	msg->type = XM_REFUSED;
	to_xen(xb, msg);
}

/* XM_OPEN: may device msg->dev (msg->text) have vTPM msg->uuid?  Its
 * answer reuses msg. */
static void
core_open(struct mgr *m, struct xen_backend *xb, struct xen_msg *msg)
{
	char us[UUID_STR_LEN], path[XEN_MSG_TEXT];
	struct xen_claim *c;
	struct vtpm *v;

	uuid_format(msg->uuid, us);
	snprintf(path, sizeof(path), "%s", msg->text);
	if (claim_of_dev(xb, msg->dev) != NULL) {
		log_err(LOGM_BACKEND, "xen: %s asked for its vTPM twice", path);
		free(msg);
		return;
	}
	if ((v = vtpm_find_uuid(m, msg->uuid)) == NULL && m->cfg.xen_autocreate) {
		/* The seed's hotplug script created a missing vTPM; the UUID
		 * comes from the toolstack's backend directory, not the guest. */
		char err[256];

		if ((v = vtpm_create(m, msg->uuid, 2, MANIFEST_NO_OWNER, MANIFEST_NO_OWNER,
				     (struct stop_wait){ .done = NULL }, err,
				     sizeof(err))) == NULL) {
			refuse(xb, msg, "vTPM %s is not defined on this host and xen_autocreate "
			       "failed: %s", us, err);
			return;
		}
		log_info(LOGM_BACKEND, "xen: %s: created vTPM %s (TPM 2.0) for its domain "
			 "(xen_autocreate)", path, us);
	}
	if (v == NULL) {
		refuse(xb, msg, "vTPM %s is not defined on this host "
		       "(vtpmctl create --uuid %s, or xen_autocreate = yes)", us, us);
		return;
	}
	/* One device per vTPM: another guest, or a second device of the same
	 * guest, would share a TPM's sessions and PCRs. */
	if ((c = claim_of_uuid(xb, msg->uuid)) != NULL) {
		refuse(xb, msg, "vTPM %s is already open by %s", us, c->path);
		return;
	}
	if (v->nconns != 0) {
		refuse(xb, msg, "vTPM %s is in use by %u control connection(s) (QEMU or libvirt)",
		       us, v->nconns);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		refuse(xb, msg, "out of memory");
		return;
	}
	/* A new device (backend state 1, as libxl writes it) is a new
	 * machine's TPM being plugged in: a volatile state saved for a guest
	 * that is gone (one destroyed while no manager ran) must not be
	 * resumed by it. */
	if (msg->arg && !vtpm_has_vtpmd(v))
		vtpm_power_off(m, v);
	/* Launch on open, as the seed's hotplug script did, but without a
	 * script: the TPM is powered on while the guest boots (autostart:
	 * xen-tpmfront never sends Startup), so its first command does not
	 * wait for a vtpmd, and a vTPM that cannot start is refused now and
	 * makes xl create fail, instead of failing the guest's commands. */
	if (!vtpm_has_vtpmd(v) && vtpm_spawn(m, v, 1) != 0) {
		free(c);
		refuse(xb, msg, "vTPM %s cannot start%s%s", us, v->reason[0] != '\0' ? ": " : "",
		       v->reason);
		return;
	}
	c->dev = msg->dev;
	memcpy(c->uuid, msg->uuid, UUID_LEN);
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->next = xb->claims;
	xb->claims = c;
	msg->type = XM_OPENED;
	msg->arg = v->me.tpm_version;
	to_xen(xb, msg);
}

/*
 * XM_RELEASE: the guest's machine is gone (reboot, shutdown, destroy) or
 * its TPM was unplugged (vtpm-detach): power the vTPM off, so that its next
 * start is a power-on (PCRs reset, NV kept), as for a physical machine.
 * Linux's xen-tpmfront never sends TPM2_Startup, so the vtpmd is started
 * powered on (autostart), and a plain stop would save the volatile state
 * for the next start to resume.  Also when no command came through this
 * manager: a manager that stopped under a running guest saved its volatile
 * state.  Not when a QEMU/libvirt control connection uses the vTPM now.
 */
static void
core_release(struct mgr *m, struct xen_backend *xb, const struct xen_msg *msg)
{
	struct xen_claim **pp, *c;
	struct vtpm *v;

	for (pp = &xb->claims; (c = *pp) != NULL; pp = &c->next)
		if (c->dev == msg->dev)
			break;
	if (c == NULL)
		return; /* refused: it never held a vTPM */
	*pp = c->next;
	v = vtpm_find_uuid(m, c->uuid);
	free(c);
	if (v == NULL || v->nconns != 0)
		return;
	log_info(LOGM_BACKEND, "xen: %s removed: powering vTPM %s off (PCRs reset at its next "
		 "start, NV kept)", msg->text, v->uuid_str);
	vtpm_power_off(m, v);
}

/* Answers msg's command with a TPM error; the answer reuses msg (a
 * command is at least a TPM header long, xen_ring_take). */
static void
answer_error(struct xen_backend *xb, struct xen_msg *msg, int is2, uint32_t rc2, uint32_t rc12)
{
	uint8_t out[TPM_HDR_SIZE];

	xen_ring_error_resp(out, msg->data, msg->len, is2, rc2, rc12);
	memcpy(msg->data, out, sizeof(out));
	msg->len = sizeof(out);
	msg->type = XM_RESPONSE;
	to_xen(xb, msg);
}

/*
 * A TPM response (or the manager's error response) for a command of a
 * Xen device: r->tag is the connection it came from.  Goes to the Xen
 * thread, which drops it when that connection is gone or the guest
 * cancelled the command.
 */
static void
xen_req_done(struct mgr *m, struct req *r, const uint8_t *p, size_t len, int failed)
{
	struct xen_backend *xb = m->xen;
	struct xen_msg *msg;

	(void)failed;
	if (xb == NULL || r->tag == 0)
		return;
	if ((msg = xen_msg_new(XM_RESPONSE, len)) != NULL) {
		memcpy(msg->data, p, len);
	} else if ((msg = xen_msg_new(XM_RESPONSE, TPM_HDR_SIZE)) != NULL) {
		/* The guest waits for an answer: a short one, then. */
		tpm_frame_error(msg->data, p, len, 1, tpm_frame_fail_code(p, len, 1));
	} else {
		log_err(LOGM_BACKEND, "xen: out of memory for a response: the guest's command "
			"stays unanswered until its device reconnects");
		return;
	}
	msg->conn = r->tag;
	to_xen(xb, msg);
}

/* XM_COMMAND: a validated TPM command from a device's ring. */
static void
core_command(struct mgr *m, struct xen_backend *xb, struct xen_msg *msg)
{
	struct xen_claim *c = claim_of_dev(xb, msg->dev);
	uint8_t loc = (uint8_t)msg->arg;
	struct vtpm *v;
	struct req *r;
	int is2;

	if (c == NULL || memcmp(c->uuid, msg->uuid, UUID_LEN) != 0) {
		log_err(LOGM_BACKEND, "xen: a command from a device that holds no such vTPM");
		answer_error(xb, msg, 1, TPM2_RC_FAILURE, TPM12_FAIL);
		return;
	}
	/* A manager on its way out leaves a new command in the page (state
	 * SUBMIT) for the next one, which serves it when it maps the page:
	 * queued here it would be failed when the vtpmd stops. */
	if (m->stopping) {
		msg->type = XM_DECLINED;
		msg->len = 0;
		to_xen(xb, msg);
		return;
	}
	if ((v = vtpm_find_uuid(m, msg->uuid)) == NULL) {
		log_warn(LOGM_BACKEND, "xen: %s: its vTPM no longer exists", c->path);
		answer_error(xb, msg, 1, TPM2_RC_FAILURE, TPM12_FAIL);
		return;
	}
	is2 = v->me.tpm_version == 2;
	if (loc != v->locality) {
		/* As QEMU does for a TIS locality change: the guest picks. */
		if (!vtpm_has_vtpmd(v)) {
			v->locality = loc; /* passed to the vtpmd when it starts */
		} else if ((r = req_new(REQ_CTRL, NULL, 0)) == NULL ||
			   buf_put_u32(&r->payload, CMD_SET_LOCALITY) != 0 ||
			   buf_put_u8(&r->payload, loc) != 0) {
			req_free(r);
			answer_error(xb, msg, is2, TPM2_RC_FAILURE, TPM12_FAIL);
			return;
		} else {
			r->cmd = CMD_SET_LOCALITY; /* nobody waits for its answer */
			vtpm_submit(m, v, r);
		}
	}
	if ((r = req_new(REQ_TPM, xen_req_done, msg->conn)) == NULL ||
	    buf_put_bytes(&r->payload, msg->data, msg->len) != 0) {
		req_free(r);
		answer_error(xb, msg, is2, TPM2_RC_FAILURE, TPM12_FAIL);
		return;
	}
	free(msg);
	/* May answer at once (xen_req_done). */
	vtpm_submit(m, v, r);
}

/* XM_CANCEL: passed to libtpms as a control-socket CANCEL_TPM_CMD is. */
static void
core_cancel(struct mgr *m, struct xen_backend *xb, const struct xen_msg *msg)
{
	struct xen_claim *c = claim_of_dev(xb, msg->dev);
	struct vtpm *v;

	if (c != NULL && memcmp(c->uuid, msg->uuid, UUID_LEN) == 0 &&
	    (v = vtpm_find_uuid(m, msg->uuid)) != NULL)
		(void)vtpm_cancel(m, v);
}

/* The Xen thread's messages, on the loop. */
static void
core_cb(struct mgr *m, struct ev *e, uint32_t events)
{
	struct xen_backend *xb = m->xen;
	struct xen_msg *msg;

	(void)e;
	(void)events;
	/* A bounded batch: the eventfd stays readable while more wait. */
	for (int i = 0; i < XB_MSGS_PER_CB && xb != NULL &&
			(msg = xen_mbox_pop(&xb->from_xen)) != NULL; i++) {
		switch (msg->type) {
		case XM_OPEN:
			core_open(m, xb, msg); /* takes msg */
			continue;
		case XM_COMMAND:
			core_command(m, xb, msg); /* takes msg */
			continue;
		case XM_RELEASE:
			core_release(m, xb, msg);
			break;
		case XM_CANCEL:
			core_cancel(m, xb, msg);
			break;
		default:
			log_err(LOGM_BACKEND, "xen: unexpected message %d from the Xen thread",
				(int)msg->type);
			break;
		}
		free(msg);
	}
}

/* After the thread ended (or never started). */
static void
xb_free(struct mgr *m, struct xen_backend *xb)
{
	if (xb->ev.events != 0)
		ev_del(m, &xb->ev);
	xen_mbox_destroy(&xb->from_xen);
	xen_mbox_destroy(&xb->to_xen);
	xen_bus_free(xb->bus);
	free(xb->quit);
	while (xb->claims != NULL) {
		struct xen_claim *c = xb->claims;

		xb->claims = c->next;
		free(c);
	}
	free(xb);
}

/* Waits for the thread's first message, XM_STARTED: 1 when it started. */
static int
wait_started(struct xen_backend *xb, char *err, size_t errlen)
{
	struct pollfd p = { .fd = xen_mbox_fd(&xb->from_xen), .events = POLLIN };
	struct xen_msg *msg;
	int ok;

	while ((msg = xen_mbox_pop(&xb->from_xen)) == NULL)
		if (poll(&p, 1, -1) < 0 && errno != EINTR) {
			snprintf(err, errlen, "xen: waiting for the Xen thread: %s",
				 strerror(errno));
			return 0; /* the thread runs on: the caller ends it */
		}
	ok = msg->type == XM_STARTED && msg->arg == 1;
	if (!ok)
		snprintf(err, errlen, "%s", msg->type == XM_STARTED ? msg->text
				: "xen: the Xen thread did not report its start");
	free(msg);
	return ok;
}

int
xen_backend_open(struct mgr *m, xen_if_open_fn *open, void *open_arg, char *err, size_t errlen)
{
	struct xen_backend *xb;
	int e;

	if (m->xen != NULL) {
		snprintf(err, errlen, "the Xen backend is already open");
		return -1;
	}
	if ((xb = calloc(1, sizeof(*xb))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	xb->from_xen.efd = xb->to_xen.efd = -1;
	if (xen_mbox_init(&xb->from_xen) != 0 || xen_mbox_init(&xb->to_xen) != 0) {
		snprintf(err, errlen, "xen: eventfd: %s", strerror(errno));
		xb_free(m, xb);
		return -1;
	}
	if ((xb->quit = xen_msg_new(XM_QUIT, 0)) == NULL ||
	    (xb->bus = xen_bus_new(&xb->from_xen, &xb->to_xen, open, open_arg)) == NULL) {
		snprintf(err, errlen, "out of memory");
		xb_free(m, xb);
		return -1;
	}
	/* The thread inherits the signal mask: every signal stays blocked
	 * there and arrives at the loop's signalfd. */
	if ((e = pthread_create(&xb->thr, NULL, xen_bus_main, xb->bus)) != 0) {
		snprintf(err, errlen, "xen: cannot start the Xen thread: %s", strerror(e));
		xb_free(m, xb);
		return -1;
	}
	/* Start-up only, before the loop serves anything: a Xen backend that
	 * cannot start fails the manager's start, as it always did. */
	if (!wait_started(xb, err, errlen))
		goto fail;
	xb->ev = (struct ev){ .fd = xen_mbox_fd(&xb->from_xen), .cb = core_cb, .ctx = xb };
	if (ev_set(m, &xb->ev, EPOLLIN) != 0) {
		snprintf(err, errlen, "xen: cannot poll the Xen thread's mailbox");
		goto fail;
	}
	m->xen = xb;
	return 0;
fail:
	to_xen(xb, xb->quit); /* a thread that did not start has ended already */
	xb->quit = NULL;
	pthread_join(xb->thr, NULL);
	xb_free(m, xb);
	return -1;
}

void
xen_backend_close(struct mgr *m)
{
	struct xen_backend *xb = m->xen;

	if (xb == NULL)
		return;
	/* From here on completions of Xen requests find no backend and
	 * are dropped (xen_req_done). */
	m->xen = NULL;
	to_xen(xb, xb->quit);
	xb->quit = NULL;
	/* A thread stuck in a call to a hung xenstored ends when that call
	 * returns; every vtpmd has stopped by now, so only the exit waits. */
	pthread_join(xb->thr, NULL);
	xb_free(m, xb);
}

int
xen_vtpm_open(struct mgr *m, const uint8_t uuid[16])
{
	return m->xen != NULL && claim_of_uuid(m->xen, uuid) != NULL;
}
