/*
 * check_tpm2_sealed.c - tcs/tpm2_sealed: the TPM 2.0 sealed blob without
 * a TPM.  Blobs are made with the builder (tpm2_sealed_put) from the
 * public area tpm2_host_seal asks the TPM for, then cut apart and
 * reassembled with one field wrong at a time: every truncation, each
 * length field too large (with and without the bytes it announces) and too
 * small, each header field, and the object checks.  Each case names the
 * message of the one check that must refuse it, so deleting any check in
 * tpm2_sealed_parse fails a case here, with one exception: the public
 * area's "n == 0" only restates what tss2_mu refuses anyway (a TPMT_PUBLIC
 * cannot unmarshal from no bytes).  Every truncation runs on an exact-size
 * heap copy, so a read past the end shows under ASan.
 */
#include "unit.h"
#include "tcs/tpm2_sealed.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_mu.h>

#define MAX (TPM2_SEALED_MAX + 256)

static char err[256];

/* What tpm2_host_seal gets back from TPM2_Create, with made-up bytes where
 * the TPM would put its own: a keyed-hash data object, USERWITHAUTH
 * without a PCR mask, a 32-byte policy digest with one. */
static void
sample(struct tpm2_sealed *s, uint8_t kind, uint32_t mask, uint16_t namelen, uint16_t privlen)
{
	TPMT_PUBLIC *pa = &s->pub.publicArea;

	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->mask = mask;
	s->pname.size = namelen;
	for (uint16_t i = 0; i < namelen; i++)
		s->pname.name[i] = (uint8_t)(0x40 + i);
	if (namelen >= 2) {
		s->pname.name[0] = 0x00; /* TPM2_ALG_SHA256 */
		s->pname.name[1] = 0x0b;
	}
	pa->type = TPM2_ALG_KEYEDHASH;
	pa->nameAlg = TPM2_ALG_SHA256;
	pa->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT;
	pa->parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
	if (mask == 0) {
		pa->objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
	} else {
		pa->authPolicy.size = 32;
		memset(pa->authPolicy.buffer, 0xa7, 32);
	}
	pa->unique.keyedHash.size = 32;
	memset(pa->unique.keyedHash.buffer, 0x3c, 32);
	s->priv.size = privlen;
	for (uint16_t i = 0; i < privlen; i++)
		s->priv.buffer[i] = (uint8_t)(i * 13 + 1);
}

/* Builds s into b[0..*len) with the builder. */
static void
build(const struct tpm2_sealed *s, uint8_t *b, size_t *len)
{
	struct buf out;

	buf_init(&out, MAX);
	ck_assert_msg(tpm2_sealed_put(s, &out, err, sizeof(err)) == 0, "put: %s", err);
	ck_assert_uint_le(out.len, MAX);
	memcpy(b, out.d, out.len);
	*len = out.len;
	buf_free(&out);
}

/* A built blob cut into its parts: the header, and the bytes (not the
 * size fields) of the three TPM2Bs. */
struct parts {
	uint8_t hdr[TPM2_SEALED_HDR_LEN];
	const uint8_t *f[3];
	size_t n[3];
};

static void
split(const uint8_t *b, size_t len, struct parts *p)
{
	size_t off = TPM2_SEALED_HDR_LEN;

	memcpy(p->hdr, b, TPM2_SEALED_HDR_LEN);
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_le(off + 2, len);
		p->n[i] = be16_get(b + off);
		p->f[i] = b + off + 2;
		off += 2 + p->n[i];
	}
	ck_assert_uint_eq(off, len);
}

/*
 * Reassembles parts into out: field i is written with the size field
 * size[i] (SAME keeps its own) followed by its bytes plus extra[i] more
 * (0x5e) or minus -extra[i] of them, then tail bytes of 0x7f.
 */
#define SAME 0x10000u
static size_t
join(const struct parts *p, const uint32_t size[3], const int extra[3], size_t tail,
     uint8_t *out)
{
	size_t off = TPM2_SEALED_HDR_LEN;

	memcpy(out, p->hdr, TPM2_SEALED_HDR_LEN);
	for (int i = 0; i < 3; i++) {
		size_t n = p->n[i];

		if (extra[i] < 0) {
			ck_assert_uint_ge(n, (size_t)-extra[i]);
			n -= (size_t)-extra[i];
		}
		ck_assert_uint_le(off + 2 + n + (extra[i] > 0 ? (size_t)extra[i] : 0) + tail, MAX);
		be16_put(out + off, (uint16_t)(size[i] == SAME ? n : size[i]));
		memcpy(out + off + 2, p->f[i], n);
		off += 2 + n;
		if (extra[i] > 0) {
			memset(out + off, 0x5e, (size_t)extra[i]);
			off += (size_t)extra[i];
		}
	}
	memset(out + off, 0x7f, tail);
	return off + tail;
}

