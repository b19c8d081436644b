/*
 * mgr.h - the manager's context: one struct mgr per process, one struct
 * vtpm per defined vTPM, passed explicitly (no globals).  Everything here is
 * owned by the loop thread (main.c's run_loop); no locks.  The other
 * threads (storage and commit: worker.h; Xen: xen_bus.c) use none of it
 * beyond handing their results to the loop through their own queues
 * (worker_complete, xen_msg.h).
 *
 * Trust: guests and tools reach us through per-vTPM sockets, the FIFO and
 * Xen rings; vtpmd processes through their channel.  Identity always
 * comes from which fd a message arrived on, never from its bytes.
 */
#ifndef VTPM_MANAGER_MGR_H
#define VTPM_MANAGER_MGR_H

#include <stdint.h>
#include <sys/epoll.h>
#include <sys/types.h>

#include "crypto/blobfmt.h"
#include "manager/config.h"
#include "manager/ctl_proto.h"
#include "manager/store.h"
#include "manager/worker.h"
#include "util/buf.h"
#include "util/chan.h"
#include "util/flight.h"
#include "util/tpm_frame.h"
#include "util/uuid.h"

struct mgr;

/* An epoll registration: the callback gets the events that fired. */
struct ev {
	int fd;
	void (*cb)(struct mgr *m, struct ev *e, uint32_t events);
	void *ctx;
	uint32_t events; /* currently registered, 0 when not in epoll */
};

/* A connection on <uuid>.sock.ctrl (swtpm control protocol). */
struct ctrl_conn {
	struct ctrl_conn *next;
	struct vtpm *v;
	uint64_t id;
	struct ev ev;
	struct buf in;
	struct buf out;
	int busy;      /* a request is with the vtpmd; parse nothing more */
	int resume_pending; /* buffered requests to parse after this batch */
	int closing;   /* close once out is flushed */
	uint64_t partial_since; /* ms when an incomplete request appeared, 0 if none */
	int processing; /* inside ctrl_conn_process: replies must not re-enter */
	uint64_t accepted_ms;   /* a connection that sends no request is closed ... */
	int established;        /* ... unless it did (QEMU's is never timed out) */
	uint32_t held_id;       /* nonzero: the vtpmd holds a duplicate (adopt.c) */
};

/* An urgent commit (a vTPM created or deleted, a state file's presence
 * changed): r->w.done runs on the loop once the manifest as it is now is
 * durable, with r->rc 0 or a negative error. */
struct commit_req {
	struct work w;
	int rc;                  /* 0 or a VERR_* (util/err.h) */
	struct commit_req *cnext;
};

enum req_kind { REQ_CTRL, REQ_TPM, REQ_STOP };

struct req;
/*
 * A request's completion: called on the loop exactly once, with the vtpmd's
 * response (already checked: ctrl_check_response for REQ_CTRL, one TPM
 * packet for REQ_TPM) or, when no vtpmd will answer, an error response the
 * manager made (failed = 1).  The core never calls a front end: whoever
 * submits a request says here where its answer goes.  r is freed after.
 */
typedef void req_done_fn(struct mgr *m, struct req *r, const uint8_t *resp, size_t len,
			 int failed);

/* A request queued for, or outstanding at, a vtpmd. */
struct req {
	struct req *next;
	enum req_kind kind;
	uint32_t cmd;        /* control command (REQ_CTRL) */
	struct vtpm *v;      /* set by vtpm_submit */
	req_done_fn *done;   /* NULL: nobody waits for the answer */
	uint64_t tag;        /* the submitter's: which connection, instance or device */
	uint64_t sent_ms;    /* when it went to the vtpmd (deadlines) */
	struct buf payload;  /* what is sent on the channel */
	unsigned *held[2];   /* counters this request is in, decremented by req_free */
};

/* Who waits for a vTPM to stop (vtpmctl stop, delete): called once it did
 * (ok) or when the vTPM goes; ctx is the waiter's. */
struct stop_wait {
	void (*done)(struct mgr *m, void *ctx, int ok, const char *msg);
	void *ctx;
};

