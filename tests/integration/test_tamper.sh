#!/bin/bash
# test_tamper: one flipped byte in a vTPM's sealed permall makes that vTPM
# refuse to start (tpm2_getrandom fails) with a manager log line naming the
# file; another vTPM of the same manager keeps working.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

start_manager
a=$(create_vtpm)
b=$(create_vtpm)
assert_ok "use A" t2 nvdefine "$a" 0x1500016 -C o -s 8 -a "ownerread|ownerwrite" >/dev/null
assert_ok "use B" t2 getrandom "$b" 8 --hex >/dev/null
stop_manager

f=$STATE/vtpm/$a/permall
[ -s "$f" ] || fail "no sealed permall at $f after A was used (state: $(find "$STATE" -type f | tr '\n' ' '))"
python3 - "$f" <<'PY'
import sys
p = sys.argv[1]
d = bytearray(open(p, "rb").read())
d[len(d) // 2] ^= 0x01
open(p, "wb").write(bytes(d))
PY
off=$(stat -c %s "$MGR_LOG")

start_manager
assert_fails "tpm2_getrandom on the tampered vTPM" t2 getrandom "$a" 8 --hex
manager_alive || fail "the manager died on a tampered blob"
newlog=$(tail -c +"$((off + 1))" "$MGR_LOG")
line=$(printf '%s\n' "$newlog" | grep -F "$a" | grep -F permall | head -n 1) ||
	fail "no manager log line names $a's permall; the new log: $newlog"
log "manager: $line"

assert_ok "tpm2_getrandom on the other vTPM" t2 getrandom "$b" 8 --hex >/dev/null
assert_fails "the tampered vTPM still refuses" t2 getrandom "$a" 8 --hex
assert_ok "the other vTPM still works" t2 getrandom "$b" 8 --hex >/dev/null
