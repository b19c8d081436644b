/*
 * strfmt.c - see strfmt.h.
 */
#include "strfmt.h"

#include <stdarg.h>
#include <stdio.h>

int
strfmt_append(char *buf, size_t len, size_t *k, const char *fmt, ...)
{
	va_list ap;
	size_t room;
	int n;

	if (len == 0 || *k >= len - 1)
		return -1;
	room = len - *k;
	va_start(ap, fmt);
	n = vsnprintf(buf + *k, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		buf[*k] = '\0';
		return -1;
	}
	if ((size_t)n >= room) {
		/* vsnprintf wrote room - 1 bytes and the NUL. */
		*k = len - 1;
		return -1;
	}
	*k += (size_t)n;
	return 0;
}
