/*
 * tpm12_transport.c - the byte path to the host's TPM 1.2; see
 * tpm12_transport.h.  Split out of tpm12_host.c unchanged in behaviour.
 *
 * Owns: the fd (close-on-exec; a socket gets send and receive timeouts so
 * a dead or wedged swtpm cannot hang the daemon) and the response buffer.
 * Trusts: the TPM's bytes as a frame only.  A stream reply is read as a
 * header, whose size is checked against TPM_FRAME_MAX before the rest is
 * read; a device reply is one read into a buffer one byte larger than the
 * largest frame, so an oversized one shows.  Either way the size in the
 * header must equal the bytes received.  A stream that may be out of step
 * (a failed exchange, or bytes waiting before a command) is never reused.
 * Only loopback TCP is dialled.  Never looks inside a response beyond its
 * header; the resend rule reads only the header's tag and code.
 */
#include "util/errmsg.h"
#include "tcs/tpm12_transport.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "tcs/tpm12_marshal.h"
#include "util/tpm_frame.h"

/* A dead or wedged swtpm must not hang the daemon for ever; a software
 * TPM answers even key generation in well under this. */
#define IO_TIMEOUT_SEC 30
/* TPM_RETRY / TPM_DOING_SELFTEST: resend after 20, 40, ... 320 ms. */
#define RETRY_ATTEMPTS 5
#define RETRY_FIRST_MS 20

enum transport { T_DEVICE, T_UNIX, T_TCP };

struct tpm12_transport {
	int fd;
	enum transport kind;
	char path[4096]; /* device or socket path */
	char host[256];
	char port[8];
	uint8_t rsp[TPM_FRAME_MAX + 1]; /* +1: an oversized device read shows */
};

static void
drop(struct tpm12_transport *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

static int
set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_SEC, .tv_usec = 0 };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0)
		return -1;
	return 0;
}

/* The data path carries unsealed secrets in clear, so TCP is only for a
 * swtpm on this host. */
static int
is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;

		return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
	}
	return 0;
}

static int
connect_tcp(struct tpm12_transport *t, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	int fd = -1, rc, saw_remote = 0, saved = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(t->host, t->port, &hints, &res);
	if (rc != 0) {
		seterr(err, errlen, "swtpm host %s: %s", t->host, gai_strerror(rc));
		return VERR_NOTPM;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (!is_loopback(ai->ai_addr)) {
			saw_remote = 1;
			continue;
		}
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		if (set_timeouts(fd) == 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		if (saved == 0 && saw_remote)
			seterr(err, errlen,
			       "swtpm host %s is not a loopback address (TPM traffic carries secrets "
			       "in clear)", t->host);
		else
			seterr(err, errlen, "cannot connect to swtpm at %s:%s: %s", t->host, t->port,
			       strerror(saved));
		return VERR_NOTPM;
	}
	t->fd = fd;
	return 0;
}

static int
reconnect(struct tpm12_transport *t, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	int fd;

	drop(t);
	switch (t->kind) {
	case T_DEVICE:
		fd = open(t->path, O_RDWR | O_CLOEXEC | O_NOCTTY);
		if (fd < 0 && errno == EBUSY) {
			/* The kernel allows one opener of /dev/tpm0. */
			seterr(err, errlen, "TPM device %s is held by another process (tcsd?)",
			       t->path);
			return VERR_BUSY;
		}
		if (fd < 0) {
			seterr(err, errlen, "cannot open TPM device %s: %s", t->path,
			       strerror(errno));
			return VERR_NOTPM;
		}
		t->fd = fd;
		return 0;
	case T_UNIX:
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		memcpy(sun.sun_path, t->path, strlen(t->path) + 1); /* length checked at open */
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || set_timeouts(fd) != 0 ||
		    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
			seterr(err, errlen, "cannot connect to swtpm socket %s: %s", t->path,
			       strerror(errno));
			if (fd >= 0)
				close(fd);
			return VERR_NOTPM;
		}
		t->fd = fd;
		return 0;
	case T_TCP:
		return connect_tcp(t, err, errlen);
	}
	return VERR_INVAL;
}

