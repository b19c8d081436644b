/*
 * ekcert.c - the vTPM CA and EK certificates, and the ekinfo record; see
 * ekcert.h for the profile.  Owns no state.  Trusts the keys it is handed
 * by the manager; ekinfo_decode trusts nothing it parses.
 */
#include "crypto/ekcert.h"
#include "crypto/pkey.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

/* The digest the CA signs with, by its key. */
static const EVP_MD *
sign_md(EVP_PKEY *key)
{
	switch (pkey_kind(key, NULL)) {
	case PKEY_P384: return EVP_sha384();
	case PKEY_P256:
	case PKEY_RSA: return EVP_sha256();
	default: return EVP_sha256();
	}
}

static int
set_random_serial(X509 *x)
{
	uint8_t r[16];
	BIGNUM *bn = NULL;
	ASN1_INTEGER *ai = NULL;
	int ok = 0;

	if (RAND_bytes(r, sizeof(r)) != 1)
		return -1;
	r[0] &= 0x7f; /* positive */
	r[0] |= 0x40; /* and of full length */
	if ((bn = BN_bin2bn(r, sizeof(r), NULL)) != NULL &&
	    (ai = BN_to_ASN1_INTEGER(bn, NULL)) != NULL && X509_set_serialNumber(x, ai) == 1)
		ok = 1;
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	return ok ? 0 : -1;
}

static int
set_validity(X509 *x)
{
	/* RFC 5280 4.1.2.5: 99991231235959Z means no well-defined expiration;
	 * an EK certificate must outlive any VM. */
	if (X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    ASN1_TIME_set_string_X509(X509_getm_notAfter(x), "99991231235959Z") != 1)
		return -1;
	return 0;
}

/* Adds an extension given in OpenSSL's configuration syntax. */
static int
add_ext_conf(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
	int ok;

	if (e == NULL)
		return -1;
	ok = X509_add_ext(x, e, -1) == 1;
	X509_EXTENSION_free(e);
	return ok ? 0 : -1;
}

static int
add_ext_der(X509 *x, const char *oid, int critical, const uint8_t *der, size_t len)
{
	ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *e = NULL;
	int ok = 0;

	if (o != NULL && os != NULL && len <= INT_MAX &&
	    ASN1_OCTET_STRING_set(os, der, (int)len) == 1 &&
	    (e = X509_EXTENSION_create_by_OBJ(NULL, o, critical, os)) != NULL)
		ok = X509_add_ext(x, e, -1) == 1;
	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(o);
	return ok ? 0 : -1;
}

/* A DER INTEGER of a small non-negative value. */
static int
der_uint(struct buf *b, unsigned v)
{
	uint8_t t[5];
	int n = 0;

	do {
		t[4 - n++] = (uint8_t)v;
		v >>= 8;
	} while (v != 0);
	if (t[5 - n] & 0x80)
		t[4 - n++] = 0; /* keep it positive */
	if (buf_put_u8(b, 0x02) != 0 || buf_put_u8(b, (uint8_t)n) != 0 ||
	    buf_put_bytes(b, t + 5 - n, (size_t)n) != 0)
		return -1;
	return 0;
}

/* tag | short-form length | content: every structure here is < 128 bytes. */
static int
der_wrap(struct buf *out, uint8_t tag, const struct buf *content)
{
	if (content->len > 127 || buf_put_u8(out, tag) != 0 ||
	    buf_put_u8(out, (uint8_t)content->len) != 0 ||
	    (content->len != 0 && buf_put_bytes(out, content->d, content->len) != 0))
		return -1;
	return 0;
}

int
ekcert_spec_attr(const char *family, unsigned level, unsigned revision, struct buf *out)
{
	/* SEQUENCE OF Attribute { tcg-at-tpmSpecification,
	 *   SET { TPMSpecification { family UTF8String, level INTEGER,
	 *   revision INTEGER } } } */
	static const uint8_t oid[] = { 0x06, 0x05, 0x67, 0x81, 0x05, 0x02, 0x10 };
	struct buf spec, seq, set, attr, t;
	size_t fl = strlen(family);
	int r = -1;

	buf_init(&spec, 128);
	buf_init(&seq, 128);
	buf_init(&set, 128);
	buf_init(&attr, 128);
	buf_init(&t, 128);
	if (fl == 0 || fl > 16)
		goto out;
	if (buf_put_u8(&spec, 0x0c) != 0 || buf_put_u8(&spec, (uint8_t)fl) != 0 ||
	    buf_put_bytes(&spec, family, fl) != 0 || der_uint(&spec, level) != 0 ||
	    der_uint(&spec, revision) != 0 || der_wrap(&seq, 0x30, &spec) != 0 ||
	    der_wrap(&set, 0x31, &seq) != 0 || buf_put_bytes(&t, oid, sizeof(oid)) != 0 ||
	    buf_put_bytes(&t, set.d, set.len) != 0 || der_wrap(&attr, 0x30, &t) != 0 ||
	    der_wrap(out, 0x30, &attr) != 0)
		goto out;
	r = 0;
out:
	buf_free(&spec);
	buf_free(&seq);
	buf_free(&set);
	buf_free(&attr);
	buf_free(&t);
	return r;
}

