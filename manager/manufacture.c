/*
 * manufacture.c - EKs, EK certificates and PCR banks made in a new vTPM's
 * own libtpms, and the EKs read back from existing state; see
 * manufacture.h.  Owns the private vtpmd of each call (vdrive).  Trusts
 * nothing the vtpmd returns: each response is parsed with bounds checks,
 * with tpm2-tss' unmarshalling for TPM 2.0 public areas, and a created EK
 * must equal its template except for the key itself.
 */
#include "manager/manufacture.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_tpm2_types.h>

#include "crypto/aead.h"
#include "crypto/ekcert.h"
#include "crypto/pkey.h"
#include "util/ctrl_proto.h"
#include "util/errmsg.h"
/* util/tpm_frame.h clashes with tpm2-tss names: the two sizes it gives. */
#define TPM_HDR_SIZE 10
#define TPM_FRAME_MAX 4096

#define ST_NO_SESSIONS 0x8001
#define ST_SESSIONS 0x8002
#define NV_CHUNK 1024 /* libtpms MAX_NV_BUFFER_SIZE */
#define EK_NV_ATTRS                                                                           \
	(TPMA_NV_PLATFORMCREATE | TPMA_NV_AUTHREAD | TPMA_NV_OWNERREAD | TPMA_NV_PPREAD |     \
	 TPMA_NV_PPWRITE | TPMA_NV_NO_DA | TPMA_NV_WRITEDEFINE)

/* TPM 1.2 */
#define TAG12_RQU 0x00c1
#define TAG12_RSP 0x00c4
#define ORD12_PHYSICAL_ENABLE 0x6f
#define ORD12_PHYSICAL_SET_DEACTIVATED 0x72
#define ORD12_CREATE_EK_PAIR 0x78
#define ORD12_READ_PUBEK 0x7c
#define ORD12_GET_CAPABILITY 0x65
#define ORD12_NV_DEFINE_SPACE 0xcc
#define ORD12_NV_WRITE_VALUE 0xcd
#define ORD12_NV_READ_VALUE 0xcf
#define ORD12_TSC_PHYSICAL_PRESENCE 0x4000000au
#define PP12_CMD_ENABLE 0x0020
#define PP12_PRESENT 0x0008
#define NV12_PER_OWNERREAD 0x00020000u
#define NV12_PER_OWNERWRITE 0x00000002u
#define NV12_INDEX_LOCK 0xffffffffu
#define CAP12_NV_INDEX 0x11

/* The TCG EK policy: PolicySecret(TPM_RH_ENDORSEMENT), SHA-256 and -384. */
static const uint8_t ek_policy_sha256[32] = {
	0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc, 0x8d, 0x46, 0xa5, 0xd7,
	0x24, 0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52, 0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14,
	0x69, 0xaa,
};
static const uint8_t ek_policy_sha384[48] = {
	0xb2, 0x6e, 0x7d, 0x28, 0xd1, 0x1a, 0x50, 0xbc, 0x53, 0xd8, 0x82, 0xbc, 0xf5, 0xfd, 0x3a, 0x1a,
	0x07, 0x41, 0x48, 0xbb, 0x35, 0xd3, 0xb4, 0xe4, 0xcb, 0x1c, 0x0a, 0xd9, 0xbd, 0xe4, 0x19, 0xca,
	0xcb, 0x47, 0xba, 0x09, 0x69, 0x96, 0x46, 0x15, 0x0f, 0x9f, 0xc0, 0x00, 0xf3, 0xf8, 0x0e, 0x12,
};

/* ------------------------------------------------------------ templates */

static void
ek_template(enum mf_ek ek, TPM2B_PUBLIC *p)
{
	TPMT_PUBLIC *t = &p->publicArea;

	memset(p, 0, sizeof(*p));
	t->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
			      TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_ADMINWITHPOLICY |
			      TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
	switch (ek) {
	case MF_EK_RSA2048: /* L-1 */
		t->type = TPM2_ALG_RSA;
		t->nameAlg = TPM2_ALG_SHA256;
		t->authPolicy.size = sizeof(ek_policy_sha256);
		memcpy(t->authPolicy.buffer, ek_policy_sha256, sizeof(ek_policy_sha256));
		t->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_AES;
		t->parameters.rsaDetail.symmetric.keyBits.aes = 128;
		t->parameters.rsaDetail.symmetric.mode.aes = TPM2_ALG_CFB;
		t->parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
		t->parameters.rsaDetail.keyBits = 2048;
		t->parameters.rsaDetail.exponent = 0;
		t->unique.rsa.size = 256;
		break;
	case MF_EK_ECCP256: /* L-2 */
		t->type = TPM2_ALG_ECC;
		t->nameAlg = TPM2_ALG_SHA256;
		t->authPolicy.size = sizeof(ek_policy_sha256);
		memcpy(t->authPolicy.buffer, ek_policy_sha256, sizeof(ek_policy_sha256));
		t->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
		t->parameters.eccDetail.symmetric.keyBits.aes = 128;
		t->parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
		t->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
		t->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
		t->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
		t->unique.ecc.x.size = 32;
		t->unique.ecc.y.size = 32;
		break;
	case MF_EK_ECCP384: /* H-3, as swtpm_setup makes it */
		t->type = TPM2_ALG_ECC;
		t->nameAlg = TPM2_ALG_SHA384;
		t->objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
		t->authPolicy.size = sizeof(ek_policy_sha384);
		memcpy(t->authPolicy.buffer, ek_policy_sha384, sizeof(ek_policy_sha384));
		t->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
		t->parameters.eccDetail.symmetric.keyBits.aes = 256;
		t->parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
		t->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
		t->parameters.eccDetail.curveID = TPM2_ECC_NIST_P384;
		t->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
		break;
	}
}

