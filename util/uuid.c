/*
 * uuid.c - UUID text conversion and generation; see uuid.h.
 */
#include "uuid.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
uuid_parse(const char *s, uint8_t out[UUID_LEN])
{
	uint8_t u[UUID_LEN];
	size_t j = 0;

	if (strlen(s) != 36)
		return -1;
	for (size_t i = 0; i < 36;) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -1;
			i++;
			continue;
		}
		int h = hexval(s[i]), l = hexval(s[i + 1]);
		if (h < 0 || l < 0)
			return -1;
		u[j++] = (uint8_t)(h << 4 | l);
		i += 2;
	}
	memcpy(out, u, UUID_LEN);
	return 0;
}

void
uuid_format(const uint8_t u[UUID_LEN], char out[UUID_STR_LEN])
{
	snprintf(out, UUID_STR_LEN,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
		 u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
		 u[14], u[15]);
}

int
uuid_generate(uint8_t out[UUID_LEN])
{
	if (getrandom(out, UUID_LEN, 0) != UUID_LEN)
		return -1;
	out[6] = (uint8_t)((out[6] & 0x0f) | 0x40);
	out[8] = (uint8_t)((out[8] & 0x3f) | 0x80);
	return 0;
}

int
uuid_is_nil(const uint8_t u[UUID_LEN])
{
	for (int i = 0; i < UUID_LEN; i++)
		if (u[i] != 0)
			return 0;
	return 1;
}
