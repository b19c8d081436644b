/*
 * swtpm_state.h - reading a swtpm state directory's files (tpm2-00.permall,
 * tpm2-00.volatilestate, tpm-00.savestate, ...) and swtpm's key files, so
 * that `vtpmctl import-swtpm` can adopt a VM's TPM.  Pure functions, no
 * I/O; vtpmctl reads the files and calls these (a malformed file cannot
 * harm the daemon).  Trusts nothing it parses.
 *
 * File format (swtpm >= 0.1, src/swtpm/swtpm_nvstore.c), big-endian:
 *   header: u8 version (2) | u8 min_version (<= 2) | u16 hdrsize (10) |
 *           u16 flags | u32 totlen (== file length)
 *   flags:  0x01 ENCRYPTED (file key), 0x08 ENCRYPTED_256BIT_KEY; the
 *           migration flags (0x02, 0x04, 0x10) never appear in files
 *   then TLVs u16 tag | u32 length | value, filling the file exactly:
 *     plain:     tag 1 DATA = the libtpms blob
 *     encrypted: tag 2 ENCRYPTED_DATA, tag 3 HMAC (32 bytes), tag 6 IV
 *                (key length; absent in old files: zero IV)
 * Encryption: AES-128-CBC or AES-256-CBC (key of 16 or 32 bytes, as the
 * flag says), padded to a multiple of the key length with bytes equal to
 * the pad length; HMAC-SHA256 keyed with the same key over ciphertext || IV
 * (encrypt-then-MAC).  The HMAC is checked, in constant time, before
 * anything is decrypted.
 *
 * Key file (swtpm --key file=F[,format=hex|binary]): hex (32 or 64 digits,
 * optional 0x prefix, then end or whitespace) or raw 16/32 bytes.
 * Passphrase (swtpm --key pwdfile=F, libvirt's): PBKDF2-HMAC-SHA512, salt
 * "swtpm", 1000 iterations, key length 16 or 32 (aes-128-cbc / aes-256-cbc).
 */
#ifndef VTPM_CRYPTO_SWTPM_STATE_H
#define VTPM_CRYPTO_SWTPM_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

#define SWTPM_STATE_MAX (1024u * 1024) /* no libtpms blob comes close */
#define SWTPM_KEY_MAX 32

/*
 * Functions return 0 or a negative VERR_* (util/err.h):
 *   VERR_FORMAT  not a swtpm state file or malformed (header, TLVs, or the
 *                padding behind a good HMAC); for swtpm_key_parse, a key
 *                file that is neither hex nor 16/32 raw bytes
 *   VERR_NOKEY   encrypted, and no key was given
 *   VERR_BADKEY  the file wants a key of another length
 *   VERR_AUTH    HMAC mismatch: the wrong key, or modified
 * and VERR_NOMEM, VERR_CRYPTO.  vtpmctl, the only caller, says which file
 * and which option (--key, --pwdfile) the operator should look at.
 */

enum swtpm_key_format { SWTPM_KEY_AUTO = 0, SWTPM_KEY_HEX = 1, SWTPM_KEY_BINARY = 2 };

/*
 * Decodes one state file of len bytes to the libtpms blob (appended to
 * out).  key/keylen: the file key (NULL/0 when none).  A plain file read
 * with a key given is accepted (*was_encrypted tells, may be NULL).
 */
int swtpm_state_decode(const uint8_t *file, size_t len, const uint8_t *key, size_t keylen,
		       struct buf *out, int *was_encrypted) __attribute__((warn_unused_result));
/* Builds a state file (plain when key is NULL) the way swtpm writes it,
 * with the given IV (keylen bytes); for tests and fuzz corpora. */
int swtpm_state_encode(const uint8_t *blob, size_t len, const uint8_t *key, size_t keylen,
		       const uint8_t *iv, struct buf *out) __attribute__((warn_unused_result));

/* Parses a key file's contents; *keylen is 16 or 32. */
int swtpm_key_parse(const uint8_t *file, size_t len, enum swtpm_key_format fmt,
		    uint8_t key[SWTPM_KEY_MAX], size_t *keylen) __attribute__((warn_unused_result));
/* Derives a key of keylen (16 or 32) bytes from a passphrase file. */
int swtpm_key_from_passphrase(const uint8_t *pw, size_t len, size_t keylen,
			      uint8_t key[SWTPM_KEY_MAX]) __attribute__((warn_unused_result));

#endif
