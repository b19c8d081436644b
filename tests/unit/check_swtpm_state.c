/*
 * check_swtpm_state.c - crypto/swtpm_state: swtpm state files and key
 * files.  Plain and encrypted (AES-128 and -256) files round-trip; the
 * encrypted layout is the one swtpm writes (header flags, TLV order and
 * lengths, HMAC over ciphertext || IV); a wrong key is AUTH, a missing key
 * NEEDKEY, a key of the other length KEYLEN; a ciphertext with a correct
 * HMAC but bad padding is PAD; every truncation and single-byte change is
 * refused without output; malformed headers and TLVs (bad version, sizes,
 * unknown or repeated tags, migration flags) are FORMAT.  Key files: hex
 * with or without 0x and a newline, raw 16/32 bytes, and junk; the
 * passphrase KDF matches Python's hashlib.pbkdf2_hmac.
 */
#include "unit.h"
#include "crypto/swtpm_state.h"

#include <string.h>

#include <openssl/evp.h>

static const uint8_t key32[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
				   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };
static const uint8_t iv[32] = { 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa,
				0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5,
				0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf };
static uint8_t blob[1111];

static void
fill(void)
{
	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)(i ^ (i >> 3));
}

START_TEST(test_plain)
{
	struct buf f, out;
	int enc = -1;

	fill();
	buf_init(&f, SWTPM_STATE_MAX);
	buf_init(&out, SWTPM_STATE_MAX);
	ck_assert_int_eq(swtpm_state_encode(blob, sizeof(blob), NULL, 0, NULL, &f), 0);
	/* header 02 01 000a 0000 totlen, TLV 1 */
	ck_assert_uint_eq(f.len, 10 + 6 + sizeof(blob));
	ck_assert_mem_eq(f.d, "\x02\x01\x00\x0a\x00\x00", 6);
	ck_assert_int_eq(swtpm_state_decode(f.d, f.len, NULL, 0, &out, &enc), 0);
	ck_assert_int_eq(enc, 0);
	ck_assert_uint_eq(out.len, sizeof(blob));
	ck_assert_mem_eq(out.d, blob, sizeof(blob));
	/* A key given for a plain file is not needed. */
	buf_reset(&out);
	ck_assert_int_eq(swtpm_state_decode(f.d, f.len, key32, 32, &out, &enc), 0);
	ck_assert_int_eq(enc, 0);
	buf_free(&f);
	buf_free(&out);
}
END_TEST

static void
encrypted(size_t keylen)
{
	struct buf f, out;
	uint8_t *copy, wrong[32];
	int enc = 0;
	size_t padded = sizeof(blob) + (keylen - sizeof(blob) % keylen);

	fill();
	buf_init(&f, SWTPM_STATE_MAX);
	buf_init(&out, SWTPM_STATE_MAX);
	ck_assert_int_eq(swtpm_state_encode(blob, sizeof(blob), key32, keylen, iv, &f), 0);
	/* flags 0x01 (| 0x08 for 256 bit); TLVs 2 (ct), 3 (HMAC, 32), 6 (IV, keylen) */
	ck_assert_uint_eq(f.len, 10 + 6 + padded + 6 + 32 + 6 + keylen);
	ck_assert_uint_eq(f.d[5], keylen == 32 ? 0x09 : 0x01);
	ck_assert_mem_eq(f.d + 10, "\x00\x02", 2);
	ck_assert_int_eq(swtpm_state_decode(f.d, f.len, key32, keylen, &out, &enc), 0);
	ck_assert_int_eq(enc, 1);
	ck_assert_uint_eq(out.len, sizeof(blob));
	ck_assert_mem_eq(out.d, blob, sizeof(blob));
	buf_reset(&out);
	memcpy(wrong, key32, 32);
	wrong[0] ^= 1;
	ck_assert_int_eq(swtpm_state_decode(f.d, f.len, wrong, keylen, &out, NULL), VERR_AUTH);
	ck_assert_int_eq(swtpm_state_decode(f.d, f.len, NULL, 0, &out, NULL), VERR_NOKEY);
	ck_assert_int_eq(swtpm_state_decode(f.d, f.len, key32, keylen == 32 ? 16 : 32, &out, NULL),
			 VERR_BADKEY);
	ck_assert_uint_eq(out.len, 0);
	copy = malloc(f.len);
	ck_assert_ptr_nonnull(copy);
	/* Byte 0 is the writer's header version: swtpm reads any version
	 * whose min_version (byte 1) it supports, and so do we. */
	for (size_t i = 1; i < f.len; i++) {
		memcpy(copy, f.d, f.len);
		copy[i] ^= 0x20;
		ck_assert_msg(swtpm_state_decode(copy, f.len, key32, keylen, &out, NULL) != 0,
			      "a change at byte %zu was accepted", i);
		ck_assert_uint_eq(out.len, 0);
	}
	for (size_t n = 0; n < f.len; n += 7)
		ck_assert_int_ne(swtpm_state_decode(f.d, n, key32, keylen, &out, NULL), 0);
	ck_assert_uint_eq(out.len, 0);
	free(copy);
	buf_free(&f);
	buf_free(&out);
}

