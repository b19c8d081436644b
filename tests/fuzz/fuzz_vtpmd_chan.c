/*
 * fuzz_vtpmd_chan.c - the manager <-> vtpmd channel, vtpmd side: what a
 * vtpmd does with every packet the manager sends.  Real code: chan_recv
 * (util/chan.c), vtpm/chanio.c (chanio_recv, chanio_check_request, the
 * deferred queue, chanio_call), vtpm/adopt.c (held descriptors; no adopt
 * socket, so a lost manager ends the vtpmd), vtpm/nvram.c (NV_DATA/NV_STATUS
 * replies to the NV callbacks), vtpm/ctrl.c ctrl_handle (the CHAN_CTRL
 * payload, i.e. the swtpm control request bodies) and vtpm/tpm.c.
 *
 * Harness glue (vtpm/vtpmd.c has main() and keeps its dispatch static, so
 * it is not linked): the vtpmd's context (struct vtpmd, made afresh for
 * each input, with no data connections and a cleanup that does nothing),
 * dispatch()/handle_tpm_cmd() copied from vtpmd.c's main loop (channel
 * part only), and flight.c's flight_fd (no flight record).  Link-time wraps:
 *   _exit            longjmps back here: every protocol violation ends the
 *                    vtpmd with _exit(1), channel EOF with _exit(0);
 *   tpm_power_on     libtpms is not powered on (this target fuzzes our
 *                    parsers, not libtpms): CMD_INIT performs the NV traffic
 *                    of a power-on (load permall and volatilestate, delete
 *                    volatilestate for DELETE_VOLATILE, store permall) over
 *                    the channel, then reports failure so the TPM stays off;
 *   TPMLIB_RegisterCallbacks  captures nvram.c's callbacks so the harness
 *                    can call the static NV load callback like libtpms does;
 *   log_msg          quiet.
 *
 * Input: u8 flags | packets.  flags bit 0: TPM 2.0; bit 1: the vtpmd is
 * inside an NV request when the packets arrive (bits 2-3: load, store or
 * delete), as when libtpms saves state in the middle of a command; then
 * the main loop.  Packet: u8 kind | u16 len | bytes.  kind bit 7: raw
 * packet with (kind & 3) fds; else a well-formed message with an fd when
 * bit 6 is set, type 1 + (kind & 63) % 12 (manager->vtpmd types) for
 * kind & 63 < 56, else a vtpmd->manager type.
 *
 * Checked (on the manager's end of the socketpair): every message the
 * vtpmd sends passes the manager's own checks in manager/supervise.c
 * (handle_msg): CTRL_RESP fits ctrl_check_response() for the command it
 * answers, TPM_RESP is one TPM packet, NV requests name a known blob with
 * the documented layout.  And no fd or memory leaks.
 */
#include "tests/fuzz/common.h"
#include "vtpm/vtpmd_int.h"

#include "crypto/blobfmt.h"
#include "util/buf.h"
#include "util/ctrl_proto.h"

#include <libtpms/tpm_error.h>
#include <libtpms/tpm_library.h>
#include <libtpms/tpm_memory.h>
#include <libtpms/tpm_nvfilename.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static struct vtpmd ctx;

static jmp_buf jb;
static int armed;
static struct libtpms_callbacks cbs;
static int nullfd = -1;
static int mgr_fd = -1;
static struct chan mgr_ch;
static struct qmsg cur = { 0, 0, NULL, -1 };
static uint32_t expect_cmd; /* the control command being answered */
static struct chan_msg rmsg; /* the main loop's message */
static int rmsg_owned;       /* received, not yet deferred */
static unsigned char base_fd[1024]; /* open before the input */
static int in_ctrl;

void __real__exit(int status) __attribute__((noreturn));
void __wrap__exit(int status) __attribute__((noreturn));
TPM_RESULT __wrap_tpm_power_on(struct vtpmd *vd, uint32_t init_flags);
TPM_RESULT __wrap_TPMLIB_RegisterCallbacks(struct libtpms_callbacks *c);

