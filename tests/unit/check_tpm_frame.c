/*
 * check_tpm_frame.c - util/tpm_frame: header size bounds, incomplete
 * headers, exact-length framing and the tag of error responses.
 */
#include "unit.h"
#include "util/buf.h"
#include "util/tpm_frame.h"

#include <stdint.h>
#include <string.h>

static uint8_t pkt[TPM_FRAME_MAX + 16];

/* A 2.0 command header declaring size bytes. */
static void
hdr(uint32_t size)
{
	memset(pkt, 0, sizeof(pkt));
	be16_put(pkt, TPM2_ST_NO_SESSIONS);
	be32_put(pkt + 2, size);
	be32_put(pkt + 6, 0x17b); /* GetRandom */
}

START_TEST(test_incomplete_header)
{
	uint32_t sz = 12345;

	hdr(10);
	for (size_t avail = 0; avail < TPM_HDR_SIZE; avail++) {
		ck_assert_int_eq(tpm_frame_check(pkt, avail, TPM_FRAME_MAX, &sz),
				 TPM_FRAME_INCOMPLETE);
		ck_assert_uint_eq(sz, 12345); /* not known yet */
	}
}
END_TEST

START_TEST(test_size_bounds)
{
	uint32_t sz;

	hdr(9);
	ck_assert_int_eq(tpm_frame_check(pkt, 10, TPM_FRAME_MAX, &sz), TPM_FRAME_BAD);
	hdr(0);
	ck_assert_int_eq(tpm_frame_check(pkt, 10, TPM_FRAME_MAX, &sz), TPM_FRAME_BAD);
	hdr(10);
	ck_assert_int_eq(tpm_frame_check(pkt, 10, TPM_FRAME_MAX, &sz), TPM_FRAME_OK);
	ck_assert_uint_eq(sz, 10);
	hdr(4096);
	ck_assert_int_eq(tpm_frame_check(pkt, 4096, TPM_FRAME_MAX, &sz), TPM_FRAME_OK);
	ck_assert_uint_eq(sz, 4096);
	hdr(4097);
	ck_assert_int_eq(tpm_frame_check(pkt, 4097, TPM_FRAME_MAX, &sz), TPM_FRAME_BAD);
	hdr(0xffffffffu);
	ck_assert_int_eq(tpm_frame_check(pkt, 4097, TPM_FRAME_MAX, &sz), TPM_FRAME_BAD);
	/* max above TPM_FRAME_MAX is clamped, not trusted. */
	hdr(4097);
	ck_assert_int_eq(tpm_frame_check(pkt, 4097, SIZE_MAX, &sz), TPM_FRAME_BAD);
	hdr(0xffffffffu);
	ck_assert_int_eq(tpm_frame_check(pkt, 10, SIZE_MAX, &sz), TPM_FRAME_BAD);
	/* A smaller negotiated max is honoured. */
	hdr(101);
	ck_assert_int_eq(tpm_frame_check(pkt, 101, 100, &sz), TPM_FRAME_BAD);
	hdr(100);
	ck_assert_int_eq(tpm_frame_check(pkt, 100, 100, &sz), TPM_FRAME_OK);
}
END_TEST

START_TEST(test_incomplete_body)
{
	uint32_t sz = 0;

	hdr(20);
	ck_assert_int_eq(tpm_frame_check(pkt, 10, TPM_FRAME_MAX, &sz), TPM_FRAME_INCOMPLETE);
	ck_assert_uint_eq(sz, 20);
	ck_assert_int_eq(tpm_frame_check(pkt, 19, TPM_FRAME_MAX, &sz), TPM_FRAME_INCOMPLETE);
	ck_assert_int_eq(tpm_frame_check(pkt, 20, TPM_FRAME_MAX, &sz), TPM_FRAME_OK);
	/* Bytes of the next packet behind this one are not this one's. */
	ck_assert_int_eq(tpm_frame_check(pkt, 30, TPM_FRAME_MAX, &sz), TPM_FRAME_OK);
	ck_assert_uint_eq(sz, 20);
}
END_TEST