START_TEST(test_encrypted_128)
{
	encrypted(16);
}
END_TEST

START_TEST(test_encrypted_256)
{
	encrypted(32);
}
END_TEST

/* Builds an AES-256 file around pt (already a multiple of 32 bytes, its
 * own "padding" included), with a correct HMAC. */
static void
raw_encrypted(const uint8_t *pt, size_t len, struct buf *f)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t ct[64], mac[32], macin[96];
	int n1 = 0, n2 = 0;
	size_t ml = 0;

	ck_assert_uint_le(len, sizeof(ct));
	ck_assert_int_eq(EVP_EncryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, key32, iv), 1);
	ck_assert_int_eq(EVP_CIPHER_CTX_set_padding(ctx, 0), 1);
	ck_assert_int_eq(EVP_EncryptUpdate(ctx, ct, &n1, pt, (int)len), 1);
	ck_assert_int_eq(EVP_EncryptFinal_ex(ctx, ct + n1, &n2), 1);
	EVP_CIPHER_CTX_free(ctx);
	memcpy(macin, ct, len);
	memcpy(macin + len, iv, 32);
	ck_assert_ptr_nonnull(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key32, 32, macin,
					len + 32, mac, 32, &ml));
	ck_assert(buf_put_bytes(f, "\x02\x01\x00\x0a\x00\x09", 6) == 0);
	ck_assert(buf_put_u32(f, (uint32_t)(10 + 6 + len + 6 + 32 + 6 + 32)) == 0);
	ck_assert(buf_put_u16(f, 2) == 0 && buf_put_u32(f, (uint32_t)len) == 0 &&
		  buf_put_bytes(f, ct, len) == 0);
	ck_assert(buf_put_u16(f, 3) == 0 && buf_put_u32(f, 32) == 0 &&
		  buf_put_bytes(f, mac, 32) == 0);
	ck_assert(buf_put_u16(f, 6) == 0 && buf_put_u32(f, 32) == 0 &&
		  buf_put_bytes(f, iv, 32) == 0);
}

/* Authentic ciphertext whose padding is wrong: PAD, nothing appended. */
START_TEST(test_bad_padding)
{
	uint8_t pt[32];
	struct buf f, out;

	buf_init(&f, SWTPM_STATE_MAX);
	buf_init(&out, SWTPM_STATE_MAX);
	memset(pt, 0x41, sizeof(pt));
	pt[31] = 0; /* a pad length of 0 */
	raw_encrypted(pt, 32, &f);
	ck_assert_int_eq(swtpm_state_decode(f.d, f.len, key32, 32, &out, NULL), VERR_FORMAT);
	buf_reset(&f);
	pt[31] = 33; /* longer than the key */
	raw_encrypted(pt, 32, &f);
	ck_assert_int_eq(swtpm_state_decode(f.d, f.len, key32, 32, &out, NULL), VERR_FORMAT);
	buf_reset(&f);
	pt[31] = 3; /* pad bytes that differ */
	pt[30] = 3;
	raw_encrypted(pt, 32, &f);
	ck_assert_int_eq(swtpm_state_decode(f.d, f.len, key32, 32, &out, NULL), VERR_FORMAT);
	buf_reset(&f);
	pt[29] = 3; /* now right: 29 bytes of data */
	raw_encrypted(pt, 32, &f);
	ck_assert_int_eq(swtpm_state_decode(f.d, f.len, key32, 32, &out, NULL), 0);
	ck_assert_uint_eq(out.len, 29);
	buf_free(&f);
	buf_free(&out);
}
END_TEST