/* ------------------------------------------------------- command framing */

/* Building a command fails only when it would outgrow TPM_FRAME_MAX (the
 * commands here are far smaller): its callers return VERR_NOSPACE.  What
 * comes back from the TPM and does not parse is VERR_FORMAT. */

static int
hdr(struct buf *b, uint16_t tag, uint32_t code)
{
	buf_reset(b);
	b->off = 0;
	return buf_put_u16(b, tag) != 0 || buf_put_u32(b, 0) != 0 || buf_put_u32(b, code) != 0
		       ? -1
		       : 0;
}

static int
finish(struct buf *b)
{
	if (b->len < TPM_HDR_SIZE || b->len > TPM_FRAME_MAX)
		return -1;
	be32_put(b->d + 2, (uint32_t)b->len);
	return 0;
}

/* An authorization area with one empty password session (TPM_RS_PW). */
static int
pw_session(struct buf *b)
{
	return buf_put_u32(b, 9) != 0 || buf_put_u32(b, TPM2_RS_PW) != 0 ||
			       buf_put_u16(b, 0) != 0 || buf_put_u8(b, 0) != 0 ||
			       buf_put_u16(b, 0) != 0
		       ? -1
		       : 0;
}

int
mf_build_createprimary(enum mf_ek ek, struct buf *cmd)
{
	uint8_t pub[sizeof(TPM2B_PUBLIC)];
	TPM2B_PUBLIC t;
	size_t off = 0;

	ek_template(ek, &t);
	/* The template's unique fields are zero-filled (L-1, L-2) or empty
	 * (H-3): only their sizes were set. */
	if (Tss2_MU_TPM2B_PUBLIC_Marshal(&t, pub, sizeof(pub), &off) != TSS2_RC_SUCCESS)
		return -1;
	if (hdr(cmd, ST_SESSIONS, TPM2_CC_CreatePrimary) != 0 ||
	    buf_put_u32(cmd, TPM2_RH_ENDORSEMENT) != 0 || pw_session(cmd) != 0 ||
	    buf_put_u16(cmd, 4) != 0 || buf_put_u16(cmd, 0) != 0 || buf_put_u16(cmd, 0) != 0 ||
	    buf_put_bytes(cmd, pub, off) != 0 || buf_put_u16(cmd, 0) != 0 ||
	    buf_put_u32(cmd, 0) != 0)
		return -1;
	return finish(cmd);
}

/* The response's header; parameters start at *params (after the handles
 * and, for a sessions response, the parameterSize), *plen long. */
static int
resp_params(const uint8_t *r, size_t len, unsigned nhandles, int sessions,
	    const uint8_t **params, size_t *plen)
{
	size_t at = TPM_HDR_SIZE + 4u * nhandles;
	uint32_t ps;

	if (len < TPM_HDR_SIZE || be32_get(r + 2) != len || be32_get(r + 6) != 0 ||
	    be16_get(r) != (sessions ? ST_SESSIONS : ST_NO_SESSIONS) || len < at)
		return -1;
	if (!sessions) {
		*params = r + at;
		*plen = len - at;
		return 0;
	}
	if (len - at < 4)
		return -1;
	ps = be32_get(r + at);
	at += 4;
	if (ps > len - at)
		return -1;
	*params = r + at;
	*plen = ps;
	return 0;
}

static int
same_params(enum mf_ek ek, const TPMT_PUBLIC *a, const TPMT_PUBLIC *b)
{
	if (a->type != b->type || a->nameAlg != b->nameAlg ||
	    a->objectAttributes != b->objectAttributes || a->authPolicy.size != b->authPolicy.size ||
	    memcmp(a->authPolicy.buffer, b->authPolicy.buffer, a->authPolicy.size) != 0)
		return 0;
	if (ek == MF_EK_RSA2048) {
		const TPMS_RSA_PARMS *x = &a->parameters.rsaDetail, *y = &b->parameters.rsaDetail;

		return x->symmetric.algorithm == y->symmetric.algorithm &&
		       x->symmetric.keyBits.aes == y->symmetric.keyBits.aes &&
		       x->symmetric.mode.aes == y->symmetric.mode.aes &&
		       x->scheme.scheme == y->scheme.scheme && x->keyBits == y->keyBits &&
		       x->exponent == y->exponent;
	}
	const TPMS_ECC_PARMS *x = &a->parameters.eccDetail, *y = &b->parameters.eccDetail;

	return x->symmetric.algorithm == y->symmetric.algorithm &&
	       x->symmetric.keyBits.aes == y->symmetric.keyBits.aes &&
	       x->symmetric.mode.aes == y->symmetric.mode.aes &&
	       x->scheme.scheme == y->scheme.scheme && x->curveID == y->curveID &&
	       x->kdf.scheme == y->kdf.scheme;
}

