/*
 * tpm2_host.c - the host's TPM 2.0 through tpm2-tss (ESAPI over tctildr);
 * see tpm2_host.h.
 *
 * Owns: one ESYS context and its TCTI, and, for the length of one call, the
 * transient objects and sessions that call creates (all flushed before it
 * returns, on every path).  Trusts: tpm2-tss to unmarshal responses; the
 * sealed blob not at all (it comes from disk and tpm2_sealed_parse checks
 * it, exact lengths and all, before anything reaches the TPM); the parent
 * key only when its Name equals the one recorded at seal time, so a
 * substituted salt key is refused before the secret is asked for.  Assumes an empty owner
 * hierarchy auth and an SRK (persistent or template) with empty auth.
 * Not thread-safe: one caller at a time per struct tpm2_host.
 *
 * The sealed blob's format (building and parsing, without a TPM) is
 * tcs/tpm2_sealed.c's; this file only fills it from and hands it to ESYS.
 */
#include "tcs/tpm2_host.h"
#include "tcs/tpm2_sealed.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#define PARENT_PERSISTENT TPM2_SEALED_PARENT_PERSISTENT
#define PARENT_PRIMARY TPM2_SEALED_PARENT_PRIMARY

#define SRK_HANDLE 0x81000001u
#define NV_COUNTER_BASE 0x01a56000u
/* How far define looks for a free index; past this something else is
 * squatting the range and the operator should look. */
#define NV_COUNTER_SLOTS 256u
#define NV_COUNTER_ATTRS                                                                   \
	(TPMA_NV_AUTHWRITE | TPMA_NV_AUTHREAD | TPMA_NV_OWNERREAD |                        \
	 ((TPMA_NV)TPM2_NT_COUNTER << TPMA_NV_TPM2_NT_SHIFT))

#define SEAL_MAX 128u
#define PCR_MASK_ALL TPM2_SEALED_PCR_MASK_ALL
#define AUTH_MAX 32u /* an authValue may not exceed the nameAlg (sha256) digest */
#define RANDOM_CHUNK 32u /* every TPM returns at least a sha256 digest's worth */

/* ESYS already resubmits RETRY/YIELDED/TESTING five times back to back; a
 * TPM still busy after that needs time, not more immediate attempts. */
#define BUSY_RETRIES 5
#define BUSY_FIRST_MS 50
/* PCRs can change between PolicyPCR and Unseal; that race is worth a few
 * fresh attempts before calling it a failure. */
#define PCR_CHANGED_RETRIES 3

struct tpm2_host {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
	/* ESYS refuses every call after a transport failure, so the next
	 * call reconnects instead (swtpm restarted, device back). */
	bool lost;
	char spec[256]; /* the tcti string: for reconnecting, and for messages */
};

static const char wrong_tpm_msg[] =
	"the sealed master key does not load under this TPM's storage key (it was sealed on "
	"another TPM, or this TPM was cleared)";

/* ---- response codes ---- */

/* The TPM's own response code, or 0 when rc came from a software layer. */
static TSS2_RC
tpm_code(TSS2_RC rc)
{
	TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;

	if (layer != TSS2_TPM_RC_LAYER && layer != TSS2_RESMGR_TPM_RC_LAYER)
		return 0;
	return rc & 0xffffu;
}

/*
 * Format-1 codes carry the handle/session/parameter number in bits 6 and
 * 8..11, so only bits 0..5 and 7 identify the error; format-0 codes are
 * compared whole.
 */
static bool
rc_is(TSS2_RC rc, TSS2_RC want)
{
	TSS2_RC c = tpm_code(rc);

	if (c == 0)
		return false;
	if (c & TPM2_RC_FMT1)
		return (want & TPM2_RC_FMT1) && (c & 0xbfu) == want;
	return c == want;
}

static bool
rc_busy(TSS2_RC rc)
{
	return rc_is(rc, TPM2_RC_RETRY) || rc_is(rc, TPM2_RC_YIELDED) ||
	       rc_is(rc, TPM2_RC_TESTING);
}

static bool
rc_noconn(TSS2_RC rc)
{
	TSS2_RC base = rc & ~TSS2_RC_LAYER_MASK;

	if ((rc & TSS2_RC_LAYER_MASK) == TSS2_TCTI_RC_LAYER)
		return true;
	return tpm_code(rc) == 0 &&
	       (base == TSS2_BASE_RC_IO_ERROR || base == TSS2_BASE_RC_NO_CONNECTION);
}