enum vtpm_state {
	VS_STOPPED, VS_STARTING, VS_RUNNING, VS_STOPPING, VS_FAILED,
	VS_ADOPTING, /* an orphaned vtpmd is handing itself over (adopt.c) */
	VS_DETACHED, /* shutdown: its vtpmd was left running for the next manager */
	VS_DYING,    /* its vtpmd was sent SIGKILL; finished once it is gone (pid_ev) */
};

/*
 * A data connection passed with SET_DATAFD (QEMU's).  The manager keeps
 * this duplicate for as long as the client keeps the connection, so a
 * vtpmd that dies does not take it along: the manager answers the command
 * that was in flight on it and hands it to the next vtpmd (supervise.c).
 * Registered in epoll throughout: for EPOLLRDHUP only while a vtpmd serves
 * it (no wake-up per command), for EPOLLIN too while none does (the next
 * command restarts one).
 */
struct kept_conn {
	struct kept_conn *next;
	struct vtpm *v;
	uint32_t id;       /* nonzero; CHAN_DATA_FD payload, flight record conn_id */
	struct ev ev;
	/* While the vTPM is failed: the command being answered with an error. */
	uint8_t hdr[TPM_HDR_SIZE];
	uint32_t hlen;     /* header bytes read */
	uint32_t skip;     /* body bytes still to discard */
};

struct ctl_client;
struct xen_backend;
struct nv_job;
struct life_op;

/* A vtpmd being adopted (adopt.c): what comes next from it. */
enum { ADOPT_NONE, ADOPT_HELLO, ADOPT_FDS };

struct vtpm {
	struct vtpm *next;
	struct manifest_entry me; /* uuid, instance, version, generation floors */
	char uuid_str[UUID_STR_LEN];
	uint64_t gen[BLOB_COUNT]; /* generation of each blob as last loaded/saved */

	struct ev data_ev; /* listening <uuid>.sock; in epoll only while no vtpmd */
	struct ev ctrl_ev; /* listening <uuid>.sock.ctrl */
	uint64_t ctrl_paused_until; /* no fd even to shed with: ctrl_ev off until then */
	struct ctrl_conn *conns;
	unsigned nconns;

	enum vtpm_state state;
	int degraded;     /* a save failed and none succeeded since (reason says which) */
	char reason[CTL_MAX_REASON];
	pid_t pid;        /* running vtpmd, 0 when none */
	pid_t dying_pid;  /* vtpmd whose channel closed, not yet reaped */
	uint64_t stop_deadline; /* monotonic ms; SIGKILL when passed */
	struct chan ch;
	struct ev ch_ev;
	int autostart;     /* how the running vtpmd was started */
	uint8_t locality;  /* passed to the next vtpmd */
	int restart_autostart; /* a running TPM crashed: the next vtpmd powers on and starts */

	/* Crash handling and deadlines (supervise.c). */
	const struct vtpm_flight *flight; /* the running vtpmd's record, read-only map */
	uint32_t flight_seq;    /* the record's seq when last looked at */
	uint64_t alive_ms;      /* last sign of progress: a channel message or a new command */
	uint64_t exec_seen_ms;  /* when the executing command was first seen */
	int pid_reaped;         /* pid was reaped before its channel closed ... */
	int exit_status;        /* ... with this wait status */
	const char *kill_why;   /* why the manager killed the running vtpmd, NULL if not */
	char kill_buf[160];
	int close_kept;         /* the coming exit is an operator's stop: close kept conns */
	int power_off;          /* the coming exit is a power-off: no volatile state survives */
	unsigned crashes;       /* crashes in the current window */
	uint64_t crash_window_ms;
	struct kept_conn *kept;
	unsigned nkept;
	uint32_t next_kept_id;
	struct req *q_head, *q_tail;
	struct req *outstanding;
	unsigned fifo_queued; /* FIFO requests queued or outstanding here (fifo.c caps them) */