int
mf_parse_createprimary(enum mf_ek ek, const uint8_t *resp, size_t len, uint32_t *handle,
		       EVP_PKEY **pub)
{
	const uint8_t *p;
	size_t plen, off = 0;
	TPM2B_PUBLIC got, want;
	const TPMT_PUBLIC *g = &got.publicArea;
	EVP_PKEY *k = NULL;

	*pub = NULL;
	if (resp_params(resp, len, 1, 1, &p, &plen) != 0)
		return VERR_FORMAT;
	*handle = be32_get(resp + TPM_HDR_SIZE);
	memset(&got, 0, sizeof(got));
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(p, plen, &off, &got) != TSS2_RC_SUCCESS)
		return VERR_FORMAT;
	ek_template(ek, &want);
	if (!same_params(ek, g, &want.publicArea))
		return VERR_FORMAT;
	switch (ek) {
	case MF_EK_RSA2048:
		if (g->unique.rsa.size != 256)
			return VERR_FORMAT;
		k = pkey_rsa_from_modulus(g->unique.rsa.buffer, g->unique.rsa.size, 0);
		break;
	case MF_EK_ECCP256:
	case MF_EK_ECCP384: {
		size_t n = ek == MF_EK_ECCP256 ? 32 : 48;

		if (g->unique.ecc.x.size != n || g->unique.ecc.y.size != n)
			return VERR_FORMAT;
		k = pkey_ec_from_xy(ek == MF_EK_ECCP256 ? "P-256" : "P-384", g->unique.ecc.x.buffer,
				    n, g->unique.ecc.y.buffer, n);
		break;
	}
	}
	if (k == NULL)
		return VERR_FORMAT; /* e.g. a point not on the curve */
	*pub = k;
	return 0;
}

int
mf_parse_pubek12(const uint8_t *resp, size_t len, const uint8_t nonce[20], EVP_PKEY **pub)
{
	struct buf b;
	uint32_t alg, parmsize, keylen, nprimes, explen, modlen, e = 0;
	uint16_t enc, sig;
	const uint8_t *start, *mod, *ex, *sum;
	uint8_t digest[20];
	unsigned int dlen = 0;
	EVP_MD_CTX *ctx;
	int ok;

	*pub = NULL;
	if (len < TPM_HDR_SIZE || be16_get(resp) != TAG12_RSP || be32_get(resp + 2) != len ||
	    be32_get(resp + 6) != 0)
		return VERR_FORMAT;
	buf_init_reader(&b, resp + TPM_HDR_SIZE, len - TPM_HDR_SIZE);
	start = buf_ptr(&b);
	if (buf_get_u32(&b, &alg) != 0 || alg != 1 || buf_get_u16(&b, &enc) != 0 ||
	    buf_get_u16(&b, &sig) != 0 || buf_get_u32(&b, &parmsize) != 0 ||
	    buf_get_u32(&b, &keylen) != 0 || keylen != 2048 || buf_get_u32(&b, &nprimes) != 0 ||
	    nprimes != 2 || buf_get_u32(&b, &explen) != 0 || explen > 4 ||
	    parmsize != 12 + explen || buf_get_direct(&b, &ex, explen) != 0 ||
	    buf_get_u32(&b, &modlen) != 0 || modlen != 256 ||
	    buf_get_direct(&b, &mod, modlen) != 0)
		return VERR_FORMAT;
	(void)enc;
	(void)sig;
	for (uint32_t i = 0; i < explen; i++)
		e = e << 8 | ex[i];
	if (explen != 0 && e != 65537)
		return VERR_FORMAT;
	size_t publen = (size_t)(buf_ptr(&b) - start);
	if (buf_get_direct(&b, &sum, 20) != 0 || buf_avail(&b) != 0)
		return VERR_FORMAT;
	/* checksum = SHA-1(pubEndorsementKey || antiReplay) */
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return VERR_CRYPTO;
	ok = EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 &&
	     EVP_DigestUpdate(ctx, start, publen) == 1 && EVP_DigestUpdate(ctx, nonce, 20) == 1 &&
	     EVP_DigestFinal_ex(ctx, digest, &dlen) == 1 && dlen == 20;
	EVP_MD_CTX_free(ctx);
	if (!ok || CRYPTO_memcmp(digest, sum, 20) != 0)
		return VERR_FORMAT;
	if ((*pub = pkey_rsa_from_modulus(mod, modlen, 0)) == NULL)
		return VERR_FORMAT;
	return 0;
}

int
mf_tcg12_wrap(const uint8_t *der, size_t len, struct buf *out)
{
	if (len == 0 || len > EKCERT_DER_MAX)
		return -1;
	/* TCG_PCCLIENT_STORED_CERT { tag 0x1001, certType 0 (full),
	 * certSize } then TCG_FULL_CERT { tag 0x1002, cert }. */
	if (buf_put_u16(out, 0x1001) != 0 || buf_put_u8(out, 0) != 0 ||
	    buf_put_u16(out, (uint16_t)(len + 2)) != 0 || buf_put_u16(out, 0x1002) != 0 ||
	    buf_put_bytes(out, der, len) != 0)
		return -1;
	return 0;
}

int
mf_tcg12_unwrap(const uint8_t *p, size_t len, const uint8_t **der, size_t *dlen)
{
	if (len < 8 || be16_get(p) != 0x1001 || p[2] != 0 || be16_get(p + 3) != len - 5 ||
	    be16_get(p + 5) != 0x1002)
		return -1;
	*der = p + 7;
	*dlen = len - 7;
	return 0;
}

/* -------------------------------------------------------- the sessions */

struct mf {
	struct vdrive d;
	struct buf cmd, resp;
	char *err;
	size_t errlen;
};