static void
backoff(unsigned attempt)
{
	long ms = (long)BUSY_FIRST_MS << attempt;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Runs call again, with growing pauses, while the TPM answers "busy". */
#define TPM_TRY(rc, call)                                                                  \
	do {                                                                               \
		for (unsigned try_ = 0;; try_++) {                                         \
			(rc) = (call);                                                     \
			if (!rc_busy(rc) || try_ == BUSY_RETRIES)                          \
				break;                                                     \
			backoff(try_);                                                     \
		}                                                                          \
	} while (0)

/* Classifies rc for the caller and writes what failed into err. */
static int
fail(struct tpm2_host *t, TSS2_RC rc, const char *what, char *err, size_t errlen)
{
	const char *why = Tss2_RC_Decode(rc);

	if (rc_noconn(rc)) {
		t->lost = true;
		snprintf(err, errlen, "%s: no answer from the TPM at \"%s\" (%s)", what, t->spec,
			 why);
		return VERR_NOTPM;
	}
	if (rc_busy(rc) || rc_is(rc, TPM2_RC_NV_RATE)) {
		snprintf(err, errlen, "%s: the TPM stayed busy (%s); try again later", what, why);
		return VERR_BUSY;
	}
	/* Without a resource manager, other programs' leftovers fill the
	 * TPM's few slots; that clears when they flush or exit. */
	if (rc_is(rc, TPM2_RC_OBJECT_MEMORY) || rc_is(rc, TPM2_RC_SESSION_MEMORY) ||
	    rc_is(rc, TPM2_RC_MEMORY)) {
		snprintf(err, errlen,
			 "%s: the TPM is out of object or session slots (%s); another program "
			 "may be holding them",
			 what, why);
		return VERR_BUSY;
	}
	if (rc_is(rc, TPM2_RC_AUTH_FAIL) || rc_is(rc, TPM2_RC_BAD_AUTH) ||
	    rc_is(rc, TPM2_RC_LOCKOUT)) {
		snprintf(err, errlen, "%s: authorisation refused (%s)", what, why);
		return VERR_TPM_AUTH;
	}
	snprintf(err, errlen, "%s failed: %s", what, why);
	if ((rc & ~TSS2_RC_LAYER_MASK) == TSS2_BASE_RC_MALFORMED_RESPONSE && tpm_code(rc) == 0)
		return VERR_FORMAT;
	return VERR_TPM;
}

/* ---- handles ---- */

/*
 * Flushes a transient object or session.  If the flush itself fails the
 * TPM side is beyond reach, but the ESYS record must still go.
 */
static void
flush(struct tpm2_host *t, ESYS_TR *h)
{
	TSS2_RC rc;

	if (*h == ESYS_TR_NONE)
		return;
	TPM_TRY(rc, Esys_FlushContext(t->esys, *h));
	if (rc != TSS2_RC_SUCCESS)
		(void)Esys_TR_Close(t->esys, h);
	*h = ESYS_TR_NONE;
}

/* Forgets an ESYS record of something that must stay in the TPM. */
static void
forget(struct tpm2_host *t, ESYS_TR *h)
{
	if (*h != ESYS_TR_NONE)
		(void)Esys_TR_Close(t->esys, h);
	*h = ESYS_TR_NONE;
}

/*
 * Asks GetCapability rather than Esys_TR_FromTPMPublic whether a handle
 * exists, because the latter logs an error for the (expected) absent case.
 */
static int
handle_exists(struct tpm2_host *t, TPM2_HANDLE h, bool *yes, char *err, size_t errlen)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more;
	TSS2_RC rc;

	TPM_TRY(rc, Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				       TPM2_CAP_HANDLES, h, 1, &more, &cap));
	if (rc != TSS2_RC_SUCCESS)
		return fail(t, rc, "TPM2_GetCapability(handles)", err, errlen);
	*yes = cap->capability == TPM2_CAP_HANDLES && cap->data.handles.count >= 1 &&
	       cap->data.handles.handle[0] == h;
	Esys_Free(cap);
	return 0;
}

/* The TCG provisioning-guidance SRK: anyone who can reach the owner
 * hierarchy regenerates the same key from the owner seed. */
static void
srk_template(TPM2B_PUBLIC *p)
{
	memset(p, 0, sizeof(*p));
	p->publicArea.type = TPM2_ALG_RSA;
	p->publicArea.nameAlg = TPM2_ALG_SHA256;
	p->publicArea.objectAttributes = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT |
					 TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
					 TPMA_OBJECT_SENSITIVEDATAORIGIN |
					 TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA;
	p->publicArea.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_AES;
	p->publicArea.parameters.rsaDetail.symmetric.keyBits.aes = 128;
	p->publicArea.parameters.rsaDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	p->publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
	p->publicArea.parameters.rsaDetail.keyBits = 2048;
	p->publicArea.parameters.rsaDetail.exponent = 0;
}

/*
 * Makes the storage parent available.  want == 0 (seal): the persistent SRK
 * if this TPM has one, else the template primary.  Otherwise (unseal): the
 * kind the blob names, and nothing else.
 */
static int
parent_get(struct tpm2_host *t, uint8_t want, ESYS_TR *parent, uint8_t *kind, char *err,
	   size_t errlen)
{
	TPM2B_SENSITIVE_CREATE sens;
	TPM2B_PUBLIC tmpl;
	TPM2B_DATA outside = { .size = 0 };
	TPML_PCR_SELECTION creation_pcr = { .count = 0 };
	TSS2_RC rc;
	bool have = false;
	int r;

	*parent = ESYS_TR_NONE;
	if (want != PARENT_PRIMARY) {
		if ((r = handle_exists(t, SRK_HANDLE, &have, err, errlen)) != 0)
			return r;
		if (!have && want == PARENT_PERSISTENT) {
			snprintf(err, errlen,
				 "the persistent SRK 0x%08x the master key was sealed under is "
				 "not on this TPM (another TPM, or it was cleared or evicted)",
				 SRK_HANDLE);
			return VERR_WRONG_TPM;
		}
	}
	if (have) {
		TPM_TRY(rc, Esys_TR_FromTPMPublic(t->esys, SRK_HANDLE, ESYS_TR_NONE, ESYS_TR_NONE,
						  ESYS_TR_NONE, parent));
		if (rc != TSS2_RC_SUCCESS) {
			*parent = ESYS_TR_NONE;
			return fail(t, rc, "reading the persistent SRK 0x81000001", err, errlen);
		}
		*kind = PARENT_PERSISTENT;
		return 0;
	}

	memset(&sens, 0, sizeof(sens));
	srk_template(&tmpl);
	TPM_TRY(rc, Esys_CreatePrimary(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				       ESYS_TR_NONE, &sens, &tmpl, &outside, &creation_pcr, parent,
				       NULL, NULL, NULL, NULL));
	if (rc != TSS2_RC_SUCCESS) {
		*parent = ESYS_TR_NONE;
		return fail(t, rc, "TPM2_CreatePrimary(owner, SRK template)", err, errlen);
	}
	*kind = PARENT_PRIMARY;
	return 0;
}

