/*
 * fuzz_recovery.c - crypto/recovery.c: <state-dir>/master.recovery as the
 * manager checks it at every start (recovery_check, recovery_peek) and as
 * --recover-with unwraps it (recovery_unwrap), with a P-384 recovery key.
 *
 * Input: u8 flags | bytes.  flags bit 0: the bytes are a file: check,
 * peek and unwrap it as is (nothing random may pass); bit 1: wrap the
 * master key to the recovery key and apply the bytes as an XOR mask to the
 * file: only a zero mask may check or unwrap, and then to the master key.
 */
#include "tests/fuzz/common.h"
#include "crypto/pkey.h"
#include "crypto/recovery.h"
#include "tests/fuzz/fuzz_keys.h"

#include <stdlib.h>
#include <string.h>

static EVP_PKEY *rec;
static uint8_t fp[PKEY_FP_LEN];
static const uint8_t master[32] = { 'm', 'a', 's', 't', 'e', 'r', 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
				    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31 };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if ((rec = pkey_priv_from_der(fz_key_rec, fz_key_rec_len)) == NULL ||
	    pkey_fingerprint(rec, fp) != 0)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t flags, *f, out[32], pfp[PKEY_FP_LEN];
	size_t len;
	int r;

	if (size < 1)
		return 0;
	flags = data[0];
	len = size - 1;
	f = fz_dup(data + 1, len);
	if (flags & 1) {
		r = recovery_check(f, len, master, fp);
		FZ_CHECK(r != 0, "a file nobody wrapped checked");
		r = recovery_peek(f, len, pfp);
		FZ_CHECK(r == 0 || r == VERR_FORMAT, "peek error %d", r);
		r = recovery_unwrap(rec, f, len, out);
		FZ_CHECK(r != 0, "a file nobody wrapped unwrapped");
	}
	if (flags & 2) {
		struct buf w;
		int masked = 0;

		buf_init(&w, RECOVERY_FILE_MAX);
		FZ_CHECK(recovery_wrap(rec, master, &w) == 0, "wrap");
		for (size_t i = 0; i < len && i < w.len; i++) {
			w.d[i] ^= f[i];
			masked |= f[i] != 0;
		}
		memset(out, 0, sizeof(out));
		r = recovery_unwrap(rec, w.d, w.len, out);
		if (masked) {
			FZ_CHECK(r != 0, "a changed file unwrapped");
			FZ_CHECK(recovery_check(w.d, w.len, master, fp) != 0, "a changed file checked");
		} else {
			FZ_CHECK(r == 0 && memcmp(out, master, 32) == 0, "an intact file (%d)", r);
			FZ_CHECK(recovery_check(w.d, w.len, master, fp) == 0, "check of an intact file");
		}
		buf_free(&w);
	}
	free(f);
	return 0;
}
