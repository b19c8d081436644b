/*
 * tpmclient.c - blocking TPM / swtpm-control / FIFO client for the test
 * tools and the benchmark; see tpmclient.h.  Every size read from the
 * program under test is range-checked before use.
 */
#include "tests/lib/tpmclient.h"

#include "util/buf.h"
#include "util/ctrl_proto.h"
#include "util/fileio.h"
#include "util/tpm_frame.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CTRL_TAIL_WAIT_MS 200

uint64_t
tc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t
deadline_after(int timeout_ms)
{
	if (timeout_ms <= 0)
		return 0;
	return tc_now_ns() + (uint64_t)timeout_ms * 1000000u;
}

/* One non-blocking connect attempt; -EAGAIN when the listen backlog is
 * full (a blocking connect would then hang until the server accepts). */
static int
connect_once(const char *path)
{
	struct sockaddr_un sa;
	size_t n = strlen(path);
	int fd, e, flags;

	if (n >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, n + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		e = errno;
		close(fd);
		return -e;
	}
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
		e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static int
connect_until(const char *path, uint64_t deadline, int retry_absent)
{
	struct timespec pause = { 0, 200000 };
	int fd;

	for (;;) {
		fd = connect_once(path);
		if (fd >= 0)
			return fd;
		if (fd != -EAGAIN && !(retry_absent && (fd == -ENOENT || fd == -ECONNREFUSED)))
			return fd;
		if (tc_now_ns() >= deadline)
			return fd == -EAGAIN ? -ETIMEDOUT : fd;
		nanosleep(&pause, NULL);
	}
}

int
tc_connect(const char *path)
{
	return connect_until(path, deadline_after(TC_TIMEOUT_MS), 0);
}

int
tc_connect_retry(const char *path, int timeout_ms)
{
	return connect_until(path, deadline_after(timeout_ms > 0 ? timeout_ms : 1), 1);
}

int
tc_send(int fd, const void *p, size_t len)
{
	return write_full(fd, p, len);
}

int
tc_recv_exact(int fd, void *p, size_t len, uint64_t deadline_ns, size_t *got)
{
	uint8_t *b = p;
	size_t done = 0;
	int rc = 0;

	while (done < len) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int wait_ms = -1, pr;
		ssize_t n;

		if (deadline_ns != 0) {
			uint64_t now = tc_now_ns();
			if (now >= deadline_ns) {
				rc = -ETIMEDOUT;
				break;
			}
			/* Round up so a sub-millisecond remainder still waits. */
			wait_ms = (int)((deadline_ns - now + 999999u) / 1000000u);
		}
		pr = poll(&pfd, 1, wait_ms);
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		if (pr == 0)
			continue; /* the deadline check above ends the loop */
		n = read(fd, b + done, len - done);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			rc = -errno;
			break;
		}
		if (n == 0) {
			rc = -EPIPE;
			break;
		}
		done += (size_t)n;
	}
	if (got != NULL)
		*got = done;
	return rc;
}

static int
recv_tpm_packet(int fd, uint8_t *resp, size_t respmax, size_t *resplen, uint64_t deadline,
		size_t *got)
{
	uint8_t hdr[TPM_HDR_SIZE];
	size_t n = 0, m = 0;
	uint32_t size = 0;
	int rc;

	if (got != NULL)
		*got = 0;
	rc = tc_recv_exact(fd, hdr, sizeof(hdr), deadline, &n);
	if (got != NULL)
		*got = n;
	if (rc != 0)
		return rc;
	if (tpm_frame_check(hdr, sizeof(hdr), TPM_FRAME_MAX, &size) == TPM_FRAME_BAD) {
		if (respmax >= sizeof(hdr)) {
			memcpy(resp, hdr, sizeof(hdr));
			*resplen = sizeof(hdr);
		}
		return -EBADMSG;
	}
	if (size > respmax)
		return -EMSGSIZE;
	memcpy(resp, hdr, sizeof(hdr));
	rc = tc_recv_exact(fd, resp + sizeof(hdr), size - sizeof(hdr), deadline, &m);
	if (got != NULL)
		*got = n + m;
	if (rc != 0)
		return rc;
	*resplen = size;
	return 0;
}

