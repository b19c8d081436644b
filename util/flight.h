/*
 * flight.h - the per-vtpmd "flight record": one page of shared memory (a
 * sealed memfd the manager creates at every spawn, inherited by vtpmd as
 * fd 4, --flight-fd) in which vtpmd notes the TPM command it is executing.
 * It costs no syscall per command: a few stores before TPMLIB_Process and
 * after the response is written.
 *
 * The manager reads it (never writes) to
 *   - kill a vtpmd stuck in one command for longer than that command's
 *     deadline (manager/supervise.c, vtpm_check_deadlines);
 *   - answer the command a crashed vtpmd was executing with a TPM error
 *     response on the connection it came from, when the manager holds a
 *     duplicate of that connection (SET_DATAFD connections);
 *   - deliver a CANCEL_TPM_CMD only while a command executes.
 * Its content comes from an untrusted process: the manager range-checks
 * every field it uses, and a lying vtpmd can only hurt its own clients
 * (kill itself early, or have its own connection answered with an error).
 * The memfd is sealed against shrinking, so a vtpmd cannot make the
 * manager's mapping fault.
 *
 * Consistency: vtpmd is the only writer.  It makes seq odd, changes the
 * fields, and makes seq even again (a seqlock), so a reader that sees the
 * same even seq before and after reading got one consistent snapshot.
 * Within an update, phase is written last, so a record left behind by a
 * writer that died mid-update still never claims EXECUTING for fields that
 * belong to another command.
 */
#ifndef VTPM_UTIL_FLIGHT_H
#define VTPM_UTIL_FLIGHT_H

#include <stdint.h>

#define FLIGHT_SIZE 4096u  /* the memfd's size; the record is at offset 0 */
#define FLIGHT_FD 4        /* where vtpmd finds it (after the channel, fd 3) */

enum flight_phase {
	FLIGHT_IDLE = 0,       /* no command executing */
	FLIGHT_EXECUTING = 1,  /* inside TPMLIB_Process: no response byte written yet */
	FLIGHT_RESPONDING = 2, /* the response is being written to the client */
};

/* conn_id of a command that did not come from a connection the manager
 * keeps: the channel (FIFO, Xen), or a connection vtpmd accepted itself. */
#define FLIGHT_CONN_NONE 0u

struct vtpm_flight {
	uint32_t seq;      /* odd while vtpmd updates the record */
	uint32_t phase;    /* enum flight_phase */
	uint32_t conn_id;  /* CHAN_DATA_FD id of the command's connection, or NONE */
	uint32_t ordinal;  /* the command's code (bytes 6..9 of its header) */
	uint32_t tag;      /* the command's tag (bytes 0..1) */
	uint32_t count;    /* commands started by this vtpmd */
	uint64_t start_ms; /* CLOCK_MONOTONIC, ms, when execution began */
};

_Static_assert(sizeof(struct vtpm_flight) <= FLIGHT_SIZE, "flight record fits its page");

#define FLIGHT_LOAD(p) __atomic_load_n(&(p), __ATOMIC_RELAXED)
#define FLIGHT_STORE(p, v) __atomic_store_n(&(p), (v), __ATOMIC_RELAXED)

/* Writer (vtpmd only). */
static inline void
flight_write_begin(struct vtpm_flight *f)
{
	FLIGHT_STORE(f->seq, f->seq + 1);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static inline void
flight_write_end(struct vtpm_flight *f)
{
	__atomic_store_n(&f->seq, f->seq + 1, __ATOMIC_RELEASE);
}

/*
 * Reader (manager): copies a consistent snapshot of a live writer's record
 * into out.  Returns 0, or -1 when the writer was updating it (try again at
 * the next tick: a writer that updates is not hung).
 */
static inline int
flight_snapshot(const struct vtpm_flight *f, struct vtpm_flight *out)
{
	uint32_t s1 = __atomic_load_n(&f->seq, __ATOMIC_ACQUIRE);

	out->phase = FLIGHT_LOAD(f->phase);
	out->conn_id = FLIGHT_LOAD(f->conn_id);
	out->ordinal = FLIGHT_LOAD(f->ordinal);
	out->tag = FLIGHT_LOAD(f->tag);
	out->count = FLIGHT_LOAD(f->count);
	out->start_ms = FLIGHT_LOAD(f->start_ms);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	out->seq = FLIGHT_LOAD(f->seq);
	return (s1 & 1u) != 0 || out->seq != s1 ? -1 : 0;
}

#endif
