/*
 * check_tpm2_host.c - tcs/tpm2_host against a real swtpm (TPM 2.0) per
 * test: random, manufacturer, seal/unseal with and without a PCR policy,
 * the persistent SRK, a blob taken to another TPM, malformed blobs, the NV
 * counter, secrets kept off the bus (recorded with the pcap TCTI), a TPM
 * that keeps answering RETRY (through a small proxy), an absent, vanished
 * and restarted TPM, that no transient object or session is left
 * behind, and master.sealed as host_seal.c writes and checks it.  The
 * tests reach the TPM a second way, through their own ESYS context, to
 * change PCRs and to look at what is loaded;
 * swtpm's socket TCTI connects per command, so both can share one swtpm.
 * Without swtpm installed the suite is empty and says so.
 */
#include "unit.h"
#include "tcs/host_tpm.h"
#include "tcs/tpm2_host.h"
#include "tcs/tpm2_sealed.h"
#include "util/buf.h"
#include "util/fileio.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#define SRK_HANDLE 0x81000001u
#define COUNTER_BASE 0x01a56000u
/* tss2's TPM2_TRANSIENT_FIRST and friends shift an int into the sign bit
 * (UBSan objects), so the handle ranges are spelled out. */
#define HANDLES_TRANSIENT 0x80000000u
#define HANDLES_LOADED_SESSION 0x02000000u
#define HANDLES_SAVED_SESSION 0x03000000u

struct swtpm {
	pid_t pid;
	char *dir;
	char sock[4096];
	char tcti[4200];
};

static struct swtpm tpm_a;
static char err[512];

static const uint8_t secret32[32] = { 0x5e, 0xc7, 0xe7, 1,  2,  3,  4,  5,  6,  7,  8,
				      9,    10,   11,   12, 13, 14, 15, 16, 17, 18, 19,
				      20,   21,   22,   23, 24, 25, 26, 27, 28, 0xff };

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* A Unix socket something listens on.  A socket file exists from bind(),
 * before listen(), and the TCTI needs the control socket too: waiting for
 * the data socket's file alone failed about one test in sixty here
 * ("tcti:IO failure" at the first open). */
