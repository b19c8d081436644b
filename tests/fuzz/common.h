/*
 * common.h - helpers shared by the libFuzzer harnesses in tests/fuzz: an
 * invariant check that aborts (so libFuzzer records the input), scratch
 * directories on tmpfs, an fd counter for leak checks, and a quiet log_msg
 * for the targets linked with -Wl,--wrap=log_msg.
 */
#ifndef VTPM_TESTS_FUZZ_COMMON_H
#define VTPM_TESTS_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* libFuzzer entry points. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Aborts with a message when an invariant of the code under test fails. */
#define FZ_CHECK(cond, ...)                                                  \
	do {                                                                 \
		if (!(cond))                                                 \
			fz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);     \
	} while (0)

void fz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 4, 5)));

/* A fresh 0700 directory, on /dev/shm when it is writable (blob writes
 * fsync), else under $TMPDIR or /tmp.  Removed at exit.  Returns a static
 * path that lives for the process. */
const char *fz_scratch_dir(const char *tag);
/* Removes everything inside dir (not dir itself). */
void fz_empty_dir(const char *dir);
/* Open file descriptors in this process. */
int fz_count_fds(void);
/* A copy of data in a heap block of exactly len bytes (len 0: 1 byte),
 * so that ASan sees any read past the input.  free() it. */
uint8_t *fz_dup(const uint8_t *data, size_t len);

/*
 * Seeds made by the product's own builders (the sealed formats): run a
 * harness with FUZZ_WRITE_SEEDS=DIR and its LLVMFuzzerInitialize writes
 * them there and exits (tests/fuzz/mkcorpus.py does this).  fz_seed_dir()
 * is that DIR or NULL; fz_seed() writes one file into it, or aborts.
 */
const char *fz_seed_dir(void);
void fz_seed(const char *name, const void *data, size_t len);

#endif
