/*
 * transfer.c - moving a stopped vTPM between hosts: this host's transport
 * key (P-384; private half sealed under the master key in
 * <state-dir>/transport-key.sealed, public half in transport.pem),
 * `vtpmctl transport-key`, `vtpmctl export` and `vtpmctl import`
 * (crypto/transport.h has the file format).
 *
 * Owns the transport key and the "exported" marker of a vTPM.  Trusts:
 * nothing in an export file before transport_open authenticated it (made
 * for this host's key, by the source key named in it); after that the
 * state still goes through a sandboxed vtpmd (a provisioning job) before
 * it is stored.  An exported vTPM is marked before the file is handed
 * out, so this host never runs it again by accident.
 */
#include "manager/provision_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "crypto/ekcert.h"
#include "crypto/transport.h"
#include "util/err.h"
#include "util/errmsg.h"
#include "util/fileio.h"
#include "util/log.h"

/* The exported marker: one text line. */
static int
exported_read(struct mgr *m, const struct vtpm *v, char *line, size_t len)
{
	uint8_t *data = NULL;
	size_t dlen = 0;
	int fd, r;

	if ((fd = prov_vdir_open(m, v->uuid_str)) < 0)
		return 0;
	r = file_read_all(fd, EXPORTED_FILE, 512, &data, &dlen);
	close(fd);
	if (r != 0)
		return 0;
	dlen = dlen < len - 1 ? dlen : len - 1;
	for (size_t i = 0; i < dlen; i++)
		line[i] = data[i] >= 0x20 && data[i] < 0x7f ? (char)data[i] : ' ';
	line[dlen] = '\0';
	freezero(data, dlen);
	return 1;
}

static void
mark_exported(struct vtpm *v, const char *line)
{
	v->exported = 1;
	v->state = VS_FAILED;
	snprintf(v->reason, sizeof(v->reason), "%s; it no longer runs here (vtpmctl delete "
		 "removes it)", line);
}

int
transfer_init(struct mgr *m, struct prov *p, char *err, size_t errlen)
{
	EVP_PKEY *k = NULL;
	char fp[PKEY_FP_HEX_LEN];
	int r, made = 0;

	r = prov_secret_load(m, TR_KEY_FILE, "transport-key", p->keys->tr, sizeof(p->keys->tr),
			&p->keys->tr_len, err, errlen);
	if (r < 0)
		return -1;
	if (r == 1) {
		if ((k = pkey_gen_p384()) == NULL ||
		    pkey_priv_der(k, p->keys->tr, sizeof(p->keys->tr), &p->keys->tr_len) != 0 ||
		    prov_secret_save(m, TR_KEY_FILE, "transport-key", p->keys->tr, p->keys->tr_len, err,
				errlen) != 0) {
			seterr(err, errlen, "cannot create the transport key");
			EVP_PKEY_free(k);
			return -1;
		}
		made = 1;
	} else if ((k = pkey_priv_from_der(p->keys->tr, p->keys->tr_len)) == NULL ||
		   pkey_kind(k, NULL) != PKEY_P384) {
		seterr(err, errlen, "%s/%s holds no usable key", m->cfg.state_dir, TR_KEY_FILE);
		EVP_PKEY_free(k);
		return -1;
	}
	{
		struct buf d;

		buf_init(&d, PKEY_SPKI_MAX);
		r = pkey_pub_der(k, &d) == 0 && (p->tr_pub = pkey_pub_from_der(d.d, d.len)) != NULL &&
		    pkey_fingerprint(p->tr_pub, p->tr_fp) == 0 && pkey_pub_pem(p->tr_pub, &p->tr_pem) == 0
			? 0 : -1;
		buf_free(&d);
	}
	EVP_PKEY_free(k);
	if (r != 0) {
		seterr(err, errlen, "cannot derive the transport public key");
		return -1;
	}
	/* The public half, for operators; written only when it is not there
	 * already (a start writes nothing it need not). */
	{
		uint8_t *old = NULL;
		size_t olen = 0;
		int same = file_read_all(m->store.dirfd, TR_PUB_FILE, PKEY_PEM_MAX, &old, &olen) == 0 &&
			   olen == p->tr_pem.len && memcmp(old, p->tr_pem.d, olen) == 0;

		freezero(old, olen);
		if (!same && file_write_atomic(m->store.dirfd, TR_PUB_FILE, p->tr_pem.d,
					       p->tr_pem.len, 0644) != 0) {
			seterr(err, errlen, "cannot write %s/%s", m->cfg.state_dir, TR_PUB_FILE);
			return -1;
		}
	}
	pkey_fp_hex(p->tr_fp, fp);
	log_info(LOGM_MAIN, "transport key %s: %s", made ? "created" : "loaded", fp);
	/* vTPMs this host exported are not started here again. */
	for (struct vtpm *v = m->vtpms; v != NULL; v = v->next) {
		char line[256];

		if (exported_read(m, v, line, sizeof(line))) {
			mark_exported(v, line);
			log_info(LOGM_VTPM, "vtpm %s: %s", v->uuid_str, line);
		}
	}
	return 0;
}



