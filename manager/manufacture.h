/*
 * manufacture.h - what a TPM vendor does at the factory, done in the
 * vTPM's own libtpms through a private vtpmd (manager/vdrive.h), the way
 * swtpm_setup drives swtpm: EKs from the TCG default templates and their
 * certificates in NV, PCR bank selection; and the reverse, reading a
 * vTPM's EKs and certificates (after an import, or for `vtpmctl ek`).
 *
 * TPM 2.0 (TCG EK Credential Profile 2.0, templates L-1, L-2, H-3):
 *   RSA-2048 EK: CreatePrimary(endorsement) with template L-1, its
 *     certificate at NV 0x01c00002;
 *   ECC NIST P-256 EK: template L-2, certificate at NV 0x01c0000a;
 *   (reading only) ECC NIST P-384 EK, template H-3, certificate at
 *     0x01c00016, as swtpm_setup makes them.
 *   Certificate indices are defined with platform authorization:
 *   PLATFORMCREATE | AUTHREAD | OWNERREAD | PPREAD | PPWRITE | NO_DA |
 *   WRITEDEFINE, written in 1024-byte chunks, then NV_WriteLock'ed (as
 *   swtpm_setup --lock-nvram).  --pcr-banks: PCR_Allocate (platform) and a
 *   power cycle.  The EKs are not made persistent (like a real chip: a
 *   client recreates them from the template, e.g. tpm2_createek).
 * TPM 1.2: TSC_PhysicalPresence (enable, present), PhysicalEnable,
 *   PhysicalSetDeactivated(FALSE), CreateEndorsementKeyPair (RSA-2048,
 *   checksum verified), the certificate with the TCG PC Client stored-cert
 *   header in NV TPM_NV_INDEX_EKCert (0x1000f000, OWNERREAD|OWNERWRITE),
 *   then the NV lock (TPM_NV_INDEX_LOCK), as swtpm_setup --lock-nvram.
 *   The TPM is left unowned.
 *
 * Trusts: nothing the vtpmd returns.  Every response is a whole frame
 * (vdrive) and is parsed here with bounds checks; a created EK must match
 * the template in everything but its unique field.  Runs on a worker
 * thread: touches nothing of the manager's but what it is handed.
 */
#ifndef VTPM_MANAGER_MANUFACTURE_H
#define VTPM_MANAGER_MANUFACTURE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "manager/vdrive.h"
#include "util/buf.h"
#include "util/uuid.h"

/* --pcr-banks */
#define MF_BANK_SHA1 0x01
#define MF_BANK_SHA256 0x02
#define MF_BANK_SHA384 0x04
#define MF_BANK_SHA512 0x08
#define MF_BANK_ALL 0x0f

#define MF_NV_EKCERT_RSA2048 0x01c00002u
#define MF_NV_EKCERT_ECCP256 0x01c0000au
#define MF_NV_EKCERT_ECCP384 0x01c00016u
#define MF_NV_EKCERT_TPM12 0x1000f000u

/*
 * mf_manufacture and mf_inspect return 0 or a negative VERR_* (util/err.h)
 * with the reason in err: VERR_TPM the vTPM refused a command (or, from
 * vdrive_start, to start from the state given), VERR_FORMAT a response did
 * not parse or match, VERR_CERT a certificate could not be made, and
 * vdrive.h's codes for the vtpmd itself.  The parsers return VERR_FORMAT.
 */

struct mf_signer {
	EVP_PKEY *key; /* the CA private key, decoded for this job only */
	X509 *cert;
};

struct mf_request {
	int tpm2;
	int ek_certs;        /* EKs with certificates */
	uint32_t pcr_banks;  /* MF_BANK_*; 0: libtpms' default (all) */
	char uuid_str[UUID_STR_LEN];
};

/*
 * Manufactures a new vTPM in a fresh vtpmd: its permanent state is
 * appended to permall and its EK record (crypto/ekcert.h ekinfo) to
 * ekinfo.  ca may be NULL when rq->ek_certs is 0.
 */
int mf_manufacture(const struct vdrive_spawn *sp, const struct mf_request *rq,
		   const struct mf_signer *ca, struct buf *permall, struct buf *ekinfo, char *err,
		   size_t errlen) __attribute__((warn_unused_result));

/*
 * Starts a vtpmd on existing state (blobs[i] present when has[i]) to prove
 * that libtpms loads it (VERR_TPM otherwise), then reads what it can
 * of the EKs and their certificates into ekinfo.  Nothing it changes is
 * kept.
 */
int mf_inspect(const struct vdrive_spawn *sp, int tpm2, const char *uuid_str,
	       const struct buf blobs[BLOB_COUNT], const int has[BLOB_COUNT], struct buf *ekinfo,
	       char *err, size_t errlen) __attribute__((warn_unused_result));

/* ---- pure parts, exposed for the unit tests and the fuzzer ---- */

enum mf_ek { MF_EK_RSA2048 = 0, MF_EK_ECCP256 = 1, MF_EK_ECCP384 = 2 };

/* TPM2_CreatePrimary(endorsement, template of ek) into cmd. */
int mf_build_createprimary(enum mf_ek ek, struct buf *cmd) __attribute__((warn_unused_result));
/* Parses its response: the object handle and the EK public key; the
 * public area must equal the template except for the unique field. */
int mf_parse_createprimary(enum mf_ek ek, const uint8_t *resp, size_t len, uint32_t *handle,
			   EVP_PKEY **pub) __attribute__((warn_unused_result));
/* TPM_CreateEndorsementKeyPair / TPM_ReadPubek response: the RSA key, if
 * the checksum over it and nonce is right. */
int mf_parse_pubek12(const uint8_t *resp, size_t len, const uint8_t nonce[20], EVP_PKEY **pub)
	__attribute__((warn_unused_result));
/* The TCG PC Client stored full-certificate header around a 1.2 EK cert. */
int mf_tcg12_wrap(const uint8_t *der, size_t len, struct buf *out)
	__attribute__((warn_unused_result));
/* And off again: *der points into p. */
int mf_tcg12_unwrap(const uint8_t *p, size_t len, const uint8_t **der, size_t *dlen)
	__attribute__((warn_unused_result));

#endif
