#!/bin/bash
# test_malformed: hostile TPM headers (declared size 5, 5000, 0xffffffff;
# 100 declared but 20 sent, then half-close; a 4-byte header) on a vTPM's
# data socket, hostile control requests, and hostile FIFO frames each get a
# TPM error response or a closed connection, never a hang or a crash: the
# manager stays up and the vTPM still serves tpm2_getrandom afterwards.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

start_manager --backend fifo
u=$(create_vtpm)
assert_ok "first use" t2 getrandom "$u" 8 --hex >/dev/null

# acceptable REPLY WHAT: "closed[...]" or an error response (rc != 0).
acceptable() {
	case "$1" in
	closed*) return 0 ;;
	"response "*)
		local r=${1#response }
		[[ $r =~ ^(8001|00c4)[0-9a-f]{16}$ ]] || fail "$2: not a 10-byte error response: $1"
		[ "${r:12:8}" != 00000000 ] || fail "$2: success reply to a malformed command: $1"
		[ "$((0x${r:4:8}))" = 10 ] || fail "$2: error response size field: $1"
		return 0
		;;
	*) fail "$2: neither an error response nor a closed connection: $1" ;;
	esac
}

still_serves() {
	manager_alive || fail "the manager died after $1"
	assert_ok "tpm2_getrandom after $1" t2 getrandom "$u" 16 --hex >/dev/null
}

log "data socket"
for kind in size:5 size:0 size:9 size:4097 size:5000 size:0xffffffff trunc:100:20 trunc:4096:10 short:4 short:0; do
	out=$(client flood --socket "$RUN/$u.sock" --timeout 10000 "$kind") || fail "flood $kind: $out"
	log "  $kind -> $out"
	acceptable "$out" "data socket, $kind"
	still_serves "$kind on the data socket"
done

log "garbage that is a well-formed frame: the TPM's own error, as from swtpm"
r=$(client tpm --socket "$RUN/$u.sock" --expect 0x84 raw 12340000000a00000000) ||
	fail "raw garbage frame: $r"
assert_eq 80010000000a00000084 "$r" "reply to a frame with tag 0x1234 (TPM_RC_VALUE, as swtpm)"
still_serves "a garbage frame"

log "control socket"
# RESET_TPMESTABLISHED with 4 extra bytes and SET_STATEBLOB declaring 16 MiB
# are answered TPM_SIZE (0x17) and the connection is closed (swtpm 0.7
# closes without a reply); an unknown command gets TPM_BAD_ORDINAL (0x0a),
# as from swtpm.
for case in 00000007ffffffff:00000017 0000000d000000000000000100ffffff:00000017 000000ff:0000000a; do
	req=${case%%:*} want=${case#*:}
	out=$(client ctrl --socket "$RUN/$u.sock.ctrl" --timeout 10000 --expect "0x$want" raw "$req") ||
		fail "control request $req: $out"
	assert_eq "$want" "$out" "reply to control request $req"
	manager_alive || fail "the manager died after control request $req"
	assert_ok "GET_CAPABILITY after control request $req" client ctrl --socket "$RUN/$u.sock.ctrl" getcap >/dev/null
done
# A request left incomplete (SET_LOCALITY without its byte) on one
# connection must not hold up another control client.
client ctrl --socket "$RUN/$u.sock.ctrl" --timeout 3000 raw 00000005 >"$TESTDIR/partial.out" 2>&1 &
partial=$!
track_pid "$partial"
sleep 0.3
assert_ok "GET_CAPABILITY while another control client sent half a request" \
	timeout 2 "$CLIENT" ctrl --socket "$RUN/$u.sock.ctrl" getcap >/dev/null
# The incomplete request itself is dropped after 500 ms: the connection
# closes without a reply (swtpm does the same).
rc=0
wait "$partial" || rc=$?
assert_eq 1 "$rc" "vtpm-client status for the incomplete request"
assert_contains "$(cat "$TESTDIR/partial.out")" "connection closed without a reply" \
	"the incomplete control request"
still_serves "hostile control requests"

log "FIFO"
inst=$(json_field "$u" instance)
for kind in size:5 size:5000 size:0xffffffff; do
	out=$(client flood --dir "$RUN/fifo" --instance "$inst" --timeout 3000 "$kind") || fail "FIFO flood $kind: $out"
	log "  $kind -> $out"
	case "$out" in
	timeout) ;; # a dropped frame is acceptable on a FIFO (nothing to close)
	*) acceptable "$out" "FIFO, $kind" ;;
	esac
	manager_alive || fail "the manager died after FIFO frame $kind"
	r=$(client fifo --dir "$RUN/fifo" --instance "$inst" --timeout 10000 getrandom 16) ||
		fail "GetRandom through the FIFO after $kind: $r"
	assert_match '[0-9a-f]{32}' "$r" "GetRandom through the FIFO after $kind"
done

# A frame shorter than its header says (one write of 4 + 20 bytes, header
# declaring 100).  The next frame, here for ANOTHER vTPM, must reach that
# vTPM and be answered: it must not be glued onto the truncated one and
# fed to the first vTPM as the rest of its command.
v=$(create_vtpm)
vinst=$(json_field "$v" instance)
out=$(client flood --dir "$RUN/fifo" --instance "$inst" --timeout 3000 trunc:100:20) ||
	fail "FIFO flood trunc:100:20: $out"
log "  trunc:100:20 -> $out"
case "$out" in
timeout) ;;
*) acceptable "$out" "FIFO, trunc:100:20" ;;
esac
manager_alive || fail "the manager died after a truncated FIFO frame"
r=$(client fifo --dir "$RUN/fifo" --instance "$vinst" --timeout 10000 getrandom 16 2>&1) ||
	fail "GetRandom for instance $vinst right after a truncated frame for instance $inst: $r"
assert_match '[0-9a-f]{32}' "$r" "GetRandom for instance $vinst after a truncated frame for $inst"
r=$(client fifo --dir "$RUN/fifo" --instance "$inst" --timeout 10000 getrandom 16 2>&1) ||
	fail "GetRandom for instance $inst after its truncated frame: $r"
assert_match '[0-9a-f]{32}' "$r" "GetRandom for instance $inst after its truncated frame"
still_serves "hostile FIFO frames"
