/*
 * errmsg.h - the one-line reason a library call hands back to the daemon's
 * edge.  Libraries never log or exit; they fill err and return a code.
 */
#ifndef VTPM_UTIL_ERRMSG_H
#define VTPM_UTIL_ERRMSG_H

#include <stddef.h>

/* vsnprintf into err; a NULL err or zero errlen is allowed (no message). */
void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