/* Parses and expects VERR_FORMAT with msg in the reason. */
static void
refused(const uint8_t *b, size_t len, const char *msg, const char *what)
{
	struct tpm2_sealed *s = malloc(sizeof(*s));
	int r;

	ck_assert_ptr_nonnull(s);
	err[0] = '\0';
	r = tpm2_sealed_parse(b, len, s, err, sizeof(err));
	ck_assert_msg(r == VERR_FORMAT, "%s: parse returned %d (%s), want VERR_FORMAT", what,
		      r, err);
	ck_assert_msg(strstr(err, msg) != NULL, "%s: reason \"%s\", want \"%s\"", what, err, msg);
	free(s);
}

static void
accepted(const uint8_t *b, size_t len, struct tpm2_sealed *s, const char *what)
{
	int r = tpm2_sealed_parse(b, len, s, err, sizeof(err));

	ck_assert_msg(r == 0, "%s: parse returned %d (%s)", what, r, err);
}

/* ---- tests ---- */

START_TEST(t_roundtrip)
{
	static const uint32_t masks[] = { 0, 1u << 16, 0x00ffffffu };
	static const uint16_t names[] = { 2, 34, sizeof(((TPM2B_NAME *)0)->name) };
	static const uint16_t privs[] = { 1, 158, sizeof(((TPM2B_PRIVATE *)0)->buffer) };
	struct tpm2_sealed *s = malloc(sizeof(*s)), *t = malloc(sizeof(*t));
	uint8_t b[MAX], c[MAX];
	size_t blen, clen;

	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(t);
	for (uint8_t kind = 1; kind <= 2; kind++)
		for (size_t m = 0; m < 3; m++)
			for (size_t n = 0; n < 3; n++)
				for (size_t p = 0; p < 3; p++) {
					sample(s, kind, masks[m], names[n], privs[p]);
					build(s, b, &blen);
					ck_assert(memcmp(b, "VT2S\0\1", 6) == 0);
					ck_assert_uint_eq(b[6], kind);
					ck_assert_uint_eq(be32_get(b + 8), masks[m]);
					accepted(b, blen, t, "round trip");
					ck_assert_uint_eq(t->kind, kind);
					ck_assert_uint_eq(t->mask, masks[m]);
					ck_assert_uint_eq(t->pname.size, names[n]);
					ck_assert_mem_eq(t->pname.name, s->pname.name, names[n]);
					ck_assert_uint_eq(t->priv.size, privs[p]);
					ck_assert_mem_eq(t->priv.buffer, s->priv.buffer, privs[p]);
					ck_assert(memcmp(&t->pub.publicArea, &s->pub.publicArea,
							 sizeof(TPMT_PUBLIC)) == 0);
					/* ... and back to the same bytes. */
					build(t, c, &clen);
					ck_assert_uint_eq(clen, blen);
					ck_assert_mem_eq(c, b, blen);
				}
	free(s);
	free(t);
}
END_TEST

START_TEST(t_put_appends_or_nothing)
{
	struct tpm2_sealed s;
	struct buf out, small;
	uint8_t b[MAX];
	size_t blen;

	sample(&s, 2, 0, 34, 158);
	build(&s, b, &blen);
	buf_init(&out, MAX);
	ck_assert(buf_put_bytes(&out, "hdr", 3) == 0);
	ck_assert_int_eq(tpm2_sealed_put(&s, &out, err, sizeof(err)), 0);
	ck_assert_uint_eq(out.len, 3 + blen);
	ck_assert_mem_eq(out.d, "hdr", 3);
	ck_assert_mem_eq(out.d + 3, b, blen);
	buf_free(&out);

	/* One byte short: nothing written. */
	buf_init(&small, 3 + blen - 1);
	ck_assert(buf_put_bytes(&small, "hdr", 3) == 0);
	ck_assert_int_eq(tpm2_sealed_put(&s, &small, err, sizeof(err)), VERR_NOSPACE);
	ck_assert_uint_eq(small.len, 3);
	buf_free(&small);

	/* A TPM2B too large for its type does not marshal. */
	s.pname.size = sizeof(s.pname.name) + 1;
	buf_init(&out, MAX);
	ck_assert_int_eq(tpm2_sealed_put(&s, &out, err, sizeof(err)), VERR_INVAL);
	ck_assert_uint_eq(out.len, 0);
	buf_free(&out);
}
END_TEST

