/*
 * tpm12_transport.h - the byte path to the host's TPM 1.2: a TPM
 * character device or a swtpm data socket (Unix, or TCP on loopback).
 * One command out, one whole response back, with timeouts, exact length
 * checks, a fresh connection whenever the stream may be out of step, and
 * resends while the TPM answers "retry".  tcs/tpm12_host.c builds the
 * commands and checks what the responses mean.
 *
 * Owns: the fd and the one response buffer (wiped on request and on
 * close: a response may hold an unsealed secret).  Trusts: the TPM's
 * bytes only as a frame: a response is handed out only when its header
 * size equals the bytes read and is within TPM_FRAME_MAX; its tag, code
 * and HMACs are tpm12_marshal.c's to check.
 * Functions return 0 or a negative VERR_* (util/err.h), reason in err.
 */
#ifndef VTPM_TCS_TPM12_TRANSPORT_H
#define VTPM_TCS_TPM12_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct tpm12_transport;

/*
 * where: "device:PATH" (write one command, read one response) or
 * "swtpm:path=SOCKET" / "swtpm:host=H,port=P" (a swtpm data socket; the
 * host must be a loopback address: TPM traffic carries secrets in clear).
 * Connects before it returns.
 */
int tpm12_transport_open(const char *where, struct tpm12_transport **out, char *err,
			 size_t errlen);
/* Closes the fd and wipes and frees t; t may be NULL. */
void tpm12_transport_close(struct tpm12_transport *t);

/*
 * Sends cmd[0..cmdlen) and reads one response into the transport's
 * buffer: *rsp points there, valid until the next call or
 * tpm12_transport_wipe.  Reconnects first if the connection is closed or
 * stale.  Any transport or framing failure (VERR_NOTPM, VERR_FORMAT)
 * closes the connection; the next call reconnects.
 */
int tpm12_transport_xfer(struct tpm12_transport *t, const uint8_t *cmd, size_t cmdlen,
			 const uint8_t **rsp, size_t *rsplen, char *err, size_t errlen);
/*
 * tpm12_transport_xfer, then the same bytes again, after 20, 40, ... ms,
 * while the response is a TPM 1.2 response header carrying TPM_RETRY or
 * TPM_DOING_SELFTEST (the TPM did not run the command, so its nonces stay
 * valid); VERR_BUSY after 5 such answers.
 */
int tpm12_transport_call(struct tpm12_transport *t, const uint8_t *cmd, size_t cmdlen,
			 const uint8_t **rsp, size_t *rsplen, char *err, size_t errlen);
/* Wipes the response buffer. */
void tpm12_transport_wipe(struct tpm12_transport *t);

#endif
