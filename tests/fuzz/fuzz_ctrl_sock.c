/*
 * fuzz_ctrl_sock.c - the swtpm control protocol as the manager serves it on
 * <run-dir>/<uuid>.sock.ctrl: manager/sockets.c ctrl_conn_cb reads client
 * bytes (and passed fds), ctrl_parse_request() frames them
 * (util/ctrl_proto.c), ctrl_dispatch answers or forwards to the vtpmd, and
 * the vtpmd's CHAN_CTRL_RESP comes back through ctrl_check_response() in
 * manager/supervise.c.  Real sockets and the real loop; the vtpmd is the
 * harness (well-behaved or hostile).  See mgr_fixture.h.
 *
 * Input: u8 vtpmd behaviour (FX_AUTO_*) | ops (control-socket client ops,
 * data-socket connects, and vtpmd ops).
 */
#include "tests/fuzz/common.h"
#include "tests/fuzz/mgr_fixture.h"

#define CTRL_OPS                                                                             \
	((1u << OP_CTRL_CONNECT) | (1u << OP_CTRL_WRITE) | (1u << OP_CTRL_CLOSE) |           \
	 (1u << OP_DATA_CONNECT) | (1u << OP_SPAWN) | (1u << OP_VTPMD_RAW) |                 \
	 (1u << OP_VTPMD_MSG) | (1u << OP_VTPMD_ANSWER) | (1u << OP_VTPMD_CLOSE) |           \
	 (1u << OP_TICK))

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fx_init_once("ctrlsock");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	fx_begin(data[0]);
	fx_run_ops(data + 1, size - 1, CTRL_OPS);
	fx_end();
	return 0;
}
