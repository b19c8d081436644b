#!/bin/bash
# test_cancel: CANCEL_TPM_CMD on <uuid>.sock.ctrl is answered by the manager
# (a vtpmd executing a command does not read its channel): result 0 for TPM
# 2.0, at once, also while a command executes; then the manager signals the
# vtpmd (SIGUSR1), whose handler calls TPMLIB_CancelCommand(), and the
# command's response still arrives.  Whether libtpms honours a cancel
# depends on the command (it polls the flag in RSA key derivation and ECC
# signing only), so a real key generation with cancels fired at it may end
# either way (success or TPM_RC_CANCELED); the vTPM must carry on.  With
# nothing executing, or no vtpmd, CANCEL is answered 0 and signals nothing;
# TPM 1.2 gets TPM_FAIL (libtpms has no 1.2 cancel; swtpm answers the same).
# The command is kept executing by the test-only --test-delay flag.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

GETRANDOM8=80010000000c0000017b0008
STARTUP_CLEAR=80010000000c000001440000
STIRRANDOM0=80010000000c000001460000 # TPM2_StirRandom, 0 bytes
CANCEL=00000009

VTPM_TEST_VTPMD_FLAG=--test-delay=0x146:3000 start_manager
u=$(create_vtpm)
C=$RUN/$u.sock.ctrl
ctrl() { client ctrl --socket "$C" "$@"; }

log "CANCEL with no vtpmd: 0, and nothing starts"
assert_eq 00000000 "$(ctrl raw "$CANCEL")" "CANCEL on a stopped vTPM"
[ -z "$(vtpmd_pids)" ] || fail "CANCEL started a vtpmd"

held_start "$C"
assert_eq 00000000 "$(ctrl init)" "INIT"
assert_eq 80010000000a00000000 "$(held_cmd "$STARTUP_CLEAR")" "TPM2_Startup"

log "CANCEL while idle: 0, no signal"
off=$(stat -c %s "$MGR_LOG")
assert_eq 00000000 "$(ctrl raw "$CANCEL")" "CANCEL while idle"
assert_not_contains "$(log_since "$off")" "cancel of TPM command" "the manager log"

log "CANCEL while a command executes: 0 at once, the vtpmd is signalled, the response arrives"
pid=$(vtpmd_pids)
off=$(stat -c %s "$MGR_LOG")
held_send "$STIRRANDOM0"
wait_log "$off" "test: command 0x146 delayed" 20 || fail "the slow command never started"
t0=$(date +%s%N)
r=$(ctrl raw "$CANCEL") || fail "CANCEL during the command"
t=$((($(date +%s%N) - t0) / 1000000))
assert_eq 00000000 "$r" "CANCEL during the command"
[ "$t" -lt 1500 ] || fail "CANCEL took $t ms: it waited for the command"
r=$(held_recv 20)
assert_match '80010000000a[0-9a-f]{8}' "$r" "the cancelled command's response (any result)"
assert_contains "$(log_since "$off")" "cancel of TPM command 0x146 passed to vtpmd pid $pid" \
	"the manager log"
wait_log "$off" "cancel signal received while executing command 0x146" 5 ||
	fail "the vtpmd did not report the cancel signal"
assert_eq "$pid" "$(vtpmd_pids)" "the vtpmd survives SIGUSR1 (same pid)"
r=$(held_cmd "$GETRANDOM8")
assert_match '80010000001400000000 0008[0-9a-f]{16}' "${r:0:20} ${r:20}" "GetRandom after the cancel"

log "CANCELs fired at a real RSA primary key generation"
# Either libtpms notices (TPM_RC_CANCELED, 0x909) or the key is made; the
# vTPM must carry on either way.
t2 createprimary "$u" -C o -G rsa2048 -c "$TESTDIR/primary.ctx" >"$TESTDIR/cp.out" 2>&1 &
cp=$!
for _ in $(seq 200); do
	kill -0 "$cp" 2>/dev/null || break
	assert_eq 00000000 "$(ctrl raw "$CANCEL")" "CANCEL during CreatePrimary"
done
rc=0
wait "$cp" || rc=$?
if [ "$rc" = 0 ]; then
	log "  CreatePrimary completed"
else
	assert_contains "$(cat "$TESTDIR/cp.out")" "0x909" "tpm2_createprimary's error (TPM_RC_CANCELED)"
	log "  CreatePrimary was cancelled (TPM_RC_CANCELED)"
fi
assert_ok "tpm2_getrandom after the cancels" t2 getrandom "$u" 8 --hex >/dev/null
assert_eq "$pid" "$(vtpmd_pids)" "the vtpmd after the cancels (same pid)"

log "TPM 1.2: TPM_FAIL, as from swtpm"
u12=$(create_vtpm --tpm-version 1.2)
r=$(client ctrl --socket "$RUN/$u12.sock.ctrl" --expect 9 raw "$CANCEL") || fail "CANCEL on TPM 1.2: $r"
assert_eq 00000009 "$r" "CANCEL on TPM 1.2"
manager_alive || fail "the manager died"
held_stop
stop_manager
