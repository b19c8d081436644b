#!/bin/bash
# test_sandbox: a running vtpmd is confined exactly as docs/SECURITY.md says.
# From /proc/<vtpmd>/ of the live process: real, effective, saved and fs uid
# are the vTPM's own (0x70000000 + its instance), gid the vtpm user's
# group, its only supplementary group is the vtpm
# group, no capability in any set, NoNewPrivs, not dumpable (its /proc files
# belong to root although it runs as vtpm), RLIMIT_NPROC 0, RLIMIT_NOFILE 88 (64 connections, 16 of its own, 8 held for the next manager),
# RLIMIT_CORE 0, RLIMIT_AS 512 MiB (not in sanitizer builds), its root is
# <run-dir>/empty, its mount, IPC and network namespaces are its own, and a
# seccomp filter is installed.  Then, one vtpmd per probe (the test-only
# --test-syscall flag makes a freshly confined vtpmd try one thing): execve,
# ptrace, kill and tgkill of another process (the test shell), socket, fork
# and a PROT_EXEC mapping (mmap or mprotect) kill it with SIGSYS; open gets
# EACCES.  (test_vtpmd_signals aims the same at another vTPM's vtpmd.)
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

start_manager
u=$(create_vtpm)
assert_ok "first use" t2 getrandom "$u" 8 >/dev/null
pid=$(vtpmd_pids | head -n 1)
[ -n "$pid" ] || fail "no vtpmd running"
st=/proc/$pid/status
seccomp=$("$BUILD/vtpmd" --features)

# A uid of its own: the default base (0x70000000) plus the instance number;
# the vtpm user's group.
want_uid=$((0x70000000 + $(json_field "$u" instance)))
if getent passwd vtpm >/dev/null; then
	want_gid=$(id -g vtpm)
else
	want_gid=$(id -g nobody)
fi
[ "$want_gid" != 0 ] || fail "the vtpm group is root's"
status_field4() { awk -v k="$1:" '$1 == k { print $2 "," $3 "," $4 "," $5 }' "$st"; }
assert_eq "$want_uid,$want_uid,$want_uid,$want_uid" "$(status_field4 Uid)" "real, effective, saved and fs uid"
assert_eq "$want_gid,$want_gid,$want_gid,$want_gid" "$(status_field4 Gid)" "real, effective, saved and fs gid"
assert_eq "$want_gid" "$(awk '$1 == "Groups:" { $1 = ""; sub(/^ /, ""); print }' "$st" | xargs)" \
	"supplementary groups"
for cap in CapInh CapPrm CapEff CapBnd CapAmb; do
	v=$(awk -v k="$cap:" '$1 == k { print $2 }' "$st")
	# The bounding set is inherited and harmless without the others, but
	# the permitted, effective, inheritable and ambient sets must be empty.
	[ "$cap" = CapBnd ] && continue
	assert_eq 0000000000000000 "$v" "$cap"
done
assert_eq 1 "$(awk '$1 == "NoNewPrivs:" { print $2 }' "$st")" "NoNewPrivs"
# PR_SET_DUMPABLE 0 shows as /proc/<pid>/ files owned by root, while the
# process itself runs as the vtpm user.
assert_eq "0" "$(stat -c %u "$st")" "owner of /proc/<vtpmd>/status (not dumpable)"
limit() { awk -v k="$1" 'index($0, k) == 1 { n = split(substr($0, length(k) + 1), f, " +"); print f[2], f[3] }' "/proc/$pid/limits"; }
assert_eq "0 0" "$(limit "Max processes")" "RLIMIT_NPROC (soft hard)"
assert_eq "88 88" "$(limit "Max open files")" "RLIMIT_NOFILE (soft hard)"
assert_eq "0 0" "$(limit "Max core file size")" "RLIMIT_CORE (soft hard)"
if [ "$seccomp" = "seccomp=yes" ]; then
	assert_eq "536870912 536870912" "$(limit "Max address space")" "RLIMIT_AS (soft hard)"
else
	skip_part_variant "RLIMIT_AS: sanitizer builds need more address space and leave it unlimited"
fi
assert_eq "$RUN/empty" "$(readlink "/proc/$pid/root")" "root directory"
[ -z "$(ls -A "$RUN/empty")" ] || fail "$RUN/empty is not empty"
assert_eq "0 0 555" "$(stat -c '%u %g %a' "$RUN/empty")" "owner and mode of $RUN/empty"
for ns in mnt net ipc; do
	[ "$(readlink "/proc/$pid/ns/$ns")" != "$(readlink "/proc/$MGR_PID/ns/$ns")" ] ||
		fail "vtpmd shares the manager's $ns namespace"
done
if [ "$seccomp" != "seccomp=yes" ]; then
	skip_part_variant "the seccomp filter and the system-call probes: sanitizer builds have no filter"
	exit 0
fi
assert_eq 2 "$(awk '$1 == "Seccomp:" { print $2 }' "$st")" "Seccomp mode (2 = filter)"
stop_manager

# probe NAME OUTCOME: a vtpmd started with --test-syscall=NAME must end with
# OUTCOME: "sigsys" (killed by the filter) or "errno TEXT" (the call failed
# with that message and the vtpmd exited 3).
probe() {
	local name=$1 want=$2 off line
	off=$(stat -c %s "$MGR_LOG")
	VTPM_TEST_VTPMD_FLAG=--test-syscall=$name start_manager
	assert_fails "$name: first use of the probing vTPM" client tpm --socket "$(sock "$u")" --timeout 10000 getrandom 8
	wait_log "$off" "ended during start-up" 10 ||
		fail "$name: the manager did not report the probing vtpmd's end: $(log_since "$off" | tail -n 5)"
	line=$(log_since "$off" | grep -F "ended during start-up" | head -n 1)
	case "$want" in
	sigsys)
		assert_contains "$line" "was killed by signal 31 (SIGSYS)" "$name: how the vtpmd ended"
		;;
	errno*)
		assert_contains "$line" "exited with status 3" "$name: how the vtpmd ended"
		assert_contains "$(log_since "$off")" "test-syscall $name: refused: ${want#errno }" \
			"$name: the probe's own report"
		;;
	esac
	assert_not_contains "$(log_since "$off")" "ALLOWED" "$name: the probe's report"
	stop_manager
	log "  $name: $want"
}

log "system calls a confined vtpmd may not make"
probe execve sigsys
probe "ptrace:$$" sigsys
probe "kill:$$" sigsys
probe "tgkill:$$" sigsys
probe socket sigsys
probe fork sigsys
probe mmap-exec sigsys
probe mprotect-exec sigsys
probe open "errno Permission denied"