static void
parent_put(struct tpm2_host *t, ESYS_TR *parent, uint8_t kind)
{
	if (kind == PARENT_PERSISTENT)
		forget(t, parent);
	else
		flush(t, parent);
}

/*
 * A session salted to salt_key (the parent), so its key, and with it the
 * parameter encryption, is known only to us and the TPM holding the
 * parent's private key; dir is TPMA_SESSION_DECRYPT (command) or _ENCRYPT
 * (response).  Unsalted (ESYS_TR_NONE, dir 0) it still keeps an authValue
 * off the bus: only HMACs keyed with it cross.
 */
static int
start_session(struct tpm2_host *t, ESYS_TR salt_key, TPM2_SE type, TPMA_SESSION dir,
	      ESYS_TR *sess, char *err, size_t errlen)
{
	TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_AES,
			     .keyBits.aes = 128,
			     .mode.aes = TPM2_ALG_CFB };
	TSS2_RC rc;

	TPM_TRY(rc, Esys_StartAuthSession(t->esys, salt_key, ESYS_TR_NONE, ESYS_TR_NONE,
					  ESYS_TR_NONE, ESYS_TR_NONE, NULL, type, &sym,
					  TPM2_ALG_SHA256, sess));
	if (rc != TSS2_RC_SUCCESS) {
		*sess = ESYS_TR_NONE;
		return fail(t, rc, "TPM2_StartAuthSession", err, errlen);
	}
	rc = Esys_TRSess_SetAttributes(t->esys, *sess, TPMA_SESSION_CONTINUESESSION | dir, 0xff);
	if (rc != TSS2_RC_SUCCESS) {
		flush(t, sess);
		return fail(t, rc, "setting session attributes", err, errlen);
	}
	return 0;
}

static void
pcr_selection(uint32_t mask, TPML_PCR_SELECTION *sel)
{
	memset(sel, 0, sizeof(*sel));
	sel->count = 1;
	sel->pcrSelections[0].hash = TPM2_ALG_SHA256;
	sel->pcrSelections[0].sizeofSelect = 3;
	sel->pcrSelections[0].pcrSelect[0] = (uint8_t)mask;
	sel->pcrSelections[0].pcrSelect[1] = (uint8_t)(mask >> 8);
	sel->pcrSelections[0].pcrSelect[2] = (uint8_t)(mask >> 16);
}

/* The policy digest of PolicyPCR over the current values, from a trial
 * session, so the object's authPolicy is computed by the TPM itself. */
static int
pcr_policy_digest(struct tpm2_host *t, uint32_t mask, TPM2B_DIGEST *out, char *err,
		  size_t errlen)
{
	TPMT_SYM_DEF none = { .algorithm = TPM2_ALG_NULL };
	TPM2B_DIGEST empty = { .size = 0 };
	TPML_PCR_SELECTION sel;
	TPM2B_DIGEST *d = NULL;
	ESYS_TR trial = ESYS_TR_NONE;
	TSS2_RC rc;
	int r = 0;

	pcr_selection(mask, &sel);
	TPM_TRY(rc, Esys_StartAuthSession(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
					  ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_TRIAL, &none,
					  TPM2_ALG_SHA256, &trial));
	if (rc != TSS2_RC_SUCCESS) {
		trial = ESYS_TR_NONE;
		return fail(t, rc, "TPM2_StartAuthSession(trial)", err, errlen);
	}
	TPM_TRY(rc, Esys_PolicyPCR(t->esys, trial, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   &empty, &sel));
	if (rc != TSS2_RC_SUCCESS) {
		r = fail(t, rc, "TPM2_PolicyPCR(trial, sha256)", err, errlen);
		goto out;
	}
	TPM_TRY(rc, Esys_PolicyGetDigest(t->esys, trial, ESYS_TR_NONE, ESYS_TR_NONE,
					 ESYS_TR_NONE, &d));
	if (rc != TSS2_RC_SUCCESS) {
		r = fail(t, rc, "TPM2_PolicyGetDigest", err, errlen);
		goto out;
	}
	if (d->size != 32) {
		snprintf(err, errlen, "TPM2_PolicyGetDigest returned %u bytes, not 32",
			 (unsigned)d->size);
		r = VERR_FORMAT;
		goto out;
	}
	*out = *d;
out:
	Esys_Free(d);
	flush(t, &trial);
	return r;
}

