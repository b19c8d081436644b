#!/bin/bash
# test_concurrent: eight vTPMs, eight tpm2-tools clients at once (one per
# vTPM), each doing 20 GetRandoms and an NV define/write/read of its own
# value; all succeed and each reads back its own value.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

N=8
start_manager
uuids=()
for i in $(seq "$N"); do
	uuids+=("$(create_vtpm)")
done

job() { # I UUID
	local i=$1 u=$2
	set -e
	for _ in $(seq 20); do
		t2 getrandom "$u" 16 --hex >/dev/null
	done
	t2 nvdefine "$u" 0x1500016 -C o -s 32 -a "ownerread|ownerwrite" >/dev/null
	printf 'client-%02d-%s' "$i" "$(head -c 11 /dev/urandom | xxd -p)" | head -c 32 >"$TESTDIR/val.$i"
	t2 nvwrite "$u" 0x1500016 -C o -i "$TESTDIR/val.$i"
	t2 nvread "$u" 0x1500016 -C o -s 32 -o "$TESTDIR/back.$i"
	cmp -s "$TESTDIR/val.$i" "$TESTDIR/back.$i"
}

pids=()
for i in $(seq "$N"); do
	job "$i" "${uuids[$((i - 1))]}" >"$TESTDIR/job.$i.log" 2>&1 &
	pids+=("$!")
	track_pid "$!"
done
bad=""
for i in $(seq "$N"); do
	wait "${pids[$((i - 1))]}" || bad="$bad $i"
done
if [ -n "$bad" ]; then
	for i in $bad; do
		echo "--- client $i (${uuids[$((i - 1))]}) ---" >&2
		tail -n 5 "$TESTDIR/job.$i.log" >&2
	done
	fail "clients failed:$bad"
fi

# Every vTPM kept its own value (read again, now sequentially).
for i in $(seq "$N"); do
	assert_ok "nvread $i" t2 nvread "${uuids[$((i - 1))]}" 0x1500016 -C o -s 32 -o "$TESTDIR/again.$i"
	cmp -s "$TESTDIR/val.$i" "$TESTDIR/again.$i" ||
		fail "vTPM $i reads back '$(cat "$TESTDIR/again.$i")', wrote '$(cat "$TESTDIR/val.$i")'"
done
running=$(vtpmd_pids | wc -l)
assert_eq "$N" "$running" "vtpmd processes for $N used vTPMs"
