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
	int test_forbidden_syscall;
};

/* Returns 0, or -1 (logged); the caller must _exit(). */
int sandbox_enter(const struct sandbox_opts *o);
/* 1 when this build installs the seccomp filter. */
int sandbox_has_seccomp(void);

#endif
