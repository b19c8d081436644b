/*
 * tpm_frame.h - the one place where TPM command and response headers from
 * untrusted peers (guests, tools, vtpmd) are validated, and where error
 * responses are built.
 *
 * A TPM packet starts with tag(2) | size(4) | code(4), big-endian; size
 * counts the whole packet.  We accept 10 <= size <= max (max is the
 * negotiated buffer size, at most TPM_FRAME_MAX).
 */
#ifndef VTPM_UTIL_TPM_FRAME_H
#define VTPM_UTIL_TPM_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define TPM_HDR_SIZE 10
#define TPM_FRAME_MAX 4096

/* Tags. */
#define TPM2_ST_NO_SESSIONS 0x8001
#define TPM2_ST_SESSIONS 0x8002
#define TPM12_TAG_RQU_COMMAND 0x00c1
#define TPM12_TAG_RQU_AUTH1 0x00c2
#define TPM12_TAG_RQU_AUTH2 0x00c3
#define TPM12_TAG_RSP_COMMAND 0x00c4

/* Response codes used by the framing layer. */
#define TPM2_RC_FAILURE 0x101
#define TPM2_RC_COMMAND_SIZE 0x142
#define TPM2_RC_INITIALIZE 0x100
#define TPM12_FAIL 0x09
#define TPM12_BAD_PARAM_SIZE 0x19
#define TPM12_INVALID_POSTINIT 0x26
#define TPM2_RC_RETRY 0x922  /* TPM_RC_RETRY: the TPM is busy, resubmit */
#define TPM12_RETRY 0x800    /* TPM_RETRY */

enum tpm_frame_status {
	TPM_FRAME_OK = 0,        /* a whole packet of *size bytes is present */
	TPM_FRAME_INCOMPLETE = 1, /* header or body not yet complete; *size set once known */
	TPM_FRAME_BAD = -1,       /* header size out of range: reject */
};

/*
 * Checks the first avail bytes of a packet.  On TPM_FRAME_OK and (once the
 * header is complete) on TPM_FRAME_INCOMPLETE, *size is the packet size from
 * the header, already range-checked against max.
 */
enum tpm_frame_status tpm_frame_check(const uint8_t *p, size_t avail, size_t max,
				      uint32_t *size);

/*
 * Checks a packet delivered as one message (FIFO frame body, Xen page,
 * channel message): the header size must equal len exactly.
 */
int tpm_frame_exact(const uint8_t *p, size_t len, size_t max);

/*
 * Writes a 10-byte error response to out, choosing the response tag from
 * the request's tag (2.0 tags -> 0x8001, anything else -> 1.2's 0x00c4).
 * req may be NULL or shorter than 2 bytes; then is_tpm2 decides.
 */
void tpm_frame_error(uint8_t out[TPM_HDR_SIZE], const uint8_t *req, size_t reqlen,
		     int is_tpm2, uint32_t rc);

/* The 2.0 or 1.2 "general failure" code for the request's generation. */
uint32_t tpm_frame_fail_code(const uint8_t *req, size_t reqlen, int is_tpm2);

#endif
