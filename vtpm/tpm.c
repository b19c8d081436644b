/*
 * tpm.c - vtpmd's use of libtpms: powering the one TPM on and off,
 * --autostart, the automatic TPM2_Shutdown before a power-off, saving the
 * volatile state, and executing commands.
 *
 * Owns: the libtpms response buffer (vd->rbuf, wiped when freed) and the
 * running/autostarted/last-command flags.  Trusts: libtpms, except that
 * every response it produces is still checked with tpm_frame_exact()
 * before it is sent anywhere.  Callers hand in commands already framed by
 * tpm_frame_check()/tpm_frame_exact().
 */
#include "vtpm/vtpmd_int.h"

#include "util/buf.h"
#include "util/ctrl_proto.h"
#include "util/log.h"

#include <libtpms/tpm_error.h>
#include <libtpms/tpm_library.h>
#include <libtpms/tpm_nvfilename.h>

#include <string.h>

#define TPM2_CC_STARTUP 0x144u
#define TPM2_CC_SHUTDOWN 0x145u
#define TPM12_ORD_SAVESTATE 0x98u
#define TPM12_ORD_STARTUP 0x99u
#define TPM2_SU_CLEAR 0x0000u
#define TPM12_ST_CLEAR 0x0001u

/* Builds a 12-byte Startup/Shutdown command: header + u16 parameter. */
static void
build_cmd12(uint8_t out[12], uint16_t tag, uint32_t code, uint16_t param)
{
	be16_put(out, tag);
	be32_put(out + 2, 12);
	be32_put(out + 6, code);
	be16_put(out + 10, param);
}

void
tpm_bad_frame_response(const struct vtpmd *vd, uint8_t out[TPM_HDR_SIZE], const uint8_t *req,
		       size_t reqlen)
{
	/* tpm_frame_fail_code() tells the request's generation from its tag. */
	int tpm2 = tpm_frame_fail_code(req, reqlen, vd->is_tpm2) == TPM2_RC_FAILURE;

	tpm_frame_error(out, req, reqlen, vd->is_tpm2,
			tpm2 ? TPM2_RC_COMMAND_SIZE : TPM12_BAD_PARAM_SIZE);
}

void
tpm_execute(struct vtpmd *vd, uint8_t *cmd, uint32_t len, const uint8_t **resp, uint32_t *rlen)
{
	static uint8_t errbuf[TPM_HDR_SIZE];
	uint32_t n = 0;
	TPM_RESULT rc;

	if (!vd->running) {
		/* What swtpm answers before CMD_INIT; QEMU probes the TPM
		 * version this way, so the tag is the vTPM's own. */
		tpm_frame_error(errbuf, NULL, 0, vd->is_tpm2,
				vd->is_tpm2 ? TPM2_RC_FAILURE : TPM12_FAIL);
		*resp = errbuf;
		*rlen = TPM_HDR_SIZE;
		return;
	}
	rc = TPMLIB_Process(&vd->rbuf, &n, &vd->rbufsize, cmd, len);
	tpmlog_drain(); /* libtpms' words first, then ours about the same command */
	if (rc != TPM_SUCCESS || vd->rbuf == NULL ||
	    tpm_frame_exact(vd->rbuf, n, TPM_FRAME_MAX) != 0) {
		log_err(LOGM_VTPM, "TPM command of %u bytes: libtpms rc 0x%x, bad response of %u bytes",
			len, rc, n);
		tpm_frame_error(errbuf, cmd, len, vd->is_tpm2,
				tpm_frame_fail_code(cmd, len, vd->is_tpm2));
		vd->last_was_shutdown = 0;
		*resp = errbuf;
		*rlen = TPM_HDR_SIZE;
		return;
	}
	if (vd->is_tpm2 && be32_get(vd->rbuf + 6) == TPM2_RC_FAILURE && !vd->failed) {
		log_err(LOGM_VTPM, "the TPM is in failure mode");
		vd->failed = 1;
	}
	vd->last_was_shutdown =
		be32_get(vd->rbuf + 6) == TPM_SUCCESS &&
		be32_get(cmd + 6) == (vd->is_tpm2 ? TPM2_CC_SHUTDOWN : TPM12_ORD_SAVESTATE);
	*resp = vd->rbuf;
	*rlen = n;
}

/*
 * After a MainInit that consumed a permanent blob from SET_STATEBLOB: that
 * state exists only in libtpms' memory until it reaches the store.  libtpms
 * 0.9 writes it during MainInit (TPM 2.0: NvCommit, whose result it
 * ignores; TPM 1.2: TPM_PermanentAll_NVStore), so store it here only when
 * that did not happen or failed.  0 or a TPM_RESULT.
 */
