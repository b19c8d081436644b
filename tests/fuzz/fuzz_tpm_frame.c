/*
 * fuzz_tpm_frame.c - util/tpm_frame.c, the TPM packet header check used on
 * every boundary that carries TPM commands or responses (guest data socket
 * in vtpmd, FIFO frames, CHAN_TPM_CMD/CHAN_TPM_RESP), and the error
 * responses built from untrusted request bytes.
 *
 * Input: u16 max (BE) | u8 flags | bytes.  The bytes are checked once as a
 * packet prefix (tpm_frame_check), once as a whole message
 * (tpm_frame_exact), and walked as a stream of packets the way vtpmd's data
 * connections and the FIFO consume them.  Invariants: a packet reported OK
 * lies inside the input and inside min(max, TPM_FRAME_MAX); the two checks
 * agree; every error response is itself a valid 10-byte packet whose tag
 * and code match the request's generation.
 */
#include "tests/fuzz/common.h"
#include "util/buf.h"
#include "util/tpm_frame.h"

#include <stdlib.h>
#include <string.h>

static void
check_error_response(const uint8_t *req, size_t reqlen, int is2, uint32_t rc)
{
	uint8_t out[TPM_HDR_SIZE];
	uint16_t tag;
	uint32_t fail;

	tpm_frame_error(out, req, reqlen, is2, rc);
	FZ_CHECK(tpm_frame_exact(out, sizeof(out), TPM_FRAME_MAX) == 0, "error response framing");
	FZ_CHECK(be32_get(out + 6) == rc, "error response code");
	tag = be16_get(out);
	FZ_CHECK(tag == TPM2_ST_NO_SESSIONS || tag == TPM12_TAG_RSP_COMMAND, "tag 0x%x", tag);
	fail = tpm_frame_fail_code(req, reqlen, is2);
	FZ_CHECK(fail == (tag == TPM2_ST_NO_SESSIONS ? TPM2_RC_FAILURE : TPM12_FAIL),
		 "fail code 0x%x does not match tag 0x%x", fail, tag);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum tpm_frame_status st;
	size_t max, lim, off;
	uint32_t sz;
	uint8_t *p;
	int is2;

	if (size < 3)
		return 0;
	max = be16_get(data);
	is2 = data[2] & 1;
	p = fz_dup(data + 3, size - 3);
	size -= 3;
	lim = max < TPM_FRAME_MAX ? max : TPM_FRAME_MAX;

	sz = 0;
	st = tpm_frame_check(p, size, max, &sz);
	switch (st) {
	case TPM_FRAME_OK:
		FZ_CHECK(sz >= TPM_HDR_SIZE && sz <= lim && sz <= size, "OK with size %u", sz);
		FZ_CHECK(sz == be32_get(p + 2), "size not the header's");
		break;
	case TPM_FRAME_INCOMPLETE:
		if (size >= TPM_HDR_SIZE)
			FZ_CHECK(sz >= TPM_HDR_SIZE && sz <= lim && sz > size,
				 "INCOMPLETE with size %u of %zu", sz, size);
		break;
	case TPM_FRAME_BAD:
		FZ_CHECK(size >= TPM_HDR_SIZE, "BAD without a header");
		sz = be32_get(p + 2);
		FZ_CHECK(sz < TPM_HDR_SIZE || sz > lim, "BAD with a size in range");
		break;
	default:
		FZ_CHECK(0, "status %d", (int)st);
	}
	FZ_CHECK((tpm_frame_exact(p, size, max) == 0) == (st == TPM_FRAME_OK && sz == size),
		 "tpm_frame_exact disagrees");

	/* Error responses from any request prefix, as every layer builds them. */
	check_error_response(p, size, is2, TPM2_RC_COMMAND_SIZE);
	check_error_response(size != 0 ? p : NULL, size < 2 ? size : 2, !is2, TPM12_BAD_PARAM_SIZE);
	check_error_response(NULL, 0, is2, TPM2_RC_FAILURE);

	/* The input as a stream of packets (vtpmd data connection, FIFO). */
	for (off = 0; off < size;) {
		st = tpm_frame_check(p + off, size - off, max, &sz);
		if (st != TPM_FRAME_OK)
			break;
		FZ_CHECK(sz <= size - off, "stream packet past the input");
		check_error_response(p + off, sz, is2, TPM2_RC_FAILURE);
		off += sz;
	}
	free(p);
	return 0;
}
