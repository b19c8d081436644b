/*
 * provision.c - the vTPM CA, EK manufacture at `vtpmctl create`,
 * `vtpmctl ca` and `vtpmctl ek`, and the worker jobs that run a private
 * vtpmd (manufacture, import validation, reading an EK) off the I/O loop;
 * see provision.h for the hooks.  transfer.c (transport key, export,
 * import) and swtpm_import.c build on the jobs and helpers declared in
 * provision_int.h.
 *
 * Owns: <state-dir>/ca-key.sealed (the CA private key, sealed like every
 * blob under a key derived from the master key: HKDF(master,
 * "secret-key"), so it is exactly as safe as the master key the host TPM
 * seals) and ca.pem (its certificate); per vTPM <state-dir>/vtpm/<uuid>/
 * ekinfo (its EKs and certificates, sealed under the vTPM's blob key).
 * Private keys live, as DER, only in a secpage (mlock'ed, not dumpable,
 * wiped on fork) and are decoded into an EVP_PKEY only for the one
 * operation that needs them; they never reach a vtpmd.  Worker threads
 * read that page and their own job, nothing else of the manager's; a job's
 * result is taken on the loop (prov_done_cb) and a new vTPM made durable
 * off it, like any creation (vtpm_install).
 *
 * Trusts: the administrator's requests (root-only socket) but bounds-
 * checks every field; nothing a vtpmd returns (manufacture.c checks it).
 */
#include "manager/provision.h"
#include "manager/provision_int.h"
#include "manager/manufacture.h"
#include "manager/mgr.h"
#include "manager/recovery.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "crypto/aead.h"
#include "crypto/ekcert.h"
#include "crypto/pkey.h"
#include "crypto/secpage.h"
#include "crypto/transport.h"
#include "util/errmsg.h"
#include "util/fileio.h"
#include "util/log.h"

#define CA_KEY_FILE "ca-key.sealed"
#define CA_CERT_FILE "ca.pem"

static const char *const level_names[] = { "error", "warn", "info", "debug" };

/* ------------------------------------------------------------- helpers */

static int
secret_key(struct mgr *m, uint8_t key[32])
{
	static const uint8_t salt[] = "vtpm-manager/v1", info[] = "secret-key";

	return hkdf_sha256(m->store.keys->master, 32, salt, sizeof(salt) - 1, info,
			   sizeof(info) - 1, key, 32);
}

/* Opens a sealed host secret into out (cap bytes); 1 when the file does
 * not exist. */
int
prov_secret_load(struct mgr *m, const char *file, const char *name, uint8_t *out, size_t cap,
	    size_t *len, char *err, size_t errlen)
{
	uint8_t key[32], *data = NULL;
	size_t dlen = 0;
	uint64_t gen;
	struct buf pt;
	int r;

	r = file_read_all(m->store.dirfd, file, SECRET_FILE_MAX, &data, &dlen);
	if (r == -ENOENT)
		return 1;
	if (r != 0) {
		seterr(err, errlen, "cannot read %s/%s: %s", m->cfg.state_dir, file, strerror(-r));
		return -1;
	}
	buf_init(&pt, SECRET_FILE_MAX);
	if (secret_key(m, key) != 0) {
		r = -1;
	} else {
		r = blobfmt_open(key, SEAL_KIND_SECRET, name, NULL, data, dlen, &pt, &gen);
		OPENSSL_cleanse(key, sizeof(key));
	}
	freezero(data, dlen);
	if (r != 0 || pt.len == 0 || pt.len > cap) {
		seterr(err, errlen, "%s/%s does not open under this master key (modified, or "
		       "from another state directory); move it away to make a new one",
		       m->cfg.state_dir, file);
		buf_free(&pt);
		return -1;
	}
	memcpy(out, pt.d, pt.len);
	*len = pt.len;
	buf_free(&pt);
	return 0;
}

int
prov_secret_save(struct mgr *m, const char *file, const char *name, const uint8_t *p, size_t len,
	    char *err, size_t errlen)
{
	uint8_t key[32];
	struct buf f;
	int r = -1;

	buf_init(&f, SECRET_FILE_MAX);
	if (secret_key(m, key) == 0 &&
	    blobfmt_seal(key, SEAL_KIND_SECRET, name, NULL, 1, p, len, &f) == 0 &&
	    file_write_atomic(m->store.dirfd, file, f.d, f.len, 0600) == 0)
		r = 0;
	OPENSSL_cleanse(key, sizeof(key));
	buf_free(&f);
	if (r != 0)
		seterr(err, errlen, "cannot write %s/%s", m->cfg.state_dir, file);
	return r;
}

/* Reads a file named by the administrator: a regular file of at most max
 * bytes; private: not readable by group or others. */
