/*
 * check_chan.c - util/chan over a real SEQPACKET socketpair: round trips
 * with and without a passed fd, the payload limit on both ends, and every
 * malformed packet a hostile peer can send (VERR_PROTO, fds closed).
 */
#include "unit.h"
#include "util/buf.h"
#include "util/chan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static int sv[2] = { -1, -1 };
static struct chan rc;

static void
setup(void)
{
	ck_assert_int_eq(chan_socketpair(sv), 0);
	ck_assert_int_eq(chan_init(&rc, sv[1]), 0);
}

static void
teardown(void)
{
	chan_close(&rc); /* closes sv[1] */
	if (sv[0] >= 0)
		close(sv[0]);
	sv[0] = sv[1] = -1;
}

/* Sends one raw packet with nfds fds attached, bypassing chan_send. */
static void
raw_send(const void *p, size_t len, const int *fds, int nfds)
{
	struct iovec iov = { (void *)(uintptr_t)p, len };
	struct msghdr mh;
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * 4)];
	} cm;

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
		memcpy(CMSG_DATA(ch), fds, sizeof(int) * (size_t)nfds);
	}
	ck_assert_int_eq(sendmsg(sv[0], &mh, 0), (ssize_t)len);
}

START_TEST(test_round_trip)
{
	struct chan_msg m;
	const char a[] = "hello ", b[] = "world";

	ck_assert_int_eq(chan_send(sv[0], CHAN_TPM_CMD, a, 6, b, 5, -1), 0);
	ck_assert_int_eq(chan_recv(&rc, &m), 0);
	ck_assert_uint_eq(m.type, CHAN_TPM_CMD);
	ck_assert_uint_eq(m.len, 11);
	ck_assert_mem_eq(m.data, "hello world", 11);
	ck_assert_int_eq(m.fd, -1);

	/* Empty payload, NULL pointers. */
	ck_assert_int_eq(chan_send(sv[0], CHAN_STOP, NULL, 0, NULL, 0, -1), 0);
	ck_assert_int_eq(chan_recv(&rc, &m), 0);
	ck_assert_uint_eq(m.type, CHAN_STOP);
	ck_assert_uint_eq(m.len, 0);
	ck_assert_int_eq(m.fd, -1);
}
END_TEST

START_TEST(test_round_trip_fd)
{
	struct chan_msg m;
	int p[2];
	char c = 0;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(chan_send(sv[0], CHAN_DATA_FD, NULL, 0, NULL, 0, p[1]), 0);
	close(p[1]);
	ck_assert_int_eq(chan_recv(&rc, &m), 0);
	ck_assert_uint_eq(m.type, CHAN_DATA_FD);
	ck_assert_uint_eq(m.len, 0);
	ck_assert_int_ge(m.fd, 0);
	/* The received fd is the pipe's write end, close-on-exec. */
	ck_assert_int_ne(fcntl(m.fd, F_GETFD) & FD_CLOEXEC, 0);
	ck_assert_int_eq(write(m.fd, "x", 1), 1);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	ck_assert_int_eq(c, 'x');
	close(m.fd);
	close(p[0]);
}
END_TEST

