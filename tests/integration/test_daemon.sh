#!/bin/bash
# test_daemon: background mode.  Without --foreground the daemon forks; the
# parent exits 0 only once the child has bound its sockets and written
# <run-dir>/vtpm_managerd.pid; SIGTERM to that pid stops it and removes the
# pidfile and sockets.  A start that fails in the background makes the
# parent exit non-zero, and the reason reaches its stderr (not only syslog).  A second daemon on the same run or state directory
# is refused.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

"$BUILD/vtpm_managerd" --state-dir "$STATE" --run-dir "$RUN" --host-tpm "keyfile:$KEY" ||
	fail "background start exited $?"
[ -f "$RUN/vtpm_managerd.pid" ] || fail "no pidfile after the parent returned"
pid=$(cat "$RUN/vtpm_managerd.pid")
track_pid "$pid"
if ! [[ $pid =~ ^[0-9]+$ ]] || ! kill -0 "$pid"; then
	fail "pidfile names '$pid', not a live process"
fi
[ -S "$RUN/vtpm_managerd.sock" ] || fail "control socket missing although the parent returned"
u=$(create_vtpm)
r=$(t2 getrandom "$u" 8 --hex) || fail "tpm2_getrandom through the background daemon"
assert_match '[0-9a-f]{16}' "$r" "GetRandom through the background daemon"

log "a second daemon on the same directories is refused"
if "$BUILD/vtpm_managerd" --foreground --state-dir "$STATE" --run-dir "$RUN" \
	--host-tpm "keyfile:$KEY" 2>"$TESTDIR/second.log"; then
	fail "a second daemon on the same run directory started"
fi
assert_contains "$(cat "$TESTDIR/second.log")" "in use by another vtpm_managerd" "second daemon's error"
if "$BUILD/vtpm_managerd" --foreground --state-dir "$STATE" --run-dir "$TESTDIR/run2" \
	--host-tpm "keyfile:$KEY" 2>"$TESTDIR/third.log"; then
	fail "a second daemon on the same state directory started"
fi
assert_contains "$(cat "$TESTDIR/third.log")" "in use by another vtpm_managerd" "third daemon's error"

log "SIGTERM"
kill -TERM "$pid"
wait_gone "$pid" 10 || fail "daemon alive 10 s after SIGTERM"
[ ! -e "$RUN/vtpm_managerd.pid" ] || fail "pidfile left behind"
[ ! -e "$RUN/vtpm_managerd.sock" ] || fail "control socket left behind"
[ ! -e "$RUN/$u.sock" ] || fail "vTPM socket left behind"

log "a failing background start makes the parent exit non-zero, saying why on stderr"
chmod 0644 "$KEY"
if "$BUILD/vtpm_managerd" --state-dir "$STATE" --run-dir "$RUN" --host-tpm "keyfile:$KEY" \
	2>"$TESTDIR/bg.err"; then
	fail "background start with a world-readable key file returned 0"
fi
assert_contains "$(cat "$TESTDIR/bg.err")" "key file $KEY is readable by group or others" \
	"the failed background start's stderr"
chmod 0600 "$KEY"
mkdir -p "$TESTDIR/badrun"
chown nobody "$TESTDIR/badrun"
if "$BUILD/vtpm_managerd" --state-dir "$STATE" --run-dir "$TESTDIR/badrun" \
	--host-tpm "keyfile:$KEY" 2>"$TESTDIR/bg2.err"; then
	fail "background start with a run directory owned by nobody returned 0"
fi
assert_contains "$(cat "$TESTDIR/bg2.err")" "run directory $TESTDIR/badrun must be owned by uid 0" \
	"the failed background start's stderr"
