/*
 * fifo.c - the FIFO backend (the seed's DUMMY_BACKEND, for tools and
 * debugging): <run-dir>/fifo/in and <run-dir>/fifo/out, frames
 * `u32 instance (BE) | TPM packet`, replies carrying the same prefix.
 *
 * Trusts: no writer.  Each frame's TPM header is checked by util/tpm_frame.c;
 * a frame whose size is out of range desynchronises the stream, so it is
 * answered with an error for the instance it named and the buffered input
 * is dropped.  An unknown instance gets an error response, never another
 * vTPM's data.  The FIFO pair is shared by every writer, so writers must
 * serialise whole exchanges with flock(2) on <run-dir>/fifo/lock (the seed's
 * "create lock for shared fifo"); docs/PROTOCOLS.md says so.
 */
#include "manager/mgr.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fileio.h"
#include "util/log.h"
#include "util/tpm_frame.h"

#define FIFO_IN_MAX (2 * (4 + TPM_FRAME_MAX))
#define FIFO_OUT_MAX (1024 * 1024)
/* Requests waiting for (or at) one vTPM, and for all of them. */
#define FIFO_QUEUE_PER_VTPM 16
#define FIFO_QUEUE_TOTAL 256

static void fifo_in_cb(struct mgr *m, struct ev *e, uint32_t events);
static void fifo_out_cb(struct mgr *m, struct ev *e, uint32_t events);

/* dirfd is <run-dir>/fifo, a directory only we can write to. */
static int
make_fifo(int dirfd, const char *name, const char *dirpath, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISFIFO(st.st_mode)) {
			snprintf(err, errlen, "%s/%s exists and is not a FIFO", dirpath, name);
			return -1;
		}
		if (unlinkat(dirfd, name, 0) != 0) {
			snprintf(err, errlen, "cannot replace %s/%s: %s", dirpath, name,
				 strerror(errno));
			return -1;
		}
	}
	if (mkfifoat(dirfd, name, 0600) != 0) {
		snprintf(err, errlen, "mkfifo %s/%s: %s", dirpath, name, strerror(errno));
		return -1;
	}
	/* O_RDWR keeps a writer and a reader open ourselves, so the FIFOs
	 * never report EOF or ENXIO when clients come and go. */
	if ((fd = openat(dirfd, name, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW)) < 0)
		snprintf(err, errlen, "cannot open %s/%s: %s", dirpath, name, strerror(errno));
	return fd;
}

int
fifo_open(struct mgr *m, char *err, size_t errlen)
{
	struct fifo_backend *f = &m->fifo;
	char dir[PATH_MAX];

	f->in_fd = f->out_fd = f->lock_fd = -1;
	if (path_join(dir, sizeof(dir), m->cfg.run_dir, "fifo") != 0) {
		snprintf(err, errlen, "run directory path too long");
		return -1;
	}
	if ((f->dir_fd = subdir_open_trusted(m->run_dirfd, "fifo", 0700, dir, err, errlen)) < 0)
		return -1;
	if ((f->in_fd = make_fifo(f->dir_fd, "in", dir, err, errlen)) < 0 ||
	    (f->out_fd = make_fifo(f->dir_fd, "out", dir, err, errlen)) < 0)
		goto fail;
	f->lock_fd = openat(f->dir_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (f->lock_fd < 0) {
		snprintf(err, errlen, "cannot create %s/lock: %s", dir, strerror(errno));
		goto fail;
	}
	buf_init(&f->in, FIFO_IN_MAX);
	buf_init(&f->out, FIFO_OUT_MAX);
	f->in_ev = (struct ev){ .fd = f->in_fd, .cb = fifo_in_cb, .ctx = NULL };
	f->out_ev = (struct ev){ .fd = f->out_fd, .cb = fifo_out_cb, .ctx = NULL };
	if (ev_set(m, &f->in_ev, EPOLLIN) != 0) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		goto fail;
	}
	m->fifo_enabled = 1;
	return 0;
fail:
	fifo_close(m);
	return -1;
}

