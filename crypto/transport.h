/*
 * transport.h - the export file that carries a stopped vTPM from one host
 * to another (`vtpmctl export` / `vtpmctl import`).  Pure functions, no
 * I/O, so they are unit-tested and fuzzed directly.  Trusts nothing it
 * parses.
 *
 * Every host has a transport key pair (NIST P-384).  The source encrypts
 * to the destination's public key and authenticates with its own:
 *   Ze = ECDH(ephemeral private, destination public)
 *   Zs = ECDH(source transport private, destination public)
 *   key = HKDF-SHA256(Ze || Zs, salt "vtpm-manager/v1", info "export-key")
 * so only the destination can open the file, and an opened file was made
 * by the holder of the source key named in it (one-pass unified model).
 *
 * File, all integers big-endian:
 *   magic    8  "VTPMXPRT"
 *   version  u16 = 1
 *   tpm      u8  2 (TPM 2.0) or 1 (TPM 1.2)
 *   flags    u8  0
 *   uuid     16  the vTPM's UUID (it keeps it on the destination)
 *   dest_fp  32  SHA-256 of the destination transport key's SPKI
 *   src_len  u16 | src SPKI (source transport public key, P-384)
 *   eph_len  u16 | ephemeral SPKI (P-384)
 *   nonce    12
 *   ctlen    u32 (<= XFER_PT_MAX + 16... see below)
 *   ct       ctlen bytes, AES-256-GCM, AAD = every byte from magic to ctlen
 *   tag      16
 * The file must be exactly that long.  Plaintext:
 *   count u8, then count x { u8 type | u32 len | bytes }: types 1 permall
 *   (required), 2 volatilestate, 3 savestate (the libtpms blobs), 4 ekinfo;
 *   each type at most once, each blob 1..XFER_BLOB_MAX bytes.
 */
#ifndef VTPM_CRYPTO_TRANSPORT_H
#define VTPM_CRYPTO_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "crypto/pkey.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/uuid.h"

#define XFER_MAGIC "VTPMXPRT"
#define XFER_VERSION 1
#define XFER_BLOB_MAX (128u * 1024) /* libtpms' TPM_ALLOC_MAX */
#define XFER_PT_MAX (4 * (5 + XFER_BLOB_MAX) + 1)
#define XFER_FILE_MAX (XFER_PT_MAX + 1024)

enum xfer_type { XFER_PERMALL = 1, XFER_VOLATILE = 2, XFER_SAVESTATE = 3, XFER_EKINFO = 4 };

/*
 * Functions return 0 or a negative VERR_* (util/err.h):
 *   VERR_FORMAT    not an export file, or malformed (transport_payload:
 *                  authentic, but its contents are malformed)
 *   VERR_OTHERKEY  made for another destination key
 *   VERR_AUTH      tag mismatch: modified, or a forged source
 * and VERR_NOMEM, VERR_CRYPTO.
 */

struct xfer_hdr {
	uint8_t tpm_version;
	uint8_t uuid[UUID_LEN];
	uint8_t dest_fp[PKEY_FP_LEN];
	uint8_t src_fp[PKEY_FP_LEN]; /* of the source key in the file */
};

struct xfer_blob {
	uint8_t type;
	const uint8_t *p;
	size_t len;
};

/* Builds the file for blobs[0..n) (appended to out). */
int transport_seal(EVP_PKEY *src_priv, EVP_PKEY *dest_pub, uint8_t tpm_version,
		   const uint8_t uuid[UUID_LEN], const struct xfer_blob *blobs, size_t n,
		   struct buf *out) __attribute__((warn_unused_result));
/* Parses the header only (no key needed): VERR_FORMAT or 0. */
int transport_peek(const uint8_t *file, size_t len, struct xfer_hdr *h)
	__attribute__((warn_unused_result));
/* Checks that the file is for dest_priv's key, authenticates and decrypts
 * it; the plaintext is appended to pt (nothing on failure). */
int transport_open(EVP_PKEY *dest_priv, const uint8_t *file, size_t len, struct xfer_hdr *h,
		   struct buf *pt) __attribute__((warn_unused_result));
/* Splits an opened plaintext; blobs point into pt.  VERR_FORMAT or 0. */
int transport_payload(const uint8_t *pt, size_t len, struct xfer_blob out[4], size_t *n)
	__attribute__((warn_unused_result));

#endif
