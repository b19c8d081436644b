#!/bin/bash
# test_hang_vtpmd: per-command deadlines.  A vtpmd stuck in a command (the
# test-only --test-delay=ORDINAL:MS keeps it there; then it is SIGSTOPped
# too) is SIGKILLed once the command's deadline passes: command_timeout
# (here 3 s, from the config file) for every command, and 10 s for commands
# that cannot take long (GetRandom, PCR_Extend, StirRandom, ...) when
# command_timeout is larger.  The client of a held (SET_DATAFD) connection
# gets a TPM error response and its next command restarts the vtpmd; a
# client the vtpmd accepted itself sees its connection close.  A vtpmd
# SIGSTOPped between commands is caught by the deadline of the next FIFO
# command.  A slow command that is not in the short list may run past 10 s.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

GETRANDOM8=80010000000c0000017b0008
STARTUP_CLEAR=80010000000c000001440000
STIRRANDOM0=80010000000c000001460000 # TPM2_StirRandom, 0 bytes (in the short list)
SELFTEST=80010000000b0000014300      # TPM2_SelfTest(NO) (not in the short list)
RC_FAILURE=80010000000a00000101

ms() { echo $(($(date +%s%N) / 1000000)); }

# within VALUE LOW HIGH MESSAGE
within() {
	if [ "$1" -lt "$2" ] || [ "$1" -gt "$3" ]; then
		fail "$4"
	fi
}

expect_random8() {
	assert_match '80010000001400000000 0008[0-9a-f]{16}' "${2:0:20} ${2:20}" "$1"
}

printf '# test\ncommand_timeout = 3\n' >"$TESTDIR/vtpm.conf"
VTPM_TEST_VTPMD_FLAG=--test-delay=0x146:60000 start_manager --config "$TESTDIR/vtpm.conf" \
	--backend fifo
u=$(create_vtpm)
C=$RUN/$u.sock.ctrl
inst=$(json_field "$u" instance)

held_start "$C"
assert_eq 00000000 "$(client ctrl --socket "$C" init)" "INIT"
assert_eq 80010000000a00000000 "$(held_cmd "$STARTUP_CLEAR")" "TPM2_Startup"
expect_random8 "GetRandom on the held connection" "$(held_cmd "$GETRANDOM8")"

log "a vtpmd stuck in a command, then SIGSTOPped: killed after command_timeout (3 s)"
pid=$(vtpmd_pids)
off=$(stat -c %s "$MGR_LOG")
t0=$(ms)
held_send "$STIRRANDOM0"
wait_log "$off" "test: command 0x146 delayed" 20 || fail "the slow command never started"
kill -STOP "$pid"
r=$(held_recv 20)
t=$(($(ms) - t0))
assert_eq "$RC_FAILURE" "$r" "the hung command's answer"
within "$t" 2900 6000 "answered after $t ms, expected 3000 ms + a tick"
l=$(log_since "$off" | grep "vtpmd pid $pid killed by deadline") ||
	fail "no 'killed by deadline' line for pid $pid: $(log_since "$off" | tail -n 5)"
assert_contains "$l" "TPM command 0x146" "the deadline line names the command"
assert_contains "$l" "limit 3000 ms" "the deadline line names the limit"
assert_contains "$l" "was killed by signal 9 (SIGKILL)" "the deadline line names the signal"
wait_gone "$pid" 5 || fail "the hung vtpmd is still there"
expect_random8 "the next command on the held connection" "$(held_cmd "$GETRANDOM8")"
assert_eq running "$(json_field "$u" state)" "state after the restart"

log "a vtpmd SIGSTOPped between commands: the next FIFO command's deadline"
pid=$(vtpmd_pids)
kill -STOP "$pid"
off=$(stat -c %s "$MGR_LOG")
t0=$(ms)
r=$(client fifo --dir "$RUN/fifo" --instance "$inst" --timeout 20000 --expect 0x101 raw "$GETRANDOM8") ||
	fail "FIFO GetRandom to a stopped vtpmd: no answer"
t=$(($(ms) - t0))
assert_eq "$RC_FAILURE" "$r" "the FIFO command's answer"
within "$t" 2900 6000 "answered after $t ms, expected 3000 ms + a tick"
assert_contains "$(log_since "$off")" "killed by deadline: no answer to TPM command 0x17b" \
	"the deadline line"
r=$(client fifo --dir "$RUN/fifo" --instance "$inst" getrandom 8) || fail "FIFO GetRandom after the restart"
expect_random8 "the held connection after the FIFO restart" "$(held_cmd "$GETRANDOM8")"
held_stop
stop_manager

log "command_timeout 30: a short-list command still gets 10 s; its accepted client sees a close"
VTPM_TEST_VTPMD_FLAG=--test-delay=0x146:60000 start_manager --command-timeout 30
off=$(stat -c %s "$MGR_LOG")
t0=$(ms)
assert_fails "StirRandom on a connection the vtpmd accepted" \
	client tpm --socket "$(sock "$u")" --timeout 30000 raw "$STIRRANDOM0"
t=$(($(ms) - t0))
assert_eq 1 "$LAST_RC" "vtpm-client's status (1: no reply) for the killed vtpmd's connection"
assert_contains "$LAST_STDERR" "connection closed" "vtpm-client's message"
within "$t" 9900 14000 "connection closed after $t ms, expected 10000 ms + a tick"
assert_contains "$(log_since "$off")" "limit 10000 ms" "the deadline of a short-list command"
assert_ok "tpm2_getrandom after the restart" t2 getrandom "$u" 8 --hex >/dev/null
stop_manager

log "command_timeout 30: a command not in the short list may run 12 s"
VTPM_TEST_VTPMD_FLAG=--test-delay=0x143:12000 start_manager --command-timeout 30
off=$(stat -c %s "$MGR_LOG")
r=$(client tpm --socket "$(sock "$u")" --timeout 30000 raw "$SELFTEST") || fail "SelfTest delayed by 12 s"
assert_eq 80010000000a00000000 "$r" "SelfTest's answer"
assert_not_contains "$(log_since "$off")" "killed by deadline" "the manager log"
stop_manager
