/*
 * nvram.c - the libtpms NV and I/O callbacks.  vtpmd opens no file: every
 * blob load, store and delete becomes one request to the manager over the
 * channel, answered before libtpms continues (one request outstanding).
 *
 * Owns: nothing persistent; loaded blobs are handed to libtpms (which
 * frees them) and the channel copy is wiped.  libtpms' callbacks take no
 * context, so nvram_register keeps the process's struct vtpmd for them
 * (cb_vd: set once, before libtpms can call back; one thread).  Trusts: the manager's reply
 * framing (chan_recv) and libtpms; reply sizes are checked here and a
 * malformed reply ends the process.  Blob contents are never logged.
 */
#include "vtpm/vtpmd_int.h"

#include "util/buf.h"
#include "util/log.h"

#include <libtpms/tpm_error.h>
#include <libtpms/tpm_library.h>
#include <libtpms/tpm_memory.h>
#include <libtpms/tpm_nvfilename.h>

#include <string.h>
#include <unistd.h>

/* What libtpms' callbacks serve (nvram_register). */
static struct vtpmd *cb_vd;

static size_t
check_name(const char *name)
{
	size_t n = name != NULL ? strnlen(name, NV_NAME_MAX + 1) : 0;

	return (n == 0 || n > NV_NAME_MAX) ? 0 : n;
}

static void
bad_reply(const char *what, uint32_t len)
{
	log_err(LOGM_VTPM, "malformed %s from the manager (%u bytes)", what, len);
	_exit(1);
}

/* Sends an NV request answered by CHAN_NV_STATUS and returns its rc. */
static TPM_RESULT
call_status(struct vtpmd *vd, uint32_t type, const void *a, size_t alen, const void *b,
	    size_t blen)
{
	struct chan_msg m;

	chanio_call(vd, type, a, alen, b, blen, CHAN_NV_STATUS, &m);
	if (m.len != 4)
		bad_reply("NV status", m.len);
	return be32_get(m.data);
}

static TPM_RESULT
cb_nvram_init(void)
{
	return TPM_SUCCESS;
}

TPM_RESULT
nvram_load(struct vtpmd *vd, const char *name, unsigned char **data, uint32_t *length)
{
	struct chan_msg m;
	size_t nl = check_name(name);
	TPM_RESULT rc;
	uint32_t n;

	*data = NULL;
	*length = 0;
	if (nl == 0) {
		log_err(LOGM_VTPM, "NV load: bad blob name");
		return TPM_FAIL;
	}
	chanio_call(vd, CHAN_NV_LOAD, name, nl, NULL, 0, CHAN_NV_DATA, &m);
	if (m.len < 4)
		bad_reply("NV data", m.len);
	rc = be32_get(m.data);
	if (rc != TPM_SUCCESS) {
		if (m.len != 4)
			bad_reply("NV data", m.len);
		if (rc == TPM_RETRY)
			log_debug(LOGM_VTPM, "NV load %s: absent", name);
		else
			log_err(LOGM_VTPM, "NV load %s failed: rc 0x%x", name, rc);
		return rc;
	}
	n = m.len - 4;
	if (n == 0 || n > TPM_ALLOC_MAX) {
		/* An empty blob is not "absent": treating it so would make
		 * libtpms manufacture a new TPM over the stored one. */
		log_err(LOGM_VTPM, "NV load %s: unusable blob size %u", name, n);
		chanio_wipe(vd, &m);
		return TPM_FAIL;
	}
	rc = TPM_Malloc(data, n);
	if (rc != TPM_SUCCESS) {
		log_err(LOGM_VTPM, "NV load %s: cannot allocate %u bytes", name, n);
		chanio_wipe(vd, &m);
		return rc;
	}
	memcpy(*data, m.data + 4, n);
	chanio_wipe(vd, &m);
	*length = n;
	log_debug(LOGM_VTPM, "NV load %s: %u bytes", name, n);
	return TPM_SUCCESS;
}

