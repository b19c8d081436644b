/*
 * host_tpm.h - the version-neutral host-TPM API (the seed's TCS layer): it
 * yields the manager's 32-byte master key and keeps the rollback counter.
 *
 * Kinds (SPEC strings):
 *   device:/dev/tpmrm0, device:/dev/tpm0   the host's TPM (version probed)
 *   swtpm:path=SOCKET, swtpm:host=H,port=P a swtpm socket server (tests)
 *   keyfile:PATH                           no TPM: a plain 32-byte key file
 * With a TPM, the master key is generated on first start (OpenSSL RNG mixed
 * with the TPM's GetRandom), sealed to the TPM (tcs/tpm2_host.c or
 * tcs/tpm12_host.c) and stored as <state-dir>/master.sealed; later starts
 * unseal it.  The parsers (host_tpm_parse*) return 0 or -1; everything
 * else returns 0 or a negative VERR_* (util/err.h).  Either way err gets a
 * one-line reason that tells the operator what to do; the codes a caller
 * may branch on (the daemon's edge adds a hint for some):
 *   VERR_NOTPM      the device or socket is absent or not answering
 *   VERR_BUSY       the TPM stayed busy, or another process holds it
 *   VERR_WRONG_TPM  master.sealed belongs to another TPM (or it was cleared)
 *   VERR_PCR        the PCRs differ from those the key was sealed to
 *   VERR_TPM_AUTH   owner, SRK or counter authorisation refused
 *   VERR_TPM_NOSPACE no NV index or counter available
 *   VERR_TPM        any other refusal by the TPM
 *   VERR_FORMAT     master.sealed, a sealed blob or a response is malformed
 *   VERR_AUTH       master.sealed's header MAC does not verify
 *   VERR_NOENT      the key file or master.sealed is missing over state
 *   VERR_INVAL      a refused key file or a setting that contradicts the
 *                   state (--seal-pcrs), or a call keyfile mode cannot take
 *   VERR_IO, VERR_CRYPTO, VERR_NOMEM, VERR_NOSPACE
 */
#ifndef VTPM_TCS_HOST_TPM_H
#define VTPM_TCS_HOST_TPM_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

enum host_tpm_kind { HOST_TPM_KEYFILE = 1, HOST_TPM_DEVICE = 2, HOST_TPM_SWTPM = 3 };
enum owner_auth_mode { OWNER_AUTH_RANDOM = 0, OWNER_AUTH_WELL_KNOWN = 1, OWNER_AUTH_HEX = 2 };

#define HOST_AUTH_LEN 20      /* TPM 1.2 owner / SRK auth */
#define HOST_SEALED_NAME "master.sealed"

struct host_tpm_opts {
	uint32_t seal_pcrs;              /* bit i = PCR i */
	enum owner_auth_mode owner_mode; /* TPM 1.2 TakeOwnership / counter creation */
	uint8_t owner_auth[HOST_AUTH_LEN];
	int srk_auth_set;                /* else the well-known all-zero SRK auth */
	uint8_t srk_auth[HOST_AUTH_LEN];
};

struct tpm2_host;
struct tpm12_host;

struct host_tpm {
	enum host_tpm_kind kind;
	char path[4096];      /* keyfile path, or the transport ("device:..", "swtpm:..") */
	int tpm_version;      /* 0 keyfile, 1 = TPM 1.2, 2 = TPM 2.0 (probed) */
	char manufacturer[5];
	uint32_t seal_pcrs;   /* as sealed (from master.sealed) */
	int owner_well_known; /* TPM 1.2 owner auth is the well-known value */
	int has_counter;
	uint32_t counter_index;
	uint8_t counter_auth[32];
	size_t counter_auth_len;
	struct tpm2_host *t2;
	struct tpm12_host *t12;
};

/* Parses a SPEC; a NULL or empty spec picks device:/dev/tpmrm0, else
 * device:/dev/tpm0 when present. */
int host_tpm_parse(const char *spec, struct host_tpm *h, char *err, size_t errlen);
/* Parses --owner-auth (random|well-known|hex:40 hex digits) and --srk-auth
 * (well-known|hex:...) into opts. */
int host_tpm_parse_owner_auth(const char *s, struct host_tpm_opts *o, char *err, size_t errlen);
int host_tpm_parse_srk_auth(const char *s, struct host_tpm_opts *o, char *err, size_t errlen);
/* Parses a PCR list "0,2,4,7" into a mask (PCRs 0..23). */
int host_tpm_parse_pcrs(const char *s, uint32_t *mask, char *err, size_t errlen);

/*
 * keyfile kind: reads PATH (exactly 32 bytes, a regular file not readable by
 * group or others); when PATH does not exist, creates it (mode 0600, O_EXCL)
 * from fresh randomness.  Never overwrites a key.
 */
int host_tpm_master_key(struct host_tpm *h, uint8_t key[32], int *created, char *err,
			size_t errlen);

/*
 * Any kind: produces the master key.  state_dirfd is the (locked) state
 * directory that holds master.sealed; state_has_data says it already holds
 * vTPM state, in which case a missing master.sealed (or key file) is an error:
 * a new key is never created over existing state.  On success with a TPM
 * the connection stays open for the counter calls.
 */
int host_tpm_unlock(struct host_tpm *h, const struct host_tpm_opts *o, int state_dirfd,
		    int state_has_data, uint8_t key[32], int *created, char *err, size_t errlen);

/*
 * Recovery (manager/recovery.c): seals the given master key to this TPM
 * as at a first start -- a new rollback counter, the current PCR values
 * of o->seal_pcrs -- and replaces master.sealed.  The connection stays
 * open for the counter calls.
 */
int host_tpm_reseal(struct host_tpm *h, const struct host_tpm_opts *o, int state_dirfd,
		    const uint8_t key[32], char *err, size_t errlen);

int host_tpm_counter_read(struct host_tpm *h, uint64_t *value, char *err, size_t errlen);
int host_tpm_counter_increment(struct host_tpm *h, uint64_t *value, char *err, size_t errlen);
void host_tpm_close(struct host_tpm *h);
const char *host_tpm_describe(const struct host_tpm *h);

#endif
