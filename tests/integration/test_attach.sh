#!/bin/bash
# test_attach: one guest per vTPM (issue 9, finding 6).  A QEMU-like client
# attaches (SET_DATAFD on the control socket); a second client's SET_DATAFD
# on the same vTPM is refused (TPM_FAIL), logged with the UUID, and the
# first guest's TPM goes on undisturbed.  `vtpmctl delete` of the attached
# vTPM is refused with a message naming the guest, until --force, which
# deletes it and closes the guest's connection.  Once the first guest has
# gone, another may attach.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

GETRANDOM8=80010000000c0000017b0008
start_manager
u=$(create_vtpm)
C=$RUN/$u.sock.ctrl
held_start "$C"
assert_eq 00000000 "$(client ctrl --socket "$C" init)" "INIT by the first guest"
r=$(held_cmd "80010000000c000001440000")
assert_match '80010000000a00000000' "$r" "TPM2_Startup on the first guest's connection"
r=$(held_cmd "$GETRANDOM8")
assert_match '80010000001400000000[0-9a-f]{20}' "$r" "GetRandom on the first guest's connection"

log "a second SET_DATAFD is refused"
off=$(stat -c %s "$MGR_LOG")
out=$(timeout 30 python3 "$(dirname "$0")/held_conn.py" "$C" </dev/null) && fail "a second SET_DATAFD was accepted: $out"
assert_eq "error 00000009" "$out" "the second client's SET_DATAFD result (TPM_FAIL)"
assert_contains "$(log_since "$off")" "vtpm $u: SET_DATAFD refused: a guest's data connection is already attached" \
	"the log line naming the vTPM"
r=$(held_cmd "$GETRANDOM8")
assert_match '80010000001400000000[0-9a-f]{20}' "$r" "the first guest's TPM after the refusal"

log "vtpmctl delete of an attached vTPM"
assert_fails "vtpmctl delete of an attached vTPM" vtpmctl delete "$u"
assert_eq 1 "$LAST_RC" "vtpmctl's status"
assert_contains "$LAST_STDERR" "in use by a guest" "vtpmctl's message"
assert_contains "$LAST_STDERR" "--force" "vtpmctl's message names --force"
assert_match '80010000001400000000[0-9a-f]{20}' "$(held_cmd "$GETRANDOM8")" "the guest's TPM after the refused delete"
assert_ok "vtpmctl delete --force" vtpmctl delete "$u" --force
assert_match 'closed.*' "$(held_cmd "$GETRANDOM8" 5)" "the guest's connection after delete --force"
held_stop

log "after the first guest left, another attaches"
v=$(create_vtpm)
held_start "$RUN/$v.sock.ctrl"
held_stop
sleep 0.5
held_start "$RUN/$v.sock.ctrl"
held_stop
manager_alive || fail "the manager died"
stop_manager
