/*
 * check_ctrl_proto.c - util/ctrl_proto: request framing of every swtpm
 * control command (fixed sizes, the 1-or-4-byte locality, bounded variable
 * bodies), response size checks and error replies.
 */
#include "unit.h"
#include "util/buf.h"
#include "util/ctrl_proto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	uint32_t cmd;
	size_t total; /* cmd + body */
} fixed_reqs[] = {
	{ CMD_GET_CAPABILITY, 4 },  { CMD_INIT, 8 },		{ CMD_SHUTDOWN, 4 },
	{ CMD_GET_TPMESTABLISHED, 4 }, { CMD_HASH_START, 4 },	{ CMD_HASH_END, 4 },
	{ CMD_CANCEL_TPM_CMD, 4 },  { CMD_STORE_VOLATILE, 4 }, { CMD_GET_STATEBLOB, 16 },
	{ CMD_STOP, 4 },	    { CMD_GET_CONFIG, 4 },	{ CMD_SET_DATAFD, 4 },
	{ CMD_SET_BUFFERSIZE, 8 },  { CMD_GET_INFO, 20 },	{ CMD_LOCK_STORAGE, 8 },
};
#define NFIXED (sizeof(fixed_reqs) / sizeof(fixed_reqs[0]))

START_TEST(test_fixed_sizes)
{
	uint8_t req[64];
	uint32_t cmd;
	size_t total;

	memset(req, 0, sizeof(req));
	for (size_t i = 0; i < NFIXED; i++) {
		be32_put(req, fixed_reqs[i].cmd);
		for (size_t avail = 0; avail < fixed_reqs[i].total; avail++) {
			/* Even a settled peer must send the whole body. */
			ck_assert_int_eq(ctrl_parse_request(req, avail, 1, &cmd, &total),
					 CTRL_PARSE_INCOMPLETE);
		}
		total = 0;
		ck_assert_int_eq(ctrl_parse_request(req, fixed_reqs[i].total, 0, &cmd, &total),
				 CTRL_PARSE_OK);
		ck_assert_uint_eq(cmd, fixed_reqs[i].cmd);
		ck_assert_uint_eq(total, fixed_reqs[i].total);
		/* Trailing bytes belong to the next request. */
		ck_assert_int_eq(ctrl_parse_request(req, sizeof(req), 0, &cmd, &total),
				 CTRL_PARSE_OK);
		ck_assert_uint_eq(total, fixed_reqs[i].total);
	}
}
END_TEST

START_TEST(test_locality)
{
	static const uint32_t cmds[] = { CMD_SET_LOCALITY, CMD_RESET_TPMESTABLISHED };
	uint8_t req[8] = { 0 };
	uint32_t cmd;
	size_t total;

	for (size_t i = 0; i < 2; i++) {
		be32_put(req, cmds[i]);
		req[4] = 3;
		ck_assert_int_eq(ctrl_parse_request(req, 4, 1, &cmd, &total),
				 CTRL_PARSE_INCOMPLETE);
		/* One byte: only once the peer has paused (tpm2-tss). */
		ck_assert_int_eq(ctrl_parse_request(req, 5, 0, &cmd, &total),
				 CTRL_PARSE_INCOMPLETE);
		ck_assert_int_eq(ctrl_parse_request(req, 5, 1, &cmd, &total), CTRL_PARSE_OK);
		ck_assert_uint_eq(total, 5);
		ck_assert_uint_eq(cmd, cmds[i]);
		ck_assert_int_eq(ctrl_parse_request(req, 7, 0, &cmd, &total),
				 CTRL_PARSE_INCOMPLETE);
		ck_assert_int_eq(ctrl_parse_request(req, 7, 1, &cmd, &total), CTRL_PARSE_OK);
		ck_assert_uint_eq(total, 5);
		/* Four bytes (QEMU), settled or not. */
		ck_assert_int_eq(ctrl_parse_request(req, 8, 0, &cmd, &total), CTRL_PARSE_OK);
		ck_assert_uint_eq(total, 8);
		ck_assert_int_eq(ctrl_parse_request(req, 8, 1, &cmd, &total), CTRL_PARSE_OK);
		ck_assert_uint_eq(total, 8);
	}
}
END_TEST

