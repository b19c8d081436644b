/*
 * tpm12_host.c - the host's TPM 1.2 through this project's own TCS: OIAP/
 * OSAP sessions and the commands the manager needs (TakeOwnership,
 * Seal/Unseal under the SRK, GetRandom, GetCapability, PCRRead, monotonic
 * counters).  See tpm12_host.h.  The bytes travel through
 * tcs/tpm12_transport.c (device or socket, timeouts, framing, resends on
 * TPM_RETRY); the arithmetic and the wire layouts live in tpm12_marshal.c.
 *
 * Owns: a transport, and every auth session it opens; sessions are opened
 * with continueAuthSession = FALSE, so the TPM closes them when the
 * command completes, and a session whose command was never answered is
 * terminated explicitly.  Every response is wiped from the transport's
 * buffer once used (it may hold an unsealed secret).  Trusts: the
 * transport for framing only; nothing from the TPM until tpm12_parse_resp
 * has checked its length, tag and authorisation HMACs, and each command's
 * output parameters are then read with exact sizes.
 *
 * Sealed-data authorisation: the master key is sealed with the well-known
 * data auth (20 zero bytes), so it can be unsealed with the SRK auth alone.
 * That costs nothing: anyone who can authorise the SRK could unseal a blob
 * whatever its data auth if the auth were stored next to it.  The blob's
 * protection comes from the SRK being fixedTPM (its private half never
 * leaves this chip, so the blob is useless on any other TPM or after the
 * owner is cleared) and from the optional PCR binding.
 */
#include "util/errmsg.h"
#include "tcs/tpm12_host.h"
#include "tcs/tpm12_marshal.h"
#include "tcs/tpm12_transport.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "util/tpm_frame.h"

/* GetRandom request size; the reply must fit one frame comfortably. */
#define RANDOM_CHUNK 128
#define SEAL_MAX 256 /* far above what a 2048-bit SRK can seal (~149 bytes) */

struct tpm12_host {
	struct tpm12_transport *tr;
};

/* The sealed blob's data auth; see the header comment. */
static const uint8_t well_known_auth[TPM12_AUTH_LEN];
static const uint8_t counter_label[4] = { 'v', 'T', 'P', 'M' };

/* ---- commands ----------------------------------------------------------- */

/* The response buffer is the transport's: wiped after every use. */
static void
wipe_rsp(struct tpm12_host *t)
{
	tpm12_transport_wipe(t->tr);
}

/*
 * Builds, sends and checks one command.  On 0, r->rc is the TPM's code and,
 * when it is 0, r->params/plen the verified output parameters (in the
 * transport's buffer).  TPM_RETRY and TPM_DOING_SELFTEST are resent by the
 * transport (the TPM did not run the command, so the same nonces stay
 * valid), then VERR_BUSY.
 */
static int
exec(struct tpm12_host *t, uint32_t ordinal, const uint32_t *handles, size_t nhandles,
     const uint8_t *params, size_t plen, struct tpm12_session *const *sess, size_t nsess,
     struct tpm12_resp *r, char *err, size_t errlen)
{
	struct buf cmd;
	const uint8_t *rsp;
	size_t rsplen;
	int ret;

	r->rc = 0;
	r->params = NULL;
	r->plen = 0;
	buf_init(&cmd, TPM_FRAME_MAX);
	ret = tpm12_build_cmd(&cmd, ordinal, handles, nhandles, params, plen, sess, nsess, err,
			      errlen);
	if (ret == 0)
		ret = tpm12_transport_call(t->tr, cmd.d, cmd.len, &rsp, &rsplen, err, errlen);
	if (ret == 0 &&
	    (ret = tpm12_parse_resp(rsp, rsplen, ordinal, sess, nsess, r, err, errlen)) != 0)
		wipe_rsp(t);
	buf_free(&cmd); /* wipes: a Seal command holds the secret in clear */
	return ret;
}