static TPM_RESULT
store_set_permanent(struct vtpmd *vd, unsigned stores_before)
{
	unsigned char *buf = NULL;
	uint32_t len = 0;
	TPM_RESULT rc;

	if (vd->permall_stores != stores_before) {
		log_info(LOGM_VTPM, "permanent state from SET_STATEBLOB stored at power-on");
		return TPM_SUCCESS;
	}
	rc = TPMLIB_GetState(TPMLIB_STATE_PERMANENT, &buf, &len);
	if (rc == TPM_SUCCESS && (buf == NULL || len == 0))
		rc = TPM_FAIL;
	if (rc == TPM_SUCCESS)
		rc = nvram_store(vd, TPM_PERMANENT_ALL_NAME, buf, len);
	freezero(buf, len);
	if (rc != TPM_SUCCESS)
		log_err(LOGM_VTPM, "cannot store the permanent state from SET_STATEBLOB: rc 0x%x",
			rc);
	else
		log_info(LOGM_VTPM, "permanent state from SET_STATEBLOB stored after power-on");
	return rc;
}

TPM_RESULT
tpm_power_on(struct vtpmd *vd, uint32_t init_flags)
{
	uint32_t min, max;
	unsigned stores_before = vd->permall_stores;
	int perm_set = vd->perm_set;
	TPM_RESULT rc;

	rc = TPMLIB_ChooseTPMVersion(vd->is_tpm2 ? TPMLIB_TPM_VERSION_2 : TPMLIB_TPM_VERSION_1_2);
	if (rc != TPM_SUCCESS) {
		log_err(LOGM_VTPM, "TPMLIB_ChooseTPMVersion: rc 0x%x", rc);
		return rc;
	}
	vd->bufsize = TPMLIB_SetBufferSize(vd->bufsize, &min, &max);
	vd->perm_set = 0; /* MainInit takes the cached blobs, whatever its result */
	rc = TPMLIB_MainInit();
	if (rc != TPM_SUCCESS) {
		log_err(LOGM_VTPM, "TPMLIB_MainInit: rc 0x%x", rc);
		TPMLIB_Terminate(); /* unlocks the version choice for a retry */
		return rc;
	}
	if (perm_set && (rc = store_set_permanent(vd, stores_before)) != TPM_SUCCESS) {
		/* Running on state that is not stored would lose it at the
		 * next power cycle: fail the INIT (QEMU then fails the
		 * incoming migration; the source still has the vTPM). */
		TPMLIB_Terminate();
		return rc;
	}
	if (init_flags & PTM_INIT_FLAG_DELETE_VOLATILE) {
		rc = nvram_delete(vd, TPM_VOLATILESTATE_NAME, 0);
		if (rc != TPM_SUCCESS) {
			TPMLIB_Terminate();
			return rc;
		}
	}
	vd->running = 1;
	vd->autostarted = 0;
	vd->last_was_shutdown = 0;
	vd->failed = 0;
	log_info(LOGM_VTPM, "TPM %s powered on (buffer size %u)", vd->is_tpm2 ? "2.0" : "1.2",
		 vd->bufsize);
	return TPM_SUCCESS;
}

TPM_RESULT
tpm_autostart(struct vtpmd *vd)
{
	uint8_t cmd[12];
	const uint8_t *resp;
	uint32_t rlen, code;
	TPM_RESULT rc;

	rc = tpm_power_on(vd, 0);
	if (rc != TPM_SUCCESS)
		return rc;
	if (vd->is_tpm2)
		build_cmd12(cmd, TPM2_ST_NO_SESSIONS, TPM2_CC_STARTUP, TPM2_SU_CLEAR);
	else
		build_cmd12(cmd, TPM12_TAG_RQU_COMMAND, TPM12_ORD_STARTUP, TPM12_ST_CLEAR);
	tpm_execute(vd, cmd, sizeof(cmd), &resp, &rlen);
	code = be32_get(resp + 6);
	if (code == (vd->is_tpm2 ? TPM2_RC_INITIALIZE : TPM12_INVALID_POSTINIT)) {
		/* MainInit resumed the saved volatile state: the TPM is
		 * already started.  That resume is one-shot. */
		log_info(LOGM_VTPM, "resumed from saved volatile state");
		rc = nvram_delete(vd, TPM_VOLATILESTATE_NAME, 0);
		if (rc != TPM_SUCCESS) {
			TPMLIB_Terminate();
			vd->running = 0;
			return rc;
		}
	} else if (code != TPM_SUCCESS) {
		log_err(LOGM_VTPM, "Startup at autostart failed: rc 0x%x", code);
		TPMLIB_Terminate();
		vd->running = 0;
		return code;
	}
	vd->autostarted = 1;
	return TPM_SUCCESS;
}

