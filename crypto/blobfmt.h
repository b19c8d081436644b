/*
 * blobfmt.h - the sealed on-disk format of every vTPM blob and of the
 * manifest.  Pure functions: no I/O, so they are unit-tested and fuzzed
 * directly.  Trusts nothing it parses.
 *
 * Sealed file ("envelope"), all integers big-endian:
 *   magic   8  "VTPMSEAL"
 *   version u16 = 1
 *   kind    u8  1 = vTPM blob, 2 = manifest, 3 = host secret
 *   namelen u8  1..NV_NAME_MAX
 *   name    namelen bytes ("permall", "volatilestate", "savestate", "manifest")
 *   uuid    16  the vTPM's UUID (all zero for the manifest)
 *   gen     u64 generation (blob) or sequence number (manifest)
 *   nonce   12  random per write
 *   ctlen   u32 ciphertext length, <= SEAL_CT_MAX
 *   ct      ctlen bytes
 *   tag     16  GCM tag
 * The AAD is every byte from magic through ctlen, so kind, name, uuid and
 * generation are authenticated: a blob cannot be moved to another vTPM or
 * name, or have its generation edited.  The file must be exactly
 * header + ctlen + 16 bytes long.
 *
 * Keys (HKDF-SHA256 over the 32-byte master key, salt "vtpm-manager/v1"):
 *   blob key of a vTPM: info = "blob-key" || uuid
 *   manifest key:       info = "manifest-key"
 *
 * Manifest plaintext, version 2 (written since issue 9):
 *   magic u32 "VMF2" | count u32 (<= MANIFEST_MAX_ENTRIES) |
 *   next_instance u32, then per entry:
 *   len u16 (bytes that follow in this entry, >= MANIFEST_V2_ENTRY_MIN) |
 *   uuid 16 | instance u32 | tpm_version u8 (2 = TPM 2.0, 1 = TPM 1.2) |
 *   gen[3] u64 (permall, volatilestate, savestate) | created u64 |
 *   updated u64 (Unix seconds) | flags u32 (MF_*) | owner_uid u32 |
 *   owner_gid u32 (MANIFEST_NO_OWNER: none) | len - MANIFEST_V2_ENTRY_MIN
 *   bytes a later version may add, skipped on reading.
 * Version 1 (no magic; count u32 first, never 0x564d4632 since that is over
 * MANIFEST_MAX_ENTRIES) had the fixed entries uuid .. updated only; it is
 * read with flags 0 (which state files exist is not known) and no owner.
 */
#ifndef VTPM_CRYPTO_BLOBFMT_H
#define VTPM_CRYPTO_BLOBFMT_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/uuid.h"

#define SEAL_MAGIC "VTPMSEAL"
#define SEAL_VERSION 1
#define SEAL_KIND_BLOB 1
#define SEAL_KIND_MANIFEST 2
#define SEAL_KIND_SECRET 3 /* a host secret: CA or transport private key (manager/provision.c) */
#define SEAL_CT_MAX (8u * 1024 * 1024) /* a manifest of 65536 entries fits */
#define SEAL_NAME_MAX 32
#define SEAL_FILE_MAX (SEAL_CT_MAX + 128)
#define MANIFEST_MAX_ENTRIES 65536u

/*
 * Functions return 0 or a negative VERR_* (util/err.h).  blobfmt_open:
 * VERR_FORMAT malformed (magic, version, lengths), VERR_AUTH the tag does
 * not verify, VERR_MISMATCH authentic but for another uuid, name or kind;
 * any of them: VERR_NOMEM, VERR_CRYPTO.
 */

enum blob_index { BLOB_PERMALL = 0, BLOB_VOLATILE = 1, BLOB_SAVESTATE = 2, BLOB_COUNT = 3 };

/* "permall" -> BLOB_PERMALL etc.; -1 for any other name. */
int blob_index_of(const char *name, size_t len);
const char *blob_name(enum blob_index i);

/* Derives the per-vTPM blob key or the manifest key (uuid NULL). */
int blobfmt_derive_key(const uint8_t master[32], const uint8_t *uuid, uint8_t out[32]);

/* Appends the sealed envelope for pt to out. */
int blobfmt_seal(const uint8_t key[32], uint8_t kind, const char *name,
		 const uint8_t uuid[UUID_LEN], uint64_t gen, const uint8_t *pt, size_t ptlen,
		 struct buf *out) __attribute__((warn_unused_result));
/*
 * Parses and opens an envelope; checks that kind, name and uuid are the
 * expected ones.  On success appends the plaintext to pt and sets *gen.
 */
int blobfmt_open(const uint8_t key[32], uint8_t kind, const char *name,
		 const uint8_t uuid[UUID_LEN], const uint8_t *file, size_t filelen,
		 struct buf *pt, uint64_t *gen) __attribute__((warn_unused_result));

/* manifest_entry.flags */
#define MF_HAS(idx) (1u << (idx))   /* blob idx exists (saved, not deleted) */
#define MF_HAS_MASK ((1u << BLOB_COUNT) - 1)
#define MF_PRESENCE_KNOWN (1u << 7) /* the MF_HAS bits are meaningful */
#define MF_KNOWN_MASK (MF_HAS_MASK | MF_PRESENCE_KNOWN)
#define MANIFEST_NO_OWNER UINT32_MAX
#define MANIFEST_V2_MAGIC 0x564d4632u /* "VMF2" */
#define MANIFEST_V2_ENTRY_MIN (UUID_LEN + 4 + 1 + 8 * BLOB_COUNT + 8 + 8 + 4 + 4 + 4)

struct manifest_entry {
	uint8_t uuid[UUID_LEN];
	uint32_t instance;
	uint8_t tpm_version; /* 2 or 1 */
	uint64_t gen[BLOB_COUNT];
	uint64_t created;
	uint64_t updated;
	uint32_t flags;     /* MF_*; bits this version does not know are kept */
	uint32_t owner_uid; /* who may use the vTPM's sockets; MANIFEST_NO_OWNER: socket_group */
	uint32_t owner_gid;
};

struct manifest {
	uint64_t seq;
	uint32_t next_instance;
	uint32_t count;
	struct manifest_entry *e; /* malloc'd, count entries */
};

int manifest_encode(const struct manifest *m, struct buf *out) __attribute__((warn_unused_result));
/* Decodes exactly len bytes; rejects duplicates (uuid or instance). */
int manifest_decode(const uint8_t *p, size_t len, struct manifest *m)
	__attribute__((warn_unused_result));
void manifest_free(struct manifest *m);

#endif