/* The generic meaning of a TPM error code, for messages and callers. */
static int
rc_error(uint32_t rc, const char *what, char *err, size_t errlen)
{
	const char *name = tpm12_rc_name(rc);
	char num[16];

	snprintf(num, sizeof(num), "0x%x", rc);
	seterr(err, errlen, "%s: the TPM returned %s (%s)", what, name ? name : "an error", num);
	switch (rc) {
	case TPM12_AUTHFAIL:
	case TPM12_AUTH2FAIL:
		return VERR_TPM_AUTH;
	case TPM12_DEFEND_LOCK_RUNNING:
		seterr(err, errlen,
		       "%s: the TPM is locked out after failed authorisations "
		       "(TPM_DEFEND_LOCK_RUNNING); wait and retry", what);
		return VERR_BUSY;
	case TPM12_RETRY:
	case TPM12_DOING_SELFTEST:
		return VERR_BUSY;
	case TPM12_NOSPACE:
	case TPM12_RESOURCES:
		return VERR_TPM_NOSPACE;
	case TPM12_DISABLED:
	case TPM12_DEACTIVATED:
		seterr(err, errlen,
		       "%s: the TPM is disabled or deactivated (%s); enable and activate it in "
		       "the firmware setup", what, num);
		return VERR_TPM;
	default:
		return VERR_TPM;
	}
}

/* ---- sessions ----------------------------------------------------------- */

static int
fresh_nonce(uint8_t n[TPM12_NONCE_LEN], char *err, size_t errlen)
{
	if (RAND_bytes(n, TPM12_NONCE_LEN) != 1) {
		seterr(err, errlen, "RAND_bytes failed");
		return VERR_CRYPTO;
	}
	return 0;
}

static void
terminate(struct tpm12_host *t, struct tpm12_session *s)
{
	struct tpm12_resp r;
	uint8_t p[4];
	char ignored[64];

	be32_put(p, s->handle);
	/* Best effort: after a failed command the TPM has usually closed the
	 * session already, and TPM_INVALID_AUTHHANDLE says nothing new. */
	(void)exec(t, TPM12_ORD_TERMINATE_HANDLE, NULL, 0, p, 4, NULL, 0, &r, ignored,
		   sizeof(ignored));
	wipe_rsp(t);
}

static int
oiap(struct tpm12_host *t, const uint8_t key[TPM12_AUTH_LEN], struct tpm12_session *s, char *err,
     size_t errlen)
{
	struct tpm12_resp r;
	struct buf b;
	int ret;

	memset(s, 0, sizeof(*s));
	ret = exec(t, TPM12_ORD_OIAP, NULL, 0, NULL, 0, NULL, 0, &r, err, errlen);
	if (ret != 0)
		return ret;
	if (r.rc != 0)
		return rc_error(r.rc, "TPM_OIAP", err, errlen);
	buf_init_reader(&b, r.params, r.plen);
	if (buf_get_u32(&b, &s->handle) != 0 ||
	    buf_get_bytes(&b, s->nonce_even, TPM12_NONCE_LEN) != 0 || buf_avail(&b) != 0) {
		seterr(err, errlen, "malformed TPM_OIAP response (%zu bytes)", r.plen);
		wipe_rsp(t);
		return VERR_FORMAT;
	}
	wipe_rsp(t);
	memcpy(s->key, key, TPM12_AUTH_LEN);
	s->cont = 0;
	return 0;
}

static int
osap(struct tpm12_host *t, uint16_t etype, uint32_t evalue, const uint8_t auth[TPM12_AUTH_LEN],
     struct tpm12_session *s, char *err, size_t errlen)
{
	uint8_t p[2 + 4 + TPM12_NONCE_LEN], odd_osap[TPM12_NONCE_LEN], even_osap[TPM12_NONCE_LEN];
	struct tpm12_resp r;
	struct buf b;
	int ret;

