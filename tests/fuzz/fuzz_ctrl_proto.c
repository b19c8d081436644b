/*
 * fuzz_ctrl_proto.c - util/ctrl_proto.c: swtpm control-request framing
 * (ctrl_parse_request, as the manager applies it to every client byte on
 * <uuid>.sock.ctrl), the check on control responses coming back from a
 * vtpmd (ctrl_check_response), and the error replies built for clients
 * (ctrl_error_reply).
 *
 * Input: u8 flags | bytes.  Invariants: a framed request lies inside the
 * input, starts with the command it reports, and frames again to the same
 * size on its own; "settled" only ever accepts more; TOO_LARGE and UNKNOWN
 * only for the commands that can be; every error reply the manager or
 * vtpmd would send passes the response check a client-facing relay uses.
 */
#include "tests/fuzz/common.h"
#include "util/buf.h"
#include "util/ctrl_proto.h"

#include <stdlib.h>
#include <string.h>

static int
known_cmd(uint32_t c)
{
	return c >= CMD_GET_CAPABILITY && c <= CMD_LOCK_STORAGE;
}

static void
check_request(const uint8_t *p, size_t n, int settled)
{
	enum ctrl_parse r, r2;
	uint32_t cmd = 0, cmd2 = 0;
	size_t total = 0, total2 = 0;
	uint8_t *exact;

	r = ctrl_parse_request(p, n, settled, &cmd, &total);
	switch (r) {
	case CTRL_PARSE_OK:
		FZ_CHECK(total >= 4 && total <= n && total <= CTRL_REQ_MAX, "total %zu of %zu",
			 total, n);
		FZ_CHECK(cmd == be32_get(p), "cmd");
		FZ_CHECK(known_cmd(cmd), "OK for unknown command 0x%x", cmd);
		/* The framed request alone frames the same way (it is what
		 * the manager forwards to the vtpmd as a CHAN_CTRL). */
		exact = fz_dup(p, total);
		r2 = ctrl_parse_request(exact, total, 1, &cmd2, &total2);
		FZ_CHECK(r2 == CTRL_PARSE_OK && total2 == total && cmd2 == cmd,
			 "re-framing 0x%x: %d %zu != %zu", cmd, (int)r2, total2, total);
		free(exact);
		break;
	case CTRL_PARSE_INCOMPLETE:
		break;
	case CTRL_PARSE_UNKNOWN:
		FZ_CHECK(n >= 4 && !known_cmd(be32_get(p)), "UNKNOWN for 0x%x", be32_get(p));
		break;
	case CTRL_PARSE_TOO_LARGE:
		FZ_CHECK(n >= 4 && (cmd == CMD_HASH_DATA || cmd == CMD_SET_STATEBLOB),
			 "TOO_LARGE for 0x%x", cmd);
		break;
	default:
		FZ_CHECK(0, "result %d", (int)r);
	}
	if (!settled && r == CTRL_PARSE_OK) {
		r2 = ctrl_parse_request(p, n, 1, &cmd2, &total2);
		FZ_CHECK(r2 == CTRL_PARSE_OK && total2 == total, "settled accepts less");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[32], *p;
	uint32_t cmd;
	size_t n;

	if (size < 1)
		return 0;
	p = fz_dup(data + 1, size - 1);
	n = size - 1;

	check_request(p, n, 0);
	check_request(p, n, 1);

	/* A vtpmd response to the command named by the flags byte, or to the
	 * command in the first four bytes. */
	cmd = (data[0] & 0x80) && n >= 4 ? be32_get(p) : (uint32_t)(data[0] & 0x1f);
	(void)ctrl_check_response(cmd, p, n);
	if ((data[0] & 0x40) && n >= 4)
		(void)ctrl_check_response(cmd, p + 4, n - 4);

	/* Error replies for that command always pass the response check. */
	n = ctrl_error_reply(cmd, n >= 4 ? be32_get(p) : CTRL_RES_FAIL, out, sizeof(out));
	if (cmd == CMD_GET_CAPABILITY)
		FZ_CHECK(n == 0, "GET_CAPABILITY error reply");
	else
		FZ_CHECK(n != 0 && ctrl_check_response(cmd, out, n) == 0,
			 "error reply of %zu bytes for 0x%x fails the response check", n, cmd);
	free(p);
	return 0;
}
