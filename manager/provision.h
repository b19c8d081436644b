/*
 * provision.h - the manager's provisioning features: the vTPM CA and the
 * host's transport key (made at first start, sealed under the master key),
 * EK manufacture at `vtpmctl create`, `vtpmctl ca`, `vtpmctl ek`,
 * `vtpmctl import-swtpm`, `vtpmctl transport-key`, `vtpmctl export` and
 * `vtpmctl import`.  The slow parts (a private vtpmd: manufacture, import
 * validation, reading an EK) run on worker threads and complete back into
 * the I/O loop through an eventfd; everything else runs on the loop.
 *
 * Hooks into the rest of the manager (kept small on purpose):
 *   main.c    prov_init after the master key and the vTPMs are known,
 *             prov_shutdown first in cleanup
 *   ctl.c     prov_create from do_create, prov_ctl for the new requests,
 *             prov_client_gone when a vtpmctl client goes away
 *   sockets.c prov_ek_forget when SET_STATEBLOB replaces the permanent state
 */
#ifndef VTPM_MANAGER_PROVISION_H
#define VTPM_MANAGER_PROVISION_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/blobfmt.h"
#include "util/chan.h"

struct mgr;
struct vtpm;
struct ctl_client;
struct manifest_entry;

/* Loads or creates the CA and the transport key, keeps master.recovery
 * current, marks exported vTPMs.  0, or -1 with a reason in err. */
int prov_init(struct mgr *m, char *err, size_t errlen);
/* Cancels and joins every job, wipes the keys. */
void prov_shutdown(struct mgr *m);

/* CTL_CREATE after its checks: returns 1 when this module answered (or
 * will), 0 when the plain record-only creation should go on. */
int prov_create(struct mgr *m, struct ctl_client *c, const uint8_t uuid[UUID_LEN],
		int tpm_version, uint32_t owner_uid, uint32_t owner_gid, uint8_t flags,
		uint8_t banks);
/* Answers and returns 1 when uuid exists or a job is making it. */
int prov_uuid_taken(struct mgr *m, struct ctl_client *c, const uint8_t uuid[UUID_LEN]);
/* 1 for the request types prov_ctl serves. */
int prov_handles(uint32_t type);
void prov_ctl(struct mgr *m, struct ctl_client *c, const struct chan_msg *msg);
void prov_client_gone(struct mgr *m, struct ctl_client *c);

/* v's permanent state is being replaced (SET_STATEBLOB): its recorded EK
 * no longer describes it. */
void prov_ek_forget(struct mgr *m, struct vtpm *v);
/* A UUID a job is creating or importing right now. */
int prov_uuid_pending(struct mgr *m, const uint8_t uuid[UUID_LEN]);

#endif