	memset(s, 0, sizeof(*s));
	if ((ret = fresh_nonce(odd_osap, err, errlen)) != 0)
		return ret;
	be16_put(p, etype);
	be32_put(p + 2, evalue);
	memcpy(p + 6, odd_osap, TPM12_NONCE_LEN);
	ret = exec(t, TPM12_ORD_OSAP, NULL, 0, p, sizeof(p), NULL, 0, &r, err, errlen);
	if (ret != 0)
		return ret;
	if (r.rc != 0)
		return rc_error(r.rc, "TPM_OSAP", err, errlen);
	buf_init_reader(&b, r.params, r.plen);
	if (buf_get_u32(&b, &s->handle) != 0 ||
	    buf_get_bytes(&b, s->nonce_even, TPM12_NONCE_LEN) != 0 ||
	    buf_get_bytes(&b, even_osap, TPM12_NONCE_LEN) != 0 || buf_avail(&b) != 0) {
		seterr(err, errlen, "malformed TPM_OSAP response (%zu bytes)", r.plen);
		wipe_rsp(t);
		return VERR_FORMAT;
	}
	wipe_rsp(t);
	if (tpm12_osap_secret(auth, even_osap, odd_osap, s->key) != 0) {
		seterr(err, errlen, "HMAC-SHA1 failed");
		terminate(t, s);
		tpm12_session_wipe(s);
		return VERR_CRYPTO;
	}
	s->cont = 0;
	return 0;
}

/*
 * Runs an authorised command on open sessions: fresh nonceOdd each, then
 * exec.  When no verified answer came back the sessions may still be open
 * in the TPM, so they are terminated.  The sessions are wiped either way.
 */
static int
exec_auth(struct tpm12_host *t, uint32_t ordinal, const uint32_t *handles, size_t nhandles,
	  const uint8_t *params, size_t plen, struct tpm12_session *const *sess, size_t nsess,
	  struct tpm12_resp *r, char *err, size_t errlen)
{
	int ret = 0;

	for (size_t i = 0; ret == 0 && i < nsess; i++)
		ret = fresh_nonce(sess[i]->nonce_odd, err, errlen);
	if (ret == 0)
		ret = exec(t, ordinal, handles, nhandles, params, plen, sess, nsess, r, err, errlen);
	/* Not after VERR_NOTPM: a TPM that stopped answering would only
	 * make each attempt wait out the timeout again. */
	if (ret != 0 && ret != VERR_NOTPM)
		for (size_t i = 0; i < nsess; i++)
			terminate(t, sess[i]);
	for (size_t i = 0; i < nsess; i++)
		tpm12_session_wipe(sess[i]);
	return ret;
}

/* ---- public API --------------------------------------------------------- */

int
tpm12_host_open(const char *where, struct tpm12_host **out, char *err, size_t errlen)
{
	struct tpm12_host *t;
	int r;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		seterr(err, errlen, "out of memory");
		return VERR_NOMEM;
	}
	if ((r = tpm12_transport_open(where, &t->tr, err, errlen)) != 0) {
		free(t);
		return r;
	}
	*out = t;
	return 0;
}

void
tpm12_host_close(struct tpm12_host *t)
{
	if (t == NULL)
		return;
	tpm12_transport_close(t->tr);
	OPENSSL_cleanse(t, sizeof(*t));
	free(t);
}

int
tpm12_host_transmit(struct tpm12_host *t, const uint8_t *cmd, size_t cmdlen, uint8_t *resp,
		    size_t *resplen, size_t cap, char *err, size_t errlen)
{
	const uint8_t *rsp;
	size_t n;
	int r;

	*resplen = 0;
	if (cmd == NULL || tpm_frame_exact(cmd, cmdlen, TPM_FRAME_MAX) != 0) {
		seterr(err, errlen, "malformed TPM command (%zu bytes)", cmdlen);
		return VERR_INVAL;
	}
	r = tpm12_transport_xfer(t->tr, cmd, cmdlen, &rsp, &n, err, errlen);
	if (r != 0)
		return r;
	if (n > cap) {
		seterr(err, errlen, "TPM response of %zu bytes does not fit %zu", n, cap);
		wipe_rsp(t);
		return VERR_NOSPACE;
	}
	memcpy(resp, rsp, n);
	*resplen = n;
	wipe_rsp(t);
	return 0;
}

/* TPM_GetCapability(TPM_CAP_PROPERTY, prop): exactly want bytes into out. */
static int
get_prop(struct tpm12_host *t, uint32_t prop, uint8_t *out, uint32_t want, char *err,
	 size_t errlen)
{
	uint8_t p[12];
	struct tpm12_resp r;
	struct buf b;
	uint32_t n;
	int ret;

	be32_put(p, TPM12_CAP_PROPERTY);
	be32_put(p + 4, 4);
	be32_put(p + 8, prop);
	ret = exec(t, TPM12_ORD_GET_CAPABILITY, NULL, 0, p, sizeof(p), NULL, 0, &r, err, errlen);
	if (ret != 0)
		return ret;
	if (r.rc != 0)
		return rc_error(r.rc, "TPM_GetCapability", err, errlen);
	buf_init_reader(&b, r.params, r.plen);
	if (buf_get_u32(&b, &n) != 0 || n != want || buf_get_bytes(&b, out, want) != 0 ||
	    buf_avail(&b) != 0) {
		seterr(err, errlen, "malformed TPM_GetCapability(0x%x) response", prop);
		ret = VERR_FORMAT;
	}
	wipe_rsp(t);
	return ret;
}

