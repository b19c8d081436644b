/*
 * tpm_frame.c - TPM packet header validation and error responses; see
 * tpm_frame.h.  Trusts nothing it is given.
 */
#include "tpm_frame.h"
#include "buf.h"

enum tpm_frame_status
tpm_frame_check(const uint8_t *p, size_t avail, size_t max, uint32_t *size)
{
	uint32_t sz;

	if (max > TPM_FRAME_MAX)
		max = TPM_FRAME_MAX;
	if (avail < TPM_HDR_SIZE)
		return TPM_FRAME_INCOMPLETE;
	sz = be32_get(p + 2);
	if (sz < TPM_HDR_SIZE || sz > max)
		return TPM_FRAME_BAD;
	*size = sz;
	return avail >= sz ? TPM_FRAME_OK : TPM_FRAME_INCOMPLETE;
}

int
tpm_frame_exact(const uint8_t *p, size_t len, size_t max)
{
	uint32_t sz;

	if (tpm_frame_check(p, len, max, &sz) != TPM_FRAME_OK)
		return -1;
	return sz == len ? 0 : -1;
}

static int
tag_is_tpm2(const uint8_t *req, size_t reqlen, int is_tpm2)
{
	uint16_t tag;

	if (req == NULL || reqlen < 2)
		return is_tpm2;
	tag = be16_get(req);
	if (tag == TPM2_ST_NO_SESSIONS || tag == TPM2_ST_SESSIONS)
		return 1;
	if (tag >= TPM12_TAG_RQU_COMMAND && tag <= TPM12_TAG_RQU_AUTH2)
		return 0;
	return is_tpm2;
}

uint32_t
tpm_frame_fail_code(const uint8_t *req, size_t reqlen, int is_tpm2)
{
	return tag_is_tpm2(req, reqlen, is_tpm2) ? TPM2_RC_FAILURE : TPM12_FAIL;
}

void
tpm_frame_error(uint8_t out[TPM_HDR_SIZE], const uint8_t *req, size_t reqlen, int is_tpm2,
		uint32_t rc)
{
	be16_put(out, tag_is_tpm2(req, reqlen, is_tpm2) ? TPM2_ST_NO_SESSIONS
							  : TPM12_TAG_RSP_COMMAND);
	be32_put(out + 2, TPM_HDR_SIZE);
	be32_put(out + 6, rc);
}
