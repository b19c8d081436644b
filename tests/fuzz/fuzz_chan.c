/*
 * fuzz_chan.c - the manager <-> vtpmd channel, manager side: chan_recv()'s
 * framing (util/chan.c) and the per-type payload checks in manager/supervise.c
 * handle_msg(), reached the real way: the harness is the vtpmd at the other
 * end of a real SEQPACKET socketpair made by vtpm_spawn(), and the
 * manager's epoll loop runs vtpm_chan_cb.  Hostile packets (raw bytes,
 * extra fds), well-formed messages in the wrong state, NV loads/stores that
 * reach the store, and a vtpmd that dies at any point, interleaved with
 * the requests that make the manager expect something (swtpm control
 * requests, FIFO TPM commands, vtpmctl stop/delete).  See mgr_fixture.h.
 *
 * Input: u8 vtpmd behaviour (FX_AUTO_*) | ops (all op codes).
 */
#include "tests/fuzz/common.h"
#include "tests/fuzz/mgr_fixture.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fx_init_once("chan");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	fx_begin(data[0]);
	fx_run_ops(data + 1, size - 1, FX_ALL_OPS);
	fx_end();
	return 0;
}
