#!/bin/bash
# test_nv: tpm2_nvdefine an owner index, tpm2_nvwrite 32 bytes from a file,
# tpm2_nvread returns them; a partial write at an offset reads back too.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

start_manager
u=$(create_vtpm)
idx=0x1500016
assert_ok "nvdefine" t2 nvdefine "$u" "$idx" -C o -s 32 -a "ownerread|ownerwrite" >/dev/null
head -c 32 /dev/urandom >"$TESTDIR/data"
assert_ok "nvwrite" t2 nvwrite "$u" "$idx" -C o -i "$TESTDIR/data"
assert_ok "nvread" t2 nvread "$u" "$idx" -C o -s 32 -o "$TESTDIR/out"
cmp -s "$TESTDIR/data" "$TESTDIR/out" ||
	fail "nvread returned $(xxd -p -c 64 "$TESTDIR/out"), wrote $(xxd -p -c 64 "$TESTDIR/data")"

printf 'ABCDEFGH' >"$TESTDIR/part"
assert_ok "nvwrite at offset 8" t2 nvwrite "$u" "$idx" -C o -i "$TESTDIR/part" --offset 8
{ head -c 8 "$TESTDIR/data"; printf 'ABCDEFGH'; tail -c +17 "$TESTDIR/data"; } >"$TESTDIR/expect"
assert_ok "nvread" t2 nvread "$u" "$idx" -C o -s 32 -o "$TESTDIR/out2"
cmp -s "$TESTDIR/expect" "$TESTDIR/out2" ||
	fail "after the offset write nvread returned $(xxd -p -c 64 "$TESTDIR/out2"), expected $(xxd -p -c 64 "$TESTDIR/expect")"
