/*
 * stateblob.h - vTPM state in and out through GET/SET_STATEBLOB, in the
 * migration envelope (stateblob.c, crypto/migblob.h).
 */
#ifndef VTPM_MANAGER_STATEBLOB_H
#define VTPM_MANAGER_STATEBLOB_H

#include <stddef.h>
#include <stdint.h>

struct mgr;
struct vtpm;
struct req;
struct buf;

/*
 * SET_STATEBLOB request req (u32 cmd, state_flags, type, length | blob, of
 * total bytes, framed by ctrl_parse_request): verifies the envelope and
 * writes the relay for the vtpmd (cmd, 0, type, raw length | raw blob) to
 * out, which must be empty.  0, or a control result code (the request
 * reaches no vtpmd).
 */
uint32_t stateblob_unwrap(struct mgr *m, struct vtpm *v, const uint8_t *req, size_t total,
			  struct buf *out);
/*
 * The vtpmd's GET_STATEBLOB reply p (checked by ctrl_check_response: res,
 * state_flags, totlength, length | raw blob) to request r, as the client
 * gets it: the blob in the envelope, or an error reply without any bytes
 * that came with it.  Appends to out (which must hold 16 +
 * CTRL_STATEBLOB_MAX bytes).
 */
void stateblob_wrap(struct mgr *m, struct vtpm *v, const struct req *r, const uint8_t *p,
		    size_t len, struct buf *out);

#endif
