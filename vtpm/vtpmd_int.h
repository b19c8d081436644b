/*
 * vtpmd_int.h - internals shared by the files of vtpmd, the per-vTPM process.
 *
 * vtpmd hosts exactly one TPM and talks only over the channel fd it
 * inherited from the manager (util/chan.h).  It trusts the manager's
 * channel framing (chan_recv) and libtpms, but re-checks every per-type
 * payload size; it trusts nothing that arrives on a data connection.
 *
 * One thread.  Its state is one struct vtpmd, made by main() and passed
 * explicitly to every function that uses it.  What is not in it: libtpms'
 * own (process-global: one TPM per process), the pointer to this struct
 * that nvram.c keeps for libtpms' callbacks (they take no context), the
 * flight record and cancel counters of flight.c (shared with the manager
 * and a signal handler) and tpmlog.c's mapping of libtpms' debug output.
 *
 * Who calls whom (a file calls only files below it; no circle):
 *   vtpmd.c   arguments, start-up, the poll loop, data connections, dispatch
 *   ctrl.c    swtpm control commands (CHAN_CTRL)
 *   tpm.c     libtpms power on/off, auto-shutdown, command execution
 *   nvram.c   libtpms NV and I/O callbacks carried over the channel
 *   chanio.c  channel send/receive, the bounded queue of deferred requests
 *   adopt.c   outliving the manager: held descriptors, waiting for and
 *             handing over to the next manager
 *   flight.c  the flight record shared with the manager, the cancel signal
 *   tpmlog.c  libtpms' own error messages, with its hex dumps filtered out
 *   sandbox.c the confinement (vtpm/sandbox.h)
 * adopt.c must exit the process in places (no manager, no guest left):
 * it calls vd->cleanup, which vtpmd.c sets, to release what the upper
 * files own first.
 */
#ifndef VTPM_VTPMD_INT_H
#define VTPM_VTPMD_INT_H

#include <stddef.h>
#include <stdint.h>

#include <libtpms/tpm_types.h>

#include "util/chan.h"
#include "util/tpm_frame.h"

/* libtpms result codes we use by value (libtpms/tpm_error.h). */
#define VTPM_TPM_RETRY 0x800u

/* Data connections at most (more are refused). */
#define VTPMD_MAX_CONNS 64
/* Deferred manager requests at most.  What the manager may legitimately
 * send while we wait bounds it: one CTRL/TPM_CMD/STOP outstanding, a
 * LISTEN_FD, and the DATA_FDs it hands over after a restart (at most one
 * per connection we would accept, VTPMD_MAX_CONNS), plus slack. */
#define VTPMD_QUEUE_MAX 80

/* A data connection (vtpmd.c); adopt.c hands the kept ones over. */
struct conn {
	int fd;
	uint32_t id;  /* CHAN_DATA_FD id (the manager keeps a duplicate), or FLIGHT_CONN_NONE */
	int eof;      /* peer finished sending; serve what is buffered, then close */
	int served;   /* a command of it was answered (or it is QEMU's, passed to us) */
	int64_t since; /* when its incomplete command began, or when it was accepted */
	uint32_t len; /* bytes buffered */
	uint8_t buf[TPM_FRAME_MAX];
};

/* A manager request copied out of the channel buffer (deferred or current). */
struct qmsg {
	uint32_t type;
	uint32_t len;
	uint8_t *data; /* malloc'd copy (NULL when len == 0); wiped when freed */
	int fd;        /* passed fd or -1; owned by the holder */
};

/* A control descriptor held for the next manager (adopt.c). */
struct held {
	uint32_t kind, id;
	int fd;
};

struct vtpmd {
	struct chan chan;
	int is_tpm2;
	int running;            /* MainInit done, not yet Terminated */
	int autostarted;        /* powered on by --autostart rather than CTRL INIT */
	int last_was_shutdown;  /* last processed command was a successful Shutdown */
	int failed;             /* TPM 2.0 answered TPM_RC_FAILURE since power-on */
	TPM_MODIFIER_INDICATOR locality;
	uint32_t bufsize;       /* negotiated TPM buffer size (SET_BUFFERSIZE) */
	unsigned char *rbuf;    /* libtpms response buffer, kept across calls */
	uint32_t rbufsize;
	int listen_fd;          /* listening data socket from CHAN_LISTEN_FD, or -1 */
	int perm_set;           /* SET_STATEBLOB cached a permanent blob for the next MainInit */
	unsigned permall_stores; /* successful stores of "permall" (nvram_store) */
	unsigned store_failures; /* failed stores (nvram_store): libtpms is in failure mode */
	uint8_t uuid[16];       /* --uuid (adoption tells the next manager) */
	int adopt_fd;           /* listening adopt socket (CHAN_ADOPT_SOCK), or -1 */
	int64_t orphan_since;   /* ms since the manager went away, 0 while one is there */
	uint32_t manager_uid;   /* the uid a next manager must have (the first one's) */

