/*
 * strfmt.h - formatting into fixed-size text buffers that never overrun,
 * whatever the lengths of what is formatted (configured paths, names).
 * Trusts nothing about its arguments' lengths.
 */
#ifndef VTPM_UTIL_STRFMT_H
#define VTPM_UTIL_STRFMT_H

#include <stddef.h>

/*
 * Appends printf-style text at offset *k of buf (size len > 0), keeping it
 * NUL-terminated.  *k only grows, and never past len - 1: once the buffer is
 * full, further calls append nothing.  Returns 0, or -1 when the text was
 * cut (or *k was already at the end).
 */
int strfmt_append(char *buf, size_t len, size_t *k, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