static bool
connectable(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd, ok;

	if (strlen(path) >= sizeof(a.sun_path))
		return false;
	memcpy(a.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return false;
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

/* Starts swtpm on s->dir's state (kept across restarts). */
static void
swtpm_spawn(struct swtpm *s)
{
	char state[4096], ctrl[4200], server[4200], ctrlarg[4300], statearg[4200], log[4096];
	struct stat st;
	int status;

	unit_path(state, sizeof(state), s->dir, "state");
	unit_path(log, sizeof(log), s->dir, "swtpm.log");
	snprintf(ctrl, sizeof(ctrl), "%s.ctrl", s->sock);
	snprintf(server, sizeof(server), "type=unixio,path=%s", s->sock);
	snprintf(ctrlarg, sizeof(ctrlarg), "type=unixio,path=%s", ctrl);
	snprintf(statearg, sizeof(statearg), "dir=%s", state);
	snprintf(s->tcti, sizeof(s->tcti), "swtpm:path=%s", s->sock);

	s->pid = fork();
	ck_assert_msg(s->pid >= 0, "fork: %s", strerror(errno));
	if (s->pid == 0) {
		/* swtpm chats on stderr for every connection. */
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		if (fd >= 0) {
			(void)dup2(fd, 1);
			(void)dup2(fd, 2);
		}
		execlp("swtpm", "swtpm", "socket", "--tpm2", "--tpmstate", statearg, "--server",
		       server, "--ctrl", ctrlarg, "--flags", "not-need-init,startup-clear",
		       (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		if (stat(s->sock, &st) == 0 && S_ISSOCK(st.st_mode) && connectable(s->sock) &&
		    connectable(ctrl))
			return;
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			s->pid = -1;
			ck_abort_msg("swtpm exited before creating %s (see %s)", s->sock, log);
		}
		sleep_ms(25);
	}
	ck_abort_msg("swtpm did not create %s in 5 s", s->sock);
}

static void
swtpm_start(struct swtpm *s)
{
	char state[4096];

	s->dir = unit_mkdtemp();
	unit_path(s->sock, sizeof(s->sock), s->dir, "s");
	unit_path(state, sizeof(state), s->dir, "state");
	ck_assert(mkdir(state, 0700) == 0);
	swtpm_spawn(s);
}

static void
swtpm_kill(struct swtpm *s)
{
	if (s->pid > 0) {
		(void)kill(s->pid, SIGTERM);
		(void)waitpid(s->pid, NULL, 0);
	}
	s->pid = -1;
}

static void
swtpm_stop(struct swtpm *s)
{
	swtpm_kill(s);
	unit_rmtree(s->dir);
	free(s->dir);
	s->dir = NULL;
}

static void
setup(void)
{
	err[0] = '\0';
	swtpm_start(&tpm_a);
}

static void
teardown(void)
{
	swtpm_stop(&tpm_a);
}

/* ---- the tests' own way into the TPM ---- */

struct side {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
};

static void
side_open(struct side *s, const char *tcti)
{
	TSS2_RC rc = Tss2_TctiLdr_Initialize(tcti, &s->tcti);

	ck_assert_msg(rc == 0, "tctildr %s: %s", tcti, Tss2_RC_Decode(rc));
	rc = Esys_Initialize(&s->esys, s->tcti, NULL);
	ck_assert_msg(rc == 0, "Esys_Initialize: %s", Tss2_RC_Decode(rc));
}

static void
side_close(struct side *s)
{
	Esys_Finalize(&s->esys);
	Tss2_TctiLdr_Finalize(&s->tcti);
}

static void
pcr16_extend(const char *tcti)
{
	struct side s;
	TPML_DIGEST_VALUES v = { .count = 1 };
	TSS2_RC rc;

	v.digests[0].hashAlg = TPM2_ALG_SHA256;
	memset(v.digests[0].digest.sha256, 0xa5, 32);
	side_open(&s, tcti);
	rc = Esys_PCR_Extend(s.esys, ESYS_TR_PCR16, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
			     &v);
	side_close(&s);
	ck_assert_msg(rc == 0, "PCR_Extend(16): %s", Tss2_RC_Decode(rc));
}

static void
pcr16_reset(const char *tcti)
{
	struct side s;
	TSS2_RC rc;

	side_open(&s, tcti);
	rc = Esys_PCR_Reset(s.esys, ESYS_TR_PCR16, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE);
	side_close(&s);
	ck_assert_msg(rc == 0, "PCR_Reset(16): %s", Tss2_RC_Decode(rc));
}

/* An ECC SRK, unlike the library's RSA template, so a blob that unseals
 * after this proves the persistent key was the parent. */
static void
srk_persist(const char *tcti)
{
	struct side s;
	TPM2B_SENSITIVE_CREATE sens = { .size = 0 };
	TPM2B_PUBLIC tmpl = { .size = 0 };
	TPM2B_DATA outside = { .size = 0 };
	TPML_PCR_SELECTION pcrs = { .count = 0 };
	ESYS_TR prim = ESYS_TR_NONE, pers = ESYS_TR_NONE;
	TSS2_RC rc;

	tmpl.publicArea.type = TPM2_ALG_ECC;
	tmpl.publicArea.nameAlg = TPM2_ALG_SHA256;
	tmpl.publicArea.objectAttributes = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT |
					   TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
					   TPMA_OBJECT_SENSITIVEDATAORIGIN |
					   TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA;
	tmpl.publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
	tmpl.publicArea.parameters.eccDetail.symmetric.keyBits.aes = 128;
	tmpl.publicArea.parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	tmpl.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	tmpl.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	tmpl.publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;

	side_open(&s, tcti);
	rc = Esys_CreatePrimary(s.esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				ESYS_TR_NONE, &sens, &tmpl, &outside, &pcrs, &prim, NULL, NULL,
				NULL, NULL);
	ck_assert_msg(rc == 0, "CreatePrimary(ECC SRK): %s", Tss2_RC_Decode(rc));
	rc = Esys_EvictControl(s.esys, ESYS_TR_RH_OWNER, prim, ESYS_TR_PASSWORD, ESYS_TR_NONE,
			       ESYS_TR_NONE, SRK_HANDLE, &pers);
	ck_assert_msg(rc == 0, "EvictControl: %s", Tss2_RC_Decode(rc));
	(void)Esys_TR_Close(s.esys, &pers);
	ck_assert(Esys_FlushContext(s.esys, prim) == 0);
	side_close(&s);
}

static void
srk_evict(const char *tcti)
{
	struct side s;
	ESYS_TR pers = ESYS_TR_NONE, out = ESYS_TR_NONE;
	TSS2_RC rc;

	side_open(&s, tcti);
	rc = Esys_TR_FromTPMPublic(s.esys, SRK_HANDLE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   &pers);
	ck_assert_msg(rc == 0, "FromTPMPublic(SRK): %s", Tss2_RC_Decode(rc));
	rc = Esys_EvictControl(s.esys, ESYS_TR_RH_OWNER, pers, ESYS_TR_PASSWORD, ESYS_TR_NONE,
			       ESYS_TR_NONE, SRK_HANDLE, &out);
	ck_assert_msg(rc == 0, "EvictControl(remove): %s", Tss2_RC_Decode(rc));
	side_close(&s);
}

/* An ordinary NV index where a counter might be expected. */
static void
nv_define_ordinary(const char *tcti, uint32_t index)
{
	struct side s;
	TPM2B_AUTH auth = { .size = 0 };
	TPM2B_NV_PUBLIC pub = { .size = 0 };
	ESYS_TR nv = ESYS_TR_NONE;
	TSS2_RC rc;

	pub.nvPublic.nvIndex = index;
	pub.nvPublic.nameAlg = TPM2_ALG_SHA256;
	pub.nvPublic.attributes = TPMA_NV_OWNERWRITE | TPMA_NV_OWNERREAD;
	pub.nvPublic.dataSize = 8;
	side_open(&s, tcti);
	rc = Esys_NV_DefineSpace(s.esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				 ESYS_TR_NONE, &auth, &pub, &nv);
	ck_assert_msg(rc == 0, "NV_DefineSpace(0x%08x): %s", index, Tss2_RC_Decode(rc));
	(void)Esys_TR_Close(s.esys, &nv);
	side_close(&s);
}

static uint32_t
handle_count(struct side *s, TPM2_HANDLE first)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more;
	TSS2_RC rc;
	uint32_t n;

	rc = Esys_GetCapability(s->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				TPM2_CAP_HANDLES, first, TPM2_MAX_CAP_HANDLES, &more, &cap);
	ck_assert_msg(rc == 0, "GetCapability(handles 0x%08x): %s", first, Tss2_RC_Decode(rc));
	n = cap->data.handles.count;
	Esys_Free(cap);
	return n;
}

/* What `tpm2_getcap handles-transient` (and -loaded-session, -saved-session)
 * would show: nothing, after any sequence of our calls. */
static void
assert_clean(const char *tcti)
{
	struct side s;
	uint32_t objs, loaded, saved;

	side_open(&s, tcti);
	objs = handle_count(&s, HANDLES_TRANSIENT);
	loaded = handle_count(&s, HANDLES_LOADED_SESSION);
	saved = handle_count(&s, HANDLES_SAVED_SESSION);
	side_close(&s);
	ck_assert_msg(objs == 0 && loaded == 0 && saved == 0,
		      "left behind: %u transient objects, %u loaded sessions, %u saved sessions",
		      objs, loaded, saved);
}

static struct tpm2_host *
open_ok(const char *tcti)
{
	struct tpm2_host *t = NULL;
	int r = tpm2_host_open(tcti, &t, err, sizeof(err));

	ck_assert_msg(r == 0, "tpm2_host_open(%s): %d %s", tcti, r, err);
	ck_assert(t != NULL);
	return t;
}

static void
seal_ok(struct tpm2_host *t, const uint8_t *s, size_t len, uint32_t mask, struct buf *out)
{
	int r;

	buf_init(out, 8192);
	r = tpm2_host_seal(t, s, len, mask, out, err, sizeof(err));
	ck_assert_msg(r == 0, "seal: %d %s", r, err);
}

static void
unseal_expect(struct tpm2_host *t, const struct buf *blob, const uint8_t *want, size_t wantlen)
{
	uint8_t got[128];
	size_t len = 0;
	int r;

	memset(got, 0, sizeof(got));
	r = tpm2_host_unseal(t, blob->d, blob->len, got, &len, sizeof(got), err, sizeof(err));
	ck_assert_msg(r == 0, "unseal: %d %s", r, err);
	ck_assert_uint_eq(len, wantlen);
	ck_assert(memcmp(got, want, wantlen) == 0);
}

static int
unseal_rc(struct tpm2_host *t, const uint8_t *blob, size_t len)
{
	uint8_t got[128];
	size_t n = 0;

	err[0] = '\0';
	return tpm2_host_unseal(t, blob, len, got, &n, sizeof(got), err, sizeof(err));
}

/* A blob from the TPM parses (tcs/tpm2_sealed.c) and is rebuilt byte for
 * byte: nothing in it is dropped or normalised on the way. */
static void
sealed_identity(const struct buf *blob)
{
	struct tpm2_sealed *s = calloc(1, sizeof(*s));
	struct buf again;
	int r;

	ck_assert(s != NULL);
	r = tpm2_sealed_parse(blob->d, blob->len, s, err, sizeof(err));
	ck_assert_msg(r == 0, "tpm2_sealed_parse: %d %s", r, err);
	buf_init(&again, TPM2_SEALED_MAX);
	ck_assert_int_eq(tpm2_sealed_put(s, &again, err, sizeof(err)), 0);
	ck_assert_uint_eq(again.len, blob->len);
	ck_assert(memcmp(again.d, blob->d, blob->len) == 0);
	buf_free(&again);
	free(s);
}

/* ---- tests ---- */

START_TEST(t_random)
{
	struct tpm2_host *t = open_ok(tpm_a.tcti);
	uint8_t a[100], b[100], zero[100] = { 0 };
	int r;

	r = tpm2_host_random(t, a, 0, err, sizeof(err));
	ck_assert_msg(r == 0, "random(0): %d %s", r, err);
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	r = tpm2_host_random(t, a, sizeof(a), err, sizeof(err));
	ck_assert_msg(r == 0, "random: %d %s", r, err);
	r = tpm2_host_random(t, b, 33, err, sizeof(err));
	ck_assert_msg(r == 0, "random(33): %d %s", r, err);
	/* Every chunk was filled, not only the first. */
	ck_assert(memcmp(a + 64, zero, 36) != 0);
	ck_assert(memcmp(b + 1, zero, 32) != 0);
	ck_assert(memcmp(b + 33, zero, sizeof(b) - 33) == 0);
	ck_assert(memcmp(a, b, 33) != 0);
	tpm2_host_close(t);
	assert_clean(tpm_a.tcti);
}
END_TEST

START_TEST(t_manufacturer)
{
	struct tpm2_host *t = open_ok(tpm_a.tcti);
	char m[5];
	int r;

	memset(m, 'x', sizeof(m));
	r = tpm2_host_manufacturer(t, m, err, sizeof(err));
	ck_assert_msg(r == 0, "manufacturer: %d %s", r, err);
	ck_assert_str_eq(m, "IBM");
	tpm2_host_close(t);
}
END_TEST

START_TEST(t_seal_roundtrip)
{
	struct tpm2_host *t = open_ok(tpm_a.tcti);
	uint8_t big[128], small[16];
	struct buf blob, one, b128, app;
	size_t len = 0;
	int r;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + 3);
	seal_ok(t, secret32, sizeof(secret32), 0, &blob);
	ck_assert(blob.len > 12);
	ck_assert(memcmp(blob.d, "VT2S\0\1", 6) == 0);
	ck_assert_uint_eq(blob.d[6], 2); /* no persistent SRK: the template primary */
	ck_assert(memcmp(blob.d + 8, "\0\0\0\0", 4) == 0);
	/* What this TPM made parses, and builds back to the same bytes. */
	sealed_identity(&blob);
	unseal_expect(t, &blob, secret32, sizeof(secret32));
	/* Twice: nothing from the first call is in the way of the second. */
	unseal_expect(t, &blob, secret32, sizeof(secret32));

	seal_ok(t, secret32, 1, 0, &one);
	unseal_expect(t, &one, secret32, 1);
	seal_ok(t, big, sizeof(big), 0, &b128);
	unseal_expect(t, &b128, big, sizeof(big));

	/* seal appends, leaving what was in out alone. */
	buf_init(&app, 8192);
	ck_assert(buf_put_bytes(&app, "hdr", 3) == 0);
	r = tpm2_host_seal(t, secret32, sizeof(secret32), 0, &app, err, sizeof(err));
	ck_assert_msg(r == 0, "seal(append): %d %s", r, err);
	ck_assert(memcmp(app.d, "hdrVT2S", 7) == 0);
	ck_assert_int_eq(unseal_rc(t, app.d + 3, app.len - 3), 0);

	/* Arguments the header rules out. */
	r = tpm2_host_seal(t, big, 129, 0, &app, err, sizeof(err));
	ck_assert_int_eq(r, VERR_INVAL);
	r = tpm2_host_seal(t, big, 0, 0, &app, err, sizeof(err));
	ck_assert_int_eq(r, VERR_INVAL);
	r = tpm2_host_seal(t, big, 16, 1u << 24, &app, err, sizeof(err));
	ck_assert_int_eq(r, VERR_INVAL);
	ck_assert(strstr(err, "PCR") != NULL);
	/* A buffer too small for the secret: refused, nothing written past cap. */
	memset(small, 0xee, sizeof(small));
	r = tpm2_host_unseal(t, blob.d, blob.len, small, &len, 8, err, sizeof(err));
	ck_assert_int_eq(r, VERR_NOSPACE);
	ck_assert_uint_eq(len, 0);
	for (size_t i = 0; i < sizeof(small); i++)
		ck_assert_uint_eq(small[i], 0xee);

	buf_free(&blob);
	buf_free(&one);
	buf_free(&b128);
	buf_free(&app);
	tpm2_host_close(t);
	assert_clean(tpm_a.tcti);
}
END_TEST

START_TEST(t_seal_pcr)
{
	struct tpm2_host *t = open_ok(tpm_a.tcti);
	struct buf blob, plain;
	int r;

	seal_ok(t, secret32, sizeof(secret32), 1u << 16, &blob);
	ck_assert(memcmp(blob.d + 8, "\0\1\0\0", 4) == 0);
	seal_ok(t, secret32, 20, 0, &plain);
	sealed_identity(&blob);
	unseal_expect(t, &blob, secret32, sizeof(secret32));

	pcr16_extend(tpm_a.tcti);
	r = unseal_rc(t, blob.d, blob.len);
	ck_assert_msg(r == VERR_PCR, "unseal after extend: %d %s", r, err);
	ck_assert_msg(strstr(err, "PCR values differ") != NULL, "message: %s", err);
	/* A blob without a PCR policy does not care. */
	unseal_expect(t, &plain, secret32, 20);
	assert_clean(tpm_a.tcti);

	pcr16_reset(tpm_a.tcti);
	unseal_expect(t, &blob, secret32, sizeof(secret32));

	buf_free(&blob);
	buf_free(&plain);
	tpm2_host_close(t);
	assert_clean(tpm_a.tcti);
}
END_TEST

START_TEST(t_persistent_srk)
{
	struct tpm2_host *t = open_ok(tpm_a.tcti);
	struct buf prim, pers, pers_pcr;
	int r;

	seal_ok(t, secret32, sizeof(secret32), 0, &prim);
	ck_assert_uint_eq(prim.d[6], 2);

	srk_persist(tpm_a.tcti);
	seal_ok(t, secret32, sizeof(secret32), 0, &pers);
	ck_assert_uint_eq(pers.d[6], 1);
	seal_ok(t, secret32, 24, 1u << 16 | 1u << 23, &pers_pcr);
	ck_assert_uint_eq(pers_pcr.d[6], 1);
	sealed_identity(&pers);
	sealed_identity(&pers_pcr);
	unseal_expect(t, &pers, secret32, sizeof(secret32));
	unseal_expect(t, &pers_pcr, secret32, 24);
	/* A blob made under the template primary still finds its parent. */
	unseal_expect(t, &prim, secret32, sizeof(secret32));
	assert_clean(tpm_a.tcti);

	srk_evict(tpm_a.tcti);
	r = unseal_rc(t, pers.d, pers.len);
	ck_assert_msg(r == VERR_WRONG_TPM, "unseal without the SRK: %d %s", r, err);
	unseal_expect(t, &prim, secret32, sizeof(secret32));

	buf_free(&prim);
	buf_free(&pers);
	buf_free(&pers_pcr);
	tpm2_host_close(t);
	assert_clean(tpm_a.tcti);
}
END_TEST

START_TEST(t_wrong_tpm)
{
	struct swtpm tpm_b = { .pid = -1 };
	struct tpm2_host *ta = open_ok(tpm_a.tcti), *tb;
	struct buf blob, blob_pcr;
	int r;

	seal_ok(ta, secret32, sizeof(secret32), 0, &blob);
	seal_ok(ta, secret32, sizeof(secret32), 1u << 16, &blob_pcr);
	tpm2_host_close(ta);

	swtpm_start(&tpm_b);
	tb = open_ok(tpm_b.tcti);
	r = unseal_rc(tb, blob.d, blob.len);
	ck_assert_msg(r == VERR_WRONG_TPM, "blob from A on B: %d %s", r, err);
	ck_assert_msg(strstr(err, "another TPM") != NULL, "message: %s", err);
	r = unseal_rc(tb, blob_pcr.d, blob_pcr.len);
	ck_assert_msg(r == VERR_WRONG_TPM, "PCR blob from A on B: %d %s", r, err);
	tpm2_host_close(tb);
	assert_clean(tpm_b.tcti);
	swtpm_stop(&tpm_b);

	buf_free(&blob);
	buf_free(&blob_pcr);
}
END_TEST

/* Offsets inside a version-1 blob, from its own length fields. */
static size_t
priv_offset(const struct buf *b)
{
	size_t off = 12;

	off += 2 + be16_get(b->d + off); /* parent name */
	off += 2 + be16_get(b->d + off); /* public */
	return off;
}

static void
assert_refused(int r, size_t at, const char *what)
{
	ck_assert_msg(r == VERR_FORMAT || r == VERR_WRONG_TPM,
		      "%s at %zu: %d (%s), want FORMAT or WRONG_TPM", what, at, r, err);
}

START_TEST(t_malformed)
{
	struct tpm2_host *t;
	struct buf blob, blob_pcr;
	uint8_t *m;
	size_t privoff;
	int r;

	/* Under a persistent SRK each attempt that reaches the TPM is
	 * quick: no primary to derive. */
	srk_persist(tpm_a.tcti);
	t = open_ok(tpm_a.tcti);
	seal_ok(t, secret32, sizeof(secret32), 0, &blob);
	seal_ok(t, secret32, sizeof(secret32), 1u << 16, &blob_pcr);
	m = malloc(blob.len + 1);
	ck_assert(m != NULL);

	/* Every truncation, and one byte too many. */
	for (size_t n = 0; n < blob.len; n++) {
		memcpy(m, blob.d, n);
		r = unseal_rc(t, m, n);
		ck_assert_msg(r == VERR_FORMAT, "truncated to %zu: %d %s", n, r, err);
	}
	memcpy(m, blob.d, blob.len);
	m[blob.len] = 0;
	ck_assert_int_eq(unseal_rc(t, m, blob.len + 1), VERR_FORMAT);
	ck_assert_int_eq(unseal_rc(t, NULL, 0), VERR_FORMAT);

	/* Every bit of the header. */
	for (size_t i = 0; i < 12 * 8; i++) {
		memcpy(m, blob.d, blob.len);
		m[i / 8] ^= (uint8_t)(1u << (i % 8));
		r = unseal_rc(t, m, blob.len);
		assert_refused(r, i, "header bit flip");
	}
	/* One bit in every byte of the rest. */
	for (size_t i = 12; i < blob.len; i++) {
		memcpy(m, blob.d, blob.len);
		m[i] ^= (uint8_t)(1u << (i % 8));
		r = unseal_rc(t, m, blob.len);
		assert_refused(r, i, "body bit flip");
	}
	/* The private area is the TPM's to check: integrity, i.e. not ours. */
	privoff = priv_offset(&blob);
	memcpy(m, blob.d, blob.len);
	m[privoff + 10] ^= 0x01;
	r = unseal_rc(t, m, blob.len);
	ck_assert_msg(r == VERR_WRONG_TPM && strstr(err, "TPM2_Load") != NULL,
		      "private flip: %d %s", r, err);

	/* With a PCR policy a changed mask can only be caught as a policy
	 * that no longer matches; the secret still stays in. */
	for (size_t i = 8 * 8; i < 12 * 8; i++) {
		uint8_t *mp = malloc(blob_pcr.len);

		ck_assert(mp != NULL);
		memcpy(mp, blob_pcr.d, blob_pcr.len);
		mp[i / 8] ^= (uint8_t)(1u << (i % 8));
		r = unseal_rc(t, mp, blob_pcr.len);
		ck_assert_msg(r == VERR_FORMAT || r == VERR_PCR,
			      "PCR mask bit %zu: %d %s", i, r, err);
		free(mp);
	}
	/* A mask on a blob without a policy, and the reverse. */
	memcpy(m, blob.d, blob.len);
	m[9] = 1;
	ck_assert_int_eq(unseal_rc(t, m, blob.len), VERR_FORMAT);

	/* And the original still works after all that. */
	unseal_expect(t, &blob, secret32, sizeof(secret32));
	unseal_expect(t, &blob_pcr, secret32, sizeof(secret32));
	free(m);
	buf_free(&blob);
	buf_free(&blob_pcr);
	tpm2_host_close(t);
	assert_clean(tpm_a.tcti);
}
END_TEST

START_TEST(t_counter)
{
	struct tpm2_host *t = open_ok(tpm_a.tcti);
	uint8_t auth[32], bad[32];
	uint32_t idx = 0, idx2 = 0, idx3 = 0;
	uint64_t v0 = 0, v1 = 0, v = 0;
	int r;

	for (size_t i = 0; i < sizeof(auth); i++) {
		auth[i] = (uint8_t)(0x80 + i);
		bad[i] = (uint8_t)(0x81 + i);
	}
	r = tpm2_host_counter_define(t, auth, sizeof(auth), &idx, err, sizeof(err));
	ck_assert_msg(r == 0, "define: %d %s", r, err);
	ck_assert_uint_eq(idx, COUNTER_BASE);
	r = tpm2_host_counter_read(t, idx, &v0, err, sizeof(err));
	ck_assert_msg(r == 0, "read: %d %s", r, err);
	ck_assert_uint_ge(v0, 1);

	r = tpm2_host_counter_increment(t, idx, auth, sizeof(auth), &v1, err, sizeof(err));
	ck_assert_msg(r == 0, "increment: %d %s", r, err);
	ck_assert_uint_eq(v1, v0 + 1);
	r = tpm2_host_counter_read(t, idx, &v, err, sizeof(err));
	ck_assert_msg(r == 0, "read: %d %s", r, err);
	ck_assert_uint_eq(v, v1);

	/* Only the manager's auth moves it (one failure: far from lockout). */
	r = tpm2_host_counter_increment(t, idx, bad, sizeof(bad), &v, err, sizeof(err));
	ck_assert_msg(r == VERR_TPM_AUTH, "increment with a wrong auth: %d %s", r, err);
	r = tpm2_host_counter_read(t, idx, &v, err, sizeof(err));
	ck_assert_msg(r == 0, "read: %d %s", r, err);
	ck_assert_uint_eq(v, v1);
	r = tpm2_host_counter_increment(t, idx, auth, 33, &v, err, sizeof(err));
	ck_assert_int_eq(r, VERR_INVAL);

	/* The next define skips used indexes, ours and others'. */
	nv_define_ordinary(tpm_a.tcti, COUNTER_BASE + 1);
	r = tpm2_host_counter_define(t, auth, 16, &idx2, err, sizeof(err));
	ck_assert_msg(r == 0, "define 2: %d %s", r, err);
	ck_assert_uint_eq(idx2, COUNTER_BASE + 2);
	/* An ordinary index is not taken for a counter. */
	r = tpm2_host_counter_read(t, COUNTER_BASE + 1, &v, err, sizeof(err));
	ck_assert_msg(r == VERR_MISMATCH && strstr(err, "not a counter") != NULL, "read: %d %s", r,
		      err);
	r = tpm2_host_counter_undefine(t, COUNTER_BASE + 1, err, sizeof(err));
	ck_assert_int_eq(r, VERR_MISMATCH);

	r = tpm2_host_counter_undefine(t, idx, err, sizeof(err));
	ck_assert_msg(r == 0, "undefine: %d %s", r, err);
	r = tpm2_host_counter_read(t, idx, &v, err, sizeof(err));
	ck_assert_msg(r == VERR_WRONG_TPM, "read after undefine: %d %s", r, err);
	r = tpm2_host_counter_increment(t, idx, auth, sizeof(auth), &v, err, sizeof(err));
	ck_assert_int_eq(r, VERR_WRONG_TPM);

	/* The freed index is reused, and a new counter never starts below
	 * one that was deleted: undefine + define is no rollback. */
	r = tpm2_host_counter_define(t, NULL, 0, &idx3, err, sizeof(err));
	ck_assert_msg(r == 0, "define 3: %d %s", r, err);
	ck_assert_uint_eq(idx3, idx);
	r = tpm2_host_counter_read(t, idx3, &v, err, sizeof(err));
	ck_assert_msg(r == 0, "read: %d %s", r, err);
	ck_assert_uint_gt(v, v1);
	r = tpm2_host_counter_increment(t, idx3, NULL, 0, &v0, err, sizeof(err));
	ck_assert_msg(r == 0, "increment (empty auth): %d %s", r, err);
	ck_assert_uint_eq(v0, v + 1);

	ck_assert_int_eq(tpm2_host_counter_undefine(t, idx2, err, sizeof(err)), 0);
	ck_assert_int_eq(tpm2_host_counter_undefine(t, idx3, err, sizeof(err)), 0);
	ck_assert_int_eq(tpm2_host_counter_read(t, 0x81000001, &v, err, sizeof(err)),
			 VERR_INVAL);
	tpm2_host_close(t);
	assert_clean(tpm_a.tcti);
}
END_TEST

/* Reads a whole (small) file into a malloc'd buffer. */
static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *d;
	long n;

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert(fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0);
	d = malloc((size_t)n);
	ck_assert(d != NULL && fread(d, 1, (size_t)n, f) == (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return d;
}

static bool
contains(const uint8_t *hay, size_t haylen, const uint8_t *needle, size_t n)
{
	return memmem(hay, haylen, needle, n) != NULL;
}

/*
 * Records every command and response (tpm2-tss's pcap TCTI) through seal
 * and unseal, with and without a PCR policy, and a counter's define and
 * increment, and looks for the secret and the counter's auth in the
 * recording: no 8-byte piece of either may appear.  The random bytes,
 * which travel in clear, show that the recording holds the payloads.
 */
START_TEST(t_bus_encrypted)
{
	static const uint8_t canary[32] = "vtpm-manager master key canary!";
	struct tpm2_host *t;
	char cap[4096], tcti[4300];
	static const uint8_t cauth[32] = "counter auth, never on the bus!";
	struct buf plain, pcr;
	uint8_t rnd[16], *d;
	uint32_t idx;
	uint64_t v;
	size_t len;

	unit_path(cap, sizeof(cap), tpm_a.dir, "bus.pcap");
	snprintf(tcti, sizeof(tcti), "pcap:%s", tpm_a.tcti);
	ck_assert(setenv("TCTI_PCAP_FILE", cap, 1) == 0);
	t = open_ok(tcti);
	seal_ok(t, canary, sizeof(canary), 0, &plain);
	seal_ok(t, canary, sizeof(canary), 1u << 16, &pcr);
	unseal_expect(t, &plain, canary, sizeof(canary));
	unseal_expect(t, &pcr, canary, sizeof(canary));
	ck_assert_int_eq(tpm2_host_random(t, rnd, sizeof(rnd), err, sizeof(err)), 0);
	ck_assert_int_eq(tpm2_host_counter_define(t, cauth, sizeof(cauth), &idx, err,
						  sizeof(err)), 0);
	ck_assert_int_eq(tpm2_host_counter_increment(t, idx, cauth, sizeof(cauth), &v, err,
						     sizeof(err)), 0);
	ck_assert_int_eq(tpm2_host_counter_undefine(t, idx, err, sizeof(err)), 0);
	tpm2_host_close(t);
	(void)unsetenv("TCTI_PCAP_FILE");

	d = slurp(cap, &len);
	ck_assert_msg(contains(d, len, rnd, sizeof(rnd)), "the capture holds no payloads");
	for (size_t i = 0; i + 8 <= sizeof(canary); i++)
		ck_assert_msg(!contains(d, len, canary + i, 8),
			      "secret bytes %zu..%zu crossed the bus in clear", i, i + 7);
	for (size_t i = 0; i + 8 <= sizeof(cauth); i++)
		ck_assert_msg(!contains(d, len, cauth + i, 8),
			      "counter auth bytes %zu..%zu crossed the bus in clear", i, i + 7);
	free(d);
	buf_free(&plain);
	buf_free(&pcr);
	assert_clean(tpm_a.tcti);
}
END_TEST

/* ---- master.sealed through host_seal.c ---- */

/* Unlocks h (a fresh connection each time) with the state in dirfd. */
static int
unlock(const char *tcti, int dirfd, uint8_t key[32], int *created)
{
	struct host_tpm h;
	struct host_tpm_opts o;
	int r;

	memset(&o, 0, sizeof(o));
	ck_assert_msg(host_tpm_parse(tcti, &h, err, sizeof(err)) == 0, "parse: %s", err);
	err[0] = '\0';
	r = host_tpm_unlock(&h, &o, dirfd, 1, key, created, err, sizeof(err));
	host_tpm_close(&h);
	return r;
}

static int
host_tpm_unlock_first(const char *tcti, int dirfd, uint8_t key[32], int *created)
{
	struct host_tpm h;
	struct host_tpm_opts o;
	int r;

	memset(&o, 0, sizeof(o));
	ck_assert_msg(host_tpm_parse(tcti, &h, err, sizeof(err)) == 0, "parse: %s", err);
	r = host_tpm_unlock(&h, &o, dirfd, 0, key, created, err, sizeof(err));
	host_tpm_close(&h);
	return r;
}

/* Writes f with byte at changed to v (or as it is, at == SIZE_MAX). */
static void
rewrite(int dirfd, const uint8_t *f, size_t len, size_t at, uint8_t v, size_t newlen)
{
	uint8_t *c = malloc(newlen);

	ck_assert(c != NULL);
	memset(c, 0, newlen);
	memcpy(c, f, len < newlen ? len : newlen);
	if (at != SIZE_MAX)
		c[at] = v;
	ck_assert_int_eq(file_write_atomic(dirfd, HOST_SEALED_NAME, c, newlen, 0600), 0);
	free(c);
}

static void
unlock_refused(const char *tcti, int dirfd, int want, const char *msg, const char *what)
{
	uint8_t key[32];
	int created = -1, r = unlock(tcti, dirfd, key, &created);

	ck_assert_msg(r == want, "%s: unlock returned %d (%s), want %d", what, r, err, want);
	ck_assert_msg(strstr(err, msg) != NULL, "%s: \"%s\", want \"%s\"", what, err, msg);
	ck_assert_int_eq(created, 0);
}

/*
 * host_seal.c's use of tcs/master_sealed.c on a real TPM: the file it
 * writes unlocks to the same key; a changed header is refused by the
 * layout check, the TPM-version check, the --seal-pcrs check or, for the
 * values only the MAC protects (counter index, flags, MAC), by the MAC
 * check after the TPM unsealed the key; and nothing is re-created.
 */
START_TEST(t_master_sealed_file)
{
	char *dir = unit_mkdtemp();
	uint8_t key[32], again[32], *f = NULL;
	size_t flen = 0;
	int dirfd, created = -1, r;

	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dirfd, 0);
	r = host_tpm_unlock_first(tpm_a.tcti, dirfd, key, &created);
	ck_assert_msg(r == 0, "first unlock: %d %s", r, err);
	ck_assert_int_eq(created, 1);
	ck_assert_int_eq(file_read_all(dirfd, HOST_SEALED_NAME, 8192, &f, &flen), 0);
	ck_assert_uint_gt(flen, 24 + 32);
	ck_assert_uint_eq(f[10], 2);

	r = unlock(tpm_a.tcti, dirfd, again, &created);
	ck_assert_msg(r == 0, "second unlock: %d %s", r, err);
	ck_assert_int_eq(created, 0);
	ck_assert(memcmp(key, again, 32) == 0);

	rewrite(dirfd, f, flen, 19, f[19] ^ 1, flen);
	unlock_refused(tpm_a.tcti, dirfd, VERR_AUTH, "header authentication failed",
		       "counter index changed");
	rewrite(dirfd, f, flen, 11, 1, flen);
	unlock_refused(tpm_a.tcti, dirfd, VERR_AUTH, "header authentication failed",
		       "flags changed");
	rewrite(dirfd, f, flen, flen - 1, f[flen - 1] ^ 0x80, flen);
	unlock_refused(tpm_a.tcti, dirfd, VERR_AUTH, "header authentication failed",
		       "MAC changed");
	rewrite(dirfd, f, flen, 10, 1, flen);
	unlock_refused(tpm_a.tcti, dirfd, VERR_WRONG_TPM, "sealed by a TPM 1.2",
		       "TPM version 1.2");
	rewrite(dirfd, f, flen, 10, 7, flen);
	unlock_refused(tpm_a.tcti, dirfd, VERR_FORMAT, "unknown TPM version", "TPM version 7");
	rewrite(dirfd, f, flen, 13, 1, flen);
	unlock_refused(tpm_a.tcti, dirfd, VERR_INVAL, "sealed to PCRs 16", "PCR mask changed");
	rewrite(dirfd, f, flen, 23, (uint8_t)(f[23] + 1), flen);
	unlock_refused(tpm_a.tcti, dirfd, VERR_FORMAT, "inconsistent lengths", "bloblen + 1");
	rewrite(dirfd, f, flen, SIZE_MAX, 0, flen + 1);
	unlock_refused(tpm_a.tcti, dirfd, VERR_FORMAT, "inconsistent lengths", "a byte more");
	rewrite(dirfd, f, flen, 0, 'X', flen);
	unlock_refused(tpm_a.tcti, dirfd, VERR_FORMAT, "not a vtpm-manager sealed key file",
		       "magic");

	/* The file as written still opens. */
	rewrite(dirfd, f, flen, SIZE_MAX, 0, flen);
	r = unlock(tpm_a.tcti, dirfd, again, &created);
	ck_assert_msg(r == 0, "unlock after all that: %d %s", r, err);
	ck_assert(memcmp(key, again, 32) == 0);
	free(f);
	close(dirfd);
	unit_rmtree(dir);
	free(dir);
}
END_TEST

/* ---- a TPM that answers "retry" ---- */

static bool
io_full(int fd, uint8_t *p, size_t n, bool rd)
{
	while (n > 0) {
		ssize_t k = rd ? read(fd, p, n) : write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return false;
		p += k;
		n -= (size_t)k;
	}
	return true;
}

/* One TPM message (header, then the size it announces) from fd. */
static bool
read_msg(int fd, uint8_t *m, size_t cap, size_t *len)
{
	uint32_t n;

	if (!io_full(fd, m, 10, true))
		return false;
	n = be32_get(m + 2);
	if (n < 10 || n > cap || !io_full(fd, m + 10, n - 10, true))
		return false;
	*len = n;
	return true;
}

static int
unix_socket(const char *path, bool listening)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(a.sun_path))
		return -1;
	memcpy(a.sun_path, path, strlen(path) + 1);
	if (listening ? bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 8) != 0
		      : connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Sits between the library and swtpm (whose TCTI connects once per
 * command) and answers the first `retries` GetRandom commands with
 * TPM_RC_RETRY itself; retries < 0: all of them.  Returns its pid.
 */
