/*
 * ekcert.h - X.509 certificates of virtual TPMs: the host's vTPM CA
 * (self-signed, or the operator's), EK certificates following the TCG EK
 * Credential Profile as swtpm's localca writes them, and the "ekinfo"
 * record in which the manager remembers a vTPM's EK public keys and
 * certificates.  Pure functions on OpenSSL 3 (no I/O).  Owns nothing.
 * Trusts its callers for the keys it is handed; ekinfo_decode trusts
 * nothing it parses (exact lengths, known kinds, no duplicates).
 *
 * EK certificate (TCG EK Credential Profile for TPM Family 2.0 / 1.2):
 *   version 3, random positive 128-bit serial, issuer = CA subject,
 *   notBefore = now, notAfter = 99991231235959Z (no well-defined expiry),
 *   subject CN=<vTPM UUID> (2.0; empty for 1.2, as the 1.2 profile asks),
 *   SubjectPublicKeyInfo = the EK (rsaEncryption / id-ecPublicKey),
 *   extensions: subjectAltName (critical) directoryName with
 *   tcg-at-tpmManufacturer 2.23.133.2.1, tcg-at-tpmModel 2.23.133.2.2,
 *   tcg-at-tpmVersion 2.23.133.2.3 (UTF8String); basicConstraints
 *   (critical) CA:FALSE; subjectDirectoryAttributes with
 *   tcg-at-tpmSpecification 2.23.133.2.16 {family, level, revision};
 *   authorityKeyIdentifier = CA's subjectKeyIdentifier; keyUsage
 *   (critical) keyEncipherment (RSA) or keyAgreement (ECC); extKeyUsage
 *   tcg-kp-EKCertificate 2.23.133.8.1.  Signed with SHA-384 by a P-384 CA,
 *   SHA-256 by RSA and P-256 CAs.
 */
#ifndef VTPM_CRYPTO_EKCERT_H
#define VTPM_CRYPTO_EKCERT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "util/buf.h"

#define EKCERT_DER_MAX 4096

/* What libtpms 0.9 reports about itself (TPMLIB_GetInfo), as swtpm_setup
 * passes it to swtpm_localca: IBM's TCG vendor id, model, firmware. */
#define EKCERT_MANUFACTURER "id:00001014"
#define EKCERT_MODEL "swtpm"
#define EKCERT_VERSION_TPM2 "id:20191023"
#define EKCERT_VERSION_TPM12 "id:00740001"

struct ekcert_req {
	int tpm2;                /* 1: TPM 2.0 profile; 0: TPM 1.2 */
	EVP_PKEY *ek;            /* the EK public key (RSA or EC) */
	const char *subject_cn;  /* NULL: empty subject */
	const char *manufacturer, *model, *version;
	const char *spec_family; /* "2.0" or "1.2" */
	unsigned spec_level, spec_revision;
};

/* Issues the EK certificate; its DER is appended to der. */
int ekcert_issue(const struct ekcert_req *r, X509 *ca, EVP_PKEY *ca_key, struct buf *der)
	__attribute__((warn_unused_result));
/* The subjectDirectoryAttributes value (DER) for the TPM specification. */
int ekcert_spec_attr(const char *family, unsigned level, unsigned revision, struct buf *out)
	__attribute__((warn_unused_result));

/* A self-signed CA certificate for key: CN=cn, O=vtpm-manager, CA:TRUE
 * (critical), keyCertSign|cRLSign, subject/authority key ids. */
X509 *ca_selfsigned(EVP_PKEY *key, const char *cn);
/* Whether cert is usable as the vTPM CA with key: 0, or -1 with a reason. */
int ca_check(X509 *cert, EVP_PKEY *key, char *err, size_t errlen);

int x509_der(X509 *x, struct buf *out) __attribute__((warn_unused_result));
int x509_pem(X509 *x, struct buf *out) __attribute__((warn_unused_result));
X509 *x509_from_pem(const uint8_t *pem, size_t len);

/* ---- ekinfo: a vTPM's EK public keys and certificates, as recorded ---- */

#define EKINFO_RSA2048 1 /* TPM 2.0 RSA-2048 EK, certificate NV 0x01c00002 */
#define EKINFO_ECCP256 2 /* TPM 2.0 ECC NIST P-256 EK, certificate NV 0x01c0000a */
#define EKINFO_RSA12 3   /* TPM 1.2 EK, certificate NV TPM_NV_INDEX_EKCert */
#define EKINFO_ECCP384 4 /* TPM 2.0 ECC NIST P-384 EK (swtpm_setup's), NV 0x01c00016 */
#define EKINFO_MAX_ENTRIES 4
#define EKINFO_VERSION 1

struct ekinfo_entry {
	uint8_t kind;
	const uint8_t *spki; /* SubjectPublicKeyInfo DER, or NULL when unknown */
	size_t spki_len;
	const uint8_t *cert; /* certificate DER as in NV, or NULL when none */
	size_t cert_len;
};

struct ekinfo {
	unsigned n;
	struct ekinfo_entry e[EKINFO_MAX_ENTRIES];
};

/*
 * Encoding: u8 version (1) | u8 count | count x
 *   { u8 kind | u16 spki_len | spki | u16 cert_len | cert }
 * spki_len <= PKEY_SPKI_MAX, cert_len <= EKCERT_DER_MAX, kinds distinct.
 */
int ekinfo_encode(const struct ekinfo *ei, struct buf *out) __attribute__((warn_unused_result));
/* Decodes exactly len bytes; the entries point into p.  0 or -1. */
int ekinfo_decode(const uint8_t *p, size_t len, struct ekinfo *ei)
	__attribute__((warn_unused_result));
const struct ekinfo_entry *ekinfo_find(const struct ekinfo *ei, uint8_t kind);
/* Adds or replaces the entry of e->kind (pointers are copied, not data). */
int ekinfo_set(struct ekinfo *ei, const struct ekinfo_entry *e);

#endif
