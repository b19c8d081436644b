#!/bin/bash
# test_rundir: the run directory (sockets, pidfile, FIFOs, vtpmd's empty root)
# gets the same trust checks as the state directory, since whoever can write
# to it can swap what the manager creates there for a symlink (and have root
# chmod/chown any file through it) or bind a listener of their own at a
# vTPM's socket name.  The manager refuses to start, with one line naming the
# directory and what to fix, when the run directory is owned by another user,
# is writable by group or others, is a symlink, or sits below a directory
# that others can write to without the sticky bit; the state directory is
# held to the same rules for its ancestors.  A run directory inside a sticky
# world-writable directory (like /tmp) is fine.  Once running, the sockets
# of a vTPM carry the configured mode and group.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"


# refused WHAT PATTERN [manager args]: the start fails, its stderr says PATTERN.
refused() {
	local what=$1 pat=$2
	shift 2
	manager_fails "$what" "$@"
	assert_contains "$LAST_STDERR" "$pat" "$what: the manager's reason"
	log "  $what: $(printf '%s\n' "$LAST_STDERR" | grep -m1 'error')"
}

log "run directory owned by another user"
mkdir -p "$RUN"
chown nobody "$RUN"
refused "run dir owned by nobody" "run directory $RUN must be owned by uid 0"
chown root "$RUN"

log "run directory writable by others"
chmod 0777 "$RUN"
refused "run dir mode 0777" "mode 777"
chmod 0775 "$RUN"
refused "run dir mode 0775 (group-writable)" "mode 775"
chmod 0755 "$RUN"

log "run directory given as a symlink"
ln -s "$RUN" "$TESTDIR/runlink"
refused "run dir as a symlink" "is a symlink" --run-dir "$TESTDIR/runlink"

log "run directory below a directory others can write to"
mkdir -p "$TESTDIR/open"
chmod 0777 "$TESTDIR/open"
refused "run dir inside a 0777 parent" "inside $TESTDIR/open" --run-dir "$TESTDIR/open/run"
refused "state dir inside a 0777 parent" "inside $TESTDIR/open" --state-dir "$TESTDIR/open/state"
[ ! -e "$TESTDIR/open/run/vtpm_managerd.sock" ] || fail "a refused manager created its control socket"

log "inside a sticky world-writable directory (like /tmp): fine"
mkdir -p "$TESTDIR/sticky"
chmod 1777 "$TESTDIR/sticky"
RUN=$TESTDIR/sticky/run
start_manager --socket-group nogroup
u=$(create_vtpm)
assert_eq "660 root nogroup" "$(stat -c '%a %U %G' "$RUN/$u.sock")" "mode and owner of $u.sock"
assert_eq "660 root nogroup" "$(stat -c '%a %U %G' "$RUN/$u.sock.ctrl")" "mode and owner of $u.sock.ctrl"
assert_eq "600 root" "$(stat -c '%a %U' "$RUN/vtpm_managerd.sock")" "mode and owner of the vtpmctl socket"
assert_ok "use" t2 getrandom "$u" 8 --hex >/dev/null
stop_manager