int
tpm12_host_manufacturer(struct tpm12_host *t, char out[5], char *err, size_t errlen)
{
	uint8_t v[4];
	int ret;

	memset(out, 0, 5);
	if ((ret = get_prop(t, TPM12_CAP_PROP_MANUFACTURER, v, 4, err, errlen)) != 0)
		return ret;
	/* Four ASCII characters, NUL-padded by some vendors ("IBM\0"). */
	for (int i = 0; i < 4; i++)
		out[i] = (v[i] >= 0x20 && v[i] < 0x7f) ? (char)v[i] : (v[i] == 0 ? '\0' : '?');
	for (int i = 0; i < 4; i++)
		if (out[i] == '\0')
			for (int j = i; j < 4; j++)
				out[j] = '\0';
	return 0;
}

int
tpm12_host_owned(struct tpm12_host *t, int *owned, char *err, size_t errlen)
{
	uint8_t v;
	int ret;

	if ((ret = get_prop(t, TPM12_CAP_PROP_OWNER, &v, 1, err, errlen)) != 0)
		return ret;
	*owned = v != 0;
	return 0;
}

int
tpm12_host_random(struct tpm12_host *t, uint8_t *out, size_t len, char *err, size_t errlen)
{
	size_t done = 0;
	int empty = 0;

	while (done < len) {
		size_t want = len - done < RANDOM_CHUNK ? len - done : RANDOM_CHUNK;
		uint8_t p[4];
		struct tpm12_resp r;
		struct buf b;
		uint32_t n;
		const uint8_t *bytes;
		int ret;

		be32_put(p, (uint32_t)want);
		ret = exec(t, TPM12_ORD_GET_RANDOM, NULL, 0, p, 4, NULL, 0, &r, err, errlen);
		if (ret != 0)
			return ret;
		if (r.rc != 0)
			return rc_error(r.rc, "TPM_GetRandom", err, errlen);
		buf_init_reader(&b, r.params, r.plen);
		if (buf_get_u32(&b, &n) != 0 || n > want || buf_get_direct(&b, &bytes, n) != 0 ||
		    buf_avail(&b) != 0) {
			seterr(err, errlen, "malformed TPM_GetRandom response");
			wipe_rsp(t);
			return VERR_FORMAT;
		}
		memcpy(out + done, bytes, n);
		wipe_rsp(t);
		done += n;
		/* A TPM may return fewer bytes than asked; none at all, more
		 * than a few times, is a broken RNG. */
		if (n == 0 && ++empty >= 3) {
			seterr(err, errlen, "TPM_GetRandom keeps returning no bytes");
			return VERR_TPM;
		}
	}
	return 0;
}

static int
pcr_read(struct tpm12_host *t, uint32_t index, uint8_t out[TPM12_DIGEST_LEN], char *err,
	 size_t errlen)
{
	uint8_t p[4];
	struct tpm12_resp r;
	int ret;

	be32_put(p, index);
	ret = exec(t, TPM12_ORD_PCR_READ, NULL, 0, p, 4, NULL, 0, &r, err, errlen);
	if (ret != 0)
		return ret;
	if (r.rc != 0)
		return rc_error(r.rc, "TPM_PCRRead", err, errlen);
	if (r.plen != TPM12_DIGEST_LEN) {
		seterr(err, errlen, "malformed TPM_PCRRead response");
		wipe_rsp(t);
		return VERR_FORMAT;
	}
	memcpy(out, r.params, TPM12_DIGEST_LEN);
	wipe_rsp(t);
	return 0;
}