int
tc_tpm_recv(int fd, uint8_t *resp, size_t respmax, size_t *resplen, int timeout_ms, size_t *got)
{
	return recv_tpm_packet(fd, resp, respmax, resplen, deadline_after(timeout_ms), got);
}

int
tc_tpm_transact(int fd, const uint8_t *cmd, size_t cmdlen, uint8_t *resp, size_t respmax,
		size_t *resplen, int timeout_ms)
{
	int rc = tc_send(fd, cmd, cmdlen);

	if (rc != 0)
		return rc;
	return tc_tpm_recv(fd, resp, respmax, resplen, timeout_ms, NULL);
}

uint32_t
tc_tpm_rc(const uint8_t *resp, size_t len)
{
	if (len < TPM_HDR_SIZE)
		return UINT32_MAX;
	return be32_get(resp + 6);
}

/* ---- control channel ------------------------------------------------- */

static const struct {
	const char *short_name;
	const char *long_name;
	uint32_t code;
} ctrl_names[] = {
	{ "getcap", "GET_CAPABILITY", CMD_GET_CAPABILITY },
	{ "init", "INIT", CMD_INIT },
	{ "shutdown", "SHUTDOWN", CMD_SHUTDOWN },
	{ "gettpmest", "GET_TPMESTABLISHED", CMD_GET_TPMESTABLISHED },
	{ "setlocality", "SET_LOCALITY", CMD_SET_LOCALITY },
	{ "hashstart", "HASH_START", CMD_HASH_START },
	{ "hashdata", "HASH_DATA", CMD_HASH_DATA },
	{ "hashend", "HASH_END", CMD_HASH_END },
	{ "cancel", "CANCEL_TPM_CMD", CMD_CANCEL_TPM_CMD },
	{ "storevolatile", "STORE_VOLATILE", CMD_STORE_VOLATILE },
	{ "resettpmest", "RESET_TPMESTABLISHED", CMD_RESET_TPMESTABLISHED },
	{ "getstateblob", "GET_STATEBLOB", CMD_GET_STATEBLOB },
	{ "setstateblob", "SET_STATEBLOB", CMD_SET_STATEBLOB },
	{ "stop", "STOP", CMD_STOP },
	{ "getconfig", "GET_CONFIG", CMD_GET_CONFIG },
	{ "setdatafd", "SET_DATAFD", CMD_SET_DATAFD },
	{ "setbuffersize", "SET_BUFFERSIZE", CMD_SET_BUFFERSIZE },
	{ "getinfo", "GET_INFO", CMD_GET_INFO },
	{ "lockstorage", "LOCK_STORAGE", CMD_LOCK_STORAGE },
};

long
tc_ctrl_code(const char *name)
{
	size_t i;
	char *end;
	unsigned long v;

	for (i = 0; i < sizeof(ctrl_names) / sizeof(ctrl_names[0]); i++)
		if (strcasecmp(name, ctrl_names[i].short_name) == 0 ||
		    strcasecmp(name, ctrl_names[i].long_name) == 0)
			return (long)ctrl_names[i].code;
	errno = 0;
	v = strtoul(name, &end, 0);
	if (errno != 0 || end == name || *end != '\0' || v > UINT32_MAX)
		return -1;
	return (long)v;
}

size_t
tc_ctrl_reply_size(uint32_t cmd)
{
	switch (cmd) {
	case CMD_GET_CAPABILITY:
	case CMD_GET_TPMESTABLISHED:
	case CMD_GET_CONFIG:
		return 8;
	case CMD_SET_BUFFERSIZE:
		return 16;
	case CMD_GET_STATEBLOB:
	case CMD_GET_INFO:
		return 0;
	default:
		return 4;
	}
}

/* Reads up to want more bytes into p if they arrive before the deadline;
 * a short read is not an error.  Adds what arrived to *len. */
static int
read_tail(int fd, uint8_t *p, size_t want, uint64_t deadline, size_t *len)
{
	size_t got = 0;
	int rc = tc_recv_exact(fd, p, want, deadline, &got);

	*len += got;
	return (rc == -ETIMEDOUT || rc == -EPIPE) ? 0 : rc;
}

