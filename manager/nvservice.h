/*
 * nvservice.h - a vtpmd's NV requests served off the loop (nvservice.c).
 */
#ifndef VTPM_MANAGER_NVSERVICE_H
#define VTPM_MANAGER_NVSERVICE_H

struct mgr;
struct vtpm;
struct chan_msg;

/* CHAN_NV_LOAD, CHAN_NV_STORE or CHAN_NV_DELETE from v's vtpmd: queued;
 * the reply follows once the state is durable.  0, or -1 with why (the
 * vtpmd broke the protocol: kill it). */
int nv_request(struct mgr *m, struct vtpm *v, const struct chan_msg *msg, const char **why);
/* The manager's own deletion of state file idx (a powered-off guest's
 * volatile state): recorded in the manifest first, then removed, off the
 * loop; nobody waits. */
void nv_discard(struct mgr *m, struct vtpm *v, int idx);
/* 1 while v's vtpmd waits for the answer to an NV request. */
int nv_pending(const struct vtpm *v);

#endif