int
tpm12_host_take_ownership(struct tpm12_host *t, const uint8_t owner_auth[TPM12_AUTH_LEN],
			  const uint8_t srk_auth[TPM12_AUTH_LEN], char *err, size_t errlen)
{
	uint8_t anti_replay[TPM12_NONCE_LEN], ek_n[512], enc_owner[512], enc_srk[512];
	const uint8_t *n;
	size_t nlen, owner_len, srk_len, keylen;
	uint32_t e;
	struct tpm12_session s, *sp = &s;
	struct tpm12_resp r;
	struct buf p;
	int ret;

	/* TPM_ReadPubek: the checksum over our nonce shows the key is the
	 * one the TPM holds now, not a replayed answer. */
	if ((ret = fresh_nonce(anti_replay, err, errlen)) != 0)
		return ret;
	ret = exec(t, TPM12_ORD_READ_PUBEK, NULL, 0, anti_replay, sizeof(anti_replay), NULL, 0, &r,
		   err, errlen);
	if (ret != 0)
		return ret;
	if (r.rc != 0) {
		ret = rc_error(r.rc, "TPM_ReadPubek", err, errlen);
		if (r.rc == TPM12_NO_ENDORSEMENT)
			seterr(err, errlen, "TPM_ReadPubek: the TPM has no endorsement key; create "
					    "one (TPM_CreateEndorsementKeyPair) first");
		else if (r.rc == TPM12_DISABLED_CMD)
			seterr(err, errlen, "TPM_ReadPubek is disabled: the TPM probably has an "
					    "owner already");
		return ret;
	}
	ret = tpm12_parse_pubek(r.params, r.plen, anti_replay, &n, &nlen, &e, err, errlen);
	if (ret != 0) {
		wipe_rsp(t);
		return ret;
	}
	memcpy(ek_n, n, nlen);
	wipe_rsp(t);

	ret = tpm12_oaep_encrypt(ek_n, nlen, e, owner_auth, TPM12_AUTH_LEN, enc_owner,
				 sizeof(enc_owner), &owner_len, err, errlen);
	if (ret == 0)
		ret = tpm12_oaep_encrypt(ek_n, nlen, e, srk_auth, TPM12_AUTH_LEN, enc_srk,
					 sizeof(enc_srk), &srk_len, err, errlen);
	if (ret != 0)
		return ret;

	buf_init(&p, TPM_FRAME_MAX);
	if (buf_put_u16(&p, TPM12_PID_OWNER) != 0 || buf_put_u32(&p, (uint32_t)owner_len) != 0 ||
	    buf_put_bytes(&p, enc_owner, owner_len) != 0 ||
	    buf_put_u32(&p, (uint32_t)srk_len) != 0 || buf_put_bytes(&p, enc_srk, srk_len) != 0 ||
	    tpm12_put_srk_params(&p) != 0) {
		buf_free(&p);
		seterr(err, errlen, "TPM_TakeOwnership command too large");
		return VERR_NOSPACE;
	}
	/* Part 3 §6.1: TakeOwnership is authorised over OIAP with the new
	 * owner auth as the HMAC key, for the command and its response. */
	ret = oiap(t, owner_auth, &s, err, errlen);
	if (ret == 0)
		ret = exec_auth(t, TPM12_ORD_TAKE_OWNERSHIP, NULL, 0, p.d, p.len, &sp, 1, &r, err,
				errlen);
	buf_free(&p);
	if (ret != 0)
		return ret;
	if (r.rc != 0) {
		ret = rc_error(r.rc, "TPM_TakeOwnership", err, errlen);
		if (r.rc == TPM12_OWNER_SET)
			seterr(err, errlen, "TPM_TakeOwnership: the TPM already has an owner");
		else if (r.rc == TPM12_INSTALL_DISABLED)
			seterr(err, errlen, "TPM_TakeOwnership: owner installation is disabled; "
					    "allow it in the firmware setup");
		return ret;
	}
	/* srkPub: a whole TPM_KEY and nothing else. */
	if (tpm12_key_len(r.params, r.plen, &keylen) != 0 || keylen != r.plen) {
		seterr(err, errlen, "malformed TPM_TakeOwnership response (srkPub)");
		ret = VERR_FORMAT;
	}
	wipe_rsp(t);
	return ret;
}

