/*
 * stateblob.c - migration both ways: a vTPM's state leaves through
 * GET_STATEBLOB and comes in through SET_STATEBLOB (QEMU's migration and
 * snapshots, swtpm's control protocol), always in the migration envelope
 * (crypto/migblob.h): sealed under the cluster's migration key when one is
 * configured, else under this host's own key, and bound to the vTPM's UUID
 * and blob type.
 *
 * Owns the envelope rules.  Trusts: nothing that comes in (the envelope
 * must verify for this vTPM before the raw libtpms blob inside goes to
 * the vtpmd, which has libtpms validate it; the request's ENCRYPTED flag is
 * not trusted, the envelope says), and a vtpmd's reply only as far as
 * ctrl_check_response framed it.  A client never sees a raw blob.
 */
#include "manager/mgr.h"
#include "manager/stateblob.h"

#include <stdio.h>

#include "crypto/migblob.h"
#include "util/ctrl_proto.h"
#include "util/err.h"
#include "util/log.h"

static const char *
blob_type_name(uint32_t type)
{
	switch (type) {
	case PTM_BLOB_TYPE_PERMANENT: return "permanent";
	case PTM_BLOB_TYPE_VOLATILE: return "volatile";
	case PTM_BLOB_TYPE_SAVESTATE: return "savestate";
	default: return "unknown";
	}
}

/* What the operator can do about a refused envelope, where the code
 * alone (verr_str) does not say: the keys are this module's business. */
static const char *
unwrap_hint(int rc)
{
	switch (rc) {
	case VERR_NOKEY: return " (sealed under a migration key, and no migration_key is "
				"configured on this host)";
	case VERR_OTHERKEY: return " (sealed on another host, or modified: moving state between "
				   "hosts needs the same migration_key on both)";
	case VERR_PLAIN: return " (a version 1 envelope from an older version)";
	default: return "";
	}
}

uint32_t
stateblob_unwrap(struct mgr *m, struct vtpm *v, const uint8_t *req, size_t total,
		 struct buf *out)
{
	uint32_t type = be32_get(req + 8), len = be32_get(req + 12);
	struct migblob_keys keys;
	uint64_t gen = 0;
	uint8_t *hdr, how = 0;
	int rc;

	/* An empty blob hides the stored one (swtpm), which is allowed for
	 * volatile and savestate state only: an empty permanent state would
	 * leave the vTPM without its seeds. */
	if (type < PTM_BLOB_TYPE_PERMANENT || type > PTM_BLOB_TYPE_SAVESTATE ||
	    total != 16 + (size_t)len || (len == 0 && type == PTM_BLOB_TYPE_PERMANENT)) {
		log_warn(LOGM_BACKEND, "vtpm %s: SET_STATEBLOB refused: %s blob of %u bytes",
			 v->uuid_str, blob_type_name(type), len);
		return CTRL_RES_BAD_PARAMETER;
	}
	if (buf_reserve(out, 16, &hdr) != 0)
		return CTRL_RES_FAIL;
	be32_put(hdr, CMD_SET_STATEBLOB);
	be32_put(hdr + 4, 0);
	be32_put(hdr + 8, type);
	be32_put(hdr + 12, 0);
	if (len == 0)
		return 0;
	store_migblob_keys(&m->store, &keys);
	rc = migblob_unwrap(&keys, (uint8_t)type, v->me.uuid, req + 16, len, out, &gen, &how);
	if (rc != 0) {
		log_warn(LOGM_BACKEND, "vtpm %s: SET_STATEBLOB(%s, %u bytes) refused: %s%s",
			 v->uuid_str, blob_type_name(type), len, verr_str(rc), unwrap_hint(rc));
		/* The wire has two answers: our failure, or the client's blob. */
		return rc == VERR_NOMEM || rc == VERR_NOSPACE || rc == VERR_CRYPTO
			       ? CTRL_RES_FAIL
			       : CTRL_RES_BAD_PARAMETER;
	}
	/* The buffer may have moved while the blob was appended. */
	be32_put(out->d + 12, (uint32_t)(out->len - 16));
	log_info(LOGM_BACKEND, "vtpm %s: incoming %s state blob verified (%zu bytes, %s)",
		 v->uuid_str, blob_type_name(type), out->len - 16,
		 how == MIGBLOB_FLAG_HOSTKEY ? "sealed under this host's key"
					     : "sealed under the migration key");
	/* A VM going back to one of its own snapshots loads older state;
	 * allowed (it is its own), and said. */
	if (gen != 0 && gen < v->gen[BLOB_PERMALL])
		log_warn(LOGM_BACKEND, "vtpm %s: the incoming state is of generation %llu, older "
			 "than the current generation %llu (a snapshot revert?)", v->uuid_str,
			 (unsigned long long)gen, (unsigned long long)v->gen[BLOB_PERMALL]);
	return 0;
}

void
stateblob_wrap(struct mgr *m, struct vtpm *v, const struct req *r, const uint8_t *p,
	       size_t len, struct buf *out)
{
	uint32_t res = be32_get(p), n = be32_get(p + 12), type;
	struct migblob_keys keys;
	uint8_t err[16], *hdr;
	size_t k, at = out->len;
	int rc = 0;

	(void)len; /* ctrl_check_response: len == 16 + n */
	if (res != 0 || n == 0 || buf_avail(&r->payload) < 16) {
		k = ctrl_error_reply(CMD_GET_STATEBLOB, res, err, sizeof(err));
		(void)!buf_put_bytes(out, err, k); /* 16 bytes: out holds far more */
		return;
	}
	type = be32_get(buf_ptr(&r->payload) + 8);
	store_migblob_keys(&m->store, &keys);
	rc = buf_reserve(out, 16, &hdr);
	if (rc == 0)
		rc = migblob_wrap(&keys, (uint8_t)type, v->me.uuid, v->gen[BLOB_PERMALL], p + 16, n,
				  out);
	if (rc != 0) {
		log_err(LOGM_BACKEND, "vtpm %s: cannot wrap the state blob (type %u, %u bytes): %s",
			v->uuid_str, type, n, verr_str(rc));
		buf_reset(out);
		k = ctrl_error_reply(CMD_GET_STATEBLOB, CTRL_RES_FAIL, err, sizeof(err));
		(void)!buf_put_bytes(out, err, k); /* 16 bytes: out holds far more */
		return;
	}
	/* The header goes in last: out's storage may have moved. */
	hdr = out->d + at;
	be32_put(hdr, CTRL_RES_SUCCESS);
	be32_put(hdr + 4, PTM_STATE_FLAG_ENCRYPTED);
	be32_put(hdr + 8, (uint32_t)(out->len - at - 16));
	be32_put(hdr + 12, (uint32_t)(out->len - at - 16));
	log_info(LOGM_BACKEND, "vtpm %s: state blob type %u sent (%zu bytes, generation %llu, "
		 "sealed under %s)", v->uuid_str, type, out->len - at - 16,
		 (unsigned long long)v->gen[BLOB_PERMALL],
		 keys.migration != NULL ? "the migration key" : "this host's key");
}