/* ---- open, close, plain queries ---- */

static int
get_manufacturer(struct tpm2_host *t, TSS2_RC *rcp, uint32_t *v, char *err, size_t errlen)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more;
	TSS2_RC rc;
	int r = 0;

	TPM_TRY(rc, Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				       TPM2_CAP_TPM_PROPERTIES, TPM2_PT_MANUFACTURER, 1, &more,
				       &cap));
	*rcp = rc;
	if (rc != TSS2_RC_SUCCESS)
		return fail(t, rc, "TPM2_GetCapability(TPM2_PT_MANUFACTURER)", err, errlen);
	if (cap->capability != TPM2_CAP_TPM_PROPERTIES ||
	    cap->data.tpmProperties.count < 1 ||
	    cap->data.tpmProperties.tpmProperty[0].property != TPM2_PT_MANUFACTURER) {
		snprintf(err, errlen, "TPM2_GetCapability: the TPM did not report its manufacturer");
		r = VERR_FORMAT;
	} else {
		*v = cap->data.tpmProperties.tpmProperty[0].value;
	}
	Esys_Free(cap);
	return r;
}

static void
disconnect(struct tpm2_host *t)
{
	if (t->esys != NULL)
		Esys_Finalize(&t->esys);
	if (t->tcti != NULL)
		Tss2_TctiLdr_Finalize(&t->tcti);
	t->esys = NULL;
	t->tcti = NULL;
}

static int
connect_tpm(struct tpm2_host *t, char *err, size_t errlen)
{
	TSS2_RC rc, prc;
	uint32_t v;
	int r;

	t->lost = false;
	rc = Tss2_TctiLdr_Initialize(t->spec, &t->tcti);
	if (rc != TSS2_RC_SUCCESS) {
		t->tcti = NULL;
		t->lost = true;
		snprintf(err, errlen, "cannot reach the TPM through \"%s\": %s", t->spec,
			 Tss2_RC_Decode(rc));
		return VERR_NOTPM;
	}
	rc = Esys_Initialize(&t->esys, t->tcti, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		t->esys = NULL;
		disconnect(t);
		t->lost = true;
		snprintf(err, errlen, "Esys_Initialize: %s", Tss2_RC_Decode(rc));
		return VERR_TPM;
	}
	/* Proves something answers, and catches a TPM nobody started (a bare
	 * swtpm or simulator; firmware or the kernel start real ones). */
	r = get_manufacturer(t, &prc, &v, err, errlen);
	if (r != 0 && rc_is(prc, TPM2_RC_INITIALIZE)) {
		TPM_TRY(rc, Esys_Startup(t->esys, TPM2_SU_CLEAR));
		if (rc != TSS2_RC_SUCCESS && !rc_is(rc, TPM2_RC_INITIALIZE))
			r = fail(t, rc, "TPM2_Startup(CLEAR)", err, errlen);
		else
			r = get_manufacturer(t, &prc, &v, err, errlen);
	}
	if (r != 0) {
		disconnect(t);
		t->lost = true;
	}
	return r;
}

/* Every entry point starts here: a context that lost its TPM reconnects. */
static int
ready(struct tpm2_host *t, char *err, size_t errlen)
{
	if (!t->lost)
		return 0;
	disconnect(t);
	return connect_tpm(t, err, errlen);
}

int
tpm2_host_open(const char *tcti, struct tpm2_host **out, char *err, size_t errlen)
{
	struct tpm2_host *t;
	int r;

	*out = NULL;
	if (tcti == NULL || *tcti == '\0' || strlen(tcti) >= sizeof(t->spec)) {
		snprintf(err, errlen, "bad TPM 2.0 TCTI string");
		return VERR_INVAL;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return VERR_NOMEM;
	}
	snprintf(t->spec, sizeof(t->spec), "%s", tcti);
	if ((r = connect_tpm(t, err, errlen)) != 0) {
		free(t);
		return r;
	}
	*out = t;
	return 0;
}

void
tpm2_host_close(struct tpm2_host *t)
{
	if (t == NULL)
		return;
	disconnect(t);
	free(t);
}

