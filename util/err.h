/*
 * err.h - the one error space of every library in this tree (after
 * OpenSSH's ssherr.h): a function that can fail in more than one way
 * returns 0 or a negative VERR_* code, and verr_str() names the code in a
 * fixed string.  Owns nothing; trusts nothing (any int may be asked about).
 *
 * Two channels, on purpose:
 *   - the code is for branching: a caller tests VERR_NOENT or VERR_OTHERKEY
 *     and acts, never parses text;
 *   - the text is for the human: a library that knows more than its code
 *     (which file, which field, what to do) puts one line in its caller's
 *     err buffer with seterr() (util/errmsg.h).
 * Libraries never log and never exit; only the daemon's (or vtpmctl's)
 * edge decides to print, reply or exit.  Codes never cross a process
 * boundary: what goes on a wire or into a file is that protocol's own
 * value (a TPM_RESULT in util/chan.h's NV and READY messages and in
 * util/ctrl_proto.h replies, the status of manager/ctl_proto.h), chosen by
 * the edge from the code.
 *
 * One code per meaning a caller branches on; a code's meaning is the same
 * in every module (VERR_AUTH is a failed MAC or tag wherever it comes
 * from).  A function with a single way of failing (a yes/no check, or a
 * parser whose caller treats every refusal alike and reads err) may
 * still be documented as returning -1; a function that returns VERR_*
 * returns nothing else.
 *
 * errno: VERR_SYSTEM means "a system call failed and errno, preserved up
 * to the return, says why".  The thin system-call layers instead return
 * -errno, and say so at their API, because their callers branch on the
 * errno value itself (ENOENT, EFBIG, ELOOP, EEXIST, EPIPE ...) and print
 * strerror(-r): util/fileio.h, util/sdnotify.h, manager/loop.c's epoll
 * helpers, tcs/host_tpm.c's key-file helpers and vtpmctl's slurp().  A
 * caller above them translates at its own API (store.c: -ENOENT is
 * VERR_NOENT).  The VERR_* values lie below -1000, outside any -errno,
 * so a -errno that leaked into a VERR_ API prints as "unknown error"
 * rather than as some other code's meaning.
 */
#ifndef VTPM_UTIL_ERR_H
#define VTPM_UTIL_ERR_H

enum verr {
	/* generic */
	VERR_NOMEM = -1001,      /* allocation failed */
	VERR_INVAL = -1002,      /* bad argument: a caller's mistake, or a value no field holds */
	VERR_SYSTEM = -1003,     /* a system call failed; errno is preserved */
	VERR_IO = -1004,         /* storage I/O failed (err names the file) */
	VERR_NOENT = -1005,      /* no such file or entry */
	VERR_INCOMPLETE = -1006, /* a read wants more bytes than remain */
	VERR_NOSPACE = -1007,    /* a write would pass a buffer's or a format's limit */
	/* channels and peers */
	VERR_AGAIN = -1008,      /* a non-blocking socket has nothing (or no room) now */
	VERR_EOF = -1009,        /* the peer closed */
	VERR_PROTO = -1010,      /* the peer broke the protocol: treat it as hostile */
	VERR_TIMEOUT = -1011,    /* no answer in time */
	VERR_CANCELED = -1012,   /* given up: the manager is shutting down */
	/* formats and cryptography */
	VERR_FORMAT = -1013,     /* malformed input: magic, version, lengths, fields */
	VERR_AUTH = -1014,       /* MAC, tag or HMAC mismatch: modified, forged or wrong key */
	VERR_CRYPTO = -1015,     /* the crypto library failed */
	VERR_MISMATCH = -1016,   /* well formed, but for another vTPM, blob name or kind */
	VERR_OTHERKEY = -1017,   /* made for a key this host does not hold (another host's
				  * envelope or transport key, another recovery key) */
	VERR_NOKEY = -1018,      /* encrypted, and no key to open it was given or configured */
	VERR_BADKEY = -1019,     /* a key of the wrong type or length for this use */
	VERR_PLAIN = -1020,      /* integrity-only (forgeable) data, refused */
	/* the state directory */
	VERR_CORRUPT = -1021,    /* a stored file is malformed or failed authentication */
	VERR_ROLLBACK = -1022,   /* a stored file is older than the manifest records */
	VERR_LOCKED = -1023,     /* another process holds the lock */
	/* provisioning and TPMs */
	VERR_CERT = -1024,       /* a certificate could not be made */
	VERR_TPM = -1025,        /* the TPM refused a command (or to start from a state) */
	VERR_NOTPM = -1026,      /* the host TPM's device or socket is absent or silent */
	VERR_BUSY = -1027,       /* the TPM stayed busy (retry answers exhausted) */
	VERR_WRONG_TPM = -1028,  /* sealed by another TPM, or this one was cleared */
	VERR_PCR = -1029,        /* PCR values differ from those sealed to */
	VERR_TPM_AUTH = -1030,   /* the TPM refused an owner, SRK or counter authorisation */
	VERR_TPM_NOSPACE = -1031, /* the TPM has no NV index or counter left */
};

/* The codes are exactly VERR_MIN..VERR_MAX; a new one goes at the bottom
 * and moves VERR_MIN (tests/unit/check_err.c walks the range). */
#define VERR_MAX VERR_NOMEM
#define VERR_MIN VERR_TPM_NOSPACE

/* A fixed, one-line description of code: "success" for 0, "unknown
 * error" for anything that is not a VERR_* code.  Never NULL. */
const char *verr_str(int code);

#endif