int
tc_ctrl_cmd(int fd, uint32_t cmd, const uint8_t *body, size_t bodylen, uint8_t *resp,
	    size_t respmax, size_t *resplen, int timeout_ms)
{
	uint64_t deadline = deadline_after(timeout_ms);
	uint64_t tail;
	struct buf req;
	size_t got = 0, want, more;
	uint32_t res, n;
	int rc;

	*resplen = 0;
	if (bodylen > CTRL_REQ_MAX)
		return -EMSGSIZE;
	buf_init(&req, 4 + bodylen);
	if (buf_put_u32(&req, cmd) != 0 || buf_put_bytes(&req, body, bodylen) != 0) {
		buf_free(&req);
		return -ENOBUFS;
	}
	rc = tc_send(fd, req.d, req.len);
	buf_free(&req);
	if (rc != 0)
		return rc;

	if (respmax < 16)
		return -EMSGSIZE;
	want = cmd == CMD_GET_CAPABILITY ? 8 : 4;
	rc = tc_recv_exact(fd, resp, want, deadline, &got);
	*resplen = got;
	if (rc != 0)
		return rc;
	if (cmd == CMD_GET_CAPABILITY)
		return 0;
	res = be32_get(resp);
	tail = tc_now_ns() + (uint64_t)CTRL_TAIL_WAIT_MS * 1000000u;
	if (deadline != 0 && deadline < tail)
		tail = deadline;

	if (cmd == CMD_GET_STATEBLOB || cmd == CMD_GET_INFO) {
		size_t fixed = cmd == CMD_GET_STATEBLOB ? 16 : 12;
		size_t lenoff = fixed - 4;

		if (res != 0)
			return read_tail(fd, resp + 4, fixed - 4, tail, resplen);
		rc = tc_recv_exact(fd, resp + 4, fixed - 4, deadline, &got);
		*resplen += got;
		if (rc != 0)
			return rc;
		n = be32_get(resp + lenoff);
		if (n > respmax - fixed)
			return -EMSGSIZE;
		rc = tc_recv_exact(fd, resp + fixed, n, deadline, &got);
		*resplen += got;
		return rc;
	}

	more = tc_ctrl_reply_size(cmd) - 4;
	if (more == 0)
		return 0;
	if (res != 0)
		return read_tail(fd, resp + 4, more, tail, resplen);
	rc = tc_recv_exact(fd, resp + 4, more, deadline, &got);
	*resplen += got;
	return rc;
}

/* ---- FIFO backend ---------------------------------------------------- */

int
tc_fifo_open(struct tc_fifo *f, const char *dir)
{
	char path[PATH_MAX];
	int flags, e;

	f->in = f->out = -1;
	/* Reply side first, read-write: the open never blocks, the manager
	 * always finds a reader, and we never see EOF between replies. */
	if ((size_t)snprintf(path, sizeof(path), "%s/out", dir) >= sizeof(path))
		return -ENAMETOOLONG;
	f->out = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (f->out < 0)
		return -errno;
	if ((size_t)snprintf(path, sizeof(path), "%s/in", dir) >= sizeof(path)) {
		tc_fifo_close(f);
		return -ENAMETOOLONG;
	}
	/* Non-blocking open fails with ENXIO when nobody reads: report that
	 * rather than hang.  Then switch to blocking writes. */
	f->in = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (f->in < 0) {
		e = errno;
		tc_fifo_close(f);
		return -e;
	}
	flags = fcntl(f->in, F_GETFL);
	if (flags < 0 || fcntl(f->in, F_SETFL, flags & ~O_NONBLOCK) < 0) {
		e = errno;
		tc_fifo_close(f);
		return -e;
	}
	return 0;
}

void
tc_fifo_close(struct tc_fifo *f)
{
	if (f->in >= 0)
		close(f->in);
	if (f->out >= 0)
		close(f->out);
	f->in = f->out = -1;
}

int
tc_fifo_send_raw(struct tc_fifo *f, const uint8_t *p, size_t len)
{
	return write_full(f->in, p, len);
}

int
tc_fifo_send(struct tc_fifo *f, uint32_t instance, const uint8_t *pkt, size_t len)
{
	uint8_t frame[4 + TPM_FRAME_MAX];

	if (len > TPM_FRAME_MAX)
		return -EMSGSIZE;
	be32_put(frame, instance);
	memcpy(frame + 4, pkt, len);
	return write_full(f->in, frame, 4 + len);
}