void
transfer_key(struct mgr *m, struct ctl_client *c)
{
	char fp[PKEY_FP_HEX_LEN];

	pkey_fp_hex(m->prov->tr_fp, fp);
	ctl_answer(m, c, 1, fp, NULL, m->prov->tr_pem.d, m->prov->tr_pem.len);
}

void
transfer_export(struct mgr *m, struct ctl_client *c, const uint8_t *p, size_t len)
{
	static const uint8_t types[BLOB_COUNT] = { XFER_PERMALL, XFER_VOLATILE, XFER_SAVESTATE };
	struct prov *pv = m->prov;
	struct buf blobs[BLOB_COUNT], ei, out;
	int has[BLOB_COUNT] = { 0 }, n = 0, r, fd;
	struct xfer_blob xb[4];
	EVP_PKEY *dest = NULL, *src = NULL;
	uint8_t dfp[PKEY_FP_LEN];
	char msg[800], err[600], dshort[20], line[200];
	struct vtpm *v;

	for (int i = 0; i < BLOB_COUNT; i++)
		buf_init(&blobs[i], SEAL_CT_MAX);
	buf_init(&ei, 4 * (PKEY_SPKI_MAX + EKCERT_DER_MAX) + 64);
	buf_init(&out, CHAN_MAX_PAYLOAD - 1024);
	if (len < UUID_LEN + 2 || p[UUID_LEN] != 0) {
		ctl_answer(m, c, 0, "malformed export request", NULL, NULL, 0);
		goto out;
	}
	if ((v = vtpm_find_uuid(m, p)) == NULL) {
		char us[UUID_STR_LEN];
		uuid_format(p, us);
		snprintf(msg, sizeof(msg), "no vTPM with UUID %s", us);
		ctl_answer(m, c, 0, msg, NULL, NULL, 0);
		goto out;
	}
	if (prov_vtpm_busy(m, c, v, "export"))
		goto out;
	if ((dest = pkey_pub_from_pem(p + UUID_LEN + 1, len - UUID_LEN - 1)) == NULL ||
	    pkey_kind(dest, NULL) != PKEY_P384 || pkey_fingerprint(dest, dfp) != 0) {
		ctl_answer(m, c, 0, "--to: not a transport key (a P-384 public key in PEM, as "
			   "`vtpmctl transport-key` prints on the destination)", NULL, NULL, 0);
		goto out;
	}
	if (memcmp(dfp, pv->tr_fp, PKEY_FP_LEN) == 0) {
		ctl_answer(m, c, 0, "--to names this host's own transport key", NULL, NULL, 0);
		goto out;
	}
	if (prov_load_blobs(m, v, blobs, has, err, sizeof(err)) != 0) {
		snprintf(msg, sizeof(msg), "cannot export vTPM %s: %s", v->uuid_str, err);
		ctl_answer(m, c, 0, msg, NULL, NULL, 0);
		goto out;
	}
	for (int i = 0; i < BLOB_COUNT; i++)
		if (has[i])
			xb[n++] = (struct xfer_blob){ types[i], blobs[i].d, blobs[i].len };
	if (prov_ekinfo_load(m, v, &ei) == 0 && ei.len != 0)
		xb[n++] = (struct xfer_blob){ XFER_EKINFO, ei.d, ei.len };
	if ((src = pkey_priv_from_der(pv->keys->tr, pv->keys->tr_len)) == NULL ||
	    (r = transport_seal(src, dest, v->me.tpm_version, v->me.uuid, xb, (size_t)n, &out)) !=
		    0) {
		snprintf(msg, sizeof(msg), "cannot export vTPM %s: the state does not fit one "
			 "export file, or crypto failed", v->uuid_str);
		ctl_answer(m, c, 0, msg, NULL, NULL, 0);
		goto out;
	}
	/* From now on this host must not run it: mark it before answering. */
	prov_fp_short(dfp, dshort);
	snprintf(line, sizeof(line), "exported to host with transport key %s... at %llu", dshort,
		 (unsigned long long)now_unix());
	if ((fd = prov_vdir_open(m, v->uuid_str)) < 0 ||
	    file_write_atomic(fd, EXPORTED_FILE, line, strlen(line), 0600) != 0) {
		if (fd >= 0)
			close(fd);
		snprintf(msg, sizeof(msg), "cannot export vTPM %s: cannot mark it exported",
			 v->uuid_str);
		ctl_answer(m, c, 0, msg, NULL, NULL, 0);
		goto out;
	}
	close(fd);
	mark_exported(v, line);
	log_warn(LOGM_CTRL, "vtpm %s: %s (%zu-byte export file); it stays here stopped",
		 v->uuid_str, line, out.len);
	ctl_answer(m, c, 1, "exported", NULL, out.d, out.len);
out:
	EVP_PKEY_free(dest);
	EVP_PKEY_free(src);
	for (int i = 0; i < BLOB_COUNT; i++)
		buf_free(&blobs[i]);
	buf_free(&ei);
	buf_free(&out);
}

