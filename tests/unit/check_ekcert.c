/*
 * check_ekcert.c - crypto/ekcert: the vTPM CA and EK certificates, and the
 * ekinfo record.  The TCG attributes are compared byte for byte with what
 * swtpm's localca writes (DER taken from a certificate made by
 * swtpm_setup 0.7.1 on this machine); certificates verify under their CA
 * and carry the EK profile's extensions; a non-CA certificate or a
 * mismatched key is refused as CA; ekinfo round-trips, and every
 * truncation, duplicate, unknown kind or trailing byte is refused.
 */
#include "unit.h"
#include "crypto/ekcert.h"
#include "crypto/pkey.h"

#include <string.h>

#include <openssl/x509v3.h>

/* From swtpm_setup 0.7.1's EK certificate (openssl asn1parse). */
static const uint8_t swtpm_sda20[] = { 0x30, 0x19, 0x30, 0x17, 0x06, 0x05, 0x67, 0x81, 0x05,
				       0x02, 0x10, 0x31, 0x0e, 0x30, 0x0c, 0x0c, 0x03, 0x32,
				       0x2e, 0x30, 0x02, 0x01, 0x00, 0x02, 0x02, 0x00, 0xa4 };
static const char swtpm_san_hex[] =
	"3046a444304231163014060567810502010c0b69643a30303030313031343110300e06056781050202"
	"0c05737774706d31163014060567810502030c0b69643a3230313931303233";
/* The same for TPM 1.2: family "1.2", level 2, revision 116. */
static const uint8_t sda12[] = { 0x30, 0x18, 0x30, 0x16, 0x06, 0x05, 0x67, 0x81, 0x05,
				 0x02, 0x10, 0x31, 0x0d, 0x30, 0x0b, 0x0c, 0x03, 0x31,
				 0x2e, 0x32, 0x02, 0x01, 0x02, 0x02, 0x01, 0x74 };

static EVP_PKEY *ca_key, *ek_rsa, *ek_ec;
static X509 *ca;

static void
setup(void)
{
	ck_assert_ptr_nonnull(ca_key = pkey_gen_p384());
	ck_assert_ptr_nonnull(ca = ca_selfsigned(ca_key, "test CA"));
	ck_assert_ptr_nonnull(ek_rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048));
	ck_assert_ptr_nonnull(ek_ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"));
}

static void
teardown(void)
{
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(ek_rsa);
	EVP_PKEY_free(ek_ec);
	X509_free(ca);
}

static X509 *
issue(EVP_PKEY *ek, int tpm2)
{
	struct ekcert_req rq = { tpm2, ek, tpm2 ? "11111111-2222-4333-8444-555555555555" : NULL,
				 EKCERT_MANUFACTURER, EKCERT_MODEL,
				 tpm2 ? EKCERT_VERSION_TPM2 : EKCERT_VERSION_TPM12,
				 tpm2 ? "2.0" : "1.2", tpm2 ? 0 : 2, tpm2 ? 164 : 116 };
	struct buf der;
	const unsigned char *p;
	X509 *x;

	buf_init(&der, EKCERT_DER_MAX);
	ck_assert_int_eq(ekcert_issue(&rq, ca, ca_key, &der), 0);
	p = der.d;
	x = d2i_X509(NULL, &p, (long)der.len);
	ck_assert_ptr_nonnull(x);
	ck_assert_ptr_eq(p, der.d + der.len);
	buf_free(&der);
	return x;
}

/* The DER value of extension oid of x, and whether it is critical. */
static const ASN1_OCTET_STRING *
ext_value(X509 *x, const char *oid, int *critical)
{
	ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
	int i = X509_get_ext_by_OBJ(x, o, -1);
	X509_EXTENSION *e;

	ASN1_OBJECT_free(o);
	ck_assert_msg(i >= 0, "extension %s missing", oid);
	e = X509_get_ext(x, i);
	*critical = X509_EXTENSION_get_critical(e);
	return X509_EXTENSION_get_data(e);
}

