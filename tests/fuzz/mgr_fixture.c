/*
 * mgr_fixture.c - see mgr_fixture.h.  The fake vtpmds and clients also
 * check what the manager sends them, so a fuzzer finds protocol violations
 * by the manager, not only memory errors:
 *   - every channel packet is well-formed (chan_recv never says PROTO) and
 *     passes the vtpmd's own per-type checks (vtpm/chanio.c);
 *   - a CHAN_CTRL payload is exactly one framed swtpm control request, a
 *     CHAN_TPM_CMD exactly one TPM packet;
 *   - at most one CTRL/TPM_CMD/STOP is outstanding, and none before READY;
 *   - NV_DATA/NV_STATUS only answer an NV request;
 *   - every vtpmctl reply parses exactly (manager/ctl_proto.h);
 *   - every FIFO reply is u32 instance | one whole TPM packet;
 *   - after teardown no fd is left open.
 */
#include "tests/fuzz/mgr_fixture.h"
#include "tests/fuzz/common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "tcs/host_tpm.h"
#include "util/ctrl_proto.h"
#include "util/tpm_frame.h"

struct mgr *fx_m;

static char run_dir[4096], state_dir[4096];
static int nullfd = -1;
static int base_fds;
static unsigned autof;
static struct host_tpm host;

static const uint8_t fx_master[32] = { 0x66, 0x75, 0x7a, 0x7a, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
				       11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
				       25, 26, 27, 28 };
static const uint8_t fx_uuid[2][UUID_LEN] = {
	{ 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x41, 0x11, 0x81, 0x11, 0x11, 0x11, 0x11, 0x11,
	  0x11, 0x11 },
	{ 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x42, 0x22, 0x82, 0x22, 0x22, 0x22, 0x22, 0x22,
	  0x22, 0x22 },
};

/* ------------------------------------------------------------ fake vtpmd */

#define NFAKE 16

struct fake {
	int used;
	int mfd;           /* the manager's end (v->ch.fd) */
	struct chan ch;    /* our end */
	int ready_sent;
	uint32_t pending;  /* CHAN_CTRL, CHAN_TPM_CMD or CHAN_STOP outstanding at us */
	uint32_t pending_cmd;
	uint8_t pending_tag[2];
	unsigned nv_out;   /* our NV requests not yet answered */
	int listen_fd;     /* the vTPM's data socket (CHAN_LISTEN_FD), or -1 */
};

static struct fake fakes[NFAKE];
static int fake_on;

pid_t __real_fork(void);
pid_t __wrap_fork(void);
int __real_chan_socketpair(int sv[2]);
int __wrap_chan_socketpair(int sv[2]);

pid_t
__wrap_fork(void)
{
	return fake_on ? FX_FAKE_PID : __real_fork();
}

static void
fake_close(struct fake *f)
{
	if (!f->used)
		return;
	chan_close(&f->ch);
	if (f->listen_fd >= 0)
		close(f->listen_fd);
	memset(f, 0, sizeof(*f));
}

int
__wrap_chan_socketpair(int sv[2])
{
	struct fake *f = NULL;
	int r = __real_chan_socketpair(sv), fd;

	if (r != 0 || !fake_on)
		return r;
	for (int i = 0; i < NFAKE; i++) {
		if (fakes[i].used && fakes[i].mfd == sv[0])
			fake_close(&fakes[i]); /* a stale one; the number was reused */
		if (!fakes[i].used && f == NULL)
			f = &fakes[i];
	}
	if (f == NULL)
		return r; /* too many: this vtpmd is dead on arrival */
	fd = fcntl(sv[1], F_DUPFD_CLOEXEC, 0);
	FZ_CHECK(fd >= 0, "dup: %s", strerror(errno));
	(void)fcntl(fd, F_SETFL, O_NONBLOCK);
	FZ_CHECK(chan_init(&f->ch, fd) == 0, "chan_init");
	f->used = 1;
	f->mfd = sv[0];
	f->listen_fd = -1;
	return r;
}

static struct fake *
fake_of(const struct vtpm *v)
{
	if (v == NULL || v->ch.fd < 0)
		return NULL;
	for (int i = 0; i < NFAKE; i++)
		if (fakes[i].used && fakes[i].mfd == v->ch.fd)
			return &fakes[i];
	return NULL;
}

