/*
 * main.c - vtpm_managerd: start-up, the event loop and orderly shutdown.
 *
 * This is the daemon's edge: the only place that decides to exit.  It
 * obtains the master key from the host TPM layer (tcs/), opens the state
 * directory (manager/store.c), binds every socket, reports readiness and
 * then runs one epoll loop on one thread.  Signals arrive through a
 * signalfd, so no handler runs asynchronously.
 */
#include "manager/mgr.h"
#include "manager/adopt.h"
#include "manager/provision.h"
#include "manager/recovery.h"
#include "manager/xen_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "tcs/host_tpm.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/sdnotify.h"

#define PIDFILE_NAME "vtpm_managerd.pid"
#define RUNLOCK_NAME "vtpm_managerd.lock"

/* Finds vtpmd: --vtpmd, else next to our own binary (a build tree), else
 * the installed libexec path. */
static void
resolve_vtpmd(struct config *c)
{
	char self[PATH_MAX], cand[PATH_MAX + 8];
	ssize_t n;

	if (c->vtpmd_path[0] != '\0')
		return;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		/* A build tree keeps both binaries together; an install
		 * under any PREFIX has sbin/ next to libexec/. */
		static const char *rel[] = { "vtpmd", "../libexec/vtpm-manager/vtpmd" };
		const char *dir = dirname(self);
		for (unsigned i = 0; i < 2; i++) {
			snprintf(cand, sizeof(cand), "%s/%s", dir, rel[i]);
			if (access(cand, X_OK) == 0 && strlen(cand) < sizeof(c->vtpmd_path)) {
				memcpy(c->vtpmd_path, cand, strlen(cand) + 1);
				return;
			}
		}
	}
	snprintf(c->vtpmd_path, sizeof(c->vtpmd_path), "%s/vtpmd", LIBEXECDIR);
}

/*
 * Forks into the background.  The parent waits until the child reports
 * readiness (sockets bound, pidfile written) over a pipe and exits 0, or 1
 * when the child failed, so that init systems see a truthful status.
 */
static int
daemonize(int *ready_fd)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	if ((pid = fork()) < 0)
		return -1;
	if (pid > 0) {
		close(p[1]);
		ssize_t n;
		do {
			n = read(p[0], &c, 1);
		} while (n < 0 && errno == EINTR);
		_exit(n == 1 && c == 'r' ? 0 : 1);
	}
	close(p[0]);
	if (setsid() < 0)
		return -1;
	/* stderr stays the caller's until ready (detach_stderr): a start
	 * that fails says why where it was started, not only in syslog. */
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0)
		return -1;
	if (fd > 2)
		close(fd);
	*ready_fd = p[1];
	return 0;
}