int
tpm12_host_seal(struct tpm12_host *t, const uint8_t srk_auth[TPM12_AUTH_LEN],
		const uint8_t *secret, size_t len, uint32_t pcr_mask, struct buf *out, char *err,
		size_t errlen)
{
	uint8_t pcrs[TPM12_NUM_PCRS][TPM12_DIGEST_LEN], digest[TPM12_DIGEST_LEN];
	uint8_t enc_auth[TPM12_AUTH_LEN];
	struct tpm12_session s, *sp = &s;
	struct tpm12_resp r;
	struct buf p, info;
	uint32_t handle = TPM12_KH_SRK;
	size_t blob_len;
	int ret;

	if (len == 0 || len > SEAL_MAX) {
		seterr(err, errlen, "cannot seal %zu bytes (1..%d)", len, SEAL_MAX);
		return VERR_INVAL;
	}
	if (pcr_mask >> TPM12_NUM_PCRS) {
		seterr(err, errlen, "PCR mask 0x%x names PCRs above %d", pcr_mask,
		       TPM12_NUM_PCRS - 1);
		return VERR_INVAL;
	}
	buf_init(&info, 128);
	if (pcr_mask != 0) {
		memset(pcrs, 0, sizeof(pcrs));
		for (uint32_t i = 0; i < TPM12_NUM_PCRS; i++)
			if ((pcr_mask >> i) & 1)
				if ((ret = pcr_read(t, i, pcrs[i], err, errlen)) != 0)
					return ret;
		if (tpm12_pcr_composite_digest(pcr_mask, (const uint8_t(*)[TPM12_DIGEST_LEN])pcrs,
					       digest) != 0 ||
		    tpm12_put_pcr_info(&info, pcr_mask, digest) != 0) {
			buf_free(&info);
			seterr(err, errlen, "cannot build TPM_PCR_INFO");
			return VERR_CRYPTO;
		}
	}

	ret = osap(t, TPM12_ET_SRK, TPM12_KH_SRK, srk_auth, &s, err, errlen);
	if (ret != 0) {
		buf_free(&info);
		return ret;
	}
	buf_init(&p, TPM_FRAME_MAX);
	if (tpm12_enc_auth(s.key, s.nonce_even, well_known_auth, enc_auth) != 0 ||
	    buf_put_bytes(&p, enc_auth, sizeof(enc_auth)) != 0 ||
	    buf_put_u32(&p, (uint32_t)info.len) != 0 ||
	    (info.len != 0 && buf_put_bytes(&p, info.d, info.len) != 0) ||
	    buf_put_u32(&p, (uint32_t)len) != 0 || buf_put_bytes(&p, secret, len) != 0) {
		seterr(err, errlen, "cannot build TPM_Seal");
		terminate(t, &s);
		tpm12_session_wipe(&s);
		ret = VERR_NOSPACE;
		goto out;
	}
	ret = exec_auth(t, TPM12_ORD_SEAL, &handle, 1, p.d, p.len, &sp, 1, &r, err, errlen);
	if (ret != 0)
		goto out;
	if (r.rc != 0) {
		ret = rc_error(r.rc, "TPM_Seal", err, errlen);
		if (r.rc == TPM12_AUTHFAIL)
			seterr(err, errlen, "TPM_Seal: SRK authorisation refused (--srk-auth)");
		else if (r.rc == TPM12_NOSRK || r.rc == TPM12_INVALID_KEYHANDLE)
			seterr(err, errlen, "TPM_Seal: the TPM has no SRK (no owner)");
		goto out;
	}
	if (tpm12_stored_data_len(r.params, r.plen, &blob_len) != 0 || blob_len != r.plen) {
		seterr(err, errlen, "malformed TPM_Seal response (sealedData)");
		ret = VERR_FORMAT;
	} else if (buf_put_bytes(out, r.params, r.plen) != 0) {
		seterr(err, errlen, "sealed blob does not fit the output buffer");
		ret = VERR_NOSPACE;
	}
	wipe_rsp(t);
out:
	OPENSSL_cleanse(enc_auth, sizeof(enc_auth));
	buf_free(&p);
	buf_free(&info);
	return ret;
}

