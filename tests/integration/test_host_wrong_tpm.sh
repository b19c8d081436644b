#!/bin/bash
# test_host_wrong_tpm: a state directory sealed under swtpm A, started on a
# fresh swtpm B (TPM 2.0), and on a fresh TPM 1.2 C: the manager exits
# non-zero with one line saying the state belongs to another TPM, and
# nothing in the state directory changed (contents of every file, names,
# directories); C is not taken ownership of.  Back on A it starts and
# every NV index reads back.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

idx=0x1500030
start_host_swtpm2 A
start_manager --host-tpm "$(host_spec A)"
u1=$(create_vtpm)
u2=$(create_vtpm)
for u in "$u1" "$u2"; do
	assert_ok "nvdefine on $u" t2 nvdefine "$u" "$idx" -C o -s 32 -a "ownerread|ownerwrite" >/dev/null
	head -c 32 /dev/urandom >"$TESTDIR/d.$u"
	nv_put "$u" "$idx" "$TESTDIR/d.$u"
done
stop_manager
before=$(state_digest)
[ -f "$STATE/master.sealed" ] || fail "no master.sealed under swtpm A"

log "a fresh TPM 2.0 (B)"
start_host_swtpm2 B
manager_fails "start on swtpm B" --host-tpm "$(host_spec B)"
log "refusal: $LAST_STDERR"
assert_one_line_stderr "start on swtpm B"
assert_contains "$LAST_STDERR" "sealed on another TPM" "start on swtpm B"
assert_contains "$LAST_STDERR" "TPM" "start on swtpm B"
assert_eq "$before" "$(state_digest)" "state directory after the refused start on B"
stop_host_swtpm B

log "a fresh TPM 1.2 (C)"
start_host_swtpm12 C
manager_fails "start on TPM 1.2 C" --host-tpm "$(host_spec C)"
log "refusal: $LAST_STDERR"
assert_one_line_stderr "start on TPM 1.2 C"
assert_contains "$LAST_STDERR" "another machine or TPM" "start on TPM 1.2 C"
assert_eq "$before" "$(state_digest)" "state directory after the refused start on C"
log "C was left unowned: a fresh state dir on it works"
start_manager --host-tpm "$(host_spec C)" --state-dir "$TESTDIR/state-C" --run-dir "$TESTDIR/run-C"
stop_manager
stop_host_swtpm C

log "back on A"
start_manager --host-tpm "$(host_spec A)"
for u in "$u1" "$u2"; do
	nv_expect "$u" "$idx" "$TESTDIR/d.$u" "on A after the refusals"
done
stop_manager
