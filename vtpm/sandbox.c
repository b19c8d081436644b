/*
 * sandbox.c - confines a vtpmd before it handles any guest byte.
 *
 * Owns: the process's privileges.  Order, each step fatal on failure (the
 * caller _exit()s):
 *   1. private mount, IPC and network namespaces (unshare; a host without
 *      namespace support gets a warning and only the chroot);
 *   2. chroot into an empty, root-owned directory and chdir("/");
 *   3. resource limits: no new processes, few fds, no core, bounded memory
 *      (not RLIMIT_FSIZE: stderr may be the manager's log file, and opening
 *      any other file is impossible after steps 2 and 6);
 *   4. setgroups + setresgid + setresuid to the uid the manager gives this
 *      vTPM (one of its own) and the vtpm group, and a check that no way
 *      back remains;
 *   5. PR_SET_NO_NEW_PRIVS, PR_SET_DUMPABLE 0;
 *   6. a default-deny seccomp filter (libseccomp) allowing exactly what
 *      libtpms, OpenSSL's RNG, malloc and the channel loop use; signals
 *      only to itself.
 * Everything a vtpmd needs arrives as an inherited or passed fd, so after
 * this it needs no path, no new socket and no exec.
 *
 * Sanitizer builds keep steps 1-5 but skip seccomp: ASan and UBSan issue
 * syscalls of their own (reading /proc/self/maps, sigaltstack, ...) that
 * the allow-list rightly refuses (swtpm's CI does the same).
 */
#include "vtpm/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <seccomp.h>

#include "util/log.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
#define SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define SANITIZER_BUILD 1
#endif
#endif
#ifndef SANITIZER_BUILD
#define SANITIZER_BUILD 0
#endif

static int
set_limit(int res, rlim_t v)
{
	struct rlimit rl = { v, v };

	return setrlimit(res, &rl);
}

static int
install_seccomp(void)
{
	/* Syscalls seen under strace across every vtpmd test script, after
	 * start-up, plus what abort() and the libc exit path use. */
	static const int allow[] = {
		SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
		SCMP_SYS(close), SCMP_SYS(poll), SCMP_SYS(ppoll),
		SCMP_SYS(recvmsg), SCMP_SYS(sendmsg), SCMP_SYS(recvfrom), SCMP_SYS(sendto),
		SCMP_SYS(accept4), SCMP_SYS(shutdown), SCMP_SYS(fcntl), SCMP_SYS(getsockopt),
		SCMP_SYS(lseek), /* stdio on the libtpms log; tpmlog.c rewinds it */
		SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
		SCMP_SYS(futex), SCMP_SYS(getrandom), SCMP_SYS(getpid), SCMP_SYS(gettid),
		SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(time),
		SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),
		SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask), SCMP_SYS(restart_syscall),
		SCMP_SYS(exit), SCMP_SYS(exit_group),
	};
	scmp_filter_ctx ctx;
	int r = -1;

	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL)
		return -1;
	/* A binary tree over the allowed numbers (libseccomp >= 2.5) rather
	 * than a linear list: about a dozen BPF instructions to any verdict.
	 * (It is ordered by number; syscall priorities change nothing in it.)
	 * Since Linux 5.11 the kernel does not even run the filter for a call
	 * it allows whatever the arguments, such as a command's poll, recvfrom
	 * and sendto: it caches that verdict when the filter is loaded
	 * (CONFIG_SECCOMP_CACHE_NATIVE). */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	for (size_t i = 0; i < sizeof(allow) / sizeof(allow[0]); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allow[i], 0) != 0)
			goto out;
	/* Libraries may still try to open a configuration file (there is
	 * none in the empty root); refuse politely instead of killing. */
	if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0) != 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 0) != 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(newfstatat), 0) != 0)
		goto out;
	/* Signals to itself only (abort() and raise() use tgkill): never to
	 * another vTPM's vtpmd, nor anything else.  kill, tkill and the
	 * sigqueue calls stay out. */
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
			     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid(), 0)) != 0)
		goto out;
	/* Memory may be mapped, but never executable: no code is loaded after
	 * this point. */
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
			     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) != 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
			     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) != 0)
		goto out;
	r = seccomp_load(ctx);
out:
	seccomp_release(ctx);
	return r;
}

int
sandbox_has_seccomp(void)
{
	return !SANITIZER_BUILD;
}

