#!/bin/bash
# test_host_crash_commit: a swtpm --tpm2 host, --rollback-interval 1 (a
# commit, i.e. manifest write + counter increment, about every second while
# NV changes).  A writer does up to 50 tpm2_nvwrite calls, recording each
# acknowledged value; the manager is killed with SIGKILL in the middle, at
# a different point in each of 3 rounds.  Every restart must succeed (a
# crash never looks like a rollback) and the NV index must hold the last
# acknowledged value (or the one in flight at the kill, which may or may
# not have landed).  A final orderly restart checks the state once more.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

idx=0x1500050
start_host_swtpm2 host
spec=$(host_spec host)
args=(--host-tpm "$spec" --rollback-interval 1)

val() { printf '%016x' "$1" | xxd -r -p; } # 8 bytes, big-endian N

start_manager "${args[@]}"
u=$(create_vtpm)
assert_ok "nvdefine" t2 nvdefine "$u" "$idx" -C o -s 8 -a "ownerread|ownerwrite" >/dev/null
val 0 >"$TESTDIR/v"
nv_put "$u" "$idx" "$TESTDIR/v"

# writer BASE ACKFILE: writes BASE+1..BASE+50, after each acknowledged
# write puts its number in ACKFILE; stops at the first failure.
writer() {
	local i
	for ((i = $1 + 1; i <= $1 + 50; i++)); do
		val "$i" >"$TESTDIR/w.$i"
		t2 nvwrite "$u" "$idx" -C o -i "$TESTDIR/w.$i" 2>/dev/null || return 0
		echo "$i" >"$2.tmp"
		mv "$2.tmp" "$2"
		sleep 0.03 # spread the 50 writes over more than one commit interval
	done
}

base=0
round=0
for spec_kill in "8 0" "24 0.05" "40 0.11"; do
	round=$((round + 1))
	read -r after extra <<<"$spec_kill"
	ack=$TESTDIR/ack.$round
	echo "$base" >"$ack"
	writer "$base" "$ack" &
	wpid=$!
	track_pid "$wpid"
	# Kill once the writer has $after acknowledged writes, plus $extra s.
	for _ in $(seq 200); do
		[ "$(cat "$ack")" -lt $((base + after)) ] || break
		sleep 0.05
	done
	sleep "$extra"
	kill9_manager
	# The writer fails when its manager dies under it; what counts is the
	# last write it saw acknowledged, in $ack.
	wait "$wpid" || true
	last=$(cat "$ack")
	log "round $round: killed after $((last - base)) acknowledged writes (up to $last)"
	[ "$last" -ge $((base + after)) ] || fail "round $round: only $((last - base)) writes acknowledged before the kill"
	[ "$last" -lt $((base + 50)) ] || fail "round $round: the writer finished all 50 writes before the kill; not a mid-loop kill"
	for p in $ORPHANS; do
		wait_gone "$p" 5 || fail "round $round: vtpmd $p still running 5 s after the manager's SIGKILL"
	done

	off=$(stat -c %s "$MGR_LOG")
	start_manager "${args[@]}"
	since=$(log_since "$off")
	assert_not_contains "$since" "rollback detected" "round $round: restart log"
	assert_not_contains "$since" "rolled back" "round $round: restart log"
	assert_not_contains "$since" ": error: " "round $round: restart log"
	rm -f "$TESTDIR/got"
	assert_ok "round $round: nvread" t2 nvread "$u" "$idx" -C o -s 8 -o "$TESTDIR/got"
	got=$((16#$(xxd -p "$TESTDIR/got")))
	if [ "$got" != "$last" ] && [ "$got" != $((last + 1)) ]; then
		fail "round $round: NV holds $got after the restart; last acknowledged write was $last"
	fi
	log "round $round: NV holds $got"
	ctr=$(status_field rollback-counter)
	assert_eq "${ctr##* = }" "$(status_field manifest-sequence)" "round $round: manifest-sequence vs counter after the restart"
	base=$got
	# The vTPM takes writes again, and the next round continues from here.
	val "$base" >"$TESTDIR/v"
	nv_put "$u" "$idx" "$TESTDIR/v"
done

log "orderly restart at the end"
stop_manager
start_manager "${args[@]}"
nv_expect "$u" "$idx" "$TESTDIR/v" "after the final orderly restart"
stop_manager
