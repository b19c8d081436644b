/*
 * recovery.h - surviving the host TPM: <state-dir>/master.recovery (the
 * master key wrapped to the operator's offline recovery key, config
 * recovery_key) and `vtpm_managerd --recover-with PRIVKEY.pem`, which
 * unwraps it, reseals the key to the TPM now present (new counter, current
 * PCR values) and re-anchors rollback detection.  Hooks: main.c calls
 * recovery_unlock instead of host_tpm_unlock under --recover-with, skips
 * the counter check, and calls recovery_anchor once every vTPM of the
 * manifest is registered; provision.c calls
 * recovery_maintain at every start.
 */
#ifndef VTPM_MANAGER_RECOVERY_H
#define VTPM_MANAGER_RECOVERY_H

#include <stddef.h>
#include <stdint.h>

struct mgr;
struct host_tpm;
struct host_tpm_opts;

/* Keeps master.recovery wrapped to recovery_key (rewrites a missing,
 * stale or damaged one).  0, or -1 with a reason. */
int recovery_maintain(struct mgr *m, char *err, size_t errlen);
/* --recover-with: the master key from master.recovery, resealed to ht.
 * 0, or -1 with a reason. */
int recovery_unlock(struct mgr *m, struct host_tpm *ht, const struct host_tpm_opts *opts,
		    uint8_t key[32], char *err, size_t errlen);
/* After commit_init on the new counter and once every vTPM of the loaded
 * manifest is registered (the commit is built from the registry): commits
 * the manifest at once so that its sequence and the new counter agree. */
int recovery_anchor(struct mgr *m, char *err, size_t errlen);

#endif
