/*
 * prov.c - vtpmctl's provisioning commands:
 *
 *   vtpmctl ca
 *   vtpmctl ek UUID [--rsa|--ecc|--ecc384] [--cert]
 *   vtpmctl transport-key
 *   vtpmctl export UUID --to PUBKEY.pem [--delete-after] > FILE
 *   vtpmctl import [--from PUBKEY.pem] FILE
 *   vtpmctl import-swtpm --uuid UUID [--tpm-version 2|1.2]
 *           [--key FILE [--key-format hex|binary] | --pwdfile FILE
 *           [--cipher aes-128-cbc|aes-256-cbc]] DIR
 *
 * Reads the files the administrator names (bounded, no symlinks), and
 * for import-swtpm decodes swtpm's state files here (crypto/swtpm_state.c),
 * so a malformed file can only fail this command, never the daemon, which
 * then validates the libtpms blobs in a sandboxed vtpmd.  Trusts the
 * daemon's reply only as far as its framing.  Exit status as vtpmctl's:
 * 0 success, 1 refused (or a bad input file), 2 usage, 3 unreachable.
 */
#include "vtpmctl/prov.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "crypto/pkey.h"
#include "crypto/swtpm_state.h"
#include "crypto/transport.h"
#include "manager/ctl_proto.h"
#include "util/buf.h"
#include "vtpmctl/cli.h"
#include "util/chan.h"
#include "util/err.h"
#include "util/fileio.h"
#include "util/uuid.h"


int
vtpmctl_parse_banks(const char *s, uint8_t *mask)
{
	static const struct {
		const char *name;
		uint8_t bit;
	} banks[] = { { "sha1", 1 }, { "sha256", 2 }, { "sha384", 4 }, { "sha512", 8 } };
	const char *p = s;
	uint8_t m = 0;

	if (s == NULL || *s == '\0')
		return -1;
	while (*p != '\0') {
		size_t n = strcspn(p, ","), i;

		for (i = 0; i < sizeof(banks) / sizeof(banks[0]); i++)
			if (strlen(banks[i].name) == n && strncmp(p, banks[i].name, n) == 0)
				break;
		if (i == sizeof(banks) / sizeof(banks[0]))
			return -1;
		m |= banks[i].bit;
		p += n;
		if (*p == ',' && *++p == '\0')
			return -1;
	}
	*mask = m;
	return 0;
}

/* Reads a whole file of at most max bytes (no symlinks, regular files
 * only).  0, -ENOENT, -EFBIG, or another -errno: a system-call layer whose
 * caller branches on the errno (util/err.h); slurp_err says it. */
static int
slurp(const char *path, size_t max, struct buf *out)
{
	struct stat st;
	uint8_t *p;
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -errno;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if (st.st_size < 0 || (size_t)st.st_size > max) {
		close(fd);
		return -EFBIG;
	}
	if (buf_reserve(out, (size_t)st.st_size, &p) != 0) {
		close(fd);
		return -ENOMEM;
	}
	r = read_full(fd, p, (size_t)st.st_size);
	close(fd);
	return r;
}

static const char *
slurp_err(int r)
{
	switch (r) {
	case -EFBIG: return "too large";
	case -EINVAL: return "not a regular file";
	case -ELOOP: return "a symbolic link";
	default: return strerror(-r);
	}
}

/* What to do about a swtpm file or key that does not decode, where the
 * code alone (verr_str) does not say: the options are vtpmctl's. */
static const char *
swtpm_hint(int r)
{
	switch (r) {
	case VERR_NOKEY: return "; give swtpm's key with --key or --pwdfile";
	case VERR_BADKEY: return " (the file wants a key of the other length: 128 vs 256 bit)";
	default: return "";
	}
}

/* One request, one reply; prints the reply's data (if any) to out and its
 * record's UUID when print_uuid. */
