/*
 * log.h - leveled, module-masked logging to stderr or syslog.
 *
 * Every line carries the process title ("manager", "vtpmd[<uuid>]").
 * Callers must never pass key material or TPM payloads; there is no hex
 * dump helper here on purpose (see docs/SECURITY.md).
 * The settings live in one struct set at start-up, before any thread is
 * created, and are only read afterwards.
 */
#ifndef VTPM_UTIL_LOG_H
#define VTPM_UTIL_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN = 1, LOG_LVL_INFO = 2, LOG_LVL_DEBUG = 3 };

/* Modules, the seed's LOGGING_MODULES bitmask. */
#define LOGM_MAIN 0x01    /* daemon lifecycle, configuration */
#define LOGM_VTPM 0x02    /* vTPM supervision, vtpmd */
#define LOGM_STORE 0x04   /* sealed storage */
#define LOGM_CRYPTO 0x08  /* crypto module */
#define LOGM_TCS 0x10     /* host TPM */
#define LOGM_BACKEND 0x20 /* guest-facing backends */
#define LOGM_CTRL 0x40    /* vtpmctl control socket */
#define LOGM_ALL 0xff

#ifndef LOGGING_MODULES
#define LOGGING_MODULES LOGM_ALL
#endif

void log_init(const char *title, enum log_level level, unsigned modules, int use_syslog);
int log_parse_level(const char *s, enum log_level *out);
/* With syslog: also write error lines to stderr (a daemon that forked but is
 * not ready yet, whose parent's terminal should see why it fails). */
void log_errors_to_stderr(int on);
void log_msg(unsigned module, enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_err(m, ...) log_msg((m), LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(m, ...) log_msg((m), LOG_LVL_WARN, __VA_ARGS__)
#define log_info(m, ...) log_msg((m), LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(m, ...) log_msg((m), LOG_LVL_DEBUG, __VA_ARGS__)

#endif