/* Ready in the background: nothing more goes to the starter's terminal. */
static void
detach_stderr(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	log_errors_to_stderr(0);
	if (fd >= 0) {
		(void)dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
}

static int
write_pidfile(struct mgr *m)
{
	char text[32];
	int n;

	n = snprintf(text, sizeof(text), "%d\n", (int)getpid());
	return file_write_atomic(m->run_dirfd, PIDFILE_NAME, text, (size_t)n, 0644);
}

static int
lock_run_dir(struct mgr *m, char *err, size_t errlen)
{
	m->runlock_fd = openat(m->run_dirfd, RUNLOCK_NAME, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
			       0600);
	if (m->runlock_fd < 0) {
		snprintf(err, errlen, "cannot open %s/%s: %s", m->cfg.run_dir, RUNLOCK_NAME,
			 strerror(errno));
		return -1;
	}
	if (flock(m->runlock_fd, LOCK_EX | LOCK_NB) != 0) {
		snprintf(err, errlen, "run directory %s is in use by another vtpm_managerd",
			 m->cfg.run_dir);
		return -1;
	}
	return 0;
}

/*
 * vtpmd runs as an unprivileged user (vtpm_user, default "vtpm", else
 * nobody) chrooted into an empty, root-owned directory of ours.
 */
static int
setup_vtpm_identity(struct mgr *m, char *err, size_t errlen)
{
	struct passwd *pw = getpwnam(m->cfg.vtpm_user);
	struct stat st;
	int fd;

	if (pw == NULL) {
		if ((pw = getpwnam("nobody")) == NULL) {
			snprintf(err, errlen, "neither user %s nor nobody exists for vtpmd",
				 m->cfg.vtpm_user);
			return -1;
		}
		log_warn(LOGM_MAIN, "user %s does not exist (make install creates it); vtpmd "
			 "runs as nobody, shared with other daemons", m->cfg.vtpm_user);
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "vtpm_user %s is root; vtpmd must run unprivileged",
			 m->cfg.vtpm_user);
		return -1;
	}
	m->vtpm_uid = pw->pw_uid;
	m->vtpm_gid = pw->pw_gid;
	if (path_join(m->empty_dir, sizeof(m->empty_dir), m->cfg.run_dir, "empty") != 0) {
		snprintf(err, errlen, "run directory path too long");
		return -1;
	}
	if ((fd = subdir_open_trusted(m->run_dirfd, "empty", 0555, m->empty_dir, err, errlen)) < 0)
		return -1;
	/* Not even we write here: vtpmd's root stays empty. */
	if (fstat(fd, &st) != 0 || (st.st_mode & 0222) != 0) {
		snprintf(err, errlen, "%s must be a directory no one can write to (chmod 555 it)",
			 m->empty_dir);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * A manifest from before issue 9 does not record which state files exist.
 * Record what is on disk now (trust on first use of this version), so that
 * from here on a missing file is refused instead of silently replaced.
 */
static int
record_presence(struct mgr *m)
{
	unsigned n = 0;
	int r;

	for (struct vtpm *v = m->vtpms; v != NULL; v = v->next) {
		if (v->me.flags & MF_PRESENCE_KNOWN)
			continue;
		for (int i = 0; i < BLOB_COUNT; i++) {
			if ((r = store_blob_exists(&m->store, v->me.uuid, blob_name(i))) < 0) {
				log_err(LOGM_STORE, "vtpm %s: cannot look for its %s", v->uuid_str,
					blob_name(i));
				return -1;
			}
			if (r == 1)
				v->me.flags |= MF_HAS(i);
		}
		v->me.flags |= MF_PRESENCE_KNOWN;
		n++;
	}
	if (n == 0)
		return 0;
	log_info(LOGM_STORE, "manifest from an earlier version: recorded which state files of "
		 "%u vTPM(s) exist; from now on a missing one is refused", n);
	if (manifest_sync(m) != 0) {
		log_err(LOGM_STORE, "cannot write the manifest");
		return -1;
	}
	return 0;
}

static int
setup_signals(struct mgr *m)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	if ((m->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		return -1;
	return 0;
}

static void
begin_shutdown(struct mgr *m, const char *why)
{
	unsigned n;

	if (m->stopping)
		return;
	m->stopping = 1;
	n = 0;
	for (struct vtpm *v = m->vtpms; v != NULL; v = v->next) {
		ev_del(m, &v->data_ev);
		if (adopt_should_detach(m, v)) {
			/* A guest is using it: it outlives us, and the next
			 * manager adopts it (adopt.c). */
			v->detaching = 1;
			n++;
			for (struct ctrl_conn *c = v->conns; c != NULL; c = c->next)
				(void)ev_set(m, &c->ev, EPOLLRDHUP | (buf_avail(&c->out) ? EPOLLOUT : 0));
		} else {
			vtpm_request_stop(m, v);
		}
	}
	if (n != 0)
		log_info(LOGM_MAIN, "%s: stopping every vTPM but %u serving a guest, which the next "
			 "manager adopts", why, n);
	else
		log_info(LOGM_MAIN, "%s: stopping every vTPM", why);
}

static void
sig_cb(struct mgr *m, struct ev *e, uint32_t events)
{
	struct signalfd_siginfo si;
	int status;
	pid_t pid;

	while (read(m->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
				vtpm_reap(m, pid, status);
			break;
		case SIGTERM:
		case SIGINT:
			begin_shutdown(m, si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
			break;
		case SIGHUP:
			log_info(LOGM_MAIN, "SIGHUP ignored: restart the daemon to change settings");
			break;
		}
	}
}

static int
all_stopped(struct mgr *m)
{
	for (struct vtpm *v = m->vtpms; v != NULL; v = v->next)
		if (vtpm_has_vtpmd(v))
			return 0;
	return 1;
}

static void
run_loop(struct mgr *m)
{
	struct epoll_event evs[64];
	uint64_t shutdown_deadline = 0;

	while (!m->done) {
		int n = epoll_wait(m->epfd, evs, 64, 200);
		if (n < 0 && errno != EINTR) {
			log_err(LOGM_MAIN, "epoll_wait: %s", strerror(errno));
			break;
		}
		mgr_dispatch(m, evs, n > 0 ? n : 0);
		vtpm_check_deadlines(m);
		commit_tick(m);
		fifo_tick(m);
		sockets_tick(m);
		ctl_tick(m);
		sockets_run_resumes(m);
		if (m->stopping)
			adopt_tick(m);
		mgr_release_deferred(m);
		if (m->stopping) {
			if (shutdown_deadline == 0)
				shutdown_deadline = now_ms() + 15000;
			if (all_stopped(m) || now_ms() > shutdown_deadline)
				m->done = 1;
		}
	}
}

static void
cleanup(struct mgr *m)
{
	int status;

	prov_shutdown(m); /* joins its worker threads first */
	/* Anything still running after the grace period is killed. */
	for (struct vtpm *v = m->vtpms; v != NULL; v = v->next)
		if (v->pid > 0)
			kill(v->pid, SIGKILL);
	while (waitpid(-1, &status, WNOHANG) > 0)
		;
	/* Only a daemon that came up commits on the way out: a refused start
	 * (rollback, tampering, a bad socket path) must leave the state
	 * directory and the TPM counter exactly as it found them. */
	if (m->commit != NULL && m->serving)
		(void)manifest_sync(m);
	commit_shutdown(m);
	worker_shutdown(m); /* after the commit thread: it completes works too */
	if (m->host != NULL)
		host_tpm_close(m->host);
	xen_backend_close(m);
	while (m->vtpms != NULL)
		vtpm_free(m, m->vtpms);
	mgr_release_deferred(m);
	free(m->grave);
	if (m->fifo_enabled)
		fifo_close(m);
	ctl_close(m);
	adopt_close(m);
	if (m->run_dirfd >= 0) {
		(void)unlinkat(m->run_dirfd, PIDFILE_NAME, 0);
		(void)unlinkat(m->run_dirfd, RUNLOCK_NAME, 0);
		/* A detached vtpmd's root stays (the next manager reuses it). */
		if (m->empty_dir[0] != '\0' && m->ndetached == 0)
			(void)unlinkat(m->run_dirfd, "empty", AT_REMOVEDIR);
		close(m->run_dirfd);
		m->run_dirfd = -1;
	}
	store_close(&m->store);
}

int
main(int argc, char **argv)
{
	static struct mgr mgr; /* large; not on the stack.  Only main uses it. */
	struct mgr *m = &mgr;
	static struct host_tpm ht;
	struct host_tpm_opts opts;
	struct manifest mf;
	struct rlimit nocore = { 0, 0 };
	uint8_t key[32];
	char err[1024];
	int ready_fd = -1, created = 0, r, has_data, present;
	uint32_t nvtpms;

	r = config_load(&m->cfg, argc, argv, err, sizeof(err));
	if (r > 0)
		return 0;
	if (r < 0) {
		fprintf(stderr, "vtpm_managerd: %s\n", err);
		return 2;
	}
	resolve_vtpmd(&m->cfg);
	m->epfd = m->sigfd = m->runlock_fd = m->run_dirfd = m->fifo.dir_fd = m->adopt_dirfd = -1;
	fd_limits_init(m);
	frontends_hook(m);
	m->ctl_ev.fd = -1;
	m->store.dirfd = m->store.vtpmfd = m->store.lockfd = -1;
	memset(&opts, 0, sizeof(opts));

	/* tpm2-tss logs every TPM error to stderr itself; we report them. */
	(void)setenv("TSS2_LOG", "all+none", 0);
	/* Key material must never reach a core file or a debugger. */
	(void)setrlimit(RLIMIT_CORE, &nocore);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

	if (!m->cfg.foreground && daemonize(&ready_fd) != 0) {
		fprintf(stderr, "vtpm_managerd: cannot daemonize: %s\n", strerror(errno));
		return 1;
	}
	log_init("vtpm_managerd", m->cfg.log_level, m->cfg.log_modules, !m->cfg.foreground);
	if (!m->cfg.foreground)
		log_errors_to_stderr(1);
	if (access(m->cfg.vtpmd_path, X_OK) != 0) {
		log_err(LOGM_MAIN, "vtpmd not found at %s (set vtpmd= or --vtpmd)",
			m->cfg.vtpmd_path);
		return 1;
	}
	if ((m->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 || setup_signals(m) != 0) {
		log_err(LOGM_MAIN, "cannot set up the event loop: %s", strerror(errno));
		return 1;
	}
	m->sig_ev = (struct ev){ .fd = m->sigfd, .cb = sig_cb };
	if (ev_set(m, &m->sig_ev, EPOLLIN) != 0)
		return 1;

	if (host_tpm_parse(m->cfg.host_tpm, &ht, err, sizeof(err)) != 0 ||
	    host_tpm_parse_pcrs(m->cfg.seal_pcrs, &opts.seal_pcrs, err, sizeof(err)) != 0 ||
	    host_tpm_parse_owner_auth(m->cfg.owner_auth, &opts, err, sizeof(err)) != 0 ||
	    host_tpm_parse_srk_auth(m->cfg.srk_auth, &opts, err, sizeof(err)) != 0) {
		log_err(LOGM_TCS, "host TPM: %s", err);
		return 1;
	}
	m->host = &ht;

	if ((m->run_dirfd = dir_open_trusted(m->cfg.run_dir, 0755, "run directory", err,
					     sizeof(err))) < 0) {
		log_err(LOGM_MAIN, "%s", err);
		return 1;
	}
	if (lock_run_dir(m, err, sizeof(err)) != 0) {
		log_err(LOGM_MAIN, "%s", err);
		return 1;
	}
	if (setup_vtpm_identity(m, err, sizeof(err)) != 0 || adopt_init(m, err, sizeof(err)) != 0) {
		log_err(LOGM_MAIN, "%s", err);
		return 1;
	}
	/* Lock the state directory before unsealing: master.sealed lives in
	 * it, and a second manager must change nothing. */
	if (store_open(&m->store, m->cfg.state_dir, NULL, err, sizeof(err)) != 0) {
		log_err(LOGM_STORE, "%s", err);
		return 1;
	}
	has_data = store_has_data(&m->store);
	if (m->cfg.recover_with[0] != '\0') /* the host TPM was lost or the PCRs changed */
		r = recovery_unlock(m, &ht, &opts, key, err, sizeof(err));
	else
		r = host_tpm_unlock(&ht, &opts, m->store.dirfd, has_data, key, &created, err,
				    sizeof(err));
	OPENSSL_cleanse(&opts, sizeof(opts));
	if (r != 0) {
		log_err(LOGM_TCS, "host TPM (%s): %s%s", ht.path, err,
			r == VERR_NOTPM ? "; check that the TPM (or the swtpm standing in for "
					    "it) is present and running, or name another with "
					    "--host-tpm" :
			r == VERR_BUSY ? "; the TPM is busy: retry, or stop what holds it" : "");
		store_close(&m->store);
		return 1;
	}
	r = store_set_key(&m->store, key);
	OPENSSL_cleanse(key, sizeof(key));
	if (r == 0 && m->cfg.has_migration_key)
		r = store_set_migration_key(&m->store, m->cfg.migration_key);
	/* From here on the migration key lives in the key page only. */
	OPENSSL_cleanse(m->cfg.migration_key, sizeof(m->cfg.migration_key));
	if (r != 0) {
		log_err(LOGM_STORE, "cannot derive storage keys");
		goto fail;
	}
	if (ht.kind == HOST_TPM_KEYFILE)
		log_warn(LOGM_TCS, "host TPM: none; the master key is the plain file %s (keyfile "
			 "mode). Whoever can read it and the state directory can read every "
			 "vTPM's secrets, and rollback of the state directory is not detected",
			 ht.path);
	else
		log_info(LOGM_TCS, "host TPM: %s (%s), manufacturer %s; master key %s", ht.path,
			 host_tpm_describe(&ht), ht.manufacturer,
			 created ? "created and sealed" : "unsealed");
	if (ht.tpm_version == 1 && ht.owner_well_known)
		log_warn(LOGM_TCS, "the TPM 1.2 owner auth is the WELL-KNOWN value: any local "
			 "process can issue TPM_OwnerClear and wipe the host TPM (and with it "
			 "every vTPM). Use --owner-auth random on production hosts");
	if (!m->cfg.has_migration_key)
		log_info(LOGM_BACKEND, "no migration_key: vTPM state leaving in GET_STATEBLOB "
			 "(QEMU migration, savevm) is sealed under this host's own key and loads "
			 "back on this host only; set the same migration_key = keyfile:PATH on every "
			 "host a VM may move between");

	present = faccessat(m->store.dirfd, "manifest", F_OK, AT_SYMLINK_NOFOLLOW) == 0;
	if (store_manifest_load(&m->store, &mf, err, sizeof(err)) != 0) {
		log_err(LOGM_STORE, "%s", err);
		goto fail;
	}
	m->manifest.seq = mf.seq;
	m->manifest.next_instance = mf.next_instance ? mf.next_instance : 1;
	/* Under --recover-with the counter is new: recovery_anchor, below. */
	if (commit_init(m, &ht, mf.seq, err, sizeof(err)) != 0 ||
	    worker_init(m, STORAGE_THREADS, err, sizeof(err)) != 0 ||
	    (m->cfg.recover_with[0] == '\0' &&
	     commit_check_anchor(m, present, mf.seq, created, err, sizeof(err)) != 0)) {
		log_err(LOGM_TCS, "%s", err);
		manifest_free(&mf);
		goto fail;
	}
	for (uint32_t i = 0; i < mf.count; i++) {
		if (vtpm_add(m, &mf.e[i], err, sizeof(err)) == NULL) {
			log_err(LOGM_MAIN, "%s", err);
			manifest_free(&mf);
			goto fail;
		}
	}
	nvtpms = mf.count;
	manifest_free(&mf);
	if (record_presence(m) != 0)
		goto fail;
	/* --recover-with: the whole manifest is committed to the new counter. */
	if (m->cfg.recover_with[0] != '\0' && recovery_anchor(m, err, sizeof(err)) != 0) {
		log_err(LOGM_TCS, "%s", err);
		goto fail;
	}
	/* The vTPM CA, the transport key, master.recovery, exported vTPMs. */
	if (prov_init(m, err, sizeof(err)) != 0) {
		log_err(LOGM_MAIN, "%s", err);
		goto fail;
	}
	/* The first manifest anchors the counter from the very first start. */
	if (!present && manifest_sync(m) != 0) {
		log_err(LOGM_STORE, "cannot write the first manifest");
		goto fail;
	}
	if (ctl_open(m, err, sizeof(err)) != 0 ||
	    (m->cfg.backend_fifo && fifo_open(m, err, sizeof(err)) != 0) ||
	    (m->cfg.backend_xen && xen_backend_start(m, err, sizeof(err)) != 0)) {
		log_err(LOGM_MAIN, "%s", err);
		goto fail;
	}
	if ((r = write_pidfile(m)) != 0) {
		log_err(LOGM_MAIN, "cannot write pidfile in %s: %s", m->cfg.run_dir, strerror(-r));
		goto fail;
	}
	log_info(LOGM_MAIN, "serving %u vTPM(s); state %s, sockets in %s%s%s",
		 (unsigned)nvtpms, m->cfg.state_dir, m->cfg.run_dir,
		 m->cfg.backend_fifo ? ", FIFO backend on" : "",
		 m->cfg.backend_xen ? ", Xen backend on" : "");
	log_info(LOGM_MAIN, "file descriptors: limit %u, up to %u guest connections "
		 "(max_connections)", m->nofile, m->cfg.max_connections);
	if (!fd_budget_allows(m, 0))
		log_warn(LOGM_MAIN, "%u vTPM(s) need more file descriptors than the limit of %u "
			 "allows with max_connections %u: raise LimitNOFILE", (unsigned)nvtpms,
			 m->nofile, m->cfg.max_connections);
	if (ready_fd >= 0) {
		detach_stderr();
		(void)!write(ready_fd, "r", 1);
		close(ready_fd);
	} else {
		static const char ready[] = "vtpm_managerd ready\n";
		(void)!write(STDERR_FILENO, ready, sizeof(ready) - 1);
	}
	if ((r = sd_notify_ready("serving vTPMs")) != 0)
		log_warn(LOGM_MAIN, "cannot notify the service manager: %s", strerror(-r));

	m->serving = 1;
	run_loop(m);
	cleanup(m);
	log_info(LOGM_MAIN, "stopped");
	return 0;
fail:
	cleanup(m);
	return 1;
}