/* Sends m->cmd; the TPM must answer success. */
static int
call(struct mf *m, const char *what)
{
	uint32_t rc;
	int r;

	buf_reset(&m->resp);
	if (finish(&m->cmd) != 0)
		return VERR_NOSPACE;
	if ((r = vdrive_tpm(&m->d, m->cmd.d, m->cmd.len, &m->resp, m->err, m->errlen)) != 0)
		return r;
	rc = be32_get(m->resp.d + 6);
	if (rc != 0) {
		seterr(m->err, m->errlen, "%s failed: TPM response code 0x%x", what, rc);
		return VERR_TPM;
	}
	return 0;
}

static int
tpm2_simple(struct mf *m, uint32_t code, uint16_t su, const char *what)
{
	if (hdr(&m->cmd, ST_NO_SESSIONS, code) != 0 || buf_put_u16(&m->cmd, su) != 0)
		return VERR_NOSPACE;
	return call(m, what);
}

static int
flush(struct mf *m, uint32_t handle)
{
	if (hdr(&m->cmd, ST_NO_SESSIONS, TPM2_CC_FlushContext) != 0 ||
	    buf_put_u32(&m->cmd, handle) != 0)
		return VERR_NOSPACE;
	return call(m, "TPM2_FlushContext");
}

static int
create_ek(struct mf *m, enum mf_ek ek, EVP_PKEY **pub)
{
	uint32_t handle = 0;
	int r;

	if (mf_build_createprimary(ek, &m->cmd) != 0)
		return VERR_NOSPACE;
	if ((r = call(m, "TPM2_CreatePrimary (EK)")) != 0)
		return r;
	if ((r = mf_parse_createprimary(ek, m->resp.d, m->resp.len, &handle, pub)) != 0) {
		seterr(m->err, m->errlen, "TPM2_CreatePrimary (EK): the response does not parse "
		       "or does not match the EK template");
		return r;
	}
	return flush(m, handle);
}

static int
pcr_allocate(struct mf *m, uint32_t mask)
{
	static const struct {
		uint16_t alg;
		uint32_t bit;
	} banks[] = { { TPM2_ALG_SHA1, MF_BANK_SHA1 }, { TPM2_ALG_SHA256, MF_BANK_SHA256 },
		      { TPM2_ALG_SHA384, MF_BANK_SHA384 }, { TPM2_ALG_SHA512, MF_BANK_SHA512 } };
	const uint8_t *p;
	size_t plen;
	int r;

	if (hdr(&m->cmd, ST_SESSIONS, TPM2_CC_PCR_Allocate) != 0 ||
	    buf_put_u32(&m->cmd, TPM2_RH_PLATFORM) != 0 || pw_session(&m->cmd) != 0 ||
	    buf_put_u32(&m->cmd, 4) != 0)
		return VERR_NOSPACE;
	for (int i = 0; i < 4; i++) {
		uint8_t sel = (mask & banks[i].bit) ? 0xff : 0;

		if (buf_put_u16(&m->cmd, banks[i].alg) != 0 || buf_put_u8(&m->cmd, 3) != 0 ||
		    buf_put_u8(&m->cmd, sel) != 0 || buf_put_u8(&m->cmd, sel) != 0 ||
		    buf_put_u8(&m->cmd, sel) != 0)
			return VERR_NOSPACE;
	}
	if ((r = call(m, "TPM2_PCR_Allocate")) != 0)
		return r;
	/* allocationSuccess | maxPCR | sizeNeeded | sizeAvailable */
	if (resp_params(m->resp.d, m->resp.len, 0, 1, &p, &plen) != 0 || plen != 13 || p[0] != 1) {
		seterr(m->err, m->errlen, "TPM2_PCR_Allocate did not succeed");
		return VERR_TPM;
	}
	/* The allocation takes effect at the next TPM Reset: power cycle. */
	if ((r = tpm2_simple(m, TPM2_CC_Shutdown, TPM2_SU_CLEAR, "TPM2_Shutdown")) != 0)
		return r;
	uint8_t flags[4] = { 0 };
	buf_reset(&m->resp);
	if ((r = vdrive_ctrl(&m->d, CMD_INIT, flags, 4, &m->resp, m->err, m->errlen)) != 0)
		return r;
	if (be32_get(m->resp.d) != 0) {
		seterr(m->err, m->errlen, "power cycle after PCR_Allocate failed (rc 0x%x)",
		       be32_get(m->resp.d));
		return VERR_TPM;
	}
	return tpm2_simple(m, TPM2_CC_Startup, TPM2_SU_CLEAR, "TPM2_Startup");
}