void
fifo_close(struct mgr *m)
{
	struct fifo_backend *f = &m->fifo;
	static const char *names[] = { "in", "out", "lock" };

	if (f->in_fd >= 0) {
		ev_del(m, &f->in_ev);
		close(f->in_fd);
	}
	if (f->out_fd >= 0) {
		ev_del(m, &f->out_ev);
		close(f->out_fd);
	}
	if (f->lock_fd >= 0)
		close(f->lock_fd);
	f->in_fd = f->out_fd = f->lock_fd = -1;
	if (f->dir_fd >= 0) {
		for (unsigned i = 0; i < 3; i++)
			(void)unlinkat(f->dir_fd, names[i], 0);
		close(f->dir_fd);
		f->dir_fd = -1;
		(void)unlinkat(m->run_dirfd, "fifo", AT_REMOVEDIR);
	}
	buf_free(&f->in);
	buf_free(&f->out);
	m->fifo_enabled = 0;
}

static void
fifo_flush(struct mgr *m)
{
	struct fifo_backend *f = &m->fifo;

	while (buf_avail(&f->out) != 0) {
		ssize_t n = write(f->out_fd, buf_ptr(&f->out), buf_avail(&f->out));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				log_warn(LOGM_BACKEND, "fifo: write: %s", strerror(errno));
			break;
		}
		buf_drop(&f->out, (size_t)n);
	}
	if (buf_avail(&f->out) == 0)
		buf_reset(&f->out);
	(void)ev_set(m, &f->out_ev, buf_avail(&f->out) != 0 ? EPOLLOUT : 0);
}

void
fifo_reply(struct mgr *m, uint32_t instance, const uint8_t *p, size_t len)
{
	struct fifo_backend *f = &m->fifo;
	uint8_t *dst;

	if (!m->fifo_enabled)
		return;
	/* Compact before appending so the cap bounds what is pending. */
	buf_compact(&f->out);
	if (buf_reserve(&f->out, 4 + len, &dst) != 0) {
		log_warn(LOGM_BACKEND, "fifo: nobody reads %s/fifo/out; reply for instance %u "
			 "dropped", m->cfg.run_dir, instance);
		return;
	}
	be32_put(dst, instance);
	memcpy(dst + 4, p, len);
	fifo_flush(m);
}

/* A FIFO request's answer: a reply frame for its instance. */
static void
fifo_req_done(struct mgr *m, struct req *r, const uint8_t *p, size_t len, int failed)
{
	(void)failed;
	fifo_reply(m, (uint32_t)r->tag, p, len);
}

static void
fifo_out_cb(struct mgr *m, struct ev *e, uint32_t events)
{
	fifo_flush(m);
}

static void
fifo_error(struct mgr *m, uint32_t instance, const uint8_t *req, size_t reqlen, uint32_t rc2,
	   uint32_t rc12)
{
	struct vtpm *v = vtpm_find_instance(m, instance);
	int is2 = v != NULL ? v->me.tpm_version == 2 : 1;
	uint8_t out[TPM_HDR_SIZE];
	uint16_t tag = reqlen >= 2 ? be16_get(req) : 0;
	int req2 = (tag == TPM2_ST_NO_SESSIONS || tag == TPM2_ST_SESSIONS) ? 1
		   : (tag >= TPM12_TAG_RQU_COMMAND && tag <= TPM12_TAG_RQU_AUTH2) ? 0 : is2;

	tpm_frame_error(out, req, reqlen, is2, req2 ? rc2 : rc12);
	fifo_reply(m, instance, out, sizeof(out));
}

