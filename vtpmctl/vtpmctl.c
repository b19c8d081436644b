/*
 * vtpmctl.c - command-line client of vtpm_managerd's control socket.
 *
 *   vtpmctl [--run-dir DIR] create [--uuid UUID] [--tpm-version 2|1.2]
 *                                  [--owner USER[:GROUP]]
 *                                  [--no-ek-cert] [--pcr-banks LIST]
 *   vtpmctl [--run-dir DIR] list [--json]
 *   vtpmctl [--run-dir DIR] show UUID
 *   vtpmctl [--run-dir DIR] stop UUID
 *   vtpmctl [--run-dir DIR] delete UUID [--force]
 *   vtpmctl [--run-dir DIR] set-owner UUID USER[:GROUP]|none
 *   vtpmctl [--run-dir DIR] status
 *   vtpmctl [--run-dir DIR] ca | ek | transport-key | export | import |
 *                           import-swtpm ...   (vtpmctl/prov.c)
 *
 * Trusts the daemon only as far as the reply's framing: every field is read
 * through util/buf.h and a malformed reply is an error, not a crash.
 * Exit status: 0 success, 1 the daemon refused, 2 usage, 3 cannot reach it.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "manager/config.h"
#include "manager/ctl_proto.h"
#include "vtpmctl/prov.h"
#include "util/buf.h"
#include "vtpmctl/cli.h"
#include "util/chan.h"
#include "util/uuid.h"


struct rec {
	uint8_t uuid[UUID_LEN];
	uint32_t instance;
	uint8_t version, state;
	uint32_t pid;
	uint32_t owner_uid, owner_gid;
	char reason[CTL_MAX_REASON + 1];
};

static void
usage(void)
{
	fprintf(stderr,
		"usage: vtpmctl [--run-dir DIR] create [--uuid UUID] [--tpm-version 2|1.2]\n"
		"                                     [--owner USER[:GROUP]]\n"
		"                                     [--no-ek-cert] [--pcr-banks sha256[,sha384,...]]\n"
		"       vtpmctl [--run-dir DIR] list [--json]\n"
		"       vtpmctl [--run-dir DIR] show|stop UUID\n"
		"       vtpmctl [--run-dir DIR] delete UUID [--force]\n"
		"       vtpmctl [--run-dir DIR] set-owner UUID USER[:GROUP]|none\n"
		"       vtpmctl [--run-dir DIR] status\n"
		"       vtpmctl [--run-dir DIR] ca\n"
		"       vtpmctl [--run-dir DIR] ek UUID [--rsa|--ecc|--ecc384] [--cert]\n"
		"       vtpmctl [--run-dir DIR] transport-key\n"
		"       vtpmctl [--run-dir DIR] export UUID --to PUBKEY.pem [--delete-after] > FILE\n"
		"       vtpmctl [--run-dir DIR] import [--from PUBKEY.pem] FILE\n"
		"       vtpmctl [--run-dir DIR] import-swtpm --uuid UUID [--tpm-version 2|1.2]\n"
		"                  [--key FILE [--key-format hex|binary] | --pwdfile FILE\n"
		"                  [--cipher aes-128-cbc|aes-256-cbc]] DIR\n");
}

static int
connect_ctl(const char *run_dir)
{
	struct sockaddr_un sa;
	int fd, n;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", run_dir, CTL_SOCKET_NAME);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int
get_rec(struct buf *b, struct rec *r)
{
	uint16_t rl;

	if (buf_get_bytes(b, r->uuid, UUID_LEN) != 0 || buf_get_u32(b, &r->instance) != 0 ||
	    buf_get_u8(b, &r->version) != 0 || buf_get_u8(b, &r->state) != 0 ||
	    buf_get_u32(b, &r->pid) != 0 || buf_get_u32(b, &r->owner_uid) != 0 ||
	    buf_get_u32(b, &r->owner_gid) != 0 || buf_get_u16(b, &rl) != 0 ||
	    rl > CTL_MAX_REASON || buf_get_bytes(b, r->reason, rl) != 0)
		return -1;
	r->reason[rl] = '\0';
	return 0;
}

static const char *
state_name(uint8_t s)
{
	switch (s) {
	case CTL_ST_STARTING: return "starting";
	case CTL_ST_RUNNING: return "running";
	case CTL_ST_FAILED: return "failed";
	case CTL_ST_DEGRADED: return "degraded";
	default: return "stopped";
	}
}

static void
json_str(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

/* "user:group", "user" or "" (no owner), names where they resolve. */
static void
owner_str(uint32_t uid, uint32_t gid, char *out, size_t outlen)
{
	struct passwd *pw;
	struct group *gr;
	char u[64], g[64];

	if (uid == CTL_NO_OWNER) {
		out[0] = '\0';
		return;
	}
	if ((pw = getpwuid((uid_t)uid)) != NULL)
		snprintf(u, sizeof(u), "%s", pw->pw_name);
	else
		snprintf(u, sizeof(u), "%u", uid);
	if (gid == CTL_NO_OWNER) {
		snprintf(out, outlen, "%s", u);
		return;
	}
	if ((gr = getgrgid((gid_t)gid)) != NULL)
		snprintf(g, sizeof(g), "%s", gr->gr_name);
	else
		snprintf(g, sizeof(g), "%u", gid);
	snprintf(out, outlen, "%s:%s", u, g);
}