static TPM_RESULT
cb_loaddata(unsigned char **data, uint32_t *length, uint32_t tpm_number, const char *name)
{
	(void)tpm_number;
	return nvram_load(cb_vd, name, data, length);
}

TPM_RESULT
nvram_store(struct vtpmd *vd, const char *name, const unsigned char *data, uint32_t len)
{
	uint8_t hdr[1 + NV_NAME_MAX];
	size_t nl = check_name(name);
	TPM_RESULT rc;

	if (nl == 0) {
		log_err(LOGM_VTPM, "NV store: bad blob name");
		return TPM_FAIL;
	}
	if ((size_t)len > CHAN_MAX_PAYLOAD - 1 - nl) {
		log_err(LOGM_VTPM, "NV store %s: blob of %u bytes too large", name, len);
		return TPM_FAIL;
	}
	hdr[0] = (uint8_t)nl;
	memcpy(hdr + 1, name, nl);
	rc = call_status(vd, CHAN_NV_STORE, hdr, 1 + nl, data, len);
	if (rc != TPM_SUCCESS) {
		log_err(LOGM_VTPM, "NV store %s (%u bytes) failed: rc 0x%x", name, len, rc);
		vd->store_failures++;
	} else
		log_debug(LOGM_VTPM, "NV store %s: %u bytes", name, len);
	if (rc == TPM_SUCCESS && strcmp(name, TPM_PERMANENT_ALL_NAME) == 0)
		vd->permall_stores++;
	return rc;
}

static TPM_RESULT
cb_storedata(const unsigned char *data, uint32_t length, uint32_t tpm_number, const char *name)
{
	(void)tpm_number;
	return nvram_store(cb_vd, name, data, length);
}

TPM_RESULT
nvram_delete(struct vtpmd *vd, const char *name, int must_exist)
{
	uint8_t msg[1 + NV_NAME_MAX];
	size_t nl = check_name(name);
	TPM_RESULT rc;

	if (nl == 0) {
		log_err(LOGM_VTPM, "NV delete: bad blob name");
		return TPM_FAIL;
	}
	msg[0] = must_exist ? 1 : 0;
	memcpy(msg + 1, name, nl);
	rc = call_status(vd, CHAN_NV_DELETE, msg, 1 + nl, NULL, 0);
	if (rc == TPM_RETRY && !must_exist)
		rc = TPM_SUCCESS;
	if (rc != TPM_SUCCESS)
		log_err(LOGM_VTPM, "NV delete %s failed: rc 0x%x", name, rc);
	else
		log_debug(LOGM_VTPM, "NV delete %s", name);
	return rc;
}

static TPM_RESULT
cb_deletename(uint32_t tpm_number, const char *name, TPM_BOOL mustExist)
{
	(void)tpm_number;
	return nvram_delete(cb_vd, name, mustExist);
}

static TPM_RESULT
cb_io_init(void)
{
	return TPM_SUCCESS;
}

static TPM_RESULT
cb_io_getlocality(TPM_MODIFIER_INDICATOR *locality, uint32_t tpm_number)
{
	(void)tpm_number;
	*locality = cb_vd->locality;
	return TPM_SUCCESS;
}

TPM_RESULT
nvram_register(struct vtpmd *vd)
{
	/* Physical presence keeps libtpms' default (FALSE), as swtpm does. */
	static struct libtpms_callbacks cbs = {
		.sizeOfStruct = sizeof(struct libtpms_callbacks),
		.tpm_nvram_init = cb_nvram_init,
		.tpm_nvram_loaddata = cb_loaddata,
		.tpm_nvram_storedata = cb_storedata,
		.tpm_nvram_deletename = cb_deletename,
		.tpm_io_init = cb_io_init,
		.tpm_io_getlocality = cb_io_getlocality,
	};

	cb_vd = vd;
	return TPMLIB_RegisterCallbacks(&cbs);
}
