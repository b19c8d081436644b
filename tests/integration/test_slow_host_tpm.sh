#!/bin/bash
# test_slow_host_tpm: a slow host TPM stalls no vTPM (issue 11).  The host
# TPM is a swtpm behind a proxy (slow_proxy.py) that, once switched on,
# holds every response 2 s.  Creating a vTPM then takes seconds (its
# manifest commit increments the host TPM's rollback counter, several
# commands), and so does deleting one; meanwhile vTPM B's control requests
# and TPM commands and `vtpmctl list` / `show` answer, each bounded by a
# generous 3 s (the test does not depend on speed: before issue 11 they
# waited for the host TPM) with the slowest logged.  Then the create and
# the delete finish, and the new vTPM works.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

start_host_swtpm2 host
PROXY=$TESTDIR/slowtpm.sock
FLAG=$TESTDIR/slow.on
coproc SLOW { exec python3 "$(dirname "$0")/slow_proxy.py" "$PROXY" "$(host_sock host)" "$FLAG" 2; }
track_pid "$SLOW_PID"
read -r -t 10 line <&"${SLOW[0]}" || fail "slow_proxy.py did not start"
[ "$line" = ready ] || fail "slow_proxy.py: $line"

start_manager --host-tpm "swtpm:path=$PROXY"
b=$(create_vtpm)
d=$(create_vtpm)
assert_match '[0-9a-f]{16}' "$(client tpm --socket "$(sock "$b")" getrandom 8)" "B before the host TPM slows down"

touch "$FLAG"
vtpmctl create >"$TESTDIR/create.out" 2>&1 &
cpid=$!
track_pid "$cpid"
vtpmctl delete "$d" >"$TESTDIR/delete.out" 2>&1 &
dpid=$!
track_pid "$dpid"
sleep 0.5
kill -0 "$cpid" 2>/dev/null || fail "the create finished at once: the host TPM was not slow? $(cat "$TESTDIR/create.out")"

slowest=0
what=""
TIMED_WHILE="while the host TPM is slow"
for round in 1 2 3; do
	timed "B's GET_TPMESTABLISHED" "$CLIENT" ctrl --socket "$RUN/$b.sock.ctrl" gettpmest
	timed "B's GetRandom" "$CLIENT" tpm --socket "$(sock "$b")" getrandom 8
	timed "vtpmctl list" "$BUILD/vtpmctl" --run-dir "$RUN" list
	timed "vtpmctl show B" "$BUILD/vtpmctl" --run-dir "$RUN" show "$b"
	sleep 0.5
done
log "while the host TPM took 2 s per command, the slowest answer was $what: $slowest ms"

wait "$cpid" || fail "vtpmctl create with a slow host TPM: $(cat "$TESTDIR/create.out")"
_untrack_pid "$cpid"
wait "$dpid" || fail "vtpmctl delete with a slow host TPM: $(cat "$TESTDIR/delete.out")"
_untrack_pid "$dpid"
rm -f "$FLAG"
c=$(cat "$TESTDIR/create.out")
assert_match '[0-9a-f-]{36}' "$c" "the created vTPM's UUID"
assert_match '[0-9a-f]{16}' "$(client tpm --socket "$(sock "$c")" getrandom 8)" "the vTPM created while the host TPM was slow"
assert_not_contains "$(vtpmctl list)" "$d" "vtpmctl list after the delete"
stop_manager
start_manager --host-tpm "swtpm:path=$PROXY"
assert_contains "$(vtpmctl list)" "$c" "the created vTPM after a restart (its commit is durable)"
assert_not_contains "$(vtpmctl list)" "$d" "the deleted vTPM after a restart"
stop_manager