	/* Storage (nvservice.c, worker.c). */
	struct nv_job *nv_job;  /* the vtpmd's outstanding NV request, or NULL */
	uint32_t spawn_seq;     /* counts vtpmds: replies go to the one that asked */
	unsigned nwork;         /* storage works holding this struct */
	int free_pending;       /* freed once nwork drops to 0 */
	unsigned gen_unknown;   /* bit per blob: generation on disk not known (adopted) */

	/* The end of a vtpmd (supervise.c vtpm_channel_lost): what it was. */
	int lost_was;           /* its state when the channel went */
	int lost_orderly;
	char lost_why[64];
	uint64_t dying_since;
	struct ev pid_ev;       /* pidfd in epoll while VS_DYING */

	/* Restart survival (adopt.c). */
	int pidfd;              /* the running vtpmd's pidfd, or -1 */
	int adopted;            /* ... which is not our child (adopt.c) */
	int adopt_offered;      /* the vtpmd has an adopt socket */
	int adopt_stage;        /* ADOPT_* while VS_ADOPTING */
	struct life_op *create_op; /* its creation, until durable (registry.c) */
	unsigned adopt_nfds;    /* descriptors it returned so far */
	int detaching;          /* shutdown: detach once idle, instead of stopping */
	uint32_t next_held_id;
	unsigned nheld;         /* control connections the vtpmd holds */

	/* Waiting for this vTPM to stop (vtpmctl stop, delete). */
	struct stop_wait stop_waiters[8];
	unsigned nstop_waiters;
	int delete_after_stop;

	int exported; /* moved to another host: never started here (provision.c) */
};

struct ctl_client {
	struct ev ev;
	struct chan ch;
	int waiting; /* an answer will come later (a stop, a create, a commit) */
	uint8_t wait_uuid[UUID_LEN]; /* the vTPM whose record the answer carries */
	int wait_record;
	struct commit_req cr;        /* set-owner: its manifest commit */
	int commit_pending;          /* cr is with the commit thread: memory stays */
	int gone;                    /* freed while commit_pending: free at its end */
	uint64_t accepted_ms; /* closed when no request came within IDLE_FIRST_REQUEST_MS */
	int asked;
	struct ctl_client *next;
};

struct fifo_backend {
	int dir_fd; /* <run-dir>/fifo */
	int in_fd, out_fd, lock_fd;
	struct ev in_ev, out_ev;
	struct buf in;
	struct buf out;
	uint64_t partial_since; /* ms when an incomplete frame appeared, 0 if none */
};

/*
 * How the core (registry.c, supervise.c, queue.c, nvservice.c) reaches
 * the front ends and the adoption above it without calling them:
 * frontends.c fills these in.  A NULL hook is skipped.
 */
struct mgr_hooks {
	/* A vTPM is added: bind its sockets, or adopt the vtpmd that outlived
	 * the last manager (which brings them back).  0 or -1 with err. */
	int (*vtpm_added)(struct mgr *m, struct vtpm *v, char *err, size_t errlen);
	/* A vTPM goes: its sockets and their names. */
	void (*vtpm_removed)(struct mgr *m, struct vtpm *v);
	/* A vtpmd was started / is gone (restart survival: its adopt socket). */
	void (*vtpmd_started)(struct mgr *m, struct vtpm *v);
	void (*vtpmd_gone)(struct mgr *m, struct vtpm *v);
	/* A message of a vtpmd being adopted (VS_ADOPTING): 0, or -1 with why. */
	int (*adopting_msg)(struct mgr *m, struct vtpm *v, const struct chan_msg *msg,
			 const char **why);
	/* The adoption broke off: whatever came back is kept, the rest re-made. */
	void (*adopting_broke)(struct mgr *m, struct vtpm *v);
	/* 1 when a Xen device has the vTPM open (a guest uses it). */
	int (*xen_open)(struct mgr *m, const struct vtpm *v);
	/* After each epoll batch: work a front end deferred out of callbacks. */
	void (*after_batch)(struct mgr *m);
};