int
tpm2_host_manufacturer(struct tpm2_host *t, char out[5], char *err, size_t errlen)
{
	TSS2_RC rc;
	uint32_t v;
	bool ended = false;
	int r;

	if ((r = ready(t, err, errlen)) != 0 ||
	    (r = get_manufacturer(t, &rc, &v, err, errlen)) != 0)
		return r;
	/* Vendors pad with NULs or spaces; anything else unprintable is
	 * shown as '?' rather than trusted into a log line. */
	for (int i = 0; i < 4; i++) {
		uint8_t c = (uint8_t)(v >> (24 - 8 * i));

		if (c == 0)
			ended = true;
		out[i] = ended ? '\0' : (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	out[4] = '\0';
	return 0;
}

int
tpm2_host_random(struct tpm2_host *t, uint8_t *out, size_t len, char *err, size_t errlen)
{
	TPM2B_DIGEST *d = NULL;
	size_t done = 0;
	TSS2_RC rc;
	int r;

	if ((r = ready(t, err, errlen)) != 0)
		return r;
	while (done < len) {
		size_t want = len - done < RANDOM_CHUNK ? len - done : RANDOM_CHUNK;

		TPM_TRY(rc, Esys_GetRandom(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
					   (UINT16)want, &d));
		if (rc != TSS2_RC_SUCCESS)
			return fail(t, rc, "TPM2_GetRandom", err, errlen);
		/* A TPM may return fewer bytes, never more, and never none. */
		if (d->size == 0 || d->size > want) {
			snprintf(err, errlen, "TPM2_GetRandom returned %u bytes for %zu",
				 (unsigned)d->size, want);
			Esys_Free(d);
			return VERR_FORMAT;
		}
		memcpy(out + done, d->buffer, d->size);
		done += d->size;
		OPENSSL_cleanse(d->buffer, sizeof(d->buffer));
		Esys_Free(d);
		d = NULL;
	}
	return 0;
}

/* ---- seal, unseal ---- */

int
tpm2_host_seal(struct tpm2_host *t, const uint8_t *secret, size_t len, uint32_t pcr_mask,
	       struct buf *out, char *err, size_t errlen)
{
	TPM2B_SENSITIVE_CREATE *sens = NULL;
	TPM2B_PUBLIC tmpl;
	TPM2B_DATA outside = { .size = 0 };
	TPML_PCR_SELECTION creation_pcr = { .count = 0 };
	TPM2B_PRIVATE *priv = NULL;
	TPM2B_PUBLIC *pub = NULL;
	TPM2B_NAME *pname = NULL;
	struct tpm2_sealed *sb = NULL;
	ESYS_TR parent = ESYS_TR_NONE, sess = ESYS_TR_NONE;
	uint8_t kind = 0;
	TSS2_RC rc;
	int r;

	if (len == 0 || len > SEAL_MAX) {
		snprintf(err, errlen, "seal: the secret must be 1..%u bytes, not %zu", SEAL_MAX,
			 len);
		return VERR_INVAL;
	}
	if (pcr_mask & ~PCR_MASK_ALL) {
		snprintf(err, errlen, "seal: PCR mask 0x%08x names PCRs above 23", pcr_mask);
		return VERR_INVAL;
	}

	if ((r = ready(t, err, errlen)) != 0)
		return r;

	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.publicArea.type = TPM2_ALG_KEYEDHASH;
	tmpl.publicArea.nameAlg = TPM2_ALG_SHA256;
	tmpl.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT;
	tmpl.publicArea.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
	if (pcr_mask == 0)
		tmpl.publicArea.objectAttributes |= TPMA_OBJECT_USERWITHAUTH;

	if ((r = parent_get(t, 0, &parent, &kind, err, errlen)) != 0)
		return r;
	if (pcr_mask != 0 &&
	    (r = pcr_policy_digest(t, pcr_mask, &tmpl.publicArea.authPolicy, err, errlen)) != 0)
		goto out;
	/* The secret is a command parameter: encrypt it on the way in. */
	if ((r = start_session(t, parent, TPM2_SE_HMAC, TPMA_SESSION_DECRYPT, &sess, err,
			       errlen)) != 0)
		goto out;

	/* Heap, not stack, so the copy of the secret is wiped in one place. */
	if ((sens = calloc(1, sizeof(*sens))) == NULL) {
		snprintf(err, errlen, "out of memory");
		r = VERR_NOMEM;
		goto out;
	}
	sens->sensitive.data.size = (UINT16)len;
	memcpy(sens->sensitive.data.buffer, secret, len);
	TPM_TRY(rc, Esys_Create(t->esys, parent, sess, ESYS_TR_NONE, ESYS_TR_NONE, sens, &tmpl,
				&outside, &creation_pcr, &priv, &pub, NULL, NULL, NULL));
	if (rc != TSS2_RC_SUCCESS) {
		r = fail(t, rc, "TPM2_Create(sealed data)", err, errlen);
		goto out;
	}
	rc = Esys_TR_GetName(t->esys, parent, &pname);
	if (rc != TSS2_RC_SUCCESS) {
		r = fail(t, rc, "reading the parent's name", err, errlen);
		goto out;
	}
	if ((sb = calloc(1, sizeof(*sb))) == NULL) {
		snprintf(err, errlen, "out of memory");
		r = VERR_NOMEM;
		goto out;
	}
	sb->kind = kind;
	sb->mask = pcr_mask;
	sb->pname = *pname;
	sb->pub = *pub;
	sb->priv = *priv;
	r = tpm2_sealed_put(sb, out, err, errlen);
out:
	free(sb);
	freezero(sens, sizeof(*sens));
	Esys_Free(priv);
	Esys_Free(pub);
	Esys_Free(pname);
	flush(t, &sess);
	parent_put(t, &parent, kind);
	return r;
}

/*
 * Satisfies the object's authorisation in sess and unseals.  Returns the
 * TPM's code so the caller can tell a PCR race from a real failure.
 */
static TSS2_RC
policy_unseal(struct tpm2_host *t, ESYS_TR obj, ESYS_TR sess, uint32_t mask,
	      TPM2B_SENSITIVE_DATA **data, const char **what)
{
	TPM2B_DIGEST empty = { .size = 0 };
	TPML_PCR_SELECTION sel;
	TSS2_RC rc;

	if (mask != 0) {
		pcr_selection(mask, &sel);
		*what = "TPM2_PolicyPCR";
		TPM_TRY(rc, Esys_PolicyPCR(t->esys, sess, ESYS_TR_NONE, ESYS_TR_NONE,
					   ESYS_TR_NONE, &empty, &sel));
		if (rc != TSS2_RC_SUCCESS)
			return rc;
	}
	*what = "TPM2_Unseal";
	TPM_TRY(rc, Esys_Unseal(t->esys, obj, sess, ESYS_TR_NONE, ESYS_TR_NONE, data));
	return rc;
}

int
tpm2_host_unseal(struct tpm2_host *t, const uint8_t *blob, size_t bloblen, uint8_t *secret,
		 size_t *len, size_t cap, char *err, size_t errlen)
{
	struct tpm2_sealed *s;
	TPM2B_SENSITIVE_DATA *data = NULL;
	TPM2B_NAME *pname = NULL;
	ESYS_TR parent = ESYS_TR_NONE, obj = ESYS_TR_NONE, sess = ESYS_TR_NONE;
	const char *what = "TPM2_Unseal";
	uint8_t kind = 0;
	TSS2_RC rc;
	int r;

	*len = 0;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return VERR_NOMEM;
	}
	if ((r = tpm2_sealed_parse(blob, bloblen, s, err, errlen)) != 0 ||
	    (r = ready(t, err, errlen)) != 0)
		goto out;
	if ((r = parent_get(t, s->kind, &parent, &kind, err, errlen)) != 0)
		goto out;

	rc = Esys_TR_GetName(t->esys, parent, &pname);
	if (rc != TSS2_RC_SUCCESS) {
		r = fail(t, rc, "reading the parent's name", err, errlen);
		goto out;
	}
	if (pname->size != s->pname.size ||
	    memcmp(pname->name, s->pname.name, pname->size) != 0) {
		snprintf(err, errlen, "%s", wrong_tpm_msg);
		r = VERR_WRONG_TPM;
		goto out;
	}

	TPM_TRY(rc, Esys_Load(t->esys, parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
			      &s->priv, &s->pub, &obj));
	if (rc != TSS2_RC_SUCCESS) {
		obj = ESYS_TR_NONE;
		r = fail(t, rc, "TPM2_Load(sealed master key)", err, errlen);
		/* The parent is here and the TPM refused the blob itself (not
		 * busy, not auth): it was not made under this parent. */
		if (r == VERR_TPM && tpm_code(rc) != 0) {
			snprintf(err, errlen, "%s (TPM2_Load: %s)", wrong_tpm_msg,
				 Tss2_RC_Decode(rc));
			r = VERR_WRONG_TPM;
		}
		goto out;
	}

	if ((r = start_session(t, parent, s->mask != 0 ? TPM2_SE_POLICY : TPM2_SE_HMAC,
			       TPMA_SESSION_ENCRYPT, &sess, err, errlen)) != 0)
		goto out;
	rc = policy_unseal(t, obj, sess, s->mask, &data, &what);
	for (int i = 0; i < PCR_CHANGED_RETRIES && rc_is(rc, TPM2_RC_PCR_CHANGED); i++) {
		TPM_TRY(rc, Esys_PolicyRestart(t->esys, sess, ESYS_TR_NONE, ESYS_TR_NONE,
					       ESYS_TR_NONE));
		if (rc == TSS2_RC_SUCCESS)
			rc = policy_unseal(t, obj, sess, s->mask, &data, &what);
	}
	if (rc != TSS2_RC_SUCCESS) {
		data = NULL;
		if (s->mask != 0 && rc_is(rc, TPM2_RC_POLICY_FAIL)) {
			snprintf(err, errlen,
				 "PCR values differ from those the master key was sealed to "
				 "(sha256 PCR mask 0x%06x)",
				 s->mask);
			r = VERR_PCR;
		} else {
			r = fail(t, rc, what, err, errlen);
		}
		goto out;
	}
	if (data->size > cap) {
		snprintf(err, errlen, "unseal: secret of %u bytes does not fit %zu",
			 (unsigned)data->size, cap);
		r = VERR_NOSPACE;
		goto out;
	}
	memcpy(secret, data->buffer, data->size);
	*len = data->size;
	r = 0;
out:
	if (data != NULL) {
		OPENSSL_cleanse(data, sizeof(*data));
		Esys_Free(data);
	}
	Esys_Free(pname);
	flush(t, &sess);
	flush(t, &obj);
	parent_put(t, &parent, kind);
	freezero(s, sizeof(*s));
	return r;
}

/* ---- NV counter ---- */

/*
 * Opens an existing counter and checks it is one: an ordinary index
 * defined in its place (the owner auth is empty, so anyone could) would
 * let its writer choose the "counter" value.  A counter redefined by
 * someone else is harmless: the TPM starts a new counter at or above the
 * highest value any counter on it ever had.
 */
static int
counter_open(struct tpm2_host *t, uint32_t index, ESYS_TR *nv, char *err, size_t errlen)
{
	TPM2B_NV_PUBLIC *pub = NULL;
	TPM2B_NAME *name = NULL;
	TSS2_RC rc;
	bool have;
	int r;

	*nv = ESYS_TR_NONE;
	if ((index >> 24) != TPM2_HT_NV_INDEX) {
		snprintf(err, errlen, "0x%08x is not an NV index handle", index);
		return VERR_INVAL;
	}
	if ((r = ready(t, err, errlen)) != 0)
		return r;
	if ((r = handle_exists(t, index, &have, err, errlen)) != 0)
		return r;
	if (!have) {
		snprintf(err, errlen,
			 "NV counter 0x%08x is not defined on this TPM (another TPM, or it was "
			 "cleared or undefined)",
			 index);
		return VERR_WRONG_TPM;
	}
	TPM_TRY(rc, Esys_TR_FromTPMPublic(t->esys, index, ESYS_TR_NONE, ESYS_TR_NONE,
					  ESYS_TR_NONE, nv));
	if (rc != TSS2_RC_SUCCESS) {
		*nv = ESYS_TR_NONE;
		return fail(t, rc, "opening the NV counter", err, errlen);
	}
	TPM_TRY(rc, Esys_NV_ReadPublic(t->esys, *nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				       &pub, &name));
	if (rc != TSS2_RC_SUCCESS) {
		r = fail(t, rc, "TPM2_NV_ReadPublic", err, errlen);
	} else if (((pub->nvPublic.attributes & TPMA_NV_TPM2_NT_MASK) >> TPMA_NV_TPM2_NT_SHIFT) !=
			   TPM2_NT_COUNTER ||
		   pub->nvPublic.dataSize != 8) {
		snprintf(err, errlen, "NV index 0x%08x is not a counter", index);
		r = VERR_MISMATCH;
	} else {
		r = 0;
	}
	Esys_Free(pub);
	Esys_Free(name);
	if (r != 0)
		forget(t, nv);
	return r;
}

/* Reads as the owner (who, AUTHREAD aside, is all read gets) or, with
 * by == nv and an HMAC session, with the counter's own auth. */
static int
counter_value(struct tpm2_host *t, ESYS_TR by, ESYS_TR sess, ESYS_TR nv, uint64_t *value,
	      char *err, size_t errlen)
{
	TPM2B_MAX_NV_BUFFER *d = NULL;
	TSS2_RC rc;
	int r = 0;

	TPM_TRY(rc, Esys_NV_Read(t->esys, by, nv, sess, ESYS_TR_NONE, ESYS_TR_NONE, 8, 0, &d));
	if (rc != TSS2_RC_SUCCESS)
		return fail(t, rc, "TPM2_NV_Read(counter)", err, errlen);
	if (d->size != 8) {
		snprintf(err, errlen, "TPM2_NV_Read returned %u bytes, not 8", (unsigned)d->size);
		r = VERR_FORMAT;
	} else {
		*value = be64_get(d->buffer);
	}
	Esys_Free(d);
	return r;
}

static int
counter_bump(struct tpm2_host *t, ESYS_TR nv, ESYS_TR sess, const TPM2B_AUTH *auth, char *err,
	     size_t errlen)
{
	TSS2_RC rc;

	rc = Esys_TR_SetAuth(t->esys, nv, auth);
	if (rc != TSS2_RC_SUCCESS)
		return fail(t, rc, "setting the counter's auth", err, errlen);
	TPM_TRY(rc, Esys_NV_Increment(t->esys, nv, nv, sess, ESYS_TR_NONE, ESYS_TR_NONE));
	if (rc != TSS2_RC_SUCCESS)
		return fail(t, rc, "TPM2_NV_Increment", err, errlen);
	return 0;
}

static int
make_auth(const uint8_t *auth, size_t authlen, TPM2B_AUTH *a, char *err, size_t errlen)
{
	if (authlen > AUTH_MAX || (authlen != 0 && auth == NULL)) {
		snprintf(err, errlen, "counter auth must be at most %u bytes", AUTH_MAX);
		return VERR_INVAL;
	}
	memset(a, 0, sizeof(*a));
	a->size = (UINT16)authlen;
	if (authlen != 0)
		memcpy(a->buffer, auth, authlen);
	return 0;
}

/* The first index at or above from that GetCapability does not list. */
static int
first_free_index(struct tpm2_host *t, uint32_t from, uint32_t *index, char *err,
		 size_t errlen)
{
	const uint32_t end = NV_COUNTER_BASE + NV_COUNTER_SLOTS;
	uint32_t cand = from;

	while (cand < end) {
		TPMS_CAPABILITY_DATA *cap = NULL;
		TPMI_YES_NO more = TPM2_NO;
		TSS2_RC rc;
		uint32_t i, n;

		TPM_TRY(rc, Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
					       TPM2_CAP_HANDLES, cand, end - cand, &more, &cap));
		if (rc != TSS2_RC_SUCCESS)
			return fail(t, rc, "TPM2_GetCapability(NV handles)", err, errlen);
		n = cap->capability == TPM2_CAP_HANDLES ? cap->data.handles.count : 0;
		/* The list is ascending from cand: walk the run of used ones. */
		for (i = 0; i < n && cap->data.handles.handle[i] == cand; i++)
			cand++;
		Esys_Free(cap);
		if (i < n || more != TPM2_YES || n == 0)
			break;
	}
	if (cand >= end) {
		snprintf(err, errlen, "no free NV index in 0x%08x..0x%08x for a counter",
			 NV_COUNTER_BASE, end - 1);
		return VERR_TPM_NOSPACE;
	}
	*index = cand;
	return 0;
}

