#!/bin/bash
# test_sandbox: a running vtpmd is confined as docs/SECURITY.md says: it
# runs as the vtpm user (not root, no capabilities), its root directory is
# <run-dir>/empty, no_new_privs is set, it is not dumpable, it has its own
# mount and network namespaces, and (outside sanitizer builds) a seccomp
# filter is installed; core dumps are off.  Reads /proc/<vtpmd>/ of the live
# process.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

start_manager
u=$(create_vtpm)
assert_ok "first use" t2 getrandom "$u" 8 >/dev/null
pid=$(vtpmd_pids | head -n 1)
[ -n "$pid" ] || fail "no vtpmd running"
st=/proc/$pid/status

want_uid=$(id -u vtpm 2>/dev/null || id -u nobody)
uid=$(awk '/^Uid:/ { print $2 "," $3 "," $4 "," $5 }' "$st")
assert_eq "$want_uid,$want_uid,$want_uid,$want_uid" "$uid" "real, effective, saved and fs uid"
assert_eq 0000000000000000 "$(awk '/^CapEff:/ { print $2 }' "$st")" "effective capabilities"
assert_eq 0000000000000000 "$(awk '/^CapPrm:/ { print $2 }' "$st")" "permitted capabilities"
assert_eq 1 "$(awk '/^NoNewPrivs:/ { print $2 }' "$st")" "NoNewPrivs"
assert_eq "$RUN/empty" "$(readlink "/proc/$pid/root")" "root directory"
[ -z "$(ls -A "$RUN/empty")" ] || fail "$RUN/empty is not empty"
for ns in mnt net ipc; do
	[ "$(readlink "/proc/$pid/ns/$ns")" != "$(readlink "/proc/$MGR_PID/ns/$ns")" ] ||
		fail "vtpmd shares the manager's $ns namespace"
done
if [ "$("$BUILD/vtpmd" --features)" = "seccomp=yes" ]; then
	assert_eq 2 "$(awk '/^Seccomp:/ { print $2 }' "$st")" "Seccomp mode (2 = filter)"
else
	log "sanitizer build: no seccomp filter expected"
fi
# No core file of TPM state: RLIMIT_CORE is 0 (PR_SET_DUMPABLE is not visible
# in /proc; it also makes /proc/<pid>/ files root-owned, which we rely on above).
assert_eq "0 0" "$(awk '/^Max core file size/ { print $5, $6 }' "/proc/$pid/limits")" "core limit"