int
tpm12_host_unseal(struct tpm12_host *t, const uint8_t srk_auth[TPM12_AUTH_LEN],
		  const uint8_t *blob, size_t bloblen, uint8_t *secret, size_t *len, size_t cap,
		  char *err, size_t errlen)
{
	struct tpm12_session s[2], *sp[2] = { &s[0], &s[1] };
	struct tpm12_resp r;
	struct buf b;
	uint32_t handle = TPM12_KH_SRK, n;
	const uint8_t *data;
	size_t want;
	int ret;

	*len = 0;
	if (blob == NULL || tpm12_stored_data_len(blob, bloblen, &want) != 0 || want != bloblen ||
	    bloblen + TPM_HDR_SIZE + 4 + 2 * TPM12_REQ_AUTH_LEN > TPM_FRAME_MAX) {
		seterr(err, errlen, "the sealed master key is not a TPM_STORED_DATA blob");
		return VERR_FORMAT;
	}
	/* Two OIAP sessions: the SRK's (srk_auth) and the data's (the
	 * well-known data auth every blob of ours carries). */
	if ((ret = oiap(t, srk_auth, &s[0], err, errlen)) != 0)
		return ret;
	if ((ret = oiap(t, well_known_auth, &s[1], err, errlen)) != 0) {
		terminate(t, &s[0]);
		tpm12_session_wipe(&s[0]);
		return ret;
	}
	ret = exec_auth(t, TPM12_ORD_UNSEAL, &handle, 1, blob, bloblen, sp, 2, &r, err, errlen);
	if (ret != 0)
		return ret;
	switch (r.rc) {
	case TPM12_SUCCESS:
		break;
	case TPM12_WRONGPCRVAL:
		seterr(err, errlen,
		       "the host's PCR values differ from those the master key was sealed to "
		       "(TPM_WRONGPCRVAL)");
		return VERR_PCR;
	case TPM12_DECRYPT_ERROR:
	case TPM12_INVALID_KEYHANDLE:
	case TPM12_KEYNOTFOUND:
	case TPM12_BAD_DATASIZE:
	case TPM12_NOTSEALED_BLOB:
	case TPM12_NOSRK:
		seterr(err, errlen,
		       "the sealed master key is not from this TPM (or its owner was cleared): %s",
		       tpm12_rc_name(r.rc));
		return VERR_WRONG_TPM;
	case TPM12_AUTHFAIL:
		seterr(err, errlen, "SRK authorisation refused (--srk-auth)");
		return VERR_TPM_AUTH;
	case TPM12_AUTH2FAIL:
		seterr(err, errlen,
		       "the sealed blob's data authorisation is not the well-known one: it was not "
		       "sealed by vtpm-manager");
		return VERR_FORMAT;
	default:
		return rc_error(r.rc, "TPM_Unseal", err, errlen);
	}
	buf_init_reader(&b, r.params, r.plen);
	if (buf_get_u32(&b, &n) != 0 || buf_get_direct(&b, &data, n) != 0 || buf_avail(&b) != 0) {
		seterr(err, errlen, "malformed TPM_Unseal response");
		ret = VERR_FORMAT;
	} else if (n > cap) {
		seterr(err, errlen, "unsealed secret of %u bytes does not fit %zu", n, cap);
		ret = VERR_NOSPACE;
	} else {
		memcpy(secret, data, n);
		*len = n;
	}
	wipe_rsp(t);
	return ret;
}

