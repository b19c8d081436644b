#!/bin/bash
# test_manager_crash_load: kill -9 of the manager while eight vTPMs take NV
# writes.  Every vtpmd notices its channel close and exits; after a restart
# every vTPM comes back from its last acknowledged state: the NV value is
# the last write a client saw succeed, or the one after it (in flight when
# the manager died, so either outcome is correct), never older and never
# anything else.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

N=8
start_manager
declare -a U
for k in $(seq 1 $N); do
	U[k]=$(create_vtpm)
	assert_ok "nvdefine on vTPM $k" client tpm --socket "$(sock "${U[k]}")" nvdefine 0x1500016 8 >/dev/null
done

writer() { # k: writes 1, 2, 3 ... until a write fails; records each success
	local k=$1 i
	for i in $(seq 1 100000); do
		"$CLIENT" tpm --socket "$(sock "${U[k]}")" --timeout 5000 \
			nvwrite 0x1500016 "$(printf '%016x' "$i")" >/dev/null 2>&1 || return 0
		echo "$i" >"$TESTDIR/ack.$k"
	done
}
pids=()
for k in $(seq 1 $N); do
	writer "$k" &
	pids+=($!)
	track_pid "$!"
done
sleep 2
kill9_manager
# The writers fail when their manager dies under them; what counts is what
# each one saw acknowledged (checked below).
for p in "${pids[@]}"; do wait "$p" || true; done
for p in $ORPHANS; do
	wait_gone "$p" 5 || fail "vtpmd $p outlived the manager by 5 s"
done

start_manager
for k in $(seq 1 $N); do
	ack=$(cat "$TESTDIR/ack.$k" 2>/dev/null || echo 0)
	[ "$ack" -gt 0 ] || fail "vTPM $k: no write was acknowledged in 2 s"
	got=$(client tpm --socket "$(sock "${U[k]}")" nvread 0x1500016 8) || fail "vTPM $k: nvread after restart"
	v=$((16#$got))
	if [ "$v" != "$ack" ] && [ "$v" != $((ack + 1)) ]; then
		fail "vTPM $k: NV holds $v, the last acknowledged write was $ack"
	fi
	log "vTPM $k: last acknowledged $ack, found $v"
done
