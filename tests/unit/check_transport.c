/*
 * check_transport.c - crypto/transport: the host-to-host export file.
 * Round trip with the payload split back into its blobs; a file for
 * another destination is OTHERHOST; every single-byte change and every
 * truncation or extension is refused and appends nothing; a file whose
 * source key is replaced (a forger with the destination's public key)
 * fails authentication; the source fingerprint is reported; payload
 * parsing refuses duplicates, unknown types, missing permall, bad lengths.
 */
#include "unit.h"
#include "crypto/pkey.h"
#include "crypto/transport.h"

#include <string.h>

static EVP_PKEY *src, *dst, *other;
static const uint8_t uuid[UUID_LEN] = { 1, 2, 3, 4, 5, 6, 0x47, 8, 0x89, 10, 11, 12, 13, 14, 15, 16 };
static uint8_t perm[300], vol[50];

static void
setup(void)
{
	ck_assert_ptr_nonnull(src = pkey_gen_p384());
	ck_assert_ptr_nonnull(dst = pkey_gen_p384());
	ck_assert_ptr_nonnull(other = pkey_gen_p384());
	for (size_t i = 0; i < sizeof(perm); i++)
		perm[i] = (uint8_t)(i * 13 + 1);
	memset(vol, 0x5a, sizeof(vol));
}

static void
teardown(void)
{
	EVP_PKEY_free(src);
	EVP_PKEY_free(dst);
	EVP_PKEY_free(other);
}

static void
make(struct buf *f)
{
	struct xfer_blob b[2] = { { XFER_PERMALL, perm, sizeof(perm) },
				  { XFER_VOLATILE, vol, sizeof(vol) } };

	buf_init(f, XFER_FILE_MAX);
	ck_assert_int_eq(transport_seal(src, dst, 2, uuid, b, 2, f), 0);
}

