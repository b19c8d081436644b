/*
 * fuzz_migblob.c - crypto/migblob.c migblob_unwrap(), the parser of the
 * state envelope a control-socket client (QEMU) hands the manager in
 * SET_STATEBLOB (manager/sockets.c), with and without a migration key.
 *
 * Input: u8 flags | envelope.  flags: bit 0 a migration key is configured
 * here; bit 1 "fix up": when the bytes have the shape of a version 2
 * envelope, the harness re-encrypts the body under the key its flags name,
 * so the fuzzer also reaches everything after verification; bits 2-3 the
 * expected blob type (0 means 1); bit 4 the other vTPM's uuid; bit 5 a
 * wrap/unwrap round trip of the input.
 * Invariants: success only for exactly the documented layout with the
 * expected type and uuid and a key this host has; a fixed-up well-formed
 * envelope is accepted; the plaintext is the body; failure leaves pt as it
 * was; a version 1 plain envelope is never accepted; wrap -> unwrap is the
 * identity, and another host cannot open what this one sealed.
 */
#include "tests/fuzz/common.h"
#include "crypto/aead.h"
#include "crypto/migblob.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

static const uint8_t mig_raw[32] = { 0x6d, 0x69, 0x67, 1, 2, 3, 4, 5, 6, 7, 8,
				     9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
				     20, 21, 22, 23, 24, 25, 26, 27, 28, 29 };
static const uint8_t master[32] = { 0x68, 0x6f, 0x73, 0x74, 1, 2, 3, 4, 5, 6, 7, 8,
				    9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
				    21, 22, 23, 24, 25, 26, 27, 28 };
static const uint8_t other_master[32] = { 0x6f, 0x74, 0x68, 0x72 };
static const uint8_t uuid_a[UUID_LEN] = { 0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x43, 0x33,
					  0x84, 0x44, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55 };
static const uint8_t uuid_b[UUID_LEN] = { 0x99, 0x11, 0x11, 0x11, 0x22, 0x22, 0x43, 0x33,
					  0x84, 0x44, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55 };
static uint8_t mig_key[MIGBLOB_KEY_LEN], host_key[MIGBLOB_KEY_LEN], other_key[MIGBLOB_KEY_LEN];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (migblob_derive_key(mig_raw, mig_key) != 0 ||
	    migblob_derive_host_key(master, host_key) != 0 ||
	    migblob_derive_host_key(other_master, other_key) != 0)
		abort();
	return 0;
}

/* Body length a version 2 header announces, or 0. */
static size_t
body_len(const uint8_t *e, size_t len)
{
	return len >= MIGBLOB_HDR_LEN ? be32_get(e + 36) : 0;
}

/* A version 2 envelope of exactly the documented layout whose key this
 * host has. */
static int
well_formed(const uint8_t *e, size_t len, uint8_t type, const uint8_t *uuid, int keyed)
{
	size_t n = body_len(e, len);

	if (len < MIGBLOB_HDR_LEN || memcmp(e, MIGBLOB_MAGIC, 8) != 0 ||
	    be16_get(e + 8) != MIGBLOB_VERSION || e[10] != type ||
	    !(e[11] == MIGBLOB_FLAG_HOSTKEY || (keyed && e[11] == MIGBLOB_FLAG_MIGKEY)) ||
	    memcmp(e + 12, uuid, UUID_LEN) != 0 || n == 0 || n > MIGBLOB_PT_MAX)
		return 0;
	return len == MIGBLOB_HDR_LEN + 12 + n + 16;
}