int
prov_read_path(const char *path, size_t max, int private, struct buf *out, char *err, size_t errlen)
{
	unsigned mode;

	if (file_read_named(path, max, out, &mode, err, errlen) != 0)
		return -1;
	if (private && (mode & 077) != 0) {
		seterr(err, errlen, "%s holds a private key but is readable by group or others "
		       "(mode %o); chmod 600 it", path, mode);
		buf_reset(out);
		return -1;
	}
	return 0;
}

int
prov_vdir_open(struct mgr *m, const char *uuid_str)
{
	return openat(m->store.vtpmfd, uuid_str, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* Writes uuid's EK record into its directory; safe on a storage thread
 * (only the store's fds and keys, fixed while the manager runs). */
static int
ekinfo_write(struct store *s, const uint8_t uuid[UUID_LEN], const uint8_t *p, size_t len)
{
	char us[UUID_STR_LEN];
	uint8_t key[32];
	struct buf f;
	int fd, r = -1;

	uuid_format(uuid, us);
	if ((fd = openat(s->vtpmfd, us, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -1;
	buf_init(&f, SEAL_FILE_MAX);
	if (blobfmt_derive_key(s->keys->master, uuid, key) == 0 &&
	    blobfmt_seal(key, SEAL_KIND_BLOB, EKINFO_FILE, uuid, 0, p, len, &f) == 0 &&
	    file_write_atomic(fd, EKINFO_FILE, f.d, f.len, 0600) == 0)
		r = 0;
	OPENSSL_cleanse(key, sizeof(key));
	buf_free(&f);
	close(fd);
	return r;
}

/* 1 when there is none, -1 when it does not open, 0 with the plaintext. */
int
prov_ekinfo_load(struct mgr *m, const struct vtpm *v, struct buf *out)
{
	uint8_t key[32], *data = NULL;
	size_t dlen = 0;
	uint64_t gen;
	int fd, r;

	if ((fd = prov_vdir_open(m, v->uuid_str)) < 0)
		return 1;
	r = file_read_all(fd, EKINFO_FILE, SEAL_FILE_MAX, &data, &dlen);
	close(fd);
	if (r == -ENOENT)
		return 1;
	if (r != 0)
		return -1;
	r = blobfmt_derive_key(m->store.keys->master, v->me.uuid, key) == 0 &&
			    blobfmt_open(key, SEAL_KIND_BLOB, EKINFO_FILE, v->me.uuid, data, dlen,
					 out, &gen) == 0
		    ? 0
		    : -1;
	OPENSSL_cleanse(key, sizeof(key));
	freezero(data, dlen);
	return r;
}

void
prov_ek_forget(struct mgr *m, struct vtpm *v)
{
	int fd = prov_vdir_open(m, v->uuid_str);

	if (fd < 0)
		return;
	if (file_unlink_durable(fd, EKINFO_FILE) == 0)
		log_info(LOGM_VTPM, "vtpm %s: permanent state replaced; its recorded EK is "
			 "forgotten (re-read from the TPM when asked)", v->uuid_str);
	close(fd);
}

void
prov_fp_short(const uint8_t fp[PKEY_FP_LEN], char out[20])
{
	char hex[PKEY_FP_HEX_LEN];

	pkey_fp_hex(fp, hex);
	memcpy(out, hex, 16);
	out[16] = '\0';
}

/* --------------------------------------------------------------- keys */

/* The operator's CA from ca_key/ca_cert. */
static int
ca_external(struct mgr *m, struct prov *p, char *err, size_t errlen)
{
	struct buf kp, cp;
	EVP_PKEY *k = NULL;
	int r = -1;

	buf_init(&kp, PKEY_PEM_MAX);
	buf_init(&cp, PKEY_PEM_MAX);
	if (prov_read_path(m->cfg.ca_key, PKEY_PEM_MAX, 1, &kp, err, errlen) != 0 ||
	    prov_read_path(m->cfg.ca_cert, PKEY_PEM_MAX, 0, &cp, err, errlen) != 0)
		goto out;
	if ((k = pkey_priv_from_pem(kp.d, kp.len)) == NULL) {
		seterr(err, errlen, "ca_key %s: not an unencrypted PEM private key", m->cfg.ca_key);
		goto out;
	}
	if ((p->ca_cert = x509_from_pem(cp.d, cp.len)) == NULL) {
		seterr(err, errlen, "ca_cert %s: not a PEM certificate", m->cfg.ca_cert);
		goto out;
	}
	if (ca_check(p->ca_cert, k, err, errlen) != 0) {
		char e2[256];

		snprintf(e2, sizeof(e2), "%s", err);
		seterr(err, errlen, "ca_key/ca_cert (%s): %s", m->cfg.ca_cert, e2);
		goto out;
	}
	if (pkey_priv_der(k, p->keys->ca, sizeof(p->keys->ca), &p->keys->ca_len) != 0) {
		seterr(err, errlen, "ca_key %s: key too large", m->cfg.ca_key);
		goto out;
	}
	/* vtpmctl ca prints the file as given (it may hold the chain). */
	if (buf_put_bytes(&p->ca_pem, cp.d, cp.len) != 0)
		goto out;
	p->ca_external = 1;
	log_info(LOGM_MAIN, "vTPM CA: the operator's, %s", m->cfg.ca_cert);
	r = 0;
out:
	EVP_PKEY_free(k);
	buf_free(&kp);
	buf_free(&cp);
	return r;
}

/* Our own CA: <state-dir>/ca-key.sealed and ca.pem, made at first start. */
static int
ca_own(struct mgr *m, struct prov *p, char *err, size_t errlen)
{
	char host[128], cn[200];
	uint8_t *pem = NULL;
	size_t plen = 0;
	EVP_PKEY *k = NULL;
	int r, made = 0;

	r = prov_secret_load(m, CA_KEY_FILE, "ca-key", p->keys->ca, sizeof(p->keys->ca),
			&p->keys->ca_len, err, errlen);
	if (r < 0)
		return -1;
	if (r == 1) {
		if ((k = pkey_gen_p384()) == NULL ||
		    pkey_priv_der(k, p->keys->ca, sizeof(p->keys->ca), &p->keys->ca_len) != 0) {
			seterr(err, errlen, "cannot generate the vTPM CA key");
			EVP_PKEY_free(k);
			return -1;
		}
		if (prov_secret_save(m, CA_KEY_FILE, "ca-key", p->keys->ca, p->keys->ca_len, err,
				errlen) != 0) {
			EVP_PKEY_free(k);
			return -1;
		}
		made = 1;
	} else if ((k = pkey_priv_from_der(p->keys->ca, p->keys->ca_len)) == NULL) {
		seterr(err, errlen, "%s/%s holds no usable key", m->cfg.state_dir, CA_KEY_FILE);
		return -1;
	}
	/* ca.pem must be the certificate of this key; made again if not. */
	if (!made && file_read_all(m->store.dirfd, CA_CERT_FILE, PKEY_PEM_MAX, &pem, &plen) == 0) {
		p->ca_cert = x509_from_pem(pem, plen);
		freezero(pem, plen);
		if (p->ca_cert != NULL && ca_check(p->ca_cert, k, err, errlen) != 0) {
			log_warn(LOGM_MAIN, "%s/%s does not match the CA key (%s); making a new "
				 "certificate", m->cfg.state_dir, CA_CERT_FILE, err);
			X509_free(p->ca_cert);
			p->ca_cert = NULL;
		}
	}
	if (p->ca_cert == NULL) {
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		snprintf(cn, sizeof(cn), "vTPM CA %s", host);
		if ((p->ca_cert = ca_selfsigned(k, cn)) == NULL || x509_pem(p->ca_cert, &p->ca_pem) != 0 ||
		    file_write_atomic(m->store.dirfd, CA_CERT_FILE, p->ca_pem.d, p->ca_pem.len,
				      0644) != 0) {
			seterr(err, errlen, "cannot write the vTPM CA certificate %s/%s",
			       m->cfg.state_dir, CA_CERT_FILE);
			EVP_PKEY_free(k);
			return -1;
		}
		log_info(LOGM_MAIN, "vTPM CA: %s a P-384 CA, certificate %s/%s",
			 made ? "created" : "recertified", m->cfg.state_dir, CA_CERT_FILE);
	} else if (x509_pem(p->ca_cert, &p->ca_pem) != 0) {
		EVP_PKEY_free(k);
		return -1;
	}
	EVP_PKEY_free(k);
	return 0;
}

int
prov_uuid_pending(struct mgr *m, const uint8_t uuid[UUID_LEN])
{
	struct prov *p = m->prov;

	if (p == NULL)
		return 0;
	for (struct job *j = p->jobs; j != NULL; j = j->next)
		if ((j->kind == JOB_CREATE || j->kind == JOB_IMPORT) &&
		    memcmp(j->me.uuid, uuid, UUID_LEN) == 0)
			return 1;
	return 0;
}

int
prov_vtpm_busy(struct mgr *m, struct ctl_client *c, const struct vtpm *v, const char *what)
{
	char msg[200];

	if (vtpm_has_vtpmd(v) || v->state == VS_ADOPTING)
		snprintf(msg, sizeof(msg), "vTPM %s is running; stop it first (vtpmctl stop)",
			 v->uuid_str);
	else if (v->state == VS_DYING || v->nwork != 0)
		snprintf(msg, sizeof(msg), "vTPM %s is still stopping (its last state is being "
			 "saved); try again", v->uuid_str);
	else
		return 0;
	log_info(LOGM_CTRL, "vtpm %s: cannot %s it now: %s", v->uuid_str, what, msg);
	ctl_answer(m, c, 0, msg, NULL, NULL, 0);
	return 1;
}

/* Refuses a UUID that exists or is being made; 1 when it answered. */
int
prov_uuid_taken(struct mgr *m, struct ctl_client *c, const uint8_t uuid[UUID_LEN])
{
	char us[UUID_STR_LEN], msg[200];

	uuid_format(uuid, us);
	if (vtpm_find_uuid(m, uuid) != NULL) {
		snprintf(msg, sizeof(msg), "a vTPM with UUID %s already exists on this host", us);
		ctl_answer(m, c, 0, msg, NULL, NULL, 0);
		return 1;
	}
	if (prov_uuid_pending(m, uuid)) {
		snprintf(msg, sizeof(msg), "a vTPM with UUID %s is being created or imported", us);
		ctl_answer(m, c, 0, msg, NULL, NULL, 0);
		return 1;
	}
	return 0;
}

/* ---------------------------------------------------------------- jobs */

static int job_finish(struct mgr *m, struct job *j);

static void *
job_thread(void *arg)
{
	struct job *j = arg;
	struct prov *p = j->p;
	struct mf_signer ca = { NULL, NULL };
	uint64_t one = 1;

	switch (j->kind) {
	case JOB_CREATE:
		if (j->rq.ek_certs) {
			ca.key = pkey_priv_from_der(p->keys->ca, p->keys->ca_len);
			ca.cert = j->ca_cert;
		}
		if (j->rq.ek_certs && ca.key == NULL) {
			j->rc = VERR_CERT;
			snprintf(j->err, sizeof(j->err), "the CA key does not decode");
			break;
		}
		j->rc = mf_manufacture(&j->sp, &j->rq, &ca, &j->permall, &j->ekinfo, j->err,
				       sizeof(j->err));
		EVP_PKEY_free(ca.key);
		break;
	case JOB_IMPORT:
	case JOB_EKREAD:
		j->rc = mf_inspect(&j->sp, j->me.tpm_version == 2, j->uuid_str, j->blobs, j->has,
				   &j->ekinfo, j->err, sizeof(j->err));
		break;
	}
	pthread_mutex_lock(&p->mu);
	j->finished = 1;
	pthread_mutex_unlock(&p->mu);
	(void)!write(p->done_fd, &one, sizeof(one));
	return NULL;
}

struct job *
prov_job_new(struct mgr *m, enum job_kind kind, struct ctl_client *c)
{
	struct job *j;

	if (m->prov->njobs >= JOBS_MAX || (j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	j->kind = kind;
	j->p = m->prov;
	j->client = c;
	j->sp = m->prov->sp;
	/* An imported vTPM's sockets are for socket_group (set-owner changes
	 * that); a create job copies the request's owner over this. */
	j->me.owner_uid = j->me.owner_gid = MANIFEST_NO_OWNER;
	for (int i = 0; i < BLOB_COUNT; i++)
		buf_init(&j->blobs[i], SEAL_CT_MAX);
	buf_init(&j->ekinfo_in, 4 * (PKEY_SPKI_MAX + EKCERT_DER_MAX) + 64);
	buf_init(&j->permall, SEAL_CT_MAX);
	buf_init(&j->ekinfo, 4 * (PKEY_SPKI_MAX + EKCERT_DER_MAX) + 64);
	return j;
}

/* Starts j; on failure answers the client and frees j. */
void
prov_job_start(struct mgr *m, struct job *j)
{
	struct prov *p = m->prov;
	int e;

	/* A new vTPM gets its instance now, so that the job's vtpmd already
	 * runs as the uid this vTPM's vtpmd will always have (vtpm_uid_of):
	 * no other vtpmd can signal or trace it.  An instance a failed job
	 * took is not reused (instances only grow). */
	if (j->kind != JOB_EKREAD) {
		if (m->manifest.next_instance == 0)
			m->manifest.next_instance = 1;
		j->me.instance = m->manifest.next_instance++;
	}
	j->sp.uid = (uid_t)(m->cfg.vtpm_uid_base + (j->me.instance % VTPM_UID_SPAN));
	pthread_mutex_lock(&p->mu);
	j->next = p->jobs;
	p->jobs = j;
	p->njobs++;
	pthread_mutex_unlock(&p->mu);
	if ((e = pthread_create(&j->thr, NULL, job_thread, j)) != 0) {
		j->rc = VERR_SYSTEM;
		snprintf(j->err, sizeof(j->err), "cannot start a worker thread: %s", strerror(e));
		j->finished = 1;
		uint64_t one = 1;
		(void)!write(p->done_fd, &one, sizeof(one));
		return;
	}
	j->started = 1;
	if (j->client != NULL)
		ctl_wait(m, j->client);
}

void
prov_job_free(struct job *j)
{
	for (int i = 0; i < BLOB_COUNT; i++)
		buf_free(&j->blobs[i]);
	buf_free(&j->ekinfo_in);
	buf_free(&j->permall);
	buf_free(&j->ekinfo);
	X509_free(j->ca_cert);
	OPENSSL_cleanse(j, sizeof(*j));
	free(j);
}

static void
prov_done_cb(struct mgr *m, struct ev *e, uint32_t events)
{
	struct prov *p = m->prov;
	struct job *done = NULL, **pp, *j;
	uint64_t n;

	(void)e;
	(void)events;
	(void)!read(p->done_fd, &n, sizeof(n));
	pthread_mutex_lock(&p->mu);
	for (pp = &p->jobs; (j = *pp) != NULL;) {
		if (j->finished) {
			*pp = j->next;
			p->njobs--;
			j->next = done;
			done = j;
		} else {
			pp = &j->next;
		}
	}
	pthread_mutex_unlock(&p->mu);
	while ((j = done) != NULL) {
		done = j->next;
		if (j->started)
			pthread_join(j->thr, NULL);
		if (!job_finish(m, j))
			prov_job_free(j);
	}
}

void
prov_client_gone(struct mgr *m, struct ctl_client *c)
{
	struct prov *p = m->prov;

	if (p == NULL)
		return;
	for (struct job *j = p->jobs; j != NULL; j = j->next)
		if (j->client == c)
			j->client = NULL;
	for (struct job *j = p->installing; j != NULL; j = j->next)
		if (j->client == c)
			j->client = NULL;
}

static void
answer(struct mgr *m, struct job *j, int ok, const char *msg, struct vtpm *v,
       const struct buf *data)
{
	if (j->client != NULL)
		ctl_job_done(m, j->client, ok, msg, v, data != NULL ? data->d : NULL,
			     data != NULL ? data->len : 0);
}

/* ------------------------------------------------ new vTPMs from a job */

/* The seed's own file: the EK record (on a storage thread). */
static int
seed_ekinfo(struct store *s, const uint8_t uuid[UUID_LEN], void *ctx)
{
	const struct buf *ei = ctx;

	return ei->len == 0 ? 0 : ekinfo_write(s, uuid, ei->d, ei->len);
}

/* The vTPM a job made is durable (ok) or gone again. */
static void
installed(struct mgr *m, void *ctx, int ok, const char *msg)
{
	struct job *j = ctx;
	struct prov *p = m->prov;
	const char *verb = j->kind == JOB_CREATE ? "create" : "import";
	char text[800];
	struct vtpm *v = ok ? vtpm_find_uuid(m, j->me.uuid) : NULL;

	if (p != NULL) {
		for (struct job **pp = &p->installing; *pp != NULL; pp = &(*pp)->next) {
			if (*pp == j) {
				*pp = j->next;
				break;
			}
		}
	}
	if (!ok) {
		log_err(LOGM_CTRL, "vtpm %s: cannot %s it: %s", j->uuid_str, verb, msg);
		snprintf(text, sizeof(text), "cannot %s vTPM %s: %s", verb, j->uuid_str, msg);
		answer(m, j, 0, text, NULL, NULL);
	} else if (j->kind == JOB_CREATE) {
		log_info(LOGM_CTRL, "vtpm %s: created (instance %u, TPM %s%s%s)", j->uuid_str,
			 j->me.instance, j->me.tpm_version == 1 ? "1.2" : "2.0",
			 j->rq.ek_certs ? ", EK certificates" : "",
			 j->rq.pcr_banks ? ", PCR banks selected" : "");
		answer(m, j, 1, "created", v, NULL);
	} else {
		log_warn(LOGM_CTRL, "vtpm %s: imported (instance %u, TPM %s) %s", j->uuid_str,
			 j->me.instance, j->me.tpm_version == 1 ? "1.2" : "2.0", j->what);
		answer(m, j, 1, "imported", v, NULL);
	}
	prov_job_free(j);
}

/*
 * Creates the vTPM j made (blobs at generation 1, its EK record) through
 * the registry, off the loop; installed() answers.  0 when it is under
 * way (j is the installation's until then), -1 with err.
 */
static int
install(struct mgr *m, struct job *j, const struct buf *blobs, const int *has,
	const struct buf *ekinfo, char *err, size_t errlen)
{
	char e2[600];

	j->seed = (struct vtpm_seed){ .blobs = blobs, .has = has, .write = seed_ekinfo,
				      .ctx = (void *)ekinfo };
	/* j->me.instance was taken when the job started (prov_job_start). */
	if (vtpm_install(m, &j->me, &j->seed, (struct stop_wait){ .done = installed, .ctx = j },
			 e2, sizeof(e2)) == NULL) {
		seterr(err, errlen, "%s", e2);
		return -1;
	}
	j->next = m->prov->installing;
	m->prov->installing = j;
	return 0;
}

static void ek_answer(struct mgr *m, struct ctl_client *c, struct vtpm *v, const uint8_t *ei,
		      size_t eilen, uint8_t kind, uint8_t what);

/* On the loop, once j's thread is done: 1 when j lives on (an
 * installation under way), 0 when it may be freed. */
static int
job_finish(struct mgr *m, struct job *j)
{
	char err[700], msg[800];
	struct vtpm *v;

	if (j->rc != 0) {
		const char *verb = j->kind == JOB_CREATE ? "create" :
				   j->kind == JOB_IMPORT ? "import" : "read the EK of";

		log_err(LOGM_CTRL, "vtpm %s: cannot %s it: %s", j->uuid_str, verb, j->err);
		snprintf(msg, sizeof(msg), "cannot %s vTPM %s: %s", verb, j->uuid_str, j->err);
		answer(m, j, 0, msg, NULL, NULL);
		return 0;
	}
	switch (j->kind) {
	case JOB_CREATE:
		j->seed_blobs[BLOB_PERMALL] = j->permall;
		j->seed_has[BLOB_PERMALL] = 1;
		if (install(m, j, j->seed_blobs, j->seed_has, &j->ekinfo, err, sizeof(err)) != 0) {
			snprintf(msg, sizeof(msg), "cannot create vTPM: %s", err);
			answer(m, j, 0, msg, NULL, NULL);
			return 0;
		}
		return 1;
	case JOB_IMPORT:
		if (install(m, j, j->blobs, j->has,
			    j->ekinfo_in.len != 0 ? &j->ekinfo_in : &j->ekinfo, err,
			    sizeof(err)) != 0) {
			snprintf(msg, sizeof(msg), "cannot import vTPM %s: %s", j->uuid_str, err);
			answer(m, j, 0, msg, NULL, NULL);
			return 0;
		}
		return 1;
	case JOB_EKREAD:
		if ((v = vtpm_find_uuid(m, j->me.uuid)) == NULL) {
			answer(m, j, 0, "the vTPM was deleted meanwhile", NULL, NULL);
			return 0;
		}
		/* (a small fsync'd write on the loop; vtpmctl ek of a stopped
		 * vTPM that never recorded its EK is rare) */
		if (j->ekinfo.len != 0 &&
		    ekinfo_write(&m->store, v->me.uuid, j->ekinfo.d, j->ekinfo.len) != 0)
			log_warn(LOGM_STORE, "vtpm %s: cannot record its EK", v->uuid_str);
		if (j->client != NULL) {
			ek_answer(m, j->client, v, j->ekinfo.d, j->ekinfo.len, j->ek_kind, j->ek_what);
			j->client = NULL;
		}
		return 0;
	}
	return 0;
}

/* --------------------------------------------------------------- create */

int
prov_create(struct mgr *m, struct ctl_client *c, const uint8_t uuid[UUID_LEN], int tpm_version,
	    uint32_t owner_uid, uint32_t owner_gid, uint8_t flags, uint8_t banks)
{
	char us[UUID_STR_LEN];
	struct manifest_entry me0 = { 0 }, *me = &me0;
	struct job *j;
	int certs = !(flags & CTL_CREATE_NO_EK_CERT);

	memcpy(me0.uuid, uuid, UUID_LEN);
	me0.tpm_version = (uint8_t)tpm_version;
	me0.owner_uid = owner_uid;
	me0.owner_gid = owner_gid;
	uuid_format(uuid, us);
	if ((flags & ~CTL_CREATE_NO_EK_CERT) != 0 || (banks & ~MF_BANK_ALL) != 0 ||
	    (banks != 0 && me->tpm_version != 2)) {
		ctl_answer(m, c, 0, banks != 0 && me->tpm_version != 2 ?
			   "--pcr-banks needs a TPM 2.0" : "malformed create request",
			   NULL, NULL, 0);
		return 1;
	}
	/* Nothing to manufacture: a record, as ever (also in a manager
	 * without provisioning, tests/fuzz). */
	if ((!certs && banks == 0) || m->prov == NULL)
		return 0;
	if ((j = prov_job_new(m, JOB_CREATE, c)) == NULL) {
		ctl_answer(m, c, 0, "too many vTPMs being created or imported at once; retry",
			   NULL, NULL, 0);
		return 1;
	}
	j->me = *me;
	memcpy(j->uuid_str, us, sizeof(us));
	j->rq.tpm2 = me->tpm_version == 2;
	j->rq.ek_certs = certs;
	j->rq.pcr_banks = banks;
	memcpy(j->rq.uuid_str, us, sizeof(us));
	if (certs && (j->ca_cert = X509_dup(m->prov->ca_cert)) == NULL) {
		prov_job_free(j);
		ctl_answer(m, c, 0, "out of memory", NULL, NULL, 0);
		return 1;
	}
	prov_job_start(m, j);
	return 1;
}

/* ------------------------------------------------------------- ca, ek */

static void
ek_answer(struct mgr *m, struct ctl_client *c, struct vtpm *v, const uint8_t *ei, size_t eilen,
	  uint8_t kind, uint8_t what)
{
	static const char *const names[] = { "", "RSA-2048", "ECC P-256", "RSA", "ECC P-384" };
	const struct ekinfo_entry *e;
	struct ekinfo info;
	struct buf pem;
	char msg[300];
	uint8_t k;

	if (kind == CTL_EK_DEFAULT || kind == CTL_EK_RSA)
		k = v->me.tpm_version == 2 ? EKINFO_RSA2048 : EKINFO_RSA12;
	else if (v->me.tpm_version != 2) {
		ctl_job_done(m, c, 0, "a TPM 1.2 has an RSA EK only", NULL, NULL, 0);
		return;
	} else
		k = kind == CTL_EK_ECC ? EKINFO_ECCP256 : EKINFO_ECCP384;
	if (ei == NULL || eilen == 0 || ekinfo_decode(ei, eilen, &info) != 0 ||
	    (e = ekinfo_find(&info, k)) == NULL) {
		snprintf(msg, sizeof(msg), "vTPM %s has no %s EK recorded%s", v->uuid_str,
			 names[k], k == EKINFO_ECCP384 ? " (only swtpm_setup makes one)" : "");
		ctl_job_done(m, c, 0, msg, NULL, NULL, 0);
		return;
	}
	if (what == 0 ? e->spki == NULL : e->cert == NULL) {
		snprintf(msg, sizeof(msg), "vTPM %s has no %s EK %s%s", v->uuid_str, names[k],
			 what == 0 ? "public key we could read" : "certificate",
			 what == 0 ? " (its endorsement hierarchy needs a password?)" :
			 " (created with --no-ek-cert, or imported without one)");
		ctl_job_done(m, c, 0, msg, NULL, NULL, 0);
		return;
	}
	buf_init(&pem, 3 * EKCERT_DER_MAX);
	if (pem_armor(what == 0 ? "PUBLIC KEY" : "CERTIFICATE", what == 0 ? e->spki : e->cert,
		      what == 0 ? e->spki_len : e->cert_len, &pem) != 0)
		ctl_job_done(m, c, 0, "out of memory", NULL, NULL, 0);
	else
		ctl_job_done(m, c, 1, "ok", NULL, pem.d, pem.len);
	buf_free(&pem);
}

/* Loads v's saved blobs into j (for a vtpmd that reads them). */
int
prov_load_blobs(struct mgr *m, struct vtpm *v, struct buf *blobs, int *has, char *err, size_t errlen)
{
	for (int i = 0; i < BLOB_COUNT; i++) {
		uint64_t gen = 0;
		int r = store_blob_load(&m->store, v->me.uuid, blob_name((enum blob_index)i),
					v->me.gen[i], &blobs[i], &gen, err, errlen);
		if (r == VERR_NOENT)
			continue;
		if (r != 0)
			return -1;
		has[i] = 1;
	}
	if (!has[BLOB_PERMALL]) {
		seterr(err, errlen, "it has never run, so it has no TPM state (and no EK) yet");
		return -1;
	}
	return 0;
}

void
prov_ek(struct mgr *m, struct ctl_client *c, const uint8_t *p, size_t len)
{
	char msg[700], err[600];
	struct vtpm *v;
	struct buf ei;
	struct job *j;
	int r;

	if (len != UUID_LEN + 2 || p[UUID_LEN] > CTL_EK_ECC384 || p[UUID_LEN + 1] > 1) {
		ctl_answer(m, c, 0, "malformed ek request", NULL, NULL, 0);
		return;
	}
	if ((v = vtpm_find_uuid(m, p)) == NULL) {
		char us[UUID_STR_LEN];
		uuid_format(p, us);
		snprintf(msg, sizeof(msg), "no vTPM with UUID %s", us);
		ctl_answer(m, c, 0, msg, NULL, NULL, 0);
		return;
	}
	buf_init(&ei, 4 * (PKEY_SPKI_MAX + EKCERT_DER_MAX) + 64);
	r = prov_ekinfo_load(m, v, &ei);
	if (r == 0) {
		/* ek_answer replies through ctl_job_done, which is a plain
		 * reply for a client that is not waiting. */
		ek_answer(m, c, v, ei.d, ei.len, p[UUID_LEN], p[UUID_LEN + 1]);
		buf_free(&ei);
		return;
	}
	buf_free(&ei);
	if (r < 0)
		log_warn(LOGM_STORE, "vtpm %s: its EK record does not open; reading the EK again",
			 v->uuid_str);
	/* Not recorded: read it from the TPM, which must not be in use. */
	if (vtpm_has_vtpmd(v) || v->exported) {
		snprintf(msg, sizeof(msg), "no EK recorded for vTPM %s and it is %s; stop it and "
			 "try again", v->uuid_str, v->exported ? "exported" : "running");
		ctl_answer(m, c, 0, msg, NULL, NULL, 0);
		return;
	}
	if (prov_vtpm_busy(m, c, v, "read the EK of"))
		return;
	if ((j = prov_job_new(m, JOB_EKREAD, c)) == NULL) {
		ctl_answer(m, c, 0, "too many jobs at once; retry", NULL, NULL, 0);
		return;
	}
	j->me = v->me;
	memcpy(j->uuid_str, v->uuid_str, UUID_STR_LEN);
	j->ek_kind = p[UUID_LEN];
	j->ek_what = p[UUID_LEN + 1];
	if (prov_load_blobs(m, v, j->blobs, j->has, err, sizeof(err)) != 0) {
		snprintf(msg, sizeof(msg), "cannot read the EK of vTPM %s: %s", v->uuid_str, err);
		prov_job_free(j);
		ctl_answer(m, c, 0, msg, NULL, NULL, 0);
		return;
	}
	prov_job_start(m, j);
}

/* ---------------------------------------------------------- lifecycle */

int
prov_jobs_init(struct mgr *m, char *err, size_t errlen)
{
	struct prov *p = calloc(1, sizeof(*p));

	if (p == NULL || (p->keys = secpage_alloc(sizeof(*p->keys))) == NULL) {
		free(p);
		seterr(err, errlen, "out of memory");
		return -1;
	}
	m->prov = p;
	p->done_fd = p->cancel_fd = -1;
	pthread_mutex_init(&p->mu, NULL);
	buf_init(&p->ca_pem, PKEY_PEM_MAX);
	buf_init(&p->tr_pem, PKEY_PEM_MAX);
	snprintf(p->sp.vtpmd, sizeof(p->sp.vtpmd), "%s", m->cfg.vtpmd_path);
	snprintf(p->sp.root, sizeof(p->sp.root), "%s", m->empty_dir);
	p->sp.gid = m->vtpm_gid;
	p->sp.sandbox = 1;
	p->sp.log_level = level_names[m->cfg.log_level <= LOG_LVL_DEBUG ? m->cfg.log_level : 1];
	p->sp.timeout_ms = m->cfg.command_timeout * 1000u;
	if ((p->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
	    (p->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		seterr(err, errlen, "eventfd: %s", strerror(errno));
		return -1;
	}
	p->sp.cancel_fd = p->cancel_fd;
	p->done_ev = (struct ev){ .fd = p->done_fd, .cb = prov_done_cb, .ctx = p };
	if (ev_set(m, &p->done_ev, EPOLLIN) != 0) {
		seterr(err, errlen, "epoll: %s", strerror(errno));
		return -1;
	}
	if ((m->cfg.ca_key[0] != '\0' ? ca_external(m, p, err, errlen)
				      : ca_own(m, p, err, errlen)) != 0)
		return -1;
	return 0;
}

void
prov_shutdown(struct mgr *m)
{
	struct prov *p = m->prov;
	uint64_t one = 1;
	struct job *j;

	if (p == NULL)
		return;
	if (p->cancel_fd >= 0)
		(void)!write(p->cancel_fd, &one, sizeof(one));
	while ((j = p->jobs) != NULL) {
		p->jobs = j->next;
		if (j->started)
			pthread_join(j->thr, NULL);
		prov_job_free(j);
	}
	if (p->done_fd >= 0) {
		ev_del(m, &p->done_ev);
		close(p->done_fd);
	}
	if (p->cancel_fd >= 0)
		close(p->cancel_fd);
	X509_free(p->ca_cert);
	EVP_PKEY_free(p->tr_pub);
	buf_free(&p->ca_pem);
	buf_free(&p->tr_pem);
	secpage_free(p->keys, sizeof(*p->keys));
	pthread_mutex_destroy(&p->mu);
	free(p);
	m->prov = NULL;
}