/* subjectAltName: directoryName { manufacturer, model, version }, each an
 * RDN of its own, UTF8String values (as swtpm_cert writes them). */
static int
add_tpm_san(X509 *x, const struct ekcert_req *r)
{
	static const char *const oids[3] = { "2.23.133.2.1", "2.23.133.2.2", "2.23.133.2.3" };
	const char *vals[3] = { r->manufacturer, r->model, r->version };
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	X509_NAME *dn = X509_NAME_new();
	int ok = 0;

	if (gens == NULL || gn == NULL || dn == NULL)
		goto out;
	for (int i = 0; i < 3; i++) {
		ASN1_OBJECT *o = OBJ_txt2obj(oids[i], 1);
		int added = o != NULL && vals[i] != NULL && strlen(vals[i]) <= 64 &&
			    X509_NAME_add_entry_by_OBJ(dn, o, MBSTRING_UTF8,
						       (const unsigned char *)vals[i], -1, -1,
						       0) == 1;
		ASN1_OBJECT_free(o);
		if (!added)
			goto out;
	}
	GENERAL_NAME_set0_value(gn, GEN_DIRNAME, dn);
	dn = NULL;
	if (sk_GENERAL_NAME_push(gens, gn) <= 0)
		goto out;
	gn = NULL;
	ok = X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 1, X509V3_ADD_DEFAULT) == 1;
out:
	X509_NAME_free(dn);
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(gens);
	return ok ? 0 : -1;
}

int
ekcert_issue(const struct ekcert_req *r, X509 *ca, EVP_PKEY *ca_key, struct buf *der)
{
	X509 *x = X509_new();
	X509_NAME *subj = X509_NAME_new();
	X509V3_CTX ctx;
	struct buf sda;
	int rsa = pkey_kind(r->ek, NULL) == PKEY_RSA, ok = 0;

	buf_init(&sda, 256);
	if (x == NULL || subj == NULL || r->ek == NULL || ca == NULL || ca_key == NULL)
		goto out;
	if (r->subject_cn != NULL &&
	    X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8,
				       (const unsigned char *)r->subject_cn, -1, -1, 0) != 1)
		goto out;
	if (X509_set_version(x, X509_VERSION_3) != 1 || set_random_serial(x) != 0 ||
	    X509_set_issuer_name(x, X509_get_subject_name(ca)) != 1 ||
	    X509_set_subject_name(x, subj) != 1 || set_validity(x) != 0 ||
	    X509_set_pubkey(x, r->ek) != 1)
		goto out;
	X509V3_set_ctx(&ctx, ca, x, NULL, NULL, 0);
	if (add_tpm_san(x, r) != 0 ||
	    add_ext_conf(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
	    ekcert_spec_attr(r->spec_family, r->spec_level, r->spec_revision, &sda) != 0 ||
	    add_ext_der(x, "2.5.29.9", 0, sda.d, sda.len) != 0 ||
	    add_ext_conf(x, &ctx, NID_authority_key_identifier, "keyid:always") != 0 ||
	    add_ext_conf(x, &ctx, NID_key_usage,
			 rsa ? "critical,keyEncipherment" : "critical,keyAgreement") != 0 ||
	    add_ext_conf(x, &ctx, NID_ext_key_usage, "2.23.133.8.1") != 0)
		goto out;
	if (X509_sign(x, ca_key, sign_md(ca_key)) <= 0)
		goto out;
	ok = x509_der(x, der) == 0;
out:
	buf_free(&sda);
	X509_NAME_free(subj);
	X509_free(x);
	return ok ? 0 : -1;
}

X509 *
ca_selfsigned(EVP_PKEY *key, const char *cn)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX ctx;
	int ok = 0;

	if (x == NULL || n == NULL)
		goto out;
	if (X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)"vtpm-manager",
				       -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
				       0) != 1)
		goto out;
	if (X509_set_version(x, X509_VERSION_3) != 1 || set_random_serial(x) != 0 ||
	    X509_set_issuer_name(x, n) != 1 || X509_set_subject_name(x, n) != 1 ||
	    set_validity(x) != 0 || X509_set_pubkey(x, key) != 1)
		goto out;
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if (add_ext_conf(x, &ctx, NID_basic_constraints, "critical,CA:TRUE") != 0 ||
	    add_ext_conf(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign") != 0 ||
	    add_ext_conf(x, &ctx, NID_subject_key_identifier, "hash") != 0 ||
	    add_ext_conf(x, &ctx, NID_authority_key_identifier, "keyid:always") != 0)
		goto out;
	ok = X509_sign(x, key, sign_md(key)) > 0;
out:
	X509_NAME_free(n);
	if (!ok) {
		X509_free(x);
		x = NULL;
	}
	return x;
}

