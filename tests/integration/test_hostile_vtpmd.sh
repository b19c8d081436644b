#!/bin/bash
# test_hostile_vtpmd: a vtpmd that misbehaves on its channel (as a vtpmd
# compromised by a guest might) is killed; its own client gets an error or
# a closed connection; another vTPM keeps working; no blob of the other vTPM
# (or of itself) changes.  The misbehaviour is a test-only vtpmd flag
# (--test-hostile, passed through VTPM_TEST_VTPMD_FLAG): garbage packets, a
# length field that lies, a blob name that is a path to another vTPM's
# file, and a reply nobody asked for.  Also: a syscall outside the seccomp
# allow-list kills the vtpmd (SIGSYS) where seccomp is built in.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

start_manager
good=$(create_vtpm)
assert_ok "nvdefine on the good vTPM" t2 nvdefine "$good" 0x1500016 -C o -s 8 -a "ownerread|ownerwrite" >/dev/null
printf 'GOODDATA' >"$TESTDIR/good.dat"
assert_ok "nvwrite on the good vTPM" t2 nvwrite "$good" 0x1500016 -C o -i "$TESTDIR/good.dat"
bad=$(create_vtpm)
assert_ok "first use of the other vTPM" t2 getrandom "$bad" 8 >/dev/null
assert_ok "vtpmctl stop" vtpmctl stop "$bad"
stop_manager
good_before=$(state_digest "$STATE/vtpm/$good")

for kind in garbage mismatch badname unsolicited; do
	log "hostile vtpmd: $kind"
	off=$(stat -c %s "$MGR_LOG")
	VTPM_TEST_VTPMD_FLAG=--test-hostile=$kind start_manager
	# First use starts the hostile vtpmd, which is killed: the client gets
	# no random bytes, only a closed connection or TPM_RC_FAILURE.
	assert_fails "$kind: GetRandom on the hostile vTPM" \
		client tpm --socket "$(sock "$bad")" --timeout 5000 getrandom 8
	case "$LAST_RC:$LAST_STDERR" in
	"1:"*"connection closed"* | "2:"*"rc=0x101"*) log "  client: $LAST_STDERR" ;;
	*) fail "$kind: the client's outcome (status $LAST_RC): $LAST_STDERR" ;;
	esac
	for _ in $(seq 50); do
		tail -c +"$((off + 1))" "$MGR_LOG" | grep -q "killing vtpmd" && break
		sleep 0.1
	done
	line=$(tail -c +"$((off + 1))" "$MGR_LOG" | grep "killing vtpmd" | head -n 1)
	[ -n "$line" ] || fail "$kind: the manager did not kill the hostile vtpmd; log: $(tail -c +"$((off + 1))" "$MGR_LOG" | tail -n 5)"
	assert_contains "$line" "$bad" "$kind: the killed vtpmd is the hostile one's"
	manager_alive || fail "$kind: the manager died"
	stop_manager
done
# Nothing a hostile vtpmd sent touched another vTPM's files.
assert_eq "$good_before" "$(state_digest "$STATE/vtpm/$good")" "the good vTPM's state files"
start_manager
r=$(t2 nvread "$good" 0x1500016 -C o -s 8) || fail "nvread on the good vTPM"
assert_eq GOODDATA "$r" "the good vTPM's NV"
stop_manager

log "seccomp: a forbidden syscall kills the vtpmd"
if [ "$("$BUILD/vtpmd" --features)" = "seccomp=yes" ]; then
	off=$(stat -c %s "$MGR_LOG")
	VTPM_TEST_VTPMD_FLAG=--test-forbidden-syscall start_manager
	assert_fails "GetRandom on the vTPM whose vtpmd makes a forbidden syscall" \
		client tpm --socket "$(sock "$bad")" --timeout 5000 getrandom 8
	case "$LAST_RC:$LAST_STDERR" in
	"1:"*"connection closed"* | "2:"*"rc=0x101"*) ;;
	*) fail "forbidden syscall: the client's outcome (status $LAST_RC): $LAST_STDERR" ;;
	esac
	for _ in $(seq 50); do
		tail -c +"$((off + 1))" "$MGR_LOG" | grep -q "killed by signal 31" && break
		sleep 0.1
	done
	assert_contains "$(tail -c +"$((off + 1))" "$MGR_LOG")" "was killed by signal 31" \
		"manager log after the forbidden syscall (SIGSYS)"
	stop_manager
else
	skip_part_variant "seccomp SIGSYS: this vtpmd build has no seccomp filter (sanitizer build)"
fi