/* NV_DefineSpace (platform) + NV_Write in chunks + NV_WriteLock. */
static int
nv_write_cert(struct mf *m, uint32_t index, const uint8_t *data, size_t len)
{
	uint8_t nvp[sizeof(TPM2B_NV_PUBLIC)];
	TPM2B_NV_PUBLIC pub;
	size_t off = 0;
	int r;

	memset(&pub, 0, sizeof(pub));
	pub.nvPublic.nvIndex = index;
	pub.nvPublic.nameAlg = TPM2_ALG_SHA256;
	pub.nvPublic.attributes = EK_NV_ATTRS;
	pub.nvPublic.dataSize = (uint16_t)len;
	if (len == 0 || len > EKCERT_DER_MAX ||
	    Tss2_MU_TPM2B_NV_PUBLIC_Marshal(&pub, nvp, sizeof(nvp), &off) != TSS2_RC_SUCCESS)
		return VERR_INVAL;
	if (hdr(&m->cmd, ST_SESSIONS, TPM2_CC_NV_DefineSpace) != 0 ||
	    buf_put_u32(&m->cmd, TPM2_RH_PLATFORM) != 0 || pw_session(&m->cmd) != 0 ||
	    buf_put_u16(&m->cmd, 0) != 0 || buf_put_bytes(&m->cmd, nvp, off) != 0)
		return VERR_NOSPACE;
	if ((r = call(m, "TPM2_NV_DefineSpace (EK certificate)")) != 0)
		return r;
	for (size_t at = 0; at < len; at += NV_CHUNK) {
		size_t n = len - at < NV_CHUNK ? len - at : NV_CHUNK;

		if (hdr(&m->cmd, ST_SESSIONS, TPM2_CC_NV_Write) != 0 ||
		    buf_put_u32(&m->cmd, TPM2_RH_PLATFORM) != 0 || buf_put_u32(&m->cmd, index) != 0 ||
		    pw_session(&m->cmd) != 0 || buf_put_u16(&m->cmd, (uint16_t)n) != 0 ||
		    buf_put_bytes(&m->cmd, data + at, n) != 0 ||
		    buf_put_u16(&m->cmd, (uint16_t)at) != 0)
			return VERR_NOSPACE;
		if ((r = call(m, "TPM2_NV_Write (EK certificate)")) != 0)
			return r;
	}
	if (hdr(&m->cmd, ST_SESSIONS, TPM2_CC_NV_WriteLock) != 0 ||
	    buf_put_u32(&m->cmd, TPM2_RH_PLATFORM) != 0 || buf_put_u32(&m->cmd, index) != 0 ||
	    pw_session(&m->cmd) != 0)
		return VERR_NOSPACE;
	return call(m, "TPM2_NV_WriteLock (EK certificate)");
}

/* Reads a TPM 2.0 NV index (AUTHREAD, empty auth) into out; 1 when it
 * does not exist or cannot be read, 0 on success. */
static int
nv_read2(struct mf *m, uint32_t index, struct buf *out)
{
	TPM2B_NV_PUBLIC pub;
	const uint8_t *p;
	size_t plen, off = 0;
	uint16_t size;
	int r;

	if (hdr(&m->cmd, ST_NO_SESSIONS, TPM2_CC_NV_ReadPublic) != 0 ||
	    buf_put_u32(&m->cmd, index) != 0)
		return VERR_NOSPACE;
	if ((r = call(m, "TPM2_NV_ReadPublic")) == VERR_TPM)
		return 1;
	if (r != 0)
		return r;
	memset(&pub, 0, sizeof(pub));
	if (resp_params(m->resp.d, m->resp.len, 0, 0, &p, &plen) != 0 ||
	    Tss2_MU_TPM2B_NV_PUBLIC_Unmarshal(p, plen, &off, &pub) != TSS2_RC_SUCCESS ||
	    pub.nvPublic.nvIndex != index)
		return VERR_FORMAT;
	size = pub.nvPublic.dataSize;
	if (size == 0 || size > EKCERT_DER_MAX)
		return 1;
	for (size_t at = 0; at < size; at += NV_CHUNK) {
		size_t n = size - at < NV_CHUNK ? size - at : NV_CHUNK;

		if (hdr(&m->cmd, ST_SESSIONS, TPM2_CC_NV_Read) != 0 ||
		    buf_put_u32(&m->cmd, index) != 0 || buf_put_u32(&m->cmd, index) != 0 ||
		    pw_session(&m->cmd) != 0 || buf_put_u16(&m->cmd, (uint16_t)n) != 0 ||
		    buf_put_u16(&m->cmd, (uint16_t)at) != 0)
			return VERR_NOSPACE;
		if ((r = call(m, "TPM2_NV_Read")) == VERR_TPM) {
			buf_reset(out);
			return 1;
		}
		if (r != 0)
			return r;
		if (resp_params(m->resp.d, m->resp.len, 0, 1, &p, &plen) != 0 || plen < 2 ||
		    be16_get(p) != n || plen - 2 < n || buf_put_bytes(out, p + 2, n) != 0)
			return VERR_FORMAT;
	}
	return 0;
}

/* ----------------------------------------------------------- TPM 1.2 */

static int
tpm12_pp(struct mf *m, uint16_t pp)
{
	if (hdr(&m->cmd, TAG12_RQU, ORD12_TSC_PHYSICAL_PRESENCE) != 0 ||
	    buf_put_u16(&m->cmd, pp) != 0)
		return VERR_NOSPACE;
	return call(m, "TSC_PhysicalPresence");
}

static int
tpm12_ek_key_parms(struct buf *b)
{
	/* TPM_KEY_PARMS: RSA, RSAESOAEP_SHA1_MGF1, SS_NONE, 12-byte
	 * TPM_RSA_KEY_PARMS { 2048 bits, 2 primes, default exponent } */
	return buf_put_u32(b, 1) != 0 || buf_put_u16(b, 3) != 0 || buf_put_u16(b, 1) != 0 ||
			       buf_put_u32(b, 12) != 0 || buf_put_u32(b, 2048) != 0 ||
			       buf_put_u32(b, 2) != 0 || buf_put_u32(b, 0) != 0
		       ? -1
		       : 0;
}