START_TEST(test_bad_headers)
{
	struct buf f, out;
	uint8_t c[64];

	fill();
	buf_init(&f, SWTPM_STATE_MAX);
	buf_init(&out, SWTPM_STATE_MAX);
	ck_assert_int_eq(swtpm_state_encode(blob, 16, NULL, 0, NULL, &f), 0);
	ck_assert_uint_eq(f.len, 32);
	memcpy(c, f.d, 32);
	c[0] = 1; /* version 1 */
	ck_assert_int_eq(swtpm_state_decode(c, 32, NULL, 0, &out, NULL), VERR_FORMAT);
	memcpy(c, f.d, 32);
	c[1] = 3; /* needs a newer reader */
	ck_assert_int_eq(swtpm_state_decode(c, 32, NULL, 0, &out, NULL), VERR_FORMAT);
	memcpy(c, f.d, 32);
	c[3] = 12; /* hdrsize */
	ck_assert_int_eq(swtpm_state_decode(c, 32, NULL, 0, &out, NULL), VERR_FORMAT);
	memcpy(c, f.d, 32);
	c[9] = 33; /* totlen */
	ck_assert_int_eq(swtpm_state_decode(c, 32, NULL, 0, &out, NULL), VERR_FORMAT);
	memcpy(c, f.d, 32);
	c[5] = 0x04; /* migration data flag */
	ck_assert_int_eq(swtpm_state_decode(c, 32, NULL, 0, &out, NULL), VERR_FORMAT);
	memcpy(c, f.d, 32);
	c[11] = 4; /* tag 4: migration data */
	ck_assert_int_eq(swtpm_state_decode(c, 32, NULL, 0, &out, NULL), VERR_FORMAT);
	memcpy(c, f.d, 32);
	c[15] = 17; /* TLV length past the end */
	ck_assert_int_eq(swtpm_state_decode(c, 32, NULL, 0, &out, NULL), VERR_FORMAT);
	/* A repeated DATA tag. */
	memcpy(c, f.d, 10);
	memcpy(c + 10, "\x00\x01\x00\x00\x00\x01" "a" "\x00\x01\x00\x00\x00\x01" "b", 14);
	be32_put(c + 6, 24);
	ck_assert_int_eq(swtpm_state_decode(c, 24, NULL, 0, &out, NULL), VERR_FORMAT);
	ck_assert_uint_eq(out.len, 0);
	buf_free(&f);
	buf_free(&out);
}
END_TEST

START_TEST(test_key_files)
{
	static const char hex64[] =
		"0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20\n";
	uint8_t key[SWTPM_KEY_MAX];
	size_t kl = 0;

	ck_assert_int_eq(swtpm_key_parse((const uint8_t *)hex64, strlen(hex64), SWTPM_KEY_AUTO, key,
					 &kl), 0);
	ck_assert_uint_eq(kl, 32);
	ck_assert_mem_eq(key, key32, 32);
	ck_assert_int_eq(swtpm_key_parse((const uint8_t *)"0x0102030405060708090a0b0c0d0e0f10", 34,
					 SWTPM_KEY_HEX, key, &kl), 0);
	ck_assert_uint_eq(kl, 16);
	ck_assert_mem_eq(key, key32, 16);
	ck_assert_int_eq(swtpm_key_parse(key32, 32, SWTPM_KEY_AUTO, key, &kl), 0);
	ck_assert_uint_eq(kl, 32);
	ck_assert_int_eq(swtpm_key_parse(key32, 16, SWTPM_KEY_BINARY, key, &kl), 0);
	ck_assert_uint_eq(kl, 16);
	ck_assert_int_eq(swtpm_key_parse(key32, 20, SWTPM_KEY_AUTO, key, &kl), VERR_FORMAT);
	ck_assert_int_eq(swtpm_key_parse((const uint8_t *)"0102xx", 6, SWTPM_KEY_HEX, key, &kl),
			 VERR_FORMAT);
	ck_assert_int_eq(swtpm_key_parse((const uint8_t *)"01020304 junk", 13, SWTPM_KEY_HEX, key,
					 &kl), VERR_FORMAT);
	ck_assert_int_eq(swtpm_key_parse(key32, 0, SWTPM_KEY_AUTO, key, &kl), VERR_FORMAT);
}
END_TEST

START_TEST(test_passphrase)
{
	/* hashlib.pbkdf2_hmac('sha512', b'my passphrase\n', b'swtpm', 1000, 32) */
	static const uint8_t want[32] = {
		0x02, 0x44, 0xdc, 0x34, 0xf2, 0x0b, 0x42, 0x1b, 0xda, 0x16, 0x23, 0x43, 0x44, 0x21, 0x82, 0xa1,
		0x4f, 0xee, 0x19, 0xfa, 0x42, 0xc1, 0xb3, 0x59, 0x51, 0xcf, 0x52, 0x96, 0x9f, 0x11, 0x50, 0x0f,
	};
	uint8_t key[SWTPM_KEY_MAX];

	ck_assert_int_eq(swtpm_key_from_passphrase((const uint8_t *)"my passphrase\n", 14, 32, key), 0);
	ck_assert_mem_eq(key, want, 32);
	ck_assert_int_eq(swtpm_key_from_passphrase((const uint8_t *)"my passphrase\n", 14, 16, key), 0);
	ck_assert_mem_eq(key, want, 16);
	ck_assert_int_eq(swtpm_key_from_passphrase((const uint8_t *)"x", 1, 24, key), VERR_FORMAT);
}
END_TEST

Suite *
swtpm_state_suite(void)
{
	Suite *s = suite_create("swtpm_state");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_plain);
	tcase_add_test(tc, test_encrypted_128);
	tcase_add_test(tc, test_encrypted_256);
	tcase_add_test(tc, test_bad_padding);
	tcase_add_test(tc, test_bad_headers);
	tcase_add_test(tc, test_key_files);
	tcase_add_test(tc, test_passphrase);
	suite_add_tcase(s, tc);
	return s;
}