int
tc_fifo_recv(struct tc_fifo *f, uint32_t *instance, uint8_t *resp, size_t respmax,
	     size_t *resplen, int timeout_ms)
{
	uint64_t deadline = deadline_after(timeout_ms);
	uint8_t pfx[4];
	int rc;

	rc = tc_recv_exact(f->out, pfx, sizeof(pfx), deadline, NULL);
	if (rc != 0)
		return rc;
	*instance = be32_get(pfx);
	return recv_tpm_packet(f->out, resp, respmax, resplen, deadline, NULL);
}

int
tc_fifo_recv_for(struct tc_fifo *f, uint32_t instance, uint8_t *resp, size_t respmax,
		 size_t *resplen, int timeout_ms, unsigned *skipped)
{
	uint64_t deadline = deadline_after(timeout_ms);
	uint32_t inst;
	int rc, left;

	if (skipped != NULL)
		*skipped = 0;
	for (;;) {
		left = timeout_ms;
		if (deadline != 0) {
			uint64_t now = tc_now_ns();
			if (now >= deadline)
				return -ETIMEDOUT;
			left = (int)((deadline - now + 999999u) / 1000000u);
		}
		rc = tc_fifo_recv(f, &inst, resp, respmax, resplen, left);
		if (rc != 0 || inst == instance)
			return rc;
		if (skipped != NULL)
			(*skipped)++;
	}
}

/* ---- command builders ------------------------------------------------ */

#define PUT(x)                          \
	do {                            \
		if ((x) != 0)           \
			return -ENOBUFS; \
	} while (0)

static int
begin(struct buf *out, uint16_t tag, uint32_t cc)
{
	buf_reset(out);
	PUT(buf_put_u16(out, tag));
	PUT(buf_put_u32(out, 0)); /* size, patched by finish() */
	PUT(buf_put_u32(out, cc));
	return 0;
}

static int
finish(struct buf *out)
{
	if (out->len > TPM_FRAME_MAX)
		return -ENOBUFS;
	be32_put(out->d + 2, (uint32_t)out->len);
	return 0;
}

/* authorizationSize + one TPMS_AUTH_COMMAND: TPM_RS_PW, empty nonce,
 * continueSession, empty password. */
static int
put_pw_session(struct buf *out)
{
	PUT(buf_put_u32(out, 9));
	PUT(buf_put_u32(out, TC_TPM2_RS_PW));
	PUT(buf_put_u16(out, 0));
	PUT(buf_put_u8(out, 0x01));
	PUT(buf_put_u16(out, 0));
	return 0;
}

int
tc_build_tpm2_startup(struct buf *out, uint16_t su)
{
	PUT(begin(out, TPM2_ST_NO_SESSIONS, TC_TPM2_CC_STARTUP));
	PUT(buf_put_u16(out, su));
	return finish(out);
}

int
tc_build_tpm2_getrandom(struct buf *out, uint16_t n)
{
	PUT(begin(out, TPM2_ST_NO_SESSIONS, TC_TPM2_CC_GET_RANDOM));
	PUT(buf_put_u16(out, n));
	return finish(out);
}

int
tc_build_tpm2_pcr_extend_sha256(struct buf *out, uint32_t pcr, const uint8_t digest[32])
{
	PUT(begin(out, TPM2_ST_SESSIONS, TC_TPM2_CC_PCR_EXTEND));
	PUT(buf_put_u32(out, pcr));
	PUT(put_pw_session(out));
	PUT(buf_put_u32(out, 1)); /* TPML_DIGEST_VALUES.count */
	PUT(buf_put_u16(out, TC_TPM2_ALG_SHA256));
	PUT(buf_put_bytes(out, digest, 32));
	return finish(out);
}