/* TPM_NV_DefineSpace without authorization (the NV is not locked yet). */
static int
tpm12_nv_define(struct mf *m, uint32_t index, uint32_t attrs, uint32_t size)
{
	uint8_t zero[20] = { 0 };

	if (hdr(&m->cmd, TAG12_RQU, ORD12_NV_DEFINE_SPACE) != 0 ||
	    buf_put_u16(&m->cmd, 0x0018) != 0 || buf_put_u32(&m->cmd, index) != 0)
		return VERR_NOSPACE;
	for (int i = 0; i < 2; i++) {
		/* TPM_PCR_INFO_SHORT: no PCRs, any locality */
		if (buf_put_u16(&m->cmd, 3) != 0 || buf_put_bytes(&m->cmd, zero, 3) != 0 ||
		    buf_put_u8(&m->cmd, 0x1f) != 0 || buf_put_bytes(&m->cmd, zero, 20) != 0)
			return VERR_NOSPACE;
	}
	if (buf_put_u16(&m->cmd, 0x0017) != 0 || buf_put_u32(&m->cmd, attrs) != 0 ||
	    buf_put_u8(&m->cmd, 0) != 0 || buf_put_u8(&m->cmd, 0) != 0 ||
	    buf_put_u8(&m->cmd, 0) != 0 || buf_put_u32(&m->cmd, size) != 0 ||
	    buf_put_bytes(&m->cmd, zero, 20) != 0)
		return VERR_NOSPACE;
	return call(m, index == NV12_INDEX_LOCK ? "TPM_NV_DefineSpace (NV lock)"
						: "TPM_NV_DefineSpace (EK certificate)");
}

/* Reads the 1.2 EK certificate NV area without authorization (possible
 * only while the NV is unlocked); 1 when unreadable. */
static int
nv_read12(struct mf *m, uint32_t index, struct buf *out)
{
	const uint8_t *p;
	uint32_t n;

	/* Size from TPM_GetCapability(TPM_CAP_NV_INDEX): the dataSize is the
	 * last field of TPM_NV_DATA_PUBLIC. */
	if (hdr(&m->cmd, TAG12_RQU, ORD12_GET_CAPABILITY) != 0 ||
	    buf_put_u32(&m->cmd, CAP12_NV_INDEX) != 0 || buf_put_u32(&m->cmd, 4) != 0 ||
	    buf_put_u32(&m->cmd, index) != 0)
		return VERR_NOSPACE;
	if (call(m, "TPM_GetCapability") != 0)
		return 1;
	if (m->resp.len < TPM_HDR_SIZE + 4 + 4 ||
	    be32_get(m->resp.d + TPM_HDR_SIZE) != m->resp.len - TPM_HDR_SIZE - 4)
		return VERR_FORMAT;
	n = be32_get(m->resp.d + m->resp.len - 4);
	if (n == 0 || n > EKCERT_DER_MAX + 7)
		return 1;
	if (hdr(&m->cmd, TAG12_RQU, ORD12_NV_READ_VALUE) != 0 || buf_put_u32(&m->cmd, index) != 0 ||
	    buf_put_u32(&m->cmd, 0) != 0 || buf_put_u32(&m->cmd, n) != 0)
		return VERR_NOSPACE;
	if (call(m, "TPM_NV_ReadValue") != 0)
		return 1;
	p = m->resp.d + TPM_HDR_SIZE;
	if (m->resp.len != TPM_HDR_SIZE + 4 + (size_t)n || be32_get(p) != n ||
	    buf_put_bytes(out, p + 4, n) != 0)
		return VERR_FORMAT;
	return 0;
}

/* ------------------------------------------------------------- drivers */

static void
mf_init(struct mf *m, const struct vdrive_spawn *sp, int tpm2, char *err, size_t errlen)
{
	vdrive_init(&m->d, sp, tpm2);
	buf_init(&m->cmd, TPM_FRAME_MAX);
	buf_init(&m->resp, TPM_FRAME_MAX);
	m->err = err;
	m->errlen = errlen;
}

static void
mf_free(struct mf *m)
{
	vdrive_free(&m->d);
	buf_free(&m->cmd);
	buf_free(&m->resp);
}

static int
issue(const struct mf_signer *ca, int tpm2, EVP_PKEY *ek, const char *uuid_str, struct buf *der,
      char *err, size_t errlen)
{
	struct ekcert_req rq = {
		.tpm2 = tpm2,
		.ek = ek,
		.subject_cn = tpm2 ? uuid_str : NULL,
		.manufacturer = EKCERT_MANUFACTURER,
		.model = EKCERT_MODEL,
		.version = tpm2 ? EKCERT_VERSION_TPM2 : EKCERT_VERSION_TPM12,
		.spec_family = tpm2 ? "2.0" : "1.2",
		.spec_level = tpm2 ? 0 : 2,
		.spec_revision = tpm2 ? 164 : 116,
	};

	if (ca == NULL || ca->key == NULL || ca->cert == NULL ||
	    ekcert_issue(&rq, ca->cert, ca->key, der) != 0) {
		seterr(err, errlen, "cannot issue the EK certificate (CA key or OpenSSL failure)");
		return VERR_CERT;
	}
	return 0;
}