/* Variable request cmd whose u32 length sits at lenoff, body after it. */
static void
check_variable(uint32_t cmd, size_t lenoff, uint32_t max)
{
	size_t hdr = lenoff + 4, bufsz = hdr + (size_t)max + 1, total;
	uint8_t *req = calloc(1, bufsz);
	uint32_t c;

	ck_assert_ptr_nonnull(req);
	be32_put(req, cmd);
	for (size_t avail = 0; avail < hdr; avail++)
		ck_assert_int_eq(ctrl_parse_request(req, avail, 1, &c, &total),
				 CTRL_PARSE_INCOMPLETE);
	be32_put(req + lenoff, 0);
	ck_assert_int_eq(ctrl_parse_request(req, hdr, 0, &c, &total), CTRL_PARSE_OK);
	ck_assert_uint_eq(total, hdr);

	be32_put(req + lenoff, max);
	ck_assert_int_eq(ctrl_parse_request(req, hdr + max - 1, 1, &c, &total),
			 CTRL_PARSE_INCOMPLETE);
	ck_assert_int_eq(ctrl_parse_request(req, hdr + max, 0, &c, &total), CTRL_PARSE_OK);
	ck_assert_uint_eq(total, hdr + max);
	ck_assert_uint_eq(c, cmd);

	/* Over the limit is refused on the header alone, before any body. */
	be32_put(req + lenoff, max + 1);
	ck_assert_int_eq(ctrl_parse_request(req, hdr, 0, &c, &total), CTRL_PARSE_TOO_LARGE);
	ck_assert_int_eq(ctrl_parse_request(req, bufsz, 0, &c, &total), CTRL_PARSE_TOO_LARGE);
	be32_put(req + lenoff, 0xffffffffu);
	ck_assert_int_eq(ctrl_parse_request(req, hdr, 1, &c, &total), CTRL_PARSE_TOO_LARGE);
	be32_put(req + lenoff, 0x80000000u);
	ck_assert_int_eq(ctrl_parse_request(req, hdr, 1, &c, &total), CTRL_PARSE_TOO_LARGE);
	free(req);
}

START_TEST(test_hash_data)
{
	check_variable(CMD_HASH_DATA, 4, CTRL_HASH_DATA_MAX);
}
END_TEST

START_TEST(test_set_stateblob)
{
	/* u32 cmd | u32 state_flags | u32 type | u32 length | data */
	check_variable(CMD_SET_STATEBLOB, 12, CTRL_STATEBLOB_MAX);
}
END_TEST

START_TEST(test_unknown)
{
	static const uint32_t bad[] = { 0, 0x14, 0x15, 0x100, 0x80000005u, 0xffffffffu };
	uint8_t req[32] = { 0 };
	uint32_t cmd;
	size_t total;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		be32_put(req, bad[i]);
		ck_assert_int_eq(ctrl_parse_request(req, sizeof(req), 1, &cmd, &total),
				 CTRL_PARSE_UNKNOWN);
		ck_assert_uint_eq(cmd, bad[i]);
		ck_assert_int_eq(ctrl_parse_request(req, 4, 0, &cmd, &total),
				 CTRL_PARSE_UNKNOWN);
	}
}
END_TEST