/* Bookkeeping for a message we sent to the manager. */
static void
fake_track(struct fake *f, uint32_t type)
{
	switch (type) {
	case CHAN_READY:
		f->ready_sent = 1;
		break;
	case CHAN_CTRL_RESP:
	case CHAN_TPM_RESP:
	case CHAN_STOPPED:
		f->pending = 0;
		break;
	case CHAN_NV_LOAD:
	case CHAN_NV_STORE:
	case CHAN_NV_DELETE:
		f->nv_out++;
		break;
	default:
		break;
	}
}

static int
fake_send(struct fake *f, uint32_t type, const void *p, size_t len, int with_fd)
{
	int fd = with_fd ? dup(nullfd) : -1;
	int r = chan_send(f->ch.fd, type, p, len, NULL, 0, fd);

	if (fd >= 0)
		close(fd);
	if (r == 0)
		fake_track(f, type);
	return r == 0;
}

static int
skip_known(const char *what)
{
	const char *s = getenv("FUZZ_SKIP_KNOWN");

	return s != NULL && strstr(s, what) != NULL;
}

static void
send_raw(int sock, const uint8_t *p, size_t len, int nfds)
{
	struct iovec iov = { (void *)(uintptr_t)p, len };
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * 4)];
	} cm;
	struct msghdr mh;
	int fds[4] = { -1, -1, -1, -1 };

	/* FUZZ_SKIP_KNOWN=chan-empty-fd (F1): do not send the packet of a known,
	 * not yet fixed finding (an empty packet with fds: chan_recv reports
	 * EOF and leaks them), so that a run can look past it. */
	if (len == 0 && nfds > 0 && skip_known("chan-empty-fd"))
		nfds = 0;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		struct cmsghdr *ch;

		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		ch = CMSG_FIRSTHDR(&mh);
		ch->cmsg_level = SOL_SOCKET;
		ch->cmsg_type = SCM_RIGHTS;
		ch->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		for (int i = 0; i < nfds; i++)
			fds[i] = dup(nullfd);
		memcpy(CMSG_DATA(ch), fds, sizeof(int) * (size_t)nfds);
	}
	(void)sendmsg(sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
}

/* A well-formed reply from a well-behaved vtpmd.  variant bit 0: an error
 * result; with nothing outstanding, an NV request chosen by variant. */
static int
fake_answer(struct fake *f, unsigned variant)
{
	static const uint8_t blob[] = "fuzz vtpmd state blob";
	uint8_t out[64];
	size_t n;

	if (!f->ready_sent) {
		be32_put(out, (variant & 1) ? 0x9 : 0);
		return fake_send(f, CHAN_READY, out, 4, 0);
	}
	switch (f->pending) {
	case CHAN_CTRL:
		if (f->pending_cmd == CMD_GET_CAPABILITY) {
			be64_put(out, VTPM_CTRL_CAPS);
			n = 8;
		} else {
			n = ctrl_error_reply(f->pending_cmd,
					     (variant & 1) ? CTRL_RES_FAIL : CTRL_RES_SUCCESS, out,
					     sizeof(out));
		}
		return fake_send(f, CHAN_CTRL_RESP, out, n, 0);
	case CHAN_TPM_CMD:
		tpm_frame_error(out, f->pending_tag, 2, 1, (variant & 1) ? TPM2_RC_FAILURE : 0);
		return fake_send(f, CHAN_TPM_RESP, out, TPM_HDR_SIZE, 0);
	case CHAN_STOP:
		be32_put(out, 0);
		return fake_send(f, CHAN_STOPPED, out, 4, 0);
	default:
		break;
	}
	switch ((variant >> 1) & 3) {
	case 0:
		return fake_send(f, CHAN_NV_LOAD, "permall", 7, 0);
	case 1:
		out[0] = 7;
		memcpy(out + 1, "permall", 7);
		memcpy(out + 8, blob, sizeof(blob));
		return fake_send(f, CHAN_NV_STORE, out, 8 + sizeof(blob), 0);
	case 2:
		out[0] = 0;
		memcpy(out + 1, "volatilestate", 13);
		return fake_send(f, CHAN_NV_DELETE, out, 14, 0);
	default:
		return fake_send(f, CHAN_NV_LOAD, "savestate", 9, 0);
	}
}