static int
roundtrip(const char *run_dir, uint32_t type, const struct buf *req, FILE *out, int print_uuid,
	  struct buf *data_out, char *msgout, size_t msglen)
{
	struct sockaddr_un sa;
	struct chan ch;
	struct chan_msg msg;
	struct buf b;
	uint32_t status, count, dlen;
	uint16_t ml;
	char text[1025];
	int fd, n;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", run_dir, CTL_SOCKET_NAME);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path) ||
	    (fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0)
		return vtpmctl_die(EX_UNREACHABLE, "cannot reach vtpm_managerd in %s", run_dir);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return vtpmctl_die(EX_UNREACHABLE, "cannot reach vtpm_managerd in %s (is it running?)",
			   run_dir);
	}
	if (chan_init(&ch, fd) != 0) {
		close(fd);
		return vtpmctl_die(EX_UNREACHABLE, "%s", "out of memory");
	}
	if (req->len > CHAN_MAX_PAYLOAD) {
		chan_close(&ch);
		return vtpmctl_die(EX_REFUSED, "the request (%zu bytes) is larger than the control "
			   "socket's limit (%u bytes)", req->len, CHAN_MAX_PAYLOAD);
	}
	if (chan_send(fd, type, req->d, req->len, NULL, 0, -1) != 0 ||
	    chan_recv(&ch, &msg) != 0 || msg.type != CTL_REPLY) {
		chan_close(&ch);
		return vtpmctl_die(EX_UNREACHABLE, "no valid reply from vtpm_managerd in %s", run_dir);
	}
	if (msg.fd >= 0)
		close(msg.fd);
	buf_init_reader(&b, msg.data, msg.len);
	if (buf_get_u32(&b, &status) != 0 || buf_get_u16(&b, &ml) != 0 || ml > 1024 ||
	    buf_get_bytes(&b, text, ml) != 0 || buf_get_u32(&b, &count) != 0 || count > 1) {
		chan_close(&ch);
		return vtpmctl_die(EX_UNREACHABLE, "%s", "malformed reply from vtpm_managerd");
	}
	text[ml] = '\0';
	if (status != 0) {
		chan_close(&ch);
		return vtpmctl_die(EX_REFUSED, "%s", text);
	}
	if (msgout != NULL)
		snprintf(msgout, msglen, "%s", text);
	if (count == 1) {
		uint8_t uuid[UUID_LEN];
		char us[UUID_STR_LEN];
		uint16_t rl;

		/* uuid | instance | version | state | pid | owner uid, gid | reason */
		if (buf_get_bytes(&b, uuid, UUID_LEN) != 0 || buf_skip(&b, 4 + 1 + 1 + 4 + 8) != 0 ||
		    buf_get_u16(&b, &rl) != 0 || buf_skip(&b, rl) != 0) {
			chan_close(&ch);
			return vtpmctl_die(EX_UNREACHABLE, "%s", "malformed record from vtpm_managerd");
		}
		uuid_format(uuid, us);
		if (print_uuid)
			printf("%s\n", us);
	}
	if (buf_avail(&b) != 0) {
		const uint8_t *d;

		if (buf_get_u32(&b, &dlen) != 0 || buf_get_direct(&b, &d, dlen) != 0 ||
		    buf_avail(&b) != 0) {
			chan_close(&ch);
			return vtpmctl_die(EX_UNREACHABLE, "%s", "malformed data in the reply");
		}
		if (data_out != NULL && buf_put_bytes(data_out, d, dlen) != 0) {
			chan_close(&ch);
			return vtpmctl_die(EX_UNREACHABLE, "%s", "out of memory");
		}
		if (out != NULL && fwrite(d, 1, dlen, out) != dlen) {
			chan_close(&ch);
			return vtpmctl_die(EX_REFUSED, "cannot write the output: %s", strerror(errno));
		}
	}
	chan_close(&ch);
	return 0;
}

