/*
 * chan.h - the manager <-> vtpmd channel: an AF_UNIX SOCK_SEQPACKET
 * socketpair created by the manager and inherited by vtpmd at spawn.
 *
 * One message per packet: type(u32 BE) | len(u32 BE) | payload[len], plus at
 * most one file descriptor (SCM_RIGHTS).  chan_recv() is the single framing
 * check for this boundary: a packet that was truncated, whose len does not
 * equal the bytes received, that exceeds CHAN_MAX_PAYLOAD or that carries
 * more than one fd is rejected as VERR_PROTO.  Per-type payload checks are
 * done by the handlers with chan_payload_exact()/min() style helpers.
 *
 * The channel IS the identity of a vTPM: nothing in a payload names an
 * instance, so a vtpmd cannot speak for another.
 *
 * Message types and payloads (all integers big-endian):
 *
 *  manager -> vtpmd
 *   CHAN_CTRL       u32 cmd | swtpm control request bytes   -> CHAN_CTRL_RESP
 *   CHAN_TPM_CMD    TPM command packet                      -> CHAN_TPM_RESP
 *   CHAN_LISTEN_FD  (empty) + fd: listening data socket to accept on
 *   CHAN_DATA_FD    [u32 id] + fd: connected data socket to serve.  With an
 *                   id (nonzero), the manager keeps a duplicate of the
 *                   connection (SET_DATAFD) and vtpmd notes the id in the
 *                   flight record (util/flight.h) while it executes a
 *                   command from it; vtpmd shuts such a connection down
 *                   (not just closes it) when it drops it for cause
 *   CHAN_STOP       [u32 flags]: orderly stop; vtpmd saves what it must,
 *                   replies CHAN_STOPPED and exits 0.  Empty or flags 0: a
 *                   TPM that was powered on by --autostart saves its
 *                   volatile state for the next one to resume (the manager
 *                   stops, the guest goes on).  CHAN_STOP_POWER_OFF: the
 *                   machine the TPM belongs to was switched off (a Xen
 *                   guest's reboot or destruction): orderly TPM2_Shutdown,
 *                   no volatile state kept (any stored one is deleted), so
 *                   the next start is a power-on: PCRs reset, NV kept
 *   CHAN_NV_DATA    u32 rc | blob bytes         (answer to CHAN_NV_LOAD)
 *   CHAN_NV_STATUS  u32 rc                      (answer to NV_STORE/NV_DELETE)
 *   CHAN_ADOPT_SOCK (empty) + fd: listening SEQPACKET socket at
 *                   <run-dir>/adopt/<uuid>, where vtpmd waits for the next
 *                   manager when this one goes away (manager/adopt.c)
 *   CHAN_HOLD_FD    u32 kind | u32 id + fd: a descriptor vtpmd keeps for the
 *                   next manager and returns on adoption (CHAN_FD_CTRL_*)
 *   CHAN_RELEASE_FD u32 kind | u32 id: closes a held descriptor
 *   CHAN_DETACH     (empty): the manager exits and leaves this vTPM running;
 *                   vtpmd serves its guests on and waits for adoption
 *
 *  manager -> vtpmd, on a connection to the adopt socket (no other message)
 *   CHAN_ADOPT      u32 version (CHAN_ADOPT_VERSION) + fd: vtpmd's end of
 *                   the next manager's channel
 *
 *  vtpmd -> manager
 *   CHAN_READY      u32 rc: 0 once the TPM is up (or waiting for INIT)
 *   CHAN_CTRL_RESP  swtpm control response bytes, exactly as sent to clients
 *   CHAN_TPM_RESP   TPM response packet
 *   CHAN_NV_LOAD    name
 *   CHAN_NV_STORE   u8 namelen | name | data
 *   CHAN_NV_DELETE  u8 must_exist | name
 *   CHAN_STOPPED    u32 rc
 *   CHAN_HELLO      adoption, first message on the new channel:
 *                   u32 version | u8 tpm_version (1: 1.2, 2: 2.0) |
 *                   u8 flags (CHAN_HELLO_*) | u8 locality | u8 0 | uuid[16]
 *   CHAN_RETURN_FD  u32 kind | u32 id + fd: a descriptor the next manager
 *                   needs (CHAN_FD_*), one message each, after HELLO
 *   CHAN_HELLO_DONE u32 count of RETURN_FDs sent; normal traffic follows
 *
 * rc values in NV messages are libtpms TPM_RESULTs: 0 success, TPM_RETRY
 * (0x800) "no such blob", TPM_FAIL (9) anything else.
 *
 * Flow control: the manager has at most one request (CTRL, TPM_CMD, STOP)
 * outstanding per vtpmd; vtpmd has at most one NV request outstanding.
 */