static void
hex_of(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

START_TEST(test_spec_attr_matches_swtpm)
{
	struct buf b;

	buf_init(&b, 256);
	ck_assert_int_eq(ekcert_spec_attr("2.0", 0, 164, &b), 0);
	ck_assert_uint_eq(b.len, sizeof(swtpm_sda20));
	ck_assert_mem_eq(b.d, swtpm_sda20, sizeof(swtpm_sda20));
	buf_reset(&b);
	ck_assert_int_eq(ekcert_spec_attr("1.2", 2, 116, &b), 0);
	ck_assert_uint_eq(b.len, sizeof(sda12));
	ck_assert_mem_eq(b.d, sda12, sizeof(sda12));
	buf_reset(&b);
	ck_assert_int_eq(ekcert_spec_attr("", 0, 0, &b), -1);
	buf_free(&b);
}
END_TEST

static void
check_profile(X509 *x, int rsa, int tpm2)
{
	const ASN1_OCTET_STRING *v;
	char hex[512];
	int crit;
	EVP_PKEY *capub = X509_get0_pubkey(ca);

	ck_assert_int_eq(X509_verify(x, capub), 1);
	ck_assert_int_eq(X509_get_version(x), X509_VERSION_3);
	ck_assert_int_eq(X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(ca)), 0);
	ck_assert_int_eq(X509_NAME_entry_count(X509_get_subject_name(x)), tpm2 ? 1 : 0);
	/* SAN: critical, byte for byte swtpm's (TPM 2.0 values). */
	v = ext_value(x, "2.5.29.17", &crit);
	ck_assert_int_eq(crit, 1);
	if (tpm2) {
		hex_of(ASN1_STRING_get0_data(v), (size_t)ASN1_STRING_length(v), hex);
		ck_assert_str_eq(hex, swtpm_san_hex);
	}
	/* basicConstraints critical CA:FALSE */
	v = ext_value(x, "2.5.29.19", &crit);
	ck_assert_int_eq(crit, 1);
	ck_assert_int_eq(ASN1_STRING_length(v), 2);
	ck_assert_mem_eq(ASN1_STRING_get0_data(v), "\x30\x00", 2);
	/* subjectDirectoryAttributes */
	v = ext_value(x, "2.5.29.9", &crit);
	ck_assert_int_eq(crit, 0);
	if (tpm2)
		ck_assert_mem_eq(ASN1_STRING_get0_data(v), swtpm_sda20, sizeof(swtpm_sda20));
	else
		ck_assert_mem_eq(ASN1_STRING_get0_data(v), sda12, sizeof(sda12));
	/* keyUsage: keyEncipherment (RSA) / keyAgreement (ECC), critical */
	v = ext_value(x, "2.5.29.15", &crit);
	ck_assert_int_eq(crit, 1);
	ck_assert_mem_eq(ASN1_STRING_get0_data(v), rsa ? "\x03\x02\x05\x20" : "\x03\x02\x03\x08", 4);
	/* extKeyUsage tcg-kp-EKCertificate */
	v = ext_value(x, "2.5.29.37", &crit);
	ck_assert_mem_eq(ASN1_STRING_get0_data(v), "\x30\x07\x06\x05\x67\x81\x05\x08\x01", 9);
	/* AKID = the CA's SKID */
	ck_assert_ptr_nonnull(X509_get0_authority_key_id(x));
	ck_assert_int_eq(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x),
					       X509_get0_subject_key_id(ca)), 0);
	ck_assert_int_eq(ASN1_TIME_cmp_time_t(X509_get0_notAfter(x), 253402300798), 1);
	ck_assert_int_eq(EVP_PKEY_eq(X509_get0_pubkey(x), rsa ? ek_rsa : ek_ec), 1);
}

START_TEST(test_ek_certs)
{
	X509 *x;

	check_profile(x = issue(ek_rsa, 1), 1, 1);
	X509_free(x);
	check_profile(x = issue(ek_ec, 1), 0, 1);
	X509_free(x);
	check_profile(x = issue(ek_rsa, 0), 1, 0);
	X509_free(x);
}
END_TEST