/* Reads and checks what the manager sent; returns how many messages we
 * sent back on our own (auto modes). */
static int
fake_drain(struct fake *f)
{
	struct chan_msg msg;
	uint32_t cmd;
	size_t total;
	int sent = 0, r;

	while (f->used) {
		int c;

		while (f->listen_fd >= 0 &&
		       (c = accept4(f->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
			close(c);
		r = chan_recv(&f->ch, &msg);
		if (r == VERR_AGAIN)
			break;
		if (r == VERR_EOF || (r == VERR_SYSTEM && errno == ECONNRESET)) {
			fake_close(f);
			break;
		}
		FZ_CHECK(r == 0, "the manager sent a malformed channel packet (%d)", r);
		switch (msg.type) {
		case CHAN_LISTEN_FD:
		case CHAN_DATA_FD:
			/* DATA_FD may carry the u32 id of a connection the
			 * manager keeps (util/chan.h). */
			FZ_CHECK(msg.fd >= 0 && (msg.len == 0 || (msg.type == CHAN_DATA_FD &&
								 msg.len == 4)),
				 "fd message without fd or with a bad payload");
			break;
		case CHAN_CTRL:
			FZ_CHECK(msg.fd < 0 && msg.len >= 4, "CHAN_CTRL of %u bytes", msg.len);
			FZ_CHECK(ctrl_parse_request(msg.data, msg.len, 1, &cmd, &total) ==
					 CTRL_PARSE_OK && total == msg.len,
				 "CHAN_CTRL is not one framed control request");
			FZ_CHECK(f->ready_sent && f->pending == 0,
				 "CHAN_CTRL while not ready or with 0x%x outstanding", f->pending);
			f->pending = CHAN_CTRL;
			f->pending_cmd = cmd;
			break;
		case CHAN_TPM_CMD:
			FZ_CHECK(msg.fd < 0 && tpm_frame_exact(msg.data, msg.len, TPM_FRAME_MAX) == 0,
				 "CHAN_TPM_CMD is not one TPM packet");
			FZ_CHECK(f->ready_sent && f->pending == 0,
				 "CHAN_TPM_CMD while not ready or with 0x%x outstanding", f->pending);
			f->pending = CHAN_TPM_CMD;
			memcpy(f->pending_tag, msg.data, 2);
			break;
		case CHAN_STOP:
			/* Empty, or the u32 flags of util/chan.h (a power-off). */
			FZ_CHECK(msg.fd < 0 &&
					 (msg.len == 0 ||
					  (msg.len == 4 &&
					   (be32_get(msg.data) & ~CHAN_STOP_POWER_OFF) == 0)),
				 "CHAN_STOP with an fd or a payload other than its flags");
			FZ_CHECK(f->ready_sent && f->pending == 0,
				 "CHAN_STOP while not ready or with 0x%x outstanding", f->pending);
			f->pending = CHAN_STOP;
			break;
		case CHAN_NV_DATA:
			FZ_CHECK(msg.fd < 0 && msg.len >= 4 && f->nv_out > 0, "unexpected NV_DATA");
			f->nv_out--;
			break;
		case CHAN_NV_STATUS:
			FZ_CHECK(msg.fd < 0 && msg.len == 4 && f->nv_out > 0, "unexpected NV_STATUS");
			f->nv_out--;
			break;
		default:
			FZ_CHECK(0, "the manager sent channel message type %u", msg.type);
		}
		if (msg.type == CHAN_LISTEN_FD && f->listen_fd < 0) {
			f->listen_fd = msg.fd; /* as vtpmd: accept (and here, drop) clients */
			msg.fd = -1;
		}
		if (msg.fd >= 0)
			close(msg.fd);
		if (msg.type == CHAN_LISTEN_FD && (autof & FX_AUTO_READY) && !f->ready_sent)
			sent += fake_answer(f, 0);
		if (f->pending != 0 && (autof & FX_AUTO_ANSWER)) {
			if (f->pending == CHAN_TPM_CMD && (autof & FX_AUTO_NV))
				sent += fake_answer(f, 2); /* NV_STORE first, as libtpms does */
			sent += fake_answer(f, 0);
		}
	}
	return sent;
}

/* -------------------------------------------------------------- clients */

#define NCTRL 4
#define NCTL 3
#define NDATA 4

static int ctrl_fd[NCTRL] = { -1, -1, -1, -1 };
static struct chan ctl_ch[NCTL] = { { -1, NULL }, { -1, NULL }, { -1, NULL } };
static int data_fd[NDATA] = { -1, -1, -1, -1 };
static struct buf fifo_carry;

static struct vtpm *
vtpm_nth(unsigned i)
{
	unsigned n = 0;
	struct vtpm *v;

	for (v = fx_m->vtpms; v != NULL; v = v->next)
		n++;
	if (n == 0)
		return NULL;
	i %= n;
	for (v = fx_m->vtpms; i > 0; v = v->next)
		i--;
	return v;
}

static int
connect_unix(const char *path, int type)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void
ctl_close_slot(int i)
{
	if (ctl_ch[i].rbuf != NULL || ctl_ch[i].fd >= 0)
		chan_close(&ctl_ch[i]);
	ctl_ch[i].fd = -1;
	ctl_ch[i].rbuf = NULL;
}

static void
ctrl_drain(int i)
{
	uint8_t tmp[4096];
	ssize_t n;

	while (ctrl_fd[i] >= 0) {
		n = recv(ctrl_fd[i], tmp, sizeof(tmp), MSG_DONTWAIT);
		if (n > 0)
			continue;
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			close_fd(&ctrl_fd[i]);
		break;
	}
}

/* One vtpmctl reply must parse exactly (manager/ctl_proto.h). */
static void
check_ctl_reply(const struct chan_msg *msg)
{
	struct buf b;
	uint32_t status, count, u32;
	uint16_t ml, rl;
	uint8_t u8;

	FZ_CHECK(msg->type == CTL_REPLY && msg->fd < 0, "vtpmctl reply type %u", msg->type);
	buf_init_reader(&b, msg->data, msg->len);
	FZ_CHECK(buf_get_u32(&b, &status) == 0 && status <= 1, "reply status");
	FZ_CHECK(buf_get_u16(&b, &ml) == 0 && ml <= 1024 && buf_skip(&b, ml) == 0, "reply msg");
	FZ_CHECK(buf_get_u32(&b, &count) == 0, "reply count");
	for (uint32_t i = 0; i < count; i++) {
		/* uuid | instance | version | state | pid | owner uid, gid | reason */
		FZ_CHECK(buf_skip(&b, UUID_LEN) == 0 && buf_get_u32(&b, &u32) == 0 &&
			 buf_get_u8(&b, &u8) == 0 && (u8 == 1 || u8 == 2) &&
			 buf_get_u8(&b, &u8) == 0 && u8 <= CTL_ST_DEGRADED &&
			 buf_get_u32(&b, &u32) == 0 && buf_get_u32(&b, &u32) == 0 &&
			 buf_get_u32(&b, &u32) == 0 && buf_get_u16(&b, &rl) == 0 &&
			 rl <= CTL_MAX_REASON && buf_skip(&b, rl) == 0,
			 "reply record %u", i);
	}
	/* Then nothing, a list page's "more" byte, or u32 len | data (a
	 * provisioning reply); the fixture does not know which was asked. */
	if (buf_avail(&b) == 1) {
		FZ_CHECK(buf_get_u8(&b, &u8) == 0 && u8 <= 1, "list reply's more byte %u", u8);
	} else if (buf_avail(&b) != 0) {
		FZ_CHECK(buf_get_u32(&b, &u32) == 0 && buf_skip(&b, u32) == 0,
			 "reply data of %u bytes", u32);
	}
	FZ_CHECK(buf_avail(&b) == 0, "%zu bytes after the reply's records", buf_avail(&b));
}

static void
ctl_drain(int i)
{
	struct chan_msg msg;
	int r;

	while (ctl_ch[i].fd >= 0) {
		r = chan_recv(&ctl_ch[i], &msg);
		if (r == VERR_AGAIN)
			break;
		if (r == VERR_EOF || r == VERR_SYSTEM) {
			ctl_close_slot(i);
			break;
		}
		FZ_CHECK(r == 0, "malformed vtpmctl reply packet (%d)", r);
		check_ctl_reply(&msg);
	}
}

static void
fifo_drain(void)
{
	uint8_t tmp[4096], *dst;
	enum tpm_frame_status st;
	uint32_t size;
	ssize_t n;

	if (!fx_m->fifo_enabled)
		return;
	while ((n = read(fx_m->fifo.out_fd, tmp, sizeof(tmp))) > 0) {
		FZ_CHECK(buf_reserve(&fifo_carry, (size_t)n, &dst) == 0, "FIFO reply backlog");
		memcpy(dst, tmp, (size_t)n);
	}
	while (buf_avail(&fifo_carry) >= 4 + TPM_HDR_SIZE) {
		st = tpm_frame_check(buf_ptr(&fifo_carry) + 4, buf_avail(&fifo_carry) - 4,
				     TPM_FRAME_MAX, &size);
		FZ_CHECK(st != TPM_FRAME_BAD, "FIFO reply is not a TPM packet");
		if (st == TPM_FRAME_INCOMPLETE)
			break;
		buf_drop(&fifo_carry, 4 + (size_t)size);
	}
	buf_compact(&fifo_carry);
}

/* Everything the manager sent, read and checked.  Returns messages the
 * fake vtpmds sent on their own. */
static int
drain_all(void)
{
	int sent = 0;

	for (int i = 0; i < NFAKE; i++)
		if (fakes[i].used)
			sent += fake_drain(&fakes[i]);
	/* A fake whose manager end is gone (channel lost, vtpm freed) exits. */
	for (int i = 0; i < NFAKE; i++) {
		struct vtpm *v;

		if (!fakes[i].used)
			continue;
		for (v = fx_m->vtpms; v != NULL; v = v->next)
			if (v->ch.fd == fakes[i].mfd)
				break;
		if (v == NULL)
			fake_close(&fakes[i]);
	}
	for (int i = 0; i < NCTRL; i++)
		ctrl_drain(i);
	for (int i = 0; i < NCTL; i++)
		ctl_drain(i);
	fifo_drain();
	return sent;
}

void
fx_settle(void)
{
	struct epoll_event evs[64];

	for (int round = 0; round < 4096; round++) {
		/* main.c's loop body; it waits only while storage work (on the
		 * worker threads) is under way, whose completion wakes it. */
		int busy = worker_pending(fx_m) != 0;
		int n = epoll_wait(fx_m->epfd, evs, 64, busy ? 100 : 0);
		mgr_dispatch(fx_m, evs, n > 0 ? n : 0);
		if (drain_all() == 0 && n <= 0 && !busy)
			return;
	}
}

void
fx_fifo_write(const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fx_m->fifo.in_fd, p, n);
		if (w <= 0) {
			/* The pipe is full: let the manager read some. */
			fx_settle();
			w = write(fx_m->fifo.in_fd, p, n);
			if (w <= 0)
				return;
		}
		p += w;
		n -= (size_t)w;
	}
}

/* ------------------------------------------------------------ lifecycle */

void
fx_init_once(const char *tag)
{
	const char *base = fz_scratch_dir(tag);

	snprintf(run_dir, sizeof(run_dir), "%s/run", base);
	snprintf(state_dir, sizeof(state_dir), "%s/state", base);
	FZ_CHECK(mkdir(run_dir, 0755) == 0, "mkdir %s", run_dir);
	nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	FZ_CHECK(nullfd >= 0, "/dev/null");
	host.kind = HOST_TPM_KEYFILE;
	snprintf(host.path, sizeof(host.path), "keyfile:%s/none", base);
	buf_init(&fifo_carry, 1024 * 1024);
}

void
fx_begin(unsigned auto_flags)
{
	struct mgr *m;
	char err[1024];

	base_fds = fz_count_fds();
	autof = auto_flags;
	fx_m = m = calloc(1, sizeof(*m));
	FZ_CHECK(m != NULL, "calloc");
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	m->sigfd = m->runlock_fd = m->adopt_dirfd = -1; /* no restart survival here */
	m->ctl_ev.fd = -1;
	m->fifo.in_fd = m->fifo.out_fd = m->fifo.lock_fd = m->fifo.dir_fd = -1;
	m->reserve_fd = m->admin_reserve_fd = -1; /* (no fd shedding here) */
	m->nofile = 1024;
	frontends_hook(m);
	m->cfg.max_connections = 64;
	snprintf(m->cfg.run_dir, sizeof(m->cfg.run_dir), "%s", run_dir);
	m->run_dirfd = open(run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	FZ_CHECK(m->run_dirfd >= 0, "open %s", run_dir);
	snprintf(m->cfg.state_dir, sizeof(m->cfg.state_dir), "%s", state_dir);
	snprintf(m->cfg.vtpmd_path, sizeof(m->cfg.vtpmd_path), "/nonexistent/vtpmd");
	m->cfg.backend_fifo = 1;
	m->cfg.foreground = 1;
	m->cfg.log_level = LOG_LVL_ERROR;
	m->cfg.socket_gid = (gid_t)-1;
	m->cfg.max_conns_per_vtpm = 4;
	m->cfg.rollback_interval = 60;
	m->host = &host;

	fz_empty_dir(state_dir);
	(void)rmdir(state_dir);
	FZ_CHECK(store_open(&m->store, state_dir, fx_master, err, sizeof(err)) == 0, "store: %s",
		 err);
	FZ_CHECK(commit_init(m, &host, 0, err, sizeof(err)) == 0, "commit: %s", err);
	FZ_CHECK(worker_init(m, 2, err, sizeof(err)) == 0, "worker: %s", err);
	m->manifest.next_instance = 3;
	FZ_CHECK(ctl_open(m, err, sizeof(err)) == 0, "ctl_open: %s", err);
	FZ_CHECK(fifo_open(m, err, sizeof(err)) == 0, "fifo_open: %s", err);
	for (int i = 0; i < 2; i++) {
		struct manifest_entry me;

		memset(&me, 0, sizeof(me));
		memcpy(me.uuid, fx_uuid[i], UUID_LEN);
		me.instance = (uint32_t)i + 1;
		me.tpm_version = i == 0 ? 2 : 1;
		me.flags = MF_PRESENCE_KNOWN;
		me.owner_uid = me.owner_gid = MANIFEST_NO_OWNER;
		me.created = me.updated = 1;
		FZ_CHECK(store_vtpm_create(&m->store, me.uuid) == 0, "store_vtpm_create");
		FZ_CHECK(vtpm_add(m, &me, err, sizeof(err)) != NULL, "vtpm_add: %s", err);
	}
	FZ_CHECK(manifest_sync(m) == 0, "manifest_sync");
	buf_reset(&fifo_carry);
	fake_on = 1;
}

void
fx_end(void)
{
	struct mgr *m = fx_m;
	int n;

	for (int i = 0; i < NDATA; i++)
		close_fd(&data_fd[i]);
	for (int i = 0; i < NCTRL; i++)
		close_fd(&ctrl_fd[i]);
	for (int i = 0; i < NCTL; i++)
		ctl_close_slot(i);
	fx_settle();
	/* Every vtpmd exits; the manager must notice each channel closing.
	 * A connection still queued on a vTPM's data socket (our vtpmds do
	 * not accept) makes the manager start a new vtpmd for it, as it
	 * should: let those exit too. */
	for (int round = 0; round < 8; round++) {
		int open_ch = 0;

		for (int i = 0; i < NFAKE; i++)
			fake_close(&fakes[i]);
		fx_settle();
		for (struct vtpm *v = m->vtpms; v != NULL; v = v->next)
			open_ch |= v->ch.fd >= 0;
		if (!open_ch)
			break;
	}
	for (struct vtpm *v = m->vtpms; v != NULL; v = v->next)
		FZ_CHECK(v->ch.fd < 0, "vtpm %s: channel still open after its vtpmd exited",
			 v->uuid_str);
	FZ_CHECK(buf_avail(&fifo_carry) == 0, "%zu bytes of a truncated FIFO reply",
		 buf_avail(&fifo_carry));
	fake_on = 0;

	/* main.c cleanup(), minus the processes. */
	(void)manifest_sync(m);
	commit_shutdown(m);
	worker_shutdown(m);
	while (m->vtpms != NULL)
		vtpm_free(m, m->vtpms);
	if (m->fifo_enabled)
		fifo_close(m);
	ctl_close(m);
	mgr_release_deferred(m);
	free(m->grave);
	store_close(&m->store);
	manifest_free(&m->manifest);
	close(m->run_dirfd);
	close(m->epfd);
	/* A vtpmctl client that left refills the admin reserve (loop.c). */
	if (m->reserve_fd >= 0)
		close(m->reserve_fd);
	if (m->admin_reserve_fd >= 0)
		close(m->admin_reserve_fd);
	free(m);
	fx_m = NULL;
	n = fz_count_fds();
	FZ_CHECK(n == base_fds, "fd leak: %d open, %d before the input", n, base_fds);
}

/* ------------------------------------------------------------------ ops */

static size_t
take(const uint8_t **d, size_t *n, const uint8_t **p)
{
	size_t len;

	if (*n < 2) {
		*p = *d;
		*d += *n;
		len = 0;
		*n = 0;
		return len;
	}
	len = be16_get(*d);
	*d += 2;
	*n -= 2;
	if (len > *n)
		len = *n;
	*p = *d;
	*d += len;
	*n -= len;
	return len;
}

static int
take_u8(const uint8_t **d, size_t *n, uint8_t *v)
{
	if (*n == 0)
		return -1;
	*v = **d;
	(*d)++;
	(*n)--;
	return 0;
}

static void
sock_path(const struct vtpm *v, const char *suffix, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/%s.sock%s", run_dir, v->uuid_str, suffix);
}

void
fx_run_ops(const uint8_t *d, size_t n, uint32_t mask)
{
	static int debug = -1, no_batch;
	char path[4200];
	unsigned steps = 0;
	int hold = 0;

	if (debug < 0) {
		debug = getenv("FUZZ_DEBUG") != NULL; /* trace ops on stderr */
		/* FUZZ_SKIP_KNOWN=batch: no two events in one loop batch from
		 * one op, and no vtpmd dying right after a send (F2, F3). */
		no_batch = skip_known("batch");
	}

	while (n > 0 && steps++ < 200) {
		uint8_t op = *d, t = 0;
		unsigned code = op & 15, arg = op >> 4;
		const uint8_t *p = NULL;
		size_t len = 0;
		struct vtpm *v;
		struct fake *f;
		int on;

		d++;
		n--;
		/* Operands first, so that masking an op keeps the stream's
		 * alignment. */
		switch (code) {
		case OP_VTPMD_MSG:
		case OP_CTL_SEND:
			if (take_u8(&d, &n, &t) != 0)
				return;
			if (code == OP_CTL_SEND && (arg & 4))
				break;
			/* fall through */
		case OP_VTPMD_RAW:
		case OP_CTRL_WRITE:
		case OP_CTL_RAW:
		case OP_FIFO_WRITE:
			len = take(&d, &n, &p);
			break;
		default:
			break;
		}
		on = ((mask >> code) & 1) || code == OP_NOP; /* scheduling: always */
		if (debug) {
			v = vtpm_nth(arg & 1);
			fprintf(stderr, "op %u arg %x len %zu%s: vtpm %s ch %d fake %p\n", code, arg,
				len, on ? "" : " (masked)", v != NULL ? v->uuid_str : "-",
				v != NULL ? v->ch.fd : -1, (void *)fake_of(v));
		}
		if (!on)
			continue;
		switch (code) {
		case OP_VTPMD_RAW:
			if ((f = fake_of(vtpm_nth(arg & 1))) != NULL) {
				send_raw(f->ch.fd, p, len, (int)((arg >> 1) & 3));
				if (len >= CHAN_HDR_SIZE && be32_get(p + 4) == len - CHAN_HDR_SIZE)
					fake_track(f, be32_get(p));
				if ((arg & 8) && !no_batch)
					fake_close(f); /* and dies before the manager reads it */
			}
			break;
		case OP_VTPMD_MSG:
			if ((f = fake_of(vtpm_nth(arg & 1))) != NULL) {
				uint32_t type = t < 0x80 ? 64u + t % 7u : (uint32_t)(t & 0x7f);
				(void)fake_send(f, type, p, len, (arg >> 1) & 1);
				if ((arg & 4) && !no_batch)
					fake_close(f);
			}
			break;
		case OP_VTPMD_ANSWER:
			if ((f = fake_of(vtpm_nth(arg & 1))) != NULL)
				(void)fake_answer(f, arg >> 1);
			break;
		case OP_VTPMD_CLOSE:
			if ((f = fake_of(vtpm_nth(arg & 1))) != NULL) {
				if (arg & 2)
					(void)fake_answer(f, arg >> 2); /* its last words */
				fake_close(f);
			}
			break;
		case OP_SPAWN:
			if ((v = vtpm_nth(arg & 1)) != NULL)
				(void)vtpm_spawn(fx_m, v, (arg >> 1) & 1);
			break;
		case OP_DATA_CONNECT:
			if ((v = vtpm_nth(arg & 1)) != NULL) {
				int slot = (int)((arg >> 1) & 3);
				close_fd(&data_fd[slot]);
				sock_path(v, "", path, sizeof(path));
				data_fd[slot] = connect_unix(path, SOCK_STREAM);
			}
			break;
		case OP_CTRL_CONNECT:
			if ((v = vtpm_nth((arg >> 2) & 1)) != NULL) {
				close_fd(&ctrl_fd[arg & 3]);
				sock_path(v, ".ctrl", path, sizeof(path));
				ctrl_fd[arg & 3] = connect_unix(path, SOCK_STREAM);
			}
			break;
		case OP_CTRL_WRITE:
			if (ctrl_fd[arg & 3] >= 0)
				send_raw(ctrl_fd[arg & 3], p, len, (arg >> 2) & 1);
			break;
		case OP_CTRL_CLOSE:
			if (arg & 4) {
				if (ctrl_fd[arg & 3] >= 0)
					(void)shutdown(ctrl_fd[arg & 3], SHUT_WR);
			} else {
				close_fd(&ctrl_fd[arg & 3]);
			}
			break;
		case OP_CTL_CONNECT: {
			int slot = (int)(arg % NCTL), fd;
			ctl_close_slot(slot);
			snprintf(path, sizeof(path), "%s/%s", run_dir, CTL_SOCKET_NAME);
			if ((fd = connect_unix(path, SOCK_SEQPACKET)) >= 0)
				FZ_CHECK(chan_init(&ctl_ch[slot], fd) == 0, "chan_init");
			break;
		}
		case OP_CTL_SEND: {
			int slot = (int)((arg & 3) % NCTL);
			uint32_t type = t < 0x80 ? 1u + t % 6u : (uint32_t)(t & 0x7f);
			if (ctl_ch[slot].fd < 0)
				break;
			if (arg & 4) {
				if ((v = vtpm_nth(arg >> 3)) != NULL)
					(void)chan_send(ctl_ch[slot].fd, type, v->me.uuid, UUID_LEN,
							NULL, 0, -1);
			} else {
				(void)chan_send(ctl_ch[slot].fd, type, p, len, NULL, 0, -1);
			}
			break;
		}
		case OP_CTL_RAW: {
			int slot = (int)((arg & 3) % NCTL);
			if (ctl_ch[slot].fd >= 0)
				send_raw(ctl_ch[slot].fd, p, len, (int)(arg >> 2));
			break;
		}
		case OP_CTL_CLOSE:
			ctl_close_slot((int)(arg % NCTL));
			break;
		case OP_FIFO_WRITE:
			fx_fifo_write(p, len);
			break;
		case OP_TICK:
			vtpm_check_deadlines(fx_m);
			commit_tick(fx_m);
			fifo_tick(fx_m);
			sockets_tick(fx_m);
			break;
		case OP_NOP:
			/* arg bit 0: the next op's effects land in the same
			 * epoll_wait batch as this point's (two clients at once). */
			if ((arg & 1) && !no_batch) {
				hold = 1;
				continue;
			}
			break;
		default:
			break;
		}
		if (hold) {
			hold = 0;
			continue;
		}
		fx_settle();
	}
}
