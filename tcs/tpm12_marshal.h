/*
 * tpm12_marshal.h - the pure half of the TPM 1.2 TCS: wire constants, the
 * SHA-1/HMAC-SHA1 authorisation arithmetic of TPM 1.2 Part 1 §13, command
 * building and response parsing.  No I/O and no randomness: the caller
 * supplies nonces, so every function here can be checked against fixed
 * vectors (tests/unit/check_tpm12_host.c).
 *
 * Owns: nothing beyond the buffers it is handed.  Trusts: nothing in a
 * response; each one is length-checked against its header, its tag checked
 * against the number of sessions the request carried, its authorisation
 * HMACs verified (constant time) before any output parameter is exposed.
 * All structures are big-endian and written/read through util/buf.h.
 * Functions return 0 or a negative VERR_* (util/err.h) with a reason in err.
 */
#ifndef VTPM_TCS_TPM12_MARSHAL_H
#define VTPM_TCS_TPM12_MARSHAL_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/buf.h"

#define TPM12_DIGEST_LEN 20
#define TPM12_NONCE_LEN 20
#define TPM12_SECRET_LEN 20
#define TPM12_NUM_PCRS 24
#define TPM12_PCR_SELECT_BYTES 3
/* authHandle | nonceOdd | continueAuthSession | authValue */
#define TPM12_REQ_AUTH_LEN (4 + TPM12_NONCE_LEN + 1 + TPM12_DIGEST_LEN)
/* nonceEven | continueAuthSession | resAuth */
#define TPM12_RSP_AUTH_LEN (TPM12_NONCE_LEN + 1 + TPM12_DIGEST_LEN)
#define TPM12_MAX_SESSIONS 2

/* Tags (requests: c1 + sessions; responses: c4 + sessions). */
#define TPM12_TAG_RQU 0x00c1
#define TPM12_TAG_RSP 0x00c4

/* Ordinals. */
#define TPM12_ORD_OIAP 0x0000000a
#define TPM12_ORD_OSAP 0x0000000b
#define TPM12_ORD_TAKE_OWNERSHIP 0x0000000d
#define TPM12_ORD_EXTEND 0x00000014
#define TPM12_ORD_PCR_READ 0x00000015
#define TPM12_ORD_SEAL 0x00000017
#define TPM12_ORD_UNSEAL 0x00000018
#define TPM12_ORD_GET_RANDOM 0x00000046
#define TPM12_ORD_GET_CAPABILITY 0x00000065
#define TPM12_ORD_READ_PUBEK 0x0000007c
#define TPM12_ORD_TERMINATE_HANDLE 0x00000096
#define TPM12_ORD_CREATE_COUNTER 0x000000dc
#define TPM12_ORD_INCREMENT_COUNTER 0x000000dd
#define TPM12_ORD_READ_COUNTER 0x000000de

/* Return codes we act on. */
#define TPM12_SUCCESS 0x00
#define TPM12_AUTHFAIL 0x01
#define TPM12_BAD_PARAMETER 0x03
#define TPM12_DEACTIVATED 0x06
#define TPM12_DISABLED 0x07
#define TPM12_DISABLED_CMD 0x08
#define TPM12_INSTALL_DISABLED 0x0b
#define TPM12_INVALID_KEYHANDLE 0x0c
#define TPM12_KEYNOTFOUND 0x0d
#define TPM12_NOSPACE 0x11
#define TPM12_NOSRK 0x12
#define TPM12_NOTSEALED_BLOB 0x13
#define TPM12_OWNER_SET 0x14
#define TPM12_RESOURCES 0x15
#define TPM12_WRONGPCRVAL 0x18
#define TPM12_AUTH2FAIL 0x1d
#define TPM12_DECRYPT_ERROR 0x21
#define TPM12_INVALID_AUTHHANDLE 0x22
#define TPM12_NO_ENDORSEMENT 0x23
#define TPM12_BAD_DATASIZE 0x2b
#define TPM12_BAD_COUNTER 0x45
#define TPM12_RETRY 0x800
#define TPM12_DOING_SELFTEST 0x802
#define TPM12_DEFEND_LOCK_RUNNING 0x803

