#!/bin/bash
# test_fd_exhaustion: running out of file descriptors sheds connections
# instead of spinning.  The manager runs with RLIMIT_NOFILE 256 (soft and
# hard), holds as many vTPMs as its budget allows, and a client opens 1,000 connections to their
# control sockets and keeps them open.  Meanwhile the manager must use under
# 5% of a CPU (measured from /proc over 3 s), `vtpmctl list` must answer
# with every vTPM, and the log may grow by at most 64 KiB (refusals are
# logged at a bounded rate).  Creating vTPMs beyond what the descriptor
# budget allows is refused with a message that names the limit.  Once the
# client is gone, a vTPM serves TPM commands as before.  Also: the daemon
# raises its soft limit to the hard one at start.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

clk=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

log "the soft limit is raised to the hard one"
(
	ulimit -S -n 300
	ulimit -H -n 2000
	exec "$BUILD/vtpm_managerd" --foreground --state-dir "$STATE" --run-dir "$RUN" \
		--host-tpm "keyfile:$KEY" 2>>"$MGR_LOG"
) &
MGR_PID=$!
for _ in $(seq 100); do grep -qx 'vtpm_managerd ready' "$MGR_LOG" && break; sleep 0.1; done
assert_eq "2000 2000" "$(awk '/^Max open files/ { print $4, $5 }' "/proc/$MGR_PID/limits")" \
	"the manager's open-files limit (soft hard)"
stop_manager

log "RLIMIT_NOFILE 256: vTPMs until creation is refused by budget, not by accident"
MGR_NOFILE=256 start_manager
uuids=()
refused=""
for i in $(seq 160); do
	if ! out=$(vtpmctl create 2>&1); then
		refused=$out
		break
	fi
	uuids+=("$out")
done
[ -n "$refused" ] || fail "160 vTPMs created with 256 file descriptors"
assert_contains "$refused" "file descriptors" "the refusal names the cause"
[ "${#uuids[@]}" -ge 20 ] || fail "only ${#uuids[@]} vTPMs fit in 256 file descriptors"
log "  refused after ${#uuids[@]} vTPMs: $refused"
manager_alive || fail "the manager died at the descriptor budget"

# flood_check WHAT: 1,000 connections to the control sockets, held open;
# the manager must stay idle, answer vtpmctl and log little.
flood_check() {
	local what=$1 off t0 t1 used_ms list grow flood
	log "$what: 1,000 connections held open on the control sockets"
	rm -f "$TESTDIR/flood.ready" "$TESTDIR/flood.stop"
	off=$(stat -c %s "$MGR_LOG")
	python3 - "$RUN" "$TESTDIR/flood.ready" "$TESTDIR/flood.stop" "${uuids[@]}" <<'PY' &
import os, socket, sys, time
run, ready, stop, uuids = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
held = []
for i in range(1000):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.connect(os.path.join(run, uuids[i % len(uuids)] + ".sock.ctrl"))
    except (BlockingIOError, ConnectionRefusedError, OSError):
        pass
    held.append(s)
open(ready, "w").close()
while not os.path.exists(stop):
    time.sleep(0.1)
PY
	flood=$!
	track_pid "$flood"
	for _ in $(seq 200); do [ -e "$TESTDIR/flood.ready" ] && break; sleep 0.05; done
	[ -e "$TESTDIR/flood.ready" ] || fail "$what: the flood client did not get going"
	sleep 1
	t0=$(cpu_ticks "$MGR_PID")
	sleep 3
	t1=$(cpu_ticks "$MGR_PID")
	used_ms=$(((t1 - t0) * 1000 / clk))
	log "  manager CPU over 3 s with the connections held: $used_ms ms"
	[ "$used_ms" -lt 150 ] ||
		fail "$what: the manager used $used_ms ms of CPU in 3 s (over 5%) under the flood"
	list=$(timeout 5 "$BUILD/vtpmctl" --run-dir "$RUN" list) ||
		fail "$what: vtpmctl list did not answer within 5 s during the flood"
	assert_eq "${#uuids[@]}" $(($(printf '%s\n' "$list" | grep -c .) - 1)) "$what: vTPMs listed during the flood"
	grow=$(($(stat -c %s "$MGR_LOG") - off))
	log "  the log grew by $grow bytes: $(log_since "$off" | grep -m1 -o 'refus.*' | cut -c1-150)"
	[ "$grow" -lt 65536 ] || fail "$what: the log grew by $grow bytes during the flood (bounded logging)"
	touch "$TESTDIR/flood.stop"
	wait "$flood" || fail "$what: the flood client failed"
	_untrack_pid "$flood"
	sleep 0.5
	assert_ok "$what: a vTPM after the flood" t2 getrandom "${uuids[0]}" 8 --hex >/dev/null
	manager_alive || fail "$what: the manager died"
}

flood_check "max_connections"
stop_manager

# Now without the cap's protection: max_connections far above what the
# descriptors allow, so accept itself runs out (EMFILE) and connections are
# shed on the reserve descriptor.
MGR_NOFILE=256 start_manager --max-connections 100000
assert_contains "$(cat "$MGR_LOG")" "need more file descriptors than the limit" "the start-up warning"
flood_check "EMFILE"
assert_contains "$(cat "$MGR_LOG")" "out of file descriptors (limit 256): refusing connections" \
	"the shed log line"
stop_manager
