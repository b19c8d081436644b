#!/bin/bash
# test_fifo_flood: the FIFO backend's queue is bounded (issue 9, finding 6).
# A vTPM's vtpmd is stopped (SIGSTOP), so nothing it is sent gets answered,
# and a writer pushes GetRandom frames for it into fifo/in for 3 s as fast
# as the FIFO takes them, while a reader drains fifo/out.  The manager's
# resident memory may grow by at most 32 MiB (it grew by gigabytes when the
# queue had no bound), the frames over the cap are answered at once with
# TPM_RC_RETRY for their instance, and another vTPM is served meanwhile.
# Once the vtpmd continues, the queued requests are answered and the vTPM
# serves new ones.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

start_manager --backend fifo
u=$(create_vtpm)
other=$(create_vtpm)
inst=$(json_field "$u" instance)
oinst=$(json_field "$other" instance)
r=$(client fifo --dir "$RUN/fifo" --instance "$inst" getrandom 8) || fail "first use through the FIFO"
pid=$(vtpmd_pids)
[ -n "$pid" ] || fail "no vtpmd for $u"
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$MGR_PID/status"; }
rss0=$(rss)
kill -STOP "$pid"

python3 - "$RUN/fifo" "$inst" "$TESTDIR/flood.out" <<'PY'
import os, select, struct, sys, time
d, inst, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
frame = struct.pack(">I", inst) + bytes.fromhex("80010000000c0000017b0008")
w = os.open(os.path.join(d, "in"), os.O_WRONLY | os.O_NONBLOCK)
r = os.open(os.path.join(d, "out"), os.O_RDONLY | os.O_NONBLOCK)
sent = got = retry = 0
buf = b""
chunk = frame * 256
end = time.time() + 3
while time.time() < end:
    try:
        n = os.write(w, chunk)
        sent += n // len(frame)
    except BlockingIOError:
        pass
    rl, _, _ = select.select([r], [], [], 0.001)
    if rl:
        try:
            buf += os.read(r, 65536)
        except BlockingIOError:
            pass
        while len(buf) >= 14:
            size = int.from_bytes(buf[6:10], "big")
            if len(buf) < 4 + size:
                break
            rc = int.from_bytes(buf[10:14], "big")
            got += 1
            retry += rc == 0x922
            buf = buf[4 + size:]
open(out, "w").write("%d %d %d\n" % (sent, got, retry))
PY
read -r sent got retry <"$TESTDIR/flood.out"
rss1=$(rss)
log "flood: $sent frames sent, $got replies read, $retry of them TPM_RC_RETRY; manager RSS $rss0 -> $rss1 KiB"
[ "$sent" -gt 10000 ] || fail "the flood sent only $sent frames"
[ "$retry" -gt 1000 ] || fail "only $retry frames were answered with TPM_RC_RETRY"
[ $((rss1 - rss0)) -lt 32768 ] || fail "the manager's RSS grew by $((rss1 - rss0)) KiB during the flood"
r=$(client fifo --dir "$RUN/fifo" --instance "$oinst" --timeout 10000 getrandom 8) ||
	fail "another vTPM through the FIFO during the flood"
kill -CONT "$pid"
# The backlog of fifo/out is stale replies to the flood; the next reply for
# this instance may be one of them, so read until a GetRandom(16) answer.
ok=0
for _ in $(seq 100); do
	if r=$(client fifo --dir "$RUN/fifo" --instance "$inst" --timeout 10000 getrandom 16 2>/dev/null) &&
		[[ $r =~ ^[0-9a-f]{32}$ ]]; then
		ok=1
		break
	fi
done
[ "$ok" = 1 ] || fail "the vTPM did not serve a new command after the flood"
manager_alive || fail "the manager died"
stop_manager