static int
cmd_simple(const char *run_dir, uint32_t type, int argc, char **argv, const char *name)
{
	struct buf req;
	int r;

	if (argc != 0)
		return vtpmctl_die(EX_USAGE, "%s takes no arguments", name);
	buf_init(&req, 16);
	r = roundtrip(run_dir, type, &req, stdout, 0, NULL, NULL, 0);
	buf_free(&req);
	return r;
}

static int
cmd_ek(const char *run_dir, int argc, char **argv)
{
	uint8_t uuid[UUID_LEN], kind = CTL_EK_DEFAULT, what = 0;
	const char *u = NULL;
	struct buf req;
	int r;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--rsa") == 0)
			kind = CTL_EK_RSA;
		else if (strcmp(argv[i], "--ecc") == 0)
			kind = CTL_EK_ECC;
		else if (strcmp(argv[i], "--ecc384") == 0)
			kind = CTL_EK_ECC384;
		else if (strcmp(argv[i], "--cert") == 0)
			what = 1;
		else if (argv[i][0] != '-' && u == NULL)
			u = argv[i];
		else
			return vtpmctl_die(EX_USAGE, "ek: unexpected argument '%s'", argv[i]);
	}
	if (u == NULL)
		return vtpmctl_die(EX_USAGE, "ek takes a UUID");
	if (uuid_parse(u, uuid) != 0)
		return vtpmctl_die(EX_USAGE, "'%s' is not a UUID", u);
	buf_init(&req, 32);
	if (buf_put_bytes(&req, uuid, UUID_LEN) != 0 || buf_put_u8(&req, kind) != 0 ||
	    buf_put_u8(&req, what) != 0)
		return vtpmctl_die(EX_UNREACHABLE, "out of memory");
	r = roundtrip(run_dir, CTL_EK, &req, stdout, 0, NULL, NULL, 0);
	buf_free(&req);
	return r;
}

static int
cmd_export(const char *run_dir, int argc, char **argv)
{
	const char *u = NULL, *to = NULL;
	uint8_t uuid[UUID_LEN];
	int del = 0, r;
	struct buf req, pem, data;
	struct stat st;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
			to = argv[++i];
		else if (strcmp(argv[i], "--delete-after") == 0)
			del = 1;
		else if (argv[i][0] != '-' && u == NULL)
			u = argv[i];
		else
			return vtpmctl_die(EX_USAGE, "export: unexpected argument '%s'", argv[i]);
	}
	if (u == NULL || to == NULL)
		return vtpmctl_die(EX_USAGE, "export takes a UUID and --to PUBKEY.pem");
	if (uuid_parse(u, uuid) != 0)
		return vtpmctl_die(EX_USAGE, "'%s' is not a UUID", u);
	if (isatty(STDOUT_FILENO))
		return vtpmctl_die(EX_USAGE, "export writes a binary file to standard output: redirect it "
			   "(vtpmctl export UUID --to KEY > FILE)");
	buf_init(&pem, PKEY_PEM_MAX);
	buf_init(&req, CHAN_MAX_PAYLOAD);
	buf_init(&data, CHAN_MAX_PAYLOAD);
	if ((r = slurp(to, PKEY_PEM_MAX, &pem)) != 0) {
		r = vtpmctl_die(EX_REFUSED, "--to %s: %s", to, slurp_err(r));
		goto out;
	}
	if (buf_put_bytes(&req, uuid, UUID_LEN) != 0 || buf_put_u8(&req, 0) != 0 ||
	    buf_put_bytes(&req, pem.d, pem.len) != 0) {
		r = vtpmctl_die(EX_UNREACHABLE, "out of memory");
		goto out;
	}
	if ((r = roundtrip(run_dir, CTL_EXPORT, &req, NULL, 0, &data, NULL, 0)) != 0)
		goto out;
	if (write_full(STDOUT_FILENO, data.d, data.len) != 0 ||
	    (fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode) && fsync(STDOUT_FILENO) != 0)) {
		r = vtpmctl_die(EX_REFUSED, "cannot write the export file: %s%s", strerror(errno),
			del ? " (the vTPM was not deleted)" : "");
		goto out;
	}
	if (del) {
		/* Only once the file is safely written. */
		buf_reset(&req);
		if (buf_put_bytes(&req, uuid, UUID_LEN) != 0) {
			r = vtpmctl_die(EX_UNREACHABLE, "out of memory");
			goto out;
		}
		if ((r = roundtrip(run_dir, CTL_DELETE, &req, NULL, 0, NULL, NULL, 0)) != 0)
			goto out;
		fprintf(stderr, "vtpmctl: exported and deleted %s\n", u);
	}
	r = 0;