START_TEST(test_roundtrip)
{
	struct buf f, pt;
	struct xfer_hdr h, h2;
	struct xfer_blob out[4];
	uint8_t fp[PKEY_FP_LEN];
	size_t n;

	make(&f);
	buf_init(&pt, XFER_PT_MAX);
	ck_assert_int_eq(transport_peek(f.d, f.len, &h2), 0);
	ck_assert_int_eq(transport_open(dst, f.d, f.len, &h, &pt), 0);
	ck_assert_mem_eq(h.uuid, uuid, UUID_LEN);
	ck_assert_uint_eq(h.tpm_version, 2);
	ck_assert_int_eq(pkey_fingerprint(src, fp), 0);
	ck_assert_mem_eq(h.src_fp, fp, PKEY_FP_LEN);
	ck_assert_mem_eq(h2.src_fp, fp, PKEY_FP_LEN);
	ck_assert_int_eq(pkey_fingerprint(dst, fp), 0);
	ck_assert_mem_eq(h.dest_fp, fp, PKEY_FP_LEN);
	ck_assert_int_eq(transport_payload(pt.d, pt.len, out, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(out[0].type, XFER_PERMALL);
	ck_assert_uint_eq(out[0].len, sizeof(perm));
	ck_assert_mem_eq(out[0].p, perm, sizeof(perm));
	ck_assert_mem_eq(out[1].p, vol, sizeof(vol));
	buf_free(&f);
	buf_free(&pt);
}
END_TEST

START_TEST(test_other_host)
{
	struct buf f, pt;
	struct xfer_hdr h;

	make(&f);
	buf_init(&pt, XFER_PT_MAX);
	ck_assert_int_eq(transport_open(other, f.d, f.len, &h, &pt), VERR_OTHERKEY);
	ck_assert_int_eq(transport_open(src, f.d, f.len, &h, &pt), VERR_OTHERKEY);
	ck_assert_uint_eq(pt.len, 0);
	buf_free(&f);
	buf_free(&pt);
}
END_TEST

START_TEST(test_every_byte_and_length)
{
	struct buf f, pt;
	struct xfer_hdr h;
	uint8_t *copy;

	make(&f);
	buf_init(&pt, XFER_PT_MAX);
	copy = malloc(f.len + 1);
	ck_assert_ptr_nonnull(copy);
	/* Every byte of the header (with both keys) and of the tag; every
	 * 11th of the ciphertext (two ECDH per try are slow under valgrind). */
	for (size_t i = 0; i < f.len; i += (i >= 300 && i + 16 < f.len) ? 11 : 1) {
		memcpy(copy, f.d, f.len);
		copy[i] ^= 0x01;
		ck_assert_msg(transport_open(dst, copy, f.len, &h, &pt) != 0,
			      "a change at byte %zu was accepted", i);
		ck_assert_uint_eq(pt.len, 0);
	}
	for (size_t n = 0; n < f.len; n += (n < 200 ? 1 : 97))
		ck_assert_int_eq(transport_open(dst, f.d, n, &h, &pt), VERR_FORMAT);
	memcpy(copy, f.d, f.len);
	copy[f.len] = 0;
	ck_assert_int_eq(transport_open(dst, copy, f.len + 1, &h, &pt), VERR_FORMAT);
	ck_assert_uint_eq(pt.len, 0);
	free(copy);
	buf_free(&f);
	buf_free(&pt);
}
END_TEST

/* A forger who knows only the destination's public key writes a file that
 * claims to come from src: it cannot compute ECDH(src, dst). */
START_TEST(test_forged_source)
{
	struct xfer_blob b = { XFER_PERMALL, perm, sizeof(perm) };
	struct buf forged, real, pt, srcder, othder;
	struct xfer_hdr h;
	uint8_t *p;

	buf_init(&forged, XFER_FILE_MAX);
	buf_init(&real, XFER_FILE_MAX);
	buf_init(&pt, XFER_PT_MAX);
	buf_init(&srcder, PKEY_SPKI_MAX);
	buf_init(&othder, PKEY_SPKI_MAX);
	ck_assert_int_eq(transport_seal(other, dst, 2, uuid, &b, 1, &forged), 0);
	ck_assert_int_eq(pkey_pub_der(src, &srcder), 0);
	ck_assert_int_eq(pkey_pub_der(other, &othder), 0);
	ck_assert_uint_eq(srcder.len, othder.len);
	/* Swap the source key in the header for src's. */
	p = memmem(forged.d, forged.len, othder.d, othder.len);
	ck_assert_ptr_nonnull(p);
	memcpy(p, srcder.d, srcder.len);
	ck_assert_int_eq(transport_open(dst, forged.d, forged.len, &h, &pt), VERR_AUTH);
	ck_assert_uint_eq(pt.len, 0);
	buf_free(&forged);
	buf_free(&real);
	buf_free(&pt);
	buf_free(&srcder);
	buf_free(&othder);
}
END_TEST

START_TEST(test_seal_refuses)
{
	struct xfer_blob b = { XFER_VOLATILE, vol, sizeof(vol) };
	struct xfer_blob big = { XFER_PERMALL, perm, XFER_BLOB_MAX + 1 };
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	struct buf f;

	buf_init(&f, XFER_FILE_MAX);
	ck_assert_int_eq(transport_seal(src, dst, 2, uuid, &b, 1, &f), VERR_FORMAT); /* no permall */
	ck_assert_int_eq(transport_seal(src, dst, 2, uuid, &big, 1, &f), VERR_FORMAT);
	b.type = XFER_PERMALL;
	ck_assert_int_eq(transport_seal(src, rsa, 2, uuid, &b, 1, &f), VERR_FORMAT);
	ck_assert_int_eq(transport_seal(src, dst, 3, uuid, &b, 1, &f), VERR_FORMAT);
	ck_assert_uint_eq(f.len, 0);
	EVP_PKEY_free(rsa);
	buf_free(&f);
}
END_TEST

START_TEST(test_payload)
{
	uint8_t p[64];
	struct xfer_blob out[4];
	size_t n;

	/* count 1, permall of 3 bytes */
	memcpy(p, "\x01\x01\x00\x00\x00\x03" "abc", 9);
	ck_assert_int_eq(transport_payload(p, 9, out, &n), 0);
	ck_assert_int_eq(transport_payload(p, 8, out, &n), VERR_FORMAT);
	ck_assert_int_eq(transport_payload(p, 10, out, &n), VERR_FORMAT);
	p[1] = 2; /* only volatile: no permall */
	ck_assert_int_eq(transport_payload(p, 9, out, &n), VERR_FORMAT);
	p[1] = 5; /* unknown type */
	ck_assert_int_eq(transport_payload(p, 9, out, &n), VERR_FORMAT);
	/* duplicate permall */
	memcpy(p, "\x02\x01\x00\x00\x00\x01" "a" "\x01\x00\x00\x00\x01" "b", 13);
	ck_assert_int_eq(transport_payload(p, 13, out, &n), VERR_FORMAT);
	/* zero length */
	memcpy(p, "\x01\x01\x00\x00\x00\x00", 6);
	ck_assert_int_eq(transport_payload(p, 6, out, &n), VERR_FORMAT);
}
END_TEST

Suite *
transport_suite(void)
{
	Suite *s = suite_create("transport");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_other_host);
	tcase_add_test(tc, test_every_byte_and_length);
	tcase_add_test(tc, test_forged_source);
	tcase_add_test(tc, test_seal_refuses);
	tcase_add_test(tc, test_payload);
	suite_add_tcase(s, tc);
	return s;
}
