#!/bin/bash
# test_crash_loop: a vtpmd that dies at once every time (the test-only flag
# --test-crash: abort() right after READY) is restarted by each new command
# until it has crashed more than 5 times within 60 s; then the vTPM is
# "failed" with a "crash loop" reason in `vtpmctl show` and `list`, the
# held (SET_DATAFD) connection's command gets a TPM error response instead
# of yet another restart, a tpm2-tools client is refused, and `vtpmctl stop`
# clears the failure (the kept connection goes with it).  Another vTPM is
# not affected.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

GETRANDOM8=80010000000c0000017b0008
RC_FAILURE=80010000000a00000101

VTPM_TEST_VTPMD_FLAG=--test-crash start_manager
u=$(create_vtpm)
C=$RUN/$u.sock.ctrl

log "a held connection to a vTPM whose vtpmd always crashes"
off=$(stat -c %s "$MGR_LOG")
held_start "$C"
r=$(held_cmd "$GETRANDOM8" 30)
assert_eq "$RC_FAILURE" "$r" "the command's answer once the vTPM failed"
assert_eq failed "$(json_field "$u" state)" "state"
reason=$(json_field "$u" reason)
assert_contains "$reason" "crash loop: vtpmd died 6 times within 60 s" "reason in list --json"
assert_contains "$reason" "SIGABRT" "the reason names the signal"
assert_contains "$(vtpmctl show "$u")" "crash loop" "vtpmctl show"
n=$(log_since "$off" | count_ere "vtpmd pid [0-9]+ crashed \(channel closed\): was killed by signal 6 \(SIGABRT\)")
assert_eq 6 "$n" "crashes logged with their signal"
assert_contains "$(log_since "$off")" "crash loop, not restarting it" "the manager log"

log "failed: no more restarts; commands are answered with errors"
off=$(stat -c %s "$MGR_LOG")
assert_eq "$RC_FAILURE" "$(held_cmd "$GETRANDOM8" 10)" "a command on the held connection"
assert_eq "$RC_FAILURE" "$(held_cmd "$GETRANDOM8" 10)" "and another"
assert_fails "tpm2_getrandom on the failed vTPM" t2 getrandom "$u" 8
assert_not_contains "$(log_since "$off")" "started vtpmd" "the manager log while failed"
[ -z "$(vtpmd_pids)" ] || fail "a vtpmd runs for the failed vTPM"

log "vtpmctl stop clears it and closes the kept connection"
assert_ok "vtpmctl stop" vtpmctl stop "$u"
assert_eq stopped "$(json_field "$u" state)" "state after vtpmctl stop"
assert_eq "" "$(json_field "$u" reason)" "reason after vtpmctl stop"
assert_match 'closed.*' "$(held_cmd "$GETRANDOM8" 5)" "the held connection after vtpmctl stop"
held_stop
off=$(stat -c %s "$MGR_LOG")
# The vtpmd still aborts on purpose after READY (--test-crash), so what the
# client gets does not matter here: only that the use starts a vtpmd again.
client tpm --socket "$(sock "$u")" --timeout 5000 getrandom 8 >/dev/null 2>&1 || true
wait_log "$off" "started vtpmd" 10 || fail "the next use after vtpmctl stop started no vtpmd"
manager_alive || fail "the manager died"
stop_manager

log "without the flag, the vTPM works again"
start_manager
assert_ok "tpm2_getrandom" t2 getrandom "$u" 8 --hex >/dev/null
assert_eq running "$(json_field "$u" state)" "state"
stop_manager