int
tc_build_tpm2_nv_define(struct buf *out, uint32_t index, uint16_t size, uint32_t attrs)
{
	PUT(begin(out, TPM2_ST_SESSIONS, TC_TPM2_CC_NV_DEFINE));
	PUT(buf_put_u32(out, TC_TPM2_RH_OWNER));
	PUT(put_pw_session(out));
	PUT(buf_put_u16(out, 0)); /* TPM2B_AUTH: empty index password */
	/* TPM2B_NV_PUBLIC: nvIndex, nameAlg, attributes, authPolicy, dataSize */
	PUT(buf_put_u16(out, 4 + 2 + 4 + 2 + 2));
	PUT(buf_put_u32(out, index));
	PUT(buf_put_u16(out, TC_TPM2_ALG_SHA256));
	PUT(buf_put_u32(out, attrs));
	PUT(buf_put_u16(out, 0));
	PUT(buf_put_u16(out, size));
	return finish(out);
}

int
tc_build_tpm2_create_primary_rsa2048(struct buf *out, uint32_t unique)
{
	PUT(begin(out, TPM2_ST_SESSIONS, TC_TPM2_CC_CREATE_PRIMARY));
	PUT(buf_put_u32(out, TC_TPM2_RH_OWNER));
	PUT(put_pw_session(out));
	PUT(buf_put_u16(out, 4)); /* TPM2B_SENSITIVE_CREATE: empty auth, empty data */
	PUT(buf_put_u16(out, 0));
	PUT(buf_put_u16(out, 0));
	/* TPM2B_PUBLIC: RSA, SHA-256, fixedTPM|fixedParent|sensitiveDataOrigin|
	 * userWithAuth|restricted|decrypt, no policy, AES-128-CFB, no scheme,
	 * 2048 bits, default exponent, unique = 4 bytes. */
	PUT(buf_put_u16(out, 2 + 2 + 4 + 2 + 6 + 2 + 2 + 4 + 2 + 4));
	PUT(buf_put_u16(out, 0x0001));
	PUT(buf_put_u16(out, TC_TPM2_ALG_SHA256));
	PUT(buf_put_u32(out, 0x00030072));
	PUT(buf_put_u16(out, 0));
	PUT(buf_put_u16(out, 0x0006));
	PUT(buf_put_u16(out, 128));
	PUT(buf_put_u16(out, 0x0043));
	PUT(buf_put_u16(out, 0x0010));
	PUT(buf_put_u16(out, 2048));
	PUT(buf_put_u32(out, 0));
	PUT(buf_put_u16(out, 4));
	PUT(buf_put_u32(out, unique));
	PUT(buf_put_u16(out, 0)); /* outsideInfo */
	PUT(buf_put_u32(out, 0)); /* creationPCR: no selection */
	return finish(out);
}

int
tc_build_tpm2_flush_context(struct buf *out, uint32_t handle)
{
	PUT(begin(out, TPM2_ST_NO_SESSIONS, TC_TPM2_CC_FLUSH_CONTEXT));
	PUT(buf_put_u32(out, handle));
	return finish(out);
}

int
tc_build_tpm2_nv_undefine(struct buf *out, uint32_t index)
{
	PUT(begin(out, TPM2_ST_SESSIONS, TC_TPM2_CC_NV_UNDEFINE));
	PUT(buf_put_u32(out, TC_TPM2_RH_OWNER));
	PUT(buf_put_u32(out, index));
	PUT(put_pw_session(out));
	return finish(out);
}

int
tc_build_tpm2_nv_write(struct buf *out, uint32_t index, const uint8_t *data, uint16_t len,
		       uint16_t offset)
{
	PUT(begin(out, TPM2_ST_SESSIONS, TC_TPM2_CC_NV_WRITE));
	PUT(buf_put_u32(out, TC_TPM2_RH_OWNER));
	PUT(buf_put_u32(out, index));
	PUT(put_pw_session(out));
	PUT(buf_put_u16(out, len));
	PUT(buf_put_bytes(out, data, len));
	PUT(buf_put_u16(out, offset));
	return finish(out);
}

int
tc_build_tpm2_nv_read(struct buf *out, uint32_t index, uint16_t len, uint16_t offset)
{
	PUT(begin(out, TPM2_ST_SESSIONS, TC_TPM2_CC_NV_READ));
	PUT(buf_put_u32(out, TC_TPM2_RH_OWNER));
	PUT(buf_put_u32(out, index));
	PUT(put_pw_session(out));
	PUT(buf_put_u16(out, len));
	PUT(buf_put_u16(out, offset));
	return finish(out);
}