static pid_t
retry_proxy(const char *listen_path, const char *tpm_path, int retries)
{
	static const uint8_t retry_rsp[10] = { 0x80, 0x01, 0, 0, 0, 10, 0, 0, 0x09, 0x22 };
	char ctrl[4200], real_ctrl[4200];
	int lfd;
	pid_t pid;

	/* The TCTI also talks to <socket>.ctrl once, at start. */
	snprintf(ctrl, sizeof(ctrl), "%s.ctrl", listen_path);
	snprintf(real_ctrl, sizeof(real_ctrl), "%s.ctrl", tpm_path);
	ck_assert(symlink(real_ctrl, ctrl) == 0);
	lfd = unix_socket(listen_path, true);
	ck_assert_msg(lfd >= 0, "proxy socket %s: %s", listen_path, strerror(errno));
	pid = fork();
	ck_assert(pid >= 0);
	if (pid > 0) {
		close(lfd);
		return pid;
	}
	for (;;) {
		uint8_t m[8192];
		size_t n;
		int c = accept(lfd, NULL, NULL), up = -1;

		if (c < 0)
			continue;
		if (read_msg(c, m, sizeof(m), &n)) {
			if (be32_get(m + 6) == TPM2_CC_GetRandom && retries != 0) {
				if (retries > 0)
					retries--;
				(void)io_full(c, (uint8_t *)retry_rsp, sizeof(retry_rsp), false);
			} else if ((up = unix_socket(tpm_path, false)) >= 0 &&
				   io_full(up, m, n, false) && read_msg(up, m, sizeof(m), &n)) {
				(void)io_full(c, m, n, false);
			}
		}
		if (up >= 0)
			close(up);
		close(c);
	}
}

