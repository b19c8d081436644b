/*
 * tpm12_host.h - the host's TPM 1.2, through this project's own TCS (no
 * TrouSerS): raw command transport, OIAP/OSAP sessions with HMAC-SHA1
 * authorisation, TakeOwnership, Seal/Unseal under the SRK, GetRandom and a
 * monotonic counter.
 *
 * Owns: a transport (tcs/tpm12_transport.h: the fd, timeouts, framing,
 * resends on TPM_RETRY) and any open auth sessions (closed before each call
 * returns).  Trusts: nothing in a response until its length has been checked
 * against its header and, for authorised commands, its HMAC verified.
 * Functions return 0 or a negative VERR_* (util/err.h), reason in err.
 */
#ifndef VTPM_TCS_TPM12_HOST_H
#define VTPM_TCS_TPM12_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/buf.h"

#define TPM12_AUTH_LEN 20

struct tpm12_host;

/* where: "device:/dev/tpm0" (write one command, read one response) or
 * "swtpm:path=S" / "swtpm:host=H,port=P" (a swtpm data socket). */
int tpm12_host_open(const char *where, struct tpm12_host **out, char *err, size_t errlen);
void tpm12_host_close(struct tpm12_host *t);

/* Sends one command and returns the response (the transport for probing). */
int tpm12_host_transmit(struct tpm12_host *t, const uint8_t *cmd, size_t cmdlen, uint8_t *resp,
			size_t *resplen, size_t cap, char *err, size_t errlen);
int tpm12_host_manufacturer(struct tpm12_host *t, char out[5], char *err, size_t errlen);
int tpm12_host_random(struct tpm12_host *t, uint8_t *out, size_t len, char *err, size_t errlen);

/* 1 when the TPM has an owner, 0 when not (TPM_CAP_PROP_OWNER). */
int tpm12_host_owned(struct tpm12_host *t, int *owned, char *err, size_t errlen);
/* TakeOwnership with the given owner and SRK auths: both RSA-OAEP (SHA-1,
 * label "TCPA") encrypted to the EK read with TPM_ReadPubek, over OIAP. */
int tpm12_host_take_ownership(struct tpm12_host *t, const uint8_t owner_auth[TPM12_AUTH_LEN],
			      const uint8_t srk_auth[TPM12_AUTH_LEN], char *err, size_t errlen);

/* TPM_Seal under the SRK (OSAP with srk_auth), bound with TPM_PCR_INFO to the
 * current values of pcr_mask's PCRs (0 = no PCR binding).  Appends the
 * TPM_STORED_DATA blob to out. */
int tpm12_host_seal(struct tpm12_host *t, const uint8_t srk_auth[TPM12_AUTH_LEN],
		    const uint8_t *secret, size_t len, uint32_t pcr_mask, struct buf *out,
		    char *err, size_t errlen);
/* TPM_Unseal (two OIAP sessions: SRK and data auth). VERR_WRONG_TPM when the
 * blob is not this TPM's, VERR_PCR when PCRs differ, VERR_TPM_AUTH for a
 * wrong SRK auth. */
int tpm12_host_unseal(struct tpm12_host *t, const uint8_t srk_auth[TPM12_AUTH_LEN],
		      const uint8_t *blob, size_t bloblen, uint8_t *secret, size_t *len,
		      size_t cap, char *err, size_t errlen);

/* Monotonic counters (owner-authorised create; counter-auth increment). */
int tpm12_host_counter_create(struct tpm12_host *t, const uint8_t owner_auth[TPM12_AUTH_LEN],
			      const uint8_t counter_auth[TPM12_AUTH_LEN], uint32_t *id,
			      uint64_t *value, char *err, size_t errlen);
int tpm12_host_counter_read(struct tpm12_host *t, uint32_t id, uint64_t *value, char *err,
			    size_t errlen);
int tpm12_host_counter_increment(struct tpm12_host *t, uint32_t id,
				 const uint8_t counter_auth[TPM12_AUTH_LEN], uint64_t *value,
				 char *err, size_t errlen);

#endif
