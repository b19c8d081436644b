/*
 * cli.c - vtpmctl's error message (cli.h).  Trusts its callers.
 */
#include "vtpmctl/cli.h"

#include <stdarg.h>
#include <stdio.h>

int
vtpmctl_die(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vtpmctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}
