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

log "garbage that is a well-formed frame: the TPM's own error"
r=$(client tpm --socket "$RUN/$u.sock" raw 12340000000a00000000) || fail "raw garbage frame"
assert_ne 00000000 "${r:12:8}" "rc for a frame with tag 0x1234"
still_serves "a garbage frame"

log "control socket"
for req in 00000007ffffffff 0000000d000000000000000100ffffff 000000ff; do
	out=$(client ctrl --socket "$RUN/$u.sock.ctrl" --timeout 10000 raw "$req" 2>&1) || true
	log "  $req -> $out"
	case "$out" in
	*"timed out"*) fail "control request $req: the manager neither answered nor closed within 10 s" ;;
	esac
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
wait "$partial" || true
log "  00000005 (incomplete) -> $(cat "$TESTDIR/partial.out")"
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
