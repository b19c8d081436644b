/*
 * migblob.h - the state envelope: how a vTPM's libtpms state blob leaves
 * the manager in GET_STATEBLOB and comes back in SET_STATEBLOB (QEMU
 * carries it in its migration stream and in savevm snapshots;
 * docs/PROTOCOLS.md "State blobs").  Pure functions: no I/O, so they are
 * unit-tested and fuzzed directly.  Trusts nothing it parses.
 *
 * Envelope version 2, all integers big-endian:
 *   magic   8   "VTPMMIG1"
 *   version u16 = 2
 *   type    u8  1 permanent, 2 volatile, 3 savestate (swtpm's blob types)
 *   flags   u8  exactly one of MIGBLOB_FLAG_MIGKEY (sealed under the
 *               migration key the cluster's hosts share) and
 *               MIGBLOB_FLAG_HOSTKEY (sealed under this host's own key,
 *               derived from its master key: it opens on this host only)
 *   uuid    16  the vTPM's UUID (migration keeps it: the destination vTPM
 *               is created with the same UUID)
 *   gen     u64 the vTPM's state generation when the blob was made (its
 *               permall generation), so that loading an older one is seen
 *   length  u32 plaintext length, 1..MIGBLOB_PT_MAX
 *   nonce   12  random per envelope
 *   ct      length bytes  AES-256-GCM, AAD = the 40-byte header
 *   tag     16
 * The envelope must be exactly header + body bytes long.  There is no
 * unauthenticated form any more: a digest anyone can recompute let a
 * control-socket client forge a blob for any vTPM (issue 9).
 *
 * Version 1 envelopes (before issue 9) are still read when they were
 * encrypted under the migration key (flag 0x01, 32-byte header without
 * gen); the plain ones (flags 0, SHA-256 digest) are refused.
 *
 * Keys, HKDF-SHA256 with salt "vtpm-manager/v1":
 *   migration envelope key: IKM = the migration key, info "migration-key"
 *   host envelope key:      IKM = the master key, info "state-blob-key"
 * type, uuid and generation are authenticated through the AAD.
 */
#ifndef VTPM_CRYPTO_MIGBLOB_H
#define VTPM_CRYPTO_MIGBLOB_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/uuid.h"

#define MIGBLOB_MAGIC "VTPMMIG1"
#define MIGBLOB_VERSION 2
#define MIGBLOB_TYPE_PERMANENT 1
#define MIGBLOB_TYPE_VOLATILE 2
#define MIGBLOB_TYPE_SAVESTATE 3
#define MIGBLOB_FLAG_MIGKEY 0x01  /* also version 1's ENCRYPTED */
#define MIGBLOB_FLAG_HOSTKEY 0x02
#define MIGBLOB_HDR_LEN 40
#define MIGBLOB_V1_HDR_LEN 32
#define MIGBLOB_OVERHEAD (MIGBLOB_HDR_LEN + 12 + 16)
#define MIGBLOB_OVERHEAD_MAX MIGBLOB_OVERHEAD
#define MIGBLOB_PT_MAX (1024u * 1024)
#define MIGBLOB_KEY_LEN 32

/*
 * Functions return 0 or a negative VERR_* (util/err.h).  migblob_unwrap:
 *   VERR_FORMAT    malformed: magic, version, type, flags, lengths
 *   VERR_MISMATCH  well formed, but for another blob type or vTPM
 *   VERR_NOKEY     sealed under a migration key, none configured here
 *   VERR_AUTH      tag mismatch: modified, or another migration key
 *   VERR_PLAIN     a version 1 integrity-only blob: forgeable, refused
 *   VERR_OTHERKEY  sealed under a host key that is not ours (or modified:
 *                  the two cannot be told apart)
 * and VERR_NOMEM, VERR_CRYPTO; migblob_wrap: VERR_INVAL for arguments it
 * cannot seal, VERR_NOMEM, VERR_CRYPTO.
 */

/* The keys an envelope may be sealed under. */
struct migblob_keys {
	const uint8_t *migration; /* migration envelope key, NULL when none is configured */
	const uint8_t *host;      /* this host's envelope key; always there */
};

/* Derives the migration envelope key from the configured migration key. */
int migblob_derive_key(const uint8_t migration_key[MIGBLOB_KEY_LEN],
		       uint8_t out[MIGBLOB_KEY_LEN]) __attribute__((warn_unused_result));
/* Derives this host's envelope key from its master key. */
int migblob_derive_host_key(const uint8_t master[32], uint8_t out[MIGBLOB_KEY_LEN])
	__attribute__((warn_unused_result));

/* Size of the envelope for ptlen plaintext bytes. */
size_t migblob_wrapped_len(size_t ptlen);

/*
 * Appends the envelope of pt (1..MIGBLOB_PT_MAX bytes) to out, sealed under
 * k->migration when there is one (the blob may go to another host of the
 * cluster), else under k->host (it opens here only).  gen is the vTPM's
 * state generation.  On failure out is as it was.
 */
int migblob_wrap(const struct migblob_keys *k, uint8_t type, const uint8_t uuid[UUID_LEN],
		 uint64_t gen, const uint8_t *pt, size_t ptlen, struct buf *out)
	__attribute__((warn_unused_result));

/*
 * Parses exactly len bytes as an envelope of the expected type for the
 * vTPM uuid and opens it with whichever of k's keys its flags name.  On
 * success appends the plaintext to pt and sets *gen (0 for a version 1
 * blob, which carries none) and *flags (MIGBLOB_FLAG_*); on failure pt is
 * as it was and nothing of the envelope's body was appended.
 */
int migblob_unwrap(const struct migblob_keys *k, uint8_t type, const uint8_t uuid[UUID_LEN],
		   const uint8_t *env, size_t len, struct buf *pt, uint64_t *gen, uint8_t *flags)
	__attribute__((warn_unused_result));

#endif
