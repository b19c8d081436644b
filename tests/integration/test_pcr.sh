#!/bin/bash
# test_pcr: tpm2_pcrextend twice on PCR 16 (sha256); tpm2_pcrread returns
# sha256(sha256(0^32 || d1) || d2), computed here independently.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

start_manager
u=$(create_vtpm)
d1=$(printf 'vtpm-manager pcr test 1' | sha256_hex)
d2=$(printf 'vtpm-manager pcr test 2' | sha256_hex)
zero=$(printf '%064d' 0)

assert_ok "read PCR 16" t2 pcrread "$u" sha256:16 -o "$TESTDIR/pcr0.bin" >/dev/null
assert_eq "$zero" "$(xxd -p -c 64 "$TESTDIR/pcr0.bin")" "PCR 16 after startup"

assert_ok "extend PCR 16" t2 pcrextend "$u" "16:sha256=$d1"
e1=$(pcr_extend_expect "$zero" "$d1")
assert_ok "read PCR 16" t2 pcrread "$u" sha256:16 -o "$TESTDIR/pcr1.bin" >/dev/null
assert_eq "$e1" "$(xxd -p -c 64 "$TESTDIR/pcr1.bin")" "PCR 16 after one extend"

assert_ok "extend PCR 16 again" t2 pcrextend "$u" "16:sha256=$d2"
e2=$(pcr_extend_expect "$e1" "$d2")
assert_ok "read PCR 16" t2 pcrread "$u" sha256:16 -o "$TESTDIR/pcr2.bin" >/dev/null
assert_eq "$e2" "$(xxd -p -c 64 "$TESTDIR/pcr2.bin")" "PCR 16 after two extends"
