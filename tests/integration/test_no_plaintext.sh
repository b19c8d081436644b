#!/bin/bash
# test_no_plaintext: a distinctive 32-byte ASCII marker written into NV
# appears nowhere under the state directory, neither as bytes nor as hex
# text, while the manager runs and after it stopped (volatile state saved);
# nor does the master key.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

marker="vtpm-plaintext-marker-$(head -c 5 /dev/urandom | xxd -p)"
assert_eq 32 "${#marker}" "marker length"
printf '%s' "$marker" >"$TESTDIR/marker"
marker_hex=$(xxd -p -c 64 "$TESTDIR/marker")

# check_absent WHEN: greps every file under $STATE.
check_absent() {
	local hits
	# The grep itself must be able to see the marker: a positive control.
	cp "$TESTDIR/marker" "$TESTDIR/control.bin"
	grep -rqaF "$marker" "$TESTDIR/control.bin" || fail "grep cannot find the marker in a plain copy"
	rm -f "$TESTDIR/control.bin"

	if grep -rqaF "$marker" "$STATE"; then
		fail "$1: marker in plaintext in: $(grep -rlaF "$marker" "$STATE" | tr '\n' ' ')"
	fi
	if grep -rqaiF "$marker_hex" "$STATE"; then
		fail "$1: marker as hex text in: $(grep -rlaiF "$marker_hex" "$STATE" | tr '\n' ' ')"
	fi
	python3 - "$STATE" "$KEY" "$TESTDIR/marker" "$1" <<'PY'
import os, sys
state, keyfile, markerfile, when = sys.argv[1:]
key = open(keyfile, "rb").read()
marker = open(markerfile, "rb").read()
needles = {"master key": key, "master key (hex)": key.hex().encode(),
           "marker (UTF-16LE)": marker.decode().encode("utf-16-le")}
for root, _, files in os.walk(state):
    for f in files:
        p = os.path.join(root, f)
        data = open(p, "rb").read()
        for what, n in needles.items():
            if n and n in data:
                sys.exit(f"FAIL: {when}: {what} found in {p}")
PY
}

start_manager
u=$(create_vtpm)
assert_ok "nvdefine" t2 nvdefine "$u" 0x1500016 -C o -s 32 -a "ownerread|ownerwrite" >/dev/null
assert_ok "nvwrite" t2 nvwrite "$u" 0x1500016 -C o -i "$TESTDIR/marker"
assert_ok "nvread" t2 nvread "$u" 0x1500016 -C o -s 32 -o "$TESTDIR/back"
cmp -s "$TESTDIR/marker" "$TESTDIR/back" || fail "nvread did not return the marker"
[ -n "$(find "$STATE" -type f -size +0)" ] || fail "nothing was written under $STATE"
check_absent "while running"

# STORE_VOLATILE on the control socket makes the volatile state hit the disk too.
client ctrl --socket "$RUN/$u.sock.ctrl" storevolatile >/dev/null || fail "STORE_VOLATILE"
check_absent "after STORE_VOLATILE"

stop_manager
check_absent "after the manager stopped"
[ -s "$KEY" ] || fail "no master key file"