/* Every truncation is refused, by the check of the field it cuts. */
START_TEST(t_truncations)
{
	struct tpm2_sealed s;
	struct parts p;
	uint8_t b[MAX], *m;
	size_t blen, name_end, pub_end;

	for (uint32_t mask = 0; mask <= 1; mask++) {
		sample(&s, 1, mask << 3, 34, 158);
		build(&s, b, &blen);
		split(b, blen, &p);
		name_end = TPM2_SEALED_HDR_LEN + 2 + p.n[0];
		pub_end = name_end + 2 + p.n[1];
		for (size_t n = 0; n < blen; n++) {
			const char *msg = n < TPM2_SEALED_HDR_LEN ? "truncated"
					  : n < name_end	  ? "parent name"
					  : n < pub_end		  ? "public area"
								  : "private area";

			/* An exact-size copy, so a read past n is a read past
			 * the allocation. */
			m = malloc(n == 0 ? 1 : n);
			ck_assert_ptr_nonnull(m);
			memcpy(m, b, n);
			refused(m, n, msg, "truncation");
			free(m);
		}
	}
	refused(NULL, 0, "truncated", "NULL");
	refused(NULL, 100, "truncated", "NULL with a length");
}
END_TEST

/*
 * Each length field: too large by one with the byte there (the field then
 * holds a byte too many), too large by one without it (it eats the next
 * field), at the limit of its type plus one, 0xffff, too small, and zero.
 */
START_TEST(t_lengths)
{
	const size_t name_max = sizeof(((TPM2B_NAME *)0)->name);
	const size_t priv_max = sizeof(((TPM2B_PRIVATE *)0)->buffer);
	struct tpm2_sealed *s = malloc(sizeof(*s));
	struct parts p, pbig;
	uint8_t b[MAX], big[MAX], m[MAX];
	size_t blen, biglen, n;

	ck_assert_ptr_nonnull(s);
	sample(s, 1, 0, 34, 158);
	build(s, b, &blen);
	split(b, blen, &p);
	/* The same blob with name and private area at their largest. */
	sample(s, 1, 0, (uint16_t)name_max, (uint16_t)priv_max);
	build(s, big, &biglen);
	split(big, biglen, &pbig);

#define J(sz0, sz1, sz2, x0, x1, x2, tail)                                                 \
	join(&p, (const uint32_t[3]){ sz0, sz1, sz2 }, (const int[3]){ x0, x1, x2 }, tail, m)
#define JB(sz0, sz1, sz2, x0, x1, x2, tail)                                                \
	join(&pbig, (const uint32_t[3]){ sz0, sz1, sz2 }, (const int[3]){ x0, x1, x2 }, tail, m)

	/* The reassembly itself is faithful. */
	n = J(SAME, SAME, SAME, 0, 0, 0, 0);
	ck_assert_uint_eq(n, blen);
	ck_assert_mem_eq(m, b, blen);

	/* Parent name: n > sizeof(name), n < 2, n past the end. */
	n = JB(name_max + 1, SAME, SAME, 1, 0, 0, 0);
	refused(m, n, "parent name", "name one byte over its type, bytes present");
	n = J(1, SAME, SAME, -33, 0, 0, 0);
	refused(m, n, "parent name", "name of 1 byte");
	n = J(0, SAME, SAME, -34, 0, 0, 0);
	refused(m, n, "parent name", "name of 0 bytes");
	n = J(0xffff, SAME, SAME, 0, 0, 0, 0);
	refused(m, n, "parent name", "name size 0xffff");
	n = J(35, SAME, SAME, 0, 0, 0, 0);
	ck_assert_int_ne(tpm2_sealed_parse(m, n, s, err, sizeof(err)), 0);

	/* Public area: its size must be exactly what the TPMT consumes. */
	n = J(SAME, (uint32_t)p.n[1] + 1, SAME, 0, 1, 0, 0);
	refused(m, n, "public area", "public size one over, byte present");
	n = J(SAME, (uint32_t)p.n[1] - 1, SAME, 0, -1, 0, 0);
	refused(m, n, "public area", "public size one short");
	n = J(SAME, 0, SAME, 0, -(int)p.n[1], 0, 0);
	refused(m, n, "public area", "public size 0");
	n = J(SAME, 0xffff, SAME, 0, 0, 0, 0);
	refused(m, n, "public area", "public size 0xffff");
	n = J(SAME, (uint32_t)p.n[1] + 1, SAME, 0, 0, 0, 0);
	ck_assert_int_ne(tpm2_sealed_parse(m, n, s, err, sizeof(err)), 0);

	/* Private area: 1..sizeof(buffer), present in full, last. */
	n = JB(SAME, SAME, priv_max + 1, 0, 0, 1, 0);
	refused(m, n, "private area", "private one byte over its type, bytes present");
	n = J(SAME, SAME, 0, 0, 0, -158, 0);
	refused(m, n, "private area", "private of 0 bytes");
	n = J(SAME, SAME, 159, 0, 0, 0, 0);
	refused(m, n, "private area", "private size one over, byte absent");
	n = J(SAME, SAME, 0xffff, 0, 0, 0, 0);
	refused(m, n, "private area", "private size 0xffff");
	n = J(SAME, SAME, 157, 0, 0, 0, 0);
	refused(m, n, "after the private area", "private size one short");
	n = J(SAME, SAME, SAME, 0, 0, 0, 1);
	refused(m, n, "after the private area", "a trailing byte");
	n = JB(SAME, SAME, SAME, 0, 0, 0, 0);
	accepted(m, n, s, "name and private at their largest");
#undef J
#undef JB
	free(s);
}
END_TEST

