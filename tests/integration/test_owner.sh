#!/bin/bash
# test_owner: per-vTPM access.  `vtpmctl create --owner USER[:GROUP]` and
# `vtpmctl set-owner UUID USER[:GROUP]|none` make that vTPM's two sockets
# reachable by that user (and group) alone: another unprivileged user, even
# one in socket_group, gets EACCES, while a vTPM without an owner keeps the
# socket_group default.  The owner survives a manager restart (it is in the
# manifest), shows in `vtpmctl show` and `list --json`, and an unknown user
# is refused by vtpmctl with one line.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v setpriv >/dev/null || skip "setpriv (util-linux) is not installed"
getent passwd daemon >/dev/null || skip "no 'daemon' user to test with"
getent group nogroup >/dev/null || skip "no 'nogroup' group to test with"

# as USER GROUP CMD...: CMD as that user and group, no supplementary groups.
as() {
	local u=$1 g=$2
	shift 2
	setpriv --reuid="$u" --regid="$g" --clear-groups --inh-caps=-all "$@"
}
# reach AS_USER AS_GROUP UUID: GetRandom through the vTPM's sockets as them.
reach() { as "$1" "$2" timeout 20 tpm2_getrandom -T "$(tcti "$3")" --hex 8 >/dev/null 2>&1; }

# Other users must be able to reach the run directory at all.
chmod 0755 "$TESTDIR"
start_manager --socket-group daemon
a=$(create_vtpm --owner nobody:nogroup)
b=$(create_vtpm --owner nobody)
c=$(create_vtpm)

log "create --owner: the sockets belong to the owner"
for s in "$a.sock" "$a.sock.ctrl"; do
	assert_eq "660 nobody nogroup" "$(stat -c '%a %U %G' "$RUN/$s")" "mode and owner of $s"
done
for s in "$b.sock" "$b.sock.ctrl"; do
	assert_eq "600 nobody root" "$(stat -c '%a %U %G' "$RUN/$s")" "mode and owner of $s"
done
for s in "$c.sock" "$c.sock.ctrl"; do
	assert_eq "660 root daemon" "$(stat -c '%a %U %G' "$RUN/$s")" "mode and owner of $s (socket_group)"
done
reach nobody nogroup "$a" || fail "the owner cannot use vTPM A"
reach nobody nogroup "$b" || fail "the owner cannot use vTPM B"
# daemon is socket_group: it reaches C, but neither A nor B.
reach daemon daemon "$c" || fail "socket_group cannot use vTPM C (no owner)"
if reach daemon daemon "$a"; then fail "socket_group reached vTPM A, which has an owner"; fi
if reach daemon daemon "$b"; then fail "socket_group reached vTPM B, which has an owner"; fi
if reach nobody nogroup "$c"; then fail "nobody (not in socket_group) reached vTPM C"; fi
assert_contains "$(vtpmctl show "$a")" "owner:       nobody:nogroup" "vtpmctl show A"
assert_eq "nobody:nogroup" "$(json_field "$a" owner)" "owner in list --json"
assert_eq "" "$(json_field "$c" owner)" "owner of C in list --json"

log "set-owner: the sockets change hands at once, and after a restart"
assert_ok "set-owner" vtpmctl set-owner "$a" daemon:daemon
assert_eq "660 daemon daemon" "$(stat -c '%a %U %G' "$RUN/$a.sock")" "A's socket after set-owner"
reach daemon daemon "$a" || fail "the new owner cannot use vTPM A"
if reach nobody nogroup "$a"; then fail "the old owner still reaches vTPM A"; fi
stop_manager
start_manager --socket-group daemon
assert_eq "660 daemon daemon" "$(stat -c '%a %U %G' "$RUN/$a.sock.ctrl")" "A's control socket after a restart"
reach daemon daemon "$a" || fail "the owner cannot use vTPM A after a restart"
assert_ok "set-owner none" vtpmctl set-owner "$a" none
assert_eq "660 root daemon" "$(stat -c '%a %U %G' "$RUN/$a.sock")" "A's socket with no owner again"

log "bad owners"
assert_fails "an unknown user" vtpmctl create --owner no-such-user-here
assert_eq 2 "$LAST_RC" "vtpmctl status for an unknown user"
assert_one_line_stderr "an unknown user"
assert_contains "$LAST_STDERR" "no-such-user-here" "the message names the user"
assert_fails "an unknown group" vtpmctl set-owner "$b" nobody:no-such-group-here
assert_contains "$LAST_STDERR" "no-such-group-here" "the message names the group"
stop_manager
