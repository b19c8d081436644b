/*
 * recovery.c - master.recovery and --recover-with; see recovery.h.
 *
 * Owns <state-dir>/master.recovery (and the master.sealed.old it leaves
 * when it replaces master.sealed).  Trusts: the administrator who runs
 * --recover-with and names the private key; nothing in master.recovery
 * until the key unwrapped from it authenticates the file (crypto/
 * recovery.c) and opens the manifest.  The private recovery key is read,
 * used once and freed; it is never stored.  Everything recovery does is
 * logged at warning level with the prefix "RECOVERY:", so it shows up
 * wherever the daemon's warnings go.
 */
#include "manager/recovery.h"
#include "manager/mgr.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "crypto/pkey.h"
#include "crypto/recovery.h"
#include "tcs/host_tpm.h"
#include "util/err.h"
#include "util/errmsg.h"
#include "util/fileio.h"
#include "util/log.h"

static int
read_key_file(const char *path, int private, struct buf *out, char *err, size_t errlen)
{
	unsigned mode;

	if (file_read_named(path, PKEY_PEM_MAX, out, &mode, err, errlen) != 0)
		return -1;
	if (private && (mode & 077) != 0)
		log_warn(LOGM_MAIN, "RECOVERY: %s is readable by group or others (mode %o); keep "
			 "the recovery key private", path, mode);
	return 0;
}

int
recovery_maintain(struct mgr *m, char *err, size_t errlen)
{
	uint8_t *file = NULL, fp[PKEY_FP_LEN], ffp[PKEY_FP_LEN];
	char hex[PKEY_FP_HEX_LEN];
	size_t flen = 0;
	struct buf pem, out;
	EVP_PKEY *k = NULL;
	int r, have, rc = -1;

	have = file_read_all(m->store.dirfd, RECOVERY_NAME, RECOVERY_FILE_MAX, &file, &flen) == 0;
	if (m->cfg.recovery_key[0] == '\0') {
		if (have && recovery_peek(file, flen, ffp) == 0) {
			pkey_fp_hex(ffp, hex);
			log_warn(LOGM_MAIN, "%s/%s exists (recovery key %s) but recovery_key is not "
				 "set: it still lets the holder of that key recover this host's "
				 "vTPMs; remove it if that key is retired", m->cfg.state_dir,
				 RECOVERY_NAME, hex);
		}
		freezero(file, flen);
		return 0;
	}
	buf_init(&pem, PKEY_PEM_MAX);
	buf_init(&out, RECOVERY_FILE_MAX);
	if (read_key_file(m->cfg.recovery_key, 0, &pem, err, errlen) != 0)
		goto done;
	if ((k = pkey_pub_from_pem(pem.d, pem.len)) == NULL) {
		seterr(err, errlen, "recovery_key %s: not a PEM public key", m->cfg.recovery_key);
		goto done;
	}
	if (recovery_key_ok(k) != 0 || pkey_fingerprint(k, fp) != 0) {
		seterr(err, errlen, "recovery_key %s: %s (the recovery key must be RSA of 3072 "
		       "bits or more, or NIST P-384)", m->cfg.recovery_key, verr_str(VERR_BADKEY));
		goto done;
	}
	pkey_fp_hex(fp, hex);
	r = have ? recovery_check(file, flen, m->store.keys->master, fp) : 1;
	if (r == 0) {
		log_info(LOGM_MAIN, "%s: the master key is wrapped to recovery key %s",
			 RECOVERY_NAME, hex);
		rc = 0;
		goto done;
	}
	if (recovery_wrap(k, m->store.keys->master, &out) != 0 ||
	    file_write_atomic(m->store.dirfd, RECOVERY_NAME, out.d, out.len, 0600) != 0) {
		seterr(err, errlen, "cannot write %s/%s", m->cfg.state_dir, RECOVERY_NAME);
		goto done;
	}
	if (r == 1)
		log_info(LOGM_MAIN, "%s: master key wrapped to recovery key %s", RECOVERY_NAME,
			 hex);
	else
		log_warn(LOGM_MAIN, "%s was %s; rewritten for recovery key %s", RECOVERY_NAME,
			 r == VERR_OTHERKEY ? "wrapped to another recovery key" : "damaged", hex);
	rc = 0;
done:
	EVP_PKEY_free(k);
	freezero(file, flen);
	buf_free(&pem);
	buf_free(&out);
	return rc;
}