int
tpm2_host_counter_define(struct tpm2_host *t, const uint8_t *auth, size_t authlen,
			 uint32_t *index, char *err, size_t errlen)
{
	TPM2B_AUTH a;
	TPM2B_NV_PUBLIC pub;
	ESYS_TR nv = ESYS_TR_NONE, parent = ESYS_TR_NONE, sess = ESYS_TR_NONE;
	uint32_t cand = NV_COUNTER_BASE;
	uint8_t kind = 0;
	TSS2_RC rc;
	int r;

	if ((r = make_auth(auth, authlen, &a, err, errlen)) != 0)
		return r;
	if ((r = ready(t, err, errlen)) != 0)
		goto out;
	/* The new auth is a command parameter: it goes encrypted, under a
	 * session salted to the storage key (define is rare; the cost of a
	 * primary is fine here).  The same session then authorises, by HMAC,
	 * the first increment with that auth. */
	if ((r = parent_get(t, 0, &parent, &kind, err, errlen)) != 0 ||
	    (r = start_session(t, parent, TPM2_SE_HMAC, TPMA_SESSION_DECRYPT, &sess, err,
			       errlen)) != 0)
		goto out;
	for (;;) {
		if ((r = first_free_index(t, cand, &cand, err, errlen)) != 0)
			goto out;
		memset(&pub, 0, sizeof(pub));
		pub.nvPublic.nvIndex = cand;
		pub.nvPublic.nameAlg = TPM2_ALG_SHA256;
		pub.nvPublic.attributes = NV_COUNTER_ATTRS;
		pub.nvPublic.dataSize = 8;
		TPM_TRY(rc, Esys_NV_DefineSpace(t->esys, ESYS_TR_RH_OWNER, sess, ESYS_TR_NONE,
						ESYS_TR_NONE, &a, &pub, &nv));
		/* Someone else took it between the look and the define. */
		if (rc_is(rc, TPM2_RC_NV_DEFINED)) {
			cand++;
			continue;
		}
		if (rc_is(rc, TPM2_RC_NV_SPACE)) {
			snprintf(err, errlen, "TPM2_NV_DefineSpace: the TPM's NV is full");
			r = VERR_TPM_NOSPACE;
			goto out;
		}
		if (rc != TSS2_RC_SUCCESS) {
			nv = ESYS_TR_NONE;
			r = fail(t, rc, "TPM2_NV_DefineSpace(counter)", err, errlen);
			goto out;
		}
		break;
	}
	/* A counter reads as "not written" until its first increment. */
	if ((r = counter_bump(t, nv, sess, &a, err, errlen)) != 0) {
		TPM_TRY(rc, Esys_NV_UndefineSpace(t->esys, ESYS_TR_RH_OWNER, nv, ESYS_TR_PASSWORD,
						  ESYS_TR_NONE, ESYS_TR_NONE));
		if (rc == TSS2_RC_SUCCESS)
			nv = ESYS_TR_NONE; /* ESYS dropped the record with the index */
		goto out;
	}
	*index = cand;
out:
	forget(t, &nv);
	flush(t, &sess);
	parent_put(t, &parent, kind);
	OPENSSL_cleanse(&a, sizeof(a));
	return r;
}

