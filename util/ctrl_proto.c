/*
 * ctrl_proto.c - request framing and response checks for swtpm's control
 * protocol; see ctrl_proto.h.  Trusts neither clients nor vtpmd.
 */
#include "ctrl_proto.h"
#include "buf.h"

#include <string.h>

/* Fixed body size of each request, or -1 for the variable ones. */
static long
req_body_fixed(uint32_t cmd)
{
	switch (cmd) {
	case CMD_GET_CAPABILITY:
	case CMD_SHUTDOWN:
	case CMD_GET_TPMESTABLISHED:
	case CMD_HASH_START:
	case CMD_HASH_END:
	case CMD_CANCEL_TPM_CMD:
	case CMD_STORE_VOLATILE:
	case CMD_STOP:
	case CMD_GET_CONFIG:
	case CMD_SET_DATAFD:
		return 0;
	case CMD_INIT:
	case CMD_SET_BUFFERSIZE:
	case CMD_LOCK_STORAGE:
		return 4;
	case CMD_GET_STATEBLOB:
		return 12;
	case CMD_GET_INFO:
		return 16;
	default:
		return -1;
	}
}

enum ctrl_parse
ctrl_parse_request(const uint8_t *p, size_t avail, int settled, uint32_t *cmd, size_t *total)
{
	uint32_t c, len;
	long fixed;

	if (avail < 4)
		return CTRL_PARSE_INCOMPLETE;
	c = be32_get(p);
	*cmd = c;
	fixed = req_body_fixed(c);
	if (fixed >= 0) {
		if (avail - 4 < (size_t)fixed)
			return CTRL_PARSE_INCOMPLETE;
		*total = 4 + (size_t)fixed;
		return CTRL_PARSE_OK;
	}
	switch (c) {
	case CMD_SET_LOCALITY:
	case CMD_RESET_TPMESTABLISHED:
		/* struct ptm_loc's request is one byte inside a 4-byte union:
		 * QEMU sends 4, tpm2-tss and swtpm_ioctl send 1. */
		if (avail >= 8) {
			*total = 8;
			return CTRL_PARSE_OK;
		}
		if (avail >= 5 && settled) {
			*total = 5;
			return CTRL_PARSE_OK;
		}
		return CTRL_PARSE_INCOMPLETE;
	case CMD_HASH_DATA:
		if (avail < 8)
			return CTRL_PARSE_INCOMPLETE;
		len = be32_get(p + 4);
		if (len > CTRL_HASH_DATA_MAX)
			return CTRL_PARSE_TOO_LARGE;
		if (avail - 8 < len)
			return CTRL_PARSE_INCOMPLETE;
		*total = 8 + (size_t)len;
		return CTRL_PARSE_OK;
	case CMD_SET_STATEBLOB:
		if (avail < 16)
			return CTRL_PARSE_INCOMPLETE;
		len = be32_get(p + 12);
		if (len > CTRL_STATEBLOB_MAX)
			return CTRL_PARSE_TOO_LARGE;
		if (avail - 16 < len)
			return CTRL_PARSE_INCOMPLETE;
		*total = 16 + (size_t)len;
		return CTRL_PARSE_OK;
	default:
		return CTRL_PARSE_UNKNOWN;
	}
}

static long
resp_fixed(uint32_t cmd)
{
	switch (cmd) {
	case CMD_GET_CAPABILITY:
	case CMD_GET_TPMESTABLISHED:
	case CMD_GET_CONFIG:
		return 8;
	case CMD_SET_BUFFERSIZE:
		return 16;
	case CMD_GET_STATEBLOB:
	case CMD_GET_INFO:
		return -1;
	default:
		return 4;
	}
}

int
ctrl_check_response(uint32_t cmd, const uint8_t *resp, size_t len)
{
	long fixed = resp_fixed(cmd);
	uint32_t n;

	if (fixed >= 0)
		return len == (size_t)fixed ? 0 : -1;
	if (cmd == CMD_GET_STATEBLOB) {
		if (len < 16)
			return -1;
		n = be32_get(resp + 12);
		return (len - 16 == n && n <= CTRL_STATEBLOB_RAW_MAX) ? 0 : -1;
	}
	/* GET_INFO: res, totlength, length, data[length] */
	if (len < 12)
		return -1;
	n = be32_get(resp + 8);
	return (len - 12 == n && n <= 4096) ? 0 : -1;
}

size_t
ctrl_error_reply(uint32_t cmd, uint32_t res, uint8_t *out, size_t outlen)
{
	long fixed = resp_fixed(cmd);
	size_t n = fixed >= 0 ? (size_t)fixed : (cmd == CMD_GET_STATEBLOB ? 16 : 12);

	if (cmd == CMD_GET_CAPABILITY || n > outlen)
		return 0; /* GET_CAPABILITY cannot fail */
	memset(out, 0, n);
	be32_put(out, res);
	return n;
}
