#!/bin/bash
# test_list_scale: `vtpmctl list` answers with any number of vTPMs (issue 9,
# finding 6: above about 5,850 the one-message reply outgrew the channel's
# 160 KiB cap and was never sent; vtpmctl waited forever).  A state
# directory with 6,000 vTPMs (written by tests/tools/vtpm-mkstate; this
# machine kind's hard limit of 20,000 descriptors is what caps the number a
# manager can serve, at 3 per vTPM) is served; `vtpmctl list` and
# `list --json` return all 6,000 within 30 s, in instance order, each once;
# `show` finds the last one.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

N=6000
out=$("$BUILD/vtpm-mkstate" --state "$STATE" --keyfile "$KEY" --count "$N") || fail "vtpm-mkstate: $out"
hard=$(ulimit -H -n)
[ "$hard" = unlimited ] || [ "$hard" -ge $((64 + 3 * N + 100)) ] ||
	skip "the hard open-files limit ($hard) is too low for $N vTPMs"
start_manager --max-connections 100
ms() { date +%s%N | cut -b1-13; }

t0=$(ms)
list=$(timeout 30 "$BUILD/vtpmctl" --run-dir "$RUN" list) || fail "vtpmctl list with $N vTPMs did not answer within 30 s"
t=$(($(ms) - t0))
log "vtpmctl list of $N vTPMs: $t ms"
assert_eq $((N + 1)) "$(printf '%s\n' "$list" | grep -c .)" "lines of vtpmctl list (header + one per vTPM)"
insts=$(printf '%s\n' "$list" | awk 'NR > 1 { print $2 }')
assert_eq "$(seq 1 "$N" | tr '\n' ' ')" "$(printf '%s\n' "$insts" | tr '\n' ' ')" "instances, in order, each once"

t0=$(ms)
n=$(timeout 30 "$BUILD/vtpmctl" --run-dir "$RUN" list --json |
	python3 -c 'import json, sys; d = json.load(sys.stdin); print(len({e["uuid"] for e in d}))') ||
	fail "vtpmctl list --json with $N vTPMs"
log "vtpmctl list --json of $N vTPMs: $(($(ms) - t0)) ms"
assert_eq "$N" "$n" "distinct UUIDs in list --json"
last=$(printf '%s\n' "$list" | tail -n 1 | awk '{ print $1 }')
assert_contains "$(vtpmctl show "$last")" "instance:    $N" "vtpmctl show of the last vTPM"
log "manager RSS with $N vTPMs: $(awk '/^VmRSS:/ { print $2, $3 }' "/proc/$MGR_PID/status")"
stop_manager
