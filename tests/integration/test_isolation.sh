#!/bin/bash
# test_isolation: two vTPMs of one manager share nothing: an NV index
# defined on A is absent on B, and a PCR extended on A is untouched on B.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

start_manager
a=$(create_vtpm)
b=$(create_vtpm)
assert_ne "$a" "$b" "the two UUIDs"
idx=0x1500016
assert_ok "nvdefine on A" t2 nvdefine "$a" "$idx" -C o -s 32 -a "ownerread|ownerwrite" >/dev/null

assert_fails "tpm2_nvreadpublic of A's index on B" t2 nvreadpublic "$b" "$idx"
on_a=$(t2 getcap "$a" handles-nv-index) || fail "getcap handles-nv-index on A"
on_b=$(t2 getcap "$b" handles-nv-index) || fail "getcap handles-nv-index on B"
assert_contains "$on_a" "0x1500016" "NV indices of A"
assert_not_contains "$on_b" "0x1500016" "NV indices of B"

# And B can define the same index number for itself, independently.
assert_ok "nvdefine on B" t2 nvdefine "$b" "$idx" -C o -s 8 -a "ownerread|ownerwrite" >/dev/null
size_a=$(t2 nvreadpublic "$a" "$idx" | awk '/size:/ { print $2; exit }')
size_b=$(t2 nvreadpublic "$b" "$idx" | awk '/size:/ { print $2; exit }')
assert_eq 32 "$size_a" "size of A's index"
assert_eq 8 "$size_b" "size of B's index"

d=$(printf 'isolation' | sha256_hex)
assert_ok "extend PCR 16 on A" t2 pcrextend "$a" "16:sha256=$d"
assert_ok "read PCR 16 on B" t2 pcrread "$b" sha256:16 -o "$TESTDIR/pcr_b.bin" >/dev/null
assert_eq "$(printf '%064d' 0)" "$(xxd -p -c 64 "$TESTDIR/pcr_b.bin")" "PCR 16 of B after extending A's"