static int
write_all(struct tpm12_transport *t, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n;

		if (t->kind == T_DEVICE)
			n = write(t->fd, p, len);
		else
			n = send(t->fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		/* A TPM device takes a command in one write. */
		if (t->kind == T_DEVICE && (size_t)n != len) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads exactly len bytes from a stream; returns the count read before EOF
 * or error (< len), with errno set on error and 0 on EOF. */
static size_t
read_full(int fd, uint8_t *p, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return got;
		if (n == 0) {
			errno = 0;
			return got;
		}
		got += (size_t)n;
	}
	return got;
}

/*
 * One command, one response into t->rsp.  Any transport or framing failure
 * closes the connection (a stream out of step cannot be trusted again); the
 * next command reconnects.
 */
static int
xfer(struct tpm12_transport *t, const uint8_t *cmd, size_t cmdlen, size_t *rsplen, char *err,
     size_t errlen)
{
	uint32_t size = 0;
	size_t got;
	uint8_t c;
	int r;

	*rsplen = 0;
	if (t->fd >= 0 && t->kind != T_DEVICE) {
		/* A TPM never speaks unasked: anything waiting (or EOF) means
		 * the stream is stale, so start a fresh connection. */
		ssize_t n = recv(t->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);

		if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			drop(t);
	}
	if (t->fd < 0 && (r = reconnect(t, err, errlen)) != 0)
		return r;
	if (write_all(t, cmd, cmdlen) != 0) {
		seterr(err, errlen, "TPM write failed: %s", strerror(errno));
		drop(t);
		return VERR_NOTPM;
	}
	if (t->kind == T_DEVICE) {
		ssize_t n;

		errno = 0;
		do
			n = read(t->fd, t->rsp, sizeof(t->rsp));
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			seterr(err, errlen, "TPM read failed: %s", strerror(errno));
			drop(t);
			return VERR_NOTPM;
		}
		got = (size_t)n;
	} else {
		got = read_full(t->fd, t->rsp, TPM_HDR_SIZE);
		if (got == TPM_HDR_SIZE) {
			if (tpm_frame_check(t->rsp, got, TPM_FRAME_MAX, &size) == TPM_FRAME_BAD) {
				seterr(err, errlen, "TPM response header declares %u bytes",
				       be32_get(t->rsp + 2));
				drop(t);
				return VERR_FORMAT;
			}
			got += read_full(t->fd, t->rsp + got, size - got);
		}
	}
	if (got == 0) {
		seterr(err, errlen, "TPM sent no response (%s)",
		       errno == EAGAIN || errno == EWOULDBLOCK ? "timed out"
		       : errno != 0			       ? strerror(errno)
							       : "connection closed");
		drop(t);
		return VERR_NOTPM;
	}
	if (tpm_frame_exact(t->rsp, got, TPM_FRAME_MAX) != 0) {
		seterr(err, errlen, "malformed TPM response: %zu bytes, header says %u", got,
		       got >= TPM_HDR_SIZE ? be32_get(t->rsp + 2) : 0);
		OPENSSL_cleanse(t->rsp, sizeof(t->rsp));
		drop(t);
		return VERR_FORMAT;
	}
	*rsplen = got;
	return 0;
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}


