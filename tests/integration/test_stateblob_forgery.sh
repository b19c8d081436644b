#!/bin/bash
# test_stateblob_forgery: a control-socket client cannot read a vTPM's NV
# through GET_STATEBLOB, nor forge or clone state with SET_STATEBLOB, when
# no migration_key is configured (issue 9, finding 3).  A's permanent blob
# does not show A's NV contents; A's blob with its UUID patched to B's (and,
# where the envelope has a digest, the digest recomputed: the old attack)
# does not turn B into a clone of A; an integrity-only envelope with a
# correct SHA-256 around state of the client's choosing is refused; none
# of these reaches B's vtpmd, and B keeps its own NV.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

start_manager --log-level debug
a=$(create_vtpm)
b=$(create_vtpm)
IDX=0x1500040
printf 'SECRET-OF-VTPM-A-0123456789abcde' >"$TESTDIR/a.dat"
printf 'VTPM-B-KEEPS-ITS-OWN-NV-CONTENTS' >"$TESTDIR/b.dat"
for v in "$a" "$b"; do
	assert_ok "nvdefine on $v" t2 nvdefine "$v" "$IDX" -C o -s 32 -a "ownerread|ownerwrite" >/dev/null
done
nv_put "$a" "$IDX" "$TESTDIR/a.dat"
nv_put "$b" "$IDX" "$TESTDIR/b.dat"

ctrl() {
	local u=$1
	shift
	client ctrl --socket "$RUN/$u.sock.ctrl" "$@"
}
# set_blob UUID TYPE BLOB_HEX: SET_STATEBLOB; prints the 4-byte reply.
set_blob() {
	printf '0000000d00000000%08x%08x%s' "$2" "$((${#3} / 2))" "$3" | xxd -r -p >"$TESTDIR/req.bin"
	timeout 30 python3 - "$RUN/$1.sock.ctrl" "$TESTDIR/req.bin" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(20)
s.connect(sys.argv[1])
s.sendall(open(sys.argv[2], "rb").read())
r = b""
while len(r) < 4:
    d = s.recv(4 - len(r))
    if not d:
        break
    r += d
print(r.hex())
EOF
}
vtpmd_sets() { count_matches 'control command 0xd: result' <"$MGR_LOG"; }

r=$(ctrl "$a" raw 0000000c000000010000000100000000) || fail "GET_STATEBLOB(permanent) of A: $r"
blob=${r:32}
[ -n "$blob" ] || fail "GET_STATEBLOB(permanent) of A returned no blob"
assert_not_contains "$blob" "$(xxd -p -c 64 "$TESTDIR/a.dat")" "A's permanent blob (A's NV contents in clear)"

assert_eq 00000000 "$(ctrl "$b" stop)" "STOP of B"
n0=$(vtpmd_sets)
log "A's blob with B's UUID (digest recomputed where there is one)"
clone=$(python3 - "$blob" "${b//-/}" <<'PY'
import hashlib, sys
e = bytearray(bytes.fromhex(sys.argv[1]))
e[12:28] = bytes.fromhex(sys.argv[2])
if int.from_bytes(e[8:10], "big") == 1 and e[11] == 0:
    e[-32:] = hashlib.sha256(bytes(e[:-32])).digest()
print(bytes(e).hex())
PY
)
assert_eq 00000003 "$(set_blob "$b" 1 "$clone")" "SET_STATEBLOB of A's state patched for B"
log "an integrity-only envelope with a correct digest around chosen state"
forged=$(python3 - "${b//-/}" <<'PY'
import hashlib, os, sys
hdr = b"VTPMMIG1" + (1).to_bytes(2, "big") + bytes([1, 0]) + bytes.fromhex(sys.argv[1]) + (300).to_bytes(4, "big")
body = os.urandom(300)
print((hdr + body + hashlib.sha256(hdr + body).digest()).hex())
PY
)
assert_eq 00000003 "$(set_blob "$b" 1 "$forged")" "SET_STATEBLOB of a forged integrity-only blob"
assert_eq "$n0" "$(vtpmd_sets)" "forged SET_STATEBLOB requests that reached B's vtpmd"
assert_eq 00000000 "$(ctrl "$b" init 0)" "INIT of B"
assert_ok "startup of B" t2 startup "$b" -c
nv_expect "$b" "$IDX" "$TESTDIR/b.dat" "B's own NV after the attempts"
manager_alive || fail "the manager died"
stop_manager
