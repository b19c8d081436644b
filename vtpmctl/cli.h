/*
 * cli.h - what vtpmctl's commands share: exit statuses and the one-line
 * error message on stderr.
 */
#ifndef VTPM_MANAGER_VTPMCTL_CLI_H
#define VTPM_MANAGER_VTPMCTL_CLI_H

#define EX_REFUSED 1     /* the daemon refused */
#define EX_USAGE 2       /* a bad command line */
#define EX_UNREACHABLE 3 /* no daemon answers */

/* Prints "vtpmctl: <message>" and returns code, for `return vtpmctl_die(...)`. */
int vtpmctl_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
