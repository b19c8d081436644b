/*
 * ctl_reply.c - what the vtpmctl socket sends back (protocol in
 * manager/ctl_proto.h): a reply's head, vTPM records, pages of `list`,
 * data after a record; and a client's wait for an answer that comes later
 * (a creation, a stop, a provisioning job).  ctl.c serves the requests,
 * provision.c, transfer.c and swtpm_import.c answer theirs through here.
 *
 * Trusts: its callers; nothing here is read from a client.
 */
#include "manager/mgr.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>

#include "util/log.h"

static uint8_t
ctl_state_of(const struct vtpm *v)
{
	if (v->degraded && v->state != VS_FAILED)
		return CTL_ST_DEGRADED;
	switch (v->state) {
	case VS_STARTING:
	case VS_ADOPTING: return CTL_ST_STARTING;
	case VS_RUNNING:
	case VS_STOPPING: return CTL_ST_RUNNING;
	case VS_FAILED: return CTL_ST_FAILED;
	default: return CTL_ST_STOPPED;
	}
}

/* The largest record: fixed fields and a reason of CTL_MAX_REASON bytes. */
#define RECORD_MAX (UUID_LEN + 4 + 1 + 1 + 4 + 4 + 4 + 2 + CTL_MAX_REASON)

static int
put_record(struct buf *b, const struct vtpm *v)
{
	size_t rl = strlen(v->reason);

	if (rl > CTL_MAX_REASON)
		rl = CTL_MAX_REASON;
	if (buf_put_bytes(b, v->me.uuid, UUID_LEN) != 0 || buf_put_u32(b, v->me.instance) != 0 ||
	    buf_put_u8(b, v->me.tpm_version) != 0 || buf_put_u8(b, ctl_state_of(v)) != 0 ||
	    buf_put_u32(b, (uint32_t)(v->pid > 0 ? v->pid : 0)) != 0 ||
	    buf_put_u32(b, v->me.owner_uid) != 0 || buf_put_u32(b, v->me.owner_gid) != 0 ||
	    buf_put_u16(b, (uint16_t)rl) != 0 || buf_put_bytes(b, v->reason, rl) != 0)
		return -1;
	return 0;
}

static void
send_reply(struct ctl_client *c, struct buf *b)
{
	if (chan_send(c->ch.fd, CTL_REPLY, buf_ptr(b), buf_avail(b), NULL, 0, -1) != 0)
		log_warn(LOGM_CTRL, "control reply not delivered: %s", strerror(errno));
}

static int
put_head(struct buf *b, int ok, const char *msg, uint32_t count)
{
	size_t ml = strlen(msg);

	if (ml > 1024)
		ml = 1024;
	return buf_put_u32(b, ok ? 0 : 1) != 0 || buf_put_u16(b, (uint16_t)ml) != 0 ||
			       buf_put_bytes(b, msg, ml) != 0 || buf_put_u32(b, count) != 0
		       ? -1
		       : 0;
}

/*
 * One page of `list`: the vTPMs whose instance is above `after`, in
 * instance order (the registry is kept in that order, registry.c), as many as
 * fit in one channel message, then whether more remain.  vtpmctl asks
 * again from the last instance it got, so any number of vTPMs lists.
 */
void
ctl_answer_list(struct mgr *m, struct ctl_client *c, uint32_t after)
{
	struct vtpm *v, *first = NULL;
	struct buf b;
	uint32_t count = 0;
	size_t room = CHAN_MAX_PAYLOAD - (4 + 2 + 2 + 4 + 1);

	for (v = m->vtpms; v != NULL && v->me.instance <= after; v = v->next)
		;
	first = v;
	for (size_t used = 0; v != NULL && used + RECORD_MAX <= room; v = v->next) {
		used += RECORD_MAX;
		count++;
	}
	buf_init(&b, CHAN_MAX_PAYLOAD);
	if (put_head(&b, 1, "ok", count) != 0)
		goto out;
	v = first;
	for (uint32_t i = 0; i < count; i++, v = v->next)
		if (put_record(&b, v) != 0)
			goto out;
	if (buf_put_u8(&b, v != NULL) != 0)
		goto out;
	send_reply(c, &b);
out:
	buf_free(&b);
}

/* A reply with the record of one vTPM when one is given and, when data is
 * given, u32 datalen | data after it (ctl_proto.h; provision.c's requests). */
static void
ctl_reply_data(struct ctl_client *c, int ok, const char *msg, struct vtpm *one,
	       const uint8_t *data, size_t datalen)
{
	struct buf b;

	buf_init(&b, CHAN_MAX_PAYLOAD);
	if (put_head(&b, ok, msg, one != NULL ? 1 : 0) != 0 ||
	    (one != NULL && put_record(&b, one) != 0))
		goto out;
	if (data != NULL && (buf_put_u32(&b, (uint32_t)datalen) != 0 ||
			     buf_put_bytes(&b, data, datalen) != 0)) {
		log_warn(LOGM_CTRL, "control reply of %zu bytes is too large", datalen);
		buf_reset(&b);
		if (put_head(&b, 0, "reply too large", 0) != 0)
			goto out;
	}
	send_reply(c, &b);
out:
	buf_free(&b);
}

void
ctl_answer(struct mgr *m, struct ctl_client *c, int ok, const char *msg, struct vtpm *one,
	   const uint8_t *data, size_t datalen)
{
	(void)m;
	ctl_reply_data(c, ok, msg, one, data, datalen);
}

void
ctl_wait(struct mgr *m, struct ctl_client *c)
{
	c->waiting = 1;
	/* No new requests from this client until it has its answer. */
	(void)ev_set(m, &c->ev, EPOLLRDHUP);
}

void
ctl_job_done(struct mgr *m, struct ctl_client *c, int ok, const char *msg, struct vtpm *one,
	     const uint8_t *data, size_t datalen)
{
	int was = c->waiting;

	c->waiting = 0;
	ctl_reply_data(c, ok, msg, one, data, datalen);
	if (was)
		(void)ev_set(m, &c->ev, EPOLLIN);
}