START_TEST(test_response_fixed)
{
	static const struct {
		uint32_t cmd;
		size_t len;
	} r[] = {
		{ CMD_GET_CAPABILITY, 8 }, { CMD_GET_TPMESTABLISHED, 8 }, { CMD_GET_CONFIG, 8 },
		{ CMD_SET_BUFFERSIZE, 16 }, { CMD_INIT, 4 }, { CMD_SHUTDOWN, 4 },
		{ CMD_SET_LOCALITY, 4 }, { CMD_HASH_START, 4 }, { CMD_HASH_DATA, 4 },
		{ CMD_HASH_END, 4 }, { CMD_CANCEL_TPM_CMD, 4 }, { CMD_STORE_VOLATILE, 4 },
		{ CMD_RESET_TPMESTABLISHED, 4 }, { CMD_SET_STATEBLOB, 4 }, { CMD_STOP, 4 },
		{ CMD_SET_DATAFD, 4 }, { CMD_LOCK_STORAGE, 4 },
	};
	uint8_t resp[32] = { 0 };

	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		ck_assert_int_eq(ctrl_check_response(r[i].cmd, resp, r[i].len), 0);
		ck_assert_int_eq(ctrl_check_response(r[i].cmd, resp, r[i].len - 1), -1);
		ck_assert_int_eq(ctrl_check_response(r[i].cmd, resp, r[i].len + 1), -1);
		ck_assert_int_eq(ctrl_check_response(r[i].cmd, resp, 0), -1);
	}
}
END_TEST

START_TEST(test_response_stateblob)
{
	/* res | state_flags | totlength | length | data */
	uint8_t *resp = calloc(1, 16 + CTRL_STATEBLOB_MAX + 1);

	ck_assert_ptr_nonnull(resp);
	for (size_t len = 0; len < 16; len++)
		ck_assert_int_eq(ctrl_check_response(CMD_GET_STATEBLOB, resp, len), -1);
	be32_put(resp + 12, 0);
	ck_assert_int_eq(ctrl_check_response(CMD_GET_STATEBLOB, resp, 16), 0);
	ck_assert_int_eq(ctrl_check_response(CMD_GET_STATEBLOB, resp, 17), -1);
	be32_put(resp + 12, 100);
	ck_assert_int_eq(ctrl_check_response(CMD_GET_STATEBLOB, resp, 116), 0);
	ck_assert_int_eq(ctrl_check_response(CMD_GET_STATEBLOB, resp, 115), -1);
	ck_assert_int_eq(ctrl_check_response(CMD_GET_STATEBLOB, resp, 117), -1);
	/* A vtpmd's raw blob must leave room for the manager's envelope. */
	be32_put(resp + 12, CTRL_STATEBLOB_RAW_MAX);
	ck_assert_int_eq(
		ctrl_check_response(CMD_GET_STATEBLOB, resp, 16 + CTRL_STATEBLOB_RAW_MAX), 0);
	be32_put(resp + 12, CTRL_STATEBLOB_RAW_MAX + 1);
	ck_assert_int_eq(
		ctrl_check_response(CMD_GET_STATEBLOB, resp, 16 + CTRL_STATEBLOB_RAW_MAX + 1), -1);
	be32_put(resp + 12, CTRL_STATEBLOB_MAX);
	ck_assert_int_eq(ctrl_check_response(CMD_GET_STATEBLOB, resp, 16 + CTRL_STATEBLOB_MAX),
			 -1);
	be32_put(resp + 12, 0xffffffffu);
	ck_assert_int_eq(ctrl_check_response(CMD_GET_STATEBLOB, resp, 16), -1);
	free(resp);
}
END_TEST

START_TEST(test_response_info)
{
	/* res | totlength | length | data */
	uint8_t resp[12 + 4096 + 1] = { 0 };

	for (size_t len = 0; len < 12; len++)
		ck_assert_int_eq(ctrl_check_response(CMD_GET_INFO, resp, len), -1);
	ck_assert_int_eq(ctrl_check_response(CMD_GET_INFO, resp, 12), 0);
	be32_put(resp + 8, 20);
	ck_assert_int_eq(ctrl_check_response(CMD_GET_INFO, resp, 32), 0);
	ck_assert_int_eq(ctrl_check_response(CMD_GET_INFO, resp, 31), -1);
	ck_assert_int_eq(ctrl_check_response(CMD_GET_INFO, resp, 33), -1);
	be32_put(resp + 8, 4096);
	ck_assert_int_eq(ctrl_check_response(CMD_GET_INFO, resp, 12 + 4096), 0);
	be32_put(resp + 8, 4097);
	ck_assert_int_eq(ctrl_check_response(CMD_GET_INFO, resp, 12 + 4097), -1);
	be32_put(resp + 8, 0xffffffffu);
	ck_assert_int_eq(ctrl_check_response(CMD_GET_INFO, resp, 12), -1);
}
END_TEST

