#!/bin/bash
# test_host_tpm12_rollback: the manifest anchored in a TPM 1.2 monotonic
# counter (fresh swtpm TPM 1.2 host, default random owner auth).
#  - the counter advances with commits (`vtpmctl status`);
#  - a kill -9 of the manager during NV writes with --rollback-interval 1:
#    the restart succeeds and the last acknowledged write is there;
#  - an older copy of the state directory restored: refused ("rollback
#    detected" naming the manifest), nothing changed; the newest copy
#    restored: it starts and the newest NV contents read back.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

idx=0x1500080
start_host_swtpm12 h12
spec=$(host_spec h12)
args=(--host-tpm "$spec" --rollback-interval 1)

start_manager "${args[@]}"
assert_eq "1.2" "$(status_field host-tpm-version)" "status host-tpm-version"
c0=$(status_field rollback-counter)
assert_match '0x[0-9a-f]{8} = [0-9]+' "$c0" "status rollback-counter"
u=$(create_vtpm)
c1=$(status_field rollback-counter)
[ "${c1##* = }" -gt "${c0##* = }" ] || fail "the create did not advance the TPM 1.2 counter ($c0 -> $c1)"
assert_eq "${c1##* = }" "$(status_field manifest-sequence)" "manifest-sequence vs counter after create"
assert_ok "nvdefine" t2 nvdefine "$u" "$idx" -C o -s 8 -a "ownerread|ownerwrite" >/dev/null

log "kill -9 during NV writes"
ack=$TESTDIR/ack
echo 0 >"$ack"
(
	for i in $(seq 1 40); do
		printf '%016x' "$i" | xxd -r -p >"$TESTDIR/w.$i"
		t2 nvwrite "$u" "$idx" -C o -i "$TESTDIR/w.$i" 2>/dev/null || exit 0
		echo "$i" >"$ack.tmp"
		mv "$ack.tmp" "$ack"
		sleep 0.05
	done
) &
wpid=$!
track_pid "$wpid"
for _ in $(seq 200); do
	[ "$(cat "$ack")" -lt 15 ] || break
	sleep 0.05
done
kill9_manager
# The writer fails when its manager dies under it; what counts is the last
# write it saw acknowledged, in $ack.
wait "$wpid" || true
last=$(cat "$ack")
if [ "$last" -lt 15 ] || [ "$last" -ge 40 ]; then
	fail "the kill did not land mid-loop (last acknowledged write $last of 40)"
fi
for p in $ORPHANS; do
	wait_gone "$p" 5 || fail "vtpmd $p still running 5 s after the manager's SIGKILL"
done
off=$(stat -c %s "$MGR_LOG")
start_manager "${args[@]}"
since=$(log_since "$off")
assert_not_contains "$since" "rollback detected" "restart log after kill -9"
assert_not_contains "$since" "rolled back" "restart log after kill -9"
assert_not_contains "$since" ": error: " "restart log after kill -9"
rm -f "$TESTDIR/got"
assert_ok "nvread after kill -9" t2 nvread "$u" "$idx" -C o -s 8 -o "$TESTDIR/got"
got=$((16#$(xxd -p "$TESTDIR/got")))
if [ "$got" != "$last" ] && [ "$got" != $((last + 1)) ]; then
	fail "NV holds $got after the kill -9 restart; the last acknowledged write was $last"
fi
head -c 8 /dev/urandom >"$TESTDIR/d.old"
nv_put "$u" "$idx" "$TESTDIR/d.old"
stop_manager

log "copy of the state directory, more writes"
cp -a "$STATE" "$TESTDIR/state.old"
start_manager "${args[@]}"
head -c 8 /dev/urandom >"$TESTDIR/d.new"
nv_put "$u" "$idx" "$TESTDIR/d.new"
stop_manager
cp -a "$STATE" "$TESTDIR/state.newest"

log "restore the old copy: refused"
rm -rf "$STATE"
cp -a "$TESTDIR/state.old" "$STATE"
before=$(state_digest)
manager_fails "start on the restored old copy" --host-tpm "$spec"
log "refusal: $(printf '%s\n' "$LAST_STDERR" | tail -n 1)"
assert_contains "$(printf '%s\n' "$LAST_STDERR" | tail -n 1)" ": error: rollback detected: $STATE/manifest" "start on the restored old copy"
assert_eq "$before" "$(state_digest)" "state directory after the rollback refusal"

log "restore the newest copy: works"
rm -rf "$STATE"
cp -a "$TESTDIR/state.newest" "$STATE"
start_manager "${args[@]}"
nv_expect "$u" "$idx" "$TESTDIR/d.new" "newest copy restored"
stop_manager
