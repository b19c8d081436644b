#!/bin/bash
# test_getrandom: tpm2_getrandom through a vTPM's swtpm-compatible socket
# returns the requested number of bytes, and two calls differ.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

start_manager
u=$(create_vtpm)
a=$(t2 getrandom "$u" 16 --hex) || fail "tpm2_getrandom failed"
assert_match '[0-9a-f]{32}' "$a" "tpm2_getrandom 16 --hex"
b=$(t2 getrandom "$u" 16 --hex) || fail "second tpm2_getrandom failed"
assert_match '[0-9a-f]{32}' "$b" "second tpm2_getrandom 16 --hex"
assert_ne "$a" "$b" "two GetRandom(16) results"
# Larger requests are capped by the TPM (TPM2 digest size), never an error.
c=$(t2 getrandom "$u" 32 --hex) || fail "tpm2_getrandom 32 failed"
assert_match '[0-9a-f]{64}' "$c" "tpm2_getrandom 32 --hex"