void
__wrap__exit(int status)
{
	if (armed) {
		armed = 0;
		longjmp(jb, 1 + (status & 0xff));
	}
	__real__exit(status);
}

TPM_RESULT
__wrap_TPMLIB_RegisterCallbacks(struct libtpms_callbacks *c)
{
	cbs = *c;
	return TPM_SUCCESS;
}

static TPM_RESULT
nv_load(const char *name)
{
	unsigned char *data = NULL;
	uint32_t len = 0;
	TPM_RESULT rc = cbs.tpm_nvram_loaddata(&data, &len, 0, name);

	if (rc == TPM_SUCCESS)
		FZ_CHECK(data != NULL && len != 0, "NV load succeeded without data");
	else
		FZ_CHECK(data == NULL, "NV load failed but returned data");
	if (data != NULL) {
		memset(data, 0, len);
		TPM_Free(data);
	}
	return rc;
}

TPM_RESULT
__wrap_tpm_power_on(struct vtpmd *vd, uint32_t init_flags)
{
	static const unsigned char state[] = "permanent state";
	TPM_RESULT rc = nv_load(TPM_PERMANENT_ALL_NAME);

	if (rc != TPM_SUCCESS && rc != TPM_RETRY)
		return rc;
	if (init_flags & PTM_INIT_FLAG_DELETE_VOLATILE)
		rc = nvram_delete(vd, TPM_VOLATILESTATE_NAME, 0);
	else
		rc = nv_load(TPM_VOLATILESTATE_NAME);
	if (rc != TPM_SUCCESS && rc != TPM_RETRY)
		return rc;
	rc = nvram_store(vd, TPM_PERMANENT_ALL_NAME, state, sizeof(state));
	return rc != TPM_SUCCESS ? rc : TPM_FAIL;
}

/* The manager's side: reads what the vtpmd sent and applies the checks
 * manager/supervise.c handle_msg() applies before trusting it. */
static void
mgr_drain(void)
{
	struct chan_msg m;
	int r;

	for (;;) {
		r = chan_recv(&mgr_ch, &m);
		if (r == VERR_AGAIN || r == VERR_EOF)
			return;
		FZ_CHECK(r == 0, "vtpmd sent a malformed channel packet (%d)", r);
		FZ_CHECK(m.fd < 0, "vtpmd sent an fd");
		switch (m.type) {
		case CHAN_CTRL_RESP:
			FZ_CHECK(in_ctrl, "CTRL_RESP without a control request");
			FZ_CHECK(ctrl_check_response(expect_cmd, m.data, m.len) == 0,
				 "CTRL_RESP of %u bytes to command 0x%x fails ctrl_check_response",
				 m.len, expect_cmd);
			in_ctrl = 0;
			break;
		case CHAN_TPM_RESP:
			FZ_CHECK(tpm_frame_exact(m.data, m.len, TPM_FRAME_MAX) == 0,
				 "TPM_RESP is not one TPM packet");
			break;
		case CHAN_STOPPED:
		case CHAN_READY:
			FZ_CHECK(m.len == 4, "READY/STOPPED of %u bytes", m.len);
			break;
		case CHAN_NV_LOAD:
			FZ_CHECK(blob_index_of((const char *)m.data, m.len) >= 0, "NV_LOAD name");
			break;
		case CHAN_NV_STORE:
			FZ_CHECK(m.len >= 1 && m.len - 1 >= m.data[0] &&
					 blob_index_of((const char *)m.data + 1, m.data[0]) >= 0,
				 "NV_STORE layout");
			break;
		case CHAN_NV_DELETE:
			FZ_CHECK(m.len >= 2 && m.data[0] <= 1 &&
					 blob_index_of((const char *)m.data + 1, m.len - 1) >= 0,
				 "NV_DELETE layout");
			break;
		default:
			FZ_CHECK(0, "vtpmd sent message type %u", m.type);
		}
	}
}