START_TEST(test_exact)
{
	hdr(10);
	ck_assert_int_eq(tpm_frame_exact(pkt, 10, TPM_FRAME_MAX), 0);
	ck_assert_int_eq(tpm_frame_exact(pkt, 11, TPM_FRAME_MAX), -1);
	ck_assert_int_eq(tpm_frame_exact(pkt, 9, TPM_FRAME_MAX), -1);
	ck_assert_int_eq(tpm_frame_exact(pkt, 0, TPM_FRAME_MAX), -1);
	hdr(4096);
	ck_assert_int_eq(tpm_frame_exact(pkt, 4096, TPM_FRAME_MAX), 0);
	ck_assert_int_eq(tpm_frame_exact(pkt, 4095, TPM_FRAME_MAX), -1);
	ck_assert_int_eq(tpm_frame_exact(pkt, 4097, TPM_FRAME_MAX), -1);
	hdr(4097);
	ck_assert_int_eq(tpm_frame_exact(pkt, 4097, TPM_FRAME_MAX), -1);
	hdr(30);
	ck_assert_int_eq(tpm_frame_exact(pkt, 30, 29), -1);
	ck_assert_int_eq(tpm_frame_exact(pkt, 30, 30), 0);
}
END_TEST

static void
check_error(const uint8_t *req, size_t reqlen, int is_tpm2, uint16_t want_tag, uint32_t rc)
{
	uint8_t out[TPM_HDR_SIZE];

	memset(out, 0xee, sizeof(out));
	tpm_frame_error(out, req, reqlen, is_tpm2, rc);
	ck_assert_uint_eq(be16_get(out), want_tag);
	ck_assert_uint_eq(be32_get(out + 2), TPM_HDR_SIZE);
	ck_assert_uint_eq(be32_get(out + 6), rc);
}

START_TEST(test_error_tags)
{
	uint8_t req[TPM_HDR_SIZE];

	be16_put(req, TPM2_ST_NO_SESSIONS);
	check_error(req, sizeof(req), 0, TPM2_ST_NO_SESSIONS, TPM2_RC_FAILURE);
	ck_assert_uint_eq(tpm_frame_fail_code(req, sizeof(req), 0), TPM2_RC_FAILURE);
	be16_put(req, TPM2_ST_SESSIONS);
	check_error(req, sizeof(req), 0, TPM2_ST_NO_SESSIONS, TPM2_RC_COMMAND_SIZE);
	ck_assert_uint_eq(tpm_frame_fail_code(req, sizeof(req), 0), TPM2_RC_FAILURE);

	be16_put(req, TPM12_TAG_RQU_COMMAND);
	check_error(req, sizeof(req), 1, TPM12_TAG_RSP_COMMAND, TPM12_FAIL);
	ck_assert_uint_eq(tpm_frame_fail_code(req, sizeof(req), 1), TPM12_FAIL);
	be16_put(req, TPM12_TAG_RQU_AUTH1);
	check_error(req, sizeof(req), 1, TPM12_TAG_RSP_COMMAND, TPM12_BAD_PARAM_SIZE);
	be16_put(req, TPM12_TAG_RQU_AUTH2);
	check_error(req, sizeof(req), 1, TPM12_TAG_RSP_COMMAND, TPM12_FAIL);

	/* No usable request: the vTPM's generation decides. */
	check_error(NULL, 0, 1, TPM2_ST_NO_SESSIONS, TPM2_RC_FAILURE);
	check_error(NULL, 0, 0, TPM12_TAG_RSP_COMMAND, TPM12_FAIL);
	check_error(NULL, 100, 1, TPM2_ST_NO_SESSIONS, TPM2_RC_FAILURE);
	ck_assert_uint_eq(tpm_frame_fail_code(NULL, 0, 1), TPM2_RC_FAILURE);
	ck_assert_uint_eq(tpm_frame_fail_code(NULL, 0, 0), TPM12_FAIL);
	be16_put(req, TPM2_ST_NO_SESSIONS);
	check_error(req, 1, 0, TPM12_TAG_RSP_COMMAND, TPM12_FAIL);
	check_error(req, 0, 1, TPM2_ST_NO_SESSIONS, TPM2_RC_FAILURE);
	/* An unknown tag is no evidence either way. */
	be16_put(req, 0x1234);
	check_error(req, sizeof(req), 1, TPM2_ST_NO_SESSIONS, TPM2_RC_FAILURE);
	check_error(req, sizeof(req), 0, TPM12_TAG_RSP_COMMAND, TPM12_FAIL);
	ck_assert_uint_eq(tpm_frame_fail_code(req, sizeof(req), 0), TPM12_FAIL);
}
END_TEST

Suite *
tpm_frame_suite(void)
{
	Suite *s = suite_create("tpm_frame");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_incomplete_header);
	tcase_add_test(tc, test_size_bounds);
	tcase_add_test(tc, test_incomplete_body);
	tcase_add_test(tc, test_exact);
	tcase_add_test(tc, test_error_tags);
	suite_add_tcase(s, tc);
	return s;
}