static int
parse_where(const char *where, struct tpm12_transport *t, char *err, size_t errlen)
{
	const char *p;

	if (strncmp(where, "device:", 7) == 0) {
		p = where + 7;
		if (*p == '\0' || strlen(p) >= sizeof(t->path))
			goto bad;
		t->kind = T_DEVICE;
		strcpy(t->path, p);
		return 0;
	}
	if (strncmp(where, "swtpm:", 6) != 0)
		goto bad;
	p = where + 6;
	if (strncmp(p, "path=", 5) == 0) {
		p += 5;
		/* The path is the whole rest: it may contain commas. */
		if (*p == '\0' || strlen(p) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			seterr(err, errlen, "swtpm socket path empty or longer than %zu bytes",
			       sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
			return VERR_INVAL;
		}
		t->kind = T_UNIX;
		strcpy(t->path, p);
		return 0;
	}
	/* host=H,port=P in either order. */
	t->kind = T_TCP;
	while (*p != '\0') {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);

		if (n > 5 && strncmp(p, "host=", 5) == 0 && n - 5 < sizeof(t->host)) {
			memcpy(t->host, p + 5, n - 5);
			t->host[n - 5] = '\0';
		} else if (n > 5 && strncmp(p, "port=", 5) == 0 && n - 5 < sizeof(t->port)) {
			char *end;
			unsigned long v;

			memcpy(t->port, p + 5, n - 5);
			t->port[n - 5] = '\0';
			errno = 0;
			v = strtoul(t->port, &end, 10);
			if (errno != 0 || *end != '\0' || v == 0 || v > 65535 ||
			    t->port[0] < '0' || t->port[0] > '9')
				goto bad;
		} else {
			goto bad;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	if (t->host[0] != '\0' && t->port[0] != '\0')
		return 0;
bad:
	seterr(err, errlen,
	       "bad TPM 1.2 location '%s' (want device:PATH, swtpm:path=SOCKET or "
	       "swtpm:host=H,port=P)", where);
	return VERR_INVAL;
}

/* ---- API ------------------------------------------------------------------ */

int
tpm12_transport_open(const char *where, struct tpm12_transport **out, char *err, size_t errlen)
{
	struct tpm12_transport *t;
	int r;

	*out = NULL;
	if (where == NULL) {
		seterr(err, errlen, "no TPM location");
		return VERR_INVAL;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		seterr(err, errlen, "out of memory");
		return VERR_NOMEM;
	}
	t->fd = -1;
	if ((r = parse_where(where, t, err, errlen)) != 0 ||
	    (r = reconnect(t, err, errlen)) != 0) {
		tpm12_transport_close(t);
		return r;
	}
	*out = t;
	return 0;
}

void
tpm12_transport_close(struct tpm12_transport *t)
{
	if (t == NULL)
		return;
	drop(t);
	OPENSSL_cleanse(t, sizeof(*t));
	free(t);
}

void
tpm12_transport_wipe(struct tpm12_transport *t)
{
	OPENSSL_cleanse(t->rsp, sizeof(t->rsp));
}

int
tpm12_transport_xfer(struct tpm12_transport *t, const uint8_t *cmd, size_t cmdlen,
		     const uint8_t **rsp, size_t *rsplen, char *err, size_t errlen)
{
	int r = xfer(t, cmd, cmdlen, rsplen, err, errlen);

	*rsp = r == 0 ? t->rsp : NULL;
	return r;
}

/*
 * Only the header is read: a response tag of TPM 1.2 (c4..c6, as
 * tpm12_parse_resp requires of any error) and one of the two codes that
 * say the command was not run.  Anything else goes to the caller as it is.
 */
int
tpm12_transport_call(struct tpm12_transport *t, const uint8_t *cmd, size_t cmdlen,
		     const uint8_t **rsp, size_t *rsplen, char *err, size_t errlen)
{
	unsigned delay = RETRY_FIRST_MS;
	uint16_t tag;
	uint32_t rc;
	int ret;

	for (int attempt = 0;; attempt++) {
		ret = tpm12_transport_xfer(t, cmd, cmdlen, rsp, rsplen, err, errlen);
		if (ret != 0)
			return ret;
		tag = be16_get(*rsp);
		rc = be32_get(*rsp + 6);
		if (tag < TPM12_TAG_RSP || tag > TPM12_TAG_RSP + TPM12_MAX_SESSIONS ||
		    (rc != TPM12_RETRY && rc != TPM12_DOING_SELFTEST))
			return 0;
		if (attempt + 1 >= RETRY_ATTEMPTS) {
			seterr(err, errlen, "TPM busy: %s after %d attempts", tpm12_rc_name(rc),
			       RETRY_ATTEMPTS);
			return VERR_BUSY;
		}
		sleep_ms(delay);
		delay *= 2;
	}
}
