/*
 * errmsg.h - the one-line reason a library call hands back to the daemon's
 * edge.  Libraries never log or exit; they fill err and return a code
 * (util/err.h): the code is for the caller to branch on, this text for the
 * operator, so it names the file or field and says what to do.  Owns
 * nothing; trusts its callers' format strings (checked by the compiler).
 */
#ifndef VTPM_UTIL_ERRMSG_H
#define VTPM_UTIL_ERRMSG_H

#include <stddef.h>

/* vsnprintf into err; a NULL err or zero errlen is allowed (no message). */
void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
