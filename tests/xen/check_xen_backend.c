/*
 * check_xen_backend.c - the Xen PV backend (manager/xen_backend.c) against
 * the stand-in (xen_standin.c): the xenbus state machine as libxl and
 * Linux xen-tpmfront drive it, and the tpmif v2 shared page.
 *
 * The backend runs as in vtpm_managerd: xen_backend_open() registers its
 * fds with the real ev_set (manager/loop.c) on an epoll set, and this file
 * dispatches the events as main.c's run_loop does.  The rest of the manager
 * is a small fake (the functions xen_backend.c calls: vtpm_find_uuid,
 * vtpm_submit, ...): requests are queued here and answered through their
 * completion (struct req done), exactly as queue.c answers them.  Frontends
 * are separate stand-in domains; the TPM exchanges run in a thread of their
 * own, sharing the page with the backend's thread.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "manager/mgr.h"
#include "manager/xen_backend.h"
#include "util/ctrl_proto.h"
#include "util/log.h"
#include "util/tpm_frame.h"
#include "util/uuid.h"
#include "xen_standin.h"

#define UUID1 "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f1"
#define UUID2 "0a1b2c3d-4e5f-4607-8819-2a3b4c5d6e7f"
#define UUID_UNKNOWN "11111111-2222-4333-8444-555555555555"
#define FAKE_VTPMD_FD 1000 /* "a vtpmd runs" for vtpm_has_vtpmd; never used as an fd */

/* ------------------------------------------------------------------ */
/* The fake manager: what xen_backend.c calls outside itself.          */

static struct {
	struct req *q[64];
	struct vtpm *qv[64];
	unsigned n;
	unsigned stops;      /* plain stops: a guest's removal must never make one */
	unsigned power_offs; /* vtpm_power_off: a removal (reboot, shutdown, destroy) */
	unsigned creates;    /* vtpm_create (xen_autocreate) */
	unsigned spawns;     /* vtpm_spawn: launch on open */
	int fail_spawn;
	int fail_create;
	unsigned cancels;
	int fail_submit; /* behave like supervise.c when the vtpmd cannot start */
	int hold;        /* do not answer TPM requests by themselves */
	uint8_t last_cmd[TPM_FRAME_MAX];
	size_t last_len;
} fk;

struct vtpm *
vtpm_find_uuid(struct mgr *m, const uint8_t uuid[UUID_LEN])
{
	for (struct vtpm *v = m->vtpms; v != NULL; v = v->next)
		if (memcmp(v->me.uuid, uuid, UUID_LEN) == 0)
			return v;
	return NULL;
}

void
vtpm_request_stop(struct mgr *m, struct vtpm *v)
{
	(void)m;
	fk.stops++;
	v->ch.fd = -1;
}

int
vtpm_spawn(struct mgr *m, struct vtpm *v, int autostart)
{
	(void)m;
	ck_assert_int_eq(autostart, 1); /* xen-tpmfront never sends Startup */
	if (fk.fail_spawn) {
		snprintf(v->reason, sizeof(v->reason), "crash loop");
		return -1;
	}
	fk.spawns++;
	v->ch.fd = FAKE_VTPMD_FD;
	return 0;
}

void
vtpm_power_off(struct mgr *m, struct vtpm *v)
{
	(void)m;
	fk.power_offs++;
	v->ch.fd = -1;
}