int
sandbox_enter(const struct sandbox_opts *o)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	unsigned char probe;

	if (!o->enabled)
		return 0;
	/* OpenSSL (inside libtpms) loads its configuration and seeds its
	 * DRBG lazily; do both now, while files can still be read. */
	if (OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG | OPENSSL_INIT_ADD_ALL_CIPHERS |
				OPENSSL_INIT_ADD_ALL_DIGESTS, NULL) != 1 ||
	    RAND_bytes(&probe, 1) != 1) {
		log_err(LOGM_VTPM, "sandbox: OpenSSL initialisation failed");
		return -1;
	}
	if (unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWNET) == 0) {
		/* Keep our mount changes (none, so far) from the host. */
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
			log_err(LOGM_VTPM, "sandbox: private mounts: %s", strerror(errno));
			return -1;
		}
	} else {
		log_warn(LOGM_VTPM, "sandbox: no namespaces (%s); relying on chroot, uid and "
			 "seccomp", strerror(errno));
	}
	if (chroot(o->root) != 0 || chdir("/") != 0) {
		log_err(LOGM_VTPM, "sandbox: chroot %s: %s", o->root, strerror(errno));
		return -1;
	}
	if (set_limit(RLIMIT_CORE, 0) != 0 ||
	    set_limit(RLIMIT_NPROC, 0) != 0 || set_limit(RLIMIT_NOFILE, o->max_fds) != 0 ||
	    (!SANITIZER_BUILD && set_limit(RLIMIT_AS, 512ul << 20) != 0)) {
		log_err(LOGM_VTPM, "sandbox: resource limits: %s", strerror(errno));
		return -1;
	}
	if (setgroups(1, &o->gid) != 0 || setresgid(o->gid, o->gid, o->gid) != 0 ||
	    setresuid(o->uid, o->uid, o->uid) != 0) {
		log_err(LOGM_VTPM, "sandbox: cannot drop to uid %u gid %u: %s", (unsigned)o->uid,
			(unsigned)o->gid, strerror(errno));
		return -1;
	}
	if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0 ||
	    ru != o->uid || eu != o->uid || su != o->uid || rg != o->gid || eg != o->gid ||
	    sg != o->gid || (o->uid != 0 && setuid(0) == 0)) {
		log_err(LOGM_VTPM, "sandbox: privileges were not dropped completely");
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		log_err(LOGM_VTPM, "sandbox: prctl: %s", strerror(errno));
		return -1;
	}
	if (!SANITIZER_BUILD && install_seccomp() != 0) {
		log_err(LOGM_VTPM, "sandbox: cannot install the seccomp filter");
		return -1;
	}
	log_debug(LOGM_VTPM, "sandboxed: uid %u, root %s%s", (unsigned)o->uid, o->root,
		  SANITIZER_BUILD ? ", no seccomp (sanitizer build)" : ", seccomp");
	return 0;
}

/* Tests only: see sandbox.h.  Raw syscall() where libc would pick another
 * call (glibc's fork is clone, its kill may be tgkill). */
int
sandbox_probe(const char *what)
{
	const char *colon = strchr(what, ':');
	size_t n = colon != NULL ? (size_t)(colon - what) : strlen(what);
	long pid = colon != NULL ? strtol(colon + 1, NULL, 10) : 0;
	char *const argv[] = { "vtpmd", NULL };
	long r;
	void *p;

#define IS(name) (n == sizeof(name) - 1 && strncmp(what, name, n) == 0)
	errno = 0;
	if (IS("socket"))
		r = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	else if (IS("execve"))
		r = syscall(SYS_execve, "/vtpmd", argv, argv + 1);
	else if (IS("ptrace") && pid > 0)
		r = syscall(SYS_ptrace, PTRACE_ATTACH, (pid_t)pid, NULL, NULL);
	else if (IS("kill") && pid > 0)
		r = syscall(SYS_kill, (pid_t)pid, 0);
	else if (IS("tgkill") && pid > 0)
		r = syscall(SYS_tgkill, (pid_t)pid, (pid_t)pid, 0);
	else if (IS("open"))
		r = syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY);
	else if (IS("mmap-exec"))
		r = (p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			      0)) == MAP_FAILED ? -1 : 0;
	else if (IS("mprotect-exec"))
		r = (p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			      0)) == MAP_FAILED ? -2 : syscall(SYS_mprotect, p, 4096,
							       PROT_READ | PROT_EXEC);
	else if (IS("fork"))
		r = syscall(SYS_fork);
	else
		return -1;
#undef IS
	if (r == 0 && n == 4 && strncmp(what, "fork", 4) == 0)
		_exit(0); /* the child of a fork that should not have happened */
	if (r < 0)
		log_err(LOGM_VTPM, "test-syscall %s: refused: %s", what, strerror(errno));
	else
		log_err(LOGM_VTPM, "test-syscall %s: ALLOWED (returned %ld)", what, r);
	_exit(r < 0 ? 3 : 4);
}