START_TEST(test_error_reply)
{
	uint8_t out[32];

	memset(out, 0xee, sizeof(out));
	ck_assert_uint_eq(ctrl_error_reply(CMD_GET_CAPABILITY, CTRL_RES_FAIL, out, sizeof(out)),
			  0);
	ck_assert_uint_eq(out[0], 0xee);

	ck_assert_uint_eq(ctrl_error_reply(CMD_INIT, CTRL_RES_FAIL, out, sizeof(out)), 4);
	ck_assert_uint_eq(be32_get(out), CTRL_RES_FAIL);
	ck_assert_uint_eq(out[4], 0xee);

	memset(out, 0xee, sizeof(out));
	ck_assert_uint_eq(
		ctrl_error_reply(CMD_GET_TPMESTABLISHED, CTRL_RES_IOERROR, out, sizeof(out)), 8);
	ck_assert_uint_eq(be32_get(out), CTRL_RES_IOERROR);
	ck_assert_uint_eq(be32_get(out + 4), 0);

	memset(out, 0xee, sizeof(out));
	ck_assert_uint_eq(
		ctrl_error_reply(CMD_SET_BUFFERSIZE, CTRL_RES_BAD_PARAMETER, out, sizeof(out)),
		16);
	ck_assert_uint_eq(be32_get(out), CTRL_RES_BAD_PARAMETER);
	for (int i = 4; i < 16; i++)
		ck_assert_uint_eq(out[i], 0);

	memset(out, 0xee, sizeof(out));
	ck_assert_uint_eq(ctrl_error_reply(CMD_GET_STATEBLOB, CTRL_RES_FAIL, out, sizeof(out)),
			  16);
	ck_assert_uint_eq(be32_get(out), CTRL_RES_FAIL);
	ck_assert_uint_eq(be32_get(out + 12), 0); /* length 0: no data follows */
	ck_assert_int_eq(ctrl_check_response(CMD_GET_STATEBLOB, out, 16), 0);

	memset(out, 0xee, sizeof(out));
	ck_assert_uint_eq(ctrl_error_reply(CMD_GET_INFO, CTRL_RES_FAIL, out, sizeof(out)), 12);
	ck_assert_int_eq(ctrl_check_response(CMD_GET_INFO, out, 12), 0);

	/* Too small an output buffer: nothing written. */
	memset(out, 0xee, sizeof(out));
	ck_assert_uint_eq(ctrl_error_reply(CMD_GET_STATEBLOB, CTRL_RES_FAIL, out, 15), 0);
	ck_assert_uint_eq(ctrl_error_reply(CMD_INIT, CTRL_RES_FAIL, out, 3), 0);
	ck_assert_uint_eq(out[0], 0xee);
	/* An unknown command gets a bare result. */
	ck_assert_uint_eq(ctrl_error_reply(0x99, CTRL_RES_BAD_ORDINAL, out, sizeof(out)), 4);
	ck_assert_uint_eq(be32_get(out), CTRL_RES_BAD_ORDINAL);
}
END_TEST

Suite *
ctrl_proto_suite(void)
{
	Suite *s = suite_create("ctrl_proto");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_fixed_sizes);
	tcase_add_test(tc, test_locality);
	tcase_add_test(tc, test_hash_data);
	tcase_add_test(tc, test_set_stateblob);
	tcase_add_test(tc, test_unknown);
	tcase_add_test(tc, test_response_fixed);
	tcase_add_test(tc, test_response_stateblob);
	tcase_add_test(tc, test_response_info);
	tcase_add_test(tc, test_error_reply);
	suite_add_tcase(s, tc);
	return s;
}