out:
	buf_free(&pem);
	buf_free(&req);
	buf_free(&data);
	return r;
}

static int
cmd_import(const char *run_dir, int argc, char **argv)
{
	const char *from = NULL, *file = NULL;
	uint8_t fp[PKEY_FP_LEN] = { 0 };
	struct buf req, pem;
	EVP_PKEY *k;
	int r;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			from = argv[++i];
		else if (argv[i][0] != '-' && file == NULL)
			file = argv[i];
		else
			return vtpmctl_die(EX_USAGE, "import: unexpected argument '%s'", argv[i]);
	}
	if (file == NULL)
		return vtpmctl_die(EX_USAGE, "import takes the export FILE");
	buf_init(&pem, PKEY_PEM_MAX);
	buf_init(&req, CHAN_MAX_PAYLOAD);
	if (from != NULL) {
		if ((r = slurp(from, PKEY_PEM_MAX, &pem)) != 0) {
			r = vtpmctl_die(EX_REFUSED, "--from %s: %s", from, slurp_err(r));
			goto out;
		}
		if ((k = pkey_pub_from_pem(pem.d, pem.len)) == NULL || pkey_fingerprint(k, fp) != 0) {
			EVP_PKEY_free(k);
			r = vtpmctl_die(EX_REFUSED, "--from %s: not a PEM public key", from);
			goto out;
		}
		EVP_PKEY_free(k);
	}
	if (buf_put_u8(&req, from != NULL) != 0 || buf_put_bytes(&req, fp, sizeof(fp)) != 0) {
		r = vtpmctl_die(EX_UNREACHABLE, "out of memory");
		goto out;
	}
	r = slurp(file, CHAN_MAX_PAYLOAD - req.len, &req);
	if (r != 0) {
		r = vtpmctl_die(EX_REFUSED, "%s: %s", file, r == -EFBIG ? "larger than any export file "
			"the control socket carries" : slurp_err(r));
		goto out;
	}
	r = roundtrip(run_dir, CTL_IMPORT, &req, NULL, 1, NULL, NULL, 0);
out:
	buf_free(&pem);
	buf_free(&req);
	return r;
}

/* Refuses a directory a swtpm still holds (its fcntl lock on .lock). */
static int
swtpm_running(const char *dir, pid_t *pid)
{
	char path[PATH_MAX];
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd, busy = 0;

	if (snprintf(path, sizeof(path), "%s/.lock", dir) >= (int)sizeof(path))
		return 0;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return 0;
	if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK) {
		busy = 1;
		*pid = fl.l_pid;
	}
	close(fd);
	return busy;
}

