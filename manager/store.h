/*
 * store.h - the manager's state directory: sealed vTPM blobs and the sealed
 * manifest.  Owns <state-dir> (mode 0700, locked with flock so two managers
 * never share it).  Trusts nothing read from disk: every file goes through
 * blobfmt_open().  Holds the master key (and the derived manifest key) in
 * memory; wipes both in store_close().
 *
 * Layout:
 *   <state-dir>/lock                 flock(2) target
 *   <state-dir>/manifest             sealed manifest
 *   <state-dir>/vtpm/<uuid>/<name>   sealed blobs (permall, volatilestate, savestate)
 *
 * Functions return 0 or a negative VERR_* (util/err.h); err (when given)
 * receives a one-line reason naming the file:
 *   VERR_LOCKED    another manager holds the state directory
 *   VERR_CORRUPT   a file is malformed or failed authentication
 *   VERR_ROLLBACK  a blob's generation is older than the manifest records
 *   VERR_NOENT     no such blob
 *   VERR_INVAL     not a blob name, data too large, or an unsafe state dir
 *   VERR_IO        a system call on the directory failed (where there is
 *                  no err argument, errno is left as that call set it)
 * fileio.h's -errno values are translated here and never passed on.
 */
#ifndef VTPM_MANAGER_STORE_H
#define VTPM_MANAGER_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/blobfmt.h"
#include "util/buf.h"
#include "util/err.h"

struct store {
	int dirfd;       /* <state-dir> */
	int vtpmfd;      /* <state-dir>/vtpm */
	int lockfd;
	char path[4096]; /* for messages */
	/* Key material lives in its own page: mlock'ed (never swapped),
	 * excluded from core dumps, and wiped in a forked child
	 * (MADV_WIPEONFORK), so a vtpmd never holds it even before exec. */
	struct store_keys {
		uint8_t master[32];
		uint8_t manifest_key[32];
		uint8_t stateblob_key[32]; /* this host's state envelope key (migblob.h) */
		uint8_t migration_key[32]; /* the migration envelope key, when configured */
		int has_migration_key;
	} *keys;
};

/* Opens and locks the state directory.  master may be NULL when the key
 * comes later (it is unsealed with files inside the locked directory). */
int store_open(struct store *s, const char *state_dir, const uint8_t master[32], char *err,
	       size_t errlen);
int store_set_key(struct store *s, const uint8_t master[32]);
/* Keeps the envelope key derived from the cluster's migration key in the
 * key page (the caller wipes raw). */
int store_set_migration_key(struct store *s, const uint8_t raw[32]);
/* The keys GET/SET_STATEBLOB envelopes use (pointers into the key page). */
struct migblob_keys;
void store_migblob_keys(const struct store *s, struct migblob_keys *k);
/* 1 when the directory holds a manifest or any vTPM directory. */
int store_has_data(struct store *s);
void store_close(struct store *s);

/* Reads the manifest; an absent manifest yields an empty one (seq 0). */
int store_manifest_load(struct store *s, struct manifest *m, char *err, size_t errlen);
/* Seals and atomically replaces the manifest with m (m->seq is written as is). */
int store_manifest_save(struct store *s, const struct manifest *m, char *err, size_t errlen);

/* Creates <state-dir>/vtpm/<uuid>/ (idempotent). */
int store_vtpm_create(struct store *s, const uint8_t uuid[UUID_LEN]);
/* Removes every blob and the directory of one vTPM. */
int store_vtpm_delete(struct store *s, const uint8_t uuid[UUID_LEN]);

/*
 * Loads blob `name` of a vTPM, appending the plaintext to out.  Returns
 * VERR_NOENT when absent, VERR_CORRUPT when it does not open,
 * VERR_ROLLBACK when its generation is below min_gen.
 */
int store_blob_load(struct store *s, const uint8_t uuid[UUID_LEN], const char *name,
		    uint64_t min_gen, struct buf *out, uint64_t *gen, char *err, size_t errlen);
/* Seals data at generation gen and replaces the blob atomically and durably. */
int store_blob_save(struct store *s, const uint8_t uuid[UUID_LEN], const char *name, uint64_t gen,
		    const uint8_t *data, size_t len, char *err, size_t errlen);
/* VERR_NOENT when it did not exist. */
int store_blob_delete(struct store *s, const uint8_t uuid[UUID_LEN], const char *name);
/* 1 when blob `name` of a vTPM exists (whatever it holds), 0 when not, or a
 * negative VERR_*. */
int store_blob_exists(struct store *s, const uint8_t uuid[UUID_LEN], const char *name);
/* Where blob `name` of a vTPM lives, for messages. */
void store_blob_path(const struct store *s, const uint8_t uuid[UUID_LEN], const char *name,
		     char *out, size_t outlen);

#endif
