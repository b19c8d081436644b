/*
 * supervise.c - supervision of vtpmd processes and the manager's end of
 * their channels.
 *
 * Owns: each vTPM's vtpmd (spawn, stop, kill, reap), its request queue and
 * the NV load/store/delete service that turns a vtpmd's blobs into sealed
 * files.  Trusts: nothing a vtpmd sends.  Every message is size-checked here
 * per type, a reply must match the request we have outstanding, and a vtpmd
 * that breaks the protocol is killed.  Which vTPM a blob belongs to is
 * decided by the channel it arrived on, never by the message.
 *
 * Crashes and hangs.  Every vtpmd gets a flight record (util/flight.h): the
 * manager reads there which command the vtpmd executes, since when, and
 * from which connection.  A command running longer than its deadline
 * (command_timeout, or FAST_COMMAND_TIMEOUT_MS for commands that cannot
 * take long) gets the vtpmd killed.  A vtpmd that dies other than by an
 * orderly stop (crash, kill, deadline) is made sure dead, then the command
 * it was executing on a kept connection (SET_DATAFD, struct kept_conn) is
 * answered with a TPM error response, and the kept connections are watched
 * until the next command on one of them (or on the listening socket, or a
 * control request) starts a new vtpmd from the last saved state, which
 * gets them handed over again.  A running TPM that crashed comes back
 * powered on and started (--autostart): its volatile state (PCRs, sessions,
 * loaded objects) is lost, NV and keys persist, and the guest carries on
 * with its next command; a bare swtpm crash would leave QEMU's TPM dead
 * until the VM restarts.  Connections the vtpmd accepted itself (tpm2-tss
 * opens one per command) are not kept: their clients see them close.  More
 * than CRASH_LOOP_MAX crashes within CRASH_LOOP_WINDOW_MS fail the vTPM
 * until `vtpmctl stop`.
 */
#include "manager/mgr.h"
#include "manager/nvservice.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "util/ctrl_proto.h"
#include "util/log.h"
#include "util/tpm_frame.h"

#define TPM_RETRY_RC 0x800u
#define TPM_FAIL_RC 0x09u
#define STOP_TIMEOUT_MS 10000
/* Deadline of the commands in fast_ordinal() (or command_timeout if less). */
#define FAST_COMMAND_TIMEOUT_MS 10000
/* More crashes than this within the window fail the vTPM. */
#define CRASH_LOOP_MAX 5
#define CRASH_LOOP_WINDOW_MS 60000
/* How long a SIGKILLed vtpmd may take to die before its connections are
 * given up instead of answered. */
#define KILL_WAIT_MS 1000
/* A flight record stuck outside EXECUTING gets command_timeout plus this. */
#define STUCK_MARGIN_MS 10000

static void vtpm_channel_lost(struct mgr *m, struct vtpm *v, const char *why);
static void vtpm_chan_cb(struct mgr *m, struct ev *e, uint32_t events);
static void kept_cb(struct mgr *m, struct ev *e, uint32_t events);
static void kept_free(struct mgr *m, struct kept_conn *k, int shut);
static void flight_unmap(struct vtpm *v);
static void vtpm_kill(struct mgr *m, struct vtpm *v, const char *why);
static void channel_lost_finish(struct mgr *m, struct vtpm *v, int dead, const char *how,
				int st);

/* Signals the running vtpmd: by pidfd when it was adopted (it is not our
 * child, and its pid could be reused once it is gone), else by pid while
 * it is not reaped.  Never pid 0 (our own process group). */
static void
signal_vtpmd(struct vtpm *v, int sig)
{
	if (v->pidfd >= 0)
		(void)syscall(SYS_pidfd_send_signal, v->pidfd, sig, NULL, 0);
	else if (v->pid > 0 && !v->pid_reaped)
		(void)kill(v->pid, sig);
}

static struct kept_conn *
kept_find(struct vtpm *v, uint32_t id)
{
	for (struct kept_conn *k = v->kept; k != NULL; k = k->next)
		if (k->id == id)
			return k;
	return NULL;
}

/* Forgets a kept connection.  shut: end it for every holder (the client
 * sees EOF even if a vtpmd still has it), not just drop our reference. */
static void
kept_free(struct mgr *m, struct kept_conn *k, int shut)
{
	struct vtpm *v = k->v;

	for (struct kept_conn **pp = &v->kept; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == k) {
			*pp = k->next;
			break;
		}
	}
	v->nkept--;
	m->nguest--;
	ev_del(m, &k->ev); /* before close: a vtpmd may share the open file */
	if (shut)
		(void)shutdown(k->ev.fd, SHUT_RDWR);
	close(k->ev.fd);
	mgr_defer_free(m, k);
}

static void
kept_close_all(struct mgr *m, struct vtpm *v)
{
	if (v->nkept != 0)
		log_info(LOGM_VTPM, "vtpm %s: closing %u kept data connection(s)", v->uuid_str,
			 v->nkept);
	while (v->kept != NULL)
		kept_free(m, v->kept, 1);
}

/* Passes k to the running vtpmd.  0, or -1 (k is left as it was). */
static int
kept_hand_over(struct mgr *m, struct vtpm *v, struct kept_conn *k)
{
	uint8_t id[4];

	be32_put(id, k->id);
	if (chan_send(v->ch.fd, CHAN_DATA_FD, id, sizeof(id), NULL, 0, k->ev.fd) != 0)
		return -1;
	/* Only a hang-up interests us while the vtpmd serves it. */
	if (ev_set(m, &k->ev, EPOLLRDHUP) != 0)
		log_warn(LOGM_VTPM, "vtpm %s: epoll: %s", v->uuid_str, strerror(errno));
	return 0;
}

/* No vtpmd: the next command on a kept connection starts one. */
static void
kept_watch_all(struct mgr *m, struct vtpm *v)
{
	struct kept_conn *k, *next;

	for (k = v->kept; k != NULL; k = next) {
		next = k->next;
		if (ev_set(m, &k->ev, EPOLLIN | EPOLLRDHUP) != 0) {
			log_warn(LOGM_VTPM, "vtpm %s: epoll: %s; closing kept connection %u",
				 v->uuid_str, strerror(errno), k->id);
			kept_free(m, k, 1);
		}
	}
}

/*
 * The vTPM is failed: answers each command arriving on k with a TPM error
 * response (tag of the request's generation), reading and discarding its
 * body.  The manager looks at the header only.  A bad size or a client
 * that does not read ends the connection.
 */