/* The TPM2Bs inside the public area: tss2_mu holds them to their types. */
START_TEST(t_inner_lengths)
{
	struct tpm2_sealed s;
	struct parts p;
	uint8_t b[MAX], m[MAX];
	size_t blen, at;

	sample(&s, 1, 1, 34, 158);
	build(&s, b, &blen);
	split(b, blen, &p);
	/* type, nameAlg, attributes, then authPolicy's size. */
	at = (size_t)(p.f[1] - b) + 8;
	ck_assert_uint_eq(be16_get(b + at), 32);
	memcpy(m, b, blen);
	be16_put(m + at, 65);
	refused(m, blen, "public area", "authPolicy size 65");
	be16_put(m + at, 33);
	refused(m, blen, "public area", "authPolicy size one over");
	/* unique.keyedHash's size: the last two bytes before its 32. */
	at = (size_t)(p.f[1] - b) + p.n[1] - 34;
	ck_assert_uint_eq(be16_get(b + at), 32);
	memcpy(m, b, blen);
	be16_put(m + at, 65);
	refused(m, blen, "public area", "unique size 65");
	be16_put(m + at, 31);
	refused(m, blen, "public area", "unique size one short");
}
END_TEST

START_TEST(t_header)
{
	struct tpm2_sealed s;
	uint8_t b[MAX], m[MAX];
	size_t blen;

	sample(&s, 2, 0, 34, 158);
	build(&s, b, &blen);
	for (size_t i = 0; i < 4; i++) {
		memcpy(m, b, blen);
		m[i] ^= 0x20;
		refused(m, blen, "bad magic", "magic");
	}
	for (unsigned v = 0; v < 4; v++) {
		if (v == TPM2_SEALED_VERSION)
			continue;
		memcpy(m, b, blen);
		be16_put(m + 4, (uint16_t)v);
		refused(m, blen, "unknown version", "version");
	}
	memcpy(m, b, blen);
	be16_put(m + 4, 0x0101);
	refused(m, blen, "unknown version", "version 0x0101");
	for (unsigned k = 0; k < 256; k++) {
		if (k == 1 || k == 2)
			continue;
		memcpy(m, b, blen);
		m[6] = (uint8_t)k;
		refused(m, blen, "bad header", "parent kind");
	}
	memcpy(m, b, blen);
	m[7] = 1;
	refused(m, blen, "bad header", "reserved byte");
	for (int bit = 24; bit < 32; bit++) {
		memcpy(m, b, blen);
		be32_put(m + 8, 1u << bit);
		refused(m, blen, "bad header", "PCR mask above 23");
	}
}
END_TEST

