/*
 * sdnotify.h - tells a service manager (systemd, Type=notify) that the
 * daemon is ready, without linking libsystemd: one datagram, "READY=1", to
 * the AF_UNIX socket named by $NOTIFY_SOCKET.  Does nothing when the
 * variable is unset.  Returns 0, or -errno (a system-call wrapper: see
 * util/err.h).
 */
#ifndef VTPM_UTIL_SDNOTIFY_H
#define VTPM_UTIL_SDNOTIFY_H

int sd_notify_ready(const char *status);

#endif
