#!/bin/bash
# test_busy_isolation: a vTPM busy with slow commands (RSA-2048
# CreatePrimary, ~70 ms each in libtpms) does not delay another vTPM.
# vTPM A runs twenty CreatePrimary in a row (about 0.4 s of TPM time here);
# while it is still at it, vTPM B answers 50 GetRandom from 50 connections
# opened at once.  The check is an ordering, not a stopwatch: B must be done
# before A's run ends.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

start_manager
a=$(create_vtpm)
b=$(create_vtpm)
assert_ok "first use of A" t2 getrandom "$a" 4 >/dev/null
assert_ok "first use of B" t2 getrandom "$b" 4 >/dev/null

# TPM2_CreatePrimary(owner, RSA-2048 storage key) with vtpm-client raw, so
# the loop costs no tool start-up and A's vtpmd is busy back to back.
cp_cmd=800200000043000001314000000100000009400000090000000000000400000000001a0001000b00030072000000060080004300100800000000000000000000000000
(
	for _ in $(seq 20); do
		client tpm --socket "$(sock "$a")" raw "$cp_cmd" >/dev/null || exit 1
	done
) &
busy=$!
track_pid "$busy"
sleep 0.05
out=$(client tpm --socket "$(sock "$b")" --clients 50 getrandom 8) || fail "B's 50 clients: $out"
assert_eq 50 "$(printf '%s\n' "$out" | grep -c .)" "responses for B's 50 clients"
kill -0 "$busy" 2>/dev/null || fail "A's CreatePrimary run ended before B's 50 GetRandom were answered: B waited for A"
wait "$busy" || fail "A's CreatePrimary commands failed"
