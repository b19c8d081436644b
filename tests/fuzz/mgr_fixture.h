/*
 * mgr_fixture.h - a real vtpm_managerd core in the fuzzer's process, for the
 * harnesses of the parsers embedded in daemon code (FIFO frames, the
 * vtpmctl control socket, the swtpm control socket, the vtpmd channel).
 *
 * What is real: struct mgr and every manager module but main.c (supervise.c,
 * sockets.c, fifo.c, ctl.c, commit.c, store.c, the tcs objects), the epoll
 * loop's dispatch (copied from main.c: epoll_wait, then e->cb for each
 * event), the sockets (per-vTPM listening sockets, the control socket and
 * the FIFOs are bound in a tmpfs run directory), and the state store.
 *
 * What is faked, by link-time wrapping only (no product code is changed):
 *   fork()            returns FX_FAKE_PID without creating a process, so
 *                     vtpm_spawn() runs its parent half only;
 *   chan_socketpair() is the real one, but the harness keeps a duplicate
 *                     of the child's end: the harness *is* that vtpmd and
 *                     speaks the channel protocol to the manager (hostile
 *                     or well-behaved, as the input says);
 *   log_msg()         formats but stays quiet (FUZZ_LOG=1 shows it).
 * FX_FAKE_PID is above PID_MAX_LIMIT, so the manager's kill() of it can
 * never reach a real process.
 *
 * Every input gets a fresh manager (fx_begin/fx_end), with two vTPMs
 * (instance 1 TPM 2.0, instance 2 TPM 1.2) and the FIFO backend, and is
 * torn down the way main.c's cleanup() does; a leaked fd fails the input.
 *
 * Inputs are op sequences (fx_run_ops): op byte = code (low 4 bits) and
 * argument (high 4 bits), then the op's operands.  See mgr_fixture.c.
 */
#ifndef VTPM_TESTS_FUZZ_MGR_FIXTURE_H
#define VTPM_TESTS_FUZZ_MGR_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "manager/mgr.h"

#define FX_FAKE_PID ((pid_t)0x40000000)

enum fx_op {
	OP_VTPMD_RAW = 0,  /* arg: vtpm idx(bit0), nfds(bits1-2), then die(bit3) | u16 len | raw packet */
	OP_VTPMD_MSG = 1,  /* arg: vtpm idx(bit0), fd(bit1), then die(bit2) | u8 type | u16 len | payload */
	OP_VTPMD_ANSWER = 2, /* arg: vtpm idx(bit0), variant(bits1-3): a well-formed reply */
	OP_VTPMD_CLOSE = 3, /* arg: vtpm idx(bit0), answer first(bit1, variant bits2-3): the vtpmd dies */
	OP_SPAWN = 4,      /* arg: vtpm idx(bit0), autostart(bit1): vtpm_spawn() */
	OP_DATA_CONNECT = 5, /* arg: vtpm idx(bit0), slot(bits1-2): a client connects to <uuid>.sock */
	OP_CTRL_CONNECT = 6, /* arg: slot(bits0-1), vtpm idx(bit2) */
	OP_CTRL_WRITE = 7, /* arg: slot(bits0-1), fd(bit2) | u16 len | bytes */
	OP_CTRL_CLOSE = 8, /* arg: slot(bits0-1), half-close(bit2) */
	OP_CTL_CONNECT = 9, /* arg: slot(0-2) */
	OP_CTL_SEND = 10,  /* arg: slot(bits0-1), uuid-of-vtpm(bit2), vtpm idx(bit3) | u8 type | [u16 len | payload] */
	OP_CTL_RAW = 11,   /* arg: slot(bits0-1), nfds(bits2-3) | u16 len | raw packet */
	OP_CTL_CLOSE = 12, /* arg: slot */
	OP_FIFO_WRITE = 13, /* u16 len | bytes */
	OP_TICK = 14,      /* the loop's periodic work (deadlines, ticks) */
	OP_NOP = 15,       /* arg bit0: do not run the loop after the next op (batching) */
};

#define FX_ALL_OPS 0xffffu

/* Behaviour of the fake vtpmds, from the first input byte. */
#define FX_AUTO_READY 0x01  /* send READY as soon as spawned */
#define FX_AUTO_ANSWER 0x02 /* answer every request well-formed */
#define FX_AUTO_NV 0x04     /* before answering a TPM command, do an NV store */

extern struct mgr *fx_m;

/* Once per process (LLVMFuzzerInitialize). */
void fx_init_once(const char *tag);
/* Per input. */
void fx_begin(unsigned auto_flags);
void fx_end(void);
/* Runs the event loop until nothing is ready; fake vtpmds and clients
 * read what was sent to them (checking it) between rounds. */
void fx_settle(void);
/* Interprets an op sequence; ops not in mask are skipped. */
void fx_run_ops(const uint8_t *d, size_t n, uint32_t mask);
/* Writes bytes into the FIFO backend's input (what a FIFO writer does). */
void fx_fifo_write(const uint8_t *p, size_t n);

#endif