int
recovery_unlock(struct mgr *m, struct host_tpm *ht, const struct host_tpm_opts *opts,
		uint8_t key[32], char *err, size_t errlen)
{
	uint8_t *file = NULL, fp[PKEY_FP_LEN], ffp[PKEY_FP_LEN];
	char hex[PKEY_FP_HEX_LEN], fhex[PKEY_FP_HEX_LEN], e2[512];
	size_t flen = 0;
	struct buf pem;
	struct manifest mf;
	EVP_PKEY *k = NULL;
	int r, rc = -1;

	buf_init(&pem, PKEY_PEM_MAX);
	if (ht->kind == HOST_TPM_KEYFILE) {
		seterr(err, errlen, "--recover-with reseals the master key to a host TPM; name "
		       "one with --host-tpm device:... or swtpm:...");
		goto done;
	}
	r = file_read_all(m->store.dirfd, RECOVERY_NAME, RECOVERY_FILE_MAX, &file, &flen);
	if (r != 0) {
		seterr(err, errlen, "--recover-with: %s/%s: %s", m->cfg.state_dir, RECOVERY_NAME,
		       r == -ENOENT ? "missing (this state directory was never given a "
				      "recovery_key)" : strerror(-r));
		goto done;
	}
	if (read_key_file(m->cfg.recover_with, 1, &pem, err, errlen) != 0)
		goto done;
	if ((k = pkey_priv_from_pem(pem.d, pem.len)) == NULL) {
		seterr(err, errlen, "--recover-with %s: not an unencrypted PEM private key",
		       m->cfg.recover_with);
		goto done;
	}
	if (recovery_peek(file, flen, ffp) != 0) {
		seterr(err, errlen, "--recover-with: %s/%s: not a recovery file: %s",
		       m->cfg.state_dir, RECOVERY_NAME, verr_str(VERR_FORMAT));
		goto done;
	}
	if (pkey_fingerprint(k, fp) != 0) {
		seterr(err, errlen, "--recover-with %s: unusable key", m->cfg.recover_with);
		goto done;
	}
	pkey_fp_hex(fp, hex);
	pkey_fp_hex(ffp, fhex);
	if ((r = recovery_unwrap(k, file, flen, key)) != 0) {
		if (r == VERR_OTHERKEY)
			seterr(err, errlen, "--recover-with: %s (fingerprint %s) is not the recovery "
			       "key of this state directory (%s/%s is wrapped to %s)",
			       m->cfg.recover_with, hex, m->cfg.state_dir, RECOVERY_NAME, fhex);
		else
			seterr(err, errlen, "--recover-with: %s/%s: %s", m->cfg.state_dir,
			       RECOVERY_NAME, verr_str(r));
		goto done;
	}
	/* The key must open this directory's state before anything changes. */
	if (store_set_key(&m->store, key) != 0 ||
	    store_manifest_load(&m->store, &mf, e2, sizeof(e2)) != 0) {
		seterr(err, errlen, "--recover-with: the recovered master key does not open the "
		       "state directory: %s", e2);
		OPENSSL_cleanse(key, 32);
		goto done;
	}
	manifest_free(&mf);
	log_warn(LOGM_MAIN, "RECOVERY: master key unwrapped from %s/%s with recovery key %s",
		 m->cfg.state_dir, RECOVERY_NAME, hex);
	if (faccessat(m->store.dirfd, HOST_SEALED_NAME, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		if (renameat(m->store.dirfd, HOST_SEALED_NAME, m->store.dirfd,
			     HOST_SEALED_NAME ".old") != 0 || fsync(m->store.dirfd) != 0) {
			seterr(err, errlen, "--recover-with: cannot move %s aside: %s",
			       HOST_SEALED_NAME, strerror(errno));
			OPENSSL_cleanse(key, 32);
			goto done;
		}
		log_warn(LOGM_MAIN, "RECOVERY: the old %s (sealed to the lost TPM or to the old "
			 "PCR values) is kept as %s.old", HOST_SEALED_NAME, HOST_SEALED_NAME);
	}
	if ((r = host_tpm_reseal(ht, opts, m->store.dirfd, key, e2, sizeof(e2))) != 0) {
		seterr(err, errlen, "--recover-with: cannot seal the master key to %s: %s",
		       ht->path, e2);
		OPENSSL_cleanse(key, 32);
		/* Put the old file back: nothing changed then. */
		(void)renameat(m->store.dirfd, HOST_SEALED_NAME ".old", m->store.dirfd,
			       HOST_SEALED_NAME);
		goto done;
	}
	log_warn(LOGM_MAIN, "RECOVERY: master key resealed to %s (%s, manufacturer %s), %s; new "
		 "rollback counter 0x%08x", ht->path, host_tpm_describe(ht), ht->manufacturer,
		 opts->seal_pcrs != 0 ? "bound to the current values of the sealing PCRs"
				      : "no PCR binding", ht->counter_index);
	rc = 0;
done:
	EVP_PKEY_free(k);
	freezero(file, flen);
	buf_free(&pem);
	return rc;
}

int
recovery_anchor(struct mgr *m, char *err, size_t errlen)
{
	uint64_t seq, counter;
	int has;

	if (manifest_sync(m) != 0) {
		seterr(err, errlen, "RECOVERY: cannot commit the manifest to the new counter");
		return -1;
	}
	commit_status(m, &seq, &counter, &has);
	log_warn(LOGM_MAIN, "RECOVERY: rollback detection re-anchored: manifest sequence %llu, "
		 "counter %llu. Recovery complete; start without --recover-with from now on",
		 (unsigned long long)seq, (unsigned long long)counter);
	return 0;
}
