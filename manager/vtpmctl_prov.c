/*
 * vtpmctl_prov.c - vtpmctl's provisioning commands:
 *
 *   vtpmctl ca
 *   vtpmctl ek UUID [--rsa|--ecc|--ecc384] [--cert]
 *
 * Trusts the
 * daemon's reply only as far as its framing.  Exit status as vtpmctl's:
 * 0 success, 1 refused (or a bad input file), 2 usage, 3 unreachable.
 */
#include "manager/vtpmctl_prov.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "manager/ctl_proto.h"
#include "util/buf.h"
#include "util/chan.h"
#include "util/uuid.h"

#define EX_REFUSED 1
#define EX_USAGE 2
#define EX_UNREACHABLE 3

static int __attribute__((format(printf, 2, 3)))
die(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vtpmctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

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
		return die(EX_UNREACHABLE, "cannot reach vtpm_managerd in %s", run_dir);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return die(EX_UNREACHABLE, "cannot reach vtpm_managerd in %s (is it running?)",
			   run_dir);
	}
	if (chan_init(&ch, fd) != 0) {
		close(fd);
		return die(EX_UNREACHABLE, "%s", "out of memory");
	}
	if (req->len > CHAN_MAX_PAYLOAD) {
		chan_close(&ch);
		return die(EX_REFUSED, "the request (%zu bytes) is larger than the control "
			   "socket's limit (%u bytes)", req->len, CHAN_MAX_PAYLOAD);
	}
	if (chan_send(fd, type, req->d, req->len, NULL, 0, -1) != 0 ||
	    chan_recv(&ch, &msg) != 0 || msg.type != CTL_REPLY) {
		chan_close(&ch);
		return die(EX_UNREACHABLE, "no valid reply from vtpm_managerd in %s", run_dir);
	}
	if (msg.fd >= 0)
		close(msg.fd);
	buf_init_reader(&b, msg.data, msg.len);
	if (buf_get_u32(&b, &status) != 0 || buf_get_u16(&b, &ml) != 0 || ml > 1024 ||
	    buf_get_bytes(&b, text, ml) != 0 || buf_get_u32(&b, &count) != 0 || count > 1) {
		chan_close(&ch);
		return die(EX_UNREACHABLE, "%s", "malformed reply from vtpm_managerd");
	}
	text[ml] = '\0';
	if (status != 0) {
		chan_close(&ch);
		return die(EX_REFUSED, "%s", text);
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
			return die(EX_UNREACHABLE, "%s", "malformed record from vtpm_managerd");
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
			return die(EX_UNREACHABLE, "%s", "malformed data in the reply");
		}
		if (data_out != NULL && buf_put_bytes(data_out, d, dlen) != 0) {
			chan_close(&ch);
			return die(EX_UNREACHABLE, "%s", "out of memory");
		}
		if (out != NULL && fwrite(d, 1, dlen, out) != dlen) {
			chan_close(&ch);
			return die(EX_REFUSED, "cannot write the output: %s", strerror(errno));
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
		return die(EX_USAGE, "%s takes no arguments", name);
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
			return die(EX_USAGE, "ek: unexpected argument '%s'", argv[i]);
	}
	if (u == NULL)
		return die(EX_USAGE, "ek takes a UUID");
	if (uuid_parse(u, uuid) != 0)
		return die(EX_USAGE, "'%s' is not a UUID", u);
	buf_init(&req, 32);
	if (buf_put_bytes(&req, uuid, UUID_LEN) != 0 || buf_put_u8(&req, kind) != 0 ||
	    buf_put_u8(&req, what) != 0)
		return die(EX_UNREACHABLE, "out of memory");
	r = roundtrip(run_dir, CTL_EK, &req, stdout, 0, NULL, NULL, 0);
	buf_free(&req);
	return r;
}

int
vtpmctl_prov_is(const char *cmd)
{
	return strcmp(cmd, "ca") == 0 || strcmp(cmd, "ek") == 0;
}

int
vtpmctl_prov_main(const char *run_dir, const char *cmd, int argc, char **argv)
{
	if (strcmp(cmd, "ca") == 0)
		return cmd_simple(run_dir, CTL_CA, argc, argv, "ca");
	return cmd_ek(run_dir, argc, argv);
}
