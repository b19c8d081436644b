/*
 * prov.h - vtpmctl's provisioning commands (ca, ek, transport-key,
 * export, import, import-swtpm) and the create options --no-ek-cert and
 * --pcr-banks; vtpmctl.c hands them over here.
 */
#ifndef VTPM_MANAGER_VTPMCTL_PROV_H
#define VTPM_MANAGER_VTPMCTL_PROV_H

#include <stdint.h>

/* 1 when cmd is one of the commands below. */
int vtpmctl_prov_is(const char *cmd);
/* Runs cmd with its arguments; returns vtpmctl's exit status. */
int vtpmctl_prov_main(const char *run_dir, const char *cmd, int argc, char **argv);
/* "sha256,sha384" -> the CTL_CREATE pcr_banks mask; 0 or -1. */
int vtpmctl_parse_banks(const char *s, uint8_t *mask);

#endif