void
tpm_auto_shutdown(struct vtpmd *vd)
{
	uint8_t cmd[12];
	const uint8_t *resp;
	uint32_t rlen;

	if (!vd->running || !vd->is_tpm2 || vd->last_was_shutdown)
		return;
	build_cmd12(cmd, TPM2_ST_NO_SESSIONS, TPM2_CC_SHUTDOWN, TPM2_SU_CLEAR);
	tpm_execute(vd, cmd, sizeof(cmd), &resp, &rlen);
	log_debug(LOGM_VTPM, "automatic TPM2_Shutdown(SU_CLEAR): rc 0x%x", be32_get(resp + 6));
}

void
tpm_power_off(struct vtpmd *vd)
{
	if (!vd->running)
		return;
	tpm_auto_shutdown(vd);
	TPMLIB_Terminate();
	vd->running = 0;
	vd->autostarted = 0;
	vd->last_was_shutdown = 0;
	log_info(LOGM_VTPM, "TPM powered off");
}

TPM_RESULT
tpm_get_state(struct vtpmd *vd, uint32_t type, unsigned char **buf, uint32_t *len)
{
	TPM_RESULT rc;

	*buf = NULL;
	*len = 0;
	if (!vd->running)
		return TPM_INVALID_POSTINIT;
	switch (type) {
	case PTM_BLOB_TYPE_PERMANENT:
		rc = TPMLIB_GetState(TPMLIB_STATE_PERMANENT, buf, len);
		break;
	case PTM_BLOB_TYPE_VOLATILE:
		rc = TPMLIB_VolatileAll_Store(buf, len);
		/* swtpm leaves no volatile state behind once it was handed out. */
		if (rc == TPM_SUCCESS)
			rc = nvram_delete(vd, TPM_VOLATILESTATE_NAME, 0);
		break;
	case PTM_BLOB_TYPE_SAVESTATE:
		/* What TPM_SaveState (1.2) stored; the live TPM is not asked:
		 * it would marshal a savestate the guest never made. */
		rc = nvram_load(vd, TPM_SAVESTATE_NAME, buf, len);
		break;
	default:
		return TPM_BAD_PARAMETER;
	}
	if (rc == TPM_SUCCESS && (*buf == NULL || *len == 0))
		rc = TPM_RETRY;
	if (rc != TPM_SUCCESS) {
		freezero(*buf, *len);
		*buf = NULL;
		*len = 0;
	}
	return rc;
}

TPM_RESULT
tpm_set_state(struct vtpmd *vd, uint32_t type, const uint8_t *buf, uint32_t len)
{
	enum TPMLIB_StateType st;
	TPM_RESULT rc;

	if (vd->running)
		return TPM_INVALID_POSTINIT;
	switch (type) {
	case PTM_BLOB_TYPE_PERMANENT: st = TPMLIB_STATE_PERMANENT; break;
	case PTM_BLOB_TYPE_VOLATILE: st = TPMLIB_STATE_VOLATILE; break;
	case PTM_BLOB_TYPE_SAVESTATE: st = TPMLIB_STATE_SAVE_STATE; break;
	default: return TPM_BAD_PARAMETER;
	}
	/* libtpms validates volatile and savestate blobs against the
	 * permanent one: cached, else loaded through the NV callbacks. */
	rc = TPMLIB_SetState(st, len != 0 ? buf : NULL, len);
	if (rc != TPM_SUCCESS) {
		/* libtpms dropped every cached blob, the permanent one too. */
		vd->perm_set = 0;
		log_warn(LOGM_VTPM, "SET_STATEBLOB: libtpms rejected the %u-byte blob of type %u: "
			 "rc 0x%x", len, type, rc);
		return rc;
	}
	if (st == TPMLIB_STATE_PERMANENT)
		vd->perm_set = len != 0;
	log_info(LOGM_VTPM, "SET_STATEBLOB: %u-byte blob of type %u accepted for the next INIT",
		 len, type);
	return TPM_SUCCESS;
}

TPM_RESULT
tpm_store_volatile(struct vtpmd *vd)
{
	unsigned char *buf = NULL;
	uint32_t len = 0;
	TPM_RESULT rc;

	rc = TPMLIB_VolatileAll_Store(&buf, &len);
	if (rc != TPM_SUCCESS) {
		log_err(LOGM_VTPM, "TPMLIB_VolatileAll_Store: rc 0x%x", rc);
		freezero(buf, len);
		return rc;
	}
	rc = nvram_store(vd, TPM_VOLATILESTATE_NAME, buf, len);
	freezero(buf, len);
	return rc;
}