struct vtpm *
vtpm_create(struct mgr *m, const uint8_t uuid[UUID_LEN], int tpm_version, uint32_t owner_uid,
	    uint32_t owner_gid, struct stop_wait waiter, char *err, size_t errlen)
{
	ck_assert(waiter.done == NULL); /* the backend goes on at once */
	ck_assert_uint_eq(owner_uid, MANIFEST_NO_OWNER); /* the socket group's, as vtpmctl's default */
	ck_assert_uint_eq(owner_gid, MANIFEST_NO_OWNER);
	struct vtpm *v;

	if (fk.fail_create) {
		snprintf(err, errlen, "saving its record failed");
		return NULL;
	}
	if ((v = calloc(1, sizeof(*v))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memcpy(v->me.uuid, uuid, UUID_LEN);
	v->me.tpm_version = (uint8_t)tpm_version;
	uuid_format(v->me.uuid, v->uuid_str);
	v->ch.fd = -1;
	v->next = m->vtpms;
	m->vtpms = v;
	fk.creates++;
	return v;
}

uint32_t
vtpm_cancel(struct mgr *m, struct vtpm *v)
{
	(void)m;
	(void)v;
	fk.cancels++;
	return 0;
}

struct req *
req_new(enum req_kind kind, req_done_fn *done, uint64_t tag)
{
	struct req *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->kind = kind;
	r->done = done;
	r->tag = tag;
	buf_init(&r->payload, CHAN_MAX_PAYLOAD);
	return r;
}

void
req_free(struct req *r)
{
	if (r == NULL)
		return;
	buf_free(&r->payload);
	free(r);
}

void
vtpm_submit(struct mgr *m, struct vtpm *v, struct req *r)
{
	/* A TPM command's answer goes back to the ring; nobody waits for a
	 * control request's. */
	ck_assert(r->kind == REQ_TPM ? r->done != NULL : r->done == NULL);
	r->v = v;
	if (fk.fail_submit) {
		/* queue.c's req_fail for a TPM request. */
		uint8_t err[TPM_HDR_SIZE];

		tpm_frame_error(err, buf_ptr(&r->payload), buf_avail(&r->payload),
				v->me.tpm_version == 2,
				tpm_frame_fail_code(buf_ptr(&r->payload), buf_avail(&r->payload),
						    v->me.tpm_version == 2));
		if (r->kind == REQ_TPM)
			r->done(m, r, err, sizeof(err), 1);
		req_free(r);
		return;
	}
	ck_assert_uint_lt(fk.n, 64);
	if (r->kind == REQ_TPM) {
		fk.last_len = buf_avail(&r->payload);
		memcpy(fk.last_cmd, buf_ptr(&r->payload), fk.last_len);
	}
	fk.q[fk.n] = r;
	fk.qv[fk.n++] = v;
	v->ch.fd = FAKE_VTPMD_FD; /* the first request starts a vtpmd */
}

/* The fake vtpmd: GetRandom returns 0x5a bytes, anything else success. */
static size_t
fake_tpm(const uint8_t *cmd, size_t len, uint8_t *out, size_t outmax)
{
	uint16_t n;

	if (len >= 12 && be32_get(cmd + 6) == 0x17b) {
		n = be16_get(cmd + 10);
		ck_assert_uint_le(12u + n, outmax);
		be16_put(out, TPM2_ST_NO_SESSIONS);
		be32_put(out + 2, 12u + n);
		be32_put(out + 6, 0);
		be16_put(out + 10, n);
		memset(out + 12, 0x5a, n);
		return 12u + n;
	}
	be16_put(out, be16_get(cmd) == TPM12_TAG_RQU_COMMAND ? TPM12_TAG_RSP_COMMAND
							    : TPM2_ST_NO_SESSIONS);
	be32_put(out + 2, 10);
	be32_put(out + 6, 0);
	return 10;
}

/* Answers every queued request, oldest first, as supervise.c would. */
static void
fake_answer_all(struct mgr *m)
{
	static uint8_t out[TPM_FRAME_MAX];

	for (unsigned i = 0; i < fk.n; i++) {
		struct req *r = fk.q[i];

		if (r->kind == REQ_TPM) {
			size_t n = fake_tpm(buf_ptr(&r->payload), buf_avail(&r->payload), out,
					    sizeof(out));
			r->done(m, r, out, n, 0);
		}
		req_free(r);
	}
	fk.n = 0;
}

/* ------------------------------------------------------------------ */
/* Harness: the manager's loop, a toolstack, frontends.                */

struct h {
	struct standin *w;
	struct mgr *m;
	struct xen_if tool; /* the toolstack's own xenstore connection */
	struct vtpm *v1, *v2;
};

static struct h H;

static struct vtpm *
mk_vtpm(struct mgr *m, const char *uuid, int version)
{
	struct vtpm *v = calloc(1, sizeof(*v));

	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(uuid_parse(uuid, v->me.uuid), 0);
	v->me.tpm_version = (uint8_t)version;
	uuid_format(v->me.uuid, v->uuid_str);
	v->ch.fd = -1;
	v->next = m->vtpms;
	m->vtpms = v;
	return v;
}

static uint64_t
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* One turn of main.c's run_loop. */
static void
loop_once(int timeout_ms)
{
	struct epoll_event evs[16];
	int n = epoll_wait(H.m->epfd, evs, 16, timeout_ms);

	for (int i = 0; i < n; i++) {
		struct ev *e = evs[i].data.ptr;

		e->cb(H.m, e, evs[i].events);
	}
	if (!fk.hold)
		fake_answer_all(H.m);
}

static int
pump_until(int (*pred)(void *), void *arg, int timeout_ms)
{
	uint64_t end = ms_now() + (uint64_t)timeout_ms;

	for (;;) {
		if (pred != NULL && pred(arg))
			return 1;
		if (ms_now() > end)
			return pred == NULL;
		loop_once(5);
	}
}

static void
pump(int ms)
{
	(void)pump_until(NULL, NULL, ms);
}

static int
queued_is(void *arg)
{
	return fk.n == *(unsigned *)arg;
}

/* Until the fake vTPM holds n requests. */
static void
wait_queued(unsigned n)
{
	ck_assert_msg(pump_until(queued_is, &n, 3000), "%u requests queued, expected %u", fk.n,
		      n);
}

static int
no_mappings(void *arg)
{
	return standin_mappings(arg) == 0;
}

static int
one_mapping(void *arg)
{
	return standin_mappings(arg) == 1;
}

static int
page_idle(void *arg)
{
	struct xen_tpmif_page *pg = arg;

	return __atomic_load_n(&pg->state, __ATOMIC_ACQUIRE) == XEN_TPMIF_IDLE;
}

#define BE_FMT "/local/domain/0/backend/vtpm/%u/%u"
#define FE_FMT "/local/domain/%u/device/vtpm/%u"

/* A node of device fe/dev's backend directory, as the toolstack reads it. */
static char *
be_read(unsigned fe, unsigned dev, const char *key)
{
	char full[300];

	snprintf(full, sizeof(full), BE_FMT "/%s", fe, dev, key);
	return H.tool.xs_read(H.tool.ctx, full);
}

static int
be_state(unsigned fe, unsigned dev)
{
	char *s = be_read(fe, dev, "state");
	int st = s != NULL ? atoi(s) : -1;

	free(s);
	return st;
}

struct st_wait {
	unsigned fe, dev;
	int st;
};

static int
be_state_is(void *arg)
{
	struct st_wait *sw = arg;

	return be_state(sw->fe, sw->dev) == sw->st;
}

static void
wait_be_state(unsigned fe, unsigned dev, int st)
{
	struct st_wait sw = { fe, dev, st };

	ck_assert_msg(pump_until(be_state_is, &sw, 3000),
		      "backend %u/%u: state %d, expected %d", fe, dev, be_state(fe, dev), st);
}

/* libxl__device_generic_add: backend and frontend directories in one
 * transaction (uuid NULL: no uuid node). */
static void
tool_add(unsigned fe, unsigned dev, const char *uuid)
{
	char be[128], fp[128], feid[16], devs[16];
	char k[10][160];
	const char *kv[24];
	size_t n = 0;

	snprintf(be, sizeof(be), BE_FMT, fe, dev);
	snprintf(fp, sizeof(fp), FE_FMT, fe, dev);
	snprintf(feid, sizeof(feid), "%u", fe);
	snprintf(devs, sizeof(devs), "%u", dev);
#define KV(i, dir, key, val)                                                 \
	do {                                                                 \
		snprintf(k[i], sizeof(k[i]), "%s/%s", dir, key);              \
		kv[2 * n] = k[i];                                            \
		kv[2 * n + 1] = val;                                         \
		n++;                                                         \
	} while (0)
	KV(0, be, "frontend", fp);
	KV(1, be, "frontend-id", feid);
	KV(2, be, "online", "1");
	KV(3, be, "state", "1");
	KV(4, be, "handle", devs);
	KV(5, be, "resume", "False");
	KV(6, fp, "backend", be);
	KV(7, fp, "backend-id", "0");
	KV(8, fp, "state", "1");
	if (uuid != NULL)
		KV(9, be, "uuid", uuid);
#undef KV
	ck_assert_int_eq(standin_xs_write_txn(H.w, kv, n), 0);
}

/* libxl__initiate_device_generic_remove, then libxl__device_destroy. */
static void
tool_remove(unsigned fe, unsigned dev)
{
	char be[128], fp[128], k1[160], k2[160];
	const char *kv[4];

	snprintf(be, sizeof(be), BE_FMT, fe, dev);
	snprintf(fp, sizeof(fp), FE_FMT, fe, dev);
	snprintf(k1, sizeof(k1), "%s/online", be);
	snprintf(k2, sizeof(k2), "%s/state", be);
	kv[0] = k1;
	kv[1] = "0";
	kv[2] = k2;
	kv[3] = "5";
	ck_assert_int_eq(standin_xs_write_txn(H.w, kv, be_state(fe, dev) == 6 ? 1 : 2), 0);
	wait_be_state(fe, dev, 6);
	ck_assert_int_eq(standin_xs_rm(H.w, fp), 0);
	ck_assert_int_eq(standin_xs_rm(H.w, be), 0);
	pump(30);
}

struct fe {
	unsigned domid, devid;
	struct xen_if xi;
	char path[128];
	struct xen_tpmif_page *page;
	uint32_t ref;
	int port;
};

static void
fe_write(struct fe *f, const char *key, const char *val)
{
	char p[200];

	snprintf(p, sizeof(p), "%s/%s", f->path, key);
	ck_assert_int_eq(f->xi.xs_write(f->xi.ctx, p, val), 0);
}

static void
fe_init(struct fe *f, unsigned domid, unsigned devid)
{
	memset(f, 0, sizeof(*f));
	f->domid = domid;
	f->devid = devid;
	f->port = -1;
	snprintf(f->path, sizeof(f->path), FE_FMT, domid, devid);
	ck_assert_int_eq(standin_open(H.w, domid, &f->xi), 0);
}

/* xen-tpmfront's setup_ring: grant a page, allocate a port, publish them,
 * go Initialised.  Does not wait. */
static void
fe_publish(struct fe *f, const char *v2)
{
	char s[32];

	if (f->page == NULL)
		f->page = standin_page_alloc();
	ck_assert_ptr_nonnull(f->page);
	f->ref = standin_grant(H.w, f->domid, 0, f->page);
	f->port = standin_evtchn_alloc_unbound(&f->xi, 0);
	ck_assert_int_gt(f->port, 0);
	snprintf(s, sizeof(s), "%u", f->ref);
	fe_write(f, "ring-ref", s);
	snprintf(s, sizeof(s), "%d", f->port);
	fe_write(f, "event-channel", s);
	fe_write(f, "feature-protocol-v2", v2);
	fe_write(f, "state", "3");
}

static void
fe_setup_ring(struct fe *f)
{
	fe_publish(f, "1");
}

/* ... and backend_changed(Connected): check v2, go Connected. */
static void
fe_connect(struct fe *f)
{
	char *v2;

	fe_setup_ring(f);
	wait_be_state(f->domid, f->devid, XEN_BUS_CONNECTED);
	v2 = be_read(f->domid, f->devid, "feature-protocol-v2");
	ck_assert_ptr_nonnull(v2);
	ck_assert_str_eq(v2, "1");
	free(v2);
	fe_write(f, "state", "4");
	pump(20);
}

/* The frontend goes away (rmmod, or the kernel shutting down). */
static void
fe_disconnect(struct fe *f)
{
	fe_write(f, "state", "5");
	wait_be_state(f->domid, f->devid, XEN_BUS_CLOSING);
	fe_write(f, "state", "6");
	wait_be_state(f->domid, f->devid, XEN_BUS_INITWAIT);
	/* The backend has let go of the page: the grant can be revoked. */
	ck_assert_int_eq(standin_grant_end(H.w, f->ref), 0);
	ck_assert_int_eq(f->xi.evtchn_unbind(f->xi.ctx, (uint32_t)f->port), 0);
	f->port = -1;
	memset(f->page, 0, XEN_PAGE_SIZE);
}

static void
fe_free(struct fe *f)
{
	if (f->xi.close != NULL)
		f->xi.close(f->xi.ctx);
	free(f->page);
	memset(f, 0, sizeof(*f));
}

/* One TPM exchange in the frontend's thread, as vtpm_send/vtpm_recv. */
struct xfer {
	struct fe *f;
	uint8_t cmd[XEN_PAGE_SIZE];
	size_t copy;        /* bytes put in the page */
	uint32_t length;    /* value of the length field */
	uint8_t locality;
	int cancel;         /* send CANCEL once `go_cancel` is set */
	volatile int go_cancel;
	volatile int cancel_sent;
	volatile int submitted;
	/* results */
	int final_state;    /* FINISH, IDLE, or -1 on timeout */
	uint8_t resp[XEN_PAGE_SIZE];
	uint32_t resp_len;
	volatile int done;
};

static int
wait_evtchn(struct fe *f, int ms)
{
	struct pollfd p = { .fd = f->xi.evtchn_fd(f->xi.ctx), .events = POLLIN };
	int port;

	if (poll(&p, 1, ms) <= 0)
		return 0;
	while ((port = f->xi.evtchn_pending(f->xi.ctx)) >= 0)
		(void)f->xi.evtchn_unmask(f->xi.ctx, (uint32_t)port);
	return 1;
}

static void *
xfer_thread(void *arg)
{
	struct xfer *x = arg;
	struct fe *f = x->f;
	struct xen_tpmif_page *pg = f->page;
	uint64_t end = ms_now() + 3000;
	int st;

	/* Wait for IDLE or FINISH (vtpm_send's first wait). */
	while ((st = __atomic_load_n(&pg->state, __ATOMIC_ACQUIRE)) != XEN_TPMIF_IDLE &&
	       st != XEN_TPMIF_FINISH) {
		if (ms_now() > end) {
			x->final_state = -1;
			x->done = 1;
			return NULL;
		}
		(void)wait_evtchn(f, 10);
	}
	memcpy((uint8_t *)pg + sizeof(*pg), x->cmd, x->copy);
	pg->length = x->length;
	pg->locality = x->locality;
	__atomic_store_n(&pg->state, XEN_TPMIF_SUBMIT, __ATOMIC_RELEASE);
	(void)f->xi.evtchn_notify(f->xi.ctx, (uint32_t)f->port);
	x->submitted = 1;
	if (x->cancel) {
		while (!x->go_cancel)
			usleep(1000);
		__atomic_store_n(&pg->state, XEN_TPMIF_CANCEL, __ATOMIC_RELEASE);
		(void)f->xi.evtchn_notify(f->xi.ctx, (uint32_t)f->port);
		x->cancel_sent = 1;
	}
	end = ms_now() + 3000;
	for (;;) {
		st = __atomic_load_n(&pg->state, __ATOMIC_ACQUIRE);
		if (st == XEN_TPMIF_FINISH || st == XEN_TPMIF_IDLE)
			break;
		if (ms_now() > end) {
			st = -1;
			break;
		}
		(void)wait_evtchn(f, 10);
	}
	x->final_state = st;
	if (st == XEN_TPMIF_FINISH) {
		x->resp_len = pg->length;
		ck_assert_uint_le(x->resp_len, XEN_PAGE_SIZE - sizeof(*pg));
		memcpy(x->resp, (uint8_t *)pg + sizeof(*pg), x->resp_len);
	}
	x->done = 1;
	return NULL;
}

static int
xfer_done(void *arg)
{
	return ((struct xfer *)arg)->done;
}

static int
xfer_submitted(void *arg)
{
	return ((struct xfer *)arg)->submitted;
}

static int
xfer_cancel_sent(void *arg)
{
	return ((struct xfer *)arg)->cancel_sent;
}

static void
xfer_run(struct xfer *x)
{
	pthread_t t;

	ck_assert_int_eq(pthread_create(&t, NULL, xfer_thread, x), 0);
	ck_assert(pump_until(xfer_done, x, 5000));
	pthread_join(t, NULL);
}

static void
getrandom_cmd(struct xfer *x, uint16_t n)
{
	be16_put(x->cmd, TPM2_ST_NO_SESSIONS);
	be32_put(x->cmd + 2, 12);
	be32_put(x->cmd + 6, 0x17b);
	be16_put(x->cmd + 10, n);
	x->copy = 12;
	x->length = 12;
}

/* A GetRandom through the page; checks the answer. */
static void
exchange_getrandom(struct fe *f, uint16_t n)
{
	struct xfer *x = calloc(1, sizeof(*x));

	ck_assert_ptr_nonnull(x);
	x->f = f;
	getrandom_cmd(x, n);
	xfer_run(x);
	ck_assert_int_eq(x->final_state, XEN_TPMIF_FINISH);
	ck_assert_uint_eq(x->resp_len, 12u + n);
	ck_assert_uint_eq(be16_get(x->resp), TPM2_ST_NO_SESSIONS);
	ck_assert_uint_eq(be32_get(x->resp + 2), 12u + n);
	ck_assert_uint_eq(be32_get(x->resp + 6), 0);
	ck_assert_uint_eq(be16_get(x->resp + 10), n);
	for (unsigned i = 0; i < n; i++)
		ck_assert_uint_eq(x->resp[12 + i], 0x5a);
	/* The vTPM got the guest's command, byte for byte. */
	ck_assert_uint_eq(fk.last_len, 12);
	ck_assert_mem_eq(fk.last_cmd, x->cmd, 12);
	free(x);
}

static void
setup(void)
{
	struct xen_if bxi;
	char err[256];

	memset(&fk, 0, sizeof(fk));
	memset(&H, 0, sizeof(H));
	log_init("xen-test", LOG_LVL_ERROR, LOGM_ALL, 0);
	H.w = standin_new();
	ck_assert_ptr_nonnull(H.w);
	H.m = calloc(1, sizeof(*H.m));
	ck_assert_ptr_nonnull(H.m);
	H.m->epfd = epoll_create1(EPOLL_CLOEXEC);
	ck_assert_int_ge(H.m->epfd, 0);
	ck_assert_int_eq(standin_open(H.w, 0, &H.tool), 0);
	H.v1 = mk_vtpm(H.m, UUID1, 2);
	H.v2 = mk_vtpm(H.m, UUID2, 1);
	ck_assert_int_eq(standin_open(H.w, 0, &bxi), 0);
	ck_assert_msg(xen_backend_open(H.m, &bxi, err, sizeof(err)) == 0, "%s", err);
	ck_assert_ptr_nonnull(H.m->xen);
	pump(20);
}

static void
teardown(void)
{
	xen_backend_close(H.m);
	ck_assert_ptr_null(H.m->xen);
	ck_assert_uint_eq(standin_mappings(H.w), 0);
	ck_assert_uint_eq(standin_bound_pairs(H.w), 0);
	for (unsigned i = 0; i < fk.n; i++)
		req_free(fk.q[i]);
	while (H.m->vtpms != NULL) {
		struct vtpm *v = H.m->vtpms;

		H.m->vtpms = v->next;
		free(v);
	}
	H.tool.close(H.tool.ctx);
	close(H.m->epfd);
	free(H.m);
	standin_free(H.w);
}

/* ------------------------------------------------------------------ */

START_TEST(test_state_machine)
{
	struct fe f;
	char *s;

	tool_add(5, 0, UUID1);
	wait_be_state(5, 0, XEN_BUS_INITWAIT);
	/* A new device: a volatile state left for a guest that is gone is
	 * discarded (the vTPM is off: vtpm_power_off only deletes it). */
	ck_assert_uint_eq(fk.power_offs, 1);
	s = be_read(5, 0, "feature-protocol-v2");
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "1");
	free(s);

	fe_init(&f, 5, 0);
	fe_connect(&f);
	ck_assert_uint_eq(standin_mappings(H.w), 1);
	ck_assert_uint_eq(standin_bound_pairs(H.w), 1);
	exchange_getrandom(&f, 16);

	/* Frontend Closing/Closed: unmapped, unbound, InitWait again. */
	fe_disconnect(&f);
	ck_assert_uint_eq(standin_mappings(H.w), 0);
	ck_assert_uint_eq(standin_bound_pairs(H.w), 0);
	ck_assert_uint_eq(fk.power_offs, 1); /* the guest still runs: no power cycle */

	/* Reconnect with a fresh page and port (a resume, a module reload). */
	fe_connect(&f);
	ck_assert_uint_eq(standin_mappings(H.w), 1);
	exchange_getrandom(&f, 32);

	/* libxl removes the device (the guest rebooted, shut down or was
	 * destroyed): Closed, unmapped, and the vTPM powered off, not merely
	 * stopped: a plain stop keeps the volatile state (PCRs) for the next
	 * start of an autostarted TPM, which xen-tpmfront's always is. */
	tool_remove(5, 0);
	ck_assert_uint_eq(standin_mappings(H.w), 0);
	ck_assert_uint_eq(standin_bound_pairs(H.w), 0);
	ck_assert_uint_eq(fk.power_offs, 2);
	ck_assert_uint_eq(fk.stops, 0);
	ck_assert_int_eq(standin_grant_end(H.w, f.ref), 0);
	fe_free(&f);
}
END_TEST

START_TEST(test_getrandom_exchange)
{
	struct fe f;

	tool_add(7, 0, UUID1);
	wait_be_state(7, 0, XEN_BUS_INITWAIT);
	fe_init(&f, 7, 0);
	fe_connect(&f);
	for (int i = 0; i < 20; i++)
		exchange_getrandom(&f, (uint16_t)(1 + i * 50));
	tool_remove(7, 0);
	fe_free(&f);
}
END_TEST

/* Linux submits its first command (tpm_get_timeouts) right after going
 * Initialised, before the backend has bound the channel: that notification
 * is lost, and the backend must look at the page when it connects. */
START_TEST(test_submit_before_connect)
{
	struct fe f;
	struct xfer *x = calloc(1, sizeof(*x));
	pthread_t t;

	fk.hold = 1;
	tool_add(8, 0, UUID1);
	wait_be_state(8, 0, XEN_BUS_INITWAIT);
	fe_init(&f, 8, 0);
	f.page = standin_page_alloc();
	x->f = &f;
	getrandom_cmd(x, 8);
	/* Page and port exist, nothing published yet. */
	f.ref = standin_grant(H.w, 8, 0, f.page);
	f.port = standin_evtchn_alloc_unbound(&f.xi, 0);
	ck_assert_int_eq(pthread_create(&t, NULL, xfer_thread, x), 0);
	while (!x->submitted)
		usleep(1000);
	pump(30);
	ck_assert_uint_eq(fk.n, 0);
	{
		char s[32];

		snprintf(s, sizeof(s), "%u", f.ref);
		fe_write(&f, "ring-ref", s);
		snprintf(s, sizeof(s), "%d", f.port);
		fe_write(&f, "event-channel", s);
		fe_write(&f, "feature-protocol-v2", "1");
		fe_write(&f, "state", "3");
	}
	wait_be_state(8, 0, XEN_BUS_CONNECTED);
	ck_assert_uint_eq(fk.n, 1);
	fk.hold = 0;
	ck_assert(pump_until(xfer_done, x, 3000));
	pthread_join(t, NULL);
	ck_assert_int_eq(x->final_state, XEN_TPMIF_FINISH);
	ck_assert_uint_eq(x->resp_len, 20);
	free(x);
	tool_remove(8, 0);
	fe_free(&f);
}
END_TEST

START_TEST(test_cancel)
{
	struct fe f;
	struct xfer *x = calloc(1, sizeof(*x));
	pthread_t t;
	uint32_t len_before;

	tool_add(9, 0, UUID1);
	wait_be_state(9, 0, XEN_BUS_INITWAIT);
	fe_init(&f, 9, 0);
	fe_connect(&f);

	/* Cancel while the vTPM works: nothing until it is done, then IDLE,
	 * and the response is dropped. */
	fk.hold = 1;
	x->f = &f;
	getrandom_cmd(x, 64);
	x->cancel = 1;
	ck_assert_int_eq(pthread_create(&t, NULL, xfer_thread, x), 0);
	ck_assert(pump_until(xfer_submitted, x, 3000));
	wait_queued(1); /* the command is at the vTPM */
	fk.cancels = 0;
	x->go_cancel = 1;
	ck_assert(pump_until(xfer_cancel_sent, x, 3000));
	pump(30);
	ck_assert_uint_eq(fk.cancels, 1); /* passed on to the vtpmd */
	ck_assert_int_eq(__atomic_load_n(&f.page->state, __ATOMIC_ACQUIRE), XEN_TPMIF_CANCEL);
	ck_assert(!x->done);
	len_before = f.page->length;
	fake_answer_all(H.m); /* the vtpmd finishes the command */
	fk.hold = 0;
	ck_assert(pump_until(xfer_done, x, 3000));
	pthread_join(t, NULL);
	ck_assert_int_eq(x->final_state, XEN_TPMIF_IDLE);
	ck_assert_uint_eq(f.page->length, len_before); /* no response written */
	ck_assert_uint_eq(be32_get((uint8_t *)f.page + 8 + 6), 0x17b); /* still the command */

	/* The next command works as usual. */
	exchange_getrandom(&f, 4);

	/* CANCEL while idle is acknowledged at once, and reaches no vTPM. */
	fk.hold = 1;
	__atomic_store_n(&f.page->state, XEN_TPMIF_CANCEL, __ATOMIC_RELEASE);
	ck_assert_int_eq(f.xi.evtchn_notify(f.xi.ctx, (uint32_t)f.port), 0);
	ck_assert(pump_until(page_idle, f.page, 3000));
	ck_assert_uint_eq(fk.n, 0);
	ck_assert_uint_eq(fk.cancels, 1); /* an idle CANCEL signals nothing */
	fk.hold = 0;
	free(x);
	tool_remove(9, 0);
	fe_free(&f);
}
END_TEST

/* A malformed request gets a 10-byte TPM error and reaches no vTPM. */
static void
expect_size_error(struct fe *f, const uint8_t *cmd, size_t copy, uint32_t length,
		  uint16_t want_tag, uint32_t want_rc)
{
	struct xfer *x = calloc(1, sizeof(*x));

	ck_assert_ptr_nonnull(x);
	x->f = f;
	memcpy(x->cmd, cmd, copy);
	x->copy = copy;
	x->length = length;
	fk.hold = 1;
	xfer_run(x);
	ck_assert_uint_eq(fk.n, 0);
	fk.hold = 0;
	ck_assert_int_eq(x->final_state, XEN_TPMIF_FINISH);
	ck_assert_uint_eq(x->resp_len, TPM_HDR_SIZE);
	ck_assert_uint_eq(be16_get(x->resp), want_tag);
	ck_assert_uint_eq(be32_get(x->resp + 2), TPM_HDR_SIZE);
	ck_assert_uint_eq(be32_get(x->resp + 6), want_rc);
	free(x);
}

START_TEST(test_malformed_length)
{
	struct fe f;
	static uint8_t cmd[XEN_PAGE_SIZE];
	const size_t room = XEN_PAGE_SIZE - sizeof(struct xen_tpmif_page);

	tool_add(10, 0, UUID1);
	wait_be_state(10, 0, XEN_BUS_INITWAIT);
	fe_init(&f, 10, 0);
	fe_connect(&f);

	memset(cmd, 0xee, sizeof(cmd));
	be16_put(cmd, TPM2_ST_NO_SESSIONS);
	be32_put(cmd + 6, 0x17b);
	/* Longer than the page (never read beyond it). */
	be32_put(cmd + 2, 5000);
	expect_size_error(&f, cmd, room, 5000, TPM2_ST_NO_SESSIONS, TPM2_RC_COMMAND_SIZE);
	expect_size_error(&f, cmd, room, 0xffffffffu, TPM2_ST_NO_SESSIONS, TPM2_RC_COMMAND_SIZE);
	/* One byte more than the page holds after the header. */
	be32_put(cmd + 2, (uint32_t)room + 1);
	expect_size_error(&f, cmd, room, (uint32_t)room + 1, TPM2_ST_NO_SESSIONS,
			  TPM2_RC_COMMAND_SIZE);
	/* Shorter than a TPM header. */
	be32_put(cmd + 2, 4);
	expect_size_error(&f, cmd, 4, 4, TPM2_ST_NO_SESSIONS, TPM2_RC_COMMAND_SIZE);
	expect_size_error(&f, cmd, 0, 0, TPM2_ST_NO_SESSIONS, TPM2_RC_COMMAND_SIZE);
	be32_put(cmd + 2, 9);
	expect_size_error(&f, cmd, 9, 9, TPM2_ST_NO_SESSIONS, TPM2_RC_COMMAND_SIZE);
	/* The header's size and the page's length disagree, both ways. */
	be32_put(cmd + 2, 12);
	expect_size_error(&f, cmd, 14, 14, TPM2_ST_NO_SESSIONS, TPM2_RC_COMMAND_SIZE);
	be32_put(cmd + 2, 14);
	expect_size_error(&f, cmd, 12, 12, TPM2_ST_NO_SESSIONS, TPM2_RC_COMMAND_SIZE);
	/* A 1.2 command gets a 1.2 error. */
	be16_put(cmd, TPM12_TAG_RQU_COMMAND);
	be32_put(cmd + 2, 30);
	expect_size_error(&f, cmd, 10, 10, TPM12_TAG_RSP_COMMAND, TPM12_BAD_PARAM_SIZE);
	/* The largest request that fits is passed on. */
	be16_put(cmd, TPM2_ST_NO_SESSIONS);
	be32_put(cmd + 2, (uint32_t)room);
	be32_put(cmd + 6, 0x144);
	{
		struct xfer *x = calloc(1, sizeof(*x));

		x->f = &f;
		memcpy(x->cmd, cmd, room);
		x->copy = room;
		x->length = (uint32_t)room;
		xfer_run(x);
		ck_assert_int_eq(x->final_state, XEN_TPMIF_FINISH);
		ck_assert_uint_eq(fk.last_len, room);
		ck_assert_mem_eq(fk.last_cmd, cmd, room);
		free(x);
	}
	/* And the device still works. */
	exchange_getrandom(&f, 10);
	tool_remove(10, 0);
	fe_free(&f);
}
END_TEST

static void
expect_refused(unsigned fe, unsigned dev, const char *needle)
{
	char *e;

	wait_be_state(fe, dev, XEN_BUS_CLOSED);
	e = be_read(fe, dev, "error");
	ck_assert_ptr_nonnull(e);
	ck_assert_msg(strstr(e, needle) != NULL, "error node '%s' lacks '%s'", e, needle);
	free(e);
}

START_TEST(test_unknown_uuid)
{
	struct fe f;

	tool_add(11, 0, UUID_UNKNOWN);
	expect_refused(11, 0, "not defined");
	/* A frontend that connects anyway is not mapped. */
	fe_init(&f, 11, 0);
	fe_setup_ring(&f);
	pump(50);
	ck_assert_int_eq(be_state(11, 0), XEN_BUS_CLOSED);
	ck_assert_uint_eq(standin_mappings(H.w), 0);
	ck_assert_uint_eq(fk.n, 0);

	tool_add(12, 0, NULL);
	expect_refused(12, 0, "no uuid");
	tool_add(13, 0, "not-a-uuid");
	expect_refused(13, 0, "is not a UUID");
	tool_remove(11, 0);
	tool_remove(12, 0);
	tool_remove(13, 0);
	fe_free(&f);
}
END_TEST

START_TEST(test_uuid_twice)
{
	struct fe a;

	tool_add(20, 0, UUID1);
	wait_be_state(20, 0, XEN_BUS_INITWAIT);
	fe_init(&a, 20, 0);
	fe_connect(&a);
	/* A second guest naming the same vTPM is refused... */
	tool_add(21, 0, UUID1);
	expect_refused(21, 0, "already open by /local/domain/0/backend/vtpm/20/0");
	/* ... and so is a second device of the same guest. */
	tool_add(20, 1, UUID1);
	expect_refused(20, 1, "already open");
	/* Another vTPM is fine. */
	tool_add(22, 0, UUID2);
	wait_be_state(22, 0, XEN_BUS_INITWAIT);
	exchange_getrandom(&a, 8);
	/* Once the first guest's device is gone, the vTPM is free again. */
	tool_remove(20, 0);
	tool_remove(21, 0);
	tool_remove(20, 1);
	tool_add(23, 0, UUID1);
	wait_be_state(23, 0, XEN_BUS_INITWAIT);
	tool_remove(23, 0);
	tool_remove(22, 0);
	fe_free(&a);
}
END_TEST

START_TEST(test_locality)
{
	struct fe f;
	struct xfer *x = calloc(1, sizeof(*x));

	tool_add(30, 0, UUID1);
	wait_be_state(30, 0, XEN_BUS_INITWAIT);
	fe_init(&f, 30, 0);
	fe_connect(&f);
	ck_assert_uint_eq(fk.spawns, 1); /* launched when the device opened */

	/* No vtpmd (an operator stopped it, or it crashed): the locality is
	 * remembered for its next start. */
	H.v1->ch.fd = -1;
	x->f = &f;
	getrandom_cmd(x, 4);
	x->locality = 2;
	fk.hold = 1;
	{
		pthread_t t;

		ck_assert_int_eq(pthread_create(&t, NULL, xfer_thread, x), 0);
		ck_assert(pump_until(xfer_submitted, x, 3000));
		wait_queued(1);
		ck_assert_int_eq(fk.q[0]->kind, REQ_TPM);
		ck_assert_uint_eq(H.v1->locality, 2);
		fk.hold = 0;
		ck_assert(pump_until(xfer_done, x, 3000));
		pthread_join(t, NULL);
	}
	/* A running vtpmd gets SET_LOCALITY first, in order. */
	memset(x, 0, sizeof(*x));
	x->f = &f;
	getrandom_cmd(x, 4);
	x->locality = 3;
	fk.hold = 1;
	{
		pthread_t t;

		ck_assert_int_eq(pthread_create(&t, NULL, xfer_thread, x), 0);
		ck_assert(pump_until(xfer_submitted, x, 3000));
		wait_queued(2);
		ck_assert_int_eq(fk.q[0]->kind, REQ_CTRL);
		ck_assert_uint_eq(fk.q[0]->cmd, CMD_SET_LOCALITY);
		ck_assert_uint_eq(buf_avail(&fk.q[0]->payload), 5);
		ck_assert_uint_eq(be32_get(buf_ptr(&fk.q[0]->payload)), CMD_SET_LOCALITY);
		ck_assert_uint_eq(buf_ptr(&fk.q[0]->payload)[4], 3);
		ck_assert_int_eq(fk.q[1]->kind, REQ_TPM);
		fk.hold = 0;
		ck_assert(pump_until(xfer_done, x, 3000));
		pthread_join(t, NULL);
		ck_assert_int_eq(x->final_state, XEN_TPMIF_FINISH);
	}
	/* Locality 5 and up does not exist. */
	memset(x, 0, sizeof(*x));
	x->f = &f;
	getrandom_cmd(x, 4);
	x->locality = 9;
	fk.hold = 1;
	xfer_run(x);
	ck_assert_uint_eq(fk.n, 0);
	fk.hold = 0;
	ck_assert_int_eq(x->final_state, XEN_TPMIF_FINISH);
	ck_assert_uint_eq(x->resp_len, 10);
	ck_assert_uint_eq(be32_get(x->resp + 6), 0x907);
	free(x);
	tool_remove(30, 0);
	fe_free(&f);
}
END_TEST

/* A response that comes back after the frontend went away is dropped, and
 * a vtpmd that cannot start answers with a TPM error at once. */
START_TEST(test_stale_and_failed)
{
	struct fe f;
	struct xfer *x = calloc(1, sizeof(*x));
	pthread_t t;

	tool_add(40, 0, UUID1);
	wait_be_state(40, 0, XEN_BUS_INITWAIT);
	fe_init(&f, 40, 0);
	fe_connect(&f);
	fk.hold = 1;
	x->f = &f;
	getrandom_cmd(x, 4);
	ck_assert_int_eq(pthread_create(&t, NULL, xfer_thread, x), 0);
	ck_assert(pump_until(xfer_submitted, x, 3000));
	wait_queued(1);
	fe_disconnect(&f); /* the page is zeroed and revoked by the guest */
	fake_answer_all(H.m);
	pump(20);
	ck_assert_uint_eq(f.page->length, 0);
	ck_assert_int_eq(f.page->state, 0);
	pthread_join(t, NULL); /* times out: nobody answers a gone frontend */
	fk.hold = 0;

	fe_connect(&f);
	fk.fail_submit = 1;
	memset(x, 0, sizeof(*x));
	x->f = &f;
	getrandom_cmd(x, 4);
	xfer_run(x);
	ck_assert_int_eq(x->final_state, XEN_TPMIF_FINISH);
	ck_assert_uint_eq(x->resp_len, 10);
	ck_assert_uint_eq(be32_get(x->resp + 6), TPM2_RC_FAILURE);
	fk.fail_submit = 0;
	exchange_getrandom(&f, 4);
	free(x);
	tool_remove(40, 0);
	fe_free(&f);
}
END_TEST

/* A response larger than the page can carry becomes a TPM failure. */
START_TEST(test_response_too_big)
{
	struct fe f;
	struct xfer *x = calloc(1, sizeof(*x));
	pthread_t t;
	static uint8_t big[TPM_FRAME_MAX];

	tool_add(41, 0, UUID1);
	wait_be_state(41, 0, XEN_BUS_INITWAIT);
	fe_init(&f, 41, 0);
	fe_connect(&f);
	fk.hold = 1;
	x->f = &f;
	getrandom_cmd(x, 4);
	ck_assert_int_eq(pthread_create(&t, NULL, xfer_thread, x), 0);
	ck_assert(pump_until(xfer_submitted, x, 3000));
	wait_queued(1);
	be16_put(big, TPM2_ST_NO_SESSIONS);
	be32_put(big + 2, TPM_FRAME_MAX);
	fk.q[0]->done(H.m, fk.q[0], big, sizeof(big), 0);
	req_free(fk.q[0]);
	fk.n = 0;
	fk.hold = 0;
	ck_assert(pump_until(xfer_done, x, 3000));
	pthread_join(t, NULL);
	ck_assert_int_eq(x->final_state, XEN_TPMIF_FINISH);
	ck_assert_uint_eq(x->resp_len, 10);
	ck_assert_uint_eq(be32_get(x->resp + 6), TPM2_RC_FAILURE);
	free(x);
	tool_remove(41, 0);
	fe_free(&f);
}
END_TEST

/* The manager restarts while the guest runs: the new backend finds the
 * connected device, maps the page again and serves it. */
START_TEST(test_manager_restart)
{
	struct fe f;
	struct xen_if bxi;
	char err[256];

	struct xfer *x = calloc(1, sizeof(*x));
	pthread_t t;

	ck_assert_ptr_nonnull(x);
	tool_add(50, 0, UUID1);
	wait_be_state(50, 0, XEN_BUS_INITWAIT);
	fe_init(&f, 50, 0);
	fe_connect(&f);
	exchange_getrandom(&f, 4);
	/* SIGTERM: a command the guest submits now is left in the page for
	 * the next manager (queued behind the vtpmd's stop it would fail). */
	H.m->stopping = 1;
	x->f = &f;
	getrandom_cmd(x, 4);
	ck_assert_int_eq(pthread_create(&t, NULL, xfer_thread, x), 0);
	ck_assert(pump_until(xfer_submitted, x, 3000));
	pump(50);
	ck_assert_uint_eq(fk.n, 0);
	ck_assert_int_eq(__atomic_load_n(&f.page->state, __ATOMIC_ACQUIRE), XEN_TPMIF_SUBMIT);
	xen_backend_close(H.m);
	H.m->stopping = 0;
	ck_assert_uint_eq(standin_mappings(H.w), 0);
	ck_assert_uint_eq(standin_bound_pairs(H.w), 0);
	ck_assert_int_eq(be_state(50, 0), XEN_BUS_CONNECTED);

	ck_assert_int_eq(standin_open(H.w, 0, &bxi), 0);
	ck_assert_msg(xen_backend_open(H.m, &bxi, err, sizeof(err)) == 0, "%s", err);
	ck_assert(pump_until(one_mapping, H.w, 3000));
	wait_be_state(50, 0, XEN_BUS_CONNECTED);
	ck_assert_uint_eq(standin_bound_pairs(H.w), 1);
	/* The new manager serves the waiting command. */
	ck_assert(pump_until(xfer_done, x, 3000));
	pthread_join(t, NULL);
	ck_assert_int_eq(x->final_state, XEN_TPMIF_FINISH);
	ck_assert_uint_eq(x->resp_len, 16);
	free(x);
	/* A restart is not a power cycle: the device the new backend finds
	 * is Connected, not new (1 is the first device's discard). */
	ck_assert_uint_eq(fk.power_offs, 1);
	/* Destroyed before it sent this manager a command: still a power
	 * cycle (the old manager saved the volatile state at its stop). */
	tool_remove(50, 0);
	ck_assert_uint_eq(fk.power_offs, 2);
	ck_assert_uint_eq(fk.stops, 0);
	fe_free(&f);
}
END_TEST

/* xl create, then destroy before the guest's frontend connects: the vTPM
 * is powered off all the same (any saved volatile state goes). */
START_TEST(test_removed_unconnected)
{
	tool_add(52, 0, UUID1);
	wait_be_state(52, 0, XEN_BUS_INITWAIT);
	ck_assert_uint_eq(fk.power_offs, 1);
	tool_remove(52, 0);
	ck_assert_uint_eq(fk.power_offs, 2);
	/* A refused device never claimed the vTPM: nothing to power off. */
	tool_add(53, 0, UUID_UNKNOWN);
	expect_refused(53, 0, "not defined");
	tool_remove(53, 0);
	ck_assert_uint_eq(fk.power_offs, 2);
	/* A vTPM that cannot start (a crash loop, a broken state file) is
	 * refused at open, so xl create fails instead of the guest's TPM. */
	H.v1->ch.fd = -1;
	fk.fail_spawn = 1;
	tool_add(59, 0, UUID1);
	expect_refused(59, 0, "cannot start: crash loop");
	tool_remove(59, 0);
	fk.fail_spawn = 0;
	ck_assert_uint_eq(fk.power_offs, 3); /* its discard at open */
	/* A vTPM whose vtpmd runs (a tool on its socket, a stop under way)
	 * is left alone when a new device opens it. */
	H.v1->ch.fd = FAKE_VTPMD_FD;
	tool_add(58, 0, UUID1);
	wait_be_state(58, 0, XEN_BUS_INITWAIT);
	ck_assert_uint_eq(fk.power_offs, 3);
	tool_remove(58, 0);
	ck_assert_uint_eq(fk.power_offs, 4);
}
END_TEST


/* xen_autocreate: an unknown UUID gets a TPM 2.0 on first sight; the
 * device then works as any other.  Off (test_unknown_uuid): refused. */
START_TEST(test_autocreate)
{
	struct fe f;
	struct vtpm *v;
	uint8_t u[UUID_LEN];

	H.m->cfg.xen_autocreate = 1;
	tool_add(54, 0, UUID_UNKNOWN);
	wait_be_state(54, 0, XEN_BUS_INITWAIT);
	ck_assert_uint_eq(fk.creates, 1);
	ck_assert_int_eq(uuid_parse(UUID_UNKNOWN, u), 0);
	v = vtpm_find_uuid(H.m, u);
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(v->me.tpm_version, 2);
	fe_init(&f, 54, 0);
	fe_connect(&f);
	exchange_getrandom(&f, 8);
	tool_remove(54, 0);
	ck_assert_uint_eq(fk.power_offs, 2); /* opened as new, removed */
	/* Known now: the next device finds it, nothing is created. */
	tool_add(55, 0, UUID_UNKNOWN);
	wait_be_state(55, 0, XEN_BUS_INITWAIT);
	ck_assert_uint_eq(fk.creates, 1);
	tool_remove(55, 0);
	/* Malformed UUIDs are refused before anything is created; a failed
	 * creation refuses the device with the reason. */
	tool_add(56, 0, "not-a-uuid");
	expect_refused(56, 0, "is not a UUID");
	fk.fail_create = 1;
	tool_add(57, 0, "77777777-2222-4333-8444-555555555555");
	expect_refused(57, 0, "xen_autocreate failed: saving its record failed");
	ck_assert_uint_eq(fk.creates, 1);
	tool_remove(56, 0);
	tool_remove(57, 0);
	fe_free(&f);
}
END_TEST

/* A frontend that publishes garbage, or no protocol v2, is not mapped. */
START_TEST(test_bad_frontend)
{
	struct fe f;
	char *e;

	tool_add(60, 0, UUID1);
	wait_be_state(60, 0, XEN_BUS_INITWAIT);
	fe_init(&f, 60, 0);
	fe_write(&f, "ring-ref", "12x");
	fe_write(&f, "event-channel", "3");
	fe_write(&f, "feature-protocol-v2", "1");
	fe_write(&f, "state", "3");
	wait_be_state(60, 0, XEN_BUS_CLOSED);
	e = be_read(60, 0, "error");
	ck_assert_ptr_nonnull(e);
	ck_assert(strstr(e, "ring-ref") != NULL);
	free(e);
	ck_assert_uint_eq(standin_mappings(H.w), 0);
	/* A grant of another domain's page is refused by the "hypervisor". */
	fe_write(&f, "state", "6");
	wait_be_state(60, 0, XEN_BUS_INITWAIT);
	{
		void *pg = standin_page_alloc();
		uint32_t ref = standin_grant(H.w, 61, 0, pg);
		char s[32];
		int port = standin_evtchn_alloc_unbound(&f.xi, 0);

		snprintf(s, sizeof(s), "%u", ref);
		fe_write(&f, "ring-ref", s);
		snprintf(s, sizeof(s), "%d", port);
		fe_write(&f, "event-channel", s);
		fe_write(&f, "state", "3");
		wait_be_state(60, 0, XEN_BUS_CLOSED);
		ck_assert_uint_eq(standin_mappings(H.w), 0);
		ck_assert_int_eq(standin_grant_end(H.w, ref), 0);
		free(pg);
	}
	/* No v2: refused like mini-os tpmback does. */
	fe_write(&f, "state", "6");
	wait_be_state(60, 0, XEN_BUS_INITWAIT);
	fe_publish(&f, "0");
	wait_be_state(60, 0, XEN_BUS_CLOSED);
	e = be_read(60, 0, "error");
	ck_assert_ptr_nonnull(e);
	ck_assert(strstr(e, "protocol v2") != NULL);
	free(e);
	ck_assert_uint_eq(standin_mappings(H.w), 0);
	/* Fixed: connects, and the error node is cleared. */
	fe_write(&f, "state", "6");
	wait_be_state(60, 0, XEN_BUS_INITWAIT);
	fe_write(&f, "feature-protocol-v2", "1");
	fe_write(&f, "state", "3");
	wait_be_state(60, 0, XEN_BUS_CONNECTED);
	e = be_read(60, 0, "error");
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e, "");
	free(e);
	fe_write(&f, "state", "4");
	exchange_getrandom(&f, 4);
	tool_remove(60, 0);
	fe_free(&f);
}
END_TEST