int
tc_build_tpm12_getrandom(struct buf *out, uint32_t n)
{
	PUT(begin(out, TPM12_TAG_RQU_COMMAND, TC_TPM12_ORD_GET_RANDOM));
	PUT(buf_put_u32(out, n));
	return finish(out);
}

/* ---- response parsers ------------------------------------------------ */

/* Header checks shared by the parsers: size field equals len, rc == 0. */
static int
check_resp(const uint8_t *resp, size_t len, uint16_t tag, uint32_t *rc)
{
	if (len < TPM_HDR_SIZE || be32_get(resp + 2) != len)
		return -EBADMSG;
	*rc = be32_get(resp + 6);
	if (*rc != 0)
		return -EPROTO;
	if (be16_get(resp) != tag)
		return -EBADMSG;
	return 0;
}

int
tc_parse_tpm2_getrandom(const uint8_t *resp, size_t len, const uint8_t **data, size_t *dlen,
			uint32_t *rc)
{
	struct buf r;
	uint16_t n;
	int e = check_resp(resp, len, TPM2_ST_NO_SESSIONS, rc);

	if (e != 0)
		return e;
	buf_init_reader(&r, resp, len);
	if (buf_skip(&r, TPM_HDR_SIZE) != 0 || buf_get_u16(&r, &n) != 0 ||
	    buf_get_direct(&r, data, n) != 0 || buf_avail(&r) != 0)
		return -EBADMSG;
	*dlen = n;
	return 0;
}

int
tc_parse_tpm2_nv_read(const uint8_t *resp, size_t len, const uint8_t **data, size_t *dlen,
		      uint32_t *rc)
{
	struct buf r;
	uint32_t psize;
	uint16_t n;
	int e = check_resp(resp, len, TPM2_ST_SESSIONS, rc);

	if (e != 0)
		return e;
	buf_init_reader(&r, resp, len);
	if (buf_skip(&r, TPM_HDR_SIZE) != 0 || buf_get_u32(&r, &psize) != 0 ||
	    psize > buf_avail(&r) || buf_get_u16(&r, &n) != 0 || (size_t)n + 2 > psize ||
	    buf_get_direct(&r, data, n) != 0)
		return -EBADMSG;
	*dlen = n;
	return 0;
}

int
tc_parse_tpm2_create_primary(const uint8_t *resp, size_t len, uint32_t *handle, uint32_t *rc)
{
	if (len < TPM_HDR_SIZE || be32_get(resp + 2) != len)
		return -EBADMSG;
	*rc = be32_get(resp + 6);
	if (*rc != 0)
		return -EPROTO;
	if (len < TPM_HDR_SIZE + 4 || be16_get(resp) != TPM2_ST_SESSIONS)
		return -EBADMSG;
	*handle = be32_get(resp + TPM_HDR_SIZE);
	return 0;
}

int
tc_parse_tpm12_getrandom(const uint8_t *resp, size_t len, const uint8_t **data, size_t *dlen,
			 uint32_t *rc)
{
	struct buf r;
	uint32_t n;
	int e = check_resp(resp, len, TPM12_TAG_RSP_COMMAND, rc);

	if (e != 0)
		return e;
	buf_init_reader(&r, resp, len);
	if (buf_skip(&r, TPM_HDR_SIZE) != 0 || buf_get_u32(&r, &n) != 0 ||
	    buf_get_direct(&r, data, n) != 0 || buf_avail(&r) != 0)
		return -EBADMSG;
	*dlen = n;
	return 0;
}

/* ---- hex ------------------------------------------------------------- */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long
tc_hex_decode(const char *s, uint8_t *out, size_t outmax)
{
	size_t n = 0;
	int hi = -1, v;

	for (; *s != '\0'; s++) {
		if (*s == ' ' || *s == ':' || *s == '\n' || *s == '\t')
			continue;
		if ((v = hexval((unsigned char)*s)) < 0)
			return -EINVAL;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n >= outmax)
			return -EMSGSIZE;
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	if (hi >= 0)
		return -EINVAL;
	return (long)n;
}

void
tc_hex_print(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		printf("%02x", p[i]);
	putchar('\n');
}