/* vtpmd.c handle_tpm_cmd(). */
static void
handle_tpm_cmd(struct vtpmd *vd, struct qmsg *q)
{
	uint8_t err[TPM_HDR_SIZE];
	const uint8_t *resp;
	uint32_t rlen;

	if (q->data == NULL || tpm_frame_exact(q->data, q->len, vd->bufsize) != 0) {
		tpm_bad_frame_response(vd, err, q->data, q->len);
		resp = err;
		rlen = sizeof(err);
	} else {
		tpm_execute(vd, q->data, q->len, &resp, &rlen);
	}
	(void)chanio_send(vd, CHAN_TPM_RESP, resp, rlen, NULL, 0);
}

/* vd->cleanup: nothing of vtpmd.c's to release here. */
static void
cleanup_nothing(struct vtpmd *vd)
{
	(void)vd;
}

int
flight_fd(void)
{
	return -1;
}

/* vtpmd.c dispatch(), minus the data connections (their fds are closed)
 * and the exits (returned as 1). */
static int
dispatch(struct vtpmd *vd, struct qmsg *q)
{
	uint8_t out[4];
	int quit = 0;

	switch (q->type) {
	case CHAN_CTRL:
		expect_cmd = be32_get(q->data);
		in_ctrl = 1;
		quit = ctrl_handle(vd, q->data, q->len);
		mgr_drain();
		FZ_CHECK(!in_ctrl, "control command 0x%x got no CTRL_RESP", expect_cmd);
		break;
	case CHAN_TPM_CMD:
		handle_tpm_cmd(vd, q);
		break;
	case CHAN_LISTEN_FD:
	case CHAN_DATA_FD:
		break;
	case CHAN_ADOPT_SOCK:
		adopt_set_sock(vd, q->fd);
		q->fd = -1;
		break;
	case CHAN_HOLD_FD:
		adopt_hold(vd, be32_get(q->data), be32_get(q->data + 4), q->fd);
		q->fd = -1;
		break;
	case CHAN_RELEASE_FD:
		adopt_release(vd, be32_get(q->data), be32_get(q->data + 4));
		break;
	case CHAN_DETACH:
		qmsg_free(q);
		chanio_manager_lost(vd, "detached");
		break;
	case CHAN_STOP:
		be32_put(out, 0);
		(void)chanio_send(vd, CHAN_STOPPED, out, sizeof(out), NULL, 0);
		quit = 1;
		break;
	default:
		FZ_CHECK(0, "chanio_check_request let type %u through", q->type);
	}
	qmsg_free(q);
	return quit;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nullfd < 0 || nvram_register(&ctx) != TPM_SUCCESS || cbs.tpm_nvram_loaddata == NULL)
		abort();
	return 0;
}

static void
send_raw(const uint8_t *p, size_t len, int nfds)
{
	struct iovec iov = { (void *)(uintptr_t)p, len };
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * 4)];
	} cm;
	struct msghdr mh;
	int fds[4];

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
	(void)sendmsg(mgr_fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
}

static void
mark_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	memset(base_fd, 0, sizeof(base_fd));
	while (d != NULL && (de = readdir(d)) != NULL) {
		int fd = atoi(de->d_name);
		if (de->d_name[0] != '.' && fd != dirfd(d) && fd >= 0 && fd < (int)sizeof(base_fd))
			base_fd[fd] = 1;
	}
	if (d != NULL)
		closedir(d);
}

static void
close_new_fds(void)
{
	for (int fd = 0; fd < (int)sizeof(base_fd); fd++)
		if (!base_fd[fd] && fcntl(fd, F_GETFD) >= 0)
			close(fd);
}

/* Queues the input's packets on the manager's end, then half-closes it:
 * the vtpmd reads them all, then sees EOF. */
