/*
 * tpmclient.h - a small blocking client for the test tools and the
 * benchmark: TPM commands over a UNIX stream socket (swtpm's data socket or
 * the manager's <uuid>.sock), swtpm control commands over <path>.ctrl, and
 * the FIFO backend's frames (u32 instance BE | TPM packet).  Plus builders
 * for the few TPM 2.0 / 1.2 commands the tests and the benchmark send.
 *
 * Test code, but it reads replies from the program under test, so every
 * length from the wire is checked (util/tpm_frame.h) before it is used.
 * Functions return 0 (or a length / fd) on success and a negative errno
 * otherwise: -ETIMEDOUT (deadline passed), -EPIPE (peer closed; *got, where
 * offered, says how many reply bytes had arrived), -EBADMSG (a header size
 * out of range), -EMSGSIZE (caller's buffer too small), -ENOBUFS (builder
 * overflow).  Callers should ignore SIGPIPE (the tools do): writes to a
 * closed peer then fail with -EPIPE instead of killing the process.
 */
#ifndef VTPM_TESTS_TPMCLIENT_H
#define VTPM_TESTS_TPMCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/tpm_frame.h"

#define TC_TIMEOUT_MS 10000

/* TPM 2.0 constants used by the builders. */
#define TC_TPM2_CC_NV_UNDEFINE 0x00000122u
#define TC_TPM2_CC_NV_DEFINE 0x0000012au
#define TC_TPM2_CC_NV_WRITE 0x00000137u
#define TC_TPM2_CC_STARTUP 0x00000144u
#define TC_TPM2_CC_NV_READ 0x0000014eu
#define TC_TPM2_CC_GET_RANDOM 0x0000017bu
#define TC_TPM2_CC_PCR_EXTEND 0x00000182u
#define TC_TPM2_CC_CREATE_PRIMARY 0x00000131u
#define TC_TPM2_CC_FLUSH_CONTEXT 0x00000165u
#define TC_TPM2_RH_OWNER 0x40000001u
#define TC_TPM2_RS_PW 0x40000009u
#define TC_TPM2_ALG_SHA256 0x000bu
#define TC_TPM2_SU_CLEAR 0x0000u
#define TC_TPM2_SU_STATE 0x0001u
#define TC_TPMA_NV_OWNERWRITE 0x00000002u
#define TC_TPMA_NV_AUTHWRITE 0x00000004u
#define TC_TPMA_NV_OWNERREAD 0x00020000u
#define TC_TPMA_NV_AUTHREAD 0x00040000u
#define TC_TPM12_ORD_GET_RANDOM 0x00000046u

/* Nanoseconds on CLOCK_MONOTONIC (for deadlines and the benchmark). */
uint64_t tc_now_ns(void);

/* Connects a SOCK_STREAM (CLOEXEC, blocking once connected) to a UNIX
 * socket path; returns the fd or -errno (-ENAMETOOLONG for a path that does
 * not fit sun_path).  A full listen backlog is retried for up to
 * TC_TIMEOUT_MS, then -ETIMEDOUT (a plain swtpm accepts one client). */
int tc_connect(const char *path);
/* Same, also retrying ENOENT/ECONNREFUSED every 200 us until timeout_ms. */
int tc_connect_retry(const char *path, int timeout_ms);

/* Writes all of p (write_full); -EPIPE etc. on failure. */
int tc_send(int fd, const void *p, size_t len);
/* Reads exactly len bytes before the deadline (tc_now_ns() based, 0 = no
 * deadline).  *got (may be NULL) counts the bytes read, also on failure. */
int tc_recv_exact(int fd, void *p, size_t len, uint64_t deadline_ns, size_t *got);

/*
 * Reads one TPM response: the 10-byte header, checked with tpm_frame_check
 * against TPM_FRAME_MAX, then the body.  On success *resplen is the size
 * from the header.  *got (may be NULL) counts bytes read, also on failure.
 */
int tc_tpm_recv(int fd, uint8_t *resp, size_t respmax, size_t *resplen, int timeout_ms,
		size_t *got);
/* Sends cmd and reads the response. */
int tc_tpm_transact(int fd, const uint8_t *cmd, size_t cmdlen, uint8_t *resp, size_t respmax,
		    size_t *resplen, int timeout_ms);

/* Response code of a response of at least 10 bytes (UINT32_MAX otherwise). */
uint32_t tc_tpm_rc(const uint8_t *resp, size_t len);

/*
 * Control channel: sends u32 cmd (BE) | body, then reads the reply.  The
 * expected size comes from the command (util/ctrl_proto.h); GET_STATEBLOB
 * and GET_INFO replies are read up to their length fields.  A reply whose
 * leading u32 result is non-zero may be shorter than a success reply
 * (swtpm sends the bare result for some errors): after the result, the rest
 * is read only if it arrives within 200 ms.  *resplen is what was read.
 * GET_CAPABILITY's reply has no result field: always 8 bytes.  respmax
 * must be at least 16 (-EMSGSIZE otherwise, or when a variable reply does
 * not fit).
 */
