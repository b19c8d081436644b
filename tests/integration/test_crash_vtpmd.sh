#!/bin/bash
# test_crash_vtpmd: kill -9 of a vtpmd in the middle of a command on a
# QEMU-like connection (passed with SET_DATAFD, held by the manager too):
# the client gets a 10-byte TPM error response at once (TPM_RC_FAILURE with
# tag 0x8001 for 2.0, TPM_FAIL with tag 0x00c4 for 1.2), the manager logs the
# crash with the signal, and the next command on the SAME connection
# restarts the vtpmd from its saved state, powered on and started: NV is
# intact, PCRs are reset (volatile state is not saved on a crash).  A
# tpm2-tools client works afterwards too.  The command is kept in flight by
# the test-only vtpmd flag --test-delay=ORDINAL:MS (StirRandom, which no
# tool sends, takes a minute).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

GETRANDOM8=80010000000c0000017b0008
STARTUP_CLEAR=80010000000c000001440000
STIRRANDOM0=80010000000c000001460000 # TPM2_StirRandom, 0 bytes
RC_FAILURE=80010000000a00000101

# expect_random8 WHAT HEX: a successful TPM2_GetRandom(8) response.
expect_random8() {
	assert_match '80010000001400000000 0008[0-9a-f]{16}' "${2:0:20} ${2:20}" "$1"
}

VTPM_TEST_VTPMD_FLAG=--test-delay=0x146:60000 start_manager
u=$(create_vtpm)
C=$RUN/$u.sock.ctrl
ctrl() { client ctrl --socket "$C" "$@"; }

log "QEMU's start-up sequence on a held connection"
held_start "$C"
assert_eq 00000000 "$(ctrl init)" "INIT"
assert_eq 80010000000a00000000 "$(held_cmd "$STARTUP_CLEAR")" "TPM2_Startup on the held connection"
expect_random8 "GetRandom on the held connection" "$(held_cmd "$GETRANDOM8")"

log "before the crash: NV written and PCR 16 extended (tpm2-tools, same vtpmd)"
assert_ok "nvdefine" t2 nvdefine "$u" 0x1500020 -C o -s 8 -a "ownerread|ownerwrite" >/dev/null
printf 'CRASHNV!' >"$TESTDIR/nv.dat"
nv_put "$u" 0x1500020 "$TESTDIR/nv.dat"
assert_ok "pcrextend" t2 pcrextend "$u" "16:sha256=$(printf '%064d' 1)"
pcr_before=$(t2 pcrread "$u" sha256:16) || fail "pcrread before the crash"
assert_not_contains "$pcr_before" "0x0000000000000000000000000000000000000000000000000000000000000000" \
	"PCR 16 after the extend"
pid=$(vtpmd_pids)
assert_match '[0-9]+' "$pid" "one vtpmd"

log "kill -9 of the vtpmd while a command executes"
off=$(stat -c %s "$MGR_LOG")
held_send "$STIRRANDOM0"
wait_log "$off" "test: command 0x146 delayed" 20 || fail "the slow command never started"
kill -KILL "$pid"
r=$(held_recv 10)
assert_eq "$RC_FAILURE" "$r" "the in-flight command's answer (TPM_RC_FAILURE, tag 0x8001)"
wait_log "$off" "vtpmd pid $pid crashed" 10 || fail "no crash log line for pid $pid"
l=$(log_since "$off" | grep "vtpmd pid $pid crashed")
assert_contains "$l" "was killed by signal 9 (SIGKILL)" "the crash log line names the signal"
assert_contains "$(log_since "$off")" "answered TPM command 0x146 in flight on kept data connection" \
	"the manager logs the error response"
wait_gone "$pid" 5 || fail "the killed vtpmd is still there"
[ -z "$(vtpmd_pids)" ] || fail "a vtpmd was restarted before the next command"

log "the next command on the same connection restarts the vtpmd"
expect_random8 "GetRandom after the crash" "$(held_cmd "$GETRANDOM8")"
pid2=$(vtpmd_pids)
assert_match '[0-9]+' "$pid2" "one new vtpmd"
assert_ne "$pid" "$pid2" "the vtpmd pid"
assert_eq running "$(json_field "$u" state)" "state after the restart"

log "NV intact, PCRs reset, tpm2-tools works"
nv_expect "$u" 0x1500020 "$TESTDIR/nv.dat" "after the crash"
pcr_after=$(t2 pcrread "$u" sha256:16) || fail "pcrread after the crash"
assert_contains "$pcr_after" "0x0000000000000000000000000000000000000000000000000000000000000000" \
	"PCR 16 after the crash (volatile state is lost)"
assert_ok "tpm2_getrandom after the crash" t2 getrandom "$u" 8 --hex >/dev/null
expect_random8 "the held connection once more" "$(held_cmd "$GETRANDOM8")"

log "vtpmctl stop closes the kept connection"
assert_ok "vtpmctl stop" vtpmctl stop "$u"
assert_match 'closed.*' "$(held_cmd "$GETRANDOM8" 5)" "the held connection after vtpmctl stop"
manager_alive || fail "the manager died"
stop_manager

log "TPM 1.2: TPM_FAIL with tag 0x00c4"
held_stop
VTPM_TEST_VTPMD_FLAG=--test-delay=0x47:60000 start_manager
u12=$(create_vtpm --tpm-version 1.2)
C=$RUN/$u12.sock.ctrl
held_start "$C"
assert_eq 00000000 "$(ctrl init)" "INIT (1.2)"
assert_eq 00c40000000a00000000 "$(held_cmd 00c10000000c000000990001)" "TPM_Startup(ST_CLEAR)"
pid=$(vtpmd_pids)
off=$(stat -c %s "$MGR_LOG")
held_send 00c10000000e0000004700000000 # TPM_StirRandom, 0 bytes
wait_log "$off" "test: command 0x47 delayed" 20 || fail "the slow 1.2 command never started"
kill -KILL "$pid"
assert_eq 00c40000000a00000009 "$(held_recv 10)" "the in-flight 1.2 command's answer"
r=$(held_cmd 00c10000000e0000004600000008) # TPM_GetRandom(8)
assert_match '00c40000001600000000 00000008[0-9a-f]{16}' "${r:0:20} ${r:20}" "TPM_GetRandom after the crash"
stop_manager
