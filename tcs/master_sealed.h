/*
 * master_sealed.h - the container format of <state-dir>/master.sealed:
 * building it, parsing its layout and checking its MAC.  No TPM and no
 * I/O, so it can be fuzzed (tests/fuzz/fuzz_master_sealed.c) and
 * unit-tested on its own; tcs/host_seal.c reads and writes the file and
 * talks to the TPM.
 *
 * Owns: nothing beyond what it is handed.  Trusts: nothing in a file.
 * Parsing checks the layout exactly (magic, version, every header value
 * defined, the blob length equal to what the file holds between header and
 * MAC); the header is authentic only once master_sealed_verify has checked
 * the MAC with the master key the TPM unsealed from the blob, so until
 * then its values may only choose what to ask the TPM, never be relied on.
 *
 * Layout, version 1 (big-endian; no trailing bytes):
 *
 *   off  size  field
 *   0    8     magic "VTPMHKEY"
 *   8    2     version = 1
 *   10   1     TPM version: 2 = TPM 2.0, 1 = TPM 1.2
 *   11   1     flags: bit 0 = the TPM 1.2 owner auth is the well-known
 *              value; other bits zero
 *   12   4     PCR mask the blob is sealed to (bit i = PCR i, 0..23)
 *   16   4     rollback counter: TPM 2.0 NV index or TPM 1.2 counter id
 *   20   4     bloblen (>= 1)
 *   24   n     the TPM's sealed blob (tcs/tpm2_sealed.h, or a TPM 1.2
 *              TPM_STORED_DATA)
 *   24+n 32    HMAC-SHA256 over bytes 0..24+n, keyed with
 *              HKDF-SHA256(master, salt "vtpm-manager/v1", info "host-header")
 *
 * Functions return 0 or a negative VERR_* (util/err.h) with a
 * one-line reason in err.
 */
#ifndef VTPM_TCS_MASTER_SEALED_H
#define VTPM_TCS_MASTER_SEALED_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/buf.h"

#define MASTER_SEALED_MAGIC "VTPMHKEY"
#define MASTER_SEALED_VERSION 1
#define MASTER_SEALED_HDR_LEN 24
#define MASTER_SEALED_MAC_LEN 32
#define MASTER_SEALED_FILE_MAX 8192
#define MASTER_SEALED_BLOB_MAX                                                             \
	(MASTER_SEALED_FILE_MAX - MASTER_SEALED_HDR_LEN - MASTER_SEALED_MAC_LEN)
#define MASTER_SEALED_FLAG_OWNER_WELL_KNOWN 0x01u
#define MASTER_SEALED_PCR_MASK_ALL 0x00ffffffu
#define MASTER_SEALED_KEY_LEN 32

struct master_sealed {
	uint8_t tpm_version;    /* 2, or 1 = TPM 1.2 */
	uint8_t flags;          /* MASTER_SEALED_FLAG_* */
	uint32_t pcr_mask;
	uint32_t counter_index;
	const uint8_t *blob;    /* parse: points into the file */
	size_t bloblen;
};

/*
 * Parses file[0..len) into m.  VERR_FORMAT for anything but exactly the
 * layout above with defined values (len <= MASTER_SEALED_FILE_MAX).  The
 * MAC is not checked here: that needs the key inside the blob.
 */
int master_sealed_parse(const uint8_t *file, size_t len, struct master_sealed *m, char *err,
			size_t errlen);

/*
 * Checks the trailing MAC of a file master_sealed_parse accepted, with the
 * master key unsealed from its blob (constant-time compare).
 * VERR_AUTH when it does not verify (VERR_FORMAT for a file too short to
 * hold one).
 */
int master_sealed_verify(const uint8_t *file, size_t len,
			 const uint8_t master[MASTER_SEALED_KEY_LEN], char *err, size_t errlen);

/*
 * Appends header | m->blob | MAC (keyed from master) to out, in one write:
 * out is left as it was unless the whole file fits.  VERR_INVAL for
 * values the layout cannot hold (the same ones parse refuses), VERR_NOSPACE
 * when out cannot take the file.  For any
 * file parse accepts and verify passes with master, this writes back the
 * same bytes.
 */
int master_sealed_put(const struct master_sealed *m, const uint8_t master[MASTER_SEALED_KEY_LEN],
		      struct buf *out, char *err, size_t errlen);

#endif