struct mgr {
	struct config cfg;
	struct mgr_hooks hooks;
	int epfd;
	int sigfd;
	struct ev sig_ev;
	struct store store;
	struct manifest manifest;
	struct vtpm *vtpms;          /* in instance order (vtpm_add) */
	struct vtpm *vtpms_tail;
	struct ev ctl_ev;
	struct ctl_client *ctl_clients;
	struct life_op *life_ops;    /* creations and deletions under way (registry.c) */
	struct fifo_backend fifo;
	int fifo_enabled;
	unsigned fifo_queued;        /* FIFO requests in all vTPMs' queues */
	struct xen_backend *xen;     /* Xen PV backend's loop end (xen_backend.c), NULL when off */
	int runlock_fd;
	int run_dirfd;               /* <run-dir>, checked by dir_open_trusted */
	int adopt_dirfd;             /* <run-dir>/adopt (adopt.c), -1 when off */
	char adopt_dir[PATH_MAX];
	unsigned ndetached;          /* vtpmds left running for the next manager */
	uint64_t next_conn_id;
	struct commit *commit;       /* manifest commits (commit.c) */
	struct workers *workers;     /* storage threads (worker.c) */
	struct host_tpm *host;       /* the host TPM, for status */
	uid_t vtpm_uid;              /* vtpmd's unprivileged identity */
	gid_t vtpm_gid;
	char empty_dir[PATH_MAX];    /* vtpmd's chroot: <run-dir>/empty */
	/* File descriptors (loop.c: accept_or_shed).  nofile is our limit;
	 * a guest connection beyond max_connections, or one that arrives
	 * when none is left, is accepted on a reserve fd and closed at once,
	 * so a full backlog never spins the loop.  The admin reserve lets
	 * vtpmctl in when everything else is used up. */
	unsigned nofile;
	unsigned nguest;             /* control + kept data connections, all vTPMs */
	int reserve_fd, admin_reserve_fd;
	uint64_t shed_log_ms;        /* last "refused" log line (rate limit) */
	unsigned shed_quiet;         /* refusals since then */
	unsigned nctl;               /* vtpmctl clients (at most CTL_CLIENTS_MAX) */
	uint64_t ctl_paused_until;   /* no fd even to shed with: ctl_ev off until then */
	int stopping;   /* SIGTERM seen: stop vtpmds, then leave the loop */
	int done;
	int serving;    /* start-up finished: exit may commit the manifest */
	/* Objects freed while an epoll batch is being dispatched: their
	 * struct ev may still be referenced by a later event of the same
	 * batch, so their memory is released only after the batch. */
	void **grave;
	size_t ngrave, capgrave;
	int resume_pending; /* some control connection has a deferred resume */
	struct prov *prov;  /* CA, transport key, provisioning jobs (provision.c) */
};

/* frontends.c: fills in m->hooks. */
void frontends_hook(struct mgr *m);

/* loop.c; ev_set and unix_set_owner wrap one system call each and return
 * 0 or -errno (util/err.h). */
int ev_set(struct mgr *m, struct ev *e, uint32_t events);
void ev_del(struct mgr *m, struct ev *e);
/* Runs the callbacks of one epoll batch, skipping events whose struct ev
 * was unregistered earlier in the batch, then releases deferred frees. */
void mgr_dispatch(struct mgr *m, const struct epoll_event *evs, int n);
/* free(p) after the current batch (p's evs must already be ev_del'ed). */
void mgr_defer_free(struct mgr *m, void *p);
void mgr_release_deferred(struct mgr *m);

/* A vTPM has a running vtpmd (its channel is open). */
static inline int
vtpm_has_vtpmd(const struct vtpm *v)
{
	return v->ch.fd >= 0;
}

/* A storage work refers to v / is finished with it: v's memory outlives
 * its works (freed with the last one when vtpm_free came first). */
static inline void
vtpm_work_begin(struct vtpm *v)
{
	v->nwork++;
}

static inline void
vtpm_work_done(struct mgr *m, struct vtpm *v)
{
	if (--v->nwork == 0 && v->free_pending)
		mgr_defer_free(m, v);
}

