#!/bin/bash
# test_durability: every acknowledged NV write survives a power cut, simulated
# below the page cache.  The state directory lives on an ext4 file system on
# a loop device, mounted with commit=600 and noauto_da_alloc so that nothing
# reaches the "disk" (the loop device's backing file) unless the manager
# flushes it: no periodic journal commit, no write-back on rename (and the
# kernel's write-back of dirty data waits 30 s, longer than this test).  A
# "power cut" is a copy of the backing file taken while the manager is
# stopped (SIGSTOP, every thread off the CPU): exactly what the disk holds.
# Each copy is then mounted on its own loop device (the journal replays, as
# after a real crash) and a second manager serves it: it must start (every
# file opens) and the NV index must hold the last acknowledged value or a
# later one that was being written.
#   1. Quiescent cuts: write value i, get the acknowledgement, cut; x3.
#   2. Cuts in the middle of a stream of NV writes; x4.
#   3. Ack ordering: with the file system frozen (fsfreeze), an NV write
#      must NOT be acknowledged; once thawed it completes and is on disk.
# The mutants that drop the fsyncs or acknowledge before saving are killed
# here (tests/mutation/).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root for loop devices and mounts"
for t in losetup mkfs.ext4 mount umount fsfreeze; do
	command -v "$t" >/dev/null || skip "$t is not installed"
done

IMG=$TESTDIR/disk.img
MNT=$TESTDIR/mnt
MOPTS=commit=600,noauto_da_alloc,data=ordered
mkdir -p "$MNT"
truncate -s 64M "$IMG"
mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$IMG" ||
	fail "mkfs.ext4 $IMG"
# -o loop: the loop device goes away with the mount (autoclear).
out=$(mount -t ext4 -o "loop,$MOPTS" "$IMG" "$MNT" 2>&1) || skip "cannot mount $IMG on a loop device: $out"
at_exit umount -l "$MNT"
# A test that fails while the file system is frozen must not leave it so.
thaw() { if grep -q " $MNT ext4 " /proc/mounts; then fsfreeze -u "$MNT" 2>/dev/null || [ $? = 1 ]; fi; }
at_exit_first thaw
STATE=$MNT/state

start_manager
u=$(create_vtpm)
IDX=0x1500020
assert_ok "nvdefine" t2 nvdefine "$u" "$IDX" -C o -s 8 -a "ownerread|ownerwrite" >/dev/null

# nvw N: writes the 8-byte big-endian value N to the index; 0 = acknowledged.
nvw() { "$CLIENT" tpm --socket "$(sock "$u")" --timeout 60000 nvwrite "$IDX" "$(printf '%016x' "$1")"; }

