/*
 * swtpm_import.c - `vtpmctl import-swtpm`: adopting a VM's TPM from a swtpm
 * state directory (libvirt's /var/lib/libvirt/swtpm/<uuid>/tpm2 and the
 * like).  vtpmctl reads and decodes swtpm's files (crypto/swtpm_state.c,
 * with the VM's key when the state is encrypted) and sends the libtpms
 * blobs; here they become a new vTPM under the given UUID, once a
 * sandboxed vtpmd has loaded them (libtpms validates the state) and its
 * EKs and certificates have been read for `vtpmctl ek`.
 *
 * Owns nothing beyond the request.  Trusts the administrator's request as
 * far as its exact framing, and the blobs not at all until libtpms has
 * loaded them in a vtpmd.
 */
#include "manager/provision_int.h"

#include <stdio.h>
#include <string.h>

#include "crypto/transport.h"

void
swtpm_import(struct mgr *m, struct ctl_client *c, const uint8_t *p, size_t len)
{
	struct buf b;
	const uint8_t *uuid, *data;
	uint8_t ver, count, type;
	uint32_t l;
	struct job *j;

	buf_init_reader(&b, p, len);
	if (buf_get_direct(&b, &uuid, UUID_LEN) != 0 || buf_get_u8(&b, &ver) != 0 ||
	    (ver != 1 && ver != 2) || buf_get_u8(&b, &count) != 0 || count == 0 ||
	    count > BLOB_COUNT || uuid_is_nil(uuid)) {
		ctl_answer(m, c, 0, "malformed import-swtpm request", NULL, NULL, 0);
		return;
	}
	if (prov_uuid_taken(m, c, uuid))
		return;
	if ((j = prov_job_new(m, JOB_IMPORT, c)) == NULL) {
		ctl_answer(m, c, 0, "too many jobs at once; retry", NULL, NULL, 0);
		return;
	}
	for (unsigned i = 0; i < count; i++) {
		if (buf_get_u8(&b, &type) != 0 || type < 1 || type > BLOB_COUNT ||
		    j->has[type - 1] || buf_get_u32(&b, &l) != 0 || l == 0 ||
		    l > XFER_BLOB_MAX || buf_get_direct(&b, &data, l) != 0 ||
		    buf_put_bytes(&j->blobs[type - 1], data, l) != 0) {
			prov_job_free(j);
			ctl_answer(m, c, 0, "malformed import-swtpm request", NULL, NULL, 0);
			return;
		}
		j->has[type - 1] = 1;
	}
	if (buf_avail(&b) != 0 || !j->has[BLOB_PERMALL]) {
		prov_job_free(j);
		ctl_answer(m, c, 0, "malformed import-swtpm request (no permanent state)", NULL,
			   NULL, 0);
		return;
	}
	memcpy(j->me.uuid, uuid, UUID_LEN);
	j->me.tpm_version = ver;
	uuid_format(uuid, j->uuid_str);
	snprintf(j->what, sizeof(j->what), "from a swtpm state directory");
	prov_job_start(m, j);
}

