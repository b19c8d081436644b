/*
 * err.c - verr_str(); see err.h.  Owns the fixed message table only and
 * trusts nothing: any int may come in, the unknown ones get "unknown
 * error".  The messages name the meaning, not a module: the caller
 * prefixes what was being done ("export file refused: ..."), and seterr()
 * text says which file or field.
 */
#include "util/err.h"

const char *
verr_str(int code)
{
	switch (code) {
	case 0: return "success";
	case VERR_NOMEM: return "out of memory";
	case VERR_INVAL: return "invalid argument";
	case VERR_SYSTEM: return "system call failed";
	case VERR_IO: return "input/output error";
	case VERR_NOENT: return "no such file or entry";
	case VERR_INCOMPLETE: return "truncated: fewer bytes than the field needs";
	case VERR_NOSPACE: return "too large for its buffer or format";
	case VERR_AGAIN: return "would block: try again later";
	case VERR_EOF: return "closed by the peer";
	case VERR_PROTO: return "protocol violation by the peer";
	case VERR_TIMEOUT: return "timed out";
	case VERR_CANCELED: return "cancelled: the manager is shutting down";
	case VERR_FORMAT: return "malformed, or not the expected format";
	case VERR_AUTH: return "authentication failed: modified, forged, or the wrong key";
	case VERR_CRYPTO: return "crypto library failure";
	case VERR_MISMATCH: return "well formed, but for another vTPM, blob or kind";
	case VERR_OTHERKEY: return "made for a key this host does not hold";
	case VERR_NOKEY: return "encrypted, and no key to open it was given";
	case VERR_BADKEY: return "unsuitable key: wrong type or length";
	case VERR_PLAIN: return "integrity-only (unauthenticated) data: anyone could forge it";
	case VERR_CORRUPT: return "stored data is damaged or failed authentication";
	case VERR_ROLLBACK: return "stored data is older than the manifest records (rollback)";
	case VERR_LOCKED: return "locked by another process";
	case VERR_CERT: return "the certificate could not be made";
	case VERR_TPM: return "the TPM refused the command";
	case VERR_NOTPM: return "no TPM: the device or socket is absent or not answering";
	case VERR_BUSY: return "the TPM is busy";
	case VERR_WRONG_TPM: return "sealed by another TPM, or this TPM was cleared";
	case VERR_PCR: return "PCR values differ from those sealed to";
	case VERR_TPM_AUTH: return "the TPM refused the authorisation";
	case VERR_TPM_NOSPACE: return "the TPM has no NV index or counter left";
	default: return "unknown error";
	}
}