static int
cmd_import_swtpm(const char *run_dir, int argc, char **argv)
{
	static const char *const names[3] = { "permall", "volatilestate", "savestate" };
	const char *u = NULL, *dir = NULL, *keyf = NULL, *pwf = NULL, *fmt = NULL, *ciph = NULL;
	uint8_t uuid[UUID_LEN], key[SWTPM_KEY_MAX], count = 0, *cnt;
	size_t keylen = 0, cipherlen = 32;
	int ver = 0, r, enc;
	struct buf req, file, blob;
	char path[PATH_MAX];
	pid_t pid;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--uuid") == 0 && i + 1 < argc)
			u = argv[++i];
		else if (strcmp(argv[i], "--tpm-version") == 0 && i + 1 < argc) {
			i++;
			if (strcmp(argv[i], "2") == 0 || strcmp(argv[i], "2.0") == 0)
				ver = 2;
			else if (strcmp(argv[i], "1.2") == 0)
				ver = 1;
			else
				return vtpmctl_die(EX_USAGE, "--tpm-version must be 2 or 1.2, not '%s'",
					   argv[i]);
		} else if (strcmp(argv[i], "--key") == 0 && i + 1 < argc)
			keyf = argv[++i];
		else if (strcmp(argv[i], "--key-format") == 0 && i + 1 < argc)
			fmt = argv[++i];
		else if (strcmp(argv[i], "--pwdfile") == 0 && i + 1 < argc)
			pwf = argv[++i];
		else if (strcmp(argv[i], "--cipher") == 0 && i + 1 < argc)
			ciph = argv[++i];
		else if (argv[i][0] != '-' && dir == NULL)
			dir = argv[i];
		else
			return vtpmctl_die(EX_USAGE, "import-swtpm: unexpected argument '%s'", argv[i]);
	}
	if (u == NULL || dir == NULL)
		return vtpmctl_die(EX_USAGE, "import-swtpm takes --uuid UUID and the swtpm state DIR");
	if (uuid_parse(u, uuid) != 0 || uuid_is_nil(uuid))
		return vtpmctl_die(EX_USAGE, "'%s' is not a UUID", u);
	if (keyf != NULL && pwf != NULL)
		return vtpmctl_die(EX_USAGE, "--key and --pwdfile exclude each other");
	if (fmt != NULL && (keyf == NULL || (strcmp(fmt, "hex") != 0 && strcmp(fmt, "binary") != 0)))
		return vtpmctl_die(EX_USAGE, "--key-format is hex or binary, with --key");
	if (ciph != NULL) {
		if (pwf == NULL)
			return vtpmctl_die(EX_USAGE, "--cipher goes with --pwdfile (a key file's length "
				   "says its cipher)");
		if (strcmp(ciph, "aes-128-cbc") == 0 || strcmp(ciph, "aes-cbc") == 0)
			cipherlen = 16;
		else if (strcmp(ciph, "aes-256-cbc") != 0)
			return vtpmctl_die(EX_USAGE, "--cipher must be aes-128-cbc or aes-256-cbc");
	}
	if (swtpm_running(dir, &pid))
		return vtpmctl_die(EX_REFUSED, "a swtpm (pid %d) still holds %s; shut it down first (its "
			   "state may change)", (int)pid, dir);
	if (ver == 0) {
		snprintf(path, sizeof(path), "%s/tpm2-00.permall", dir);
		if (access(path, F_OK) == 0)
			ver = 2;
		else {
			snprintf(path, sizeof(path), "%s/tpm-00.permall", dir);
			if (access(path, F_OK) != 0)
				return vtpmctl_die(EX_REFUSED, "%s holds neither tpm2-00.permall nor "
					   "tpm-00.permall: not a swtpm state directory", dir);
			ver = 1;
		}
	}
	buf_init(&req, CHAN_MAX_PAYLOAD);
	buf_init(&file, SWTPM_STATE_MAX);
	buf_init(&blob, SWTPM_STATE_MAX);
	if (keyf != NULL || pwf != NULL) {
		const char *kp = keyf != NULL ? keyf : pwf;

		if ((r = slurp(kp, 4096, &file)) != 0) {
			r = vtpmctl_die(EX_REFUSED, "%s %s: %s", keyf != NULL ? "--key" : "--pwdfile", kp,
				slurp_err(r));
			goto out;
		}
		if (keyf != NULL)
			r = swtpm_key_parse(file.d, file.len,
					    fmt == NULL ? SWTPM_KEY_AUTO :
					    strcmp(fmt, "hex") == 0 ? SWTPM_KEY_HEX : SWTPM_KEY_BINARY,
					    key, &keylen);
		else {
			r = swtpm_key_from_passphrase(file.d, file.len, cipherlen, key);
			keylen = cipherlen;
		}
		if (r != 0) {
			r = vtpmctl_die(EX_REFUSED, "%s %s: %s%s", keyf != NULL ? "--key" : "--pwdfile", kp,
				verr_str(r),
				r == VERR_FORMAT ? " (not 32 or 64 hex digits, nor 16 or 32 raw bytes)"
						 : "");
			goto out;
		}
		buf_reset(&file);
	}
	if (buf_put_bytes(&req, uuid, UUID_LEN) != 0 || buf_put_u8(&req, (uint8_t)ver) != 0 ||
	    buf_reserve(&req, 1, &cnt) != 0) {
		r = vtpmctl_die(EX_UNREACHABLE, "out of memory");
		goto out;
	}
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s-00.%s", dir, ver == 2 ? "tpm2" : "tpm",
			 names[i]);
		buf_reset(&file);
		buf_reset(&blob);
		r = slurp(path, SWTPM_STATE_MAX, &file);
		if (r == -ENOENT && i != 0)
			continue;
		if (r != 0) {
			r = vtpmctl_die(EX_REFUSED, "%s: %s", path, slurp_err(r));
			goto out;
		}
		r = swtpm_state_decode(file.d, file.len, keylen ? key : NULL, keylen, &blob, &enc);
		if (r != 0) {
			r = vtpmctl_die(EX_REFUSED, "%s: %s%s", path, verr_str(r), swtpm_hint(r));
			goto out;
		}
		if (keylen != 0 && !enc)
			fprintf(stderr, "vtpmctl: note: %s is not encrypted (the key was not "
				"needed)\n", path);
		if (blob.len > XFER_BLOB_MAX) {
			r = vtpmctl_die(EX_REFUSED, "%s: the TPM state inside is %zu bytes, more than "
				"libtpms' %u", path, blob.len, XFER_BLOB_MAX);
			goto out;
		}
		if (buf_put_u8(&req, (uint8_t)(i + 1)) != 0 ||
		    buf_put_u32(&req, (uint32_t)blob.len) != 0 ||
		    buf_put_bytes(&req, blob.d, blob.len) != 0) {
			r = vtpmctl_die(EX_REFUSED, "the state of %s is too large for one request", dir);
			goto out;
		}
		count++;
	}
	req.d[UUID_LEN + 1] = count;
	r = roundtrip(run_dir, CTL_IMPORT_SWTPM, &req, NULL, 1, NULL, NULL, 0);