static void
kept_answer_failed(struct mgr *m, struct kept_conn *k)
{
	struct vtpm *v = k->v;
	uint8_t scratch[512], out[TPM_HDR_SIZE];
	uint32_t size;
	ssize_t n;

	for (int rounds = 0; rounds < 64; rounds++) {
		if (k->skip > 0)
			n = recv(k->ev.fd, scratch, k->skip < sizeof(scratch) ? k->skip : sizeof(scratch),
				 MSG_DONTWAIT);
		else
			n = recv(k->ev.fd, k->hdr + k->hlen, sizeof(k->hdr) - k->hlen, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			kept_free(m, k, 1);
			return;
		}
		if (k->skip > 0) {
			k->skip -= (uint32_t)n;
			continue;
		}
		k->hlen += (uint32_t)n;
		if (k->hlen < sizeof(k->hdr))
			continue;
		k->hlen = 0;
		size = be32_get(k->hdr + 2);
		tpm_frame_error(out, k->hdr, sizeof(k->hdr), v->me.tpm_version == 2,
				tpm_frame_fail_code(k->hdr, sizeof(k->hdr), v->me.tpm_version == 2));
		if (send(k->ev.fd, out, sizeof(out), MSG_DONTWAIT | MSG_NOSIGNAL) !=
			    (ssize_t)sizeof(out) ||
		    size < TPM_HDR_SIZE || size > TPM_FRAME_MAX) {
			kept_free(m, k, 1);
			return;
		}
		k->skip = size - TPM_HDR_SIZE;
	}
}

static void
kept_cb(struct mgr *m, struct ev *e, uint32_t events)
{
	struct kept_conn *k = e->ctx;
	struct vtpm *v = k->v;
	uint32_t id = k->id;

	if (events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR)) {
		/* The client is gone (or half-closed): nobody to serve. */
		log_debug(LOGM_VTPM, "vtpm %s: kept data connection %u closed by its client",
			  v->uuid_str, id);
		kept_free(m, k, 0);
		return;
	}
	if (!(events & EPOLLIN))
		return;
	if (vtpm_has_vtpmd(v)) {
		(void)ev_set(m, &k->ev, EPOLLRDHUP); /* it is the vtpmd's to read */
		return;
	}
	if (v->state == VS_FAILED) {
		kept_answer_failed(m, k);
		return;
	}
	/* A command: start a vtpmd, which gets this connection with the
	 * others and reads the command itself. */
	log_info(LOGM_VTPM, "vtpm %s: command on kept data connection %u: starting vtpmd",
		 v->uuid_str, id);
	if (vtpm_spawn(m, v, 1) == 0)
		return;
	if ((k = kept_find(v, id)) == NULL)
		return;
	if (v->state == VS_FAILED) {
		kept_answer_failed(m, k);
	} else {
		log_warn(LOGM_VTPM, "vtpm %s: cannot start vtpmd; closing kept data connection %u",
			 v->uuid_str, id);
		kept_free(m, k, 1);
	}
}

/* Records a kept connection (id 0: the next free one). */
static struct kept_conn *
keep_new(struct mgr *m, struct vtpm *v, int fd, uint32_t id)
{
	struct kept_conn *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return NULL;
	if (id == 0) {
		if (++v->next_kept_id == FLIGHT_CONN_NONE)
			++v->next_kept_id;
		id = v->next_kept_id;
	} else if (id > v->next_kept_id && id != FLIGHT_CONN_NONE) {
		v->next_kept_id = id;
	}
	k->v = v;
	k->id = id;
	k->ev = (struct ev){ .fd = fd, .cb = kept_cb, .ctx = k };
	k->next = v->kept;
	v->kept = k;
	v->nkept++;
	m->nguest++;
	return k;
}

int
vtpm_keep_conn(struct mgr *m, struct vtpm *v, int fd, uint32_t id)
{
	struct kept_conn *k;

	if (kept_find(v, id) != NULL || (k = keep_new(m, v, fd, id)) == NULL)
		return -1;
	/* The vtpmd serves it: only a hang-up interests us. */
	(void)ev_set(m, &k->ev, EPOLLRDHUP);
	return 0;
}

uint32_t
vtpm_add_data_fd(struct mgr *m, struct vtpm *v, int fd)
{
	struct kept_conn *k;
	int type = 0;
	socklen_t sl = sizeof(type);

	/* QEMU passes one end of a socketpair; nothing else is served. */
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &sl) != 0 || type != SOCK_STREAM) {
		close(fd);
		return CTRL_RES_BAD_PARAMETER;
	}
	/* Nor to a vTPM an operator is stopping or deleting. */
	if (v->state == VS_FAILED || v->close_kept || m->stopping) {
		close(fd);
		return CTRL_RES_FAIL;
	}
	/* One guest per vTPM, as a bare swtpm serves one: a second QEMU
	 * attaching would share (and power-cycle) the first VM's TPM. */
	if (v->nkept != 0) {
		log_warn(LOGM_BACKEND, "vtpm %s: SET_DATAFD refused: a guest's data connection is "
			 "already attached (a second QEMU for the same vTPM?)", v->uuid_str);
		close(fd);
		return CTRL_RES_FAIL;
	}
	if (m->nguest >= m->cfg.max_connections) {
		shed_log(m, "vtpm %s: SET_DATAFD refused: %u guest connections open on this host "
			 "(max_connections)", v->uuid_str, m->nguest);
		close(fd);
		return CTRL_RES_FAIL;
	}
	/* Started first: a new vtpmd is handed every kept connection. */
	if (!vtpm_has_vtpmd(v) && vtpm_spawn(m, v, 0) != 0) {
		close(fd);
		return CTRL_RES_FAIL;
	}
	if ((k = keep_new(m, v, fd, 0)) == NULL) {
		close(fd);
		return CTRL_RES_FAIL;
	}
	if (v->state == VS_STOPPING) {
		/* The vtpmd exits after a SHUTDOWN: the connection waits for
		 * the next one, which the next command on it starts. */
		log_debug(LOGM_VTPM, "vtpm %s: data connection %u kept for the next vtpmd",
			  v->uuid_str, k->id);
		return CTRL_RES_SUCCESS;
	}
	if (kept_hand_over(m, v, k) != 0) {
		/* The vtpmd just died (its channel's EOF is next, and hands k
		 * to the next one) or does not read its channel (hung). */
		log_warn(LOGM_VTPM, "vtpm %s: cannot pass data connection %u to vtpmd pid %d now "
			 "(%s); it is kept for the next vtpmd", v->uuid_str, k->id, (int)v->pid,
			 strerror(errno));
		return CTRL_RES_SUCCESS;
	}
	log_debug(LOGM_VTPM, "vtpm %s: data connection %u passed to vtpmd pid %d", v->uuid_str,
		  k->id, (int)v->pid);
	return CTRL_RES_SUCCESS;
}

/* A sealed one-page memfd for the next vtpmd; *map is our read-only view.
 * Returns the fd (close it after fork) or -1. */
