#!/bin/bash
# test_vtpmd_signals: a compromised vtpmd cannot signal (stop, kill) or
# ptrace another vTPM's vtpmd (issue 9, finding 5).  Two managers on one
# host, each with its own per-vTPM uid range: the first runs vTPM B's vtpmd;
# the second starts a vtpmd with the test-only --test-syscall probe aimed at
# B's vtpmd: tgkill(SIGSTOP), kill(SIGSTOP) and ptrace(ATTACH) are all
# refused (the seccomp filter kills the prober: SIGSYS; without a filter,
# in sanitizer builds, the kernel says EPERM: different uids).  B's vtpmd is
# not stopped and still answers.  Each vtpmd runs as a uid of its own.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

start_manager
b=$(create_vtpm)
c=$(create_vtpm)
assert_ok "first use of B" t2 getrandom "$b" 8 --hex >/dev/null
assert_ok "first use of C" t2 getrandom "$c" 8 --hex >/dev/null
pids=$(vtpmd_pids | tr '\n' ' ')
read -r pb pc <<<"$pids"
[ -n "$pb" ] && [ -n "$pc" ] || fail "two vtpmds expected, got: $pids"
ub=$(awk '/^Uid:/ { print $2 }' "/proc/$pb/status")
uc=$(awk '/^Uid:/ { print $2 }' "/proc/$pc/status")
assert_ne "$ub" "$uc" "the uids of two vTPMs' vtpmds"
assert_ne 0 "$ub" "the uid of a vtpmd"

# A second manager with its own directories and uid range stands in for
# the compromised vTPM's manager: its vtpmd probes at B's vtpmd.
M1_PID=$MGR_PID
M1_LOG=$MGR_LOG
track_pid "$M1_PID" # (the EXIT trap kills only $MGR_PID and tracked pids)
MGR_PID=""
STATE=$TESTDIR/state2
RUN=$TESTDIR/run2
MGR_LOG=$TESTDIR/manager2.log
: >"$MGR_LOG"
seccomp=$("$BUILD/vtpmd" --features)
for probe in "tgkill:$pb" "kill:$pb" "ptrace:$pb"; do
	off=$(stat -c %s "$MGR_LOG")
	VTPM_TEST_VTPMD_FLAG=--test-syscall=$probe start_manager --vtpm-uid-base 1900000000
	a=$(create_vtpm)
	assert_fails "$probe: first use of the probing vTPM" client tpm --socket "$(sock "$a")" --timeout 10000 getrandom 8
	wait_log "$off" "ended during start-up" 10 || fail "$probe: the prober's end was not reported"
	line=$(log_since "$off" | grep -F "ended during start-up" | head -n 1)
	if [ "$seccomp" = "seccomp=yes" ]; then
		assert_contains "$line" "was killed by signal 31 (SIGSYS)" "$probe: how the prober ended"
	else
		assert_contains "$(log_since "$off")" "test-syscall $probe: refused: Operation not permitted" \
			"$probe: the prober's report (no seccomp in this build)"
	fi
	assert_not_contains "$(log_since "$off")" "ALLOWED" "$probe: the prober's report"
	stop_manager
	rm -rf "$STATE" "$RUN"
	assert_ne T "$(awk '/^State:/ { print $2 }' "/proc/$pb/status")" "$probe: B's vtpmd state"
	log "  $probe: refused"
done

MGR_PID=$M1_PID
_untrack_pid "$M1_PID"
MGR_LOG=$M1_LOG
STATE=$TESTDIR/state
RUN=$TESTDIR/run
assert_ok "B after the probes" t2 getrandom "$b" 8 --hex >/dev/null
assert_eq "$pb" "$(vtpmd_pids | head -n 1)" "B's vtpmd (the same process)"
stop_manager