int
ca_check(X509 *cert, EVP_PKEY *key, char *err, size_t errlen)
{
	if (X509_check_private_key(cert, key) != 1) {
		snprintf(err, errlen, "the CA certificate does not belong to the CA key");
		return -1;
	}
	/* 1 = CA:TRUE with keyCertSign (or no keyUsage) in OpenSSL's terms. */
	if (X509_check_ca(cert) != 1) {
		snprintf(err, errlen, "the CA certificate is not a CA certificate "
			 "(basicConstraints CA:TRUE and keyUsage keyCertSign are needed)");
		return -1;
	}
	if (X509_get0_subject_key_id(cert) == NULL) {
		snprintf(err, errlen, "the CA certificate has no subjectKeyIdentifier, which EK "
			 "certificates refer to");
		return -1;
	}
	return 0;
}

int
x509_der(X509 *x, struct buf *out)
{
	unsigned char *p = NULL;
	int n = i2d_X509(x, &p), r;

	if (n <= 0)
		return -1;
	r = buf_put_bytes(out, p, (size_t)n) == 0 ? 0 : -1;
	OPENSSL_free(p);
	return r;
}

int
x509_pem(X509 *x, struct buf *out)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL;
	long n;
	int r = -1;

	if (b == NULL)
		return -1;
	if (PEM_write_bio_X509(b, x) == 1 && (n = BIO_get_mem_data(b, &p)) > 0)
		r = buf_put_bytes(out, p, (size_t)n) == 0 ? 0 : -1;
	BIO_free(b);
	return r;
}

X509 *
x509_from_pem(const uint8_t *pem, size_t len)
{
	BIO *b;
	X509 *x;

	if (pem == NULL || len == 0 || len > PKEY_PEM_MAX ||
	    (b = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return NULL;
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	return x;
}

/* ---------------------------------------------------------------- ekinfo */

static int
kind_valid(uint8_t k)
{
	return k == EKINFO_RSA2048 || k == EKINFO_ECCP256 || k == EKINFO_RSA12 || k == EKINFO_ECCP384;
}

int
ekinfo_encode(const struct ekinfo *ei, struct buf *out)
{
	if (ei->n > EKINFO_MAX_ENTRIES || buf_put_u8(out, EKINFO_VERSION) != 0 ||
	    buf_put_u8(out, (uint8_t)ei->n) != 0)
		return -1;
	for (unsigned i = 0; i < ei->n; i++) {
		const struct ekinfo_entry *e = &ei->e[i];

		if (!kind_valid(e->kind) || e->spki_len > PKEY_SPKI_MAX ||
		    e->cert_len > EKCERT_DER_MAX || buf_put_u8(out, e->kind) != 0 ||
		    buf_put_u16(out, (uint16_t)e->spki_len) != 0 ||
		    (e->spki_len != 0 && buf_put_bytes(out, e->spki, e->spki_len) != 0) ||
		    buf_put_u16(out, (uint16_t)e->cert_len) != 0 ||
		    (e->cert_len != 0 && buf_put_bytes(out, e->cert, e->cert_len) != 0))
			return -1;
	}
	return 0;
}

int
ekinfo_decode(const uint8_t *p, size_t len, struct ekinfo *ei)
{
	struct buf b;
	uint8_t ver, n;
	uint16_t l;

	memset(ei, 0, sizeof(*ei));
	buf_init_reader(&b, p, len);
	if (buf_get_u8(&b, &ver) != 0 || ver != EKINFO_VERSION || buf_get_u8(&b, &n) != 0 ||
	    n > EKINFO_MAX_ENTRIES)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		struct ekinfo_entry *e = &ei->e[i];

		if (buf_get_u8(&b, &e->kind) != 0 || !kind_valid(e->kind) ||
		    ekinfo_find(ei, e->kind) != NULL)
			return -1;
		if (buf_get_u16(&b, &l) != 0 || l > PKEY_SPKI_MAX ||
		    buf_get_direct(&b, &e->spki, l) != 0)
			return -1;
		e->spki_len = l;
		if (buf_get_u16(&b, &l) != 0 || l > EKCERT_DER_MAX ||
		    buf_get_direct(&b, &e->cert, l) != 0)
			return -1;
		e->cert_len = l;
		if (e->spki_len == 0)
			e->spki = NULL;
		if (e->cert_len == 0)
			e->cert = NULL;
		ei->n = i + 1;
	}
	if (buf_avail(&b) != 0) {
		memset(ei, 0, sizeof(*ei));
		return -1;
	}
	return 0;
}

const struct ekinfo_entry *
ekinfo_find(const struct ekinfo *ei, uint8_t kind)
{
	for (unsigned i = 0; i < ei->n && i < EKINFO_MAX_ENTRIES; i++)
		if (ei->e[i].kind == kind)
			return &ei->e[i];
	return NULL;
}

int
ekinfo_set(struct ekinfo *ei, const struct ekinfo_entry *e)
{
	for (unsigned i = 0; i < ei->n; i++) {
		if (ei->e[i].kind == e->kind) {
			ei->e[i] = *e;
			return 0;
		}
	}
	if (ei->n >= EKINFO_MAX_ENTRIES || !kind_valid(e->kind))
		return -1;
	ei->e[ei->n++] = *e;
	return 0;
}