static void
proxy_stop(pid_t pid)
{
	(void)kill(pid, SIGKILL);
	(void)waitpid(pid, NULL, 0);
}

START_TEST(t_busy)
{
	char sock[4096], tcti[4200];
	struct tpm2_host *t;
	uint8_t rnd[16];
	pid_t proxy;
	int r;

	unit_path(sock, sizeof(sock), tpm_a.dir, "p1");
	snprintf(tcti, sizeof(tcti), "swtpm:path=%s", sock);
	/* More retries than ESYS resubmits on its own (5): our backoff
	 * loop has to carry it the rest of the way. */
	proxy = retry_proxy(sock, tpm_a.sock, 12);
	t = open_ok(tcti);
	r = tpm2_host_random(t, rnd, sizeof(rnd), err, sizeof(err));
	ck_assert_msg(r == 0, "random through 12 RETRYs: %d %s", r, err);
	tpm2_host_close(t);
	proxy_stop(proxy);

	unit_path(sock, sizeof(sock), tpm_a.dir, "p2");
	snprintf(tcti, sizeof(tcti), "swtpm:path=%s", sock);
	proxy = retry_proxy(sock, tpm_a.sock, -1);
	t = open_ok(tcti);
	r = tpm2_host_random(t, rnd, sizeof(rnd), err, sizeof(err));
	ck_assert_msg(r == VERR_BUSY, "random, always RETRY: %d %s", r, err);
	ck_assert_msg(strstr(err, "busy") != NULL, "message: %s", err);
	tpm2_host_close(t);
	proxy_stop(proxy);
}
END_TEST