int
mf_manufacture(const struct vdrive_spawn *sp, const struct mf_request *rq,
	       const struct mf_signer *ca, struct buf *permall, struct buf *ekinfo, char *err,
	       size_t errlen)
{
	static const struct {
		enum mf_ek ek;
		uint8_t kind;
		uint32_t index;
	} eks[2] = { { MF_EK_RSA2048, EKINFO_RSA2048, MF_NV_EKCERT_RSA2048 },
		     { MF_EK_ECCP256, EKINFO_ECCP256, MF_NV_EKCERT_ECCP256 } };
	struct buf spki[2], cert[2], wrapped;
	struct ekinfo ei;
	EVP_PKEY *pub = NULL;
	struct mf m;
	int r;

	memset(&ei, 0, sizeof(ei));
	mf_init(&m, sp, rq->tpm2, err, errlen);
	for (int i = 0; i < 2; i++) {
		buf_init(&spki[i], PKEY_SPKI_MAX);
		buf_init(&cert[i], EKCERT_DER_MAX);
	}
	buf_init(&wrapped, EKCERT_DER_MAX + 16);
	if ((r = vdrive_start(&m.d, rq->uuid_str, 1, err, errlen)) != 0)
		goto out;
	if (rq->tpm2) {
		if (rq->pcr_banks != 0 && (r = pcr_allocate(&m, rq->pcr_banks)) != 0)
			goto out;
		for (int i = 0; rq->ek_certs && i < 2; i++) {
			if ((r = create_ek(&m, eks[i].ek, &pub)) != 0 ||
			    (r = pkey_pub_der(pub, &spki[i]) != 0 ? VERR_FORMAT : 0) != 0 ||
			    (r = issue(ca, 1, pub, rq->uuid_str, &cert[i], err, errlen)) != 0 ||
			    (r = nv_write_cert(&m, eks[i].index, cert[i].d, cert[i].len)) != 0)
				goto out;
			EVP_PKEY_free(pub);
			pub = NULL;
			struct ekinfo_entry e = { eks[i].kind, spki[i].d, spki[i].len, cert[i].d,
						  cert[i].len };
			if (ekinfo_set(&ei, &e) != 0) {
				r = VERR_FORMAT;
				goto out;
			}
		}
		if ((r = tpm2_simple(&m, TPM2_CC_Shutdown, TPM2_SU_CLEAR, "TPM2_Shutdown")) != 0)
			goto out;
	} else if (rq->ek_certs) {
		uint8_t nonce[20];

		if ((r = tpm12_pp(&m, PP12_CMD_ENABLE)) != 0 || (r = tpm12_pp(&m, PP12_PRESENT)) != 0)
			goto out;
		if (hdr(&m.cmd, TAG12_RQU, ORD12_PHYSICAL_ENABLE) != 0 ||
		    (r = call(&m, "TPM_PhysicalEnable")) != 0)
			goto out;
		if (hdr(&m.cmd, TAG12_RQU, ORD12_PHYSICAL_SET_DEACTIVATED) != 0 ||
		    buf_put_u8(&m.cmd, 0) != 0 || (r = call(&m, "TPM_PhysicalSetDeactivated")) != 0)
			goto out;
		if (crypto_random(nonce, sizeof(nonce)) != 0 ||
		    hdr(&m.cmd, TAG12_RQU, ORD12_CREATE_EK_PAIR) != 0 ||
		    buf_put_bytes(&m.cmd, nonce, sizeof(nonce)) != 0 ||
		    tpm12_ek_key_parms(&m.cmd) != 0) {
			r = VERR_NOSPACE;
			goto out;
		}
		if ((r = call(&m, "TPM_CreateEndorsementKeyPair")) != 0)
			goto out;
		if ((r = mf_parse_pubek12(m.resp.d, m.resp.len, nonce, &pub)) != 0) {
			seterr(err, errlen, "TPM_CreateEndorsementKeyPair: malformed response or "
			       "bad checksum");
			goto out;
		}
		if (pkey_pub_der(pub, &spki[0]) != 0) {
			r = VERR_FORMAT;
			goto out;
		}
		if ((r = issue(ca, 0, pub, NULL, &cert[0], err, errlen)) != 0)
			goto out;
		if (mf_tcg12_wrap(cert[0].d, cert[0].len, &wrapped) != 0) {
			r = VERR_CERT;
			goto out;
		}
		if ((r = tpm12_nv_define(&m, MF_NV_EKCERT_TPM12, NV12_PER_OWNERREAD |
					 NV12_PER_OWNERWRITE, (uint32_t)wrapped.len)) != 0)
			goto out;
		if (hdr(&m.cmd, TAG12_RQU, ORD12_NV_WRITE_VALUE) != 0 ||
		    buf_put_u32(&m.cmd, MF_NV_EKCERT_TPM12) != 0 || buf_put_u32(&m.cmd, 0) != 0 ||
		    buf_put_u32(&m.cmd, (uint32_t)wrapped.len) != 0 ||
		    buf_put_bytes(&m.cmd, wrapped.d, wrapped.len) != 0 ||
		    (r = call(&m, "TPM_NV_WriteValue (EK certificate)")) != 0)
			goto out;
		if ((r = tpm12_nv_define(&m, NV12_INDEX_LOCK, 0, 0)) != 0)
			goto out;
		struct ekinfo_entry e = { EKINFO_RSA12, spki[0].d, spki[0].len, cert[0].d,
					  cert[0].len };
		if (ekinfo_set(&ei, &e) != 0) {
			r = VERR_FORMAT;
			goto out;
		}
	}
	if ((r = vdrive_stop(&m.d, err, errlen)) != 0)
		goto out;
	if (!m.d.has[BLOB_PERMALL]) {
		seterr(err, errlen, "the new vTPM stored no permanent state");
		r = VERR_TPM;
		goto out;
	}
	if (buf_put_bytes(permall, m.d.nv[BLOB_PERMALL].d, m.d.nv[BLOB_PERMALL].len) != 0 ||
	    (ei.n != 0 && ekinfo_encode(&ei, ekinfo) != 0)) {
		seterr(err, errlen, "out of memory");
		r = VERR_NOMEM;
		goto out;
	}
	r = 0;
out:
	EVP_PKEY_free(pub);
	for (int i = 0; i < 2; i++) {
		buf_free(&spki[i]);
		buf_free(&cert[i]);
	}
	buf_free(&wrapped);
	mf_free(&m);
	return r;
}