/* registry.c: the vTPMs defined here */
struct vtpm *vtpm_find_uuid(struct mgr *m, const uint8_t uuid[UUID_LEN]);
struct vtpm *vtpm_find_instance(struct mgr *m, uint32_t instance);
/* Adds a vTPM of the manifest (its sockets through m->hooks.vtpm_added). */
struct vtpm *vtpm_add(struct mgr *m, const struct manifest_entry *me, char *err, size_t errlen);
/*
 * A new vTPM (version 1 = TPM 1.2, 2 = TPM 2.0; owner uid/gid or
 * MANIFEST_NO_OWNER): added and usable at once; its state directory and
 * the manifest are made durable off the loop, then waiter.done (if any)
 * hears "created", or of the failure (the vTPM is gone again).  NULL with
 * a message in err when it cannot even start (nil or existing UUID, no fd
 * budget, memory); waiter.done is not called then.
 */
struct vtpm *vtpm_create(struct mgr *m, const uint8_t uuid[UUID_LEN], int tpm_version,
			 uint32_t owner_uid, uint32_t owner_gid, struct stop_wait waiter,
			 char *err, size_t errlen);
/*
 * What a vTPM made elsewhere starts with (provision.c: manufactured EKs, an
 * imported state): state files at generation 1 (blobs[i] where has[i]),
 * then write(ctx) for files of its own; both run on a storage thread once
 * the directory exists, before the manifest records the files.  Owned by
 * the caller until waiter.done.
 */
struct vtpm_seed {
	const struct buf *blobs; /* BLOB_COUNT of them */
	const int *has;
	int (*write)(struct store *s, const uint8_t uuid[UUID_LEN], void *ctx);
	void *ctx;
};
/* As vtpm_create, for the entry me (its instance chosen by the caller;
 * flags, generations and times are set here) with the files of seed. */
struct vtpm *vtpm_install(struct mgr *m, const struct manifest_entry *me,
			  const struct vtpm_seed *seed, struct stop_wait waiter, char *err,
			  size_t errlen);
/* A waiter (ctx) of a creation or deletion is gone: it hears nothing. */
void registry_cancel_waiter(struct mgr *m, void *ctx);
/* Removes v from the list at once (its sockets, connections, requests);
 * the memory goes after the current batch and its last storage work. */
void vtpm_free(struct mgr *m, struct vtpm *v);
/*
 * Deletes v (no vtpmd may run): gone from the list at once, the manifest
 * without it committed, then its files removed, then waiter.done.  0, or
 * -1 (out of memory: nothing done).
 */
int vtpm_delete(struct mgr *m, struct vtpm *v, struct stop_wait waiter);
/* 1 when a guest is attached (a QEMU data connection passed with
 * SET_DATAFD, a Xen device), with what in why. */
int vtpm_guest_attached(struct mgr *m, const struct vtpm *v, char *why, size_t whylen);
/* 1 when a Xen PV device is connected to the vTPM. */
int vtpm_xen_attached(struct mgr *m, const struct vtpm *v);

/* queue.c: requests to a vtpmd */
struct req *req_new(enum req_kind kind, req_done_fn *done, uint64_t tag);
void req_free(struct req *r);
/* Hands r's answer to whoever submitted it, and frees r. */
void req_complete(struct mgr *m, struct req *r, const uint8_t *resp, size_t len, int failed);
/* Answers r (never to reach a vtpmd) with an error response made here. */
void req_fail(struct mgr *m, struct vtpm *v, struct req *r);
void queue_add(struct vtpm *v, struct req *r);
/* Fails the outstanding and every queued request of v. */
void queue_fail_all(struct mgr *m, struct vtpm *v);
/* Sends the next queued request to a ready vtpmd with none outstanding;
 * 0, or -1 when the channel failed. */
int queue_pump(struct mgr *m, struct vtpm *v);

/* supervise.c: vtpmd processes and their channels */
int vtpm_spawn(struct mgr *m, struct vtpm *v, int autostart);
/* Queues r for v's vtpmd, starting one if none runs; r is always
 * completed (req_done_fn), by the vtpmd or with an error. */
