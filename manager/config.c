/*
 * config.c - command line and config file parsing for vtpm_managerd.
 * Trusts the administrator (root) who wrote the file, but still reports
 * every unknown key or bad value with its line number instead of guessing.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "util/fileio.h"

#define KEYFILE_PREFIX "keyfile:"

#define OPT_CONFIG 'c'
#define OPT_STATE 's'
#define OPT_RUN 'r'
#define OPT_HOSTTPM 't'
#define OPT_BACKEND 'b'
#define OPT_MODULES 'm'
#define OPT_LEVEL 'l'
#define OPT_FG 'f'
#define OPT_HELP 'h'
#define OPT_VTPMD 1000
#define OPT_GROUP 1001
#define OPT_PCRS 1002
#define OPT_OWNER 1003
#define OPT_SRK 1004
#define OPT_INTERVAL 1005
#define OPT_USER 1006
#define OPT_MIGKEY 1007
#define OPT_CMDTIMEOUT 1008
#define OPT_MAXCONN 1009
#define OPT_UIDBASE 1010
#define OPT_SURVIVE 1011
#define OPT_CAKEY 1012
#define OPT_CACERT 1013
#define OPT_RECKEY 1014
#define OPT_RECOVER 1015
#define OPT_XENAUTO 1016

void
config_usage(FILE *f)
{
	fprintf(f,
		"usage: vtpm_managerd [--foreground] [--config FILE] [--state-dir DIR]\n"
		"                     [--run-dir DIR] [--host-tpm SPEC] [--backend fifo|xen|fifo,xen]\n"
		"                     [--log-modules MASK] [--log-level error|warn|info|debug]\n"
		"                     [--vtpmd PATH] [--socket-group GROUP] [--seal-pcrs LIST]\n"
		"                     [--owner-auth random|well-known|hex:HEX] [--srk-auth well-known|hex:HEX]\n"
		"                     [--rollback-interval SECONDS] [--vtpm-user USER]\n"
		"                     [--migration-key keyfile:PATH|none] [--command-timeout SECONDS]\n"
		"                     [--max-connections N] [--vtpm-uid-base UID]\n"
		"                     [--survive-restart yes|no]\n"
		"                     [--ca-key PEM --ca-cert PEM] [--recovery-key PUBKEY.pem]\n"
		"                     [--recover-with PRIVKEY.pem]\n"
		"                     [--xen-autocreate yes|no]\n"
		"  SPEC: device:/dev/tpmrm0 | device:/dev/tpm0 | swtpm:path=SOCKET |\n"
		"        swtpm:host=H,port=P | keyfile:PATH   (default: probe /dev/tpmrm0, /dev/tpm0)\n"
		"  --migration-key: 32-byte key file (root's, mode 0600) shared by the hosts vTPMs\n"
		"        migrate between; without it state blobs load back on this host only\n"
		"  --survive-restart: vTPMs with a guest attached keep running across a restart\n"
		"        of the manager and are adopted by the next one (default yes)\n"
		"  defaults: --config %s --state-dir %s --run-dir %s\n",
		DEFAULT_CONFIG, DEFAULT_STATE_DIR, DEFAULT_RUN_DIR);
}

static int
copy_str(char *dst, size_t dstlen, const char *src, const char *what, char *err, size_t errlen)
{
	if (*src == '\0') {
		snprintf(err, errlen, "%s must not be empty", what);
		return -1;
	}
	if (strlen(src) >= dstlen) {
		snprintf(err, errlen, "%s is too long", what);
		return -1;
	}
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

static int
parse_modules(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno != 0 || *s == '\0' || *end != '\0' || v > 0xff)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int
parse_group(const char *s, gid_t *out)
{
	struct group *g;
	char *end;
	unsigned long v;

	if ((g = getgrnam(s)) != NULL) {
		*out = g->gr_gid;
		return 0;
	}
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v >= (unsigned long)(gid_t)-1)
		return -1;
	*out = (gid_t)v;
	return 0;
}

/* Applies one setting by name; shared by the file and the command line. */
static int
apply(struct config *c, const char *key, const char *val, char *err, size_t errlen)
{
	if (strcmp(key, "state_dir") == 0)
		return copy_str(c->state_dir, sizeof(c->state_dir), val, key, err, errlen);
	if (strcmp(key, "run_dir") == 0)
		return copy_str(c->run_dir, sizeof(c->run_dir), val, key, err, errlen);
	if (strcmp(key, "host_tpm") == 0) {
		if (strlen(val) >= sizeof(c->host_tpm)) {
			snprintf(err, errlen, "host_tpm is too long");
			return -1;
		}
		memcpy(c->host_tpm, val, strlen(val) + 1); /* empty = probe */
		return 0;
	}
	if (strcmp(key, "vtpmd") == 0)
		return copy_str(c->vtpmd_path, sizeof(c->vtpmd_path), val, key, err, errlen);
	if (strcmp(key, "backend") == 0) {
		/* A comma-separated list: fifo, xen; none (or socket) for
		 * neither.  The per-vTPM sockets are always served. */
		char list[64], *tok, *save = NULL;

		if (strlen(val) >= sizeof(list)) {
			snprintf(err, errlen, "backend: '%s' is too long", val);
			return -1;
		}
		memcpy(list, val, strlen(val) + 1);
		c->backend_fifo = c->backend_xen = 0;
		for (tok = strtok_r(list, ",", &save); tok != NULL;
		     tok = strtok_r(NULL, ",", &save)) {
			if (strcmp(tok, "fifo") == 0) {
				c->backend_fifo = 1;
			} else if (strcmp(tok, "xen") == 0) {
				c->backend_xen = 1;
			} else if (strcmp(tok, "none") != 0 && strcmp(tok, "socket") != 0) {
				snprintf(err, errlen, "backend: unknown value '%s' (expected fifo, "
					 "xen, fifo,xen or none)", tok);
				return -1;
			}
		}
		return 0;
	}
	if (strcmp(key, "log_level") == 0) {
		if (log_parse_level(val, &c->log_level) != 0) {
			snprintf(err, errlen, "log_level: '%s' is not error, warn, info or debug", val);
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "log_modules") == 0) {
		if (parse_modules(val, &c->log_modules) != 0) {
			snprintf(err, errlen, "log_modules: '%s' is not a number 0..0xff", val);
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "socket_group") == 0) {
		if (parse_group(val, &c->socket_gid) != 0) {
			snprintf(err, errlen, "socket_group: no group '%s'", val);
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "seal_pcrs") == 0) {
		if (strlen(val) >= sizeof(c->seal_pcrs)) {
			snprintf(err, errlen, "seal_pcrs is too long");
			return -1;
		}
		memcpy(c->seal_pcrs, val, strlen(val) + 1);
		return 0;
	}
	if (strcmp(key, "vtpm_user") == 0)
		return copy_str(c->vtpm_user, sizeof(c->vtpm_user), val, key, err, errlen);
	if (strcmp(key, "owner_auth") == 0)
		return copy_str(c->owner_auth, sizeof(c->owner_auth), val, key, err, errlen);
	if (strcmp(key, "srk_auth") == 0)
		return copy_str(c->srk_auth, sizeof(c->srk_auth), val, key, err, errlen);
	if (strcmp(key, "rollback_interval") == 0) {
		char *end;
		unsigned long v;
		errno = 0;
		v = strtoul(val, &end, 10);
		if (errno != 0 || *val == '\0' || *end != '\0' || v < 1 || v > 86400) {
			snprintf(err, errlen, "rollback_interval: '%s' is not 1..86400 seconds", val);
			return -1;
		}
		c->rollback_interval = (unsigned)v;
		return 0;
	}
	if (strcmp(key, "command_timeout") == 0) {
		char *end;
		unsigned long v;
		errno = 0;
		v = strtoul(val, &end, 10);
		if (errno != 0 || *val == '\0' || *end != '\0' || v < 1 || v > 86400) {
			snprintf(err, errlen, "command_timeout: '%s' is not 1..86400 seconds", val);
			return -1;
		}
		c->command_timeout = (unsigned)v;
		return 0;
	}
	if (strcmp(key, "vtpm_uid_base") == 0) {
		char *end;
		unsigned long v;
		errno = 0;
		v = strtoul(val, &end, 10);
		if (errno != 0 || *val == '\0' || *end != '\0' || v < 65536 ||
		    v > 0xffffffffu - VTPM_UID_SPAN - 1) {
			snprintf(err, errlen, "vtpm_uid_base: '%s' is not a uid from 65536 to %u", val,
				 0xffffffffu - VTPM_UID_SPAN - 1);
			return -1;
		}
		c->vtpm_uid_base = (uint32_t)v;
		return 0;
	}
	if (strcmp(key, "survive_restart") == 0) {
		if (strcmp(val, "yes") == 0) {
			c->survive_restart = 1;
		} else if (strcmp(val, "no") == 0) {
			c->survive_restart = 0;
		} else {
			snprintf(err, errlen, "survive_restart: '%s' is not yes or no", val);
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "max_connections") == 0) {
		char *end;
		unsigned long v;
		errno = 0;
		v = strtoul(val, &end, 10);
		if (errno != 0 || *val == '\0' || *end != '\0' || v < 1 || v > 1000000) {
			snprintf(err, errlen, "max_connections: '%s' is not 1..1000000", val);
			return -1;
		}
		c->max_connections = (unsigned)v;
		return 0;
	}
	if (strcmp(key, "migration_key") == 0) {
		if (strcmp(val, "none") == 0 || *val == '\0') {
			c->migration_key_spec[0] = '\0';
			return 0;
		}
		if (strncmp(val, KEYFILE_PREFIX, strlen(KEYFILE_PREFIX)) != 0 ||
		    val[strlen(KEYFILE_PREFIX)] == '\0') {
			snprintf(err, errlen, "migration_key: '%s' is not keyfile:PATH or none", val);
			return -1;
		}
		return copy_str(c->migration_key_spec, sizeof(c->migration_key_spec), val, key,
				err, errlen);
	}
	if (strcmp(key, "ca_key") == 0)
		return copy_str(c->ca_key, sizeof(c->ca_key), val, key, err, errlen);
	if (strcmp(key, "ca_cert") == 0)
		return copy_str(c->ca_cert, sizeof(c->ca_cert), val, key, err, errlen);
	if (strcmp(key, "recovery_key") == 0) {
		if (strcmp(val, "none") == 0 || *val == '\0') {
			c->recovery_key[0] = '\0';
			return 0;
		}
		return copy_str(c->recovery_key, sizeof(c->recovery_key), val, key, err, errlen);
	}
	if (strcmp(key, "xen_autocreate") == 0) {
		/* Off by default: a typo in an xl config would otherwise
		 * create an empty vTPM instead of failing loudly. */
		if (strcmp(val, "yes") == 0) {
			c->xen_autocreate = 1;
		} else if (strcmp(val, "no") == 0) {
			c->xen_autocreate = 0;
		} else {
			snprintf(err, errlen, "xen_autocreate: '%s' is not yes or no", val);
			return -1;
		}
		return 0;
	}
	snprintf(err, errlen, "unknown setting '%s'", key);
	return -1;
}

