/*
 * xen_bus.c - the Xen thread: xenbus device handling for the Xen PV vTPM
 * backend, for guests running the stock Linux xen-tpmfront
 * (reference/xen-vtpm.md §2.2-§2.4).  All Xen access goes through struct
 * xen_if (xen_if.h), so the same code runs on libxen* and on the tests'
 * stand-in.
 *
 * Why a thread: every xenstore call is a round trip to xenstored, and a
 * hung xenstored must not stall the manager's loop, which serves every
 * other vTPM (QEMU's, the FIFO's, vtpmctl).  This thread owns the xenstore
 * connection, the grant mappings and the event channels (xen_ring.c) and
 * never touches a struct vtpm or struct mgr: what it needs from the
 * vTPMs it asks the loop for by message (xen_msg.h), and the loop answers
 * by message.  A hung xenstored stalls this thread, and with it the Xen
 * guests' rings, and nothing else.
 *
 * Devices: a watch on /local/domain/<self>/backend/vtpm finds
 * <frontend-domid>/<devid> directories written by the toolstack (libxl).
 * For each one: read `frontend` and `uuid` and refuse (state Closed and an
 * `error` node) a device whose frontend lies outside its domain or whose
 * UUID is missing or malformed; otherwise watch the frontend and ask the
 * loop for the vTPM (XM_OPEN).  The loop decides (xen_backend.c: defined,
 * or created by xen_autocreate; not open by another device nor by a QEMU
 * control connection; started) and answers XM_OPENED or XM_REFUSED; then
 * publish feature-protocol-v2=1 and go InitWait, or refuse.  When the
 * frontend is Initialised or Connected, map its `ring-ref`, bind its
 * `event-channel` and go Connected.  Frontend Closing/Closed: unmap,
 * unbind, back to InitWait (Linux re-probes on resume).  The toolstack's
 * removal (online=0, state=5) closes the device (state Closed) and lets go
 * of the vTPM (XM_RELEASE: the loop powers it off, so the next boot gets a
 * TPM power cycle, PCRs reset, NV kept); the directory's removal forgets
 * the device.  A manager's own exit leaves the devices as they are and its
 * vtpmds save their state: the next manager resumes.  Handling is
 * level-triggered: each watch event or answer marks a device dirty and
 * dev_check() reconciles it with what xenstore says, so lost, repeated or
 * reordered events change nothing.
 *
 * Trust: xenstore's backend directory is written by the toolstack; the
 * frontend directory by the guest, whose values are parsed strictly; the
 * shared page is xen_ring.c's.  The vTPM a device gets is named by the
 * backend directory's `uuid`, never by anything the guest writes.  The
 * loop's answers are the manager's own.
 */
#include "manager/xen_bus.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "manager/xen_ring.h"
#include "util/log.h"
#include "util/tpm_frame.h"
#include "util/uuid.h"

#define XB_PATH_MAX 256
#define XB_TOKEN_BE "vtpm-be"
#define XB_TOKEN_FE "vtpm-fe:"
#define XB_DOMID_MAX 0x7fefu   /* DOMID_FIRST_RESERVED - 1 */
#define XB_EVENTS_PER_TURN 256
#define XB_PORTS_PER_TURN 64
#define XB_MSGS_PER_TURN 64

/* epoll tags of the thread's three fds. */
enum { XB_FD_XS = 1, XB_FD_EVTCHN, XB_FD_INBOX };

enum xdev_phase {
	XD_PENDING,  /* seen, but the toolstack has not written `state` yet */
	XD_CLAIMING, /* XM_OPEN sent: waiting for the loop's answer */
	XD_OPEN,     /* holds its vTPM: InitWait, Connected, or between */
	XD_REFUSED,  /* Closed with an error node, until the directory goes */
	XD_REMOVED,  /* closed on the toolstack's request (online=0) */
};

struct xen_dev {
	struct xen_dev *next;
	uint64_t id; /* names the device in messages; never reused */
	unsigned fe_domid, devid;
	char be_path[XB_PATH_MAX];
	char fe_path[XB_PATH_MAX];
	char token[64];
	int watching;
	enum xdev_phase phase;
	int be_state;     /* what we last wrote to <be>/state, -1 for nothing */
	int be_connected; /* Connected when claimed: served by a manager before us */
	int failed;       /* connecting failed; wait for the frontend to reset */
	int error_set;    /* an `error` node of ours is there */
	int dirty;
	uint8_t uuid[UUID_LEN];
	char uuid_str[UUID_STR_LEN];
	/* XM_RELEASE, allocated with XM_OPEN: letting go of a vTPM cannot
	 * fail for want of memory.  NULL while the device holds no claim. */
	struct xen_msg *release;

