/*
 * vtpm-mkstate.c - writes a keyfile-mode state directory defining N vTPMs
 * (a sealed manifest, no blobs yet), for tests and benchmarks that need
 * thousands of vTPMs without creating them one by one through vtpmctl.
 * The key file is created (32 random bytes, mode 0600) when missing.
 *
 *   vtpm-mkstate --state DIR --keyfile FILE --count N
 *
 * Test tool: trusts its arguments; refuses a state directory that already
 * has a manifest.
 */
#include "crypto/aead.h"
#include "crypto/blobfmt.h"
#include "util/buf.h"
#include "util/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void __attribute__((noreturn))
die(const char *what)
{
	fprintf(stderr, "vtpm-mkstate: %s\n", what);
	exit(1);
}

int
main(int argc, char **argv)
{
	const char *state = NULL, *keyfile = NULL;
	unsigned long count = 0;
	uint8_t master[32], mkey[32];
	struct manifest m;
	struct buf pt, sealed;
	int fd, dfd;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--state") == 0)
			state = argv[i + 1];
		else if (strcmp(argv[i], "--keyfile") == 0)
			keyfile = argv[i + 1];
		else if (strcmp(argv[i], "--count") == 0)
			count = strtoul(argv[i + 1], NULL, 10);
		else
			die("usage: vtpm-mkstate --state DIR --keyfile FILE --count N");
	}
	if (state == NULL || keyfile == NULL || count == 0 || count > MANIFEST_MAX_ENTRIES)
		die("usage: vtpm-mkstate --state DIR --keyfile FILE --count N (1..65536)");

	if ((fd = open(keyfile, O_RDONLY | O_CLOEXEC)) >= 0) {
		if (read_full(fd, master, sizeof(master)) != 0)
			die("cannot read the key file");
		close(fd);
	} else {
		if (crypto_random(master, sizeof(master)) != 0 ||
		    (fd = open(keyfile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0 ||
		    write_full(fd, master, sizeof(master)) != 0 || close(fd) != 0)
			die("cannot create the key file");
	}
	if (mkdir(state, 0700) != 0 && errno != EEXIST)
		die("cannot create the state directory");
	if ((dfd = open(state, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		die("cannot open the state directory");
	if (faccessat(dfd, "manifest", F_OK, 0) == 0)
		die("the state directory already has a manifest");
	if (mkdirat(dfd, "vtpm", 0700) != 0 && errno != EEXIST)
		die("cannot create vtpm/");

	memset(&m, 0, sizeof(m));
	m.seq = 1;
	m.count = (uint32_t)count;
	m.next_instance = (uint32_t)count + 1;
	if ((m.e = calloc(count, sizeof(*m.e))) == NULL)
		die("out of memory");
	for (unsigned long i = 0; i < count; i++) {
		struct manifest_entry *e = &m.e[i];

		if (crypto_random(e->uuid, UUID_LEN) != 0)
			die("no random bytes");
		e->uuid[6] = (uint8_t)((e->uuid[6] & 0x0f) | 0x40);
		e->uuid[8] = (uint8_t)((e->uuid[8] & 0x3f) | 0x80);
		e->instance = (uint32_t)i + 1;
		e->tpm_version = 2;
		e->created = e->updated = (uint64_t)time(NULL);
		e->flags = MF_PRESENCE_KNOWN;
		e->owner_uid = e->owner_gid = MANIFEST_NO_OWNER;
	}
	buf_init(&pt, SEAL_CT_MAX);
	buf_init(&sealed, SEAL_FILE_MAX);
	if (manifest_encode(&m, &pt) != 0 || blobfmt_derive_key(master, NULL, mkey) != 0 ||
	    blobfmt_seal(mkey, SEAL_KIND_MANIFEST, "manifest", NULL, m.seq, pt.d, pt.len,
			 &sealed) != 0)
		die("cannot seal the manifest");
	if (file_write_atomic(dfd, "manifest", sealed.d, sealed.len, 0600) != 0)
		die("cannot write the manifest");
	printf("%lu vTPMs in %s\n", count, state);
	free(m.e);
	buf_free(&pt);
	buf_free(&sealed);
	close(dfd);
	return 0;
}
