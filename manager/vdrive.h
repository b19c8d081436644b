/*
 * vdrive.h - a private, short-lived vtpmd driven synchronously by one
 * worker thread, the way swtpm_setup drives a swtpm: to manufacture a
 * new vTPM (EKs, certificates, PCR banks), to check that imported state
 * loads in libtpms, and to read a stopped vTPM's EK.  The vtpmd is the
 * same sandboxed binary as ever (own uid, chroot, seccomp); it sees no
 * file and no key.  Its NV requests are served from memory here: what it
 * loads is what the caller put in, what it stores stays in memory for the
 * caller to seal (or drop).
 *
 * Trusts: nothing the vtpmd sends.  Every message goes through chan_recv
 * (one framing layer) and is then checked for its exact type and size;
 * TPM responses must be whole frames (tpm_frame_exact) and are parsed by
 * the caller with bounds checks.  Anything unexpected kills the vtpmd.
 * Every wait is bounded (timeout_ms) and can be cancelled (cancel_fd).
 * Functions return 0 or a negative VERR_* (util/err.h) with a reason in
 * err, and any failure kills the vtpmd:
 *   VERR_PROTO     the vtpmd broke the protocol (a malformed or unexpected
 *                  packet, a descriptor, a bad frame)
 *   VERR_EOF       the vtpmd closed its channel (it exited)
 *   VERR_SYSTEM    a socket, fork or poll call failed (errno says which)
 *   VERR_TIMEOUT   no answer within timeout_ms
 *   VERR_CANCELED  cancel_fd became readable: the manager is shutting down
 *   VERR_TPM       libtpms could not start the TPM from the state given
 *                  (READY rc, kept in d->ready_rc), or could not save it
 *   VERR_INVAL     a call out of order (no vtpmd) or a blob it cannot take
 */
#ifndef VTPM_MANAGER_VDRIVE_H
#define VTPM_MANAGER_VDRIVE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "crypto/blobfmt.h"
#include "util/buf.h"
#include "util/chan.h"
#include "util/err.h"

/* How to run a vtpmd; copied from the manager's settings when a job is
 * made, so the worker thread reads nothing shared. */
struct vdrive_spawn {
	char vtpmd[PATH_MAX];
	char root[PATH_MAX]; /* the empty chroot */
	uid_t uid;
	gid_t gid;
	int sandbox;         /* pass --uid/--gid/--root */
	const char *log_level;
	unsigned timeout_ms;
	int cancel_fd;       /* readable: give up (-1: none) */
};

struct vdrive {
	const struct vdrive_spawn *sp;
	int tpm2;
	pid_t pid;
	int pidfd;
	int running;          /* a vtpmd exists and its channel is open */
	uint32_t ready_rc;
	struct chan ch;
	struct buf nv[BLOB_COUNT];
	int has[BLOB_COUNT];
};

void vdrive_init(struct vdrive *d, const struct vdrive_spawn *sp, int tpm2);
/* Puts a blob the vtpmd will load (before vdrive_start). */
int vdrive_set_blob(struct vdrive *d, enum blob_index i, const uint8_t *p, size_t len)
	__attribute__((warn_unused_result));
/* Spawns the vtpmd and waits for READY (serving its NV loads).  With
 * autostart the TPM is powered on and started (TPM2_Startup(CLEAR) /
 * TPM_Startup(ST_CLEAR)); a refused state gives VERR_TPM and the
 * libtpms rc in d->ready_rc. */
int vdrive_start(struct vdrive *d, const char *uuid_str, int autostart, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* One TPM command; the whole response frame is appended to resp. */
int vdrive_tpm(struct vdrive *d, const uint8_t *cmd, size_t len, struct buf *resp, char *err,
	       size_t errlen) __attribute__((warn_unused_result));
/* One swtpm control command (util/ctrl_proto.h); the checked response is
 * appended to resp. */
int vdrive_ctrl(struct vdrive *d, uint32_t cmd, const uint8_t *body, size_t blen,
		struct buf *resp, char *err, size_t errlen) __attribute__((warn_unused_result));
/* Orderly stop: CHAN_STOP, STOPPED, channel EOF.  The blobs it stored on
 * the way stay in d->nv. */
int vdrive_stop(struct vdrive *d, char *err, size_t errlen) __attribute__((warn_unused_result));
/* Kills the vtpmd if it still runs and wipes every blob. */
void vdrive_free(struct vdrive *d);

#endif