void vtpm_submit(struct mgr *m, struct vtpm *v, struct req *r);
/* Orderly stop; a vtpmd that was powered on by its first TPM command
 * saves its volatile state for the next one to resume. */
void vtpm_request_stop(struct mgr *m, struct vtpm *v);
/*
 * The machine the vTPM belongs to was switched off (Xen: the toolstack
 * removed the guest's device at a reboot, shutdown or destroy): the vtpmd
 * stops without keeping volatile state, and a stored volatile state is
 * deleted, so the next start is a power-on (PCRs reset, NV kept).
 */
void vtpm_power_off(struct mgr *m, struct vtpm *v);
/* Kills v's vtpmd, if one runs (handled as a crash). */
void vtpm_abort(struct mgr *m, struct vtpm *v, const char *why);
void vtpm_reap(struct mgr *m, pid_t pid, int status);
void vtpm_check_deadlines(struct mgr *m);
unsigned vtpm_uid_of(const struct mgr *m, const struct vtpm *v);
/* SET_DATAFD: takes fd (closes it on failure); returns a control result code. */
uint32_t vtpm_add_data_fd(struct mgr *m, struct vtpm *v, int fd);
/* CANCEL_TPM_CMD: signals the vtpmd when a command executes; result code. */
uint32_t vtpm_cancel(struct mgr *m, struct vtpm *v);
/* vtpmctl stop of a vTPM without vtpmd: closes kept connections, clears a
 * failed state and the crash count. */
void vtpm_stop_idle(struct mgr *m, struct vtpm *v);
/* vtpm_free's part: kept connections, flight record, requests, pidfd. */
void supervise_forget(struct mgr *m, struct vtpm *v);
/* adopt.c: an orphaned vtpmd's channel (fd, ours); its HELLO comes next. */
int vtpm_adopt_channel(struct mgr *m, struct vtpm *v, int fd);
/* adopt.c: a data connection the vtpmd serves and we keep a duplicate of. */
int vtpm_keep_conn(struct mgr *m, struct vtpm *v, int fd, uint32_t id);
/* adopt.c: the vtpmd was detached: let go of it without stopping it
 * (channel, pidfd, flight record, our duplicates); VS_DETACHED. */
void vtpm_let_go(struct mgr *m, struct vtpm *v);
/* Gives the vtpmd a descriptor to hold for the next manager (CHAN_HOLD_FD),
 * or with fd -1 lets it close the one of that kind and id. */
void vtpm_hold_fd(struct mgr *m, struct vtpm *v, uint32_t kind, uint32_t id, int fd);

/* sockets.c: per-vTPM sockets and the swtpm control protocol */
int sockets_bind_vtpm(struct mgr *m, struct vtpm *v, char *err, size_t errlen);
void sockets_unbind_vtpm(struct mgr *m, struct vtpm *v);
/* Closes the vTPM's sockets and connections but keeps their names: a
 * detached vtpmd holds them for the next manager. */
void sockets_release_vtpm(struct mgr *m, struct vtpm *v);
/* A new vtpmd holds duplicates of the established control connections. */
void sockets_hold_ctrl_all(struct mgr *m, struct vtpm *v);
/* A control connection an adopted vtpmd held (established, held id). */
int sockets_adopt_ctrl_conn(struct mgr *m, struct vtpm *v, int fd, uint32_t held_id);
/* Re-applies the vTPM's socket owner and mode (after vtpmctl set-owner). */
int sockets_set_owner(struct mgr *m, struct vtpm *v, char *err, size_t errlen);
void ctrl_conn_reply(struct mgr *m, struct ctrl_conn *c, const uint8_t *p, size_t len);
struct ctrl_conn *ctrl_conn_find(struct vtpm *v, uint64_t id);
void ctrl_conn_resume(struct mgr *m, struct ctrl_conn *c);
void sockets_run_resumes(struct mgr *m);
void sockets_tick(struct mgr *m);

/* fifo.c */
int fifo_open(struct mgr *m, char *err, size_t errlen);
void fifo_close(struct mgr *m);
void fifo_reply(struct mgr *m, uint32_t instance, const uint8_t *p, size_t len);
void fifo_tick(struct mgr *m);

