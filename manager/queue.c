/*
 * queue.c - the requests a vTPM's vtpmd is to answer (struct req): made by
 * the front ends, queued per vTPM, sent one at a time (the channel carries
 * at most one request per vtpmd), and completed exactly once through the
 * request's own done function, with the vtpmd's answer or with an error
 * response made here when no vtpmd will answer.
 *
 * Owns: each vTPM's queue and outstanding request.  Trusts: the callers
 * (supervise.c checks every response against the outstanding request
 * before it completes it).  Calls no front end.
 */
#include "manager/mgr.h"

#include <stdlib.h>

#include "util/ctrl_proto.h"
#include "util/tpm_frame.h"

#define STOP_TIMEOUT_MS 10000

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
	for (int i = 0; i < 2; i++)
		if (r->held[i] != NULL)
			(*r->held[i])--;
	buf_free(&r->payload);
	free(r);
}

/* Hands r's answer to whoever submitted it, and frees r. */
void
req_complete(struct mgr *m, struct req *r, const uint8_t *resp, size_t len, int failed)
{
	if (r->done != NULL)
		r->done(m, r, resp, len, failed);
	req_free(r);
}

/* Answers a request that will never reach a vtpmd with an error made here. */
void
req_fail(struct mgr *m, struct vtpm *v, struct req *r)
{
	uint8_t out[16], err[TPM_HDR_SIZE];
	size_t n;

	switch (r->kind) {
	case REQ_CTRL:
		/* A SHUTDOWN or STOP whose vtpmd is gone did what it asked. */
		if (r->cmd == CMD_SHUTDOWN || r->cmd == CMD_STOP)
			n = ctrl_error_reply(r->cmd, CTRL_RES_SUCCESS, out, sizeof(out));
		else
			n = ctrl_error_reply(r->cmd, CTRL_RES_FAIL, out, sizeof(out));
		req_complete(m, r, out, n, 1);
		return;
	case REQ_TPM:
		tpm_frame_error(err, buf_ptr(&r->payload), buf_avail(&r->payload),
				v->me.tpm_version == 2,
				tpm_frame_fail_code(buf_ptr(&r->payload), buf_avail(&r->payload),
						    v->me.tpm_version == 2));
		req_complete(m, r, err, sizeof(err), 1);
		return;
	case REQ_STOP:
		break;
	}
	req_free(r);
}

void
queue_add(struct vtpm *v, struct req *r)
{
	r->v = v;
	r->next = NULL;
	if (v->q_tail != NULL)
		v->q_tail->next = r;
	else
		v->q_head = r;
	v->q_tail = r;
}

/* Answers what was queued for, or outstanding at, a vtpmd that is gone
 * (FIFO, Xen and control requests get their error from us, not from it).
 * Detached before any is answered: an answer may lead to new requests,
 * which belong to the next vtpmd. */
void
queue_fail_all(struct mgr *m, struct vtpm *v)
{
	struct req *r, *q = v->q_head, *out = v->outstanding;

	v->q_head = v->q_tail = NULL;
	v->outstanding = NULL;
	if (out != NULL)
		req_fail(m, v, out);
	while ((r = q) != NULL) {
		q = r->next;
		req_fail(m, v, r);
	}
}

int
queue_pump(struct mgr *m, struct vtpm *v)
{
	struct req *r;
	uint32_t type;
	int rc;

	(void)m;
	if (v->state != VS_RUNNING || v->outstanding != NULL || (r = v->q_head) == NULL)
		return 0;
	v->q_head = r->next;
	if (v->q_head == NULL)
		v->q_tail = NULL;
	switch (r->kind) {
	case REQ_CTRL: type = CHAN_CTRL; break;
	case REQ_TPM: type = CHAN_TPM_CMD; break;
	default: type = CHAN_STOP; break;
	}
	if (r->kind == REQ_CTRL && r->cmd == CMD_SET_LOCALITY && buf_avail(&r->payload) > 4)
		v->locality = buf_ptr(&r->payload)[4];
	v->outstanding = r;
	r->sent_ms = now_ms();
	rc = chan_send(v->ch.fd, type, buf_ptr(&r->payload), buf_avail(&r->payload), NULL, 0, -1);
	if (r->kind == REQ_STOP) {
		v->state = VS_STOPPING;
		v->stop_deadline = now_ms() + STOP_TIMEOUT_MS;
	}
	return rc == 0 ? 0 : -1;
}
