#!/bin/bash
# test_vtpmd_channel: vtpmd alone, driven over its channel by
# tests/tools/vtpmd-drive (which plays the manager from a script).  Each
# tests/vtpmd/*.drive script checks one area: the not-running replies, real
# tpm2-tools, TPM 1.2, every control command, messages that arrive while
# vtpmd waits for an NV reply, connection limits and slow clients, NV store
# failures and a corrupt permall, and the sequence QEMU 7.2 sends.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

DRIVE=$BUILD/vtpmd-drive
[ -x "$DRIVE" ] || fail "$DRIVE is missing"
VTPMD_SCRIPTS=$(cd "$(dirname "$0")/../vtpmd" && pwd)
export VTPMD_SCRIPTS
for s in "$VTPMD_SCRIPTS"/*.drive; do
	name=$(basename "$s" .drive)
	d=$TESTDIR/$name
	mkdir -p "$d"
	log "$name"
	if ! "$DRIVE" -x "$BUILD/vtpmd" -d "$d" <"$s" >"$d.out" 2>&1; then
		sed 's/^/    /' "$d.out" | tail -30 >&2
		fail "vtpmd-drive script $name"
	fi
done