/* A number, or -1. */
static long
num_id(const char *s)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	return errno != 0 || *end != '\0' || v >= CTL_NO_OWNER ? -1 : (long)v;
}

/* USER[:GROUP] (names or numbers), or "none" when allow_none.  0, or an
 * exit code after a message. */
static int
parse_owner(const char *arg, int allow_none, uint32_t *uid, uint32_t *gid)
{
	char user[256];
	const char *colon = strchr(arg, ':');
	struct passwd *pw;
	struct group *gr;
	size_t ul = colon != NULL ? (size_t)(colon - arg) : strlen(arg);
	long n;

	if (allow_none && strcmp(arg, "none") == 0) {
		*uid = *gid = CTL_NO_OWNER;
		return 0;
	}
	if (ul == 0 || ul >= sizeof(user))
		return vtpmctl_die(EX_USAGE, "'%s' is not USER or USER:GROUP", arg);
	memcpy(user, arg, ul);
	user[ul] = '\0';
	if ((pw = getpwnam(user)) != NULL)
		*uid = (uint32_t)pw->pw_uid;
	else if ((n = num_id(user)) >= 0)
		*uid = (uint32_t)n;
	else
		return vtpmctl_die(EX_USAGE, "no user '%s' on this host", user);
	*gid = CTL_NO_OWNER;
	if (colon == NULL)
		return 0;
	if (colon[1] == '\0')
		return vtpmctl_die(EX_USAGE, "'%s': empty group after ':'", arg);
	if ((gr = getgrnam(colon + 1)) != NULL)
		*gid = (uint32_t)gr->gr_gid;
	else if ((n = num_id(colon + 1)) >= 0)
		*gid = (uint32_t)n;
	else
		return vtpmctl_die(EX_USAGE, "no group '%s' on this host", colon + 1);
	return 0;
}

static void
print_rec(const struct rec *r, const char *run_dir, int verbose)
{
	char us[UUID_STR_LEN], own[160];

	uuid_format(r->uuid, us);
	if (!verbose) {
		printf("%-36s  %8u  %-7s  %-8s  %7u\n", us, r->instance,
		       r->version == 1 ? "1.2" : "2.0", state_name(r->state), r->pid);
		return;
	}
	printf("uuid:        %s\n", us);
	printf("instance:    %u\n", r->instance);
	printf("tpm-version: %s\n", r->version == 1 ? "1.2" : "2.0");
	printf("state:       %s\n", state_name(r->state));
	owner_str(r->owner_uid, r->owner_gid, own, sizeof(own));
	printf("owner:       %s\n", own[0] ? own : "none (socket_group)");
	if (r->pid != 0)
		printf("vtpmd-pid:   %u\n", r->pid);
	if (r->reason[0] != '\0')
		printf("reason:      %s\n", r->reason);
	printf("socket:      %s/%s.sock\n", run_dir, us);
	printf("control:     %s/%s.sock.ctrl\n", run_dir, us);
}

/* One request, one reply; the reply's header is checked and read into
 * status/text/count, b left at the first record.  0, or an exit code. */
static int
transact(struct chan *ch, const char *run_dir, int type, const uint8_t *req, size_t reqlen,
	 struct chan_msg *msg, struct buf *b, uint32_t *status, char text[1025], uint32_t *count)
{
	uint16_t ml;

	if (chan_send(ch->fd, (uint32_t)type, req, reqlen, NULL, 0, -1) != 0 ||
	    chan_recv(ch, msg) != 0 || msg->type != CTL_REPLY)
		return vtpmctl_die(EX_UNREACHABLE, "no valid reply from vtpm_managerd in %s", run_dir);
	if (msg->fd >= 0)
		close(msg->fd);
	buf_init_reader(b, msg->data, msg->len);
	if (buf_get_u32(b, status) != 0 || buf_get_u16(b, &ml) != 0 || ml > 1024 ||
	    buf_get_bytes(b, text, ml) != 0 || buf_get_u32(b, count) != 0)
		return vtpmctl_die(EX_UNREACHABLE, "%s", "malformed reply from vtpm_managerd");
	text[ml] = '\0';
	return 0;
}