out:
	OPENSSL_cleanse(key, sizeof(key));
	buf_free(&req);
	buf_free(&file);
	buf_free(&blob);
	return r;
}

int
vtpmctl_prov_is(const char *cmd)
{
	return strcmp(cmd, "ca") == 0 || strcmp(cmd, "ek") == 0 ||
	       strcmp(cmd, "transport-key") == 0 || strcmp(cmd, "export") == 0 ||
	       strcmp(cmd, "import") == 0 || strcmp(cmd, "import-swtpm") == 0;
}

int
vtpmctl_prov_main(const char *run_dir, const char *cmd, int argc, char **argv)
{
	if (strcmp(cmd, "ca") == 0)
		return cmd_simple(run_dir, CTL_CA, argc, argv, "ca");
	if (strcmp(cmd, "transport-key") == 0)
		return cmd_simple(run_dir, CTL_TRANSPORT_KEY, argc, argv, "transport-key");
	if (strcmp(cmd, "ek") == 0)
		return cmd_ek(run_dir, argc, argv);
	if (strcmp(cmd, "export") == 0)
		return cmd_export(run_dir, argc, argv);
	if (strcmp(cmd, "import") == 0)
		return cmd_import(run_dir, argc, argv);
	return cmd_import_swtpm(run_dir, argc, argv);
}