static int
flight_create(const struct vtpm_flight **map)
{
	void *p;
	int fd = memfd_create("vtpm-flight", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return -1;
	/* Sealed against shrinking: a vtpmd cannot make our mapping fault. */
	if (ftruncate(fd, FLIGHT_SIZE) != 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0 ||
	    (p = mmap(NULL, FLIGHT_SIZE, PROT_READ, MAP_SHARED, fd, 0)) == MAP_FAILED) {
		close(fd);
		return -1;
	}
	*map = p;
	return fd;
}

static void
flight_unmap(struct vtpm *v)
{
	if (v->flight != NULL)
		(void)munmap((void *)(uintptr_t)v->flight, FLIGHT_SIZE);
	v->flight = NULL;
}

/* TPM commands that finish in milliseconds on any host: a vtpmd stuck in
 * one for FAST_COMMAND_TIMEOUT_MS is hung, not busy.  Everything else (key
 * generation, signing, self tests, ...) gets command_timeout. */
static int
fast_ordinal(uint32_t tag, uint32_t ord)
{
	static const uint16_t fast2[] = {
		0x144, /* Startup */         0x145, /* Shutdown */
		0x17b, /* GetRandom */       0x146, /* StirRandom */
		0x182, /* PCR_Extend */      0x13c, /* PCR_Event */
		0x17e, /* PCR_Read */        0x13d, /* PCR_Reset */
		0x17a, /* GetCapability */   0x181, /* ReadClock */
		0x14e, /* NV_Read */         0x137, /* NV_Write */
		0x169, /* NV_ReadPublic */   0x134, /* NV_Increment */
		0x136, /* NV_Extend */       0x135, /* NV_SetBits */
		0x165, /* FlushContext */    0x173, /* ReadPublic */
		0x17c, /* GetTestResult */
	};
	static const uint16_t fast12[] = {
		0x99, /* Startup */          0x98, /* SaveState */
		0x46, /* GetRandom */        0x47, /* StirRandom */
		0x14, /* Extend */           0x15, /* PCRRead */
		0xc8, /* PCR_Reset */        0x65, /* GetCapability */
		0xcf, /* NV_ReadValue */     0xcd, /* NV_WriteValue */
		0xf1, /* GetTicks */         0xba, /* FlushSpecific */
		0x0a, /* OIAP */             0x0b, /* OSAP */
	};
	const uint16_t *l;
	size_t n;

	if (tag == TPM2_ST_NO_SESSIONS || tag == TPM2_ST_SESSIONS) {
		l = fast2;
		n = sizeof(fast2) / sizeof(fast2[0]);
	} else if (tag >= TPM12_TAG_RQU_COMMAND && tag <= TPM12_TAG_RQU_AUTH2) {
		l = fast12;
		n = sizeof(fast12) / sizeof(fast12[0]);
	} else {
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		if (ord == l[i])
			return 1;
	return 0;
}

static uint64_t
command_limit_ms(struct mgr *m, uint32_t tag, uint32_t ord)
{
	uint64_t full = (uint64_t)m->cfg.command_timeout * 1000;

	return fast_ordinal(tag, ord) && FAST_COMMAND_TIMEOUT_MS < full ? FAST_COMMAND_TIMEOUT_MS
									  : full;
}

/*
 * The running vtpmd's deadlines; 1 when it was killed.  A command that
 * executes (flight record) is timed from its start, or from the manager's
 * last sign of progress from this vtpmd (an NV request it served) if that
 * is later, so slow storage does not count against the vtpmd.  A start
 * time in the future (a lying record) counts from when the manager first
 * saw the command.  A request the manager sent that no command is
 * executing for (a vtpmd stopped or hung between commands) is timed from
 * when it was sent, or from the last progress.
 */
static int
check_vtpmd_deadline(struct mgr *m, struct vtpm *v, uint64_t now)
{
	struct vtpm_flight f;
	struct req *r = v->outstanding;
	uint64_t start, limit;
	uint32_t tag = 0, ord = 0;
	int consistent;

	if (v->state == VS_STARTING || v->state == VS_ADOPTING) {
		/* An orphan may be in a long command when we come. */
		limit = (uint64_t)m->cfg.command_timeout * 1000 +
			(v->state == VS_ADOPTING ? STUCK_MARGIN_MS : 0);
		if (now - v->alive_ms <= limit)
			return 0;
		snprintf(v->kill_buf, sizeof(v->kill_buf), "deadline: %s after %llu s",
			 v->state == VS_ADOPTING ? "no hand-over" : "not ready",
			 (unsigned long long)(limit / 1000));
		vtpm_kill(m, v, v->kill_buf);
		return 1;
	}
	if (v->state != VS_RUNNING || v->flight == NULL)
		return 0;
	/* Waiting for us to store its state is not the vtpmd's time. */
	if (nv_pending(v))
		v->alive_ms = now;
	consistent = flight_snapshot(v->flight, &f) == 0;
	if (f.seq != v->flight_seq) {
		/* The record changed since the last look: progress. */
		v->flight_seq = f.seq;
		v->exec_seen_ms = now;
		if (v->alive_ms < now)
			v->alive_ms = now;
	}
	if (consistent && f.phase == FLIGHT_EXECUTING) {
		start = f.start_ms <= now ? f.start_ms : v->exec_seen_ms;
		if (start < v->alive_ms)
			start = v->alive_ms;
		limit = command_limit_ms(m, f.tag, f.ordinal);
		if (now - start <= limit)
			return 0;
		snprintf(v->kill_buf, sizeof(v->kill_buf), "deadline: TPM command 0x%x "
			 "(tag 0x%x) still executing after %llu ms (limit %llu ms)", f.ordinal, f.tag,
			 (unsigned long long)(now - start), (unsigned long long)limit);
		vtpm_kill(m, v, v->kill_buf);
		return 1;
	}
	if (!consistent || f.phase != FLIGHT_IDLE) {
		/* Responding (vtpmd bounds a client's reading to 5 s itself),
		 * or a record left mid-update: only a record that stays so
		 * for long is a hung vtpmd. */
		limit = (uint64_t)m->cfg.command_timeout * 1000 + STUCK_MARGIN_MS;
		if (now - v->alive_ms <= limit)
			return 0;
		snprintf(v->kill_buf, sizeof(v->kill_buf), "deadline: flight record unchanged "
			 "for %llu ms (phase %u)", (unsigned long long)(now - v->alive_ms),
			 consistent ? f.phase : 99u);
		vtpm_kill(m, v, v->kill_buf);
		return 1;
	}
	if (r == NULL || r->kind == REQ_STOP)
		return 0;
	if (r->kind == REQ_TPM && buf_avail(&r->payload) >= TPM_HDR_SIZE) {
		tag = be16_get(buf_ptr(&r->payload));
		ord = be32_get(buf_ptr(&r->payload) + 6);
		limit = command_limit_ms(m, tag, ord);
	} else {
		limit = (uint64_t)m->cfg.command_timeout * 1000;
	}
	start = r->sent_ms > v->alive_ms ? r->sent_ms : v->alive_ms;
	if (now - start <= limit)
		return 0;
	if (r->kind == REQ_TPM)
		snprintf(v->kill_buf, sizeof(v->kill_buf), "deadline: no answer to TPM "
			 "command 0x%x in %llu ms (limit %llu ms)", ord,
			 (unsigned long long)(now - start), (unsigned long long)limit);
	else
		snprintf(v->kill_buf, sizeof(v->kill_buf), "deadline: no answer to "
			 "control command 0x%x in %llu ms (limit %llu ms)", r->cmd,
			 (unsigned long long)(now - start), (unsigned long long)limit);
	vtpm_kill(m, v, v->kill_buf);
	return 1;
}

uint32_t
vtpm_cancel(struct mgr *m, struct vtpm *v)
{
	struct vtpm_flight f;

	/* libtpms has no TPM 1.2 cancel; swtpm answers what it returns. */
	if (v->me.tpm_version != 2)
		return TPM_FAIL_RC;
	if (!vtpm_has_vtpmd(v) || v->pid <= 0 || v->pid_reaped || v->flight == NULL)
		return CTRL_RES_SUCCESS; /* nothing executes */
	/* A signal between commands would do no harm (libtpms clears the
	 * flag when the next command starts), but there is no need. */
	if (flight_snapshot(v->flight, &f) == 0 && f.phase == FLIGHT_EXECUTING) {
		log_info(LOGM_VTPM, "vtpm %s: cancel of TPM command 0x%x passed to vtpmd pid %d",
			 v->uuid_str, f.ordinal, (int)v->pid);
		signal_vtpmd(v, SIGUSR1);
	}
	return CTRL_RES_SUCCESS;
}

static const char *
vtpm_version_str(const struct vtpm *v)
{
	return v->me.tpm_version == 1 ? "1.2" : "2";
}

/* The uid a vTPM's vtpmd runs as: its own (config.h, DEFAULT_VTPM_UID_BASE). */
unsigned
vtpm_uid_of(const struct mgr *m, const struct vtpm *v)
{
	return m->cfg.vtpm_uid_base + (v->me.instance % VTPM_UID_SPAN);
}

/* Exec'd in the child: only async-signal-safe calls, and _exit on failure. */
static void
spawn_child(struct mgr *m, struct vtpm *v, int chfd, int flightfd, int autostart)
{
	char loc[8], uid[16], gid[16];
	const char *lvl[] = { "error", "warn", "info", "debug" };
	const char *argv[24];
	int a = 0, devnull, c, f;
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Its own session: a terminal's ^C or a signal to the manager's
	 * process group must not kill vTPMs behind the manager's back; the
	 * manager stops them in order over the channel. */
	(void)setsid();
	/* Channel to fd 3, flight record to fd 4 (FLIGHT_FD), by way of high
	 * numbers so that neither overwrites the other; dup2 clears CLOEXEC. */
	if ((c = fcntl(chfd, F_DUPFD, 10)) < 0 || (f = fcntl(flightfd, F_DUPFD, 10)) < 0 ||
	    dup2(c, 3) != 3 || dup2(f, FLIGHT_FD) != FLIGHT_FD)
		_exit(127);
	if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0 || dup2(devnull, 0) != 0)
		_exit(127);
	/* Nothing but the channel, the flight record and stdio crosses into
	 * the vtpmd. */
	if (syscall(SYS_close_range, (unsigned)FLIGHT_FD + 1, ~0U, 0U) != 0) {
		for (int fd = FLIGHT_FD + 1; fd < 1024; fd++)
			close(fd);
	}
	snprintf(loc, sizeof(loc), "%u", v->locality);
	argv[a++] = "vtpmd";
	argv[a++] = "--channel-fd";
	argv[a++] = "3";
	argv[a++] = "--tpm-version";
	argv[a++] = vtpm_version_str(v);
	argv[a++] = "--uuid";
	argv[a++] = v->uuid_str;
	argv[a++] = "--locality";
	argv[a++] = loc;
	argv[a++] = "--log-level";
	argv[a++] = lvl[m->cfg.log_level];
	argv[a++] = "--flight-fd";
	argv[a++] = "4"; /* FLIGHT_FD */
	if (autostart)
		argv[a++] = "--autostart";
	snprintf(uid, sizeof(uid), "%u", vtpm_uid_of(m, v));
	snprintf(gid, sizeof(gid), "%u", (unsigned)m->vtpm_gid);
	argv[a++] = "--uid";
	argv[a++] = uid;
	argv[a++] = "--gid";
	argv[a++] = gid;
	argv[a++] = "--root";
	argv[a++] = m->empty_dir;
	/* Tests only: make the vtpmd misbehave (a forbidden syscall, hostile
	 * channel messages) to prove the manager contains it.  Only flags
	 * named --test-* pass, and they only ever weaken the vtpmd itself. */
	const char *tf = getenv("VTPM_TEST_VTPMD_FLAG");
	if (tf != NULL && strncmp(tf, "--test-", 7) == 0)
		argv[a++] = tf;
	argv[a] = NULL;
	execv(m->cfg.vtpmd_path, (char *const *)(uintptr_t)argv);
	_exit(127);
}

int
vtpm_spawn(struct mgr *m, struct vtpm *v, int autostart)
{
	const struct vtpm_flight *map = NULL;
	int sv[2], fl, mfd;
	pid_t pid;

	if (vtpm_has_vtpmd(v))
		return 0;
	/* The last one is being killed: the next starts once it is gone
	 * (channel_lost_finish), what is queued waits for it. */
	if (v->state == VS_DYING)
		return 0;
	if (v->state == VS_FAILED || v->exported || m->stopping)
		return -1;
	/* After a crash of a running TPM, whoever comes first (a guest's
	 * command or a control request) gets it back running. */
	autostart |= v->restart_autostart;
	if (chan_socketpair(sv) != 0) {
		log_err(LOGM_VTPM, "vtpm %s: socketpair: %s", v->uuid_str, strerror(errno));
		return -1;
	}
	if ((mfd = flight_create(&map)) < 0) {
		log_err(LOGM_VTPM, "vtpm %s: flight record: %s", v->uuid_str, strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		log_err(LOGM_VTPM, "vtpm %s: fork: %s", v->uuid_str, strerror(errno));
		close(sv[0]);
		close(sv[1]);
		close(mfd);
		(void)munmap((void *)(uintptr_t)map, FLIGHT_SIZE);
		return -1;
	}
	if (pid == 0)
		spawn_child(m, v, sv[1], mfd, autostart);
	close(sv[1]);
	close(mfd);
	if ((fl = fcntl(sv[0], F_GETFL)) < 0 || fcntl(sv[0], F_SETFL, fl | O_NONBLOCK) != 0 ||
	    chan_init(&v->ch, sv[0]) != 0) {
		log_err(LOGM_VTPM, "vtpm %s: channel setup failed", v->uuid_str);
		kill(pid, SIGKILL);
		close(sv[0]);
		(void)munmap((void *)(uintptr_t)map, FLIGHT_SIZE);
		v->ch.fd = -1;
		v->dying_pid = pid;
		return -1;
	}
	v->pid = pid;
	/* Not reaped before we reap it: the pid is ours to open. */
	v->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	v->adopted = 0;
	v->spawn_seq++;
	v->pid_reaped = 0;
	v->kill_why = NULL;
	v->close_kept = 0;
	v->restart_autostart = 0;
	v->flight = map;
	v->flight_seq = 0;
	v->alive_ms = v->exec_seen_ms = now_ms();
	v->state = VS_STARTING;
	v->autostart = autostart;
	v->reason[0] = '\0';
	v->stop_deadline = 0;
	v->ch_ev.fd = sv[0];
	v->ch_ev.cb = vtpm_chan_cb;
	v->ch_ev.ctx = v;
	log_info(LOGM_VTPM, "vtpm %s: started vtpmd pid %d (TPM %s%s)", v->uuid_str, (int)pid,
		 vtpm_version_str(v), autostart ? ", powered on" : ", waiting for INIT");
	/* The vtpmd now accepts data connections itself. */
	ev_del(m, &v->data_ev);
	if (ev_set(m, &v->ch_ev, EPOLLIN) != 0 ||
	    chan_send(v->ch.fd, CHAN_LISTEN_FD, NULL, 0, NULL, 0, v->data_ev.fd) != 0) {
		vtpm_kill(m, v, "cannot hand over the data socket");
		return -1;
	}
	/* And the connections kept from earlier vtpmds (after a crash or a
	 * SHUTDOWN): the client's next command is already waiting there. */
	for (struct kept_conn *k = v->kept; k != NULL; k = k->next) {
		if (kept_hand_over(m, v, k) != 0) {
			vtpm_kill(m, v, "cannot hand over a data connection");
			return -1;
		}
	}
	if (m->hooks.vtpmd_started != NULL)
		m->hooks.vtpmd_started(m, v);
	return 0;
}

int
vtpm_adopt_channel(struct mgr *m, struct vtpm *v, int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 ||
	    chan_init(&v->ch, fd) != 0) {
		close(fd);
		v->ch.fd = -1;
		return -1;
	}
	v->ch_ev = (struct ev){ .fd = fd, .cb = vtpm_chan_cb, .ctx = v };
	if (ev_set(m, &v->ch_ev, EPOLLIN) != 0) {
		chan_close(&v->ch);
		v->ch_ev.fd = -1;
		return -1;
	}
	v->state = VS_ADOPTING;
	v->spawn_seq++;
	v->adopt_stage = ADOPT_HELLO;
	v->adopt_nfds = 0;
	v->pid = 0;
	v->alive_ms = v->exec_seen_ms = now_ms();
	return 0;
}

void
vtpm_let_go(struct mgr *m, struct vtpm *v)
{
	ev_del(m, &v->ch_ev);
	chan_close(&v->ch);
	v->ch_ev.fd = -1;
	v->pid = 0;
	if (v->pidfd >= 0)
		close(v->pidfd);
	v->pidfd = -1;
	flight_unmap(v);
	/* Our duplicates only: the vtpmd keeps serving (and holding) them. */
	while (v->kept != NULL)
		kept_free(m, v->kept, 0);
	v->state = VS_DETACHED;
}

void
vtpm_hold_fd(struct mgr *m, struct vtpm *v, uint32_t kind, uint32_t id, int fd)
{
	uint8_t p[8];

	(void)m;
	be32_put(p, kind);
	be32_put(p + 4, id);
	if (vtpm_has_vtpmd(v) &&
	    chan_send(v->ch.fd, fd >= 0 ? CHAN_HOLD_FD : CHAN_RELEASE_FD, p, sizeof(p), NULL, 0,
		      fd) != 0)
		log_warn(LOGM_VTPM, "vtpm %s: cannot pass a descriptor to hold to vtpmd pid %d (%s); "
			 "it would not survive a manager restart", v->uuid_str, (int)v->pid,
			 strerror(errno));
}

void
supervise_forget(struct mgr *m, struct vtpm *v)
{
	while (v->kept != NULL)
		kept_free(m, v->kept, 0);
	flight_unmap(v);
	queue_fail_all(m, v);
	ev_del(m, &v->ch_ev);
	ev_del(m, &v->pid_ev);
	if (v->pidfd >= 0)
		close(v->pidfd);
	v->pidfd = -1;
}

void
vtpm_abort(struct mgr *m, struct vtpm *v, const char *why)
{
	if (vtpm_has_vtpmd(v))
		vtpm_kill(m, v, why);
}

/* Sends what is queued; a channel that fails means a dead or hung vtpmd. */
static void
pump(struct mgr *m, struct vtpm *v)
{
	if (queue_pump(m, v) != 0)
		vtpm_kill(m, v, "channel send failed");
}

void
vtpm_submit(struct mgr *m, struct vtpm *v, struct req *r)
{
	queue_add(v, r);
	if (!vtpm_has_vtpmd(v)) {
		/* First use: a TPM command (FIFO) needs a powered-on TPM, as
		 * swtpm's not-need-init,startup-clear; a control command
		 * (a hypervisor) gets a TPM that waits for INIT. */
		if (vtpm_spawn(m, v, r->kind == REQ_TPM) != 0) {
			queue_fail_all(m, v);
			return;
		}
	}
	pump(m, v);
}

static void
vtpm_kill(struct mgr *m, struct vtpm *v, const char *why)
{
	log_warn(LOGM_VTPM, "vtpm %s: killing vtpmd pid %d: %s", v->uuid_str, (int)v->pid, why);
	v->kill_why = why;
	signal_vtpmd(v, SIGKILL);
	vtpm_channel_lost(m, v, why);
}

/* Queues a CHAN_STOP with flags (util/chan.h), or adds the flags to one
 * already queued. */
static void
request_stop(struct mgr *m, struct vtpm *v, uint32_t flags)
{
	struct req *r;

	if (!vtpm_has_vtpmd(v))
		return;
	/* An operator's stop (or the manager's): the VM's TPM goes away, so
	 * do the connections kept for it, even when a SHUTDOWN is under way. */
	v->close_kept = 1;
	if (v->state == VS_STOPPING)
		return;
	for (r = v->q_head; r != NULL; r = r->next) {
		if (r->kind == REQ_STOP) {
			uint32_t had = buf_avail(&r->payload) == 4 ? be32_get(buf_ptr(&r->payload)) : 0;

			if ((had | flags) == had)
				return;
			buf_free(&r->payload);
			buf_init(&r->payload, CHAN_MAX_PAYLOAD);
			if (buf_put_u32(&r->payload, had | flags) != 0)
				vtpm_kill(m, v, "out of memory while stopping");
			return;
		}
	}
	if ((r = req_new(REQ_STOP, NULL, 0)) == NULL || buf_put_u32(&r->payload, flags) != 0) {
		req_free(r);
		vtpm_kill(m, v, "out of memory while stopping");
		return;
	}
	if (v->state == VS_STARTING)
		v->stop_deadline = now_ms() + STOP_TIMEOUT_MS;
	vtpm_submit(m, v, r);
}

void
vtpm_request_stop(struct mgr *m, struct vtpm *v)
{
	request_stop(m, v, 0);
}

void
vtpm_power_off(struct mgr *m, struct vtpm *v)
{
	if (!vtpm_has_vtpmd(v)) {
		/* A vtpmd that a manager stopped under a running guest left
		 * its volatile state to be resumed; the guest is gone now. */
		nv_discard(m, v, BLOB_VOLATILE);
		return;
	}
	/* A stop already under way (a SHUTDOWN, an operator's stop) may
	 * save volatile state: vtpm_channel_lost discards it afterwards. */
	v->power_off = 1;
	request_stop(m, v, CHAN_STOP_POWER_OFF);
}

/* Returns 0, or -1 with *why set when the vtpmd must be killed. */
static int
handle_msg(struct mgr *m, struct vtpm *v, const struct chan_msg *msg, const char **why)
{
	struct req *r = v->outstanding;

	if (v->state == VS_ADOPTING)
		return m->hooks.adopting_msg(m, v, msg, why);
	if (msg->fd >= 0) {
		*why = "sent a file descriptor";
		return -1;
	}
	switch (msg->type) {
	case CHAN_READY:
		if (msg->len != 4 || v->state != VS_STARTING) {
			*why = "unexpected READY";
			return -1;
		}
		if (be32_get(msg->data) != 0) {
			if (v->reason[0] == '\0')
				snprintf(v->reason, sizeof(v->reason),
					 "vtpmd failed to start the TPM (rc 0x%x)",
					 be32_get(msg->data));
			v->state = VS_FAILED;
			log_err(LOGM_VTPM, "vtpm %s: start failed: %s", v->uuid_str, v->reason);
			*why = "start-up failed";
			return -1;
		}
		v->state = VS_RUNNING;
		log_debug(LOGM_VTPM, "vtpm %s: vtpmd ready", v->uuid_str);
		pump(m, v);
		return 0;
	case CHAN_CTRL_RESP:
		if (r == NULL || r->kind != REQ_CTRL ||
		    ctrl_check_response(r->cmd, msg->data, msg->len) != 0) {
			*why = "unexpected or malformed control response";
			return -1;
		}
		v->outstanding = NULL;
		if (r->cmd == CMD_SHUTDOWN) {
			/* vtpmd exits after SHUTDOWN; wait for its channel
			 * to close instead of sending it more. */
			v->state = VS_STOPPING;
			v->stop_deadline = now_ms() + STOP_TIMEOUT_MS;
		}
		req_complete(m, r, msg->data, msg->len, 0);
		pump(m, v);
		return 0;
	case CHAN_TPM_RESP:
		if (r == NULL || r->kind != REQ_TPM ||
		    tpm_frame_exact(msg->data, msg->len, TPM_FRAME_MAX) != 0) {
			*why = "unexpected or malformed TPM response";
			return -1;
		}
		v->outstanding = NULL;
		req_complete(m, r, msg->data, msg->len, 0);
		pump(m, v);
		return 0;
	case CHAN_STOPPED:
		if (r == NULL || r->kind != REQ_STOP || msg->len != 4) {
			*why = "unexpected STOPPED";
			return -1;
		}
		v->outstanding = NULL;
		req_free(r);
		return 0; /* the channel closes next */
	case CHAN_NV_LOAD:
	case CHAN_NV_STORE:
	case CHAN_NV_DELETE:
		return nv_request(m, v, msg, why);
	default:
		*why = "unknown message type";
		return -1;
	}
}

static void
vtpm_chan_cb(struct mgr *m, struct ev *e, uint32_t events)
{
	struct vtpm *v = e->ctx;
	struct chan_msg msg;
	const char *why;
	int r;

	/* Bounded so one chatty vtpmd cannot starve the others. */
	for (int i = 0; i < 16 && vtpm_has_vtpmd(v); i++) {
		r = chan_recv(&v->ch, &msg);
		if (r == VERR_AGAIN)
			return;
		/* A vtpmd that died with messages of ours unread makes the
		 * next receive fail once with ECONNRESET, ahead of what it
		 * sent before dying (its READY, say): read on, EOF follows. */
		if (r == VERR_SYSTEM && errno == ECONNRESET)
			continue;
		if (r == VERR_EOF) {
			vtpm_channel_lost(m, v, "channel closed");
			return;
		}
		if (r == VERR_PROTO) {
			vtpm_kill(m, v, "malformed channel packet");
			return;
		}
		if (r != 0) {
			vtpm_kill(m, v, "channel error");
			return;
		}
		why = NULL;
		v->alive_ms = now_ms();
		r = handle_msg(m, v, &msg, &why);
		/* The receive buffer held TPM state in the clear (an NV store,
		 * a state blob): not a byte of it stays behind.  A channel
		 * that handle_msg closed was wiped and freed by chan_close (v
		 * itself is freed only after this batch: mgr_defer_free). */
		if (v->ch.rbuf != NULL && msg.data == v->ch.rbuf + CHAN_HDR_SIZE)
			OPENSSL_cleanse((void *)(uintptr_t)msg.data, msg.len);
		if (r != 0) {
			if (msg.fd >= 0)
				close(msg.fd);
			vtpm_kill(m, v, why);
			return;
		}
	}
}

/* A wait status as the log has always said it ("was killed by signal N"). */
static void
status_str(int status, char *out, size_t outlen)
{
	const char *ab;

	if (WIFEXITED(status)) {
		snprintf(out, outlen, "exited with status %d", WEXITSTATUS(status));
	} else if (WIFSIGNALED(status)) {
		ab = sigabbrev_np(WTERMSIG(status));
		snprintf(out, outlen, "was killed by signal %d (SIG%s)", WTERMSIG(status),
			 ab != NULL ? ab : "?");
	} else {
		snprintf(out, outlen, "wait status 0x%x", (unsigned)status);
	}
}

/*
 * After any end but an orderly stop, the vtpmd must be dead before the
 * connections it served are answered or handed on: a live one could still
 * write to them.  The caller has sent SIGKILL; this only looks, never
 * waits: 1 with its fate in how (and *st, its wait status when known) once
 * it is gone, 0 while it is not yet.  The loop hears of its death through
 * its pidfd (death_cb) and gives up on it after KILL_WAIT_MS.
 */
static int
death_check(struct vtpm *v, char *how, size_t howlen, int *st)
{
	struct pollfd p = { .fd = v->pidfd, .events = POLLIN };
	siginfo_t si;
	int status;
	pid_t r;

	*st = -1;
	if (v->pid_reaped) {
		status_str(v->exit_status, how, howlen);
		*st = v->exit_status;
		return 1;
	}
	if (v->pidfd >= 0) {
		if (poll(&p, 1, 0) != 1)
			return 0;
		if (v->adopted) {
			snprintf(how, howlen, "is gone (adopted: exit status unknown)");
			return 1;
		}
		/* Ours: reap it here, for its status (SIGCHLD may come later
		 * and find nothing, which is fine). */
		memset(&si, 0, sizeof(si));
		if (waitid((idtype_t)P_PIDFD, (id_t)v->pidfd, &si, WEXITED | WNOHANG) == 0 &&
		    si.si_pid != 0) {
			status = si.si_code == CLD_EXITED ? W_EXITCODE(si.si_status, 0) : si.si_status;
			status_str(status, how, howlen);
			*st = status;
		} else {
			snprintf(how, howlen, "is gone");
		}
		return 1;
	}
	if (v->pid <= 0) {
		snprintf(how, howlen, "pid unknown (adoption broke off before its HELLO)");
		return 0;
	}
	r = waitpid(v->pid, &status, WNOHANG);
	if (r == v->pid && (WIFEXITED(status) || WIFSIGNALED(status))) {
		status_str(status, how, howlen);
		*st = status;
		return 1;
	}
	if (r < 0 && errno == ECHILD) {
		snprintf(how, howlen, "exit status unknown"); /* not our child */
		return 1;
	}
	return 0;
}

/*
 * The vtpmd is dead (or given up on): the command it was executing on a
 * kept connection gets a 10-byte TPM error response with the tag of the
 * request's generation, TPM_RC_FAILURE (2.0) or TPM_FAIL (1.2), so the
 * client (QEMU, and the guest behind it) gets an answer and can carry on.
 * A response that was being written may be partly out: the stream cannot
 * be resynchronised, so that connection is closed instead, as is every
 * connection of a vtpmd that might still be alive.  The record is the dead
 * writer's last word: fields are used only after range checks.
 */
static void
answer_in_flight(struct mgr *m, struct vtpm *v, int dead)
{
	const struct vtpm_flight *f = v->flight;
	uint8_t tb[2], out[TPM_HDR_SIZE];
	uint32_t phase, id, tag, ord;
	struct kept_conn *k;

	if (f == NULL)
		return;
	phase = FLIGHT_LOAD(f->phase);
	id = FLIGHT_LOAD(f->conn_id);
	tag = FLIGHT_LOAD(f->tag);
	ord = FLIGHT_LOAD(f->ordinal);
	if (phase != FLIGHT_EXECUTING && phase != FLIGHT_RESPONDING)
		return;
	/* FIFO and Xen commands are the outstanding request, failed by the
	 * caller; a connection the vtpmd accepted itself died with it. */
	if (id == FLIGHT_CONN_NONE || (k = kept_find(v, id)) == NULL) {
		log_info(LOGM_VTPM, "vtpm %s: TPM command 0x%x was executing (not on a kept "
			 "connection)", v->uuid_str, ord);
		return;
	}
	if (!dead || phase == FLIGHT_RESPONDING) {
		log_warn(LOGM_VTPM, "vtpm %s: %s TPM command 0x%x on kept data connection %u; "
			 "closing that connection", v->uuid_str,
			 !dead ? "vtpmd not confirmed dead while executing"
			       : "vtpmd died while writing the response to",
			 ord, id);
		kept_free(m, k, 1);
		return;
	}
	be16_put(tb, (uint16_t)tag);
	tpm_frame_error(out, tag <= 0xffff ? tb : NULL, sizeof(tb), v->me.tpm_version == 2,
			tpm_frame_fail_code(tag <= 0xffff ? tb : NULL, sizeof(tb),
					    v->me.tpm_version == 2));
	if (send(k->ev.fd, out, sizeof(out), MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)sizeof(out)) {
		log_warn(LOGM_VTPM, "vtpm %s: cannot answer TPM command 0x%x on kept data "
			 "connection %u (%s); closing it", v->uuid_str, ord, id, strerror(errno));
		kept_free(m, k, 1);
		return;
	}
	log_warn(LOGM_VTPM, "vtpm %s: answered TPM command 0x%x in flight on kept data connection "
		 "%u with %s", v->uuid_str, ord, id,
		 be16_get(out) == TPM2_ST_NO_SESSIONS ? "TPM_RC_FAILURE" : "TPM_FAIL");
}

/* The pidfd of a vtpmd being killed turned readable: it is gone. */
static void
death_cb(struct mgr *m, struct ev *e, uint32_t events)
{
	struct vtpm *v = e->ctx;
	char how[96] = "";
	int st = -1, dead;

	(void)events;
	ev_del(m, &v->pid_ev);
	if (v->state != VS_DYING)
		return;
	/* Readable means gone; death_check fetches the status. */
	dead = death_check(v, how, sizeof(how), &st);
	channel_lost_finish(m, v, dead, dead ? how : "is gone", st);
}

/*
 * Called whenever a vtpmd's channel is gone, for whatever reason.  An
 * orderly stop is finished at once; any other end first makes sure the
 * vtpmd is dead (SIGKILL), without waiting on the loop: the vTPM is
 * VS_DYING until its pidfd says it is gone (or KILL_WAIT_MS passes), and
 * nothing is answered or handed on meanwhile.
 */
static void
vtpm_channel_lost(struct mgr *m, struct vtpm *v, const char *why)
{
	char how[96] = "";
	int st = -1;

	if (!vtpm_has_vtpmd(v))
		return;
	if (v->state == VS_ADOPTING && m->hooks.adopting_broke != NULL)
		m->hooks.adopting_broke(m, v);
	v->lost_was = v->state;
	v->lost_orderly = v->state == VS_STOPPING && v->kill_why == NULL;
	snprintf(v->lost_why, sizeof(v->lost_why), "%s", why);
	ev_del(m, &v->ch_ev);
	chan_close(&v->ch);
	v->ch_ev.fd = -1;
	if (m->hooks.vtpmd_gone != NULL)
		m->hooks.vtpmd_gone(m, v);
	queue_fail_all(m, v);
	if (v->lost_orderly) {
		channel_lost_finish(m, v, 1, how, st);
		return;
	}
	signal_vtpmd(v, SIGKILL);
	if (death_check(v, how, sizeof(how), &st)) {
		channel_lost_finish(m, v, 1, how, st);
		return;
	}
	v->state = VS_DYING;
	v->dying_since = now_ms();
	if (v->pidfd >= 0) {
		v->pid_ev = (struct ev){ .fd = v->pidfd, .cb = death_cb, .ctx = v };
		if (ev_set(m, &v->pid_ev, EPOLLIN) != 0)
			log_warn(LOGM_VTPM, "vtpm %s: epoll: %s", v->uuid_str, strerror(errno));
	}
}

/* A vTPM being killed: looked at each tick (a pidfd-less vtpmd) and given
 * up on after KILL_WAIT_MS. */
static void
dying_tick(struct mgr *m, struct vtpm *v, uint64_t now)
{
	char how[96] = "";
	int st;

	if (death_check(v, how, sizeof(how), &st)) {
		channel_lost_finish(m, v, 1, how, st);
	} else if (now - v->dying_since >= KILL_WAIT_MS) {
		snprintf(how, sizeof(how), "still alive %d ms after SIGKILL", KILL_WAIT_MS);
		channel_lost_finish(m, v, 0, how, -1);
	}
}

/* The rest of vtpm_channel_lost, once the vtpmd is gone (dead) or given up
 * on (!dead). */
static void
channel_lost_finish(struct mgr *m, struct vtpm *v, int dead, const char *how_in, int st)
{
	pid_t pid = v->pid;
	int was = v->lost_was;
	int orderly = v->lost_orderly;
	int loop = 0;
	const char *why = v->lost_why;
	char how[96], what[200];
	uint64_t now;

	snprintf(how, sizeof(how), "%s", how_in);
	ev_del(m, &v->pid_ev);
	v->state = was;
	v->pid = 0;
	if (orderly) {
		if (v->pid_reaped) {
			status_str(v->exit_status, how, sizeof(how));
			if (!WIFEXITED(v->exit_status) || WEXITSTATUS(v->exit_status) != 0)
				log_warn(LOGM_VTPM, "vtpm %s: vtpmd pid %d %s", v->uuid_str, (int)pid,
					 how);
		} else if (v->pidfd < 0 || !v->adopted) {
			v->dying_pid = pid; /* reaped by vtpm_reap */
		}
	} else if (!dead && !v->adopted && pid > 0) {
		v->dying_pid = pid;
	}
	v->pid_reaped = 0;
	v->adopted = 0;
	if (v->pidfd >= 0)
		close(v->pidfd);
	v->pidfd = -1;

	if (v->kill_why != NULL && strncmp(v->kill_why, "deadline: ", 10) == 0)
		snprintf(what, sizeof(what), "killed by %s", v->kill_why);
	else if (v->kill_why == NULL && st != -1 && WIFEXITED(st) &&
		 WEXITSTATUS(st) == VTPMD_EXIT_SAVE_FAILED)
		snprintf(what, sizeof(what), "ended after a failed save");
	else if (v->kill_why != NULL)
		snprintf(what, sizeof(what), "killed (%s)", v->kill_why);
	else if (was == VS_STARTING)
		snprintf(what, sizeof(what), "ended during start-up (%s)", why);
	else
		snprintf(what, sizeof(what), "crashed (%s)", why);

	if (v->state == VS_STARTING) {
		if (v->reason[0] == '\0')
			snprintf(v->reason, sizeof(v->reason), "vtpmd exited during start-up (%s; %s)",
				 why, how);
		v->state = VS_FAILED;
	} else if (v->state != VS_FAILED) {
		v->state = VS_STOPPED;
	}
	if (orderly) {
		log_info(LOGM_VTPM, "vtpm %s: vtpmd stopped", v->uuid_str);
	} else if (was == VS_RUNNING) {
		/* A running TPM died: it comes back (powered on and started)
		 * with the next command, unless this is a crash loop. */
		v->restart_autostart = 1;
		now = now_ms();
		if (v->crash_window_ms == 0 || now - v->crash_window_ms > CRASH_LOOP_WINDOW_MS) {
			v->crash_window_ms = now;
			v->crashes = 0;
		}
		loop = ++v->crashes > CRASH_LOOP_MAX;
		log_warn(LOGM_VTPM, "vtpm %s: vtpmd pid %d %s: %s; %s", v->uuid_str, (int)pid, what,
			 how, loop ? "crash loop, not restarting it"
				   : "the next command restarts it from its saved state");
		if (loop) {
			v->state = VS_FAILED;
			snprintf(v->reason, sizeof(v->reason), "crash loop: vtpmd died %u times within "
				 "%d s, the last one %s: %s; `vtpmctl stop` clears this", v->crashes,
				 CRASH_LOOP_WINDOW_MS / 1000, what, how);
			log_err(LOGM_VTPM, "vtpm %s: %s", v->uuid_str, v->reason);
		}
	} else {
		log_warn(LOGM_VTPM, "vtpm %s: vtpmd pid %d %s: %s", v->uuid_str, (int)pid, what, how);
	}
	if (!orderly)
		answer_in_flight(m, v, dead);
	flight_unmap(v);
	manifest_mark_dirty(m);

	/* Kept connections: closed when the operator (or the manager's own
	 * shutdown) took the TPM away, else watched for the next command. */
	if (v->close_kept || m->stopping || !dead)
		kept_close_all(m, v);
	else
		kept_watch_all(m, v);
	v->close_kept = 0;
	v->kill_why = NULL;
	if (v->power_off) {
		v->power_off = 0;
		nv_discard(m, v, BLOB_VOLATILE);
	}

	/* Requests that came while it was dying wait for the next vtpmd;
	 * a vTPM being deleted starts none. */
	if (!m->stopping && !v->delete_after_stop) {
		(void)ev_set(m, &v->data_ev, EPOLLIN); /* back to lazy start */
		if (v->q_head != NULL && vtpm_spawn(m, v, v->q_head->kind == REQ_TPM) != 0)
			queue_fail_all(m, v);
	}

	/* Those waiting for the stop hear of it last, when all is done (a
	 * waiter may go on to delete the vTPM). */
	struct stop_wait waiters[sizeof(v->stop_waiters) / sizeof(v->stop_waiters[0])];
	unsigned nwaiters = v->nstop_waiters;

	memcpy(waiters, v->stop_waiters, nwaiters * sizeof(waiters[0]));
	v->nstop_waiters = 0;
	for (unsigned i = 0; i < nwaiters; i++)
		waiters[i].done(m, waiters[i].ctx, 1, "stopped");
}

void
vtpm_reap(struct mgr *m, pid_t pid, int status)
{
	char how[64];
	struct vtpm *v;

	if (!WIFEXITED(status) && !WIFSIGNALED(status))
		return;
	status_str(status, how, sizeof(how));
	for (v = m->vtpms; v != NULL; v = v->next) {
		if (v->pid == pid || v->dying_pid == pid)
			break;
	}
	if (v == NULL) {
		log_debug(LOGM_VTPM, "reaped pid %d: %s", (int)pid, how);
		return;
	}
	if (v->pid == pid) {
		/* Its channel is still open: vtpm_channel_lost, which the EOF
		 * brings next, reports it (and must not kill a reused pid). */
		v->pid_reaped = 1;
		v->exit_status = status;
		return;
	}
	v->dying_pid = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		log_debug(LOGM_VTPM, "vtpm %s: vtpmd pid %d %s", v->uuid_str, (int)pid, how);
	else
		log_warn(LOGM_VTPM, "vtpm %s: vtpmd pid %d %s", v->uuid_str, (int)pid, how);
}

void
vtpm_check_deadlines(struct mgr *m)
{
	uint64_t now = now_ms();
	struct vtpm *v, *next;

	for (v = m->vtpms; v != NULL; v = next) {
		next = v->next;
		if (v->state == VS_DYING) {
			dying_tick(m, v, now); /* may free v */
			continue;
		}
		if (vtpm_has_vtpmd(v) && v->stop_deadline != 0 && now > v->stop_deadline &&
		    (v->state == VS_STOPPING || m->stopping)) {
			v->stop_deadline = 0;
			vtpm_kill(m, v, "did not stop in time"); /* may free v */
			continue;
		}
		if (vtpm_has_vtpmd(v) && v->state != VS_STOPPING && !m->stopping)
			(void)check_vtpmd_deadline(m, v, now);
	}
}

void
vtpm_stop_idle(struct mgr *m, struct vtpm *v)
{
	kept_close_all(m, v);
	v->crashes = 0;
	v->crash_window_ms = 0;
	v->restart_autostart = 0;
	if (v->state == VS_FAILED && !v->exported) {
		/* An operator's stop clears a failed start or a crash loop so
		 * the next use tries again (an exported vTPM stays failed:
		 * its reason says where it went). */
		v->state = VS_STOPPED;
		v->reason[0] = '\0';
		(void)ev_set(m, &v->data_ev, EPOLLIN);
	}
}

