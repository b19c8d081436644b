/*
 * check_tpm12_host.c - tcs/tpm12_marshal and tcs/tpm12_host: the TPM 1.2
 * authorisation arithmetic against vectors computed independently with the
 * openssl CLI, command layout, rejection of malformed responses (short,
 * size mismatch, oversized, tag mismatch, bad HMAC) both as pure parsing
 * and over a scripted fake TPM socket, and the whole TCS against a real
 * TPM 1.2 swtpm prepared like a fresh server chip (swtpm_setup --createek:
 * EK present, enabled, active, unowned).
 *
 * Trusts: swtpm/swtpm_setup from PATH.  Every swtpm runs in its own
 * mkdtemp directory and is killed (by its pid) in the test that started it.
 */
#include "unit.h"
#include "tcs/tpm12_host.h"
#include "tcs/tpm12_marshal.h"
#include "util/buf.h"
#include "util/tpm_frame.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

Suite *tpm12_host_suite(void);

static void
unhex(const char *hex, uint8_t *out, size_t n)
{
	ck_assert_uint_eq(strlen(hex), 2 * n);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

/* 20 bytes start, start+1, ... (the inputs of the openssl CLI vectors). */
static void
seq20(uint8_t out[20], uint8_t start)
{
	for (int i = 0; i < 20; i++)
		out[i] = (uint8_t)(start + i);
}

#define ck_assert_hex(got, hex, n)                                                     \
	do {                                                                           \
		uint8_t want_[64];                                                     \
		unhex((hex), want_, (n));                                              \
		ck_assert_mem_eq((got), want_, (n));                                   \
	} while (0)

/* ---- vectors ------------------------------------------------------------
 * Inputs: A = 00..13, nonceEvenOSAP = 20..33, nonceOddOSAP = 40..53,
 * nonceEven = 60..73, nonceOdd = 80..93, a new auth = c0..d3.  Expected
 * values from, e.g.:
 *   printf "$NEO$NOO" | xxd -r -p | openssl dgst -sha1 -mac HMAC -macopt hexkey:$A
 */
#define V_OSAP "4f2909669199e3e5d6b97d0e968f6909178b8247"
#define V_INDIGEST "b7a819cae9fc34c75e7ea47c85ee6cbdacf3cfe8"   /* SHA1(00000017 "abc") */
#define V_AUTH0 "e64055adcc61d2647d5ccf84a79b928c236b3933"      /* cont = 0 */
#define V_AUTH1 "b3495e4121c219d6867331425e7dd9c127f60140"      /* cont = 1 */
#define V_OUTDIGEST "cd0ec9b4446cb33c7118df717fc1d0898c0d9e96"  /* SHA1(0 00000017 "xyz") */
#define V_ENCAUTH "32c246caead6c67dfd0f1567064b0f8b8c50d4a6"    /* c0..d3 ^ SHA1(S||NE) */
#define V_PCR16_ZERO "60501c232307f2fb41b616a5f6082d8c09b2bec1"  /* PCR16 = 00*20 */
#define V_PCR0_16 "f9dc1f9d106ffc2cdbaa5e4184c7be00882f7fc4"     /* PCR0=11*20, PCR16=22*20 */

START_TEST(test_osap_secret_vector)
{
	uint8_t a[20], neo[20], noo[20], s[20];

	seq20(a, 0x00);
	seq20(neo, 0x20);
	seq20(noo, 0x40);
	ck_assert_int_eq(tpm12_osap_secret(a, neo, noo, s), 0);
	ck_assert_hex(s, V_OSAP, 20);
	/* Order matters: even first, then odd. */
	ck_assert_int_eq(tpm12_osap_secret(a, noo, neo, s), 0);
	{
		uint8_t w[20];

		unhex(V_OSAP, w, 20);
		ck_assert(memcmp(s, w, 20) != 0);
	}
}
END_TEST

START_TEST(test_auth_hmac_vector)
{
	uint8_t key[20], ne[20], no[20], d[20], mac[20];

	unhex(V_OSAP, key, 20);
	seq20(ne, 0x60);
	seq20(no, 0x80);
	ck_assert_int_eq(tpm12_in_digest(0x17, (const uint8_t *)"abc", 3, d), 0);
	ck_assert_hex(d, V_INDIGEST, 20);
	ck_assert_int_eq(tpm12_auth_hmac(key, d, ne, no, 0, mac), 0);
	ck_assert_hex(mac, V_AUTH0, 20);
	ck_assert_int_eq(tpm12_auth_hmac(key, d, ne, no, 1, mac), 0);
	ck_assert_hex(mac, V_AUTH1, 20);
	ck_assert_int_eq(tpm12_out_digest(0, 0x17, (const uint8_t *)"xyz", 3, d), 0);
	ck_assert_hex(d, V_OUTDIGEST, 20);
}
END_TEST

START_TEST(test_enc_auth_vector)
{
	uint8_t s[20], ne[20], au[20], enc[20], back[20];

	unhex(V_OSAP, s, 20);
	seq20(ne, 0x60);
	seq20(au, 0xc0);
	ck_assert_int_eq(tpm12_enc_auth(s, ne, au, enc), 0);
	ck_assert_hex(enc, V_ENCAUTH, 20);
	/* XOR: applying it again gives the auth back. */
	ck_assert_int_eq(tpm12_enc_auth(s, ne, enc, back), 0);
	ck_assert_mem_eq(back, au, 20);
}
END_TEST

START_TEST(test_pcr_composite_vector)
{
	uint8_t pcrs[TPM12_NUM_PCRS][20], d[20];
	struct buf b;

	memset(pcrs, 0, sizeof(pcrs));
	ck_assert_int_eq(tpm12_pcr_composite_digest(1u << 16, (const uint8_t(*)[20])pcrs, d), 0);
	ck_assert_hex(d, V_PCR16_ZERO, 20);
	memset(pcrs[0], 0x11, 20);
	memset(pcrs[16], 0x22, 20);
	ck_assert_int_eq(
		tpm12_pcr_composite_digest((1u << 16) | 1u, (const uint8_t(*)[20])pcrs, d), 0);
	ck_assert_hex(d, V_PCR0_16, 20);
	ck_assert_int_eq(tpm12_pcr_composite_digest(1u << 24, (const uint8_t(*)[20])pcrs, d),
			 VERR_INVAL);

	buf_init(&b, 256);
	ck_assert_int_eq(tpm12_put_pcr_info(&b, (1u << 16) | (1u << 7), d), 0);
	ck_assert_uint_eq(b.len, 2 + 3 + 20 + 20);
	ck_assert_mem_eq(b.d, "\x00\x03\x80\x00\x01", 5);
	ck_assert_mem_eq(b.d + 5, d, 20);
	ck_assert_mem_eq(b.d + 25, d, 20);
	buf_free(&b);
}
END_TEST

START_TEST(test_srk_params_layout)
{
	static const uint8_t want[] = {
		0x01, 0x01, 0x00, 0x00,             /* ver 1.1.0.0 */
		0x00, 0x11,                         /* TPM_KEY_STORAGE */
		0x00, 0x00, 0x00, 0x00,             /* keyFlags */
		0x01,                               /* TPM_AUTH_ALWAYS */
		0x00, 0x00, 0x00, 0x01,             /* TPM_ALG_RSA */
		0x00, 0x03,                         /* TPM_ES_RSAESOAEP_SHA1_MGF1 */
		0x00, 0x01,                         /* TPM_SS_NONE */
		0x00, 0x00, 0x00, 0x0c,             /* parmSize */
		0x00, 0x00, 0x08, 0x00,             /* 2048 bits */
		0x00, 0x00, 0x00, 0x02,             /* 2 primes */
		0x00, 0x00, 0x00, 0x00,             /* exponentSize 0 */
		0x00, 0x00, 0x00, 0x00,             /* PCRInfoSize */
		0x00, 0x00, 0x00, 0x00,             /* pubKey empty */
		0x00, 0x00, 0x00, 0x00,             /* encData empty */
	};
	struct buf b;
	size_t n;

	buf_init(&b, 256);
	ck_assert_int_eq(tpm12_put_srk_params(&b), 0);
	ck_assert_uint_eq(b.len, sizeof(want));
	ck_assert_mem_eq(b.d, want, sizeof(want));
	ck_assert_int_eq(tpm12_key_len(b.d, b.len, &n), 0);
	ck_assert_uint_eq(n, b.len);
	for (size_t i = 0; i < b.len; i++)
		ck_assert_int_eq(tpm12_key_len(b.d, i, &n), VERR_FORMAT);
	buf_free(&b);
}
END_TEST

START_TEST(test_build_cmd_layout)
{
	struct tpm12_session s, *sp = &s;
	uint32_t h = 0x40000000;
	struct buf b;
	char err[256];

	memset(&s, 0, sizeof(s));
	unhex(V_OSAP, s.key, 20);
	seq20(s.nonce_even, 0x60);
	seq20(s.nonce_odd, 0x80);
	s.handle = 0x01020304;
	buf_init(&b, TPM_FRAME_MAX);
	ck_assert_int_eq(tpm12_build_cmd(&b, 0x17, &h, 1, (const uint8_t *)"abc", 3, &sp, 1, err,
					 sizeof(err)),
			 0);
	ck_assert_uint_eq(b.len, 10 + 4 + 3 + TPM12_REQ_AUTH_LEN);
	ck_assert_mem_eq(b.d, "\x00\xc2\x00\x00\x00\x3e\x00\x00\x00\x17\x40\x00\x00\x00" "abc", 17);
	ck_assert_mem_eq(b.d + 17, "\x01\x02\x03\x04", 4);
	ck_assert_mem_eq(b.d + 21, s.nonce_odd, 20);
	ck_assert_uint_eq(b.d[41], 0);
	/* The handle is outside the digest: the HMAC is the vector's. */
	ck_assert_hex(b.d + 42, V_AUTH0, 20);
	ck_assert_int_eq(tpm_frame_exact(b.d, b.len, TPM_FRAME_MAX), 0);

	/* No sessions: tag c1, nothing appended. */
	ck_assert_int_eq(tpm12_build_cmd(&b, 0x46, NULL, 0, (const uint8_t *)"\0\0\0\x10", 4, NULL,
					 0, err, sizeof(err)),
			 0);
	ck_assert_uint_eq(b.len, 14);
	ck_assert_mem_eq(b.d, "\x00\xc1\x00\x00\x00\x0e\x00\x00\x00\x46", 10);
	buf_free(&b);
}
END_TEST

/* ---- response parsing --------------------------------------------------- */

/* A well-formed authorised response to ordinal with out params, signed
 * for each session in sess (nonceEven' = 0xe0.., cont = 0). */
static size_t
make_resp(uint8_t *out, uint32_t ordinal, const uint8_t *params, size_t plen,
	  struct tpm12_session *const *sess, size_t nsess)
{
	uint8_t d[20];
	size_t off = 10;

	be16_put(out, (uint16_t)(0xc4 + nsess));
	be32_put(out + 6, 0);
	if (plen != 0)
		memcpy(out + off, params, plen);
	off += plen;
	ck_assert_int_eq(tpm12_out_digest(0, ordinal, params, plen, d), 0);
	for (size_t i = 0; i < nsess; i++) {
		seq20(out + off, (uint8_t)(0xe0 + i));
		out[off + 20] = 0;
		ck_assert_int_eq(
			tpm12_auth_hmac(sess[i]->key, d, out + off, sess[i]->nonce_odd, 0, out + off + 21),
			0);
		off += TPM12_RSP_AUTH_LEN;
	}
	be32_put(out + 2, (uint32_t)off);
	return off;
}

static void
two_sessions(struct tpm12_session s[2], struct tpm12_session *sp[2])
{
	memset(s, 0, 2 * sizeof(*s));
	memset(s[0].key, 0x5a, 20);
	seq20(s[0].nonce_odd, 0x80);
	memset(s[1].key, 0x00, 20);
	seq20(s[1].nonce_odd, 0x90);
	sp[0] = &s[0];
	sp[1] = &s[1];
}

START_TEST(test_parse_good_and_flipped)
{
	struct tpm12_session s[2], *sp[2];
	uint8_t resp[256];
	struct tpm12_resp r;
	char err[256];
	size_t n;

	for (size_t nsess = 0; nsess <= 2; nsess++) {
		two_sessions(s, sp);
		n = make_resp(resp, 0x18, (const uint8_t *)"\0\0\0\x03xyz", 7, sp, nsess);
		ck_assert_int_eq(tpm12_parse_resp(resp, n, 0x18, sp, nsess, &r, err, sizeof(err)), 0);
		ck_assert_uint_eq(r.rc, 0);
		ck_assert_uint_eq(r.plen, 7);
		ck_assert_mem_eq(r.params, "\0\0\0\x03xyz", 7);
		for (size_t i = 0; i < nsess; i++)
			ck_assert_uint_eq(s[i].nonce_even[0], 0xe0 + i);

		/* Any flipped bit after the header (params, nonceEven, cont,
		 * HMAC) must be refused when sessions authenticate it. */
		for (size_t i = 10; nsess != 0 && i < n; i++) {
			for (int bit = 0; bit < 8; bit += 7) {
				two_sessions(s, sp);
				resp[i] ^= (uint8_t)(1u << bit);
				ck_assert_int_eq(tpm12_parse_resp(resp, n, 0x18, sp, nsess, &r, err,
								  sizeof(err)),
						 VERR_FORMAT);
				ck_assert_ptr_null(r.params);
				ck_assert_uint_eq(r.plen, 0);
				resp[i] ^= (uint8_t)(1u << bit);
			}
		}
		/* The digest covers the ordinal too. */
		if (nsess != 0) {
			two_sessions(s, sp);
			ck_assert_int_eq(tpm12_parse_resp(resp, n, 0x17, sp, nsess, &r, err,
							  sizeof(err)),
					 VERR_FORMAT);
			ck_assert_ptr_nonnull(strstr(err, "HMAC"));
		}
	}
}
END_TEST

START_TEST(test_parse_malformed)
{
	struct tpm12_session s[2], *sp[2];
	uint8_t resp[TPM_FRAME_MAX + 64];
	struct tpm12_resp r;
	char err[256];
	size_t n;

	two_sessions(s, sp);
	n = make_resp(resp, 0x18, (const uint8_t *)"abcd", 4, sp, 1);

	/* Short: fewer than 10 bytes, whatever they say. */
	for (size_t i = 0; i < 10; i++)
		ck_assert_int_eq(tpm12_parse_resp(resp, i, 0x18, sp, 1, &r, err, sizeof(err)),
				 VERR_FORMAT);
	ck_assert_int_eq(tpm12_parse_resp(NULL, 0, 0x18, sp, 1, &r, err, sizeof(err)),
			 VERR_FORMAT);
	/* Header size != bytes, both ways. */
	ck_assert_int_eq(tpm12_parse_resp(resp, n - 1, 0x18, sp, 1, &r, err, sizeof(err)),
			 VERR_FORMAT);
	ck_assert_int_eq(tpm12_parse_resp(resp, n + 1, 0x18, sp, 1, &r, err, sizeof(err)),
			 VERR_FORMAT);
	/* Oversized: a header declaring more than a TPM frame. */
	memset(resp, 0, sizeof(resp));
	be16_put(resp, 0xc4);
	be32_put(resp + 2, TPM_FRAME_MAX + 1);
	ck_assert_int_eq(tpm12_parse_resp(resp, TPM_FRAME_MAX + 1, 0x46, NULL, 0, &r, err,
					  sizeof(err)),
			 VERR_FORMAT);
	be32_put(resp + 2, 0xffffffffu);
	ck_assert_int_eq(tpm12_parse_resp(resp, 10, 0x46, NULL, 0, &r, err, sizeof(err)),
			 VERR_FORMAT);

	/* Tag mismatch: c4 when one session was sent, c5 when none, c6 for one. */
	two_sessions(s, sp);
	n = make_resp(resp, 0x18, (const uint8_t *)"abcd", 4, sp, 1);
	be16_put(resp, 0xc4);
	ck_assert_int_eq(tpm12_parse_resp(resp, n, 0x18, sp, 1, &r, err, sizeof(err)),
			 VERR_FORMAT);
	be16_put(resp, 0xc6);
	ck_assert_int_eq(tpm12_parse_resp(resp, n, 0x18, sp, 1, &r, err, sizeof(err)),
			 VERR_FORMAT);
	be16_put(resp, 0xc5);
	ck_assert_int_eq(tpm12_parse_resp(resp, n, 0x18, NULL, 0, &r, err, sizeof(err)),
			 VERR_FORMAT);
	/* Too short for the authorisation trailers the tag promises. */
	two_sessions(s, sp);
	n = make_resp(resp, 0x18, NULL, 0, sp, 1);
	be16_put(resp, 0xc6);
	ck_assert_int_eq(tpm12_parse_resp(resp, n, 0x18, sp, 2, &r, err, sizeof(err)),
			 VERR_FORMAT);
	/* Success with a 1.2 request tag, or a 2.0 tag. */
	memset(resp, 0, 10);
	be16_put(resp, 0xc1);
	be32_put(resp + 2, 10);
	ck_assert_int_eq(tpm12_parse_resp(resp, 10, 0x46, NULL, 0, &r, err, sizeof(err)),
			 VERR_FORMAT);

	/* Errors: the code only, with a response tag; anything else refused. */
	be16_put(resp, 0xc4);
	be32_put(resp + 6, TPM12_AUTHFAIL);
	ck_assert_int_eq(tpm12_parse_resp(resp, 10, 0x18, sp, 2, &r, err, sizeof(err)), 0);
	ck_assert_uint_eq(r.rc, TPM12_AUTHFAIL);
	ck_assert_ptr_null(r.params);
	be16_put(resp, 0x8001);
	ck_assert_int_eq(tpm12_parse_resp(resp, 10, 0x18, sp, 2, &r, err, sizeof(err)),
			 VERR_FORMAT);
	/* cont must be a BOOL. */
	two_sessions(s, sp);
	n = make_resp(resp, 0x18, NULL, 0, sp, 1);
	resp[10 + 20] = 2;
	ck_assert_int_eq(tpm12_parse_resp(resp, n, 0x18, sp, 1, &r, err, sizeof(err)),
			 VERR_FORMAT);
}
END_TEST

/* Random garbage through every parser: refused or accepted, never a crash
 * (run under valgrind / ASan). */
START_TEST(test_parse_garbage)
{
	struct tpm12_session s[2], *sp[2];
	uint8_t p[600];
	struct tpm12_resp r;
	char err[256];
	const uint8_t *n;
	size_t nlen, len;
	uint32_t e, v;
	uint8_t label[4], ar[20] = { 0 };
	struct buf b;
	unsigned seed = 12345;

	two_sessions(s, sp);
	for (int iter = 0; iter < 3000; iter++) {
		len = (size_t)(rand_r(&seed) % sizeof(p));
		for (size_t i = 0; i < len; i++)
			p[i] = (uint8_t)rand_r(&seed);
		if (len >= 10 && (iter & 1)) {
			be32_put(p + 2, (uint32_t)len); /* plausible header */
			be16_put(p, (uint16_t)(0xc4 + iter % 3));
		}
		(void)tpm12_parse_resp(p, len, 0x18, sp, (size_t)(iter % 3), &r, err, sizeof(err));
		(void)tpm12_parse_pubek(p, len, ar, &n, &nlen, &e, err, sizeof(err));
		(void)tpm12_stored_data_len(p, len, &nlen);
		(void)tpm12_key_len(p, len, &nlen);
		buf_init_reader(&b, p, len);
		(void)tpm12_get_counter_value(&b, label, &v);
	}
}
END_TEST

START_TEST(test_stored_data_len)
{
	uint8_t blob[64];
	size_t n;

	/* 1.1 form: ver | sealInfoSize 3 | 3 | encDataSize 5 | 5 */
	memcpy(blob, "\x01\x01\x00\x00\x00\x00\x00\x03" "abc" "\x00\x00\x00\x05" "defgh", 20);
	ck_assert_int_eq(tpm12_stored_data_len(blob, 20, &n), 0);
	ck_assert_uint_eq(n, 20);
	ck_assert_int_eq(tpm12_stored_data_len(blob, 25, &n), 0);
	ck_assert_uint_eq(n, 20);
	for (size_t i = 0; i < 20; i++)
		ck_assert_int_eq(tpm12_stored_data_len(blob, i, &n), VERR_FORMAT);
	blob[0] = 2; /* not a 1.1 ver, not the 1.2 tag */
	ck_assert_int_eq(tpm12_stored_data_len(blob, 20, &n), VERR_FORMAT);
	/* 1.2 form: tag 0x0016 | entityType | ... */
	memcpy(blob, "\x00\x16\x00\x06\x00\x00\x00\x00\x00\x00\x00\x01z", 13);
	ck_assert_int_eq(tpm12_stored_data_len(blob, 13, &n), 0);
	ck_assert_uint_eq(n, 13);
	/* A huge size field cannot wrap. */
	memcpy(blob, "\x01\x01\x00\x00\xff\xff\xff\xff", 8);
	ck_assert_int_eq(tpm12_stored_data_len(blob, 20, &n), VERR_FORMAT);
}
END_TEST

START_TEST(test_counter_value)
{
	struct buf b;
	uint8_t label[4];
	uint32_t v = 0;

	buf_init_reader(&b, (const uint8_t *)"\x00\x0evTPM\x00\x00\x01\x02", 10);
	ck_assert_int_eq(tpm12_get_counter_value(&b, label, &v), 0);
	ck_assert_uint_eq(v, 0x102);
	ck_assert_mem_eq(label, "vTPM", 4);
	buf_init_reader(&b, (const uint8_t *)"\x00\x0fvTPM\x00\x00\x01\x02", 10);
	ck_assert_int_eq(tpm12_get_counter_value(&b, label, &v), VERR_FORMAT);
	ck_assert_uint_eq(b.off, 0);
	buf_init_reader(&b, (const uint8_t *)"\x00\x0evTPM\x00\x00\x01", 9);
	ck_assert_int_eq(tpm12_get_counter_value(&b, label, &v), VERR_FORMAT);
	ck_assert_uint_eq(b.off, 0);
}
END_TEST

/* TPM_PUBKEY of an RSA key + checksum, as TPM_ReadPubek returns it. */
static size_t
make_pubek(uint8_t *out, EVP_PKEY *pkey, const uint8_t ar[20])
{
	BIGNUM *bn = NULL;
	struct buf b;
	struct tpm12_iov v[2];
	uint8_t sum[20];
	int nlen;
	size_t len;

	ck_assert(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &bn) == 1);
	nlen = BN_num_bytes(bn);
	ck_assert_int_eq(nlen, 256);
	buf_init(&b, 1024);
	ck_assert_int_eq(buf_put_u32(&b, 1), 0);
	ck_assert_int_eq(buf_put_u16(&b, 3), 0);
	ck_assert_int_eq(buf_put_u16(&b, 1), 0);
	ck_assert_int_eq(buf_put_u32(&b, 12), 0);
	ck_assert_int_eq(buf_put_u32(&b, 2048), 0);
	ck_assert_int_eq(buf_put_u32(&b, 2), 0);
	ck_assert_int_eq(buf_put_u32(&b, 0), 0);
	ck_assert_int_eq(buf_put_u32(&b, 256), 0);
	{
		uint8_t *p;

		ck_assert_int_eq(buf_reserve(&b, 256, &p), 0);
		ck_assert_int_eq(BN_bn2binpad(bn, p, 256), 256);
	}
	v[0] = (struct tpm12_iov){ b.d, b.len };
	v[1] = (struct tpm12_iov){ ar, 20 };
	ck_assert_int_eq(tpm12_sha1(v, 2, sum), 0);
	ck_assert_int_eq(buf_put_bytes(&b, sum, 20), 0);
	memcpy(out, b.d, b.len);
	len = b.len;
	buf_free(&b);
	BN_free(bn);
	return len;
}