void
transfer_import(struct mgr *m, struct ctl_client *c, const uint8_t *p, size_t len)
{
	struct prov *pv = m->prov;
	struct xfer_hdr h;
	struct xfer_blob xb[4];
	struct buf pt;
	EVP_PKEY *me_key = NULL;
	char msg[800], a[20], b[20];
	size_t n = 0;
	struct job *j = NULL;
	int r;

	buf_init(&pt, XFER_PT_MAX);
	if (len < 1 + PKEY_FP_LEN + 1 || p[0] > 1) {
		ctl_answer(m, c, 0, "malformed import request", NULL, NULL, 0);
		goto out;
	}
	if ((me_key = pkey_priv_from_der(pv->keys->tr, pv->keys->tr_len)) == NULL) {
		ctl_answer(m, c, 0, "the transport key does not decode", NULL, NULL, 0);
		goto out;
	}
	r = transport_open(me_key, p + 1 + PKEY_FP_LEN, len - 1 - PKEY_FP_LEN, &h, &pt);
	if (r == VERR_OTHERKEY) {
		prov_fp_short(h.dest_fp, a);
		prov_fp_short(pv->tr_fp, b);
		snprintf(msg, sizeof(msg), "export file was made for another host (transport key "
			 "%s...; this host's is %s...)", a, b);
	} else if (r != 0) {
		snprintf(msg, sizeof(msg), "export file refused: %s", verr_str(r));
	}
	if (r != 0) {
		log_warn(LOGM_CTRL, "import refused: %s", msg);
		ctl_answer(m, c, 0, msg, NULL, NULL, 0);
		goto out;
	}
	if (p[0] == 1 && memcmp(p + 1, h.src_fp, PKEY_FP_LEN) != 0) {
		prov_fp_short(h.src_fp, a);
		prov_fp_short(p + 1, b);
		snprintf(msg, sizeof(msg), "export file comes from transport key %s..., not from "
			 "the expected %s... (--from)", a, b);
		log_warn(LOGM_CTRL, "import refused: %s", msg);
		ctl_answer(m, c, 0, msg, NULL, NULL, 0);
		goto out;
	}
	if (transport_payload(pt.d, pt.len, xb, &n) != 0) {
		ctl_answer(m, c, 0, "export file refused: its contents are malformed", NULL, NULL, 0);
		goto out;
	}
	if (prov_uuid_taken(m, c, h.uuid))
		goto out;
	if ((j = prov_job_new(m, JOB_IMPORT, c)) == NULL) {
		ctl_answer(m, c, 0, "too many jobs at once; retry", NULL, NULL, 0);
		goto out;
	}
	memcpy(j->me.uuid, h.uuid, UUID_LEN);
	j->me.tpm_version = h.tpm_version;
	uuid_format(h.uuid, j->uuid_str);
	for (size_t i = 0; i < n; i++) {
		struct buf *dst = xb[i].type == XFER_EKINFO ? &j->ekinfo_in
							    : &j->blobs[xb[i].type - 1];
		if (buf_put_bytes(dst, xb[i].p, xb[i].len) != 0) {
			prov_job_free(j);
			ctl_answer(m, c, 0, "out of memory", NULL, NULL, 0);
			goto out;
		}
		if (xb[i].type != XFER_EKINFO)
			j->has[xb[i].type - 1] = 1;
	}
	prov_fp_short(h.src_fp, a);
	snprintf(j->what, sizeof(j->what), "from host with transport key %s...", a);
	prov_job_start(m, j);
out:
	EVP_PKEY_free(me_key);
	buf_free(&pt);
}