/* Entity types, handles, key and capability constants (Part 2). */
#define TPM12_ET_OWNER 0x0002
#define TPM12_ET_SRK 0x0004
#define TPM12_KH_SRK 0x40000000
#define TPM12_KH_OWNER 0x40000001
#define TPM12_PID_OWNER 0x0005
#define TPM12_KEY_STORAGE 0x0011
#define TPM12_AUTH_ALWAYS 0x01
#define TPM12_ALG_RSA 0x00000001
#define TPM12_ES_RSAESOAEP_SHA1_MGF1 0x0003
#define TPM12_SS_NONE 0x0001
#define TPM12_CAP_PROPERTY 0x00000005
#define TPM12_CAP_PROP_MANUFACTURER 0x00000103
#define TPM12_CAP_PROP_OWNER 0x00000111
#define TPM12_TAG_COUNTER_VALUE 0x000e
#define TPM12_TAG_STORED_DATA12 0x0016
#define TPM12_TAG_KEY12 0x0028

/* One authorisation session as the caller sees it.  key is the HMAC key:
 * the entity's usage auth for OIAP, the shared secret for OSAP. */
struct tpm12_session {
	uint32_t handle;
	uint8_t nonce_even[TPM12_NONCE_LEN]; /* last nonce from the TPM */
	uint8_t nonce_odd[TPM12_NONCE_LEN];  /* ours, fresh per command */
	uint8_t key[TPM12_SECRET_LEN];
	uint8_t cont;                        /* continueAuthSession */
};

/* A piece of a hashed message (SHA-1 and HMAC take scatter lists). */
struct tpm12_iov {
	const void *p;
	size_t n;
};

/* Wipes a session's key and nonces. */
void tpm12_session_wipe(struct tpm12_session *s);

/* SHA-1 of the concatenation of v[0..n). */
int tpm12_sha1(const struct tpm12_iov *v, size_t n, uint8_t out[TPM12_DIGEST_LEN]);
/* HMAC-SHA1(key, v[0] || ... || v[n-1]) through EVP_MAC. */
int tpm12_hmac_sha1(const uint8_t *key, size_t keylen, const struct tpm12_iov *v, size_t n,
		    uint8_t out[TPM12_DIGEST_LEN]);

/* OSAP shared secret = HMAC(entityAuth, nonceEvenOSAP || nonceOddOSAP). */
int tpm12_osap_secret(const uint8_t entity_auth[TPM12_SECRET_LEN],
		      const uint8_t nonce_even_osap[TPM12_NONCE_LEN],
		      const uint8_t nonce_odd_osap[TPM12_NONCE_LEN],
		      uint8_t out[TPM12_SECRET_LEN]);
/* ADIP encAuth = auth XOR SHA1(sharedSecret || nonceEven). */
int tpm12_enc_auth(const uint8_t shared[TPM12_SECRET_LEN],
		   const uint8_t nonce_even[TPM12_NONCE_LEN], const uint8_t auth[TPM12_SECRET_LEN],
		   uint8_t out[TPM12_SECRET_LEN]);
/* inParamDigest = SHA1(ordinal || params). */
int tpm12_in_digest(uint32_t ordinal, const uint8_t *params, size_t len,
		    uint8_t out[TPM12_DIGEST_LEN]);
/* outParamDigest = SHA1(returnCode || ordinal || params). */
int tpm12_out_digest(uint32_t rc, uint32_t ordinal, const uint8_t *params, size_t len,
		     uint8_t out[TPM12_DIGEST_LEN]);
/* HMAC(key, digest || nonceEven || nonceOdd || continueAuthSession). */
int tpm12_auth_hmac(const uint8_t key[TPM12_SECRET_LEN], const uint8_t digest[TPM12_DIGEST_LEN],
		    const uint8_t nonce_even[TPM12_NONCE_LEN],
		    const uint8_t nonce_odd[TPM12_NONCE_LEN], uint8_t cont,
		    uint8_t out[TPM12_DIGEST_LEN]);

/*
 * Builds a whole command into out (reset first):
 *   tag | size | ordinal | handles | params | one trailer per session
 * The tag is c1 + nsess.  Handles are outside the authorised digest (as
 * Part 3 specifies for key handles); params are inside.  Each session's
 * nonce_odd must already be set; its HMAC is computed here.
 */