/* The device directory vanishes without the online=0 handshake (a forced
 * destroy): the backend unmaps and forgets it. */
START_TEST(test_forced_removal)
{
	struct fe f;
	char be[128];

	tool_add(70, 0, UUID1);
	wait_be_state(70, 0, XEN_BUS_INITWAIT);
	fe_init(&f, 70, 0);
	fe_connect(&f);
	exchange_getrandom(&f, 4);
	snprintf(be, sizeof(be), BE_FMT, 70u, 0u);
	ck_assert_int_eq(standin_xs_rm(H.w, be), 0);
	ck_assert(pump_until(no_mappings, H.w, 3000));
	ck_assert_uint_eq(standin_bound_pairs(H.w), 0);
	ck_assert_uint_eq(fk.power_offs, 2); /* the discard at its opening, the removal */
	/* The UUID is free again. */
	tool_add(71, 0, UUID1);
	wait_be_state(71, 0, XEN_BUS_INITWAIT);
	tool_remove(71, 0);
	fe_free(&f);
}
END_TEST

static Suite *
xen_backend_suite(void)
{
	Suite *s = suite_create("xen_backend");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_state_machine);
	tcase_add_test(tc, test_getrandom_exchange);
	tcase_add_test(tc, test_submit_before_connect);
	tcase_add_test(tc, test_cancel);
	tcase_add_test(tc, test_malformed_length);
	tcase_add_test(tc, test_unknown_uuid);
	tcase_add_test(tc, test_uuid_twice);
	tcase_add_test(tc, test_locality);
	tcase_add_test(tc, test_stale_and_failed);
	tcase_add_test(tc, test_response_too_big);
	tcase_add_test(tc, test_manager_restart);
	tcase_add_test(tc, test_removed_unconnected);
	tcase_add_test(tc, test_autocreate);
	tcase_add_test(tc, test_bad_frontend);
	tcase_add_test(tc, test_forced_removal);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(xen_backend_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