static void
fifo_in_cb(struct mgr *m, struct ev *e, uint32_t events)
{
	struct fifo_backend *f = &m->fifo;
	uint8_t tmp[4096];
	uint32_t instance, size;
	ssize_t n;
	int consumed = 0;

	for (;;) {
		size_t room = f->in.max - f->in.len;
		if (room == 0)
			break;
		n = read(f->in_fd, tmp, room < sizeof(tmp) ? room : sizeof(tmp));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (buf_put_bytes(&f->in, tmp, (size_t)n) != 0)
			break;
	}
	while (buf_avail(&f->in) >= 4 + TPM_HDR_SIZE) {
		const uint8_t *p = buf_ptr(&f->in);
		enum tpm_frame_status st;

		instance = be32_get(p);
		st = tpm_frame_check(p + 4, buf_avail(&f->in) - 4, TPM_FRAME_MAX, &size);
		if (st == TPM_FRAME_INCOMPLETE)
			break;
		if (st == TPM_FRAME_BAD) {
			log_warn(LOGM_BACKEND, "fifo: frame for instance %u has a bad size; "
				 "input discarded", instance);
			fifo_error(m, instance, p + 4, buf_avail(&f->in) - 4,
				   TPM2_RC_COMMAND_SIZE, TPM12_BAD_PARAM_SIZE);
			buf_reset(&f->in);
			break;
		}
		struct vtpm *v = vtpm_find_instance(m, instance);
		struct req *r = NULL;
		if (v == NULL) {
			shed_log(m, "fifo: no vTPM with instance %u", instance);
			fifo_error(m, instance, p + 4, size, TPM2_RC_FAILURE, TPM12_FAIL);
		} else if (v->fifo_queued >= FIFO_QUEUE_PER_VTPM ||
			   m->fifo_queued >= FIFO_QUEUE_TOTAL) {
			/* A writer that does not wait for its answers (or a
			 * vTPM that does not answer) must not grow the queue
			 * without end: "retry later", and nothing queued. */
			shed_log(m, "fifo: %u requests already queued for instance %u (%u in all): "
				 "answered with RETRY", v->fifo_queued, instance, m->fifo_queued);
			fifo_error(m, instance, p + 4, size, TPM2_RC_RETRY, TPM12_RETRY);
		} else if ((r = req_new(REQ_TPM, fifo_req_done, instance)) == NULL ||
			   buf_put_bytes(&r->payload, p + 4, size) != 0) {
			req_free(r);
			fifo_error(m, instance, p + 4, size, TPM2_RC_FAILURE, TPM12_FAIL);
		} else {
			r->held[0] = &m->fifo_queued;
			r->held[1] = &v->fifo_queued;
			m->fifo_queued++;
			v->fifo_queued++;
			vtpm_submit(m, v, r);
		}
		buf_drop(&f->in, 4 + (size_t)size);
		consumed = 1;
	}
	if (buf_avail(&f->in) == 0) {
		buf_reset(&f->in);
		f->partial_since = 0;
	} else {
		buf_compact(&f->in);
		if (consumed || f->partial_since == 0)
			f->partial_since = now_ms();
	}
}

/*
 * An incomplete frame that stays incomplete is a writer that broke the
 * framing (or died mid-write).  Dropping it bounds how long it can be glued
 * to the next writer's bytes; writers that hold fifo/lock for the whole
 * exchange, as documented, never meet each other's bytes at all.
 */
void
fifo_tick(struct mgr *m)
{
	struct fifo_backend *f = &m->fifo;
	const uint8_t *p;
	size_t n;

	if (!m->fifo_enabled || f->partial_since == 0 ||
	    now_ms() - f->partial_since < PARTIAL_TIMEOUT_MS)
		return;
	p = buf_ptr(&f->in);
	n = buf_avail(&f->in);
	if (n >= 4) {
		log_warn(LOGM_BACKEND, "fifo: incomplete frame for instance %u dropped after %d ms",
			 be32_get(p), PARTIAL_TIMEOUT_MS);
		fifo_error(m, be32_get(p), p + 4, n - 4, TPM2_RC_COMMAND_SIZE,
			   TPM12_BAD_PARAM_SIZE);
	} else {
		log_warn(LOGM_BACKEND, "fifo: %zu stray bytes dropped", n);
	}
	buf_reset(&f->in);
	f->partial_since = 0;
}