static void
send_packets(const uint8_t *d, size_t n)
{
	while (n >= 3) {
		uint8_t kind = d[0];
		size_t len = be16_get(d + 1);

		d += 3;
		n -= 3;
		if (len > n)
			len = n;
		if (kind & 0x80) {
			send_raw(d, len, kind & 3);
		} else {
			unsigned sel = kind & 63;
			uint32_t type = sel < 56 ? 1 + sel % 12 : 64 + (sel - 56);
			int fd = (kind & 0x40) ? dup(nullfd) : -1;

			(void)chan_send(mgr_fd, type, d, len, NULL, 0, fd);
			if (fd >= 0)
				close(fd);
		}
		d += len;
		n -= len;
	}
	(void)shutdown(mgr_fd, SHUT_WR);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char blob[] = "volatile state";
	struct vtpmd *vd = &ctx;
	int sv[2], base = fz_count_fds(), how;
	uint32_t min, max;

	if (size < 1)
		return 0;
	FZ_CHECK(chan_socketpair(sv) == 0, "socketpair: %s", strerror(errno));
	memset(vd, 0, sizeof(*vd));
	vd->is_tpm2 = data[0] & 1;
	vd->listen_fd = -1;
	vd->adopt_fd = -1;
	vd->cleanup = cleanup_nothing;
	vd->bufsize = TPMLIB_SetBufferSize(TPM_FRAME_MAX, &min, &max);
	FZ_CHECK(chan_init(&vd->chan, sv[0]) == 0, "chan_init");
	mgr_fd = sv[1];
	(void)fcntl(mgr_fd, F_SETFL, O_NONBLOCK);
	FZ_CHECK(chan_init(&mgr_ch, mgr_fd) == 0, "chan_init");
	in_ctrl = 0;
	rmsg_owned = 0;
	mark_fds();
	send_packets(data + 1, size - 1);

	armed = 1;
	how = setjmp(jb);
	if (how == 0) {
		if (data[0] & 2) {
			switch ((data[0] >> 2) & 3) {
			case 0:
				(void)nv_load(TPM_SAVESTATE_NAME);
				break;
			case 1:
				(void)nvram_store(vd, TPM_VOLATILESTATE_NAME, blob, sizeof(blob));
				break;
			default:
				(void)nvram_delete(vd, TPM_VOLATILESTATE_NAME, (data[0] >> 3) & 1);
				break;
			}
			mgr_drain();
		}
		/* vtpmd.c main_loop(), channel part. */
		for (int steps = 0; steps < 256; steps++) {
			while (chanio_pop(vd, &cur) == 0) {
				if (dispatch(vd, &cur))
					goto quit;
				mgr_drain();
			}
			rmsg.fd = -1;
			chanio_recv(vd, &rmsg);
			rmsg_owned = 1;
			chanio_check_request(&rmsg);
			chanio_defer(vd, &rmsg);
			rmsg_owned = 0;
		}
	}
quit:
	armed = 0;
	mgr_drain();
	/* Everything a vtpmd would release at exit. */
	qmsg_free(&cur);
	while (chanio_pop(vd, &cur) == 0)
		qmsg_free(&cur);
	if (vd->listen_fd >= 0)
		close(vd->listen_fd);
	adopt_close_all(vd);
	freezero(vd->rbuf, vd->rbufsize);
	if (rmsg_owned && rmsg.fd >= 0)
		close(rmsg.fd);
	chan_close(&vd->chan);
	chan_close(&mgr_ch);
	mgr_fd = -1;
	/* _exit(): the process would end here, taking every fd with it
	 * (e.g. one that arrived with a rejected NV reply inside nvram.c). */
	if (how != 0)
		close_new_fds();
	FZ_CHECK(fz_count_fds() == base, "fd leak: %d open, %d before", fz_count_fds(), base);
	return 0;
}