START_TEST(test_pubek_and_oaep)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	EVP_PKEY_CTX *ctx;
	uint8_t ar[20], pub[600], enc[512], dec[512], auth[20];
	const uint8_t *n;
	size_t nlen, len, enclen, declen;
	uint32_t e;
	char err[256];

	ck_assert_ptr_nonnull(pkey);
	seq20(ar, 0x33);
	len = make_pubek(pub, pkey, ar);
	ck_assert_int_eq(tpm12_parse_pubek(pub, len, ar, &n, &nlen, &e, err, sizeof(err)), 0);
	ck_assert_uint_eq(nlen, 256);
	ck_assert_uint_eq(e, 65537);
	/* Every truncation and every flipped byte of key or checksum fails. */
	for (size_t i = 0; i < len; i++)
		ck_assert_int_eq(tpm12_parse_pubek(pub, i, ar, &n, &nlen, &e, err, sizeof(err)),
				 VERR_FORMAT);
	for (size_t i = 0; i < len; i += 7) {
		pub[i] ^= 0x40;
		ck_assert_int_ne(tpm12_parse_pubek(pub, len, ar, &n, &nlen, &e, err, sizeof(err)), 0);
		pub[i] ^= 0x40;
	}
	ar[0] ^= 1; /* another nonce: a replayed answer */
	ck_assert_int_eq(tpm12_parse_pubek(pub, len, ar, &n, &nlen, &e, err, sizeof(err)),
			 VERR_FORMAT);
	ar[0] ^= 1;
	ck_assert_int_eq(tpm12_parse_pubek(pub, len, ar, &n, &nlen, &e, err, sizeof(err)), 0);

	/* OAEP(SHA-1, label "TCPA") decrypts with the private key. */
	seq20(auth, 0xc0);
	ck_assert_int_eq(tpm12_oaep_encrypt(n, nlen, e, auth, 20, enc, sizeof(enc), &enclen, err,
					    sizeof(err)),
			 0);
	ck_assert_uint_eq(enclen, 256);
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(EVP_PKEY_decrypt_init(ctx), 1);
	ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING), 1);
	ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha1()), 1);
	ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha1()), 1);
	{
		unsigned char *label = OPENSSL_memdup("TCPA", 4);

		ck_assert_int_eq(EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, label, 4), 1);
	}
	declen = sizeof(dec);
	ck_assert_int_eq(EVP_PKEY_decrypt(ctx, dec, &declen, enc, enclen), 1);
	ck_assert_uint_eq(declen, 20);
	ck_assert_mem_eq(dec, auth, 20);
	EVP_PKEY_CTX_free(ctx);
	/* Too small an output buffer is refused, not overrun. */
	ck_assert_int_ne(tpm12_oaep_encrypt(n, nlen, e, auth, 20, enc, 100, &enclen, err,
					    sizeof(err)),
			 0);
	EVP_PKEY_free(pkey);
}
END_TEST