int
mf_inspect(const struct vdrive_spawn *sp, int tpm2, const char *uuid_str,
	   const struct buf blobs[BLOB_COUNT], const int has[BLOB_COUNT], struct buf *ekinfo,
	   char *err, size_t errlen)
{
	static const struct {
		enum mf_ek ek;
		uint8_t kind;
		uint32_t index;
	} eks[3] = { { MF_EK_RSA2048, EKINFO_RSA2048, MF_NV_EKCERT_RSA2048 },
		     { MF_EK_ECCP256, EKINFO_ECCP256, MF_NV_EKCERT_ECCP256 },
		     { MF_EK_ECCP384, EKINFO_ECCP384, MF_NV_EKCERT_ECCP384 } };
	struct buf spki[3], cert[3], raw;
	struct ekinfo ei;
	EVP_PKEY *pub = NULL;
	struct mf m;
	char scratch[256];
	int r;

	memset(&ei, 0, sizeof(ei));
	mf_init(&m, sp, tpm2, err, errlen);
	for (int i = 0; i < 3; i++) {
		buf_init(&spki[i], PKEY_SPKI_MAX);
		buf_init(&cert[i], EKCERT_DER_MAX);
	}
	buf_init(&raw, EKCERT_DER_MAX + 16);
	for (int i = 0; i < BLOB_COUNT; i++) {
		if (has[i] && (r = vdrive_set_blob(&m.d, (enum blob_index)i, blobs[i].d,
						   blobs[i].len)) != 0) {
			seterr(err, errlen, "blob %s is too large", blob_name((enum blob_index)i));
			goto out;
		}
	}
	if ((r = vdrive_start(&m.d, uuid_str, 1, err, errlen)) != 0)
		goto out;
	/* From here on a refusal only means "not readable": the reasons go to
	 * a scratch buffer, and only a broken vtpmd fails the call. */
	m.err = scratch;
	m.errlen = sizeof(scratch);
	if (tpm2) {
		for (int i = 0; i < 3; i++) {
			if ((r = nv_read2(&m, eks[i].index, &cert[i])) < 0)
				goto broken;
			if (eks[i].ek == MF_EK_ECCP384 && cert[i].len == 0)
				continue; /* only swtpm's P-384 EK, when it has a cert */
			r = create_ek(&m, eks[i].ek, &pub);
			if (r == 0 && pkey_pub_der(pub, &spki[i]) != 0)
				r = VERR_FORMAT;
			EVP_PKEY_free(pub);
			pub = NULL;
			if (r != 0 && r != VERR_TPM)
				goto broken;
			if (spki[i].len == 0 && cert[i].len == 0)
				continue;
			struct ekinfo_entry e = { eks[i].kind, spki[i].d, spki[i].len, cert[i].d,
						  cert[i].len };
			if (ekinfo_set(&ei, &e) != 0)
				goto broken;
		}
	} else {
		uint8_t nonce[20];
		const uint8_t *der;
		size_t dlen;

		if (crypto_random(nonce, sizeof(nonce)) != 0 ||
		    hdr(&m.cmd, TAG12_RQU, ORD12_READ_PUBEK) != 0 ||
		    buf_put_bytes(&m.cmd, nonce, sizeof(nonce)) != 0)
			goto broken;
		/* Readable only while the TPM has no owner. */
		if ((r = call(&m, "TPM_ReadPubek")) == 0) {
			if (mf_parse_pubek12(m.resp.d, m.resp.len, nonce, &pub) != 0 ||
			    pkey_pub_der(pub, &spki[0]) != 0)
				goto broken;
		} else if (r != VERR_TPM) {
			goto broken;
		}
		if ((r = nv_read12(&m, MF_NV_EKCERT_TPM12, &raw)) < 0)
			goto broken;
		if (r == 0 && mf_tcg12_unwrap(raw.d, raw.len, &der, &dlen) == 0 &&
		    buf_put_bytes(&cert[0], der, dlen) != 0)
			goto broken;
		if (spki[0].len != 0 || cert[0].len != 0) {
			struct ekinfo_entry e = { EKINFO_RSA12, spki[0].d, spki[0].len, cert[0].d,
						  cert[0].len };
			if (ekinfo_set(&ei, &e) != 0)
				goto broken;
		}
	}
	if (ei.n != 0 && ekinfo_encode(&ei, ekinfo) != 0)
		goto broken;
	r = 0;
	goto out;
broken:
	seterr(err, errlen, "reading the EK failed: %s", scratch);
	r = VERR_FORMAT;
out:
	EVP_PKEY_free(pub);
	for (int i = 0; i < 3; i++) {
		buf_free(&spki[i]);
		buf_free(&cert[i]);
	}
	buf_free(&raw);
	mf_free(&m);
	return r;
}
