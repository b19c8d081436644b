/*
 * adopt.h - vtpmds that outlive a manager restart (adopt.c).
 */
#ifndef VTPM_MANAGER_ADOPT_H
#define VTPM_MANAGER_ADOPT_H

#include <stddef.h>

struct mgr;
struct vtpm;
struct ctrl_conn;
struct chan_msg;

/* Opens (creates) <run-dir>/adopt when survive_restart is on. */
int adopt_init(struct mgr *m, char *err, size_t errlen);
void adopt_close(struct mgr *m);
/* A new vtpmd: gives it its adopt socket and the control descriptors to
 * hold (failures only cost the restart survival, and are logged). */
void adopt_offer(struct mgr *m, struct vtpm *v);
/* Its vtpmd is gone: the adopt socket's name goes too. */
void adopt_forget(struct mgr *m, struct vtpm *v);
/* At start: 1 when an orphaned vtpmd answered on the vTPM's adopt socket
 * (the vTPM is VS_ADOPTING, its sockets come back from the vtpmd), 0 when
 * there is none (bind the sockets as usual). */
int adopt_connect(struct mgr *m, struct vtpm *v);
/* A message of a vtpmd being adopted; 0, or -1 with why (kill it). */
int adopt_handle_msg(struct mgr *m, struct vtpm *v, const struct chan_msg *msg,
		     const char **why);
/* The adoption broke off: whatever came back is kept, the rest re-made,
 * and the vtpmd's end is handled as a crash. */
void adopt_failed(struct mgr *m, struct vtpm *v);
/* Shutdown: 1 when v's vtpmd is to be left running for the next manager. */
int adopt_should_detach(struct mgr *m, const struct vtpm *v);
/* Shutdown: detaches the vtpmds marked detaching once they are idle. */
void adopt_tick(struct mgr *m);

#endif