# cut NAME: the power cut, as a copy of what the disk holds right now.
cut() {
	local t
	kill -STOP "$MGR_PID"
	# A thread in the middle of a write or fsync stops only when that
	# system call returns: wait until every thread is stopped.
	for _ in $(seq 200); do
		if ! grep -qv '^T' < <(for t in /proc/"$MGR_PID"/task/*/stat; do
			awk '{ print $3 }' "$t"
		done); then
			break
		fi
		sleep 0.01
	done
	cp --sparse=always "$IMG" "$TESTDIR/$1.img"
	kill -CONT "$MGR_PID"
}

# verify NAME MIN MAX: the copy mounts, a manager starts on it, and the NV
# index holds a value in [MIN, MAX].
verify() {
	local name=$1 min=$2 max=$3 mnt2=$TESTDIR/$1.mnt run2=$TESTDIR/$1.run v pid rc=0
	mkdir -p "$mnt2"
	# -o loop: the loop device goes away with the mount (autoclear).
	mount -t ext4 -o loop "$TESTDIR/$name.img" "$mnt2" ||
		fail "$name: the file system after the cut does not mount"
	at_exit umount -l "$mnt2"
	"$BUILD/vtpm_managerd" --foreground --state-dir "$mnt2/state" --run-dir "$run2" \
		--host-tpm "keyfile:$KEY" 2>"$TESTDIR/$name.log" &
	pid=$!
	track_pid "$pid"
	for _ in $(seq 100); do
		grep -qx 'vtpm_managerd ready' "$TESTDIR/$name.log" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	grep -qx 'vtpm_managerd ready' "$TESTDIR/$name.log" ||
		fail "$name: no manager could start on the state after the cut: $(tail -n 3 "$TESTDIR/$name.log")"
	v=$("$CLIENT" tpm --socket "$run2/$u.sock" --timeout 30000 nvread "$IDX" 8 2>&1) || rc=$?
	kill -TERM "$pid"
	wait "$pid" || fail "$name: the manager on the state after the cut exited $? on SIGTERM"
	_untrack_pid "$pid"
	[ "$rc" = 0 ] || fail "$name: the NV index cannot be read after the cut (status $rc: $v)"
	umount "$mnt2" || fail "$name: umount $mnt2"
	v=$((0x$v))
	[ "$v" -ge "$min" ] && [ "$v" -le "$max" ] ||
		fail "$name: after the cut the NV index holds $v; acknowledged was $min (at most $max was being written)"
	log "  $name: $v (acknowledged $min, at most $max written)"
	rm -f "$TESTDIR/$name.img"
}

log "quiescent cuts right after an acknowledged write"
for i in 1 2 3; do
	nvw "$i" || fail "NV write $i"
	cut "q$i"
	verify "q$i" "$i" "$i"
done

log "cuts in the middle of a stream of NV writes"
(
	i=10
	while :; do
		# Renamed into place, so a stopped writer never leaves a torn file.
		echo "$i" >"$TESTDIR/trying.new" && mv "$TESTDIR/trying.new" "$TESTDIR/trying"
		nvw "$i" || exit 1
		echo "$i" >"$TESTDIR/acked.new" && mv "$TESTDIR/acked.new" "$TESTDIR/acked"
		i=$((i + 1))
	done
) &
writer=$!
track_pid "$writer"
for c in 1 2 3 4; do
	sleep "0.$((RANDOM % 5 + 2))"
	kill -0 "$writer" 2>/dev/null || fail "the NV writer stopped"
	kill -STOP "$writer"
	lo=$(cat "$TESTDIR/acked" 2>/dev/null || echo 0)
	kill -CONT "$writer"
	cut "s$c"
	hi=$(($(cat "$TESTDIR/trying") + 1))
	cuts+=("s$c:$lo:$hi")
done
kill "$writer"
wait "$writer" || [ $? = 143 ] || fail "the NV writer failed before it was stopped"
for c in "${cuts[@]}"; do
	IFS=: read -r name lo hi <<<"$c"
	verify "$name" "$lo" "$hi"
done

log "no acknowledgement while the disk cannot take the write"
last=$(nvw 900 && echo 900) || fail "NV write 900"
fsfreeze -f "$MNT" || fail "fsfreeze -f $MNT"
nvw 901 >"$TESTDIR/frozen.out" 2>&1 &
w=$!
track_pid "$w"
sleep 3
if ! kill -0 "$w" 2>/dev/null; then
	wait "$w" && acked=1 || acked=0
	cut frozen
	fsfreeze -u "$MNT"
	[ "$acked" = 0 ] || fail "NV write 901 was acknowledged while the file system was frozen (nothing could be on disk); the disk holds: $(verify frozen 901 901 2>&1 | tail -n 1)"
	fail "NV write 901 failed while the file system was frozen: $(cat "$TESTDIR/frozen.out")"
fi
fsfreeze -u "$MNT" || fail "fsfreeze -u $MNT"
wait "$w" || fail "NV write 901 after the thaw: $(cat "$TESTDIR/frozen.out")"
cut thawed
verify thawed 901 901
[ "$last" = 900 ] || fail "NV write 900 was not acknowledged"
stop_manager
