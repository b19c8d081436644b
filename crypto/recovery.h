/*
 * recovery.h - <state-dir>/master.recovery: the master key wrapped to an
 * operator's offline recovery key, so that the state survives the loss
 * or clearing of the host TPM (vtpm_managerd --recover-with).  Pure
 * functions.  Trusts nothing it parses.
 *
 * File, big-endian:
 *   magic   8  "VTPMRCVR"
 *   version u16 = 1
 *   alg     u8  1 RSA-OAEP (SHA-256, MGF1-SHA-256), 2 ECIES P-384
 *   flags   u8  0
 *   fp      32  SHA-256 of the recovery key's SubjectPublicKeyInfo
 *   wlen    u16 | wrapped (wlen bytes):
 *             RSA: the OAEP ciphertext of the 32-byte master key
 *             P-384: eph_len u16 | ephemeral SPKI | nonce 12 | ct 32 | tag 16,
 *             AES-256-GCM under HKDF-SHA256(ECDH(eph, recovery key),
 *             salt "vtpm-manager/v1", info "recovery-key"), AAD = fp
 *   mac     32  HMAC-SHA256 over everything before it, keyed with
 *               HKDF-SHA256(master, salt "vtpm-manager/v1", info
 *               "recovery-file")
 * The manager (which has the master key but never the private recovery
 * key) checks the MAC at every start and rewrites a stale or damaged
 * file; recovery checks the MAC with the unwrapped key, which proves the
 * unwrap.  RSA keys of 3072 bits or more, and P-384, are accepted.
 */
#ifndef VTPM_CRYPTO_RECOVERY_H
#define VTPM_CRYPTO_RECOVERY_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "crypto/pkey.h"
#include "util/buf.h"
#include "util/err.h"

#define RECOVERY_MAGIC "VTPMRCVR"
#define RECOVERY_NAME "master.recovery"
#define RECOVERY_FILE_MAX 4096
#define RECOVERY_MASTER_LEN 32

/*
 * Functions return 0 or a negative VERR_* (util/err.h):
 *   VERR_FORMAT    not a recovery file, or malformed
 *   VERR_BADKEY    the key is not RSA >= 3072 bits or P-384
 *   VERR_OTHERKEY  wrapped to another recovery key
 *   VERR_AUTH      MAC or unwrap failed: modified, or the wrong key
 *   VERR_CRYPTO    OpenSSL failed
 */

/* 0 when k may be a recovery key, VERR_BADKEY otherwise. */
int recovery_key_ok(const EVP_PKEY *k);
/* Wraps master to the public recovery key; the file is appended to out. */
int recovery_wrap(EVP_PKEY *rec_pub, const uint8_t master[RECOVERY_MASTER_LEN],
		  struct buf *out) __attribute__((warn_unused_result));
/* With the master key at hand: 0 when the file is intact and wrapped to
 * the key with fingerprint fp; VERR_OTHERKEY, VERR_AUTH, VERR_FORMAT. */
int recovery_check(const uint8_t *file, size_t len, const uint8_t master[RECOVERY_MASTER_LEN],
		   const uint8_t fp[PKEY_FP_LEN]) __attribute__((warn_unused_result));
/* The file's recovery-key fingerprint (no key needed). */
int recovery_peek(const uint8_t *file, size_t len, uint8_t fp[PKEY_FP_LEN])
	__attribute__((warn_unused_result));
/* Unwraps with the private recovery key and verifies the MAC. */
int recovery_unwrap(EVP_PKEY *rec_priv, const uint8_t *file, size_t len,
		    uint8_t master[RECOVERY_MASTER_LEN]) __attribute__((warn_unused_result));

#endif
