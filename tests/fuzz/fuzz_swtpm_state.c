/*
 * fuzz_swtpm_state.c - crypto/swtpm_state.c: swtpm state files as
 * `vtpmctl import-swtpm` reads them (swtpm_state_decode) and swtpm key
 * files (swtpm_key_parse).
 *
 * Input: u8 flags | bytes.  flags bit 0: decode with a key; bit 1: the key
 * is 128-bit (else 256); bit 2 "fix up": when the bytes have the shape of
 * an encrypted file, the harness recomputes its HMAC under the key so the
 * fuzzer reaches decryption and the padding check; bit 3: the bytes are a
 * key file (swtpm_key_parse, format from bits 4-5); bit 6: encode the
 * bytes as a state file (plain, or under the key) and decode it again.
 * Invariants: the output is never longer than the file; a failure appends
 * nothing; an encrypted file decodes only under its key with a correct
 * HMAC and padding; a key file gives 16 or 32 bytes; encode -> decode is
 * the identity.
 */
#include "tests/fuzz/common.h"
#include "crypto/swtpm_state.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

static const uint8_t key32[32] = { 0x6b, 0x65, 0x79, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
				   16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31 };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

/* Finds TLV tag in the file's body; pointer to its value or NULL. */
static uint8_t *
find_tlv(uint8_t *f, size_t len, uint16_t tag, uint32_t *vlen)
{
	size_t at = 10;

	while (len >= 6 && at <= len - 6) {
		uint32_t l = be32_get(f + at + 2);

		if (l > len - at - 6)
			return NULL;
		if (be16_get(f + at) == tag) {
			*vlen = l;
			return f + at + 6;
		}
		at += 6 + l;
	}
	return NULL;
}

static void
fix_up(uint8_t *f, size_t len, size_t keylen)
{
	uint8_t *ct, *mac, *iv, in[4096 + 64];
	uint32_t ctl = 0, macl = 0, ivl = 0;
	size_t n = 0;

	if (len < 10 || (ct = find_tlv(f, len, 2, &ctl)) == NULL ||
	    (mac = find_tlv(f, len, 3, &macl)) == NULL || macl != 32 || ctl > 4096)
		return;
	iv = find_tlv(f, len, 6, &ivl);
	if (iv != NULL && ivl > 64)
		return;
	memcpy(in, ct, ctl);
	if (iv != NULL)
		memcpy(in + ctl, iv, ivl);
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key32, keylen, in,
		      ctl + (iv != NULL ? ivl : 0), mac, 32, &n) == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t flags, *f, key[SWTPM_KEY_MAX];
	size_t len, keylen, kl = 0;
	struct buf out;
	int r, enc = -1;

	if (size < 1)
		return 0;
	flags = data[0];
	len = size - 1;
	keylen = (flags & 2) ? 16 : 32;
	f = fz_dup(data + 1, len);

	if (flags & 8) {
		r = swtpm_key_parse(f, len, (enum swtpm_key_format)((flags >> 4) & 3) > 2
						     ? SWTPM_KEY_AUTO
						     : (enum swtpm_key_format)((flags >> 4) & 3),
				    key, &kl);
		FZ_CHECK(r == 0 || r == VERR_FORMAT, "key parse error %d", r);
		FZ_CHECK(r != 0 || kl == 16 || kl == 32, "key length %zu", kl);
		free(f);
		return 0;
	}
	if (flags & 4)
		fix_up(f, len, keylen);
	buf_init(&out, SWTPM_STATE_MAX);
	FZ_CHECK(buf_put_bytes(&out, "pre", 3) == 0, "prefill");
	r = swtpm_state_decode(f, len, (flags & 1) ? key32 : NULL, (flags & 1) ? keylen : 0, &out,
			       &enc);
	if (r == 0) {
		FZ_CHECK(out.len > 3 && out.len - 3 <= len, "output of %zu bytes from a %zu-byte file",
			 out.len - 3, len);
		FZ_CHECK(enc == 0 || (flags & 1), "decrypted without a key");
	} else {
		FZ_CHECK(out.len == 3 && memcmp(out.d, "pre", 3) == 0, "failure appended output");
		FZ_CHECK(r == VERR_FORMAT || r == VERR_NOKEY || r == VERR_BADKEY || r == VERR_AUTH ||
				 r == VERR_NOMEM || r == VERR_CRYPTO,
			 "unexpected error %d (%s)", r, verr_str(r));
	}
	buf_free(&out);

	if ((flags & 0x40) && len != 0 && len <= 65536) {
		struct buf file, back;
		uint8_t iv[32];

		memset(iv, flags, sizeof(iv));
		buf_init(&file, SWTPM_STATE_MAX);
		buf_init(&back, SWTPM_STATE_MAX);
		FZ_CHECK(swtpm_state_encode(data + 1, len, (flags & 1) ? key32 : NULL, keylen, iv,
					    &file) == 0, "encode");
		FZ_CHECK(swtpm_state_decode(file.d, file.len, (flags & 1) ? key32 : NULL, keylen,
					    &back, NULL) == 0 &&
				 back.len == len && memcmp(back.d, data + 1, len) == 0,
			 "round trip");
		buf_free(&file);
		buf_free(&back);
	}
	free(f);
	return 0;
}