START_TEST(test_max_payload)
{
	static uint8_t big[CHAN_MAX_PAYLOAD + 1];
	struct chan_msg m;

	for (size_t i = 0; i < CHAN_MAX_PAYLOAD + 1; i++)
		big[i] = (uint8_t)(i * 7);
	/* Exactly the maximum, split over both parts. */
	ck_assert_int_eq(chan_send(sv[0], CHAN_NV_DATA, big, 100, big + 100,
				   CHAN_MAX_PAYLOAD - 100, -1), 0);
	ck_assert_int_eq(chan_recv(&rc, &m), 0);
	ck_assert_uint_eq(m.len, CHAN_MAX_PAYLOAD);
	ck_assert_int_eq(memcmp(m.data, big, CHAN_MAX_PAYLOAD), 0);

	/* One more is refused before anything is sent. */
	errno = 0;
	ck_assert_int_eq(chan_send(sv[0], CHAN_NV_DATA, big, CHAN_MAX_PAYLOAD + 1, NULL, 0, -1),
			 VERR_SYSTEM);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_int_eq(chan_send(sv[0], CHAN_NV_DATA, big, 1, big, CHAN_MAX_PAYLOAD, -1),
			 VERR_SYSTEM);
	ck_assert_int_eq(chan_send(sv[0], CHAN_NV_DATA, big, SIZE_MAX, big, SIZE_MAX, -1),
			 VERR_SYSTEM);
	ck_assert_int_eq(chan_send(sv[0], CHAN_NV_DATA, big, 1, big, SIZE_MAX, -1), VERR_SYSTEM);
	ck_assert_int_eq(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(chan_recv(&rc, &m), VERR_AGAIN);
}
END_TEST

START_TEST(test_oversized_raw)
{
	/* Static, so a failed assertion in CK_FORK=no mode leaks nothing. */
	static uint8_t pkt[CHAN_HDR_SIZE + CHAN_MAX_PAYLOAD + 2];
	struct chan_msg m;
	size_t n = CHAN_HDR_SIZE + CHAN_MAX_PAYLOAD + 1;

	/* A peer that skips chan_send's check, with a self-consistent header:
	 * the payload limit must hold on the receiving side too. */
	be32_put(pkt, CHAN_NV_STORE);
	be32_put(pkt + 4, CHAN_MAX_PAYLOAD + 1);
	raw_send(pkt, n, NULL, 0);
	ck_assert_int_eq(chan_recv(&rc, &m), VERR_PROTO);
	/* And one byte more than the receive buffer: truncated. */
	be32_put(pkt + 4, CHAN_MAX_PAYLOAD + 2);
	raw_send(pkt, n + 1, NULL, 0);
	ck_assert_int_eq(chan_recv(&rc, &m), VERR_PROTO);
}
END_TEST

START_TEST(test_len_mismatch)
{
	struct chan_msg m;
	uint8_t pkt[CHAN_HDR_SIZE + 4] = { 0 };

	be32_put(pkt, CHAN_TPM_CMD);
	be32_put(pkt + 4, 5); /* says 5, carries 4 */
	raw_send(pkt, sizeof(pkt), NULL, 0);
	ck_assert_int_eq(chan_recv(&rc, &m), VERR_PROTO);
	be32_put(pkt + 4, 3); /* says 3, carries 4 */
	raw_send(pkt, sizeof(pkt), NULL, 0);
	ck_assert_int_eq(chan_recv(&rc, &m), VERR_PROTO);
	be32_put(pkt + 4, 0xffffffffu);
	raw_send(pkt, sizeof(pkt), NULL, 0);
	ck_assert_int_eq(chan_recv(&rc, &m), VERR_PROTO);
	/* The channel still works after a rejected packet. */
	be32_put(pkt + 4, 4);
	raw_send(pkt, sizeof(pkt), NULL, 0);
	ck_assert_int_eq(chan_recv(&rc, &m), 0);
	ck_assert_uint_eq(m.len, 4);
}
END_TEST

START_TEST(test_short_packet)
{
	struct chan_msg m;
	uint8_t pkt[CHAN_HDR_SIZE] = { 0 };

	for (size_t n = 1; n < CHAN_HDR_SIZE; n++) {
		raw_send(pkt, n, NULL, 0);
		ck_assert_int_eq(chan_recv(&rc, &m), VERR_PROTO);
	}
}
END_TEST

START_TEST(test_short_packet_with_fd)
{
	struct chan_msg m;
	uint8_t pkt[4] = { 0 };
	int p[2];
	char c;

	ck_assert_int_eq(pipe(p), 0);
	raw_send(pkt, sizeof(pkt), &p[1], 1);
	close(p[1]);
	ck_assert_int_eq(chan_recv(&rc, &m), VERR_PROTO);
	/* The passed write end was closed: the pipe reads EOF. */
	ck_assert_int_eq(read(p[0], &c, 1), 0);
	close(p[0]);
}
END_TEST

START_TEST(test_two_fds)
{
	struct chan_msg m;
	uint8_t pkt[CHAN_HDR_SIZE] = { 0 };
	int p1[2], p2[2], fds[2];
	char c;

	ck_assert_int_eq(pipe(p1), 0);
	ck_assert_int_eq(pipe(p2), 0);
	be32_put(pkt, CHAN_DATA_FD);
	be32_put(pkt + 4, 0);
	fds[0] = p1[1];
	fds[1] = p2[1];
	raw_send(pkt, sizeof(pkt), fds, 2);
	/* Our copies go, so only the ones in flight keep the pipes open. */
	close(p1[1]);
	close(p2[1]);
	ck_assert_int_eq(chan_recv(&rc, &m), VERR_PROTO);
	ck_assert_int_eq(read(p1[0], &c, 1), 0);
	ck_assert_int_eq(read(p2[0], &c, 1), 0);
	close(p1[0]);
	close(p2[0]);
}
END_TEST

START_TEST(test_eof)
{
	struct chan_msg m;

	ck_assert_int_eq(chan_send(sv[0], CHAN_READY, "\0\0\0\0", 4, NULL, 0, -1), 0);
	close(sv[0]);
	sv[0] = -1;
	/* Queued packets are still delivered, then EOF. */
	ck_assert_int_eq(chan_recv(&rc, &m), 0);
	ck_assert_uint_eq(m.type, CHAN_READY);
	ck_assert_int_eq(chan_recv(&rc, &m), VERR_EOF);
	ck_assert_int_eq(chan_recv(&rc, &m), VERR_EOF);
}
END_TEST

START_TEST(test_send_to_closed)
{
	close(sv[1]);
	rc.fd = -1;
	/* MSG_NOSIGNAL: an error, not SIGPIPE. */
	ck_assert_int_eq(chan_send(sv[0], CHAN_STOP, NULL, 0, NULL, 0, -1), VERR_SYSTEM);
	ck_assert_int_eq(errno, EPIPE);
}
END_TEST

Suite *
chan_suite(void)
{
	Suite *s = suite_create("chan");
	TCase *tc = tcase_create("socketpair");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_round_trip_fd);
	tcase_add_test(tc, test_max_payload);
	tcase_add_test(tc, test_oversized_raw);
	tcase_add_test(tc, test_len_mismatch);
	tcase_add_test(tc, test_short_packet);
	tcase_add_test(tc, test_short_packet_with_fd);
	tcase_add_test(tc, test_two_fds);
	tcase_add_test(tc, test_eof);
	tcase_add_test(tc, test_send_to_closed);
	suite_add_tcase(s, tc);
	return s;
}
