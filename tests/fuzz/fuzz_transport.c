/*
 * fuzz_transport.c - crypto/transport.c: the export file as `vtpmctl
 * import` hands it to the manager (transport_peek, transport_open) and
 * the payload inside (transport_payload).
 *
 * Input: u8 flags | bytes.  flags bit 0: the bytes are a plaintext
 * payload: parse it (transport_payload); bit 1: seal the bytes' payload
 * split (as blobs) to the fixed destination key, then apply the rest of
 * the input as an XOR mask to the file: only a zero mask may open; bit 2:
 * open the bytes as a file as is.  Invariants: a file opens only when it
 * is authentic; a failed open appends nothing; an opened payload parses
 * into blobs that lie inside it; seal -> open -> payload is the identity.
 */
#include "tests/fuzz/common.h"
#include "crypto/pkey.h"
#include "crypto/transport.h"
#include "tests/fuzz/fuzz_keys.h"

#include <stdlib.h>
#include <string.h>

static EVP_PKEY *dest, *src;
static const uint8_t uuid[UUID_LEN] = { 0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x43, 0x33,
					0x84, 0x44, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55 };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	dest = pkey_priv_from_der(fz_key_dest, fz_key_dest_len);
	src = pkey_priv_from_der(fz_key_src, fz_key_src_len);
	if (dest == NULL || src == NULL)
		abort();
	return 0;
}

static void
check_payload(const uint8_t *p, size_t len)
{
	struct xfer_blob b[4];
	size_t n = 0;
	int r = transport_payload(p, len, b, &n);

	if (r != 0) {
		FZ_CHECK(r == VERR_FORMAT && n == 0, "payload error %d", r);
		return;
	}
	FZ_CHECK(n >= 1 && n <= 4, "%zu blobs", n);
	for (size_t i = 0; i < n; i++)
		FZ_CHECK(b[i].p > p && b[i].p + b[i].len <= p + len && b[i].len != 0,
			 "blob %zu outside the payload", i);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t flags, *f;
	size_t len;
	struct buf pt;
	struct xfer_hdr h;
	int r;

	if (size < 1)
		return 0;
	flags = data[0];
	len = size - 1;
	f = fz_dup(data + 1, len);
	buf_init(&pt, XFER_PT_MAX);

	if (flags & 1)
		check_payload(f, len);
	if (flags & 4) {
		r = transport_peek(f, len, &h);
		FZ_CHECK(r == 0 || r == VERR_FORMAT || r == VERR_CRYPTO, "peek error %d", r);
		FZ_CHECK(buf_put_bytes(&pt, "pre", 3) == 0, "prefill");
		r = transport_open(dest, f, len, &h, &pt);
		FZ_CHECK(r != 0, "opened a file nobody sealed");
		FZ_CHECK(pt.len == 3, "failed open appended plaintext");
		buf_reset(&pt);
	}
	if ((flags & 2) && len >= 2) {
		/* bytes: u8 split | blob bytes | mask */
		size_t split = 1 + (size_t)data[1] % (len - 1 > 0 ? len - 1 : 1), mlen;
		struct xfer_blob b[2] = { { XFER_PERMALL, f + 1, split - 1 },
					  { XFER_VOLATILE, f + split, len - split } };
		struct xfer_blob back[4];
		struct buf file;
		size_t n = 0, nb = b[0].len != 0 ? 1 : 0;
		int masked = 0;

		if (nb == 0 || split > len) {
			buf_free(&pt);
			free(f);
			return 0;
		}
		buf_init(&file, XFER_FILE_MAX);
		nb = b[1].len != 0 && b[1].len <= 64 ? 2 : 1;
		FZ_CHECK(transport_seal(src, dest, 2, uuid, b, nb, &file) == 0, "seal");
		/* The bytes after the second blob's first 64 are the mask. */
		mlen = len - split > 64 ? len - split - 64 : 0;
		for (size_t i = 0; i < mlen && i < file.len; i++) {
			file.d[i] ^= f[split + 64 + i];
			masked |= f[split + 64 + i] != 0;
		}
		r = transport_open(dest, file.d, file.len, &h, &pt);
		if (masked) {
			FZ_CHECK(r != 0, "a changed file opened");
			FZ_CHECK(pt.len == 0, "failed open appended plaintext");
		} else {
			FZ_CHECK(r == 0, "an intact file did not open (%d)", r);
			FZ_CHECK(transport_payload(pt.d, pt.len, back, &n) == 0 && n == nb &&
					 back[0].len == b[0].len &&
					 memcmp(back[0].p, b[0].p, b[0].len) == 0,
				 "payload round trip");
			FZ_CHECK(memcmp(h.uuid, uuid, UUID_LEN) == 0 && h.tpm_version == 2, "header");
		}
		buf_free(&file);
	}
	buf_free(&pt);
	free(f);
	return 0;
}