static void
print_json_rec(const struct rec *r, int first)
{
	char us[UUID_STR_LEN], own[160];

	uuid_format(r->uuid, us);
	owner_str(r->owner_uid, r->owner_gid, own, sizeof(own));
	printf("%s{\"uuid\":\"%s\",\"instance\":%u,\"tpm_version\":\"%s\","
	       "\"state\":\"%s\",\"pid\":%u,\"owner\":",
	       first ? "" : ",", us, r->instance, r->version == 1 ? "1.2" : "2.0",
	       state_name(r->state), r->pid);
	json_str(own);
	printf(",\"reason\":");
	json_str(r->reason);
	printf("}");
}

/* vtpmctl list: page after page (the daemon sends what fits in one
 * message), printed as it arrives. */
static int
do_list(struct chan *ch, const char *run_dir, int json)
{
	struct chan_msg msg;
	struct buf b;
	uint32_t status, count, after = 0, total = 0;
	uint8_t req[4], more = 1;
	char text[1025];
	int r;

	if (json)
		printf("[");
	while (more) {
		be32_put(req, after);
		if ((r = transact(ch, run_dir, CTL_LIST, req, sizeof(req), &msg, &b, &status, text,
				  &count)) != 0)
			return r;
		if (status != 0)
			return vtpmctl_die(EX_REFUSED, "%s", text);
		for (uint32_t k = 0; k < count; k++) {
			struct rec rec;

			if (get_rec(&b, &rec) != 0 || (total > 0 && rec.instance <= after))
				return vtpmctl_die(EX_UNREACHABLE, "%s",
					   "malformed record from vtpm_managerd");
			if (json)
				print_json_rec(&rec, total == 0);
			else {
				if (total == 0)
					printf("%-36s  %8s  %-7s  %-8s  %7s\n", "UUID", "INSTANCE",
					       "VERSION", "STATE", "PID");
				print_rec(&rec, run_dir, 0);
			}
			after = rec.instance;
			total++;
		}
		if (buf_get_u8(&b, &more) != 0 || more > 1 || buf_avail(&b) != 0 ||
		    (more && count == 0))
			return vtpmctl_die(EX_UNREACHABLE, "%s", "malformed list reply from vtpm_managerd");
	}
	if (json)
		printf("]\n");
	return 0;
}