START_TEST(test_ca_check)
{
	char err[256];
	EVP_PKEY *other = pkey_gen_p384();
	X509 *ek = issue(ek_rsa, 1);

	ck_assert_int_eq(ca_check(ca, ca_key, err, sizeof(err)), 0);
	ck_assert_int_eq(X509_check_ca(ca), 1);
	ck_assert_int_eq(ca_check(ca, other, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "the CA certificate does not belong to the CA key");
	ck_assert_int_eq(ca_check(ek, ek_rsa, err, sizeof(err)), -1);
	EVP_PKEY_free(other);
	X509_free(ek);
}
END_TEST

START_TEST(test_pem_armor)
{
	struct buf pem, der;
	X509 *x = issue(ek_ec, 1), *y;

	buf_init(&pem, 8192);
	buf_init(&der, 8192);
	ck_assert_int_eq(x509_der(x, &der), 0);
	ck_assert_int_eq(pem_armor("CERTIFICATE", der.d, der.len, &pem), 0);
	ck_assert_ptr_nonnull(y = x509_from_pem(pem.d, pem.len));
	ck_assert_int_eq(X509_cmp(x, y), 0);
	ck_assert_int_eq(pem_armor("CERTIFICATE", der.d, 0, &pem), -1);
	X509_free(x);
	X509_free(y);
	buf_free(&pem);
	buf_free(&der);
}
END_TEST

START_TEST(test_ekinfo_roundtrip_and_malformed)
{
	static const uint8_t spki[] = "spki bytes", cert[] = "a certificate";
	struct ekinfo ei, back;
	struct ekinfo_entry e1 = { EKINFO_RSA2048, spki, 10, cert, 13 },
			    e2 = { EKINFO_ECCP256, spki, 10, NULL, 0 };
	struct buf b;
	uint8_t bad[512];

	memset(&ei, 0, sizeof(ei));
	ck_assert_int_eq(ekinfo_set(&ei, &e1), 0);
	ck_assert_int_eq(ekinfo_set(&ei, &e2), 0);
	ck_assert_int_eq(ekinfo_set(&ei, &e1), 0); /* replaces */
	ck_assert_uint_eq(ei.n, 2);
	buf_init(&b, 4096);
	ck_assert_int_eq(ekinfo_encode(&ei, &b), 0);
	ck_assert_int_eq(ekinfo_decode(b.d, b.len, &back), 0);
	ck_assert_uint_eq(back.n, 2);
	ck_assert_ptr_nonnull(ekinfo_find(&back, EKINFO_RSA2048));
	ck_assert_mem_eq(ekinfo_find(&back, EKINFO_RSA2048)->cert, cert, 13);
	ck_assert_ptr_null(ekinfo_find(&back, EKINFO_ECCP256)->cert);
	ck_assert_ptr_null(ekinfo_find(&back, EKINFO_RSA12));
	for (size_t n = 0; n < b.len; n++)
		ck_assert_msg(ekinfo_decode(b.d, n, &back) == -1, "truncated to %zu accepted", n);
	memcpy(bad, b.d, b.len);
	bad[b.len] = 0;
	ck_assert_int_eq(ekinfo_decode(bad, b.len + 1, &back), -1); /* trailing byte */
	bad[0] = 2;
	ck_assert_int_eq(ekinfo_decode(bad, b.len, &back), -1); /* version */
	memcpy(bad, b.d, b.len);
	bad[2] = 9;
	ck_assert_int_eq(ekinfo_decode(bad, b.len, &back), -1); /* kind */
	memcpy(bad, b.d, b.len);
	bad[2 + 1 + 2 + 10 + 2 + 13] = EKINFO_RSA2048;
	ck_assert_int_eq(ekinfo_decode(bad, b.len, &back), -1); /* duplicate kind */
	buf_free(&b);
}
END_TEST

Suite *
ekcert_suite(void)
{
	Suite *s = suite_create("ekcert");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_spec_attr_matches_swtpm);
	tcase_add_test(tc, test_ek_certs);
	tcase_add_test(tc, test_ca_check);
	tcase_add_test(tc, test_pem_armor);
	tcase_add_test(tc, test_ekinfo_roundtrip_and_malformed);
	suite_add_tcase(s, tc);
	return s;
}