/*
 * Reads the migration key named by migration_key_spec: a regular file of
 * exactly 32 bytes that only its owner may read (as the keyfile host TPM).
 * Unlike that one it is never created here: the hosts must share it.
 */
static int
load_migration_key(struct config *c, char *err, size_t errlen)
{
	const char *path = c->migration_key_spec + strlen(KEYFILE_PREFIX);
	struct stat st;
	int fd, r;

	c->has_migration_key = 0;
	if (c->migration_key_spec[0] == '\0')
		return 0;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "migration_key: cannot open %s: %s", path,
			 errno == ELOOP ? "it is a symbolic link" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "migration_key: %s is not a regular file", path);
		close(fd);
		return -1;
	}
	if (st.st_size != (off_t)sizeof(c->migration_key)) {
		snprintf(err, errlen, "migration_key: %s must hold exactly %zu bytes (has %lld)",
			 path, sizeof(c->migration_key), (long long)st.st_size);
		close(fd);
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errlen, "migration_key: %s is readable by group or others (mode %o); "
			 "chmod 600 it", path, (unsigned)(st.st_mode & 07777));
		close(fd);
		return -1;
	}
	/* Whoever owns the file can change it (or its mode) at will. */
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "migration_key: %s is owned by uid %u; it must be owned by uid "
			 "%u (chown it)", path, (unsigned)st.st_uid, (unsigned)geteuid());
		close(fd);
		return -1;
	}
	r = read_full(fd, c->migration_key, sizeof(c->migration_key));
	close(fd);
	if (r != 0) {
		OPENSSL_cleanse(c->migration_key, sizeof(c->migration_key));
		snprintf(err, errlen, "migration_key: cannot read %s: %s", path,
			 r == -EPIPE ? "file shrank while reading" : strerror(-r));
		return -1;
	}
	c->has_migration_key = 1;
	return 0;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int