/* ---- a scripted fake TPM socket ----------------------------------------- */

struct fake_rsp {
	uint8_t p[64];
	size_t n;
	int close_after;
};

struct fake {
	char *dir;
	char where[512];
	int lfd;
	pthread_t th;
	struct fake_rsp script[8];
	size_t nscript;
	uint32_t ords[16];
	size_t ncmds;
	int nconns;
};

static size_t
read_n(int fd, uint8_t *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

static void *
fake_main(void *arg)
{
	struct fake *f = arg;
	size_t next = 0;

	while (next < f->nscript) {
		struct pollfd pfd = { .fd = f->lfd, .events = POLLIN };
		struct timeval tv = { .tv_sec = 5 };
		int c;

		if (poll(&pfd, 1, 5000) != 1)
			break;
		c = accept(f->lfd, NULL, NULL);
		if (c < 0)
			break;
		f->nconns++;
		(void)setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		while (next < f->nscript) {
			uint8_t cmd[TPM_FRAME_MAX];
			uint32_t size;

			if (read_n(c, cmd, 10) != 10)
				break;
			size = be32_get(cmd + 2);
			if (size < 10 || size > sizeof(cmd) || read_n(c, cmd + 10, size - 10) != size - 10)
				break;
			if (f->ncmds < 16)
				f->ords[f->ncmds++] = be32_get(cmd + 6);
			(void)send(c, f->script[next].p, f->script[next].n, MSG_NOSIGNAL);
			if (f->script[next++].close_after)
				break;
		}
		close(c);
	}
	return NULL;
}

static void
fake_add(struct fake *f, const void *p, size_t n, int close_after)
{
	ck_assert_uint_lt(f->nscript, 8);
	ck_assert_uint_le(n, 64);
	memcpy(f->script[f->nscript].p, p, n);
	f->script[f->nscript].n = n;
	f->script[f->nscript].close_after = close_after;
	f->nscript++;
}

/* A 10-byte response header. */
static void
fake_add_hdr(struct fake *f, uint16_t tag, uint32_t size, uint32_t rc, const void *body,
	     size_t blen, int close_after)
{
	uint8_t p[64];

	be16_put(p, tag);
	be32_put(p + 2, size);
	be32_put(p + 6, rc);
	if (blen != 0)
		memcpy(p + 10, body, blen);
	fake_add(f, p, 10 + blen, close_after);
}

static void
fake_start(struct fake *f, int tcp)
{
	if (tcp) {
		struct sockaddr_in sin = { .sin_family = AF_INET };
		socklen_t sl = sizeof(sin);

		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(f->lfd, 0);
		ck_assert_int_eq(bind(f->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
		ck_assert_int_eq(getsockname(f->lfd, (struct sockaddr *)&sin, &sl), 0);
		snprintf(f->where, sizeof(f->where), "swtpm:host=127.0.0.1,port=%u",
			 ntohs(sin.sin_port));
	} else {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		f->dir = unit_mkdtemp();
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/s", f->dir);
		snprintf(f->where, sizeof(f->where), "swtpm:path=%s", sun.sun_path);
		f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(f->lfd, 0);
		ck_assert_int_eq(bind(f->lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	}
	ck_assert_int_eq(listen(f->lfd, 4), 0);
	ck_assert_int_eq(pthread_create(&f->th, NULL, fake_main, f), 0);
}

static void
fake_stop(struct fake *f)
{
	pthread_join(f->th, NULL);
	close(f->lfd);
	if (f->dir != NULL) {
		unit_rmtree(f->dir);
		free(f->dir);
	}
}

static int
fake_random(struct fake *f, int tcp, uint8_t *out, size_t len, char *err, size_t errlen)
{
	struct tpm12_host *t = NULL;
	int r;

	fake_start(f, tcp);
	r = tpm12_host_open(f->where, &t, err, errlen);
	if (r == 0)
		r = tpm12_host_random(t, out, len, err, errlen);
	tpm12_host_close(t);
	fake_stop(f);
	return r;
}

START_TEST(test_fake_short)
{
	struct fake f = { 0 };
	uint8_t out[4];
	char err[256];

	fake_add(&f, "\x00\xc4\x00\x00\x00", 5, 1);
	ck_assert_int_eq(fake_random(&f, 0, out, 4, err, sizeof(err)), VERR_FORMAT);
}
END_TEST

START_TEST(test_fake_truncated_body)
{
	struct fake f = { 0 };
	uint8_t out[4];
	char err[256];

	fake_add_hdr(&f, 0xc4, 30, 0, "\x00\x00\x00\x10", 4, 1); /* 14 of 30 bytes */
	ck_assert_int_eq(fake_random(&f, 0, out, 4, err, sizeof(err)), VERR_FORMAT);
}
END_TEST

START_TEST(test_fake_oversized)
{
	struct fake f = { 0 };
	uint8_t out[4];
	char err[256];

	fake_add_hdr(&f, 0xc4, TPM_FRAME_MAX + 1, 0, "\x00\x00\x00\x04", 4, 0);
	ck_assert_int_eq(fake_random(&f, 0, out, 4, err, sizeof(err)), VERR_FORMAT);
	ck_assert_ptr_nonnull(strstr(err, "declares"));
}
END_TEST

START_TEST(test_fake_trailing_bytes)
{
	struct fake f = { 0 };
	uint8_t out[4];
	char err[256];

	/* The header says 14 (0 random bytes), 4 stray bytes follow: the
	 * stream is out of step, so the next command reconnects. */
	fake_add_hdr(&f, 0xc4, 14, 0, "\x00\x00\x00\x00JUNK", 8, 0);
	fake_add_hdr(&f, 0xc4, 18, 0, "\x00\x00\x00\x04WXYZ", 8, 0);
	ck_assert_int_eq(fake_random(&f, 0, out, 4, err, sizeof(err)), 0);
	ck_assert_mem_eq(out, "WXYZ", 4);
	ck_assert_int_eq(f.nconns, 2);
}
END_TEST

START_TEST(test_fake_tag_mismatch)
{
	struct fake f = { 0 };
	uint8_t out[4];
	char err[256];

	fake_add_hdr(&f, 0xc5, 18, 0, "\x00\x00\x00\x04WXYZ", 8, 0);
	ck_assert_int_eq(fake_random(&f, 0, out, 4, err, sizeof(err)), VERR_FORMAT);
	ck_assert_ptr_nonnull(strstr(err, "tag"));
}
END_TEST

START_TEST(test_fake_too_many_random)
{
	struct fake f = { 0 };
	uint8_t out[2];
	char err[256];

	fake_add_hdr(&f, 0xc4, 18, 0, "\x00\x00\x00\x04WXYZ", 8, 0); /* 4 > 2 asked */
	ck_assert_int_eq(fake_random(&f, 0, out, 2, err, sizeof(err)), VERR_FORMAT);
}
END_TEST

START_TEST(test_fake_retry_busy)
{
	struct fake f = { 0 };
	uint8_t out[4];
	char err[256];

	for (int i = 0; i < 5; i++)
		fake_add_hdr(&f, 0xc4, 10, TPM12_RETRY, NULL, 0, 0);
	ck_assert_int_eq(fake_random(&f, 0, out, 4, err, sizeof(err)), VERR_BUSY);
	ck_assert_uint_eq(f.ncmds, 5);
}
END_TEST

START_TEST(test_fake_retry_then_ok_tcp)
{
	struct fake f = { 0 };
	uint8_t out[4];
	char err[256];

	fake_add_hdr(&f, 0xc4, 10, TPM12_RETRY, NULL, 0, 0);
	fake_add_hdr(&f, 0xc4, 10, TPM12_RETRY, NULL, 0, 0);
	fake_add_hdr(&f, 0xc4, 18, 0, "\x00\x00\x00\x04WXYZ", 8, 0);
	ck_assert_int_eq(fake_random(&f, 1, out, 4, err, sizeof(err)), 0);
	ck_assert_mem_eq(out, "WXYZ", 4);
	ck_assert_uint_eq(f.ncmds, 3);
}
END_TEST

/* Only a TPM 1.2 response tag with TPM_RETRY is resent: the same code
 * under a 2.0 tag is malformed, refused at once. */
START_TEST(test_fake_retry_bad_tag)
{
	struct fake f = { 0 };
	uint8_t out[4];
	char err[256];

	fake_add_hdr(&f, 0x8001, 10, TPM12_RETRY, NULL, 0, 0);
	ck_assert_int_eq(fake_random(&f, 0, out, 4, err, sizeof(err)), VERR_FORMAT);
	ck_assert_ptr_nonnull(strstr(err, "tag"));
	ck_assert_uint_eq(f.ncmds, 1);
}
END_TEST

/* The raw path (version probing) resends nothing: the caller gets the
 * TPM's answer, whatever it is. */
START_TEST(test_fake_transmit_no_retry)
{
	static const uint8_t getrandom[14] = { 0, 0xc1, 0, 0, 0, 14, 0, 0, 0, 0x46, 0, 0, 0, 4 };
	struct fake f = { 0 };
	struct tpm12_host *t = NULL;
	uint8_t rsp[64];
	size_t n = 0;
	char err[256];

	fake_add_hdr(&f, 0xc4, 10, TPM12_RETRY, NULL, 0, 0);
	fake_start(&f, 0);
	ck_assert_int_eq(tpm12_host_open(f.where, &t, err, sizeof(err)), 0);
	ck_assert_int_eq(tpm12_host_transmit(t, getrandom, sizeof(getrandom), rsp, &n,
					     sizeof(rsp), err, sizeof(err)),
			 0);
	ck_assert_uint_eq(n, 10);
	ck_assert_uint_eq(be32_get(rsp + 6), TPM12_RETRY);
	tpm12_host_close(t);
	fake_stop(&f);
	ck_assert_uint_eq(f.ncmds, 1);
}
END_TEST

/* An authorised answer whose HMAC is garbage: refused, output unused, and
 * the session terminated. */
START_TEST(test_fake_bad_hmac)
{
	struct fake f = { 0 };
	struct tpm12_host *t = NULL;
	uint8_t body[64], auth[20] = { 0 };
	uint64_t value = 777;
	char err[256];

	be32_put(body, 0x02000000); /* OIAP: authHandle, nonceEven */
	seq20(body + 4, 0x10);
	fake_add_hdr(&f, 0xc4, 34, 0, body, 24, 0);
	memcpy(body, "\x00\x0evTPM\x00\x00\x00\x09", 10); /* counter value 9 */
	seq20(body + 10, 0x20);
	body[30] = 0;
	memset(body + 31, 0xab, 20);
	fake_add_hdr(&f, 0xc5, 61, 0, body, 51, 0);
	fake_add_hdr(&f, 0xc4, 10, 0, NULL, 0, 0); /* TerminateHandle */
	fake_start(&f, 0);
	ck_assert_int_eq(tpm12_host_open(f.where, &t, err, sizeof(err)), 0);
	ck_assert_int_eq(tpm12_host_counter_increment(t, 1, auth, &value, err, sizeof(err)),
			 VERR_FORMAT);
	ck_assert_ptr_nonnull(strstr(err, "HMAC"));
	ck_assert_uint_eq(value, 777);
	tpm12_host_close(t);
	fake_stop(&f);
	ck_assert_uint_eq(f.ncmds, 3);
	ck_assert_uint_eq(f.ords[0], TPM12_ORD_OIAP);
	ck_assert_uint_eq(f.ords[1], TPM12_ORD_INCREMENT_COUNTER);
	ck_assert_uint_eq(f.ords[2], TPM12_ORD_TERMINATE_HANDLE);
}
END_TEST

START_TEST(test_open_errors)
{
	struct tpm12_host *t = (struct tpm12_host *)1;
	char err[256], where[600];
	char *dir = unit_mkdtemp();

	ck_assert_int_eq(tpm12_host_open("bogus", &t, err, sizeof(err)), VERR_INVAL);
	ck_assert_ptr_null(t);
	ck_assert_int_eq(tpm12_host_open("swtpm:host=127.0.0.1", &t, err, sizeof(err)),
			 VERR_INVAL);
	ck_assert_int_eq(tpm12_host_open("swtpm:host=127.0.0.1,port=99999", &t, err, sizeof(err)),
			 VERR_INVAL);
	ck_assert_int_eq(tpm12_host_open("swtpm:host=127.0.0.1,port=1x", &t, err, sizeof(err)),
			 VERR_INVAL);
	ck_assert_int_eq(tpm12_host_open("swtpm:host=127.0.0.1,port=1,x=y", &t, err, sizeof(err)),
			 VERR_INVAL);
	ck_assert_int_eq(tpm12_host_open("device:", &t, err, sizeof(err)), VERR_INVAL);
	/* Not loopback: refused before connecting. */
	ck_assert_int_eq(tpm12_host_open("swtpm:host=192.0.2.1,port=2321", &t, err, sizeof(err)),
			 VERR_NOTPM);
	ck_assert_ptr_nonnull(strstr(err, "loopback"));
	/* Absent socket and device. */
	snprintf(where, sizeof(where), "swtpm:path=%s/none", dir);
	ck_assert_int_eq(tpm12_host_open(where, &t, err, sizeof(err)), VERR_NOTPM);
	snprintf(where, sizeof(where), "device:%s/tpm0", dir);
	ck_assert_int_eq(tpm12_host_open(where, &t, err, sizeof(err)), VERR_NOTPM);
	ck_assert_ptr_null(t);
	unit_rmtree(dir);
	free(dir);
}
END_TEST

/* ---- a real TPM 1.2 (swtpm) --------------------------------------------- */

struct sw {
	char *dir;
	pid_t pid;
	char where[512];
	struct tpm12_host *t;
};

static const uint8_t OWNER[20] = "owner-auth-for-test";
static const uint8_t SRK[20] = { 0 }; /* the well-known SRK auth */

static int
run_quiet(char *const argv[], const char *log)
{
	pid_t pid = fork();
	int st;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		ck_assert_int_eq(errno, EINTR);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void
sw_start(struct sw *s)
{
	char conf[600], log[600], state[600], srv[600], ctrl[600];
	char err[256];
	int fd;

	memset(s, 0, sizeof(*s));
	s->dir = unit_mkdtemp();
	snprintf(conf, sizeof(conf), "%s/setup.conf", s->dir);
	snprintf(log, sizeof(log), "%s/log", s->dir);
	/* An empty config: --createek needs no certificate tool, and the
	 * host's /etc/swtpm_setup.conf must not matter. */
	fd = open(conf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	{
		char *argv[] = { "swtpm_setup", "--tpm-state", s->dir, "--createek",
				 "--config", conf, NULL };

		ck_assert_msg(run_quiet(argv, log) == 0, "swtpm_setup --createek failed (see %s)",
			      log);
	}
	snprintf(state, sizeof(state), "dir=%s", s->dir);
	snprintf(srv, sizeof(srv), "type=unixio,path=%s/s", s->dir);
	snprintf(ctrl, sizeof(ctrl), "type=unixio,path=%s/s.ctrl", s->dir);
	snprintf(s->where, sizeof(s->where), "swtpm:path=%s/s", s->dir);
	s->pid = fork();
	ck_assert_int_ge(s->pid, 0);
	if (s->pid == 0) {
		char *argv[] = { "swtpm", "socket", "--tpmstate", state, "--server", srv,
				 "--ctrl", ctrl, "--flags", "not-need-init,startup-clear", NULL };

		/* A failed assertion ends the test process without sw_stop
		 * (Check's fork mode exits): take swtpm down with it. */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() == 1)
			_exit(126);
		fd = open(log, O_WRONLY | O_APPEND | O_CLOEXEC);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		if (tpm12_host_open(s->where, &s->t, err, sizeof(err)) == 0)
			return;
		ck_assert_msg(waitpid(s->pid, NULL, WNOHANG) == 0, "swtpm exited (see %s)", log);
		usleep(25000);
	}
	ck_abort_msg("swtpm did not come up: %s", err);
}

static void
sw_stop(struct sw *s)
{
	tpm12_host_close(s->t);
	s->t = NULL;
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
			;
		s->pid = 0;
	}
	unit_rmtree(s->dir);
	free(s->dir);
	s->dir = NULL;
}

static void
sw_own(struct sw *s)
{
	char err[256];
	int owned = -1;

	ck_assert_msg(tpm12_host_take_ownership(s->t, OWNER, SRK, err, sizeof(err)) == 0, "%s",
		      err);
	ck_assert_int_eq(tpm12_host_owned(s->t, &owned, err, sizeof(err)), 0);
	ck_assert_int_eq(owned, 1);
}

/* TPM_Extend(pcr, digest) through the raw transport (no auth needed). */
static void
sw_extend(struct sw *s, uint32_t pcr, uint8_t fill)
{
	uint8_t cmd[34], rsp[64];
	size_t n;
	char err[256];

	be16_put(cmd, 0xc1);
	be32_put(cmd + 2, 34);
	be32_put(cmd + 6, TPM12_ORD_EXTEND);
	be32_put(cmd + 10, pcr);
	memset(cmd + 14, fill, 20);
	ck_assert_int_eq(tpm12_host_transmit(s->t, cmd, 34, rsp, &n, sizeof(rsp), err, sizeof(err)),
			 0);
	ck_assert_uint_eq(n, 30);
	ck_assert_uint_eq(be32_get(rsp + 6), 0);
}

START_TEST(test_swtpm_ownership)
{
	struct sw s;
	char err[256], man[5];
	uint8_t r1[300], r2[300], zero[300] = { 0 };
	int owned = -1;

	sw_start(&s);
	ck_assert_msg(tpm12_host_owned(s.t, &owned, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(owned, 0);
	ck_assert_msg(tpm12_host_manufacturer(s.t, man, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_gt(strlen(man), 0);
	ck_assert_msg(tpm12_host_random(s.t, r1, sizeof(r1), err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(tpm12_host_random(s.t, r2, sizeof(r2), err, sizeof(err)), 0);
	ck_assert(memcmp(r1, zero, sizeof(r1)) != 0);
	ck_assert(memcmp(r1, r2, sizeof(r1)) != 0);
	sw_own(&s);
	/* Twice: refused with a clear reason. */
	ck_assert_int_eq(tpm12_host_take_ownership(s.t, OWNER, SRK, err, sizeof(err)),
			 VERR_TPM);
	ck_assert_msg(strstr(err, "owner") != NULL, "%s", err);
	sw_stop(&s);
}
END_TEST

START_TEST(test_swtpm_seal_unseal)
{
	struct sw s;
	struct buf blob;
	uint8_t secret[32], out[64];
	size_t n;
	char err[256];

	sw_start(&s);
	sw_own(&s);
	seq20(secret, 0x41);
	memset(secret + 20, 0x7e, 12);
	buf_init(&blob, 4096);
	ck_assert_msg(tpm12_host_seal(s.t, SRK, secret, 32, 0, &blob, err, sizeof(err)) == 0, "%s",
		      err);
	ck_assert_msg(tpm12_host_unseal(s.t, SRK, blob.d, blob.len, out, &n, sizeof(out), err,
					sizeof(err)) == 0,
		      "%s", err);
	ck_assert_uint_eq(n, 32);
	ck_assert_mem_eq(out, secret, 32);
	/* Too small a buffer for the secret. */
	ck_assert_int_eq(tpm12_host_unseal(s.t, SRK, blob.d, blob.len, out, &n, 16, err,
					   sizeof(err)),
			 VERR_NOSPACE);
	/* Truncated or padded blobs are refused before the TPM sees them. */
	ck_assert_int_eq(tpm12_host_unseal(s.t, SRK, blob.d, blob.len - 1, out, &n, sizeof(out),
					   err, sizeof(err)),
			 VERR_FORMAT);
	/* A damaged encData does not decrypt under this SRK. */
	blob.d[blob.len - 5] ^= 0x55;
	ck_assert_int_eq(tpm12_host_unseal(s.t, SRK, blob.d, blob.len, out, &n, sizeof(out), err,
					   sizeof(err)),
			 VERR_WRONG_TPM);
	buf_free(&blob);

	/* PCR 16 binding: extend → VERR_PCR; sealed again to the new
	 * value → unseals. */
	buf_init(&blob, 4096);
	ck_assert_msg(tpm12_host_seal(s.t, SRK, secret, 32, 1u << 16, &blob, err, sizeof(err)) ==
			      0,
		      "%s", err);
	ck_assert_msg(tpm12_host_unseal(s.t, SRK, blob.d, blob.len, out, &n, sizeof(out), err,
					sizeof(err)) == 0,
		      "%s", err);
	ck_assert_mem_eq(out, secret, 32);
	sw_extend(&s, 16, 0x99);
	ck_assert_int_eq(tpm12_host_unseal(s.t, SRK, blob.d, blob.len, out, &n, sizeof(out), err,
					   sizeof(err)),
			 VERR_PCR);
	ck_assert_msg(strstr(err, "PCR") != NULL, "%s", err);
	buf_reset(&blob);
	ck_assert_int_eq(tpm12_host_seal(s.t, SRK, secret, 32, (1u << 16) | (1u << 0), &blob, err,
					 sizeof(err)),
			 0);
	ck_assert_msg(tpm12_host_unseal(s.t, SRK, blob.d, blob.len, out, &n, sizeof(out), err,
					sizeof(err)) == 0,
		      "%s", err);
	ck_assert_mem_eq(out, secret, 32);
	/* Bad masks and sizes are refused locally. */
	ck_assert_int_eq(tpm12_host_seal(s.t, SRK, secret, 32, 1u << 24, &blob, err, sizeof(err)),
			 VERR_INVAL);
	ck_assert_int_eq(tpm12_host_seal(s.t, SRK, secret, 0, 0, &blob, err, sizeof(err)),
			 VERR_INVAL);
	buf_free(&blob);
	sw_stop(&s);
}
END_TEST

START_TEST(test_swtpm_wrong_srk_auth)
{
	struct sw s;
	struct buf blob;
	uint8_t secret[32] = "the master key, thirty-two bytes", out[64], bad[20];
	size_t n;
	char err[256];

	sw_start(&s);
	sw_own(&s);
	memset(bad, 0xff, sizeof(bad));
	buf_init(&blob, 4096);
	ck_assert_int_eq(tpm12_host_seal(s.t, SRK, secret, 32, 0, &blob, err, sizeof(err)), 0);
	ck_assert_int_eq(tpm12_host_unseal(s.t, bad, blob.d, blob.len, out, &n, sizeof(out), err,
					   sizeof(err)),
			 VERR_TPM_AUTH);
	ck_assert_msg(strstr(err, "--srk-auth") != NULL, "%s", err);
	ck_assert_uint_eq(n, 0);
	buf_reset(&blob);
	ck_assert_int_eq(tpm12_host_seal(s.t, bad, secret, 32, 0, &blob, err, sizeof(err)),
			 VERR_TPM_AUTH);
	ck_assert_uint_eq(blob.len, 0);
	buf_free(&blob);
	sw_stop(&s);
}
END_TEST

START_TEST(test_swtpm_wrong_tpm)
{
	struct sw a, b;
	struct buf blob;
	uint8_t secret[32] = "the master key, thirty-two bytes", out[64];
	size_t n;
	char err[256];

	sw_start(&a);
	sw_start(&b);
	sw_own(&a);
	sw_own(&b); /* same owner and SRK auths: only the chip differs */
	buf_init(&blob, 4096);
	ck_assert_int_eq(tpm12_host_seal(a.t, SRK, secret, 32, 0, &blob, err, sizeof(err)), 0);
	ck_assert_int_eq(tpm12_host_unseal(b.t, SRK, blob.d, blob.len, out, &n, sizeof(out), err,
					   sizeof(err)),
			 VERR_WRONG_TPM);
	ck_assert_msg(strstr(err, "the sealed master key is not from this TPM") != NULL, "%s",
		      err);
	ck_assert_int_eq(tpm12_host_unseal(a.t, SRK, blob.d, blob.len, out, &n, sizeof(out), err,
					   sizeof(err)),
			 0);
	ck_assert_mem_eq(out, secret, 32);
	buf_free(&blob);
	sw_stop(&b);
	sw_stop(&a);
}
END_TEST

START_TEST(test_swtpm_counter)
{
	struct sw s;
	uint8_t cauth[20], bad[20];
	uint32_t id = 0;
	uint64_t v0 = 0, v = 0;
	char err[256];

	sw_start(&s);
	sw_own(&s);
	seq20(cauth, 0x61);
	memset(bad, 0xee, sizeof(bad));
	ck_assert_msg(tpm12_host_counter_create(s.t, OWNER, cauth, &id, &v0, err, sizeof(err)) ==
			      0,
		      "%s", err);
	ck_assert_msg(tpm12_host_counter_read(s.t, id, &v, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(v, v0);
	for (uint64_t i = 1; i <= 3; i++) {
		ck_assert_msg(tpm12_host_counter_increment(s.t, id, cauth, &v, err, sizeof(err)) ==
				      0,
			      "%s", err);
		ck_assert_uint_eq(v, v0 + i);
		ck_assert_int_eq(tpm12_host_counter_read(s.t, id, &v, err, sizeof(err)), 0);
		ck_assert_uint_eq(v, v0 + i);
	}
	/* Wrong auths. */
	ck_assert_int_eq(tpm12_host_counter_increment(s.t, id, bad, &v, err, sizeof(err)),
			 VERR_TPM_AUTH);
	ck_assert_int_eq(tpm12_host_counter_read(s.t, id, &v, err, sizeof(err)), 0);
	ck_assert_uint_eq(v, v0 + 3);
	ck_assert_int_eq(tpm12_host_counter_read(s.t, id + 77, &v, err, sizeof(err)), VERR_TPM);
	{
		uint32_t id2;
		uint64_t w;

		ck_assert_int_eq(tpm12_host_counter_create(s.t, bad, cauth, &id2, &w, err,
							   sizeof(err)),
				 VERR_TPM_AUTH);
	}
	sw_stop(&s);
}
END_TEST

Suite *
tpm12_host_suite(void)
{
	Suite *s = suite_create("tpm12_host");
	TCase *tc = tcase_create("marshal");
	TCase *tf = tcase_create("transport");
	TCase *tw = tcase_create("swtpm");

	tcase_add_test(tc, test_osap_secret_vector);
	tcase_add_test(tc, test_auth_hmac_vector);
	tcase_add_test(tc, test_enc_auth_vector);
	tcase_add_test(tc, test_pcr_composite_vector);
	tcase_add_test(tc, test_srk_params_layout);
	tcase_add_test(tc, test_build_cmd_layout);
	tcase_add_test(tc, test_parse_good_and_flipped);
	tcase_add_test(tc, test_parse_malformed);
	tcase_add_test(tc, test_parse_garbage);
	tcase_add_test(tc, test_stored_data_len);
	tcase_add_test(tc, test_counter_value);
	tcase_add_test(tc, test_pubek_and_oaep);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tcase_add_test(tf, test_fake_short);
	tcase_add_test(tf, test_fake_truncated_body);
	tcase_add_test(tf, test_fake_oversized);
	tcase_add_test(tf, test_fake_trailing_bytes);
	tcase_add_test(tf, test_fake_tag_mismatch);
	tcase_add_test(tf, test_fake_too_many_random);
	tcase_add_test(tf, test_fake_retry_busy);
	tcase_add_test(tf, test_fake_retry_then_ok_tcp);
	tcase_add_test(tf, test_fake_retry_bad_tag);
	tcase_add_test(tf, test_fake_transmit_no_retry);
	tcase_add_test(tf, test_fake_bad_hmac);
	tcase_add_test(tf, test_open_errors);
	tcase_set_timeout(tf, 60);
	suite_add_tcase(s, tf);

	if (!unit_have_tool("swtpm") || !unit_have_tool("swtpm_setup")) {
		unit_skip(s, "tpm12_host/swtpm",
			  "swtpm or swtpm_setup is not installed (scripts/install-deps.sh installs them)");
		return s;
	}
	tcase_add_test(tw, test_swtpm_ownership);
	tcase_add_test(tw, test_swtpm_seal_unseal);
	tcase_add_test(tw, test_swtpm_wrong_srk_auth);
	tcase_add_test(tw, test_swtpm_wrong_tpm);
	tcase_add_test(tw, test_swtpm_counter);
	tcase_set_timeout(tw, 300);
	suite_add_tcase(s, tw);
	return s;
}
