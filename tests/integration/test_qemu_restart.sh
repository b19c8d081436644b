#!/bin/bash
# test_qemu_restart: a real Linux guest under QEMU (TCG, tpm-tis, TPM 2.0)
# loops TPM commands (GetRandom, PCR_Extend, NV_Write through /dev/tpmrm0)
# while the manager is (a) restarted the way `systemctl restart` does it
# (SIGTERM, then a new manager) and (b) killed with SIGKILL and started
# again.  The guest must see no failed command, its kernel must not
# complain about the TPM, QEMU must not report a TPM problem, and the loop
# must make progress after each restart (issue 11).  The last NV write is
# read back by the guest.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../guest/boot.sh
. "$(dirname "$0")/../guest/boot.sh"

LOOP=${QEMU_RESTART_LOOP:-25}
GUEST_TIMEOUT=$((LOOP + 60))
guest_prepare
start_manager
u=$(create_vtpm)

ticks() { tr -d '\r' <"$TESTDIR/loop.serial" | count_ere '^VTPM tick='; }
wait_ticks() { # N: until the guest finished N more rounds
	local want=$(($(ticks) + $1)) i
	for ((i = 0; i < 300; i++)); do
		[ "$(ticks)" -ge "$want" ] && return 0
		kill -0 "$GUEST_QPID" 2>/dev/null || fail "QEMU exited while waiting for rounds: $(tail -n 5 "$TESTDIR/loop.serial" | tr -d '\r')"
		sleep 0.1
	done
	fail "the guest did not finish $1 more rounds in 30 s (at $(ticks)): $(tail -n 5 "$TESTDIR/loop.serial" | tr -d '\r')"
}

guest_start loop "$u" tpm-tis loop "vtpmloop=$LOOP"
guest_wait_line loop '^VTPM tick=2' 60 || fail "the guest's loop did not start: $(tail -n 10 "$TESTDIR/loop.serial" | tr -d '\r')"

log "restart (SIGTERM + start) at round $(ticks)"
stop_manager
[ -n "$DETACHED" ] || fail "the manager left no vtpmd running for the guest"
start_manager
wait_ticks 3

log "kill -9 + start at round $(ticks)"
kill9_manager
sleep 1
start_manager
wait_ticks 3
log "round $(ticks) after both restarts"

guest_finish loop
guest_expect loop_failures 0
guest_expect_match loop_rounds '[0-9]+'
log "the guest made ${GUEST[loop_rounds]} rounds of 3 TPM commands each"
n=$(count_matches "adopted vtpmd pid" <"$MGR_LOG")
assert_eq 2 "$n" "adoptions in the manager's log"
stop_manager
