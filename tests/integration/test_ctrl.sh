#!/bin/bash
# test_ctrl: the swtpm control protocol on <uuid>.sock.ctrl, byte-exact:
# GET_CAPABILITY 8 bytes, SET_BUFFERSIZE 16, GET_CONFIG 8, GET_TPMESTABLISHED
# 8, SET_LOCALITY(5) -> TPM_BAD_LOCALITY, unknown -> TPM_BAD_ORDINAL; STOP
# then INIT leaves a TPM that wants TPM2_Startup; several data clients
# connected at once each get their own response.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

start_manager
u=$(create_vtpm)
S=$RUN/$u.sock
C=$S.ctrl
ctrl() { client ctrl --socket "$C" "$@"; }

log "GET_CAPABILITY"
caps=$(ctrl getcap) || fail "GET_CAPABILITY"
assert_match '[0-9a-f]{16}' "$caps" "GET_CAPABILITY reply (one u64)"
# What QEMU 7.2 requires of a TPM2 backend: INIT SHUTDOWN GET_TPMESTABLISHED
# SET_LOCALITY RESET_TPMESTABLISHED STOP SET_DATAFD SET_BUFFERSIZE, and what
# the issue lists: STORE_VOLATILE GET_CONFIG.
need=$(((1 << 0) | (1 << 1) | (1 << 2) | (1 << 3) | (1 << 6) | (1 << 7) | (1 << 10) | (1 << 11) | (1 << 12) | (1 << 13)))
[ $((0x$caps & need)) = "$need" ] ||
	fail "GET_CAPABILITY 0x$caps lacks bits $(printf '0x%x' $((need & ~0x$caps)))"
[ $((0x$caps >> 17)) = 0 ] || fail "GET_CAPABILITY 0x$caps advertises unknown bits"

assert_ok "first use" t2 getrandom "$u" 8 --hex >/dev/null

log "SET_BUFFERSIZE, GET_CONFIG, GET_TPMESTABLISHED, STORE_VOLATILE"
bs=$(ctrl setbuffersize 0) || fail "SET_BUFFERSIZE(0)"
assert_match '[0-9a-f]{32}' "$bs" "SET_BUFFERSIZE(0) reply (res, size, min, max)"
assert_eq 00000000 "${bs:0:8}" "SET_BUFFERSIZE(0) result"
size=$((0x${bs:8:8})) min=$((0x${bs:16:8})) max=$((0x${bs:24:8}))
if [ "$min" -gt "$size" ] || [ "$size" -gt "$max" ]; then
	fail "SET_BUFFERSIZE(0): size $size outside [$min, $max]"
fi
assert_eq 4096 "$max" "SET_BUFFERSIZE(0) max"
r=$(ctrl --expect 0xa setbuffersize 3000) || fail "SET_BUFFERSIZE(3000) while running: $r"
assert_eq 0000000a "${r:0:8}" "SET_BUFFERSIZE(3000) while running (swtpm: TPM_BAD_ORDINAL)"

cfg=$(ctrl getconfig) || fail "GET_CONFIG"
assert_match '[0-9a-f]{16}' "$cfg" "GET_CONFIG reply (res, flags)"
assert_eq 00000000 "${cfg:0:8}" "GET_CONFIG result"
est=$(ctrl gettpmest) || fail "GET_TPMESTABLISHED"
assert_match '[0-9a-f]{16}' "$est" "GET_TPMESTABLISHED reply (res, bit, pad)"
assert_eq 00000000 "${est:0:8}" "GET_TPMESTABLISHED result"
assert_eq 00000000 "$(ctrl storevolatile)" "STORE_VOLATILE reply"

log "SET_LOCALITY"
assert_eq 0000003d "$(ctrl setlocality 5)" "SET_LOCALITY(5) reply"
assert_eq 00000000 "$(ctrl setlocality 0)" "SET_LOCALITY(0) reply (1-byte body, tpm2-tss)"
assert_eq 00000000 "$(ctrl setlocality 0 --pad4)" "SET_LOCALITY(0) reply (4-byte body, QEMU)"
assert_ok "getrandom after SET_LOCALITY" client tpm --socket "$S" getrandom 8 >/dev/null

log "unknown command"
r=$(ctrl --expect 0xa raw 000000ff) || fail "command 0xff: $r"
assert_eq 0000000a "$r" "reply to command 0xff"
assert_ok "GET_CAPABILITY after an unknown command" ctrl getcap >/dev/null

log "STOP, INIT: the TPM waits for TPM2_Startup"
# The STORE_VOLATILE above saved volatile state.  As with swtpm, the next
# INIT resumes from it; INIT(DELETE_VOLATILE) also removes it afterwards,
# so the INIT after that starts a TPM that waits for the guest's Startup.
assert_eq 00000000 "$(ctrl stop)" "STOP reply"
assert_eq 00000000 "$(ctrl init 1)" "INIT(DELETE_VOLATILE) reply"
r=$(client tpm --socket "$S" getrandom 8) || fail "GetRandom after resuming from volatile state"
assert_eq 00000000 "$(ctrl stop)" "STOP reply"
assert_eq 00000000 "$(ctrl init)" "INIT reply"
r=$(client tpm --socket "$S" --expect 0x100 raw 80010000000c0000017b0008) || fail "GetRandom after INIT: $r"
assert_eq 80010000000a00000100 "$r" "GetRandom before TPM2_Startup (TPM_RC_INITIALIZE)"
assert_ok "tpm2_startup -c" t2 startup "$u" -c
r=$(client tpm --socket "$S" getrandom 8) || fail "GetRandom after TPM2_Startup"
assert_match '[0-9a-f]{16}' "$r" "GetRandom after TPM2_Startup"

log "several data clients connected at once"
out=$(client tpm --socket "$S" --clients 8 getrandom 8) || fail "8 clients at once: $out"
assert_eq 8 "$(printf '%s\n' "$out" | grep -c .)" "responses for 8 clients"
i=0
while read -r line; do
	assert_eq $(((8 + i) * 2)) "${#line}" "hex length of client $i's GetRandom($((8 + i)))"
	i=$((i + 1))
done <<<"$out"

log "several control clients at once"
pids=()
for i in 1 2 3 4; do
	ctrl getcap >"$TESTDIR/cap.$i" 2>&1 &
	pids+=("$!")
done
for i in 1 2 3 4; do
	wait "${pids[$((i - 1))]}" || fail "control client $i: $(cat "$TESTDIR/cap.$i")"
	assert_eq "$caps" "$(cat "$TESTDIR/cap.$i")" "GET_CAPABILITY of control client $i"
done

log "SHUTDOWN"
assert_eq 00000000 "$(ctrl shutdown)" "SHUTDOWN reply"
assert_ok "getrandom after SHUTDOWN (next use powers the vTPM on again)" t2 getrandom "$u" 8 --hex >/dev/null
manager_alive || fail "the manager died"
