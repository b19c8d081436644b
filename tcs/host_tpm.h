/*
 * host_tpm.h - the version-neutral host-TPM API (the seed's TCS layer): it
 * yields the manager's 32-byte master key, creating and sealing it on first
 * start.  Implementations: keyfile (no TPM; this file), and in later work the
 * TPM 2.0 (tpm2-tss) and TPM 1.2 (own TCS) sealers.
 *
 * SPEC strings: "keyfile:PATH".  Functions return 0 or -1 with a one-line
 * reason in err that tells the operator what to do.
 */
#ifndef VTPM_TCS_HOST_TPM_H
#define VTPM_TCS_HOST_TPM_H

#include <stddef.h>
#include <stdint.h>

enum host_tpm_kind { HOST_TPM_KEYFILE = 1 };

struct host_tpm {
	enum host_tpm_kind kind;
	char path[4096];
};

int host_tpm_parse(const char *spec, struct host_tpm *h, char *err, size_t errlen);
/*
 * Produces the master key.  keyfile: reads PATH (exactly 32 bytes, a regular
 * file not readable by group or others); when PATH does not exist, creates
 * it (mode 0600, O_EXCL) from fresh randomness.  Never overwrites a key.
 */
int host_tpm_master_key(struct host_tpm *h, uint8_t key[32], int *created, char *err,
			size_t errlen);
const char *host_tpm_describe(const struct host_tpm *h);

#endif
