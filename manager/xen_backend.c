/*
 * xen_backend.c - the Xen PV vTPM backend: xenbus device handling and the
 * tpmif v2 shared page, for guests running the stock Linux xen-tpmfront
 * (reference/xen-vtpm.md §2.2-§2.4).  All Xen access goes through struct
 * xen_if (xen_if.h), so the same code runs on libxen* and on the tests'
 * stand-in.
 *
 * Devices: a watch on /local/domain/<self>/backend/vtpm finds
 * <frontend-domid>/<devid> directories written by the toolstack (libxl).
 * For each one: read `uuid`; refuse (state Closed and an `error` node) a
 * device whose UUID is missing, malformed, not a vTPM defined here (unless
 * xen_autocreate creates it), or already open by another device or by a
 * QEMU control connection; otherwise start the vTPM's vtpmd (launch on
 * open), publish feature-protocol-v2=1 and go InitWait.  When the frontend
 * is Initialised or Connected, map its `ring-ref`, bind its
 * `event-channel` and go Connected.  Frontend Closing/Closed: unmap,
 * unbind, back to InitWait (Linux re-probes on resume).  The toolstack's
 * removal (online=0, state=5) closes the device (state Closed) and powers
 * the vTPM off (vtpm_power_off: no volatile state survives), so the next
 * boot gets a TPM power cycle (PCRs reset, NV kept); the directory's
 * removal forgets the device.  A manager's own exit leaves the devices as
 * they are and its vtpmds save their state: the next manager resumes.
 * Handling is level-triggered: each watch event marks a device dirty and
 * dev_check() reconciles it with what xenstore says, so lost, repeated or
 * reordered events change nothing.
 *
 * Trust: xenstore's backend directory is written by the toolstack; the
 * frontend directory and the shared page by the guest.  Frontend values are
 * parsed strictly, the page header is read once, the packet is copied out
 * of the page before it is validated (util/tpm_frame.h), and nothing is
 * ever read beyond the page.  A bad length is answered with a TPM error.
 *
 * Not done: multi-page requests (nr_extra_pages is honoured for the data
 * offset, as by mini-os tpmback; the extra pages are not mapped).  A
 * guest's CANCEL reaches libtpms as CANCEL_TPM_CMD does (vtpm_cancel); the
 * command's response, cut short or not, is dropped.  The legacy /dev/vtpm
 * device of the old split driver used the FIFO backend's framing and is not
 * served separately.
 */
#include "manager/xen_backend.h"
#include "manager/mgr.h"


#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "util/ctrl_proto.h"
#include "util/log.h"
#include "util/tpm_frame.h"
#include "util/uuid.h"

_Static_assert(sizeof(struct xen_tpmif_page) == 8, "tpmif v2 header is 8 bytes");

#define XB_PATH_MAX 256
#define XB_TOKEN_BE "vtpm-be"
#define XB_TOKEN_FE "vtpm-fe:"
#define XB_DOMID_MAX 0x7fefu   /* DOMID_FIRST_RESERVED - 1 */
#define XB_EVENTS_PER_CB 256
#define XB_PORTS_PER_CB 64

/* TPM_RC_LOCALITY (2.0) and TPM_BAD_LOCALITY (1.2). */
#define TPM2_RC_LOCALITY 0x907u
#define TPM12_BAD_LOCALITY 0x3du

enum xdev_phase {
	XD_PENDING, /* seen, but the toolstack has not written `state` yet */
	XD_OPEN,    /* claimed its vTPM: InitWait, Connected, or between */
	XD_REFUSED, /* Closed with an error node, until the directory goes */
	XD_REMOVED, /* closed on the toolstack's request (online=0) */
};

struct xen_dev {
	struct xen_dev *next;
	unsigned fe_domid, devid;
	char be_path[XB_PATH_MAX];
	char fe_path[XB_PATH_MAX];
	char token[64];
	int watching;
	enum xdev_phase phase;
	int be_state; /* what we last wrote to <be>/state, -1 for nothing */
	int failed;   /* connecting failed; wait for the frontend to reset */
	int error_set; /* an `error` node of ours is there */
	int dirty;
	uint8_t uuid[UUID_LEN];
	char uuid_str[UUID_STR_LEN];

	/* The connection; page is NULL when not connected. */
	struct xen_tpmif_page *page;
	int port;
	uint64_t conn_id;
	size_t data_off; /* packet offset in the page, fixed at SUBMIT */
	int busy;        /* a command is at the vTPM */
	int cancelled;   /* ... and the guest cancelled it */
};