load_file(struct config *c, char *err, size_t errlen)
{
	char line[PATH_MAX + 64], msg[256];
	FILE *f;
	int lineno = 0;

	if ((f = fopen(c->config_path, "re")) == NULL) {
		if (errno == ENOENT && !c->config_explicit)
			return 0; /* the default file is optional */
		snprintf(err, errlen, "cannot open config %s: %s", c->config_path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p, *eq;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, errlen, "%s:%d: line too long", c->config_path, lineno);
			fclose(f);
			return -1;
		}
		if ((p = strchr(line, '#')) != NULL)
			*p = '\0';
		p = trim(line);
		if (*p == '\0')
			continue;
		if ((eq = strchr(p, '=')) == NULL) {
			snprintf(err, errlen, "%s:%d: expected key = value", c->config_path, lineno);
			fclose(f);
			return -1;
		}
		*eq = '\0';
		if (apply(c, trim(p), trim(eq + 1), msg, sizeof(msg)) != 0) {
			snprintf(err, errlen, "%s:%d: %s", c->config_path, lineno, msg);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

int
config_load(struct config *c, int argc, char **argv, char *err, size_t errlen)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "state-dir", required_argument, NULL, OPT_STATE },
		{ "run-dir", required_argument, NULL, OPT_RUN },
		{ "host-tpm", required_argument, NULL, OPT_HOSTTPM },
		{ "backend", required_argument, NULL, OPT_BACKEND },
		{ "log-modules", required_argument, NULL, OPT_MODULES },
		{ "log-level", required_argument, NULL, OPT_LEVEL },
		{ "foreground", no_argument, NULL, OPT_FG },
		{ "vtpmd", required_argument, NULL, OPT_VTPMD },
		{ "socket-group", required_argument, NULL, OPT_GROUP },
		{ "seal-pcrs", required_argument, NULL, OPT_PCRS },
		{ "owner-auth", required_argument, NULL, OPT_OWNER },
		{ "srk-auth", required_argument, NULL, OPT_SRK },
		{ "rollback-interval", required_argument, NULL, OPT_INTERVAL },
		{ "vtpm-user", required_argument, NULL, OPT_USER },
		{ "migration-key", required_argument, NULL, OPT_MIGKEY },
		{ "command-timeout", required_argument, NULL, OPT_CMDTIMEOUT },
		{ "max-connections", required_argument, NULL, OPT_MAXCONN },
		{ "vtpm-uid-base", required_argument, NULL, OPT_UIDBASE },
		{ "survive-restart", required_argument, NULL, OPT_SURVIVE },
		{ "ca-key", required_argument, NULL, OPT_CAKEY },
		{ "ca-cert", required_argument, NULL, OPT_CACERT },
		{ "recovery-key", required_argument, NULL, OPT_RECKEY },
		{ "recover-with", required_argument, NULL, OPT_RECOVER },
		{ "xen-autocreate", required_argument, NULL, OPT_XENAUTO },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	/* Command-line values, applied after the file so that they win. */
	const char *cl_key[32], *cl_val[32];
	int ncl = 0, ch;

	memset(c, 0, sizeof(*c));
	snprintf(c->config_path, sizeof(c->config_path), "%s", DEFAULT_CONFIG);
	snprintf(c->state_dir, sizeof(c->state_dir), "%s", DEFAULT_STATE_DIR);
	snprintf(c->run_dir, sizeof(c->run_dir), "%s", DEFAULT_RUN_DIR);
	snprintf(c->host_tpm, sizeof(c->host_tpm), "%s", DEFAULT_HOST_TPM);
	c->log_level = LOG_LVL_INFO;
	c->log_modules = LOGGING_MODULES;
	c->socket_gid = (gid_t)-1;
	c->max_conns_per_vtpm = 64;
	c->rollback_interval = DEFAULT_ROLLBACK_INTERVAL;
	c->command_timeout = DEFAULT_COMMAND_TIMEOUT;
	snprintf(c->owner_auth, sizeof(c->owner_auth), "random");
	snprintf(c->srk_auth, sizeof(c->srk_auth), "well-known");
	snprintf(c->vtpm_user, sizeof(c->vtpm_user), "vtpm");
	c->vtpm_uid_base = DEFAULT_VTPM_UID_BASE;
	c->survive_restart = 1;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":fh", longopts, NULL)) != -1) {
		const char *key = NULL;

		switch (ch) {
		case OPT_CONFIG:
			if (copy_str(c->config_path, sizeof(c->config_path), optarg, "--config", err,
				     errlen) != 0)
				return -1;
			c->config_explicit = 1;
			continue;
		case OPT_FG:
			c->foreground = 1;
			continue;
		case OPT_RECOVER:
			/* Command line only: left in a config file it would
			 * re-run the recovery (and make a new counter) at
			 * every start. */
			if (copy_str(c->recover_with, sizeof(c->recover_with), optarg,
				     "--recover-with", err, errlen) != 0)
				return -1;
			continue;
		case OPT_HELP:
			config_usage(stdout);
			return 1;
		case OPT_STATE: key = "state_dir"; break;
		case OPT_RUN: key = "run_dir"; break;
		case OPT_HOSTTPM: key = "host_tpm"; break;
		case OPT_BACKEND: key = "backend"; break;
		case OPT_MODULES: key = "log_modules"; break;
		case OPT_LEVEL: key = "log_level"; break;
		case OPT_VTPMD: key = "vtpmd"; break;
		case OPT_GROUP: key = "socket_group"; break;
		case OPT_PCRS: key = "seal_pcrs"; break;
		case OPT_OWNER: key = "owner_auth"; break;
		case OPT_SRK: key = "srk_auth"; break;
		case OPT_INTERVAL: key = "rollback_interval"; break;
		case OPT_MIGKEY: key = "migration_key"; break;
		case OPT_CMDTIMEOUT: key = "command_timeout"; break;
		case OPT_MAXCONN: key = "max_connections"; break;
		case OPT_UIDBASE: key = "vtpm_uid_base"; break;
		case OPT_SURVIVE: key = "survive_restart"; break;
		case OPT_USER: key = "vtpm_user"; break;
		case OPT_CAKEY: key = "ca_key"; break;
		case OPT_CACERT: key = "ca_cert"; break;
		case OPT_RECKEY: key = "recovery_key"; break;
		case OPT_XENAUTO: key = "xen_autocreate"; break;
		case ':':
			snprintf(err, errlen, "option %s needs a value", argv[optind - 1]);
			return -1;
		default:
			snprintf(err, errlen, "unknown option %s (see --help)", argv[optind - 1]);
			return -1;
		}
		if (ncl == (int)(sizeof(cl_key) / sizeof(cl_key[0]))) {
			snprintf(err, errlen, "too many options");
			return -1;
		}
		cl_key[ncl] = key;
		cl_val[ncl++] = optarg;
	}
	if (optind != argc) {
		snprintf(err, errlen, "unexpected argument '%s' (see --help)", argv[optind]);
		return -1;
	}
	if (load_file(c, err, errlen) != 0)
		return -1;
	for (int i = 0; i < ncl; i++) {
		char msg[256];

		if (apply(c, cl_key[i], cl_val[i], msg, sizeof(msg)) != 0) {
			snprintf(err, errlen, "--%s", msg);
			for (char *p = err + 2; *p != '\0' && *p != ':' && *p != ' '; p++)
				if (*p == '_')
					*p = '-';
			return -1;
		}
	}
	if ((c->ca_key[0] != '\0') != (c->ca_cert[0] != '\0')) {
		snprintf(err, errlen, "ca_key and ca_cert go together (the operator's CA key and "
			 "its certificate)");
		return -1;
	}
	return load_migration_key(c, err, errlen);
}