int
main(int argc, char **argv)
{
	const char *run_dir = DEFAULT_RUN_DIR, *cmd, *uuid_arg = NULL;
	uint8_t req[32], uuid[UUID_LEN], cflags = 0, banks = 0;
	int json = 0, i = 1, fd, type, version = 2, force = 0, r;
	uint32_t owner_uid = CTL_NO_OWNER, owner_gid = CTL_NO_OWNER;
	size_t reqlen = 0;
	struct chan ch;
	struct chan_msg msg;
	struct buf b;
	uint32_t status, count;
	char text[1025];

	while (i < argc && strncmp(argv[i], "--", 2) == 0) {
		if (strcmp(argv[i], "--run-dir") == 0 && i + 1 < argc) {
			run_dir = argv[i + 1];
			i += 2;
		} else if (strncmp(argv[i], "--run-dir=", 10) == 0) {
			run_dir = argv[i] + 10;
			i++;
		} else if (strcmp(argv[i], "--help") == 0) {
			usage();
			return 0;
		} else {
			return vtpmctl_die(EX_USAGE, "unknown option %s (see vtpmctl --help)", argv[i]);
		}
	}
	if (i >= argc) {
		usage();
		return EX_USAGE;
	}
	cmd = argv[i++];
	if (vtpmctl_prov_is(cmd))
		return vtpmctl_prov_main(run_dir, cmd, argc - i, argv + i);
	if (strcmp(cmd, "create") == 0) {
		type = CTL_CREATE;
		for (; i < argc; i++) {
			if (strcmp(argv[i], "--uuid") == 0 && i + 1 < argc) {
				uuid_arg = argv[++i];
			} else if (strcmp(argv[i], "--owner") == 0 && i + 1 < argc) {
				if ((r = parse_owner(argv[++i], 0, &owner_uid, &owner_gid)) != 0)
					return r;
			} else if (strcmp(argv[i], "--tpm-version") == 0 && i + 1 < argc) {
				i++;
				if (strcmp(argv[i], "2") == 0 || strcmp(argv[i], "2.0") == 0)
					version = 2;
				else if (strcmp(argv[i], "1.2") == 0)
					version = 1;
				else
					return vtpmctl_die(EX_USAGE, "--tpm-version must be 2 or 1.2, not '%s'",
						   argv[i]);
			} else if (strcmp(argv[i], "--no-ek-cert") == 0) {
				cflags |= CTL_CREATE_NO_EK_CERT;
			} else if (strcmp(argv[i], "--pcr-banks") == 0 && i + 1 < argc) {
				i++;
				if (vtpmctl_parse_banks(argv[i], &banks) != 0)
					return vtpmctl_die(EX_USAGE, "--pcr-banks: '%s' is not a list of sha1, "
						   "sha256, sha384, sha512", argv[i]);
			} else {
				return vtpmctl_die(EX_USAGE, "create: unexpected argument '%s'", argv[i]);
			}
		}
		if (banks != 0 && version != 2)
			return vtpmctl_die(EX_USAGE, "--pcr-banks needs --tpm-version 2");
		memset(req, 0, sizeof(req));
		req[0] = (uint8_t)version;
		if (uuid_arg != NULL) {
			if (uuid_parse(uuid_arg, req + 2) != 0)
				return vtpmctl_die(EX_USAGE, "'%s' is not a UUID", uuid_arg);
			req[1] = 1;
		}
		reqlen = 18;
		if (owner_uid != CTL_NO_OWNER || cflags != 0 || banks != 0) {
			be32_put(req + 18, owner_uid);
			be32_put(req + 22, owner_gid);
			reqlen = 26;
		}
		if (cflags != 0 || banks != 0) {
			req[26] = cflags;
			req[27] = banks;
			reqlen = 28;
		}
	} else if (strcmp(cmd, "status") == 0) {
		type = CTL_STATUS;
		if (i != argc)
			return vtpmctl_die(EX_USAGE, "status takes no arguments");
	} else if (strcmp(cmd, "list") == 0) {
		type = CTL_LIST;
		for (; i < argc; i++) {
			if (strcmp(argv[i], "--json") == 0)
				json = 1;
			else
				return vtpmctl_die(EX_USAGE, "list: unexpected argument '%s'", argv[i]);
		}
	} else if (strcmp(cmd, "set-owner") == 0) {
		type = CTL_SET_OWNER;
		if (i + 2 != argc)
			return vtpmctl_die(EX_USAGE, "set-owner takes a UUID and USER[:GROUP] (or none)");
		if (uuid_parse(argv[i], uuid) != 0)
			return vtpmctl_die(EX_USAGE, "'%s' is not a UUID", argv[i]);
		if ((r = parse_owner(argv[i + 1], 1, &owner_uid, &owner_gid)) != 0)
			return r;
		memcpy(req, uuid, UUID_LEN);
		be32_put(req + UUID_LEN, owner_uid);
		be32_put(req + UUID_LEN + 4, owner_gid);
		reqlen = UUID_LEN + 8;
	} else if (strcmp(cmd, "show") == 0 || strcmp(cmd, "stop") == 0 ||
		   strcmp(cmd, "delete") == 0) {
		type = cmd[1] == 'h' ? CTL_SHOW : cmd[1] == 't' ? CTL_STOP : CTL_DELETE;
		if (type == CTL_DELETE && i + 2 == argc && strcmp(argv[i + 1], "--force") == 0)
			force = 1;
		else if (i + 1 != argc)
			return vtpmctl_die(EX_USAGE, "%s takes exactly one UUID%s", cmd,
				   type == CTL_DELETE ? " (and --force)" : "");
		if (uuid_parse(argv[i], uuid) != 0)
			return vtpmctl_die(EX_USAGE, "'%s' is not a UUID", argv[i]);
		memcpy(req, uuid, UUID_LEN);
		reqlen = UUID_LEN;
		if (force)
			req[reqlen++] = 1;
	} else {
		return vtpmctl_die(EX_USAGE, "unknown command '%s' (see vtpmctl --help)", cmd);
	}

	if ((fd = connect_ctl(run_dir)) < 0)
		return vtpmctl_die(EX_UNREACHABLE, "cannot reach vtpm_managerd in %s (is it running?)",
			   run_dir);
	if (chan_init(&ch, fd) != 0)
		return vtpmctl_die(EX_UNREACHABLE, "%s", "out of memory");
	if (type == CTL_LIST) {
		r = do_list(&ch, run_dir, json);
		chan_close(&ch);
		return r;
	}
	if ((r = transact(&ch, run_dir, type, req, reqlen, &msg, &b, &status, text, &count)) != 0) {
		chan_close(&ch);
		return r;
	}
	if (status != 0) {
		chan_close(&ch);
		return vtpmctl_die(EX_REFUSED, "%s", text);
	}
	if (type == CTL_STATUS)
		printf("%s\n", text);
	for (uint32_t k = 0; k < count; k++) {
		struct rec rec;
		char us[UUID_STR_LEN];

		if (get_rec(&b, &rec) != 0) {
			chan_close(&ch);
			return vtpmctl_die(EX_UNREACHABLE, "%s", "malformed record from vtpm_managerd");
		}
		uuid_format(rec.uuid, us);
		if (type == CTL_CREATE)
			printf("%s\n", us);
		else if (type == CTL_SHOW)
			print_rec(&rec, run_dir, 1);
	}
	chan_close(&ch);
	return 0;
}
