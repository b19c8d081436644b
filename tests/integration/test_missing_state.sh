#!/bin/bash
# test_missing_state: a vTPM whose manifest records saved state but whose
# state file is gone is refused by name, never silently re-manufactured as a
# fresh TPM (new EK, empty NV): after `rm <state>/vtpm/<uuid>/*` the next use
# fails, `vtpmctl show` and the log name the missing file, a manager restart
# does not change that, and another vTPM is unaffected.  Only `vtpmctl
# delete` makes a fresh TPM under that UUID.  A vTPM that was created but
# never used has no state yet, so its first use is not refused.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

start_manager
u=$(create_vtpm)
other=$(create_vtpm)
fresh=$(create_vtpm)
IDX=0x1500030
for v in "$u" "$other"; do
	assert_ok "nvdefine on $v" t2 nvdefine "$v" "$IDX" -C o -s 8 -a "ownerread|ownerwrite" >/dev/null
	printf 'KEEPME!!' >"$TESTDIR/nv.dat"
	nv_put "$v" "$IDX" "$TESTDIR/nv.dat"
done
assert_ok "vtpmctl stop $u" vtpmctl stop "$u"
[ -s "$STATE/vtpm/$u/permall" ] || fail "no permall for $u after use"

log "the state files of a stopped vTPM deleted while the manager runs"
rm -f "$STATE/vtpm/$u"/*
off=$(stat -c %s "$MGR_LOG")
assert_fails "first use after the files were deleted" t2 getrandom "$u" 8 --hex
line=$(log_since "$off" | grep -F "vtpm $u" | grep -F "missing") ||
	fail "no log line says $u's state is missing: $(log_since "$off" | tail -n 5)"
assert_contains "$line" "permall" "the log line names the file"
show=$(vtpmctl show "$u") || fail "vtpmctl show $u: $show"
assert_contains "$show" "missing" "vtpmctl show $u"
assert_contains "$show" "permall" "vtpmctl show $u names the file"
assert_eq failed "$(json_field "$u" state)" "state of the vTPM with missing state"
nv_expect "$other" "$IDX" "$TESTDIR/nv.dat" "the other vTPM"
assert_ok "first use of the never-used vTPM" t2 getrandom "$fresh" 8 --hex >/dev/null

log "after a manager restart: still refused"
stop_manager
start_manager
assert_fails "use after the restart" t2 getrandom "$u" 8 --hex
assert_contains "$(vtpmctl show "$u")" "missing" "vtpmctl show $u after the restart"
[ -z "$(ls -A "$STATE/vtpm/$u" 2>/dev/null)" ] || fail "a refused start wrote state for $u: $(ls "$STATE/vtpm/$u")"

log "only vtpmctl delete makes a fresh TPM under that UUID"
assert_ok "vtpmctl delete $u" vtpmctl delete "$u"
assert_eq "$u" "$(vtpmctl create --uuid "$u")" "re-created UUID"
assert_ok "use of the re-created vTPM" t2 getrandom "$u" 8 --hex >/dev/null
assert_fails "the re-created vTPM has no NV index" t2 nvread "$u" "$IDX" -C o -s 8
stop_manager