/* What tpm2_host_seal never makes, well formed all the same. */
START_TEST(t_not_sealed_data)
{
	struct tpm2_sealed s;
	uint8_t b[MAX];
	size_t blen;

	sample(&s, 1, 0, 34, 158);
	s.pub.publicArea.nameAlg = TPM2_ALG_SHA1;
	build(&s, b, &blen);
	refused(b, blen, "not a sealed data object", "nameAlg sha1");

	sample(&s, 1, 0, 34, 158);
	s.pub.publicArea.objectAttributes &= ~TPMA_OBJECT_FIXEDTPM;
	build(&s, b, &blen);
	refused(b, blen, "not a sealed data object", "without fixedTPM");

	sample(&s, 1, 0, 34, 158);
	s.pub.publicArea.objectAttributes &= ~TPMA_OBJECT_FIXEDPARENT;
	build(&s, b, &blen);
	refused(b, blen, "not a sealed data object", "without fixedParent");

	sample(&s, 1, 0, 34, 158);
	s.pub.publicArea.objectAttributes |= TPMA_OBJECT_SIGN_ENCRYPT;
	build(&s, b, &blen);
	refused(b, blen, "not a sealed data object", "a signing key");

	sample(&s, 1, 0, 34, 158);
	s.pub.publicArea.objectAttributes |= TPMA_OBJECT_DECRYPT;
	build(&s, b, &blen);
	refused(b, blen, "not a sealed data object", "a decrypt key");

	sample(&s, 1, 0, 34, 158);
	s.pub.publicArea.objectAttributes |= TPMA_OBJECT_RESTRICTED;
	build(&s, b, &blen);
	refused(b, blen, "not a sealed data object", "restricted");

	sample(&s, 1, 0, 34, 158);
	s.pub.publicArea.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_HMAC;
	s.pub.publicArea.parameters.keyedHashDetail.scheme.details.hmac.hashAlg = TPM2_ALG_SHA256;
	build(&s, b, &blen);
	refused(b, blen, "not a sealed data object", "an HMAC key");

	sample(&s, 1, 0, 34, 158);
	s.pub.publicArea.type = TPM2_ALG_SYMCIPHER;
	s.pub.publicArea.parameters.symDetail.sym.algorithm = TPM2_ALG_AES;
	s.pub.publicArea.parameters.symDetail.sym.keyBits.aes = 128;
	s.pub.publicArea.parameters.symDetail.sym.mode.aes = TPM2_ALG_CFB;
	s.pub.publicArea.unique.sym.size = 32;
	build(&s, b, &blen);
	refused(b, blen, "not a sealed data object", "a symmetric key");

	/* The header's mask and the object's authorisation must agree. */
	sample(&s, 1, 1u << 16, 34, 158);
	s.pub.publicArea.objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
	build(&s, b, &blen);
	refused(b, blen, "disagree", "mask, and userWithAuth");
	sample(&s, 1, 1u << 16, 34, 158);
	s.pub.publicArea.authPolicy.size = 0;
	build(&s, b, &blen);
	refused(b, blen, "disagree", "mask, no policy");
	sample(&s, 1, 1u << 16, 34, 158);
	s.pub.publicArea.authPolicy.size = 20;
	build(&s, b, &blen);
	refused(b, blen, "disagree", "mask, a sha1-sized policy");
	sample(&s, 1, 0, 34, 158);
	s.pub.publicArea.authPolicy.size = 32;
	build(&s, b, &blen);
	refused(b, blen, "disagree", "no mask, a policy");
	sample(&s, 1, 0, 34, 158);
	s.pub.publicArea.objectAttributes &= ~TPMA_OBJECT_USERWITHAUTH;
	build(&s, b, &blen);
	refused(b, blen, "disagree", "no mask, no userWithAuth");
}
END_TEST

Suite *
tpm2_sealed_suite(void)
{
	Suite *s = suite_create("tpm2_sealed");
	TCase *tc = tcase_create("format");

	tcase_add_test(tc, t_roundtrip);
	tcase_add_test(tc, t_put_appends_or_nothing);
	tcase_add_test(tc, t_truncations);
	tcase_add_test(tc, t_lengths);
	tcase_add_test(tc, t_inner_lengths);
	tcase_add_test(tc, t_header);
	tcase_add_test(tc, t_not_sealed_data);
	suite_add_tcase(s, tc);
	return s;
}
