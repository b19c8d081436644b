/*
 * ctrl.c - swtpm control commands (util/ctrl_proto.h) as relayed by the
 * manager in CHAN_CTRL messages.  Semantics follow swtpm's ctrlchannel.c
 * (reference/swtpm-qemu.md section 3.2), plus the automatic TPM2_Shutdown
 * of swtpm >= 0.8 before every power-off.  The reply is exactly the bytes
 * a swtpm would send to the client; error replies always have the full
 * size the client reads (ctrl_error_reply).
 *
 * Owns: nothing.  Trusts: the manager to have framed the request, but
 * re-checks each body size it reads (a bad one gets TPM_BAD_PARAMETER, as
 * from swtpm); trusts libtpms.
 */
#include "vtpm/vtpmd_int.h"

#include "util/buf.h"
#include "util/ctrl_proto.h"
#include "util/log.h"

#include <libtpms/tpm_error.h>
#include <libtpms/tpm_library.h>
#include <libtpms/tpm_tis.h>

#include <stdlib.h>
#include <string.h>

#define GET_INFO_CHUNK 3072u /* swtpm's ptm_getinfo buffer */

/* Fills out with an error reply of the size the client expects. */
static size_t
err_reply(uint32_t cmd, uint32_t res, uint8_t *out, size_t outlen)
{
	return ctrl_error_reply(cmd, res, out, outlen);
}

static size_t
res_reply(uint32_t res, uint8_t *out)
{
	be32_put(out, res);
	return 4;
}

static size_t
do_get_info(const uint8_t *body, uint32_t blen, uint8_t *out, size_t outlen)
{
	uint64_t flags;
	uint32_t offset;
	size_t total, n;
	char *info;

	if (blen < 16)
		return err_reply(CMD_GET_INFO, CTRL_RES_BAD_PARAMETER, out, outlen);
	flags = be64_get(body);
	offset = be32_get(body + 8);
	info = TPMLIB_GetInfo((enum TPMLIB_InfoFlags)flags);
	if (info == NULL)
		return err_reply(CMD_GET_INFO, CTRL_RES_SIZE, out, outlen);
	total = strlen(info);
	if (offset >= total) {
		free(info);
		return err_reply(CMD_GET_INFO, CTRL_RES_BAD_PARAMETER, out, outlen);
	}
	total++; /* the NUL travels too */
	n = total - offset;
	if (n > GET_INFO_CHUNK)
		n = GET_INFO_CHUNK;
	be32_put(out, CTRL_RES_SUCCESS);
	be32_put(out + 4, (uint32_t)total);
	be32_put(out + 8, (uint32_t)n);
	memcpy(out + 12, info + offset, n);
	free(info);
	return 12 + n;
}

static size_t
do_set_buffersize(struct vtpmd *vd, const uint8_t *body, uint32_t blen, uint8_t *out, size_t outlen)
{
	uint32_t want, size, min = 0, max = 0;

	if (blen < 4)
		return err_reply(CMD_SET_BUFFERSIZE, CTRL_RES_BAD_PARAMETER, out, outlen);
	want = be32_get(body);
	if (want != 0 && vd->running)
		return err_reply(CMD_SET_BUFFERSIZE, CTRL_RES_BAD_ORDINAL, out, outlen);
	size = TPMLIB_SetBufferSize(want, &min, &max);
	if (want != 0)
		vd->bufsize = size;
	be32_put(out, CTRL_RES_SUCCESS);
	be32_put(out + 4, size);
	be32_put(out + 8, min);
	be32_put(out + 12, max);
	return 16;
}

static size_t
do_reset_established(struct vtpmd *vd, const uint8_t *body, uint32_t blen, uint8_t *out)
{
	TPM_MODIFIER_INDICATOR saved;
	uint32_t res;

	if (blen < 1)
		return res_reply(CTRL_RES_BAD_PARAMETER, out);
	if (body[0] > 4)
		return res_reply(CTRL_RES_BAD_LOCALITY, out);
	saved = vd->locality;
	vd->locality = body[0];
	res = TPM_IO_TpmEstablished_Reset();
	vd->locality = saved;
	return res_reply(res, out);
}

/*
 * GET_STATEBLOB (state_flags, type, offset): the raw libtpms blob, whole,
 * at offset 0 (the manager wraps it for the client and refuses other
 * offsets).  Sends the reply itself: res, state_flags 0, totlength = length
 * | blob, without copying the blob.
 */
