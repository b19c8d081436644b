/*
 * sandbox.h - vtpmd's confinement (see sandbox.c for the order of steps).
 */
#ifndef VTPM_VTPM_SANDBOX_H
#define VTPM_VTPM_SANDBOX_H

#include <sys/types.h>

struct sandbox_opts {
	int enabled;        /* --uid/--gid/--root given by the manager */
	uid_t uid;
	gid_t gid;
	const char *root;   /* empty directory to chroot into */
	unsigned max_fds;   /* RLIMIT_NOFILE */
	/* Tests only: a system call to try once confined (sandbox_probe). */
	const char *test_syscall;
};

/* Returns 0, or -1 (logged); the caller must _exit(). */
int sandbox_enter(const struct sandbox_opts *o);
/*
 * Tests only (--test-syscall=NAME[:PID]): tries one thing the sandbox must
 * refuse, after sandbox_enter, and never returns.  NAME is socket, execve,
 * ptrace:PID, kill:PID, tgkill:PID, open, mmap-exec, mprotect-exec or fork.
 * A refusal by the seccomp filter kills the process (SIGSYS); otherwise it
 * logs "test-syscall NAME: ..." with the outcome and exits 3 when the call
 * failed, 4 when it succeeded.  Returns -1 for an unknown NAME.
 */
int sandbox_probe(const char *what);
/* 1 when this build installs the seccomp filter. */
int sandbox_has_seccomp(void);

#endif
