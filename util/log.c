/*
 * log.c - see log.h.  The settings are written once by log_init() before
 * threads exist; afterwards log_msg() only reads them, so no lock is needed
 * (but for stderr_too, an atomic the daemon clears once it is ready).
 * Each line is formatted into one buffer and written with one write(2), so
 * lines from different threads never interleave.
 */
#include "log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

static struct log_settings {
	char title[64];
	enum log_level level;
	unsigned modules;
	int use_syslog;
	atomic_int stderr_too; /* syslog, and errors to stderr as well */
} log_cfg = { "vtpm", LOG_LVL_INFO, LOGGING_MODULES, 0, 0 };

void
log_errors_to_stderr(int on)
{
	atomic_store(&log_cfg.stderr_too, on);
}

void
log_init(const char *title, enum log_level level, unsigned modules, int use_syslog)
{
	snprintf(log_cfg.title, sizeof(log_cfg.title), "%s", title);
	log_cfg.level = level;
	log_cfg.modules = modules;
	log_cfg.use_syslog = use_syslog;
	if (use_syslog)
		openlog(log_cfg.title, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

int
log_parse_level(const char *s, enum log_level *out)
{
	static const char *names[] = { "error", "warn", "info", "debug" };

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(s, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void
log_msg(unsigned module, enum log_level lvl, const char *fmt, ...)
{
	static const char *tags[] = { "error", "warning", "info", "debug" };
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char line[1024];
	int saved = errno, n, m;
	va_list ap;

	/* Errors are never masked away by module. */
	if (lvl > log_cfg.level || (lvl != LOG_LVL_ERROR && !(module & log_cfg.modules)))
		return;
	va_start(ap, fmt);
	if (log_cfg.use_syslog) {
		vsnprintf(line, sizeof(line), fmt, ap);
		syslog(prio[lvl], "%s", line);
		if (lvl == LOG_LVL_ERROR && atomic_load(&log_cfg.stderr_too)) {
			char out[1100];

			n = snprintf(out, sizeof(out), "%s: error: %s\n", log_cfg.title, line);
			if (n > 0)
				(void)!write(STDERR_FILENO, out,
					     (size_t)n < sizeof(out) ? (size_t)n : sizeof(out) - 1);
		}
	} else {
		n = snprintf(line, sizeof(line), "%s: %s: ", log_cfg.title, tags[lvl]);
		if (n < 0 || (size_t)n >= sizeof(line))
			n = 0;
		m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
		if (m < 0)
			m = 0;
		n += m;
		if ((size_t)n >= sizeof(line) - 1)
			n = (int)sizeof(line) - 2;
		line[n++] = '\n';
		(void)!write(STDERR_FILENO, line, (size_t)n);
	}
	va_end(ap);
	errno = saved;
}