static void
fix_up(uint8_t *e, size_t len)
{
	const uint8_t *key;

	if (len < MIGBLOB_OVERHEAD || be16_get(e + 8) != MIGBLOB_VERSION)
		return;
	key = e[11] == MIGBLOB_FLAG_MIGKEY ? mig_key : host_key;
	if (aead_seal(key, e + MIGBLOB_HDR_LEN, e, MIGBLOB_HDR_LEN, e + MIGBLOB_HDR_LEN + 12,
		      len - MIGBLOB_OVERHEAD, e + MIGBLOB_HDR_LEN + 12, e + len - 16) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t flags, type, *env, *orig, how = 0;
	const uint8_t *uuid;
	struct migblob_keys k, other;
	struct buf pt, w;
	uint64_t gen = 0;
	size_t len;
	int keyed, ok, r;

	if (size < 1)
		return 0;
	flags = data[0];
	keyed = flags & 1;
	type = (flags >> 2) & 3;
	if (type == 0)
		type = 1;
	uuid = (flags & 0x10) ? uuid_b : uuid_a;
	k = (struct migblob_keys){ keyed ? mig_key : NULL, host_key };
	other = (struct migblob_keys){ NULL, other_key };
	len = size - 1;
	env = fz_dup(data + 1, len);
	orig = fz_dup(data + 1, len);
	if (flags & 2)
		fix_up(env, len);
	ok = well_formed(env, len, type, uuid, keyed);

	buf_init(&pt, MIGBLOB_PT_MAX + 16);
	FZ_CHECK(buf_put_bytes(&pt, "pre", 3) == 0, "prefill");
	r = migblob_unwrap(&k, type, uuid, env, len, &pt, &gen, &how);
	if (r == 0) {
		size_t n = body_len(env, len);

		/* A version 1 sealed envelope may open too (migration key). */
		if (!(len >= 10 && be16_get(env + 8) == 1)) {
			FZ_CHECK(ok, "accepted an envelope that is not exactly the documented layout");
			FZ_CHECK(pt.len == 3 + n && memcmp(pt.d, "pre", 3) == 0, "plaintext length");
			FZ_CHECK(gen == be64_get(env + 28), "generation");
			if (flags & 2)
				FZ_CHECK(memcmp(pt.d + 3, orig + MIGBLOB_HDR_LEN + 12, n) == 0,
					 "plaintext differs from the body");
		} else {
			FZ_CHECK(keyed && env[11] == MIGBLOB_FLAG_MIGKEY, "version 1 %s accepted",
				 env[11] == 0 ? "plain envelope" : "envelope without a key");
		}
	} else {
		FZ_CHECK(r == VERR_FORMAT || r == VERR_MISMATCH ||
				 r == VERR_NOKEY || r == VERR_AUTH ||
				 r == VERR_PLAIN || r == VERR_OTHERKEY,
			 "unexpected error %d (%s)", r, verr_str(r));
		FZ_CHECK(pt.len == 3 && memcmp(pt.d, "pre", 3) == 0, "failed unwrap changed pt");
		FZ_CHECK(!(ok && (flags & 2)), "authentic, well-formed envelope refused (%d: %s)", r,
			 verr_str(r));
	}
	buf_free(&pt);

	/* wrap -> unwrap round trip of the input as a state blob. */
	if ((flags & 0x20) && len != 0) {
		buf_init(&w, MIGBLOB_PT_MAX + 128);
		buf_init(&pt, MIGBLOB_PT_MAX);
		FZ_CHECK(migblob_wrap(&k, type, uuid, len, data + 1, len, &w) == 0, "wrap");
		FZ_CHECK(w.len == migblob_wrapped_len(len), "wrapped length");
		FZ_CHECK(migblob_unwrap(&k, type, uuid, w.d, w.len, &pt, &gen, &how) == 0 &&
				 pt.len == len && memcmp(pt.d, data + 1, len) == 0 && gen == len,
			 "round trip");
		pt.len = 0;
		FZ_CHECK(migblob_unwrap(&other, type, uuid, w.d, w.len, &pt, &gen, &how) != 0,
			 "another host opened this host's envelope");
		buf_free(&w);
		buf_free(&pt);
	}
	free(orig);
	free(env);
	return 0;
}