int
tpm12_host_counter_create(struct tpm12_host *t, const uint8_t owner_auth[TPM12_AUTH_LEN],
			  const uint8_t counter_auth[TPM12_AUTH_LEN], uint32_t *id,
			  uint64_t *value, char *err, size_t errlen)
{
	uint8_t p[TPM12_AUTH_LEN + 4], label[4];
	struct tpm12_session s, *sp = &s;
	struct tpm12_resp r;
	struct buf b;
	uint32_t cid, v;
	int ret;

	ret = osap(t, TPM12_ET_OWNER, TPM12_KH_OWNER, owner_auth, &s, err, errlen);
	if (ret != 0)
		return ret;
	if (tpm12_enc_auth(s.key, s.nonce_even, counter_auth, p) != 0) {
		seterr(err, errlen, "SHA-1 failed");
		terminate(t, &s);
		tpm12_session_wipe(&s);
		return VERR_CRYPTO;
	}
	memcpy(p + TPM12_AUTH_LEN, counter_label, 4);
	ret = exec_auth(t, TPM12_ORD_CREATE_COUNTER, NULL, 0, p, sizeof(p), &sp, 1, &r, err,
			errlen);
	OPENSSL_cleanse(p, sizeof(p));
	if (ret != 0)
		return ret;
	if (r.rc != 0) {
		ret = rc_error(r.rc, "TPM_CreateCounter", err, errlen);
		if (r.rc == TPM12_AUTHFAIL)
			seterr(err, errlen, "TPM_CreateCounter: owner authorisation refused: "
			       "give the TPM's owner auth with --owner-auth hex:... (or "
			       "well-known), or clear the TPM's owner in the firmware");
		else if (ret == VERR_TPM_NOSPACE)
			seterr(err, errlen, "TPM_CreateCounter: the TPM has no free counter");
		return ret;
	}
	buf_init_reader(&b, r.params, r.plen);
	if (buf_get_u32(&b, &cid) != 0 || tpm12_get_counter_value(&b, label, &v) != 0 ||
	    buf_avail(&b) != 0) {
		seterr(err, errlen, "malformed TPM_CreateCounter response");
		ret = VERR_FORMAT;
	} else {
		*id = cid;
		*value = v;
	}
	wipe_rsp(t);
	return ret;
}

static int
counter_value_out(struct tpm12_host *t, const struct tpm12_resp *r, const char *what,
		  uint64_t *value, char *err, size_t errlen)
{
	struct buf b;
	uint8_t label[4];
	uint32_t v;
	int ret = 0;

	buf_init_reader(&b, r->params, r->plen);
	if (tpm12_get_counter_value(&b, label, &v) != 0 || buf_avail(&b) != 0) {
		seterr(err, errlen, "malformed %s response", what);
		ret = VERR_FORMAT;
	} else {
		*value = v;
	}
	wipe_rsp(t);
	return ret;
}

static int
counter_rc(uint32_t rc, uint32_t id, int increment, const char *what, char *err, size_t errlen)
{
	int ret = rc_error(rc, what, err, errlen);

	if (rc == TPM12_BAD_COUNTER && increment)
		seterr(err, errlen,
		       "%s: counter 0x%x does not exist, or another counter was already "
		       "incremented since the TPM started (TPM 1.2 allows one per boot)", what, id);
	else if (rc == TPM12_BAD_COUNTER)
		seterr(err, errlen, "%s: counter 0x%x does not exist", what, id);
	else if (rc == TPM12_AUTHFAIL)
		seterr(err, errlen, "%s: counter authorisation refused", what);
	return ret;
}

int
tpm12_host_counter_read(struct tpm12_host *t, uint32_t id, uint64_t *value, char *err,
			size_t errlen)
{
	uint8_t p[4];
	struct tpm12_resp r;
	int ret;

	be32_put(p, id);
	ret = exec(t, TPM12_ORD_READ_COUNTER, NULL, 0, p, 4, NULL, 0, &r, err, errlen);
	if (ret != 0)
		return ret;
	if (r.rc != 0)
		return counter_rc(r.rc, id, 0, "TPM_ReadCounter", err, errlen);
	return counter_value_out(t, &r, "TPM_ReadCounter", value, err, errlen);
}

int
tpm12_host_counter_increment(struct tpm12_host *t, uint32_t id,
			     const uint8_t counter_auth[TPM12_AUTH_LEN], uint64_t *value,
			     char *err, size_t errlen)
{
	uint8_t p[4];
	struct tpm12_session s, *sp = &s;
	struct tpm12_resp r;
	int ret;

	if ((ret = oiap(t, counter_auth, &s, err, errlen)) != 0)
		return ret;
	/* countID is a parameter (2S), inside the authorised digest. */
	be32_put(p, id);
	ret = exec_auth(t, TPM12_ORD_INCREMENT_COUNTER, NULL, 0, p, 4, &sp, 1, &r, err, errlen);
	if (ret != 0)
		return ret;
	if (r.rc != 0)
		return counter_rc(r.rc, id, 1, "TPM_IncrementCounter", err, errlen);
	return counter_value_out(t, &r, "TPM_IncrementCounter", value, err, errlen);
}
