/*
 * uuid.h - RFC 4122 UUIDs as 16 bytes; text form is lower-case 8-4-4-4-12.
 */
#ifndef VTPM_UTIL_UUID_H
#define VTPM_UTIL_UUID_H

#include <stdint.h>

#define UUID_LEN 16
#define UUID_STR_LEN 37 /* 36 characters + NUL */

/* Parses exactly 36 characters; returns 0 or -1. */
int uuid_parse(const char *s, uint8_t out[UUID_LEN]);
void uuid_format(const uint8_t u[UUID_LEN], char out[UUID_STR_LEN]);
/* A random (version 4) UUID; returns 0 or -1. */
int uuid_generate(uint8_t out[UUID_LEN]);
int uuid_is_nil(const uint8_t u[UUID_LEN]);

#endif