	struct xen_ring ring;
	uint64_t conn_id; /* the current connection; 0 when not connected */
};

struct xen_bus {
	struct xen_if xi;
	int xi_open;
	xen_if_open_fn *open;
	void *open_arg;
	struct xen_mbox *to_core;
	struct xen_mbox *inbox;
	struct xen_msg *started; /* XM_STARTED, allocated up front */
	unsigned self;
	char root[XB_PATH_MAX];
	int root_watched;
	int epfd;
	struct xen_dev *devs;
	uint64_t next_dev, next_conn;
	int stopping; /* the manager is on its way out: commands stay in the page */
	int quit;
	uint8_t cmd[TPM_FRAME_MAX]; /* a packet copied out of a page */
};

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
xs_get(struct xen_bus *b, const char *dir, const char *key)
{
	char path[XB_PATH_MAX + 64];
	int n = snprintf(path, sizeof(path), "%s/%s", dir, key);

	if (n < 0 || (size_t)n >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	return b->xi.xs_read(b->xi.ctx, path);
}

static int
xs_put(struct xen_bus *b, const char *dir, const char *key, const char *val)
{
	char path[XB_PATH_MAX + 64];
	int n = snprintf(path, sizeof(path), "%s/%s", dir, key);

	if (n < 0 || (size_t)n >= sizeof(path))
		return -1;
	if (b->xi.xs_write(b->xi.ctx, path, val) != 0) {
		log_warn(LOGM_BACKEND, "xen: cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* A xenbus state node; XEN_BUS_UNKNOWN when missing or malformed. */
static int
xs_get_state(struct xen_bus *b, const char *dir)
{
	char *s = xs_get(b, dir, "state");
	unsigned long v;
	int st = XEN_BUS_UNKNOWN;

	if (s != NULL && parse_uint(s, 255, &v) == 0)
		st = (int)v;
	free(s);
	return st;
}

static void
set_state(struct xen_bus *b, struct xen_dev *d, int st)
{
	char val[8];

	if (d->be_state == st)
		return;
	snprintf(val, sizeof(val), "%d", st);
	if (xs_put(b, d->be_path, "state", val) == 0) {
		log_debug(LOGM_BACKEND, "xen: %s: state %d", d->be_path, st);
		d->be_state = st;
	}
}

static struct xen_dev *
dev_find(struct xen_bus *b, unsigned fe_domid, unsigned devid)
{
	for (struct xen_dev *d = b->devs; d != NULL; d = d->next)
		if (d->fe_domid == fe_domid && d->devid == devid)
			return d;
	return NULL;
}

static struct xen_dev *
dev_by_id(struct xen_bus *b, uint64_t id)
{
	for (struct xen_dev *d = b->devs; d != NULL; d = d->next)
		if (d->id == id)
			return d;
	return NULL;
}

static struct xen_dev *
dev_add(struct xen_bus *b, unsigned fe_domid, unsigned devid)
{
	struct xen_dev *d = dev_find(b, fe_domid, devid);

	if (d != NULL)
		return d;
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		log_err(LOGM_BACKEND, "xen: out of memory for device %u/%u", fe_domid, devid);
		return NULL;
	}
	d->id = ++b->next_dev;
	d->fe_domid = fe_domid;
	d->devid = devid;
	snprintf(d->be_path, sizeof(d->be_path), "%s/%u/%u", b->root, fe_domid, devid);
	snprintf(d->token, sizeof(d->token), XB_TOKEN_FE "%u/%u", fe_domid, devid);
	d->phase = XD_PENDING;
	d->be_state = -1;
	xen_ring_init(&d->ring, &b->xi, d->be_path);
	d->next = b->devs;
	b->devs = d;
	return d;
}

static void
dev_disconnect(struct xen_dev *d)
{
	if (d->ring.page != NULL)
		log_info(LOGM_BACKEND, "xen: %s: frontend disconnected", d->be_path);
	/* A response still at the vTPM finds no connection and is dropped. */
	xen_ring_disconnect(&d->ring);
	d->conn_id = 0;
}

/*
 * The guest's machine is gone (reboot, shutdown, destroy) or its TPM was
 * unplugged (vtpm-detach): the loop powers the vTPM off (xen_backend.c),
 * so that its next start is a power-on, and the UUID is free for another
 * device.  Also for a claim still being decided: the loop answers the
 * messages in order, so the claim it granted is let go of again.
 */
static void
dev_release(struct xen_bus *b, struct xen_dev *d)
{
	struct xen_msg *msg = d->release;

	if (msg == NULL)
		return;
	d->release = NULL;
	msg->dev = d->id;
	memcpy(msg->uuid, d->uuid, UUID_LEN);
	snprintf(msg->text, sizeof(msg->text), "%s", d->be_path);
	xen_mbox_post(b->to_core, msg);
}

/* Forgets d; with_release 0 on the manager's own exit (no power-off). */
static void
dev_free(struct xen_bus *b, struct xen_dev *d, int with_release)
{
	struct xen_dev **pp;

	dev_disconnect(d);
	if (with_release)
		dev_release(b, d);
	free(d->release);
	if (d->watching)
		(void)b->xi.xs_unwatch(b->xi.ctx, d->fe_path, d->token);
	for (pp = &b->devs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	}
	log_debug(LOGM_BACKEND, "xen: %s: forgotten", d->be_path);
	free(d);
}

static void __attribute__((format(printf, 3, 4)))
dev_refuse(struct xen_bus *b, struct xen_dev *d, const char *fmt, ...)
{
	char why[XEN_MSG_TEXT];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_warn(LOGM_BACKEND, "xen: %s refused: %s", d->be_path, why);
	if (d->watching && b->xi.xs_unwatch(b->xi.ctx, d->fe_path, d->token) == 0)
		d->watching = 0;
	(void)xs_put(b, d->be_path, "error", why);
	set_state(b, d, XEN_BUS_CLOSED);
	d->phase = XD_REFUSED;
}

/* Connecting failed: Closed with an error node; the claim stays, and a
 * frontend that resets (Closed or Initialising) gets InitWait again. */
static void __attribute__((format(printf, 3, 4)))
dev_fail(struct xen_bus *b, struct xen_dev *d, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_warn(LOGM_BACKEND, "xen: %s: cannot connect: %s", d->be_path, why);
	dev_disconnect(d);
	if (xs_put(b, d->be_path, "error", why) == 0)
		d->error_set = 1;
	set_state(b, d, XEN_BUS_CLOSED);
	d->failed = 1;
}

/*
 * The toolstack has written `state`: check what xenstore says of the
 * device, then ask the loop for its vTPM (the answer comes as XM_OPENED or
 * XM_REFUSED).
 */
static void
dev_open(struct xen_bus *b, struct xen_dev *d)
{
	char prefix[64];
	char *fe, *u;
	struct xen_msg *msg;
	int be;

	fe = xs_get(b, d->be_path, "frontend");
	snprintf(prefix, sizeof(prefix), "/local/domain/%u/", d->fe_domid);
	if (fe == NULL || strncmp(fe, prefix, strlen(prefix)) != 0 ||
	    strlen(fe) >= sizeof(d->fe_path)) {
		dev_refuse(b, d, "frontend path %s is not in domain %u", fe ? fe : "(none)",
			   d->fe_domid);
		free(fe);
		return;
	}
	snprintf(d->fe_path, sizeof(d->fe_path), "%s", fe);
	free(fe);

	/* The toolstack's directory names the vTPM, never the guest's. */
	u = xs_get(b, d->be_path, "uuid");
	if (u == NULL) {
		dev_refuse(b, d, "no uuid node: the vTPM is named by its UUID "
			   "(xl: vtpm=[\"backend=0,uuid=...\"])");
		return;
	}
	if (uuid_parse(u, d->uuid) != 0) {
		dev_refuse(b, d, "uuid '%.64s' is not a UUID", u);
		free(u);
		return;
	}
	free(u);
	uuid_format(d->uuid, d->uuid_str);
	if (b->xi.xs_watch(b->xi.ctx, d->fe_path, d->token) != 0) {
		dev_refuse(b, d, "cannot watch %s: %s", d->fe_path, strerror(errno));
		return;
	}
	d->watching = 1;
	/* libxl writes state 1; a backend that served the device wrote 2 or
	 * more: a new device is a new machine's TPM being plugged in (the
	 * loop discards a volatile state left for a guest that is gone), a
	 * Connected one is taken over from a manager that stopped. */
	be = xs_get_state(b, d->be_path);
	d->be_connected = be == XEN_BUS_CONNECTED;
	if ((msg = xen_msg_new(XM_OPEN, 0)) == NULL ||
	    (d->release = xen_msg_new(XM_RELEASE, 0)) == NULL) {
		free(msg);
		dev_refuse(b, d, "out of memory");
		return;
	}
	msg->dev = d->id;
	memcpy(msg->uuid, d->uuid, UUID_LEN);
	msg->arg = be == XEN_BUS_INITIALISING;
	snprintf(msg->text, sizeof(msg->text), "%s", d->be_path);
	d->phase = XD_CLAIMING;
	xen_mbox_post(b->to_core, msg);
}

/* The loop granted the claim (XM_OPENED). */
static void
dev_opened(struct xen_bus *b, struct xen_dev *d, int tpm_version)
{
	d->phase = XD_OPEN;
	d->ring.tpm2 = tpm_version == 2;
	(void)xs_put(b, d->be_path, "feature-protocol-v2", "1");
	/* Taken over from a manager that stopped: Connected stays so (the
	 * guest needs no InitWait; dev_connect maps the page again). */
	if (d->be_connected)
		d->be_state = XEN_BUS_CONNECTED;
	else
		set_state(b, d, XEN_BUS_INITWAIT);
	log_info(LOGM_BACKEND, "xen: %s: vTPM %s for domain %u, waiting for the frontend",
		 d->be_path, d->uuid_str, d->fe_domid);
	d->dirty = 1; /* the frontend may be further along already */
}

/* Whatever the page holds after a notification, or at connect. */
static void
ring_kick(struct xen_bus *b, struct xen_dev *d)
{
	struct xen_msg *msg;
	size_t len = 0;
	uint8_t loc = 0;

	/* Once the loop declined a command (the manager is on its way out),
	 * new ones stay in their pages (state SUBMIT) for the next manager,
	 * which serves them when it maps the pages again. */
	switch (xen_ring_take(&d->ring, !b->stopping, b->cmd, &len, &loc)) {
	case XEN_RING_COMMAND:
		if ((msg = xen_msg_new(XM_COMMAND, len)) == NULL) {
			uint8_t err[TPM_HDR_SIZE];

			log_err(LOGM_BACKEND, "xen: %s: out of memory for a command", d->be_path);
			xen_ring_error_resp(err, b->cmd, len, d->ring.tpm2, TPM2_RC_FAILURE,
					    TPM12_FAIL);
			xen_ring_respond(&d->ring, err, sizeof(err));
			return;
		}
		msg->dev = d->id;
		msg->conn = d->conn_id;
		memcpy(msg->uuid, d->uuid, UUID_LEN);
		msg->arg = loc;
		memcpy(msg->data, b->cmd, len);
		xen_mbox_post(b->to_core, msg);
		break;
	case XEN_RING_CANCEL:
		if ((msg = xen_msg_new(XM_CANCEL, 0)) == NULL)
			return; /* the command completes; its response is dropped */
		msg->dev = d->id;
		msg->conn = d->conn_id;
		memcpy(msg->uuid, d->uuid, UUID_LEN);
		xen_mbox_post(b->to_core, msg);
		break;
	case XEN_RING_NOTHING:
		break;
	}
}

static void
dev_connect(struct xen_bus *b, struct xen_dev *d)
{
	unsigned long ref = 0, remote = 0;
	char *sref = xs_get(b, d->fe_path, "ring-ref");
	char *sport = xs_get(b, d->fe_path, "event-channel");
	char *v2 = xs_get(b, d->fe_path, "feature-protocol-v2");
	int ok_ref = parse_uint(sref, 0xffffffffu, &ref) == 0;
	int ok_port = parse_uint(sport, 0xffffffffu, &remote) == 0;
	int ok_v2 = v2 != NULL && strcmp(v2, "1") == 0;
	char why[256];

	free(sref);
	free(sport);
	free(v2);
	if (!ok_ref || !ok_port) {
		dev_fail(b, d, "frontend %s has no valid ring-ref and event-channel", d->fe_path);
		return;
	}
	if (!ok_v2) {
		dev_fail(b, d, "frontend %s does not speak tpmif protocol v2", d->fe_path);
		return;
	}
	if (xen_ring_connect(&d->ring, d->fe_domid, (uint32_t)ref, (uint32_t)remote, why,
			     sizeof(why)) != 0) {
		dev_fail(b, d, "%s", why);
		return;
	}
	d->conn_id = ++b->next_conn;
	if (d->error_set && xs_put(b, d->be_path, "error", "") == 0)
		d->error_set = 0; /* an earlier failure is over */
	set_state(b, d, XEN_BUS_CONNECTED);
	log_info(LOGM_BACKEND, "xen: %s: connected (vTPM %s, grant %lu, port %d)", d->be_path,
		 d->uuid_str, ref, d->ring.port);
	/* Linux submits its first command before the backend is Connected,
	 * and a notification to an unbound port is lost: look now. */
	ring_kick(b, d);
}

/* Reconciles one device with xenstore; may free d. */
static void
dev_check(struct xen_bus *b, struct xen_dev *d)
{
	char *s;
	int fe;

	if ((s = b->xi.xs_read(b->xi.ctx, d->be_path)) == NULL) {
		if (errno == ENOENT)
			dev_free(b, d, 1);
		return;
	}
	free(s);
	if (d->phase == XD_PENDING) {
		if ((s = xs_get(b, d->be_path, "state")) == NULL)
			return; /* written piecemeal: wait for the rest */
		free(s);
		dev_open(b, d);
	}
	if (d->phase != XD_OPEN)
		return; /* refused, removed, or the loop has not answered yet */

	if ((s = xs_get(b, d->be_path, "online")) != NULL && strcmp(s, "0") == 0) {
		/* libxl's removal: online=0, state=Closing; it waits for Closed. */
		free(s);
		dev_disconnect(d);
		dev_release(b, d);
		d->be_state = -1; /* the toolstack wrote Closing: write Closed */
		set_state(b, d, XEN_BUS_CLOSED);
		d->phase = XD_REMOVED;
		log_info(LOGM_BACKEND, "xen: %s: closed by the toolstack", d->be_path);
		return;
	}
	free(s);

	fe = xs_get_state(b, d->fe_path);
	switch (fe) {
	case XEN_BUS_INITIALISED:
	case XEN_BUS_CONNECTED:
		if (d->ring.page == NULL && !d->failed)
			dev_connect(b, d);
		break;
	case XEN_BUS_CLOSING:
		dev_disconnect(d);
		if (!d->failed)
			set_state(b, d, XEN_BUS_CLOSING);
		break;
	case XEN_BUS_CLOSED:
	case XEN_BUS_INITIALISING:
	case XEN_BUS_UNKNOWN:
		/* Closed, or re-initialising after a resume or a crash:
		 * wait for the next connection. */
		dev_disconnect(d);
		d->failed = 0;
		set_state(b, d, XEN_BUS_INITWAIT);
		break;
	default:
		break;
	}
}

/* Lists <root>/<domid>/<devid>; every known device is re-checked too, so
 * a removed directory is noticed. */
static void
scan(struct xen_bus *b)
{
	char path[XB_PATH_MAX];
	unsigned nd = 0, nh;
	char **doms, **hs;
	unsigned long dom, h;

	for (struct xen_dev *d = b->devs; d != NULL; d = d->next)
		d->dirty = 1;
	if ((doms = b->xi.xs_directory(b->xi.ctx, b->root, &nd)) == NULL)
		return;
	for (unsigned i = 0; i < nd; i++) {
		if (parse_uint(doms[i], XB_DOMID_MAX, &dom) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%lu", b->root, dom);
		if ((hs = b->xi.xs_directory(b->xi.ctx, path, &nh)) == NULL)
			continue;
		for (unsigned j = 0; j < nh; j++) {
			struct xen_dev *d;

			if (parse_uint(hs[j], 0x7fffffffu, &h) == 0 &&
			    (d = dev_add(b, (unsigned)dom, (unsigned)h)) != NULL)
				d->dirty = 1;
		}
		free(hs);
	}
	free(doms);
}

/* A "vtpm-be" event: which device, or 1 for "rescan everything". */
static int
be_event(struct xen_bus *b, const char *path)
{
	size_t rl = strlen(b->root);
	char comp[2][16];
	unsigned long dom, h;
	const char *p;
	struct xen_dev *d;

	if (strncmp(path, b->root, rl) != 0 || path[rl] != '/')
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
	if ((d = dev_add(b, (unsigned)dom, (unsigned)h)) != NULL)
		d->dirty = 1;
	return 0;
}

static void
xs_events(struct xen_bus *b)
{
	char path[XB_PATH_MAX * 2], tok[96];
	int rescan = 0, r = 0;

	/* libxenstore keeps the fd readable until its queue is empty, so a
	 * bounded batch loses nothing. */
	for (int i = 0; i < XB_EVENTS_PER_TURN; i++) {
		r = b->xi.xs_read_watch(b->xi.ctx, path, sizeof(path), tok, sizeof(tok));
		if (r <= 0)
			break;
		if (strcmp(tok, XB_TOKEN_BE) == 0) {
			rescan |= be_event(b, path);
		} else if (strncmp(tok, XB_TOKEN_FE, strlen(XB_TOKEN_FE)) == 0) {
			for (struct xen_dev *d = b->devs; d != NULL; d = d->next)
				if (strcmp(d->token, tok) == 0)
					d->dirty = 1;
		}
	}
	if (r < 0)
		log_err(LOGM_BACKEND, "xen: reading xenstore watches: %s", strerror(errno));
	if (rescan)
		scan(b);
}

static void
evtchn_events(struct xen_bus *b)
{
	int port;

	for (int i = 0; i < XB_PORTS_PER_TURN; i++) {
		if ((port = b->xi.evtchn_pending(b->xi.ctx)) < 0) {
			if (errno != EAGAIN)
				log_warn(LOGM_BACKEND, "xen: event channels: %s", strerror(errno));
			return;
		}
		(void)b->xi.evtchn_unmask(b->xi.ctx, (uint32_t)port);
		for (struct xen_dev *d = b->devs; d != NULL; d = d->next) {
			if (d->ring.page != NULL && d->ring.port == port) {
				ring_kick(b, d);
				break;
			}
		}
	}
}

/* The device of a live connection, or NULL when it is gone. */
static struct xen_dev *
dev_by_conn(struct xen_bus *b, uint64_t conn)
{
	for (struct xen_dev *d = b->devs; d != NULL; d = d->next)
		if (d->ring.page != NULL && d->conn_id == conn && conn != 0)
			return d;
	return NULL;
}

/* One answer of the loop's. */
static void
inbox_msg(struct xen_bus *b, struct xen_msg *msg)
{
	struct xen_dev *d;

	switch (msg->type) {
	case XM_OPENED:
		if ((d = dev_by_id(b, msg->dev)) != NULL && d->phase == XD_CLAIMING)
			dev_opened(b, d, msg->arg);
		break;
	case XM_REFUSED:
		if ((d = dev_by_id(b, msg->dev)) != NULL && d->phase == XD_CLAIMING) {
			free(d->release);
			d->release = NULL;
			dev_refuse(b, d, "%s", msg->text);
		}
		break;
	case XM_RESPONSE:
		if ((d = dev_by_conn(b, msg->conn)) != NULL)
			xen_ring_respond(&d->ring, msg->data, msg->len);
		else
			log_debug(LOGM_BACKEND, "xen: response for a closed connection dropped");
		break;
	case XM_DECLINED:
		/* From now on new commands stay in their pages. */
		b->stopping = 1;
		if ((d = dev_by_conn(b, msg->conn)) != NULL)
			xen_ring_untake(&d->ring);
		break;
	case XM_QUIT:
		b->quit = 1;
		break;
	default:
		log_err(LOGM_BACKEND, "xen: unexpected message %d from the loop", (int)msg->type);
		break;
	}
}

static void
inbox_events(struct xen_bus *b)
{
	struct xen_msg *msg;

	for (int i = 0; i < XB_MSGS_PER_TURN && (msg = xen_mbox_pop(b->inbox)) != NULL; i++) {
		inbox_msg(b, msg);
		free(msg);
	}
}

struct xen_bus *
xen_bus_new(struct xen_mbox *to_core, struct xen_mbox *inbox, xen_if_open_fn *open,
	    void *open_arg)
{
	struct xen_bus *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	if ((b->started = xen_msg_new(XM_STARTED, 0)) == NULL) {
		free(b);
		return NULL;
	}
	b->to_core = to_core;
	b->inbox = inbox;
	b->open = open;
	b->open_arg = open_arg;
	b->epfd = -1;
	return b;
}

void
xen_bus_free(struct xen_bus *b)
{
	if (b == NULL)
		return;
	free(b->started);
	free(b);
}

static int
poll_add(struct xen_bus *b, int fd, uint32_t tag)
{
	struct epoll_event ee = { .events = EPOLLIN, .data.u32 = tag };

	return fd < 0 ? -1 : epoll_ctl(b->epfd, EPOLL_CTL_ADD, fd, &ee);
}

static void
setup_done(struct xen_bus *b, const char *why)
{
	struct xen_msg *msg = b->started;

	b->started = NULL;
	msg->arg = why == NULL;
	if (why != NULL)
		snprintf(msg->text, sizeof(msg->text), "%s", why);
	xen_mbox_post(b->to_core, msg);
}

int
xen_bus_setup(struct xen_bus *b)
{
	char err[XEN_MSG_TEXT];

	if (b->open(b->open_arg, &b->xi, err, sizeof(err)) != 0) {
		setup_done(b, err);
		return -1;
	}
	b->xi_open = 1;
	if (b->xi.xs_domid(b->xi.ctx, &b->self) != 0) {
		log_warn(LOGM_BACKEND, "xen: cannot read our domain id (%s); assuming dom0",
			 strerror(errno));
		b->self = 0;
	}
	snprintf(b->root, sizeof(b->root), "/local/domain/%u/backend/vtpm", b->self);
	if ((b->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    poll_add(b, b->xi.xs_fd(b->xi.ctx), XB_FD_XS) != 0 ||
	    poll_add(b, b->xi.evtchn_fd(b->xi.ctx), XB_FD_EVTCHN) != 0 ||
	    poll_add(b, xen_mbox_fd(b->inbox), XB_FD_INBOX) != 0) {
		snprintf(err, sizeof(err), "xen: cannot poll the xenstore and event-channel fds");
		goto fail;
	}
	/* Fires once at once: the first event scans what already exists
	 * (devices of guests started before us, or before a restart). */
	if (b->xi.xs_watch(b->xi.ctx, b->root, XB_TOKEN_BE) != 0) {
		snprintf(err, sizeof(err), "xen: cannot watch %s: %s", b->root, strerror(errno));
		goto fail;
	}
	b->root_watched = 1;
	log_info(LOGM_BACKEND, "xen: serving vTPM devices under %s", b->root);
	setup_done(b, NULL);
	return 0;
fail:
	xen_bus_teardown(b);
	setup_done(b, err);
	return -1;
}

int
xen_bus_turn(struct xen_bus *b, int timeout_ms)
{
	struct epoll_event evs[8];
	struct xen_dev *d, *next;
	int n = epoll_wait(b->epfd, evs, 8, timeout_ms);

	if (n < 0 && errno != EINTR) {
		/* Only a broken poll set gets here: nothing would wake us. */
		log_err(LOGM_BACKEND, "xen: epoll_wait: %s; the Xen backend stops", strerror(errno));
		return 0;
	}
	for (int i = 0; i < n; i++) {
		switch (evs[i].data.u32) {
		case XB_FD_XS: xs_events(b); break;
		case XB_FD_EVTCHN: evtchn_events(b); break;
		case XB_FD_INBOX: inbox_events(b); break;
		default: break;
		}
	}
	for (d = b->devs; d != NULL; d = next) {
		next = d->next;
		if (d->dirty) {
			d->dirty = 0;
			dev_check(b, d);
		}
	}
	return !b->quit;
}

void
xen_bus_teardown(struct xen_bus *b)
{
	while (b->devs != NULL)
		dev_free(b, b->devs, 0);
	if (b->root_watched)
		(void)b->xi.xs_unwatch(b->xi.ctx, b->root, XB_TOKEN_BE);
	b->root_watched = 0;
	if (b->epfd >= 0)
		close(b->epfd);
	b->epfd = -1;
	if (b->xi_open && b->xi.close != NULL)
		b->xi.close(b->xi.ctx);
	b->xi_open = 0;
}

void *
xen_bus_main(void *arg)
{
	struct xen_bus *b = arg;

	if (xen_bus_setup(b) != 0)
		return NULL;
	while (xen_bus_turn(b, -1))
		;
	xen_bus_teardown(b);
	return NULL;
}
