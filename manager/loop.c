/*
 * loop.c - thin epoll registration helpers and small utilities shared by
 * the manager's modules.
 */
#include "manager/mgr.h"
#include "util/log.h"

#include <errno.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int
ev_set(struct mgr *m, struct ev *e, uint32_t events)
{
	struct epoll_event ee;
	int op;

	if (events == e->events)
		return 0;
	if (events == 0) {
		ev_del(m, e);
		return 0;
	}
	memset(&ee, 0, sizeof(ee));
	ee.events = events;
	ee.data.ptr = e;
	op = e->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
	if (epoll_ctl(m->epfd, op, e->fd, &ee) != 0)
		return -errno;
	e->events = events;
	return 0;
}

void
ev_del(struct mgr *m, struct ev *e)
{
	if (e->events != 0 && e->fd >= 0)
		(void)epoll_ctl(m->epfd, EPOLL_CTL_DEL, e->fd, NULL);
	e->events = 0;
}

/*
 * Gives socket dirfd/name its mode and owner.  The directory is one only we
 * can write to (dir_open_trusted), so the name cannot be swapped for a
 * symlink under us; still, nothing but a socket is touched.
 */
int
unix_set_owner(int dirfd, const char *name, mode_t mode, uid_t uid, gid_t gid)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EINVAL;
	if (fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0 ||
	    fchmodat(dirfd, name, mode, 0) != 0)
		return -errno;
	return 0;
}

/*
 * Binds a listening AF_UNIX socket of the given type at dirfd/name (dirpath
 * is dirfd's path, for messages), with mode, owner uid and group gid
 * ((uid_t)-1 / (gid_t)-1: leave as created).  It is bound through
 * /proc/self/fd/<dirfd>, never through a path someone could redirect.  A
 * stale socket from a previous run is replaced; any other file at the name
 * is an error (never unlink what we did not make).  Returns the
 * non-blocking fd, or -1 with err set.
 */
int
unix_listen(int dirfd, const char *dirpath, const char *name, int type, mode_t mode, uid_t uid,
	    gid_t gid, int backlog, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd, n, r;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(dirpath) + 1 + strlen(name) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path %s/%s is longer than %zu bytes; use a shorter "
			 "--run-dir", dirpath, name, sizeof(sa.sun_path) - 1);
		return -1;
	}
	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dirfd, name);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket name %s is too long", name);
		return -1;
	}
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s/%s exists and is not a socket", dirpath, name);
			return -1;
		}
		(void)unlinkat(dirfd, name, 0);
	}
	if ((fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		snprintf(err, errlen, "cannot bind %s/%s: %s", dirpath, name, strerror(errno));
		close(fd);
		return -1;
	}
	if ((r = unix_set_owner(dirfd, name, mode, uid, gid)) != 0 || listen(fd, backlog) != 0) {
		snprintf(err, errlen, "cannot listen on %s/%s: %s", dirpath, name,
			 strerror(r != 0 ? -r : errno));
		close(fd);
		(void)unlinkat(dirfd, name, 0);
		return -1;
	}
	return fd;
}

int
path_join(char *out, size_t outlen, const char *dir, const char *name)
{
	int n = snprintf(out, outlen, "%s/%s", dir, name);

	return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}

uint64_t
now_unix(void)
{
	return (uint64_t)time(NULL);
}

uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
fd_limits_init(struct mgr *m)
{
	struct rlimit rl;

	m->reserve_fd = m->admin_reserve_fd = -1;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		/* The soft limit defaults to 1024 for compatibility with
		 * select(); we use epoll, so take what we are allowed. */
		if (rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			(void)setrlimit(RLIMIT_NOFILE, &rl);
			(void)getrlimit(RLIMIT_NOFILE, &rl);
		}
		m->nofile = rl.rlim_cur > 1u << 30 ? 1u << 30 : (unsigned)rl.rlim_cur;
	} else {
		m->nofile = 1024;
	}
	if (m->cfg.max_connections == 0) {
		m->cfg.max_connections = m->nofile / 4;
		if (m->cfg.max_connections < 16)
			m->cfg.max_connections = 16;
	}
	m->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	m->admin_reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

int
fd_budget_allows(const struct mgr *m, unsigned more)
{
	unsigned n = 0;

	for (struct vtpm *v = m->vtpms; v != NULL; v = v->next)
		n++;
	return (uint64_t)FD_FIXED_RESERVE + (uint64_t)FD_PER_VTPM * (n + more) +
		       m->cfg.max_connections <= m->nofile;
}

void
shed_log(struct mgr *m, const char *fmt, ...)
{
	uint64_t now = now_ms();
	char text[512];
	va_list ap;

	if (m->shed_log_ms != 0 && now - m->shed_log_ms < 10000) {
		m->shed_quiet++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (m->shed_quiet != 0)
		log_warn(LOGM_MAIN, "%s (and %u more refusals in the last %llu s)", text,
			 m->shed_quiet, (unsigned long long)((now - m->shed_log_ms) / 1000));
	else
		log_warn(LOGM_MAIN, "%s", text);
	m->shed_log_ms = now;
	m->shed_quiet = 0;
}

int
accept_or_shed(struct mgr *m, int lfd, int admin, const char *what)
{
	int fd, *res;

	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0)
			return fd;
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno != EMFILE && errno != ENFILE)
			return -1; /* EAGAIN: nothing pending; else nothing to do */
		res = admin ? &m->admin_reserve_fd : &m->reserve_fd;
		if (*res < 0)
			return -2;
		close(*res);
		*res = -1;
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (admin && fd >= 0) {
			/* vtpmctl gets in on the reserve; fd_admin_released()
			 * refills it when that client is gone. */
			shed_log(m, "out of file descriptors (limit %u): vtpmctl served on the "
				 "reserve", m->nofile);
			return fd;
		}
		if (fd >= 0)
			close(fd);
		*res = open("/dev/null", O_RDONLY | O_CLOEXEC);
		shed_log(m, "out of file descriptors (limit %u): refusing connections to %s; raise "
			 "LimitNOFILE or lower max_connections", m->nofile, what);
		if (fd < 0)
			return *res >= 0 ? -1 : -2;
	}
}

void
fd_admin_released(struct mgr *m)
{
	if (m->admin_reserve_fd < 0)
		m->admin_reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}