static void
do_get_stateblob(struct vtpmd *vd, const uint8_t *body, uint32_t blen)
{
	uint8_t hdr[16];
	unsigned char *blob = NULL;
	uint32_t len = 0, type;
	TPM_RESULT rc;
	size_t n;

	if (blen != 12 || be32_get(body + 8) != 0) {
		n = err_reply(CMD_GET_STATEBLOB, CTRL_RES_BAD_PARAMETER, hdr, sizeof(hdr));
		(void)chanio_send(vd, CHAN_CTRL_RESP, hdr, n, NULL, 0);
		return;
	}
	type = be32_get(body + 4);
	rc = tpm_get_state(vd, type, &blob, &len);
	if (rc == TPM_SUCCESS && len > CTRL_STATEBLOB_RAW_MAX) {
		log_err(LOGM_VTPM, "GET_STATEBLOB: the blob of type %u has %u bytes, over the "
			"%u-byte limit", type, len, CTRL_STATEBLOB_RAW_MAX);
		rc = CTRL_RES_SIZE;
	}
	if (rc != TPM_SUCCESS) {
		freezero(blob, len);
		if (rc != TPM_RETRY)
			log_warn(LOGM_VTPM, "GET_STATEBLOB(type %u): rc 0x%x", type, rc);
		n = err_reply(CMD_GET_STATEBLOB, rc, hdr, sizeof(hdr));
		(void)chanio_send(vd, CHAN_CTRL_RESP, hdr, n, NULL, 0);
		log_debug(LOGM_VTPM, "control command 0x%x: result 0x%x", CMD_GET_STATEBLOB, rc);
		return;
	}
	be32_put(hdr, CTRL_RES_SUCCESS);
	be32_put(hdr + 4, 0);
	be32_put(hdr + 8, len);
	be32_put(hdr + 12, len);
	(void)chanio_send(vd, CHAN_CTRL_RESP, hdr, sizeof(hdr), blob, len);
	freezero(blob, len);
	log_debug(LOGM_VTPM, "control command 0x%x: result 0x0, %u-byte blob of type %u",
		  CMD_GET_STATEBLOB, len, type);
}

/*
 * SET_STATEBLOB (state_flags, type, length | blob): only while the TPM is
 * off (after STOP, or before the first INIT), else TPM_BAD_ORDINAL, as
 * swtpm.  The blob is the raw libtpms one (the manager has unwrapped and
 * verified the envelope) and libtpms validates it before caching it for
 * the next INIT; a rejected blob gets libtpms' error and nothing is kept.
 * An empty permanent blob is refused (it would wipe the TPM).
 */
static size_t
do_set_stateblob(struct vtpmd *vd, const uint8_t *body, uint32_t blen, uint8_t *out)
{
	uint32_t type, n;

	if (vd->running)
		return res_reply(CTRL_RES_BAD_ORDINAL, out);
	if (blen < 12)
		return res_reply(CTRL_RES_BAD_PARAMETER, out);
	type = be32_get(body + 4);
	n = be32_get(body + 8);
	if (n != blen - 12 || n > CTRL_STATEBLOB_MAX || (n == 0 && type == PTM_BLOB_TYPE_PERMANENT))
		return res_reply(CTRL_RES_BAD_PARAMETER, out);
	return res_reply(tpm_set_state(vd, type, body + 12, n), out);
}

static size_t
do_hash_data(const uint8_t *body, uint32_t blen, uint8_t *out)
{
	uint32_t n;

	if (blen < 4)
		return res_reply(CTRL_RES_BAD_PARAMETER, out);
	n = be32_get(body);
	if (n != blen - 4 || n > CTRL_HASH_DATA_MAX)
		return res_reply(CTRL_RES_BAD_PARAMETER, out);
	return res_reply(TPM_IO_Hash_Data(body + 4, n), out);
}