struct xen_backend {
	struct xen_if xi;
	unsigned self;
	char root[XB_PATH_MAX];
	struct ev xs_ev;
	struct ev evtchn_ev;
	struct xen_dev *devs;
	uint8_t cmd[TPM_FRAME_MAX]; /* a packet copied out of a page */
};

static void handle_ring(struct mgr *m, struct xen_backend *xb, struct xen_dev *d);
static void xen_req_done(struct mgr *m, struct req *r, const uint8_t *p, size_t len,
			 int failed);

/* Strict unsigned decimal: digits only, no sign, no blanks, <= max. */
static int
parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (s == NULL || *s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (max - (unsigned long)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	*out = v;
	return 0;
}

static char *
xs_get(struct xen_backend *xb, const char *dir, const char *key)
{
	char path[XB_PATH_MAX + 64];
	int n = snprintf(path, sizeof(path), "%s/%s", dir, key);

	if (n < 0 || (size_t)n >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	return xb->xi.xs_read(xb->xi.ctx, path);
}

static int
xs_put(struct xen_backend *xb, const char *dir, const char *key, const char *val)
{
	char path[XB_PATH_MAX + 64];
	int n = snprintf(path, sizeof(path), "%s/%s", dir, key);

	if (n < 0 || (size_t)n >= sizeof(path))
		return -1;
	if (xb->xi.xs_write(xb->xi.ctx, path, val) != 0) {
		log_warn(LOGM_BACKEND, "xen: cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* A xenbus state node; XEN_BUS_UNKNOWN when missing or malformed. */
static int
xs_get_state(struct xen_backend *xb, const char *dir)
{
	char *s = xs_get(xb, dir, "state");
	unsigned long v;
	int st = XEN_BUS_UNKNOWN;

	if (s != NULL && parse_uint(s, 255, &v) == 0)
		st = (int)v;
	free(s);
	return st;
}

static void
set_state(struct xen_backend *xb, struct xen_dev *d, int st)
{
	char val[8];

	if (d->be_state == st)
		return;
	snprintf(val, sizeof(val), "%d", st);
	if (xs_put(xb, d->be_path, "state", val) == 0) {
		log_debug(LOGM_BACKEND, "xen: %s: state %d", d->be_path, st);
		d->be_state = st;
	}
}

static struct xen_dev *
dev_find(struct xen_backend *xb, unsigned fe_domid, unsigned devid)
{
	for (struct xen_dev *d = xb->devs; d != NULL; d = d->next)
		if (d->fe_domid == fe_domid && d->devid == devid)
			return d;
	return NULL;
}

static struct xen_dev *
dev_add(struct xen_backend *xb, unsigned fe_domid, unsigned devid)
{
	struct xen_dev *d = dev_find(xb, fe_domid, devid);

	if (d != NULL)
		return d;
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		log_err(LOGM_BACKEND, "xen: out of memory for device %u/%u", fe_domid, devid);
		return NULL;
	}
	d->fe_domid = fe_domid;
	d->devid = devid;
	snprintf(d->be_path, sizeof(d->be_path), "%s/%u/%u", xb->root, fe_domid, devid);
	snprintf(d->token, sizeof(d->token), XB_TOKEN_FE "%u/%u", fe_domid, devid);
	d->phase = XD_PENDING;
	d->be_state = -1;
	d->port = -1;
	d->next = xb->devs;
	xb->devs = d;
	return d;
}

static void
dev_disconnect(struct xen_backend *xb, struct xen_dev *d)
{
	if (d->port >= 0 && xb->xi.evtchn_unbind(xb->xi.ctx, (uint32_t)d->port) != 0)
		log_warn(LOGM_BACKEND, "xen: %s: unbind port %d: %s", d->be_path, d->port,
			 strerror(errno));
	if (d->page != NULL && xb->xi.gnt_unmap(xb->xi.ctx, d->page) != 0)
		log_warn(LOGM_BACKEND, "xen: %s: unmap: %s", d->be_path, strerror(errno));
	if (d->page != NULL)
		log_info(LOGM_BACKEND, "xen: %s: frontend disconnected", d->be_path);
	/* A response still at the vTPM finds no conn_id and is dropped. */
	d->page = NULL;
	d->port = -1;
	d->conn_id = 0;
	d->busy = d->cancelled = 0;
}

/*
 * The guest's machine is gone (reboot, shutdown, destroy) or its TPM was
 * unplugged (vtpm-detach): power the vTPM off, so that its next start is a
 * power-on (PCRs reset, NV kept), as for a physical machine.  Linux's
 * xen-tpmfront never sends TPM2_Startup, so the vtpmd is started powered on
 * (autostart), and a plain stop would save the volatile state for the next
 * start to resume.  Also when no command came through this manager: a
 * manager that stopped under a running guest saved its volatile state.
 * Not when a QEMU/libvirt control connection uses the vTPM now.
 */
static void
dev_release(struct mgr *m, struct xen_dev *d)
{
	struct vtpm *v = vtpm_find_uuid(m, d->uuid);

	if (v == NULL || v->nconns != 0)
		return;
	log_info(LOGM_BACKEND, "xen: %s removed: powering vTPM %s off (PCRs reset at its next "
		 "start, NV kept)", d->be_path, d->uuid_str);
	vtpm_power_off(m, v);
}

static void
dev_free(struct mgr *m, struct xen_backend *xb, struct xen_dev *d)
{
	struct xen_dev **pp;

	dev_disconnect(xb, d);
	if (d->phase == XD_OPEN)
		dev_release(m, d);
	if (d->watching)
		(void)xb->xi.xs_unwatch(xb->xi.ctx, d->fe_path, d->token);
	for (pp = &xb->devs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	}
	log_debug(LOGM_BACKEND, "xen: %s: forgotten", d->be_path);
	free(d);
}

static void __attribute__((format(printf, 3, 4)))
dev_refuse(struct xen_backend *xb, struct xen_dev *d, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_warn(LOGM_BACKEND, "xen: %s refused: %s", d->be_path, why);
	(void)xs_put(xb, d->be_path, "error", why);
	set_state(xb, d, XEN_BUS_CLOSED);
	d->phase = XD_REFUSED;
}

/* Connecting failed: Closed with an error node; the claim stays, and a
 * frontend that resets (Closed or Initialising) gets InitWait again. */
static void __attribute__((format(printf, 3, 4)))
dev_fail(struct xen_backend *xb, struct xen_dev *d, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_warn(LOGM_BACKEND, "xen: %s: cannot connect: %s", d->be_path, why);
	dev_disconnect(xb, d);
	if (xs_put(xb, d->be_path, "error", why) == 0)
		d->error_set = 1;
	set_state(xb, d, XEN_BUS_CLOSED);
	d->failed = 1;
}

/* The toolstack has written `state`: claim the vTPM or refuse. */
static void
dev_open(struct mgr *m, struct xen_backend *xb, struct xen_dev *d)
{
	char prefix[64];
	char *fe, *u;
	struct vtpm *v;
	int be;

	fe = xs_get(xb, d->be_path, "frontend");
	snprintf(prefix, sizeof(prefix), "/local/domain/%u/", d->fe_domid);
	if (fe == NULL || strncmp(fe, prefix, strlen(prefix)) != 0 ||
	    strlen(fe) >= sizeof(d->fe_path)) {
		dev_refuse(xb, d, "frontend path %s is not in domain %u", fe ? fe : "(none)",
			   d->fe_domid);
		free(fe);
		return;
	}
	snprintf(d->fe_path, sizeof(d->fe_path), "%s", fe);
	free(fe);

	u = xs_get(xb, d->be_path, "uuid");
	if (u == NULL) {
		dev_refuse(xb, d, "no uuid node: the vTPM is named by its UUID "
			   "(xl: vtpm=[\"backend=0,uuid=...\"])");
		return;
	}
	if (uuid_parse(u, d->uuid) != 0) {
		dev_refuse(xb, d, "uuid '%.64s' is not a UUID", u);
		free(u);
		return;
	}
	free(u);
	uuid_format(d->uuid, d->uuid_str);
	if ((v = vtpm_find_uuid(m, d->uuid)) == NULL && m->cfg.xen_autocreate) {
		/* The seed's hotplug script created a missing vTPM; the UUID
		 * comes from the toolstack's backend directory, not the guest. */
		char err[512];

		if ((v = vtpm_create(m, d->uuid, 2, MANIFEST_NO_OWNER, MANIFEST_NO_OWNER,
				     (struct stop_wait){ .done = NULL }, err,
				     sizeof(err))) == NULL) {
			dev_refuse(xb, d, "vTPM %s is not defined on this host and xen_autocreate "
				   "failed: %s", d->uuid_str, err);
			return;
		}
		log_info(LOGM_BACKEND, "xen: %s: created vTPM %s (TPM 2.0) for domain %u "
			 "(xen_autocreate)", d->be_path, d->uuid_str, d->fe_domid);
	}
	if (v == NULL) {
		dev_refuse(xb, d, "vTPM %s is not defined on this host "
			   "(vtpmctl create --uuid %s, or xen_autocreate = yes)", d->uuid_str,
			   d->uuid_str);
		return;
	}
	for (struct xen_dev *o = xb->devs; o != NULL; o = o->next) {
		if (o != d && o->phase == XD_OPEN && memcmp(o->uuid, d->uuid, UUID_LEN) == 0) {
			dev_refuse(xb, d, "vTPM %s is already open by %s", d->uuid_str,
				   o->be_path);
			return;
		}
	}
	if (v->nconns != 0) {
		dev_refuse(xb, d, "vTPM %s is in use by %u control connection(s) "
			   "(QEMU or libvirt)", d->uuid_str, v->nconns);
		return;
	}
	if (xb->xi.xs_watch(xb->xi.ctx, d->fe_path, d->token) != 0) {
		dev_refuse(xb, d, "cannot watch %s: %s", d->fe_path, strerror(errno));
		return;
	}
	d->watching = 1;
	/* A device the toolstack just made (libxl writes state 1; a backend
	 * that served it wrote 2 or more) is a new machine's TPM being
	 * plugged in: a volatile state saved for a guest that is gone (one
	 * destroyed while no manager ran) must not be resumed by it. */
	be = xs_get_state(xb, d->be_path);
	if (be == XEN_BUS_INITIALISING && !vtpm_has_vtpmd(v))
		vtpm_power_off(m, v);
	/* Launch on open, as the seed's hotplug script did, but without a
	 * script: the TPM is powered on while the guest boots (autostart:
	 * xen-tpmfront never sends Startup), so its first command does not
	 * wait for a vtpmd, and a vTPM that cannot start is refused now and
	 * makes xl create fail, instead of failing the guest's commands. */
	if (!vtpm_has_vtpmd(v) && vtpm_spawn(m, v, 1) != 0) {
		dev_refuse(xb, d, "vTPM %s cannot start%s%s", d->uuid_str,
			   v->reason[0] != '\0' ? ": " : "", v->reason);
		return;
	}
	d->phase = XD_OPEN;
	(void)xs_put(xb, d->be_path, "feature-protocol-v2", "1");
	/* Taken over from a manager that stopped: Connected stays so (the
	 * guest needs no InitWait; dev_connect maps the page again). */
	if (be == XEN_BUS_CONNECTED)
		d->be_state = be;
	else
		set_state(xb, d, XEN_BUS_INITWAIT);
	log_info(LOGM_BACKEND, "xen: %s: vTPM %s for domain %u, waiting for the frontend",
		 d->be_path, d->uuid_str, d->fe_domid);
}

static void
dev_connect(struct mgr *m, struct xen_backend *xb, struct xen_dev *d)
{
	unsigned long ref = 0, remote = 0;
	char *sref = xs_get(xb, d->fe_path, "ring-ref");
	char *sport = xs_get(xb, d->fe_path, "event-channel");
	char *v2 = xs_get(xb, d->fe_path, "feature-protocol-v2");
	int ok_ref = parse_uint(sref, 0xffffffffu, &ref) == 0;
	int ok_port = parse_uint(sport, 0xffffffffu, &remote) == 0;
	int ok_v2 = v2 != NULL && strcmp(v2, "1") == 0;
	int port;

	free(sref);
	free(sport);
	free(v2);
	if (!ok_ref || !ok_port) {
		dev_fail(xb, d, "frontend %s has no valid ring-ref and event-channel", d->fe_path);
		return;
	}
	if (!ok_v2) {
		dev_fail(xb, d, "frontend %s does not speak tpmif protocol v2", d->fe_path);
		return;
	}
	if ((d->page = xb->xi.gnt_map(xb->xi.ctx, d->fe_domid, (uint32_t)ref)) == NULL) {
		dev_fail(xb, d, "cannot map grant %lu of domain %u: %s", ref, d->fe_domid,
			 strerror(errno));
		return;
	}
	if ((port = xb->xi.evtchn_bind(xb->xi.ctx, d->fe_domid, (uint32_t)remote)) < 0) {
		dev_fail(xb, d, "cannot bind event channel %lu of domain %u: %s", remote,
			 d->fe_domid, strerror(errno));
		return;
	}
	d->port = port;
	d->conn_id = ++m->next_conn_id;
	d->busy = d->cancelled = 0;
	if (d->error_set && xs_put(xb, d->be_path, "error", "") == 0)
		d->error_set = 0; /* an earlier failure is over */
	set_state(xb, d, XEN_BUS_CONNECTED);
	log_info(LOGM_BACKEND, "xen: %s: connected (vTPM %s, grant %lu, port %d)", d->be_path,
		 d->uuid_str, ref, port);
	/* Linux submits its first command before the backend is Connected,
	 * and a notification to an unbound port is lost: look now. */
	handle_ring(m, xb, d);
}

/* Reconciles one device with xenstore; may free d. */
static void
dev_check(struct mgr *m, struct xen_backend *xb, struct xen_dev *d)
{
	char *s;
	int fe;

	if ((s = xb->xi.xs_read(xb->xi.ctx, d->be_path)) == NULL) {
		if (errno == ENOENT)
			dev_free(m, xb, d);
		return;
	}
	free(s);
	if (d->phase == XD_PENDING) {
		if ((s = xs_get(xb, d->be_path, "state")) == NULL)
			return; /* written piecemeal: wait for the rest */
		free(s);
		dev_open(m, xb, d);
	}
	if (d->phase != XD_OPEN)
		return;

	if ((s = xs_get(xb, d->be_path, "online")) != NULL && strcmp(s, "0") == 0) {
		/* libxl's removal: online=0, state=Closing; it waits for Closed. */
		free(s);
		dev_disconnect(xb, d);
		dev_release(m, d);
		d->be_state = -1; /* the toolstack wrote Closing: write Closed */
		set_state(xb, d, XEN_BUS_CLOSED);
		d->phase = XD_REMOVED;
		log_info(LOGM_BACKEND, "xen: %s: closed by the toolstack", d->be_path);
		return;
	}
	free(s);

	fe = xs_get_state(xb, d->fe_path);
	switch (fe) {
	case XEN_BUS_INITIALISED:
	case XEN_BUS_CONNECTED:
		if (d->page == NULL && !d->failed)
			dev_connect(m, xb, d);
		break;
	case XEN_BUS_CLOSING:
		dev_disconnect(xb, d);
		if (!d->failed)
			set_state(xb, d, XEN_BUS_CLOSING);
		break;
	case XEN_BUS_CLOSED:
	case XEN_BUS_INITIALISING:
	case XEN_BUS_UNKNOWN:
		/* Closed, or re-initialising after a resume or a crash:
		 * wait for the next connection. */
		dev_disconnect(xb, d);
		d->failed = 0;
		set_state(xb, d, XEN_BUS_INITWAIT);
		break;
	default:
		break;
	}
}

/* Lists <root>/<domid>/<devid>; every known device is re-checked too, so
 * a removed directory is noticed. */
static void
scan(struct xen_backend *xb)
{
	char path[XB_PATH_MAX];
	unsigned nd = 0, nh;
	char **doms, **hs;
	unsigned long dom, h;

	for (struct xen_dev *d = xb->devs; d != NULL; d = d->next)
		d->dirty = 1;
	if ((doms = xb->xi.xs_directory(xb->xi.ctx, xb->root, &nd)) == NULL)
		return;
	for (unsigned i = 0; i < nd; i++) {
		if (parse_uint(doms[i], XB_DOMID_MAX, &dom) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%lu", xb->root, dom);
		if ((hs = xb->xi.xs_directory(xb->xi.ctx, path, &nh)) == NULL)
			continue;
		for (unsigned j = 0; j < nh; j++) {
			struct xen_dev *d;

			if (parse_uint(hs[j], 0x7fffffffu, &h) == 0 &&
			    (d = dev_add(xb, (unsigned)dom, (unsigned)h)) != NULL)
				d->dirty = 1;
		}
		free(hs);
	}
	free(doms);
}

/* A "vtpm-be" event: which device, or 1 for "rescan everything". */
static int
be_event(struct xen_backend *xb, const char *path)
{
	size_t rl = strlen(xb->root);
	char comp[2][16];
	unsigned long dom, h;
	const char *p;
	struct xen_dev *d;

	if (strncmp(path, xb->root, rl) != 0 || path[rl] != '/')
		return 1; /* the root itself: the initial event, or removed */
	p = path + rl + 1;
	for (int i = 0; i < 2; i++) {
		size_t n = strcspn(p, "/");

		if (n == 0 || n >= sizeof(comp[i]))
			return i == 0 ? 0 : 1;
		memcpy(comp[i], p, n);
		comp[i][n] = '\0';
		p += n;
		if (i == 0) {
			if (*p != '/')
				return 1; /* <root>/<domid>: added or removed */
			p++;
		}
	}
	if (parse_uint(comp[0], XB_DOMID_MAX, &dom) != 0 ||
	    parse_uint(comp[1], 0x7fffffffu, &h) != 0)
		return 0;
	if ((d = dev_add(xb, (unsigned)dom, (unsigned)h)) != NULL)
		d->dirty = 1;
	return 0;
}

static void
xs_cb(struct mgr *m, struct ev *e, uint32_t events)
{
	struct xen_backend *xb = m->xen;
	char path[XB_PATH_MAX * 2], tok[96];
	struct xen_dev *d, *next;
	int rescan = 0, r = 0;

	(void)e;
	(void)events;
	/* libxenstore keeps the fd readable until its queue is empty, so a
	 * bounded batch loses nothing. */
	for (int i = 0; i < XB_EVENTS_PER_CB; i++) {
		r = xb->xi.xs_read_watch(xb->xi.ctx, path, sizeof(path), tok, sizeof(tok));
		if (r <= 0)
			break;
		if (strcmp(tok, XB_TOKEN_BE) == 0) {
			rescan |= be_event(xb, path);
		} else if (strncmp(tok, XB_TOKEN_FE, strlen(XB_TOKEN_FE)) == 0) {
			for (d = xb->devs; d != NULL; d = d->next)
				if (strcmp(d->token, tok) == 0)
					d->dirty = 1;
		}
	}
	if (r < 0)
		log_err(LOGM_BACKEND, "xen: reading xenstore watches: %s", strerror(errno));
	if (rescan)
		scan(xb);
	for (d = xb->devs; d != NULL; d = next) {
		next = d->next;
		if (d->dirty) {
			d->dirty = 0;
			dev_check(m, xb, d);
		}
	}
}

/* The response (or an error of ours) goes into the page. */
static void
ring_respond(struct xen_backend *xb, struct xen_dev *d, const uint8_t *p, size_t len)
{
	struct xen_tpmif_page *pg = d->page;
	uint8_t err[TPM_HDR_SIZE];

	d->busy = 0;
	if (d->cancelled) {
		d->cancelled = 0;
		__atomic_store_n(&pg->state, XEN_TPMIF_IDLE, __ATOMIC_RELEASE);
		(void)xb->xi.evtchn_notify(xb->xi.ctx, (uint32_t)d->port);
		log_debug(LOGM_BACKEND, "xen: %s: cancelled command done", d->be_path);
		return;
	}
	if (len > XEN_PAGE_SIZE - d->data_off) {
		log_warn(LOGM_BACKEND, "xen: %s: %zu-byte response does not fit the page",
			 d->be_path, len);
		int is2 = !(len >= 2 && be16_get(p) >= TPM12_TAG_RSP_COMMAND &&
			    be16_get(p) <= TPM12_TAG_RSP_COMMAND + 2);

		tpm_frame_error(err, NULL, 0, is2, is2 ? TPM2_RC_FAILURE : TPM12_FAIL);
		p = err;
		len = sizeof(err);
	}
	memcpy((uint8_t *)pg + d->data_off, p, len);
	__atomic_store_n(&pg->length, (uint32_t)len, __ATOMIC_RELAXED);
	__atomic_store_n(&pg->state, XEN_TPMIF_FINISH, __ATOMIC_RELEASE);
	(void)xb->xi.evtchn_notify(xb->xi.ctx, (uint32_t)d->port);
}

static void
ring_error(struct xen_backend *xb, struct xen_dev *d, const uint8_t *req, size_t reqlen,
	   int is2, uint32_t rc2, uint32_t rc12)
{
	uint8_t out[TPM_HDR_SIZE];
	uint16_t tag = reqlen >= 2 ? be16_get(req) : 0;
	int req2 = (tag == TPM2_ST_NO_SESSIONS || tag == TPM2_ST_SESSIONS) ? 1
		   : (tag >= TPM12_TAG_RQU_COMMAND && tag <= TPM12_TAG_RQU_AUTH2) ? 0 : is2;

	tpm_frame_error(out, req, reqlen, is2, req2 ? rc2 : rc12);
	ring_respond(xb, d, out, sizeof(out));
}

static void
ring_submit(struct mgr *m, struct xen_backend *xb, struct xen_dev *d)
{
	struct xen_tpmif_page *pg = d->page;
	uint32_t len = __atomic_load_n(&pg->length, __ATOMIC_RELAXED);
	uint8_t loc = __atomic_load_n(&pg->locality, __ATOMIC_RELAXED);
	uint8_t nx = __atomic_load_n(&pg->nr_extra_pages, __ATOMIC_RELAXED);
	/* At most 8 + 4 * 255 = 1028: the page always has room for a header. */
	size_t off = sizeof(*pg) + 4u * nx;
	size_t max = XEN_PAGE_SIZE - off < TPM_FRAME_MAX ? XEN_PAGE_SIZE - off : TPM_FRAME_MAX;
	struct vtpm *v = vtpm_find_uuid(m, d->uuid);
	int is2 = v != NULL ? v->me.tpm_version == 2 : 1;
	struct req *r;

	d->data_off = off;
	d->busy = 1;
	d->cancelled = 0;
	if (len > max) {
		memcpy(xb->cmd, (uint8_t *)pg + off, TPM_HDR_SIZE);
		log_warn(LOGM_BACKEND, "xen: %s: request length %u exceeds the page (%zu)",
			 d->be_path, len, max);
		ring_error(xb, d, xb->cmd, TPM_HDR_SIZE, is2, TPM2_RC_COMMAND_SIZE,
			   TPM12_BAD_PARAM_SIZE);
		return;
	}
	/* One copy out of the guest's page; everything below reads the copy. */
	memcpy(xb->cmd, (uint8_t *)pg + off, len);
	if (tpm_frame_exact(xb->cmd, len, max) != 0) {
		log_warn(LOGM_BACKEND, "xen: %s: malformed request (%u bytes)", d->be_path, len);
		ring_error(xb, d, xb->cmd, len, is2, TPM2_RC_COMMAND_SIZE, TPM12_BAD_PARAM_SIZE);
		return;
	}
	if (v == NULL) {
		log_warn(LOGM_BACKEND, "xen: %s: vTPM %s no longer exists", d->be_path,
			 d->uuid_str);
		ring_error(xb, d, xb->cmd, len, is2, TPM2_RC_FAILURE, TPM12_FAIL);
		return;
	}
	if (loc > 4) {
		ring_error(xb, d, xb->cmd, len, is2, TPM2_RC_LOCALITY, TPM12_BAD_LOCALITY);
		return;
	}
	if (loc != v->locality) {
		/* As QEMU does for a TIS locality change: the guest picks. */
		if (!vtpm_has_vtpmd(v)) {
			v->locality = loc; /* passed to the vtpmd when it starts */
		} else if ((r = req_new(REQ_CTRL, NULL, 0)) == NULL ||
			   buf_put_u32(&r->payload, CMD_SET_LOCALITY) != 0 ||
			   buf_put_u8(&r->payload, loc) != 0) {
			req_free(r);
			ring_error(xb, d, xb->cmd, len, is2, TPM2_RC_FAILURE, TPM12_FAIL);
			return;
		} else {
			r->cmd = CMD_SET_LOCALITY; /* nobody waits for its answer */
			vtpm_submit(m, v, r);
		}
	}
	if ((r = req_new(REQ_TPM, xen_req_done, d->conn_id)) == NULL ||
	    buf_put_bytes(&r->payload, xb->cmd, len) != 0) {
		req_free(r);
		ring_error(xb, d, xb->cmd, len, is2, TPM2_RC_FAILURE, TPM12_FAIL);
		return;
	}
	/* May answer at once (xen_req_done): d is not used after. */
	vtpm_submit(m, v, r);
}

static void
handle_ring(struct mgr *m, struct xen_backend *xb, struct xen_dev *d)
{
	if (d->page == NULL)
		return;
	switch (__atomic_load_n(&d->page->state, __ATOMIC_ACQUIRE)) {
	case XEN_TPMIF_SUBMIT:
		/* A manager on its way out leaves a new command in the page
		 * (state SUBMIT) for the next one, which serves it when it
		 * maps the page: queued here it would be failed when the
		 * vtpmd stops. */
		if (!d->busy && !m->stopping)
			ring_submit(m, xb, d);
		break;
	case XEN_TPMIF_CANCEL:
		if (d->busy) {
			/* The response is dropped when it comes back; libtpms is
			 * asked to cut the command short (as CANCEL_TPM_CMD). */
			struct vtpm *v = vtpm_find_uuid(m, d->uuid);
			d->cancelled = 1;
			if (v != NULL)
				(void)vtpm_cancel(m, v);
		} else {
			__atomic_store_n(&d->page->state, XEN_TPMIF_IDLE, __ATOMIC_RELEASE);
			(void)xb->xi.evtchn_notify(xb->xi.ctx, (uint32_t)d->port);
		}
		break;
	default:
		break; /* IDLE or FINISH: nothing for us */
	}
}

static void
evtchn_cb(struct mgr *m, struct ev *e, uint32_t events)
{
	struct xen_backend *xb = m->xen;
	int port;

	(void)e;
	(void)events;
	for (int i = 0; i < XB_PORTS_PER_CB; i++) {
		if ((port = xb->xi.evtchn_pending(xb->xi.ctx)) < 0) {
			if (errno != EAGAIN)
				log_warn(LOGM_BACKEND, "xen: event channels: %s", strerror(errno));
			return;
		}
		(void)xb->xi.evtchn_unmask(xb->xi.ctx, (uint32_t)port);
		for (struct xen_dev *d = xb->devs; d != NULL; d = d->next) {
			if (d->page != NULL && d->port == port) {
				handle_ring(m, xb, d);
				break;
			}
		}
	}
}

/*
 * A TPM response (or the manager's error response) for a request of ours:
 * conn_id is the connection's it came from.  Dropped when that connection
 * is gone or the guest cancelled the command.
 */
static void
xen_reply(struct mgr *m, uint64_t conn_id, const uint8_t *p, size_t len)
{
	struct xen_backend *xb = m->xen;

	if (xb == NULL || conn_id == 0)
		return;
	for (struct xen_dev *d = xb->devs; d != NULL; d = d->next) {
		if (d->page != NULL && d->conn_id == conn_id) {
			if (d->busy)
				ring_respond(xb, d, p, len);
			return;
		}
	}
	log_debug(LOGM_BACKEND, "xen: response for a closed connection dropped");
}

static void
xen_req_done(struct mgr *m, struct req *r, const uint8_t *p, size_t len, int failed)
{
	(void)failed;
	xen_reply(m, r->tag, p, len);
}

static void
xb_free(struct mgr *m, struct xen_backend *xb)
{
	while (xb->devs != NULL) {
		struct xen_dev *d = xb->devs;

		dev_disconnect(xb, d);
		if (d->watching)
			(void)xb->xi.xs_unwatch(xb->xi.ctx, d->fe_path, d->token);
		xb->devs = d->next;
		free(d);
	}
	ev_del(m, &xb->xs_ev);
	ev_del(m, &xb->evtchn_ev);
	if (xb->xi.close != NULL)
		xb->xi.close(xb->xi.ctx);
	free(xb);
}

int
xen_backend_open(struct mgr *m, const struct xen_if *xi, char *err, size_t errlen)
{
	struct xen_backend *xb;

	if (m->xen != NULL) {
		if (xi->close != NULL)
			xi->close(xi->ctx);
		snprintf(err, errlen, "the Xen backend is already open");
		return -1;
	}
	if ((xb = calloc(1, sizeof(*xb))) == NULL) {
		if (xi->close != NULL)
			xi->close(xi->ctx);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	xb->xi = *xi;
	if (xb->xi.xs_domid(xb->xi.ctx, &xb->self) != 0) {
		log_warn(LOGM_BACKEND, "xen: cannot read our domain id (%s); assuming dom0",
			 strerror(errno));
		xb->self = 0;
	}
	snprintf(xb->root, sizeof(xb->root), "/local/domain/%u/backend/vtpm", xb->self);
	xb->xs_ev = (struct ev){ .fd = xb->xi.xs_fd(xb->xi.ctx), .cb = xs_cb, .ctx = xb };
	xb->evtchn_ev = (struct ev){ .fd = xb->xi.evtchn_fd(xb->xi.ctx), .cb = evtchn_cb,
				     .ctx = xb };
	m->xen = xb;
	if (xb->xs_ev.fd < 0 || xb->evtchn_ev.fd < 0 || ev_set(m, &xb->xs_ev, EPOLLIN) != 0 ||
	    ev_set(m, &xb->evtchn_ev, EPOLLIN) != 0) {
		snprintf(err, errlen, "xen: cannot poll the xenstore and event-channel fds");
		goto fail;
	}
	/* Fires once at once: the first event scans what already exists
	 * (devices of guests started before us, or before a restart). */
	if (xb->xi.xs_watch(xb->xi.ctx, xb->root, XB_TOKEN_BE) != 0) {
		snprintf(err, errlen, "xen: cannot watch %s: %s", xb->root, strerror(errno));
		goto fail;
	}
	log_info(LOGM_BACKEND, "xen: serving vTPM devices under %s", xb->root);
	return 0;
fail:
	m->xen = NULL;
	xb_free(m, xb);
	return -1;
}

void
xen_backend_close(struct mgr *m)
{
	struct xen_backend *xb = m->xen;

	if (xb == NULL)
		return;
	(void)xb->xi.xs_unwatch(xb->xi.ctx, xb->root, XB_TOKEN_BE);
	m->xen = NULL;
	xb_free(m, xb);
}


int
xen_vtpm_open(struct mgr *m, const uint8_t uuid[16])
{
	if (m->xen == NULL)
		return 0;
	for (struct xen_dev *d = m->xen->devs; d != NULL; d = d->next)
		if (d->phase == XD_OPEN && memcmp(d->uuid, uuid, UUID_LEN) == 0)
			return 1;
	return 0;
}
