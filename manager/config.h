/*
 * config.h - vtpm_managerd settings: built-in defaults, then the config
 * file, then the command line (which wins).  Owns nothing at run time.
 */
#ifndef VTPM_MANAGER_CONFIG_H
#define VTPM_MANAGER_CONFIG_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "util/log.h"

#define DEFAULT_CONFIG "/etc/vtpm-manager/vtpm_managerd.conf"
#define DEFAULT_STATE_DIR "/var/lib/vtpm-manager"
#define DEFAULT_RUN_DIR "/run/vtpm-manager"
#define DEFAULT_HOST_TPM "" /* probe /dev/tpmrm0, then /dev/tpm0 */
#define DEFAULT_ROLLBACK_INTERVAL 60
#define DEFAULT_COMMAND_TIMEOUT 120
/* Each vtpmd runs as uid vtpm_uid_base + (instance mod VTPM_UID_SPAN), a uid
 * of its own: one vtpmd cannot signal or ptrace another.  The default lies
 * above the ranges systemd hands out to users, dynamic users and
 * containers (0x70000000, see systemd's UIDS-GIDS.md); the uids never own a
 * file. */
#define DEFAULT_VTPM_UID_BASE 0x70000000u
#define VTPM_UID_SPAN 0x01000000u

struct config {
	char config_path[PATH_MAX];
	int config_explicit;
	char state_dir[PATH_MAX];
	char run_dir[PATH_MAX];
	char host_tpm[PATH_MAX + 16];
	char vtpmd_path[PATH_MAX];
	int backend_fifo;
	int backend_xen;          /* Xen PV backend (xenstore backend/vtpm) */
	int xen_autocreate;       /* create a TPM 2.0 for an unknown UUID a Xen device names */
	int foreground;
	enum log_level log_level;
	unsigned log_modules;
	gid_t socket_gid; /* (gid_t)-1: leave the daemon's group */
	unsigned max_conns_per_vtpm;
	unsigned max_connections; /* guest connections, all vTPMs; 0: a quarter of RLIMIT_NOFILE */
	char seal_pcrs[128];      /* "0,2,4,7", empty = none */
	char owner_auth[64];      /* random | well-known | hex:... (TPM 1.2) */
	char srk_auth[64];        /* well-known | hex:... (TPM 1.2) */
	unsigned rollback_interval; /* seconds between batched commits */
	unsigned command_timeout; /* seconds a vtpmd may spend in one TPM command */
	char vtpm_user[64];       /* its group is vtpmd's group (and the fallback uid) */
	uint32_t vtpm_uid_base;   /* vtpmd's uid: this + instance mod VTPM_UID_SPAN */
	int survive_restart;      /* vtpmds with a guest outlive a manager restart (adopt.c) */
	/* migration_key = keyfile:PATH (or none): the key shared by the hosts
	 * a vTPM migrates between; read once by config_load. */
	char migration_key_spec[PATH_MAX + 16];
	int has_migration_key;
	uint8_t migration_key[32];
	/* Provisioning (manager/provision.c, manager/recovery.c). */
	char ca_key[PATH_MAX];       /* operator's CA: PEM private key ... */
	char ca_cert[PATH_MAX];      /* ... and its certificate; else our own CA */
	char recovery_key[PATH_MAX]; /* public key the master key is also wrapped to */
	char recover_with[PATH_MAX]; /* --recover-with PRIVKEY.pem (command line only) */
};

/* Parses argv and the config file into c.  Returns 0, or 1 after printing
 * usage/version (caller exits 0), or -1 with a message in err. */
int config_load(struct config *c, int argc, char **argv, char *err, size_t errlen);
void config_usage(FILE *f);

#endif
