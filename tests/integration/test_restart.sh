#!/bin/bash
# test_restart: NV contents survive an orderly manager restart (SIGTERM) and
# a kill -9 of the manager.  When the manager is killed, its vtpmd processes
# must exit by themselves within 5 s (any orphan is killed and reported).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

idx=0x1500016

nv_check() { # UUID FILE WHAT
	rm -f "$TESTDIR/readback"
	assert_ok "$3: nvread" t2 nvread "$1" "$idx" -C o -s 32 -o "$TESTDIR/readback"
	cmp -s "$2" "$TESTDIR/readback" ||
		fail "$3: nvread returned $(xxd -p -c 64 "$TESTDIR/readback"), expected $(xxd -p -c 64 "$2")"
}

start_manager
u=$(create_vtpm)
assert_ok "nvdefine" t2 nvdefine "$u" "$idx" -C o -s 32 -a "ownerread|ownerwrite" >/dev/null
head -c 32 /dev/urandom >"$TESTDIR/d1"
assert_ok "nvwrite" t2 nvwrite "$u" "$idx" -C o -i "$TESTDIR/d1"

log "orderly restart"
stop_manager
start_manager
nv_check "$u" "$TESTDIR/d1" "after SIGTERM + restart"

log "kill -9 of the manager"
head -c 32 /dev/urandom >"$TESTDIR/d2"
assert_ok "nvwrite before kill -9" t2 nvwrite "$u" "$idx" -C o -i "$TESTDIR/d2"
kill9_manager
[ -n "$ORPHANS" ] || fail "no vtpmd was running before the kill -9 (it served nvwrite just before)"
for p in $ORPHANS; do
	if ! wait_gone "$p" 5; then
		kill -KILL "$p" 2>/dev/null || true # best effort; the test fails anyway
		fail "vtpmd $p still running 5 s after its manager was killed with SIGKILL"
	fi
done
start_manager
nv_check "$u" "$TESTDIR/d2" "after kill -9 + restart"

log "the vTPM still takes writes after the crash"
head -c 32 /dev/urandom >"$TESTDIR/d3"
assert_ok "nvwrite after restart" t2 nvwrite "$u" "$idx" -C o -i "$TESTDIR/d3"
stop_manager
start_manager
nv_check "$u" "$TESTDIR/d3" "after the second orderly restart"