	/* Data connections (vtpmd.c owns them). */
	struct conn *conns[VTPMD_MAX_CONNS];
	unsigned nconns;
	/* Deferred manager requests, a ring (chanio.c owns it). */
	struct qmsg queue[VTPMD_QUEUE_MAX];
	unsigned q_head, q_count;
	/* Control descriptors held for the next manager (adopt.c owns them). */
	struct held held[CHAN_HELD_MAX];
	unsigned nheld;
	/* Releases everything (wiping buffers that held TPM data) before an
	 * orderly exit; set by vtpmd.c, called by adopt.c when no manager and
	 * no guest are left. */
	void (*cleanup)(struct vtpmd *vd);
};

/* ---- chanio.c ---- */

/* Sends one message: 0, or -1 when the manager is gone (adopt.c then
 * decides: wait for the next one, or exit 0); any other failure is fatal
 * (_exit 1).  A reply to a request of a manager that is gone is dropped. */
int chanio_send(struct vtpmd *vd, uint32_t type, const void *a, size_t alen, const void *b,
		size_t blen);
/* Receives one message, blocking: 0, or -1 when the manager is gone
 * (error: _exit 1). */
int chanio_recv(struct vtpmd *vd, struct chan_msg *m);
/* Sends an NV request and waits for its reply `want`, deferring manager
 * requests that arrive first; when the manager goes away meanwhile, waits
 * for the next one (adopt_wait) and asks it again. */
void chanio_call(struct vtpmd *vd, uint32_t type, const void *a, size_t alen, const void *b,
		 size_t blen, uint32_t want, struct chan_msg *m);
/* The channel ended (EOF, reset, CHAN_DETACH): adopt_manager_lost, then
 * the deferred requests that expected a reply are dropped. */
void chanio_manager_lost(struct vtpmd *vd, const char *why);
/* Checks a manager->vtpmd request's payload size and fd for its type;
 * anything else is a protocol violation: log, _exit(1). */
void chanio_check_request(const struct chan_msg *m);
/* Copies a checked request to the tail of the deferred queue (overflow: _exit 1). */
void chanio_defer(struct vtpmd *vd, const struct chan_msg *m);
/* Pops the oldest deferred request; 0 when one was returned, -1 when empty. */
int chanio_pop(struct vtpmd *vd, struct qmsg *q);
void qmsg_free(struct qmsg *q);
/* Overwrites the payload of a received message in the channel buffer. */
void chanio_wipe(struct vtpmd *vd, const struct chan_msg *m);

/* ---- adopt.c ---- */

/* CHAN_ADOPT_SOCK, CHAN_HOLD_FD, CHAN_RELEASE_FD (checked by chanio). */
void adopt_set_sock(struct vtpmd *vd, int fd);
void adopt_hold(struct vtpmd *vd, uint32_t kind, uint32_t id, int fd);
void adopt_release(struct vtpmd *vd, uint32_t kind, uint32_t id);
/* Closes the adopt socket and every held descriptor (exit). */
void adopt_close_all(struct vtpmd *vd);
/* The channel ended (chanio_manager_lost): without an adopt socket the
 * process exits 0; with one it serves its guests on, orphaned. */
void adopt_manager_lost(struct vtpmd *vd, const char *why);
/* Orphaned: accepts a next manager if one is waiting on the adopt socket
 * (never blocks); 1 when adopted. */
int adopt_try(struct vtpmd *vd);
/* Orphaned, inside an NV request: blocks until a next manager adopts us
 * (or exits when no guest is left to wait for). */
void adopt_wait(struct vtpmd *vd);
/* Orphaned: exits (after vd->cleanup) when no guest connection is left;
 * else returns the ms until it looks again (-1 while a manager is there). */
int adopt_orphan_deadline(struct vtpmd *vd);

/* ---- nvram.c ---- */

/* Registers the NV and I/O callbacks with libtpms, which will serve them
 * with vd (kept: libtpms' callbacks take no context); 0 or a TPM_RESULT. */
TPM_RESULT nvram_register(struct vtpmd *vd);
/* The callbacks' bodies, also used directly (STORE_VOLATILE, INIT flags,
 * GET_STATEBLOB).  nvram_load: *data is TPM_Malloc'd (free with freezero);
 * TPM_RETRY when the blob does not exist. */
