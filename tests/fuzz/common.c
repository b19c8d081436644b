/*
 * common.c - see common.h.
 */
#include "tests/fuzz/common.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"

void
fz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "\n==FUZZ INVARIANT== %s:%d: %s: ", file, line, cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	if (ftw->level > 0)
		(void)remove(path);
	return 0;
}

void
fz_empty_dir(const char *dir)
{
	(void)nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char scratch[4096];

static void
rm_scratch(void)
{
	if (scratch[0] != '\0') {
		fz_empty_dir(scratch);
		(void)rmdir(scratch);
	}
}

/* Scratch directories of fuzzers that died (a crash skips atexit). */
static void
rm_stale(const char *base)
{
	char path[4096];
	struct dirent *de;
	DIR *d = opendir(base);
	long pid;

	while (d != NULL && (de = readdir(d)) != NULL) {
		const char *dash = strrchr(de->d_name, '-');

		if (strncmp(de->d_name, "vtpm-fuzz-", 10) != 0 || dash == NULL)
			continue;
		pid = strtol(dash + 1, NULL, 10);
		if (pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "%s/%s", base, de->d_name);
		fz_empty_dir(path);
		(void)rmdir(path);
	}
	if (d != NULL)
		closedir(d);
}

const char *
fz_scratch_dir(const char *tag)
{
	const char *base = getenv("TMPDIR");

	if (scratch[0] != '\0')
		return scratch;
	if (access("/dev/shm", W_OK) == 0)
		base = "/dev/shm";
	else if (base == NULL || *base == '\0')
		base = "/tmp";
	rm_stale(base);
	snprintf(scratch, sizeof(scratch), "%s/vtpm-fuzz-%s-%ld", base, tag, (long)getpid());
	fz_empty_dir(scratch);
	if (mkdir(scratch, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "mkdir %s: %s\n", scratch, strerror(errno));
		abort();
	}
	atexit(rm_scratch);
	return scratch;
}

int
fz_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own fd */
}

uint8_t *
fz_dup(const uint8_t *data, size_t len)
{
	uint8_t *p = malloc(len != 0 ? len : 1);

	if (p == NULL)
		abort();
	if (len != 0)
		memcpy(p, data, len);
	return p;
}

const char *
fz_seed_dir(void)
{
	const char *d = getenv("FUZZ_WRITE_SEEDS");

	return d != NULL && *d != '\0' ? d : NULL;
}

void
fz_seed(const char *name, const void *data, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fz_seed_dir(), name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "writing seed %s: %s\n", path, strerror(errno));
		abort();
	}
	fprintf(stderr, "seed %s (%zu bytes)\n", path, len);
}

/*
 * Targets that drive daemon code link with -Wl,--wrap=log_msg: every log
 * line is still formatted (so a bad argument is still caught by ASan) but
 * written only when FUZZ_LOG is set, so the fuzzer is not slowed to the
 * speed of stderr.
 */
void __wrap_log_msg(unsigned module, enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

void
__wrap_log_msg(unsigned module, enum log_level lvl, const char *fmt, ...)
{
	static int show = -1;
	char line[1024];
	va_list ap;

	(void)module;
	if (show < 0)
		show = getenv("FUZZ_LOG") != NULL;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (show)
		fprintf(stderr, "log[%d]: %s\n", (int)lvl, line);
}
