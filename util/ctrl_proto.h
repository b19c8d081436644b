/*
 * ctrl_proto.h - swtpm's control-channel protocol (include/swtpm/tpm_ioctl.h
 * of swtpm, socket variant): command codes, capability bits, and the one
 * framing check for requests from clients (QEMU, tpm2-tss, swtpm_ioctl) and
 * for responses coming back from a vtpmd.
 *
 * Request: u32 cmd (BE) | request body.  Response: body only, always
 * starting with u32 result except GET_CAPABILITY (one u64).  Sizes here are
 * exactly what QEMU 7.2 reads (see ../shared/reference/swtpm-qemu.md §4.2).
 */
#ifndef VTPM_UTIL_CTRL_PROTO_H
#define VTPM_UTIL_CTRL_PROTO_H

#include <stddef.h>
#include <stdint.h>

enum ctrl_cmd {
	CMD_GET_CAPABILITY = 0x01,
	CMD_INIT = 0x02,
	CMD_SHUTDOWN = 0x03,
	CMD_GET_TPMESTABLISHED = 0x04,
	CMD_SET_LOCALITY = 0x05,
	CMD_HASH_START = 0x06,
	CMD_HASH_DATA = 0x07,
	CMD_HASH_END = 0x08,
	CMD_CANCEL_TPM_CMD = 0x09,
	CMD_STORE_VOLATILE = 0x0a,
	CMD_RESET_TPMESTABLISHED = 0x0b,
	CMD_GET_STATEBLOB = 0x0c,
	CMD_SET_STATEBLOB = 0x0d,
	CMD_STOP = 0x0e,
	CMD_GET_CONFIG = 0x0f,
	CMD_SET_DATAFD = 0x10,
	CMD_SET_BUFFERSIZE = 0x11,
	CMD_GET_INFO = 0x12,
	CMD_LOCK_STORAGE = 0x13,
};

/* Capability bits (GET_CAPABILITY). */
#define PTM_CAP_INIT (1u << 0)
#define PTM_CAP_SHUTDOWN (1u << 1)
#define PTM_CAP_GET_TPMESTABLISHED (1u << 2)
#define PTM_CAP_SET_LOCALITY (1u << 3)
#define PTM_CAP_HASHING (1u << 4)
#define PTM_CAP_CANCEL_TPM_CMD (1u << 5)
#define PTM_CAP_STORE_VOLATILE (1u << 6)
#define PTM_CAP_RESET_TPMESTABLISHED (1u << 7)
#define PTM_CAP_GET_STATEBLOB (1u << 8)
#define PTM_CAP_SET_STATEBLOB (1u << 9)
#define PTM_CAP_STOP (1u << 10)
#define PTM_CAP_GET_CONFIG (1u << 11)
#define PTM_CAP_SET_DATAFD (1u << 12)
#define PTM_CAP_SET_BUFFERSIZE (1u << 13)
#define PTM_CAP_GET_INFO (1u << 14)
#define PTM_CAP_SEND_COMMAND_HEADER (1u << 15)
#define PTM_CAP_LOCK_STORAGE (1u << 16)

/* What this project implements (advertised to clients). */
#define VTPM_CTRL_CAPS                                                                      \
	(PTM_CAP_INIT | PTM_CAP_SHUTDOWN | PTM_CAP_GET_TPMESTABLISHED | PTM_CAP_SET_LOCALITY |   \
	 PTM_CAP_HASHING | PTM_CAP_CANCEL_TPM_CMD | PTM_CAP_STORE_VOLATILE |                     \
	 PTM_CAP_RESET_TPMESTABLISHED | PTM_CAP_GET_STATEBLOB | PTM_CAP_SET_STATEBLOB |          \
	 PTM_CAP_STOP | PTM_CAP_GET_CONFIG | PTM_CAP_SET_DATAFD | PTM_CAP_SET_BUFFERSIZE |        \
	 PTM_CAP_GET_INFO | PTM_CAP_LOCK_STORAGE)