TPM_RESULT nvram_load(struct vtpmd *vd, const char *name, unsigned char **data,
		       uint32_t *length);
TPM_RESULT nvram_store(struct vtpmd *vd, const char *name, const unsigned char *data,
		       uint32_t len);
TPM_RESULT nvram_delete(struct vtpmd *vd, const char *name, int must_exist);

/* ---- flight.c ---- */

/* Maps the manager's flight record (util/flight.h) from fd, which is kept
 * for a next manager (flight_fd); 0, or -1 with errno set.  Without it a
 * private record is used. */
int flight_init(int fd);
/* The record's memfd, or -1. */
int flight_fd(void);
/* SIGUSR1 -> TPMLIB_CancelCommand(); before the sandbox (sigaction). */
int flight_cancel_setup(void);
/* Tests only: "ORD:MS" delays every command with code ORD by MS ms. */
int flight_set_test_delay(const char *spec);
/* A whole, checked command packet starts executing; conn_id is the
 * CHAN_DATA_FD id of its connection or FLIGHT_CONN_NONE. */
void flight_begin(uint32_t conn_id, const uint8_t *cmd);
/* Its response exists and is being written. */
void flight_responding(void);
/* Done (written, or the connection dropped). */
void flight_idle(void);

/* ---- tpm.c ---- */

/* ChooseTPMVersion + SetBufferSize(current) + MainInit (+ delete the
 * volatile state with PTM_INIT_FLAG_DELETE_VOLATILE).  0 or a TPM_RESULT;
 * on failure the TPM is left off. */
TPM_RESULT tpm_power_on(struct vtpmd *vd, uint32_t init_flags);
/* --autostart: power on and send Startup(CLEAR); a Startup refused because
 * volatile state was resumed is fine and deletes that blob (one-shot). */
TPM_RESULT tpm_autostart(struct vtpmd *vd);
/* TPM 2.0: TPM2_Shutdown(SU_CLEAR) unless the last command was a Shutdown. */
void tpm_auto_shutdown(struct vtpmd *vd);
/* If running: auto-shutdown, then TPMLIB_Terminate. */
void tpm_power_off(struct vtpmd *vd);
/* TPMLIB_VolatileAll_Store + store "volatilestate"; 0 or a TPM_RESULT. */
TPM_RESULT tpm_store_volatile(struct vtpmd *vd);
/*
 * GET_STATEBLOB's blob of a running TPM (swtpm's semantics): type 1 the
 * live permanent state, 2 the live volatile state (any stored
 * "volatilestate" is then deleted, as swtpm does), 3 the stored
 * "savestate" (TPM_RETRY when there is none; always so for TPM 2.0).
 * *buf is malloc'd (free with freezero); TPM_RETRY for an empty blob.
 */
TPM_RESULT tpm_get_state(struct vtpmd *vd, uint32_t type, unsigned char **buf, uint32_t *len);
/*
 * SET_STATEBLOB on a powered-off TPM: TPMLIB_SetState, which unmarshals
 * the blob to validate it and caches it for the next power-on (a rejected
 * blob clears every cached one).  len 0 hides the stored blob.  A cached
 * permanent blob is written to the store at that power-on.
 */
TPM_RESULT tpm_set_state(struct vtpmd *vd, uint32_t type, const uint8_t *buf, uint32_t len);
/*
 * Executes one TPM command of len bytes already checked by the caller to
 * be one whole packet.  *resp points to the response (valid until the next
 * call).  Never fails: errors become a 10-byte TPM error response.
 */
void tpm_execute(struct vtpmd *vd, uint8_t *cmd, uint32_t len, const uint8_t **resp,
		 uint32_t *rlen);
/* The 10-byte response for a malformed packet (size field out of range
 * or not matching), tagged and coded for the request's generation. */
void tpm_bad_frame_response(const struct vtpmd *vd, uint8_t out[TPM_HDR_SIZE], const uint8_t *req,
			    size_t reqlen);

/* ---- ctrl.c ---- */

/* Handles one CHAN_CTRL payload (u32 cmd | body) and sends CHAN_CTRL_RESP.
 * Returns 1 when the process must exit (CMD_SHUTDOWN), else 0. */
int ctrl_handle(struct vtpmd *vd, const uint8_t *p, uint32_t len);

/* ---- tpmlog.c ---- */

/* Points libtpms' debug output at a memfd we map and filter; 0, or -1
 * with errno set. */
int tpmlog_init(void);
/* Logs what libtpms wrote since the last call: call it after calls into
 * libtpms.  A memory read and no system call when there is nothing. */
void tpmlog_drain(void);

#endif
