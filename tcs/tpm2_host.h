/*
 * tpm2_host.h - the host's TPM 2.0, through tpm2-tss (ESAPI + tctildr).
 *
 * Owns: one ESYS context and its TCTI.  Trusts: the TPM's responses only
 * after tpm2-tss has unmarshalled them (and, for the unseal, only over a
 * salted, encrypted session bound to a key the TPM itself created).
 * Every transient handle it creates is flushed before the call returns, so a
 * TPM without a resource manager never runs out of object slots.
 * Functions return 0 or a negative VERR_* code (util/err.h) with a
 * one-line reason in err.
 */
#ifndef VTPM_TCS_TPM2_HOST_H
#define VTPM_TCS_TPM2_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/buf.h"

struct tpm2_host;

/* tcti: a tctildr string, "device:/dev/tpmrm0" or "swtpm:path=S" / "swtpm:host=H,port=P". */
int tpm2_host_open(const char *tcti, struct tpm2_host **out, char *err, size_t errlen);
void tpm2_host_close(struct tpm2_host *t);

/* Manufacturer as 4 ASCII characters (TPM2_PT_MANUFACTURER), NUL-terminated. */
int tpm2_host_manufacturer(struct tpm2_host *t, char out[5], char *err, size_t errlen);
int tpm2_host_random(struct tpm2_host *t, uint8_t *out, size_t len, char *err, size_t errlen);

/*
 * Seals secret (<= 128 bytes) as a keyed-hash object under the storage primary:
 * the persistent SRK at 0x81000001 when present, else a primary created from
 * the standard SRK template (RSA-2048, AES-128-CFB, restricted decrypt; TCG EK
 * credential profile / provisioning guidance).  With pcr_mask != 0 the object
 * is bound by PolicyPCR to the current sha256 values of those PCRs (bit i =
 * PCR i, 0..23).  Appends an opaque blob (public, private, mask, which
 * parent) to out.
 */
int tpm2_host_seal(struct tpm2_host *t, const uint8_t *secret, size_t len, uint32_t pcr_mask,
		   struct buf *out, char *err, size_t errlen);
/*
 * Unseals over a salted session (salt key: the parent) with parameter
 * encryption (AES-128-CFB) on the response, so the secret never crosses the
 * bus in clear.  VERR_WRONG_TPM when the blob does not load under this
 * TPM's parent (another TPM, or a cleared one), VERR_PCR when the PCR
 * policy fails, VERR_FORMAT for a malformed blob.
 */
int tpm2_host_unseal(struct tpm2_host *t, const uint8_t *blob, size_t bloblen, uint8_t *secret,
		     size_t *len, size_t cap, char *err, size_t errlen);

/*
 * A monotonic NV counter (TPM_NT_COUNTER) for rollback protection, owned by
 * the manager through its own authValue (auth, up to 32 bytes; the owner
 * hierarchy's auth is assumed empty, as on a provisioned server).
 * define picks the first free index from 0x01a56000 upward and initialises
 * it (one NV_Increment, as a fresh counter cannot be read); returns the index.
 */
int tpm2_host_counter_define(struct tpm2_host *t, const uint8_t *auth, size_t authlen,
			     uint32_t *index, char *err, size_t errlen);
int tpm2_host_counter_read(struct tpm2_host *t, uint32_t index, uint64_t *value, char *err,
			   size_t errlen);
int tpm2_host_counter_increment(struct tpm2_host *t, uint32_t index, const uint8_t *auth,
				size_t authlen, uint64_t *value, char *err, size_t errlen);
/* Removes the counter (tests, and vtpm-manager uninstall). */
int tpm2_host_counter_undefine(struct tpm2_host *t, uint32_t index, char *err, size_t errlen);

#endif
