#!/bin/bash
# test_frozen_storage: a vTPM whose state cannot be written does not stall
# the others (issue 11).  The state directory is a loop-mounted ext4; vTPM A
# starts an NV_Write, and the filesystem is frozen (fsfreeze) under it, so
# A's save blocks in the kernel on a storage thread.  Meanwhile vTPM B's
# control requests (GET_TPMESTABLISHED, which its vtpmd answers through
# the manager; GET_CAPABILITY, which the manager answers), B's TPM commands,
# a new vTPM C started from scratch (its state loaded, not written: the
# filesystem is readable), `vtpmctl list` and `vtpmctl show` of A and of B
# all answer.  Each is bounded by a generous 3 s (the test must not depend
# on speed: before issue 11 they hung until the thaw) and the slowest is
# logged.  After the thaw A's write completes and reads back.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root for loop devices, mounts and fsfreeze"
for t in losetup mkfs.ext4 mount umount fsfreeze; do
	command -v "$t" >/dev/null || skip "$t is not installed"
done

IMG=$TESTDIR/disk.img
MNT=$TESTDIR/mnt
mkdir -p "$MNT"
truncate -s 64M "$IMG"
mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$IMG" || fail "mkfs.ext4 $IMG"
out=$(mount -t ext4 -o loop "$IMG" "$MNT" 2>&1) || skip "cannot mount $IMG on a loop device: $out"
at_exit umount -l "$MNT"
thaw() { if grep -q " $MNT ext4 " /proc/mounts; then fsfreeze -u "$MNT" 2>/dev/null || [ $? = 1 ]; fi; }
at_exit_first thaw
STATE=$MNT/state

start_manager
a=$(create_vtpm)
b=$(create_vtpm)
c=$(create_vtpm)
IDX=0x1500020
assert_ok "nvdefine on A" t2 nvdefine "$a" "$IDX" -C o -s 8 -a "ownerread|ownerwrite" >/dev/null
# B's vtpmd is running and powered on before the freeze.
assert_match '[0-9a-f]{16}' "$(client tpm --socket "$(sock "$b")" getrandom 8)" "B before the freeze"

fsfreeze -f "$MNT" || fail "fsfreeze -f $MNT"
"$CLIENT" tpm --socket "$(sock "$a")" --timeout 120000 nvwrite "$IDX" 1122334455667788 \
	>"$TESTDIR/a.out" 2>&1 &
apid=$!
track_pid "$apid"
# A's vtpmd has asked for the save once the manager's storage thread is
# blocked in the frozen filesystem (D state), or after a second anyway.
for _ in $(seq 20); do
	grep -q ' D' < <(ps -L -o stat= -p "$MGR_PID" | sed 's/^/ /') && break
	sleep 0.1
done
kill -0 "$apid" 2>/dev/null || fail "A's NV_Write finished while the filesystem was frozen: $(cat "$TESTDIR/a.out")"

slowest=0
what=""
TIMED_WHILE="while A's save is blocked"
timed "B's GET_TPMESTABLISHED" "$CLIENT" ctrl --socket "$RUN/$b.sock.ctrl" gettpmest
timed "B's GET_CAPABILITY" "$CLIENT" ctrl --socket "$RUN/$b.sock.ctrl" getcap
timed "B's GetRandom" "$CLIENT" tpm --socket "$(sock "$b")" getrandom 8
timed "vtpmctl list" "$BUILD/vtpmctl" --run-dir "$RUN" list
assert_contains "$TIMED_OUT" "$a" "vtpmctl list names A"
timed "vtpmctl show A" "$BUILD/vtpmctl" --run-dir "$RUN" show "$a"
timed "vtpmctl show B" "$BUILD/vtpmctl" --run-dir "$RUN" show "$b"
# C has no vtpmd yet: one is started (waiting for INIT, which would write
# its first state) and answers GET_TPMESTABLISHED with TPM_INVALID_POSTINIT.
timed "a vtpmd started for C" "$CLIENT" ctrl --socket "$RUN/$c.sock.ctrl" --expect 0xa gettpmest
log "while A's save was blocked, the slowest answer was $what: $slowest ms"
kill -0 "$apid" 2>/dev/null || fail "A's NV_Write finished while the filesystem was frozen: $(cat "$TESTDIR/a.out")"

fsfreeze -u "$MNT" || fail "fsfreeze -u"
wait "$apid" || fail "A's NV_Write after the thaw: $(cat "$TESTDIR/a.out")"
_untrack_pid "$apid"
assert_eq 1122334455667788 "$(client tpm --socket "$(sock "$a")" nvread "$IDX" 8)" "A's NV after the thaw"
manager_alive || fail "the manager died"
stop_manager