int
ctrl_handle(struct vtpmd *vd, const uint8_t *p, uint32_t len)
{
	uint8_t out[16 + GET_INFO_CHUNK];
	const uint8_t *body = p + 4;
	uint32_t cmd = be32_get(p), blen = len - 4;
	size_t n;
	int quit = 0;
	TPM_BOOL bit;

	/* Commands that need a powered-on TPM. */
	switch (cmd) {
	case CMD_GET_TPMESTABLISHED:
	case CMD_RESET_TPMESTABLISHED:
	case CMD_HASH_START:
	case CMD_HASH_DATA:
	case CMD_HASH_END:
	case CMD_CANCEL_TPM_CMD:
	case CMD_STORE_VOLATILE:
	case CMD_GET_STATEBLOB:
		if (!vd->running) {
			n = err_reply(cmd, CTRL_RES_BAD_ORDINAL, out, sizeof(out));
			goto send;
		}
		break;
	default:
		break;
	}

	switch (cmd) {
	case CMD_GET_CAPABILITY:
		be64_put(out, VTPM_CTRL_CAPS);
		n = 8;
		break;
	case CMD_INIT:
		if (blen != 4) {
			n = res_reply(CTRL_RES_BAD_PARAMETER, out);
			break;
		}
		tpm_power_off(vd);
		n = res_reply(tpm_power_on(vd, be32_get(body)), out);
		break;
	case CMD_SHUTDOWN:
		if (blen != 0) {
			n = res_reply(CTRL_RES_BAD_PARAMETER, out);
			break;
		}
		tpm_power_off(vd);
		n = res_reply(CTRL_RES_SUCCESS, out);
		quit = 1;
		break;
	case CMD_STOP:
		if (blen != 0) {
			n = res_reply(CTRL_RES_BAD_PARAMETER, out);
			break;
		}
		tpm_power_off(vd);
		n = res_reply(CTRL_RES_SUCCESS, out);
		break;
	case CMD_GET_TPMESTABLISHED:
		if (blen != 0) {
			n = err_reply(cmd, CTRL_RES_BAD_PARAMETER, out, sizeof(out));
			break;
		}
		bit = 0;
		memset(out, 0, 8);
		be32_put(out, TPM_IO_TpmEstablished_Get(&bit));
		out[4] = bit;
		n = 8;
		break;
	case CMD_SET_LOCALITY:
		if (blen < 1)
			n = res_reply(CTRL_RES_BAD_PARAMETER, out);
		else if (body[0] > 4)
			n = res_reply(CTRL_RES_BAD_LOCALITY, out);
		else {
			vd->locality = body[0];
			n = res_reply(CTRL_RES_SUCCESS, out);
		}
		break;
	case CMD_RESET_TPMESTABLISHED:
		n = do_reset_established(vd, body, blen, out);
		break;
	case CMD_HASH_START:
		n = res_reply(blen != 0 ? CTRL_RES_BAD_PARAMETER : TPM_IO_Hash_Start(), out);
		break;
	case CMD_HASH_DATA:
		n = do_hash_data(body, blen, out);
		break;
	case CMD_HASH_END:
		n = res_reply(blen != 0 ? CTRL_RES_BAD_PARAMETER : TPM_IO_Hash_End(), out);
		break;
	case CMD_CANCEL_TPM_CMD:
		/* Single-threaded: nothing is executing now, so this is the
		 * no-op it is in swtpm's socket main loop.  The manager answers
		 * CANCEL itself and signals us while a command executes
		 * (flight.c); this path serves a vtpmd driven directly. */
		n = res_reply(blen != 0 ? CTRL_RES_BAD_PARAMETER : TPMLIB_CancelCommand(), out);
		break;
	case CMD_STORE_VOLATILE:
		n = res_reply(blen != 0 ? CTRL_RES_BAD_PARAMETER : tpm_store_volatile(vd), out);
		break;
	case CMD_GET_CONFIG:
		if (blen != 0) {
			n = err_reply(cmd, CTRL_RES_BAD_PARAMETER, out, sizeof(out));
			break;
		}
		be32_put(out, CTRL_RES_SUCCESS);
		be32_put(out + 4, 0); /* no file key, no migration key */
		n = 8;
		break;
	case CMD_SET_BUFFERSIZE:
		n = do_set_buffersize(vd, body, blen, out, sizeof(out));
		break;
	case CMD_GET_INFO:
		n = do_get_info(body, blen, out, sizeof(out));
		break;
	case CMD_GET_STATEBLOB:
		do_get_stateblob(vd, body, blen);
		return 0;
	case CMD_SET_STATEBLOB:
		n = do_set_stateblob(vd, body, blen, out);
		break;
	case CMD_LOCK_STORAGE:
		/* The manager answers it (it holds the storage lock); a vtpmd
		 * has no storage of its own to lock. */
		n = res_reply(blen != 4 ? CTRL_RES_BAD_PARAMETER : CTRL_RES_SUCCESS, out);
		break;
	default:
		/* SET_DATAFD (the manager's) and unknown codes. */
		log_debug(LOGM_VTPM, "control command 0x%x not supported", cmd);
		n = err_reply(cmd, CTRL_RES_BAD_ORDINAL, out, sizeof(out));
		break;
	}

send:
	if (ctrl_check_response(cmd, out, n) != 0) {
		/* Our own bug: never send the client something it cannot parse. */
		log_err(LOGM_VTPM, "internal error: bad %zu-byte reply to control command 0x%x", n,
			cmd);
		n = err_reply(cmd, CTRL_RES_FAIL, out, sizeof(out));
	}
	log_debug(LOGM_VTPM, "control command 0x%x: result 0x%x", cmd,
		  cmd == CMD_GET_CAPABILITY ? 0 : be32_get(out));
	(void)chanio_send(vd, CHAN_CTRL_RESP, out, n, NULL, 0);
	return quit;
}