#ifndef VTPM_UTIL_CHAN_H
#define VTPM_UTIL_CHAN_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define CHAN_HDR_SIZE 8
#define CHAN_MAX_PAYLOAD (160u * 1024) /* > libtpms TPM_ALLOC_MAX (128 KiB) */
#define CHAN_SOCKBUF (2u * (CHAN_MAX_PAYLOAD + CHAN_HDR_SIZE))
#define NV_NAME_MAX 32

enum chan_type {
	CHAN_CTRL = 1,
	CHAN_TPM_CMD = 2,
	CHAN_LISTEN_FD = 3,
	CHAN_DATA_FD = 4,
	CHAN_STOP = 5,
	CHAN_NV_DATA = 6,
	CHAN_NV_STATUS = 7,
	CHAN_ADOPT_SOCK = 8,
	CHAN_HOLD_FD = 9,
	CHAN_RELEASE_FD = 10,
	CHAN_DETACH = 11,
	CHAN_ADOPT = 12,

	CHAN_READY = 64,
	CHAN_CTRL_RESP = 65,
	CHAN_TPM_RESP = 66,
	CHAN_NV_LOAD = 67,
	CHAN_NV_STORE = 68,
	CHAN_NV_DELETE = 69,
	CHAN_STOPPED = 70,
	CHAN_HELLO = 71,
	CHAN_RETURN_FD = 72,
	CHAN_HELLO_DONE = 73,
};

#define CHAN_ADOPT_VERSION 1u
#define CHAN_HELLO_SIZE 24
#define CHAN_HELLO_RUNNING 1u    /* the TPM is powered on */
#define CHAN_HELLO_AUTOSTARTED 2u /* ... by --autostart, not by a hypervisor's INIT */

/* Kinds of descriptors held for and returned to the next manager. */
enum chan_fd_kind {
	CHAN_FD_DATA_LISTEN = 1, /* <uuid>.sock (id 0) */
	CHAN_FD_DATA_CONN = 2,   /* a kept data connection (its CHAN_DATA_FD id) */
	CHAN_FD_CTRL_LISTEN = 3, /* <uuid>.sock.ctrl (id 0) */
	CHAN_FD_CTRL_CONN = 4,   /* a hypervisor's control connection (nonzero id) */
	CHAN_FD_FLIGHT = 5,      /* the flight record's memfd (id 0) */
};
/* Control descriptors a vtpmd holds at most (the listener and connections). */
#define CHAN_HELD_MAX 8

/* CHAN_STOP flags. */
#define CHAN_STOP_POWER_OFF 1u


struct chan_msg {
	uint32_t type;
	uint32_t len;
	const uint8_t *data; /* points into the chan's receive buffer */
	int fd;              /* received fd or -1; the receiver owns it */
	/* The sender's process as the kernel vouches for it (SCM_CREDENTIALS,
	 * when the receiving socket has SO_PASSCRED), else pid 0. */
	int32_t cred_pid;
	uint32_t cred_uid;
};

struct chan {
	int fd;
	uint8_t *rbuf; /* CHAN_HDR_SIZE + CHAN_MAX_PAYLOAD + 1 bytes */
};

/* Creates the SEQPACKET pair (CLOEXEC) with buffers for the largest message;
 * 0, or -1 with errno set. */
int chan_socketpair(int sv[2]);
/* Takes fd over and allocates the receive buffer; 0, or -1 (out of memory). */
int chan_init(struct chan *c, int fd);
/* Wipes the receive buffer (it carries TPM state) and closes fd. */
void chan_close(struct chan *c);

/*
 * chan_send and chan_recv return 0 or (util/err.h):
 *   VERR_AGAIN   the non-blocking socket has no room / nothing now
 *   VERR_EOF     the peer closed (chan_recv)
 *   VERR_PROTO   a malformed packet (chan_recv): treat the peer as hostile
 *   VERR_SYSTEM  another socket error; errno says which (EMSGSIZE for a
 *                message over CHAN_MAX_PAYLOAD or sent in part)
 * These stay in the process: nothing here sends a code to the peer.
 */

/* Sends header + a + b as one packet, with fd when fd >= 0. */
int chan_send(int sock, uint32_t type, const void *a, size_t alen, const void *b,
	      size_t blen, int fd) __attribute__((warn_unused_result));
/* Receives one packet; m->data stays valid until the next chan_recv. */
int chan_recv(struct chan *c, struct chan_msg *m) __attribute__((warn_unused_result));

/* vtpmd's exit status after answering a command whose state could not be
 * saved (libtpms stays in failure mode): the manager restarts the TPM from
 * the last state that was saved. */
#define VTPMD_EXIT_SAVE_FAILED 4

#endif
