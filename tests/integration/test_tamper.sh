#!/bin/bash
# test_tamper: a sealed permall with one flipped bit is refused: the vTPM
# does not start (tpm2_getrandom fails), and the manager's log names the file
# and says it failed authentication; another vTPM of the same manager keeps
# working.  Two places are flipped, in two vTPMs: a ciphertext byte (libtpms
# would likely reject the garbled state by itself too) and a byte of the
# AES-GCM tag, which leaves the ciphertext intact: only the tag check can
# refuse that one (tests/mutation/ has the mutant that ignores it).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

start_manager
a=$(create_vtpm)
t=$(create_vtpm)
b=$(create_vtpm)
for u in "$a" "$t"; do
	assert_ok "use $u" t2 nvdefine "$u" 0x1500016 -C o -s 8 -a "ownerread|ownerwrite" >/dev/null
done
assert_ok "use B" t2 getrandom "$b" 8 --hex >/dev/null
stop_manager

# flip FILE OFFSET: XOR one bit of the byte at OFFSET (negative: from the end).
flip() {
	python3 - "$1" "$2" <<'PY'
import sys
p, off = sys.argv[1], int(sys.argv[2])
d = bytearray(open(p, "rb").read())
d[off] ^= 0x01
open(p, "wb").write(bytes(d))
PY
}
for u in "$a" "$t"; do
	[ -s "$STATE/vtpm/$u/permall" ] ||
		fail "no sealed permall for $u (state: $(find "$STATE" -type f | tr '\n' ' '))"
done
size=$(stat -c %s "$STATE/vtpm/$a/permall")
flip "$STATE/vtpm/$a/permall" $((size / 2)) # inside the ciphertext
flip "$STATE/vtpm/$t/permall" -5            # inside the 16-byte GCM tag
off=$(stat -c %s "$MGR_LOG")

start_manager
for u in "$a" "$t"; do
	assert_fails "tpm2_getrandom on tampered vTPM $u" t2 getrandom "$u" 8 --hex
	manager_alive || fail "the manager died on a tampered blob"
	line=$(log_since "$off" | grep -F "$u" | grep -F permall | grep -F "failed authentication" |
		head -n 1) || fail "no manager log line says $u's permall failed authentication; the new log: $(log_since "$off")"
	log "manager: $line"
	assert_contains "$(vtpmctl show "$u")" "permall" "vtpmctl show of tampered vTPM $u names the file"
done

assert_ok "tpm2_getrandom on the other vTPM" t2 getrandom "$b" 8 --hex >/dev/null
assert_fails "the tampered vTPM still refuses" t2 getrandom "$a" 8 --hex
assert_fails "the vTPM with the tampered tag still refuses" t2 getrandom "$t" 8 --hex
assert_ok "the other vTPM still works" t2 getrandom "$b" 8 --hex >/dev/null