START_TEST(t_notpm)
{
	struct tpm2_host *t = NULL;
	char tcti[4200];
	struct buf blob;
	uint8_t rnd[8];
	char m[5];
	int r;

	snprintf(tcti, sizeof(tcti), "swtpm:path=%s/absent", tpm_a.dir);
	r = tpm2_host_open(tcti, &t, err, sizeof(err));
	ck_assert_msg(r == VERR_NOTPM, "absent socket: %d %s", r, err);
	ck_assert(t == NULL);
	ck_assert(err[0] != '\0');
	r = tpm2_host_open("device:/nonexistent/tpmrm0", &t, err, sizeof(err));
	ck_assert_msg(r == VERR_NOTPM, "absent device: %d %s", r, err);

	/* The TPM goes away under an open context. */
	t = open_ok(tpm_a.tcti);
	seal_ok(t, secret32, sizeof(secret32), 0, &blob);
	swtpm_kill(&tpm_a);
	r = tpm2_host_random(t, rnd, sizeof(rnd), err, sizeof(err));
	ck_assert_msg(r == VERR_NOTPM, "random, swtpm gone: %d %s", r, err);
	r = tpm2_host_manufacturer(t, m, err, sizeof(err));
	ck_assert_msg(r == VERR_NOTPM, "manufacturer, swtpm gone: %d %s", r, err);
	r = unseal_rc(t, blob.d, blob.len);
	ck_assert_msg(r == VERR_NOTPM, "unseal, swtpm gone: %d %s", r, err);
	r = tpm2_host_seal(t, secret32, 4, 0, &blob, err, sizeof(err));
	ck_assert_msg(r == VERR_NOTPM, "seal, swtpm gone: %d %s", r, err);

	/* Back on the same state: the same handle reconnects, and the blob
	 * (sealed before the restart) still opens. */
	ck_assert(unlink(tpm_a.sock) == 0 || errno == ENOENT);
	swtpm_spawn(&tpm_a);
	unseal_expect(t, &blob, secret32, sizeof(secret32));
	r = tpm2_host_manufacturer(t, m, err, sizeof(err));
	ck_assert_msg(r == 0, "manufacturer after restart: %d %s", r, err);
	tpm2_host_close(t);
	assert_clean(tpm_a.tcti);
	buf_free(&blob);
}
END_TEST

Suite *
tpm2_host_suite(void)
{
	Suite *s = suite_create("tpm2_host");
	TCase *tc;

	/* Without swtpm there is no TPM to test against. */
	if (!unit_have_tool("swtpm")) {
		unit_skip(s, "tpm2_host", "swtpm is not installed (scripts/install-deps.sh installs it)");
		return s;
	}
	/* ESYS logs every TPM error response at ERROR level, and these
	 * tests provoke many on purpose; TSS2_LOG set by the caller wins. */
	(void)setenv("TSS2_LOG", "all+none", 0);

	tc = tcase_create("swtpm");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, t_random);
	tcase_add_test(tc, t_manufacturer);
	tcase_add_test(tc, t_seal_roundtrip);
	tcase_add_test(tc, t_seal_pcr);
	tcase_add_test(tc, t_persistent_srk);
	tcase_add_test(tc, t_wrong_tpm);
	tcase_add_test(tc, t_malformed);
	tcase_add_test(tc, t_counter);
	tcase_add_test(tc, t_bus_encrypted);
	tcase_add_test(tc, t_master_sealed_file);
	tcase_add_test(tc, t_busy);
	tcase_add_test(tc, t_notpm);
	suite_add_tcase(s, tc);
	return s;
}
