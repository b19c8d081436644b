#!/bin/bash
# test_fifo_tpm12: with --backend fifo, a TPM 1.2 vTPM answers TPM_GetRandom
# sent as "u32 instance | packet" on <run-dir>/fifo/in; the reply on
# <run-dir>/fifo/out carries the same prefix, tag 00c4, rc 0, 16 bytes.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

start_manager --backend fifo
[ -p "$RUN/fifo/in" ] || fail "$RUN/fifo/in is not a FIFO"
[ -p "$RUN/fifo/out" ] || fail "$RUN/fifo/out is not a FIFO"

u=$(create_vtpm --tpm-version 1.2)
assert_eq "1.2" "$(json_field "$u" tpm_version)" "tpm_version in list --json"
inst=$(json_field "$u" instance)
assert_match '[0-9]+' "$inst" "instance in list --json"
line=$(vtpmctl list | grep -F "$u") || fail "vtpmctl list does not show $u"
[[ " $line " =~ [^0-9]${inst}[^0-9] ]] || fail "vtpmctl list line for $u lacks instance $inst: $line"

pfx=$(printf '%08x' "$inst")
frame=$(client fifo --dir "$RUN/fifo" --instance "$inst" --frame raw 00c10000000e0000004600000010) ||
	fail "no reply through the FIFO"
assert_match '[0-9a-f]{68}' "$frame" "reply frame (4-byte prefix + 30-byte TPM_GetRandom response)"
assert_eq "$pfx" "${frame:0:8}" "instance prefix of the reply"
assert_eq "00c4" "${frame:8:4}" "reply tag"
assert_eq "0000001e" "${frame:12:8}" "reply size"
assert_eq "00000000" "${frame:20:8}" "reply return code"
assert_eq "00000010" "${frame:28:8}" "randomBytesSize"
r1=${frame:36}

# Again through the typed command: different bytes.
r2=$(client fifo --dir "$RUN/fifo" --instance "$inst" --tpm12 getrandom 16) ||
	fail "second TPM_GetRandom through the FIFO"
assert_match '[0-9a-f]{32}' "$r2" "second TPM_GetRandom"
assert_ne "$r1" "$r2" "two TPM_GetRandom(16) results"

# A TPM 2.0 vTPM on the same FIFO, addressed by its own instance.
u2=$(create_vtpm)
inst2=$(json_field "$u2" instance)
assert_ne "$inst" "$inst2" "instance numbers of two vTPMs"
r3=$(client fifo --dir "$RUN/fifo" --instance "$inst2" getrandom 16) ||
	fail "TPM2_GetRandom through the FIFO for instance $inst2"
assert_match '[0-9a-f]{32}' "$r3" "TPM2_GetRandom through the FIFO"

# An instance nobody has gets an error reply with its own prefix (TPM_FAIL
# for a TPM 1.2 tag), never another vTPM's answer, and the manager survives.
bad=$((inst > inst2 ? inst + 100 : inst2 + 100))
out=$(client fifo --dir "$RUN/fifo" --instance "$bad" --frame --timeout 5000 --expect 9 \
	raw 00c10000000e0000004600000010) || fail "no error reply for unknown instance $bad"
assert_eq "$(printf '%08x' "$bad")00c40000000a00000009" "$out" \
	"reply frame for an unknown instance (its prefix, TPM_FAIL)"
manager_alive || fail "the manager died after a frame for an unknown instance"
r4=$(client fifo --dir "$RUN/fifo" --instance "$inst" --tpm12 getrandom 16) ||
	fail "TPM_GetRandom after the unknown-instance frame"
assert_match '[0-9a-f]{32}' "$r4" "TPM_GetRandom after the unknown-instance frame"