int tc_ctrl_cmd(int fd, uint32_t cmd, const uint8_t *body, size_t bodylen, uint8_t *resp,
		size_t respmax, size_t *resplen, int timeout_ms);
/* Size of a successful reply for cmd; 0 for the variable ones. */
size_t tc_ctrl_reply_size(uint32_t cmd);
/* "getcap" / "GET_CAPABILITY" / "0x01" -> code; -1 when unknown. */
long tc_ctrl_code(const char *name);

/*
 * FIFO backend.  tc_fifo_open() opens <dir>/out for reading (non-blocking,
 * first, so the manager finds a reader) and <dir>/in for writing; -ENXIO
 * when nobody reads <dir>/in.  A frame is written with one write(2), so
 * frames up to PIPE_BUF are never interleaved with another writer's.
 */
struct tc_fifo {
	int in;  /* we write here */
	int out; /* we read replies here */
};
int tc_fifo_open(struct tc_fifo *f, const char *dir);
void tc_fifo_close(struct tc_fifo *f);
int tc_fifo_send(struct tc_fifo *f, uint32_t instance, const uint8_t *pkt, size_t len);
/* Sends raw bytes to <dir>/in as they are (hostile-input tests). */
int tc_fifo_send_raw(struct tc_fifo *f, const uint8_t *p, size_t len);
/* Reads one reply frame: instance, then a TPM response as tc_tpm_recv. */
int tc_fifo_recv(struct tc_fifo *f, uint32_t *instance, uint8_t *resp, size_t respmax,
		 size_t *resplen, int timeout_ms);
/* Reads frames until one for `instance` arrives (others are counted in
 * *skipped, may be NULL, and dropped). */
int tc_fifo_recv_for(struct tc_fifo *f, uint32_t instance, uint8_t *resp, size_t respmax,
		     size_t *resplen, int timeout_ms, unsigned *skipped);

/*
 * Command builders: each resets out and writes one whole command, size
 * field included.  out should allow TPM_FRAME_MAX bytes.  Authorised
 * commands use one password session (TPM_RS_PW) with an empty password.
 */
int tc_build_tpm2_startup(struct buf *out, uint16_t su);
int tc_build_tpm2_getrandom(struct buf *out, uint16_t n);
int tc_build_tpm2_pcr_extend_sha256(struct buf *out, uint32_t pcr, const uint8_t digest[32]);
int tc_build_tpm2_nv_define(struct buf *out, uint32_t index, uint16_t size, uint32_t attrs);
int tc_build_tpm2_nv_undefine(struct buf *out, uint32_t index);
int tc_build_tpm2_nv_write(struct buf *out, uint32_t index, const uint8_t *data, uint16_t len,
			   uint16_t offset);
int tc_build_tpm2_nv_read(struct buf *out, uint32_t index, uint16_t len, uint16_t offset);
int tc_build_tpm12_getrandom(struct buf *out, uint32_t n);
/* CreatePrimary under the owner hierarchy: an RSA-2048 restricted storage
 * key (the SRK template) whose unique field holds `unique`, so every call
 * with a new value generates a new key pair. */
int tc_build_tpm2_create_primary_rsa2048(struct buf *out, uint32_t unique);
int tc_build_tpm2_flush_context(struct buf *out, uint32_t handle);

/*
 * Response parsers: check rc == 0 and the layout, then point *data into
 * resp.  Return 0, -EBADMSG (malformed) or -EPROTO (TPM error; *rc set).
 */
int tc_parse_tpm2_getrandom(const uint8_t *resp, size_t len, const uint8_t **data,
			    size_t *dlen, uint32_t *rc);
int tc_parse_tpm2_nv_read(const uint8_t *resp, size_t len, const uint8_t **data, size_t *dlen,
			  uint32_t *rc);
int tc_parse_tpm12_getrandom(const uint8_t *resp, size_t len, const uint8_t **data,
			     size_t *dlen, uint32_t *rc);
/* The object handle of a successful CreatePrimary response. */
int tc_parse_tpm2_create_primary(const uint8_t *resp, size_t len, uint32_t *handle,
				 uint32_t *rc);

/* Hex helpers: tc_hex_decode accepts upper/lower case, ignores spaces and
 * ':'; returns the byte count or -EINVAL / -EMSGSIZE. */
long tc_hex_decode(const char *s, uint8_t *out, size_t outmax);
void tc_hex_print(const uint8_t *p, size_t len); /* to stdout, with newline */

#endif
