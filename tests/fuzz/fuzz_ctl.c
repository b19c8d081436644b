/*
 * fuzz_ctl.c - vtpmctl control-socket requests (manager/ctl_proto.h),
 * parsed in manager/ctl.c ctl_client_cb -> chan_recv -> ctl_handle /
 * do_create, through the real code path: the harness connects to the
 * manager's <run-dir>/vtpm_managerd.sock (SO_PEERCRED: it runs as root or
 * the daemon's uid) and sends packets, well-formed or raw, with or without
 * fds; create/list/show/stop/delete/status act on a real manager with a
 * real store, and on vTPMs whose (fake) vtpmd may be running, so stop and
 * delete wait for a vtpmd as they do in the daemon.  Every reply must
 * parse exactly.  See mgr_fixture.h.
 *
 * Input: u8 vtpmd behaviour (FX_AUTO_*) | ops (control-socket ops, plus
 * vtpmd start/answer/crash so that stop and delete meet running vTPMs).
 */
#include "tests/fuzz/common.h"
#include "tests/fuzz/mgr_fixture.h"

#define CTL_OPS                                                                              \
	((1u << OP_CTL_CONNECT) | (1u << OP_CTL_SEND) | (1u << OP_CTL_RAW) |                 \
	 (1u << OP_CTL_CLOSE) | (1u << OP_SPAWN) | (1u << OP_VTPMD_ANSWER) |                 \
	 (1u << OP_VTPMD_CLOSE) | (1u << OP_TICK))

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fx_init_once("ctl");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	fx_begin(data[0]);
	fx_run_ops(data + 1, size - 1, CTL_OPS);
	fx_end();
	return 0;
}
