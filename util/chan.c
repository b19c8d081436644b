/*
 * chan.c - SEQPACKET channel framing; see chan.h.  Trusts neither end:
 * every received packet is checked for truncation, exact length and fd count
 * before a caller sees it.
 */
#include "chan.h"
#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

int
chan_socketpair(int sv[2])
{
	int sz = (int)CHAN_SOCKBUF;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		/* Root may exceed wmem_max with the FORCE variants; otherwise
		 * fall back to what the kernel allows. */
		if (setsockopt(sv[i], SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) != 0)
			(void)setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		if (setsockopt(sv[i], SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) != 0)
			(void)setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	return 0;
}

int
chan_init(struct chan *c, int fd)
{
	c->fd = fd;
	c->rbuf = malloc(CHAN_HDR_SIZE + CHAN_MAX_PAYLOAD + 1);
	return c->rbuf == NULL ? -1 : 0;
}

void
chan_close(struct chan *c)
{
	freezero(c->rbuf, CHAN_HDR_SIZE + CHAN_MAX_PAYLOAD + 1);
	c->rbuf = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

int
chan_send(int sock, uint32_t type, const void *a, size_t alen, const void *b, size_t blen,
	  int fd)
{
	uint8_t hdr[CHAN_HDR_SIZE];
	struct iovec iov[3];
	struct msghdr mh;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	ssize_t n;
	size_t total;

	if (alen > CHAN_MAX_PAYLOAD || blen > CHAN_MAX_PAYLOAD - alen) {
		errno = EMSGSIZE;
		return VERR_SYSTEM;
	}
	total = alen + blen;
	be32_put(hdr, type);
	be32_put(hdr + 4, (uint32_t)total);
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = (void *)(uintptr_t)a;
	iov[1].iov_len = alen;
	iov[2].iov_base = (void *)(uintptr_t)b;
	iov[2].iov_len = blen;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = 3;
	if (fd >= 0) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		struct cmsghdr *ch = CMSG_FIRSTHDR(&mh);
		ch->cmsg_level = SOL_SOCKET;
		ch->cmsg_type = SCM_RIGHTS;
		ch->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(ch), &fd, sizeof(int));
	}
	do {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? VERR_AGAIN : VERR_SYSTEM;
	if ((size_t)n != sizeof(hdr) + total) {
		errno = EMSGSIZE;
		return VERR_SYSTEM;
	}
	return 0;
}

/* Closes every fd in a control message; used when a packet is rejected. */
static void
close_passed_fds(struct msghdr *mh)
{
	for (struct cmsghdr *ch = CMSG_FIRSTHDR(mh); ch != NULL; ch = CMSG_NXTHDR(mh, ch)) {
		if (ch->cmsg_level != SOL_SOCKET || ch->cmsg_type != SCM_RIGHTS)
			continue;
		size_t nfd = (ch->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfd; i++) {
			int f;
			memcpy(&f, CMSG_DATA(ch) + i * sizeof(int), sizeof(int));
			close(f);
		}
	}
}

int
chan_recv(struct chan *c, struct chan_msg *m)
{
	struct iovec iov;
	struct msghdr mh;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 4) + CMSG_SPACE(sizeof(struct ucred))];
	} cm;
	struct ucred cred = { 0, 0, 0 };
	ssize_t n;
	int fd = -1, nfds = 0;

	iov.iov_base = c->rbuf;
	iov.iov_len = CHAN_HDR_SIZE + CHAN_MAX_PAYLOAD + 1;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	do {
		n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? VERR_AGAIN : VERR_SYSTEM;
	if (n == 0) {
		/* A real EOF carries no descriptors: an empty packet with fds
		 * comes from a live, misbehaving peer.  Either way the fds
		 * must not leak. */
		int had_fds = CMSG_FIRSTHDR(&mh) != NULL;
		close_passed_fds(&mh);
		return had_fds ? VERR_PROTO : VERR_EOF;
	}
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		close_passed_fds(&mh);
		return VERR_PROTO;
	}
	for (struct cmsghdr *ch = CMSG_FIRSTHDR(&mh); ch != NULL; ch = CMSG_NXTHDR(&mh, ch)) {
		if (ch->cmsg_level == SOL_SOCKET && ch->cmsg_type == SCM_RIGHTS) {
			nfds += (int)((ch->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			if (nfds == 1)
				memcpy(&fd, CMSG_DATA(ch), sizeof(int));
		} else if (ch->cmsg_level == SOL_SOCKET && ch->cmsg_type == SCM_CREDENTIALS &&
			   ch->cmsg_len == CMSG_LEN(sizeof(cred))) {
			memcpy(&cred, CMSG_DATA(ch), sizeof(cred));
		}
	}
	if (nfds > 1 || (size_t)n < CHAN_HDR_SIZE || (size_t)n - CHAN_HDR_SIZE > CHAN_MAX_PAYLOAD ||
	    be32_get(c->rbuf + 4) != (size_t)n - CHAN_HDR_SIZE) {
		close_passed_fds(&mh);
		return VERR_PROTO;
	}
	m->type = be32_get(c->rbuf);
	m->len = (uint32_t)((size_t)n - CHAN_HDR_SIZE);
	m->data = c->rbuf + CHAN_HDR_SIZE;
	m->fd = fd;
	m->cred_pid = cred.pid;
	m->cred_uid = cred.uid;
	return 0;
}
