/*
 * tpm2_sealed.h - the TPM 2.0 sealed blob: the bytes tpm2_host_seal
 * appends and tpm2_host_unseal takes (inside master.sealed, see
 * host_seal.c).  Building and parsing only: no ESYS context, no TPM, no
 * I/O, so the format can be fuzzed (tests/fuzz/fuzz_tpm2_sealed.c) and
 * unit-tested (tests/unit/check_tpm2_sealed.c) on its own.
 *
 * Owns: nothing beyond the struct it fills.  Trusts: nothing in a blob.
 * Every length in it is checked here, exactly: each sized field must be
 * present in full, the public area must consume exactly its TPM2B size,
 * and nothing may follow the private area.  A blob that parses describes
 * only what tpm2_host_seal makes (a keyed-hash data object whose
 * authorisation agrees with the header's PCR mask); whether it belongs to
 * this TPM is the TPM's to say.
 *
 * Version 1 (all integers big-endian; no trailing bytes):
 *
 *   off  size  field
 *   0    4     magic "VT2S"
 *   4    2     version = 1
 *   6    1     parent kind: 1 = persistent SRK at 0x81000001,
 *                           2 = transient primary from the SRK template
 *   7    1     reserved, 0
 *   8    4     PCR mask: bit i = PCR i of the sha256 bank (bits 24..31 zero);
 *              0 = no PCR policy
 *   12   2+n   TPM2B_NAME of the parent at seal time (2 <= n <= 68)
 *   ..   2+n   TPM2B_PUBLIC of the sealed object (tss2_mu marshalling)
 *   ..   2+n   TPM2B_PRIVATE of the sealed object (1 <= n <= its buffer)
 *
 * The parent's Name is recorded so unseal can tell "another TPM / cleared
 * TPM" from everything else without handing the blob to a key it was not
 * made under, and so the salt key is authenticated (the Name binds the
 * public key the session salt is encrypted to).
 *
 * Functions return 0 or a negative VERR_* (util/err.h) with a
 * one-line reason in err.
 */
#ifndef VTPM_TCS_TPM2_SEALED_H
#define VTPM_TCS_TPM2_SEALED_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#include "util/err.h"
#include "util/buf.h"

#define TPM2_SEALED_MAGIC "VT2S"
#define TPM2_SEALED_VERSION 1
#define TPM2_SEALED_HDR_LEN 12
#define TPM2_SEALED_PARENT_PERSISTENT 1
#define TPM2_SEALED_PARENT_PRIMARY 2
#define TPM2_SEALED_PCR_MASK_ALL 0x00ffffffu
/* No blob is longer: header plus the three TPM2Bs at their largest. */
#define TPM2_SEALED_MAX                                                                    \
	(TPM2_SEALED_HDR_LEN + sizeof(TPM2B_NAME) + sizeof(TPM2B_PUBLIC) +                 \
	 sizeof(TPM2B_PRIVATE))

struct tpm2_sealed {
	uint8_t kind;       /* TPM2_SEALED_PARENT_* */
	uint32_t mask;      /* PCR mask, 0 = none */
	TPM2B_NAME pname;   /* the parent's Name at seal time */
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
};

/*
 * Appends the version 1 blob for s to out, in one write: out is left as it
 * was unless the whole blob fits.  VERR_INVAL when a field cannot be
 * marshalled, VERR_NOSPACE when out is too small.  Does not check s the way parse does:
 * it writes what tpm2_host_seal was given by the TPM.
 */
int tpm2_sealed_put(const struct tpm2_sealed *s, struct buf *out, char *err, size_t errlen);

/*
 * Parses blob[0..len) into s (zeroed first; on failure s holds nothing
 * that should be used).  VERR_FORMAT, with the field named in err, for
 * anything but exactly the layout above with a header whose values are
 * defined and a public area of the kind tpm2_host_seal makes.  For every
 * blob it accepts, tpm2_sealed_put(s) writes back the same bytes.
 */
int tpm2_sealed_parse(const uint8_t *blob, size_t len, struct tpm2_sealed *s, char *err,
		      size_t errlen);

#endif