#define PTM_INIT_FLAG_DELETE_VOLATILE 1u

/* GET/SET_STATEBLOB: state_flags and blob types. */
#define PTM_STATE_FLAG_DECRYPTED 1u /* GET request: "decrypt with the file key" (none here) */
#define PTM_STATE_FLAG_ENCRYPTED 2u /* GET reply / SET request: the blob is encrypted */
#define PTM_BLOB_TYPE_PERMANENT 1u
#define PTM_BLOB_TYPE_VOLATILE 2u
#define PTM_BLOB_TYPE_SAVESTATE 3u

/* GET_CONFIG flags. */
#define PTM_CONFIG_FLAG_FILE_KEY 1u
#define PTM_CONFIG_FLAG_MIGRATION_KEY 2u

/* Result codes (libtpms tpm_error.h). */
#define CTRL_RES_SUCCESS 0x00
#define CTRL_RES_BAD_PARAMETER 0x03
#define CTRL_RES_FAIL 0x09
#define CTRL_RES_BAD_ORDINAL 0x0a
#define CTRL_RES_SIZE 0x17
#define CTRL_RES_IOERROR 0x1f
#define CTRL_RES_BAD_LOCALITY 0x3d
#define CTRL_RES_RETRY 0x800

/* Largest variable request body (HASH_DATA, SET_STATEBLOB) we accept. */
#define CTRL_HASH_DATA_MAX 4096u
/*
 * State blobs: what clients see (GET_STATEBLOB replies, SET_STATEBLOB
 * requests) is the manager's migration envelope (crypto/migblob.h), at most
 * CTRL_STATEBLOB_MAX bytes; what travels between the manager and a vtpmd is
 * the raw libtpms blob, at most CTRL_STATEBLOB_RAW_MAX, so that its
 * envelope (at most CTRL_STATEBLOB_WRAP_MAX bytes more) still fits.
 */
#define CTRL_STATEBLOB_MAX (128u * 1024)
#define CTRL_STATEBLOB_WRAP_MAX 128u
#define CTRL_STATEBLOB_RAW_MAX (CTRL_STATEBLOB_MAX - CTRL_STATEBLOB_WRAP_MAX)
#define CTRL_REQ_MAX (16u + CTRL_STATEBLOB_MAX) /* cmd + SET_STATEBLOB header + blob */

enum ctrl_parse {
	CTRL_PARSE_OK = 0,          /* *cmd and *total (cmd + body) set */
	CTRL_PARSE_INCOMPLETE = 1,  /* need more bytes */
	CTRL_PARSE_UNKNOWN = -1,    /* unknown command: answer BAD_ORDINAL, drop input */
	CTRL_PARSE_TOO_LARGE = -2,  /* declared body over our limits */
};

/*
 * Frames one request at the start of p[0..avail).  `settled` says the peer
 * has paused (the bytes read so far are all it sent in this write), which
 * decides the two commands whose body QEMU pads to 4 bytes while other
 * clients send 1 (SET_LOCALITY, RESET_TPMESTABLISHED).
 */
enum ctrl_parse ctrl_parse_request(const uint8_t *p, size_t avail, int settled, uint32_t *cmd,
				   size_t *total);

/*
 * Checks a response body produced by a vtpmd for cmd: exact size for the
 * fixed replies, 16 + length for GET_STATEBLOB (a raw blob: length at most
 * CTRL_STATEBLOB_RAW_MAX, so the manager can wrap it), 12 + length for
 * GET_INFO.  Returns 0 when it may be forwarded (GET_STATEBLOB: wrapped
 * first), -1 otherwise.
 */
int ctrl_check_response(uint32_t cmd, const uint8_t *resp, size_t len);

/* Size of a bare-result (u32) error reply for cmd; GET_STATEBLOB and others
 * whose replies are longer get zero-filled fields after the result. */
size_t ctrl_error_reply(uint32_t cmd, uint32_t res, uint8_t *out, size_t outlen);

#endif