int
tpm2_host_counter_read(struct tpm2_host *t, uint32_t index, uint64_t *value, char *err,
		       size_t errlen)
{
	ESYS_TR nv;
	int r;

	if ((r = counter_open(t, index, &nv, err, errlen)) != 0)
		return r;
	r = counter_value(t, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, nv, value, err, errlen);
	forget(t, &nv);
	return r;
}

int
tpm2_host_counter_increment(struct tpm2_host *t, uint32_t index, const uint8_t *auth,
			    size_t authlen, uint64_t *value, char *err, size_t errlen)
{
	TPM2B_AUTH a;
	ESYS_TR nv = ESYS_TR_NONE, sess = ESYS_TR_NONE;
	int r;

	if ((r = make_auth(auth, authlen, &a, err, errlen)) != 0)
		return r;
	/* Unsalted is enough here: the auth only keys HMACs, never travels.
	 * Reading back with it too keeps the owner's auth out of this path. */
	if ((r = counter_open(t, index, &nv, err, errlen)) != 0 ||
	    (r = start_session(t, ESYS_TR_NONE, TPM2_SE_HMAC, 0, &sess, err, errlen)) != 0 ||
	    (r = counter_bump(t, nv, sess, &a, err, errlen)) != 0)
		goto out;
	r = counter_value(t, nv, sess, nv, value, err, errlen);
out:
	flush(t, &sess);
	forget(t, &nv);
	OPENSSL_cleanse(&a, sizeof(a));
	return r;
}

int
tpm2_host_counter_undefine(struct tpm2_host *t, uint32_t index, char *err, size_t errlen)
{
	ESYS_TR nv;
	TSS2_RC rc;
	int r;

	if ((r = counter_open(t, index, &nv, err, errlen)) != 0)
		return r;
	TPM_TRY(rc, Esys_NV_UndefineSpace(t->esys, ESYS_TR_RH_OWNER, nv, ESYS_TR_PASSWORD,
					  ESYS_TR_NONE, ESYS_TR_NONE));
	if (rc != TSS2_RC_SUCCESS) {
		forget(t, &nv);
		return fail(t, rc, "TPM2_NV_UndefineSpace(counter)", err, errlen);
	}
	return 0;
}