int tpm12_build_cmd(struct buf *out, uint32_t ordinal, const uint32_t *handles, size_t nhandles,
		    const uint8_t *params, size_t plen, struct tpm12_session *const *sess,
		    size_t nsess, char *err, size_t errlen);

/* A checked response: params points into the response buffer. */
struct tpm12_resp {
	uint32_t rc;
	const uint8_t *params; /* output parameters (no header, no auth trailers) */
	size_t plen;
};

/*
 * Checks a response to ordinal sent with nsess sessions:
 *  - 10 <= len <= TPM_FRAME_MAX and the header size == len exactly;
 *  - rc == 0: the tag is c4 + nsess and the body holds every trailer, whose
 *    HMAC (key = that session's key, nonceOdd = the request's) must verify;
 *    the sessions' nonce_even become the TPM's new ones;
 *  - rc != 0: only the header is used (the TPM sends no authorisation with
 *    an error); the tag must still be a response tag (c4..c6).
 * Any failure is VERR_FORMAT and r->params is left NULL.
 */
int tpm12_parse_resp(const uint8_t *resp, size_t len, uint32_t ordinal,
		     struct tpm12_session *const *sess, size_t nsess, struct tpm12_resp *r,
		     char *err, size_t errlen);

/* The TPM_KEY the SRK is created from (storage, OAEP, 2048-bit, auth always). */
int tpm12_put_srk_params(struct buf *b);
/* TPM_PCR_SELECTION (sizeOfSelect 3) for a 24-bit PCR mask. */
int tpm12_put_pcr_selection(struct buf *b, uint32_t mask);
/* SHA1(TPM_PCR_COMPOSITE): selection | valueSize | the selected values in
 * index order; values[i] is PCR i (only the selected ones are read). */
int tpm12_pcr_composite_digest(uint32_t mask, const uint8_t (*values)[TPM12_DIGEST_LEN],
			       uint8_t out[TPM12_DIGEST_LEN]);
/* TPM_PCR_INFO: selection | digestAtRelease | digestAtCreation. */
int tpm12_put_pcr_info(struct buf *b, uint32_t mask, const uint8_t digest[TPM12_DIGEST_LEN]);

/*
 * TPM_ReadPubek output: parses the TPM_PUBKEY (RSA only) at the start of
 * params, checks checksum == SHA1(TPM_PUBKEY || antiReplay) and that nothing
 * follows.  n points into params; e is the public exponent (65537 when the
 * key's exponentSize is 0).
 */
int tpm12_parse_pubek(const uint8_t *params, size_t plen,
		      const uint8_t anti_replay[TPM12_NONCE_LEN], const uint8_t **n, size_t *nlen,
		      uint32_t *e, char *err, size_t errlen);

/* RSA-OAEP (SHA-1, MGF1-SHA-1, label "TCPA" without its NUL, as Part 1
 * §31.1.1 requires for TPM_ES_RSAESOAEP_SHA1_MGF1) of in to the public key
 * (n, e); *outlen = nlen on success. */
int tpm12_oaep_encrypt(const uint8_t *n, size_t nlen, uint32_t e, const uint8_t *in, size_t inlen,
		       uint8_t *out, size_t cap, size_t *outlen, char *err, size_t errlen);

/* Length of the TPM_KEY (1.1 ver form) or TPM_KEY12 at the start of p. */
int tpm12_key_len(const uint8_t *p, size_t len, size_t *outlen);

/* Length of the TPM_STORED_DATA (1.1 ver form, or the 1.2 tagged form) at
 * the start of p, or VERR_FORMAT when it is truncated or malformed. */
int tpm12_stored_data_len(const uint8_t *p, size_t len, size_t *outlen);

/* Reads a TPM_COUNTER_VALUE (tag 0x000e | label[4] | u32 counter). */
int tpm12_get_counter_value(struct buf *b, uint8_t label[4], uint32_t *value);

/* A short name for a TPM 1.2 return code ("TPM_AUTHFAIL"), or NULL. */
const char *tpm12_rc_name(uint32_t rc);

#endif