/* ctl.c: vtpmctl control socket */
int ctl_open(struct mgr *m, char *err, size_t errlen);
void ctl_close(struct mgr *m);
void ctl_tick(struct mgr *m);
/* ctl_reply.c: a reply with optional record and data; a client that waits
 * for a late answer (ctl_wait) hears nothing else until ctl_job_done. */
void ctl_answer(struct mgr *m, struct ctl_client *c, int ok, const char *msg, struct vtpm *one,
		const uint8_t *data, size_t datalen);
void ctl_wait(struct mgr *m, struct ctl_client *c);
/* One page of `list`: the vTPMs whose instance is above after. */
void ctl_answer_list(struct mgr *m, struct ctl_client *c, uint32_t after);
void ctl_job_done(struct mgr *m, struct ctl_client *c, int ok, const char *msg,
		  struct vtpm *one, const uint8_t *data, size_t datalen);

/* commit.c: manifest commits anchored in the host TPM counter */
struct host_tpm;
int commit_init(struct mgr *m, struct host_tpm *host, uint64_t seq, char *err, size_t errlen);
int commit_check_anchor(struct mgr *m, int present, uint64_t seq, int fresh, char *err,
			size_t errlen);
void manifest_commit(struct mgr *m, struct commit_req *r);
/* Commits on the calling thread, waiting for any commit in flight: only
 * at start-up and exit, when nothing is served.  0 or a VERR_*. */
int manifest_sync(struct mgr *m);
void manifest_mark_dirty(struct mgr *m);
void commit_tick(struct mgr *m);
void commit_status(struct mgr *m, uint64_t *seq, uint64_t *counter, int *has_counter);
void commit_shutdown(struct mgr *m);

/* Storage threads (worker.c): one vTPM's saves run in order on one of
 * them; this many vTPMs can wait on a slow or frozen disk at once before a
 * load of another vTPM waits too. */
#define STORAGE_THREADS 4

/* An incomplete request or frame is dropped after this long (swtpm: 500 ms). */
#define PARTIAL_TIMEOUT_MS 500
/* A connection that sends no request at all is closed after this long. */
#define IDLE_FIRST_REQUEST_MS 10000

/* loop.c: file descriptors */
/* Fixed descriptors the manager needs besides vTPMs and connections
 * (epoll, signals, state directory, the vtpmctl socket and its clients,
 * FIFOs, the host TPM, Xen, files being written). */
#define FD_FIXED_RESERVE 64
/* Worst case per vTPM: two listening sockets and a running vtpmd's channel. */
#define FD_PER_VTPM 3
/* Raises the soft RLIMIT_NOFILE to the hard one; sets m->nofile. */
void fd_limits_init(struct mgr *m);
/* 1 when `more` vTPMs fit the descriptor budget. */
int fd_budget_allows(const struct mgr *m, unsigned more);
/*
 * Accepts one connection from listening socket lfd (non-blocking,
 * close-on-exec).  When the process is out of descriptors, the connection
 * is accepted on a reserve fd and closed (the client sees it refused) and
 * the next one is tried; admin (the vtpmctl socket) may instead keep its
 * reserve fd.  Returns the fd, -1 when nothing is pending, or -2 when not
 * even the reserve is left (the caller pauses the listener).
 */
int accept_or_shed(struct mgr *m, int lfd, int admin, const char *what);
/* A refusal worth a log line, at most one every 10 s. */
void shed_log(struct mgr *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A vtpmctl client went away: refills the admin reserve if it was used. */
void fd_admin_released(struct mgr *m);

/* helpers */
int unix_listen(int dirfd, const char *dirpath, const char *name, int type, mode_t mode,
		uid_t uid, gid_t gid, int backlog, char *err, size_t errlen);
int unix_set_owner(int dirfd, const char *name, mode_t mode, uid_t uid, gid_t gid);
int path_join(char *out, size_t outlen, const char *dir, const char *name);
uint64_t now_unix(void);
uint64_t now_ms(void);

#endif
