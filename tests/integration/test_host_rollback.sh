#!/bin/bash
# test_host_rollback: rollback protection with a swtpm --tpm2 host.
#  - One blob: an old vtpm/<uuid>/permall put back after newer writes: the
#    manager starts, that vTPM refuses to start (tpm2_getrandom fails; the
#    log names the file and says it was rolled back; `vtpmctl show` gives
#    the reason), the other vTPM still works with its newest contents.  The
#    newest permall put back: the vTPM works again.
#  - Whole state directory: a copy taken while the manager is stopped, more
#    NV writes, an orderly stop (the exit commits), the copy restored: the
#    start is refused (non-zero, one error line "rollback detected" naming
#    the manifest) and changes nothing, so a second start is refused too;
#    the newest copy restored: it starts and the newest NV contents read
#    back.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

idx=0x1500040
start_host_swtpm2 host
spec=$(host_spec host)

write_both() { # TAG
	local u
	for u in "$u1" "$u2"; do
		head -c 32 /dev/urandom >"$TESTDIR/d.$u.$1"
		nv_put "$u" "$idx" "$TESTDIR/d.$u.$1"
	done
}

start_manager --host-tpm "$spec"
u1=$(create_vtpm)
u2=$(create_vtpm)
for u in "$u1" "$u2"; do
	assert_ok "nvdefine on $u" t2 nvdefine "$u" "$idx" -C o -s 32 -a "ownerread|ownerwrite" >/dev/null
done
write_both w1
stop_manager

log "single-blob rollback: save $u1's permall, write, stop, put it back"
permall=$STATE/vtpm/$u1/permall
[ -f "$permall" ] || fail "no $permall"
cp -a "$permall" "$TESTDIR/permall.old"
start_manager --host-tpm "$spec"
write_both w2
stop_manager
cmp -s "$permall" "$TESTDIR/permall.old" && fail "$permall did not change with the NV write"
cp -a "$permall" "$TESTDIR/permall.newest"
cp -a "$TESTDIR/permall.old" "$permall"

off=$(stat -c %s "$MGR_LOG")
start_manager --host-tpm "$spec"
assert_fails "tpm2_getrandom on the rolled-back vTPM $u1" t2 getrandom "$u1" 8 --hex
since=$(log_since "$off")
line=$(printf '%s\n' "$since" | grep -F "vtpm $u1:" | grep -F "$permall") ||
	fail "no log line for vtpm $u1 naming $permall; log: $since"
assert_contains "$line" "rollback detected" "log line for the rolled-back blob"
log "log: $line"
show=$(vtpmctl show "$u1") || fail "vtpmctl show $u1: $show"
assert_contains "$show" "rollback detected" "vtpmctl show $u1"
assert_contains "$show" "$permall" "vtpmctl show $u1"

log "the other vTPM still works"
out=$(t2 getrandom "$u2" 8 --hex) || fail "tpm2_getrandom on $u2 failed"
assert_match '[0-9a-f]{16}' "$out" "getrandom on $u2"
nv_expect "$u2" "$idx" "$TESTDIR/d.$u2.w2" "the other vTPM after the blob rollback"
stop_manager

log "the newest permall put back: $u1 works again"
cp -a "$TESTDIR/permall.newest" "$permall"
start_manager --host-tpm "$spec"
for u in "$u1" "$u2"; do
	nv_expect "$u" "$idx" "$TESTDIR/d.$u.w2" "newest permall restored"
done
stop_manager

log "copy of the state directory (manager stopped)"
cp -a "$STATE" "$TESTDIR/state.old"
start_manager --host-tpm "$spec"
write_both w3
write_both w4
stop_manager
cp -a "$STATE" "$TESTDIR/state.newest"

log "restore the old copy: refused"
rm -rf "$STATE"
cp -a "$TESTDIR/state.old" "$STATE"
before=$(state_digest)
manager_fails "start on the restored old copy" --host-tpm "$spec"
log "refusal: $LAST_STDERR"
# The unseal succeeded, so an info line about it may precede the refusal;
# the refusal itself is one error line, the last one.
errs=$(printf '%s\n' "$LAST_STDERR" | count_matches ': error: ')
assert_eq 1 "$errs" "error lines of the refused start"
assert_contains "$(printf '%s\n' "$LAST_STDERR" | tail -n 1)" ": error: rollback detected: $STATE/manifest" "last line of the refused start"
assert_eq "$before" "$(state_digest)" "state directory after the rollback refusal"
manager_fails "second start on the restored old copy" --host-tpm "$spec"
assert_contains "$LAST_STDERR" "rollback detected: $STATE/manifest" "second start on the restored old copy"
assert_eq "$before" "$(state_digest)" "state directory after the second rollback refusal"

log "restore the newest copy: works"
rm -rf "$STATE"
cp -a "$TESTDIR/state.newest" "$STATE"
start_manager --host-tpm "$spec"
for u in "$u1" "$u2"; do
	nv_expect "$u" "$idx" "$TESTDIR/d.$u.w4" "newest copy restored"
done
stop_manager
