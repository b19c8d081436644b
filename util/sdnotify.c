/*
 * sdnotify.c - see sdnotify.h.  Trusts the environment set by the service
 * manager; a path that does not fit sockaddr_un is an error, not truncated.
 * An abstract socket ("@name") is supported as systemd documents.
 */
#include "sdnotify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int
sd_notify_ready(const char *status)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	char msg[256];
	socklen_t salen;
	size_t plen;
	ssize_t n;
	int fd, r = 0;

	if (path == NULL || *path == '\0')
		return 0;
	plen = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || plen >= sizeof(sa.sun_path))
		return -EINVAL;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, plen);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
	n = snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s\nMAINPID=%d", status,
		     (int)getpid());
	if (n < 0 || (size_t)n >= sizeof(msg))
		return -EINVAL;
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	if (sendto(fd, msg, (size_t)n, MSG_NOSIGNAL, (struct sockaddr *)&sa, salen) != n)
		r = -errno;
	close(fd);
	return r;
}
