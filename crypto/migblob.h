/*
 * migblob.h - the migration envelope: how a vTPM's libtpms state blob
 * leaves this host in GET_STATEBLOB and comes back in SET_STATEBLOB
 * (QEMU carries it in its migration stream; docs/PROTOCOLS.md "Migration
 * blobs").  Pure functions: no I/O, so they are unit-tested directly.
 * Trusts nothing it parses.
 *
 * Envelope, all integers big-endian:
 *   magic   8   "VTPMMIG1"
 *   version u16 = 1
 *   type    u8  1 permanent, 2 volatile, 3 savestate (swtpm's blob types)
 *   flags   u8  bit 0 (MIGBLOB_FLAG_ENCRYPTED); no other bit may be set
 *   uuid    16  the vTPM's UUID (migration keeps it: the destination vTPM
 *               is created with the same UUID)
 *   length  u32 plaintext length, 1..MIGBLOB_PT_MAX
 * then, when flags = 0 (no migration key: integrity only, like swtpm's
 * unencrypted blobs; anyone can recompute the digest):
 *   pt      length bytes
 *   digest  32  SHA-256(header || pt)
 * or, when flags = ENCRYPTED (a migration key shared by the hosts):
 *   nonce   12  random per envelope
 *   ct      length bytes  AES-256-GCM, AAD = the 32-byte header
 *   tag     16
 * The envelope must be exactly header + body bytes long.  The GCM key is
 * HKDF-SHA256(migration key, salt "vtpm-manager/v1", info "migration-key");
 * type and uuid are authenticated through the AAD.
 */
#ifndef VTPM_CRYPTO_MIGBLOB_H
#define VTPM_CRYPTO_MIGBLOB_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/uuid.h"

#define MIGBLOB_MAGIC "VTPMMIG1"
#define MIGBLOB_VERSION 1
#define MIGBLOB_TYPE_PERMANENT 1
#define MIGBLOB_TYPE_VOLATILE 2
#define MIGBLOB_TYPE_SAVESTATE 3
#define MIGBLOB_FLAG_ENCRYPTED 0x01
#define MIGBLOB_HDR_LEN 32
#define MIGBLOB_DIGEST_LEN 32
/* header + digest (plain) or header + nonce + tag (encrypted) */
#define MIGBLOB_OVERHEAD_PLAIN (MIGBLOB_HDR_LEN + MIGBLOB_DIGEST_LEN)
#define MIGBLOB_OVERHEAD_SEALED (MIGBLOB_HDR_LEN + 12 + 16)
#define MIGBLOB_OVERHEAD_MAX MIGBLOB_OVERHEAD_PLAIN
#define MIGBLOB_PT_MAX (1024u * 1024)
#define MIGBLOB_KEY_LEN 32

#define MIGBLOB_E_FORMAT (-20)   /* malformed: magic, version, type, flags, lengths */
#define MIGBLOB_E_MISMATCH (-21) /* well formed, but for another blob type or vTPM */
#define MIGBLOB_E_KEYMODE (-22)  /* encrypted without a key here, or plain with one */
#define MIGBLOB_E_AUTH (-23)     /* digest or tag mismatch: modified, or wrong key */
#define MIGBLOB_E_NOMEM (-24)
#define MIGBLOB_E_CRYPTO (-25)

/* Derives the envelope key from the configured 32-byte migration key. */
int migblob_derive_key(const uint8_t migration_key[MIGBLOB_KEY_LEN],
		       uint8_t out[MIGBLOB_KEY_LEN]) __attribute__((warn_unused_result));

/* Size of the envelope for ptlen plaintext bytes. */
size_t migblob_wrapped_len(int encrypted, size_t ptlen);

/*
 * Appends the envelope of pt (1..MIGBLOB_PT_MAX bytes) to out: encrypted
 * under key (from migblob_derive_key) when key is not NULL, else plain with
 * its digest.  On failure out is as it was.
 */
int migblob_wrap(const uint8_t *key, uint8_t type, const uint8_t uuid[UUID_LEN],
		 const uint8_t *pt, size_t ptlen, struct buf *out)
	__attribute__((warn_unused_result));

/*
 * Parses exactly len bytes as an envelope of the expected type for the
 * vTPM uuid and verifies it: with key (not NULL) it must be encrypted and
 * authentic under that key; without one it must be plain with a correct
 * digest.  On success appends the plaintext to pt; on failure pt is as it
 * was and nothing of the envelope's body was appended.
 */
int migblob_unwrap(const uint8_t *key, uint8_t type, const uint8_t uuid[UUID_LEN],
		   const uint8_t *env, size_t len, struct buf *pt)
	__attribute__((warn_unused_result));

/* A short description of a MIGBLOB_E_* code, for logs. */
const char *migblob_strerror(int err);

#endif
