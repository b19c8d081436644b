/*
 * fuzz_fifo.c - FIFO frames (`u32 instance | TPM packet`), parsed inside
 * manager/fifo.c fifo_in_cb(), driven through the real code path: the
 * bytes are written into the manager's <run-dir>/fifo/in and the manager's
 * epoll loop runs fifo_in_cb, which frames them, routes each to its vTPM
 * (vtpm_submit, lazily starting a vtpmd that here is the harness) and
 * writes replies to fifo/out.  See mgr_fixture.h.
 *
 * Input: u8 vtpmd behaviour (FX_AUTO_*) | FIFO byte stream.  Checked:
 * memory safety, every reply on fifo/out is u32 instance | one whole TPM
 * packet, every CHAN_TPM_CMD forwarded is exactly one packet, no fd or
 * memory leaks after teardown.
 */
#include "tests/fuzz/common.h"
#include "tests/fuzz/mgr_fixture.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fx_init_once("fifo");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	fx_begin(data[0]);
	fx_fifo_write(data + 1, size - 1);
	fx_settle();
	if (data[0] & 0x80) {
		/* The loop's periodic work too (partial-frame timeout). */
		fifo_tick(fx_m);
		fx_settle();
	}
	fx_end();
	return 0;
}
