/*
 * provision_int.h - what the provisioning modules share: provision.c (the
 * CA, worker jobs, create, ek), transfer.c (the transport key, export,
 * import) and swtpm_import.c (import-swtpm).  Not for the rest of the
 * manager, which goes through provision.h.
 */
#ifndef VTPM_MANAGER_PROVISION_INT_H
#define VTPM_MANAGER_PROVISION_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "crypto/pkey.h"
#include "manager/manufacture.h"
#include "manager/mgr.h"
#include "manager/provision.h"

#define TR_KEY_FILE "transport-key.sealed"
#define TR_PUB_FILE "transport.pem"
#define EKINFO_FILE "ekinfo"
#define EXPORTED_FILE "exported"
#define SECRET_FILE_MAX 16384
#define JOBS_MAX 16

/* The private keys, as DER, in a page of their own. */
struct prov_keys {
	size_t ca_len;
	uint8_t ca[6144];
	size_t tr_len;
	uint8_t tr[1024];
};

enum job_kind { JOB_CREATE, JOB_IMPORT, JOB_EKREAD };

struct job {
	struct job *next;
	enum job_kind kind;
	pthread_t thr;
	int started, finished;
	struct prov *p;
	struct ctl_client *client;
	struct vdrive_spawn sp;
	/* inputs */
	struct manifest_entry me;
	char uuid_str[UUID_STR_LEN];
	struct mf_request rq;
	X509 *ca_cert;                  /* the job's own copy */
	struct buf blobs[BLOB_COUNT];   /* import / EK read: the state */
	int has[BLOB_COUNT];
	struct buf ekinfo_in;           /* import: the ekinfo that came with it */
	uint8_t ek_kind, ek_what;       /* EK read: what to answer */
	char what[160];                 /* import: where it came from, for the log */
	/* outputs */
	int rc;                         /* 0 or a VERR_* */
	char err[600];
	struct buf permall, ekinfo;
	/* installing (job_finish): what the new vTPM starts with */
	struct buf seed_blobs[BLOB_COUNT];
	int seed_has[BLOB_COUNT];
	struct vtpm_seed seed;
};

struct prov {
	struct prov_keys *keys;
	X509 *ca_cert;
	struct buf ca_pem;
	int ca_external;
	EVP_PKEY *tr_pub;
	uint8_t tr_fp[PKEY_FP_LEN];
	struct buf tr_pem;
	struct vdrive_spawn sp;
	int done_fd;
	int cancel_fd;
	struct ev done_ev;
	pthread_mutex_t mu;
	struct job *jobs;
	unsigned njobs;
	struct job *installing; /* done, their vTPM being made durable (registry.c) */
};


/* Sealed host secrets (kind SEAL_KIND_SECRET under HKDF(master,
 * "secret-key")); load returns 1 when the file does not exist. */
int prov_secret_load(struct mgr *m, const char *file, const char *name, uint8_t *out, size_t cap,
		     size_t *len, char *err, size_t errlen);
int prov_secret_save(struct mgr *m, const char *file, const char *name, const uint8_t *p,
		     size_t len, char *err, size_t errlen);
/* A file named by the administrator: regular, at most max bytes, and,
 * when private, not readable by group or others. */
int prov_read_path(const char *path, size_t max, int private, struct buf *out, char *err,
		   size_t errlen);
/* <state-dir>/vtpm/<uuid> as a directory fd, or -1. */
int prov_vdir_open(struct mgr *m, const char *uuid_str);
/* v's EK record: 0 with the plaintext, 1 when none, -1 when it does not open. */
int prov_ekinfo_load(struct mgr *m, const struct vtpm *v, struct buf *out);
void prov_fp_short(const uint8_t fp[PKEY_FP_LEN], char out[20]);
/* v's saved blobs (permall required). */
int prov_load_blobs(struct mgr *m, struct vtpm *v, struct buf *blobs, int *has, char *err,
		    size_t errlen);
/* Answers and returns 1 unless v's state files may be read as a whole: no
 * vtpmd (not even one being killed or adopted) and no storage work of it
 * in flight (nvservice.c).  what: "export", "read the EK of". */
int prov_vtpm_busy(struct mgr *m, struct ctl_client *c, const struct vtpm *v, const char *what);

/* Jobs: new (NULL when too many), start (answers the client itself on
 * failure), free. */
struct job *prov_job_new(struct mgr *m, enum job_kind kind, struct ctl_client *c);
void prov_job_start(struct mgr *m, struct job *j);
void prov_job_free(struct job *j);

/* The CA, the job machinery (prov_init's first step). */
int prov_jobs_init(struct mgr *m, char *err, size_t errlen);
/* CTL_EK: the EK record or certificate of a vTPM. */
void prov_ek(struct mgr *m, struct ctl_client *c, const uint8_t *p, size_t len);

/* transfer.c */
int transfer_init(struct mgr *m, struct prov *p, char *err, size_t errlen);
void transfer_key(struct mgr *m, struct ctl_client *c);
void transfer_export(struct mgr *m, struct ctl_client *c, const uint8_t *p, size_t len);
void transfer_import(struct mgr *m, struct ctl_client *c, const uint8_t *p, size_t len);

/* swtpm_import.c */
void swtpm_import(struct mgr *m, struct ctl_client *c, const uint8_t *p, size_t len);

#endif
