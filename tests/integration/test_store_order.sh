#!/bin/bash
# test_store_order: the system calls of one NV store, as strace sees them in
# the manager (every thread), come in the only safe order:
#   write(.permall.tmp) -> fsync(.permall.tmp) -> rename(.permall.tmp,
#   permall) -> fsync(the vTPM's directory) -> the NV_STATUS acknowledgement
#   to the vtpmd (sendmsg on its channel)
# and nothing is acknowledged before the directory fsync.  (test_durability
# shows the result on a simulated power cut; this shows the order.)
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v strace >/dev/null || skip "strace is not installed"

start_manager
u=$(create_vtpm)
IDX=0x1500020
assert_ok "nvdefine" t2 nvdefine "$u" "$IDX" -C o -s 8 -a "ownerread|ownerwrite" >/dev/null
assert_ok "first NV write" "$CLIENT" tpm --socket "$(sock "$u")" nvwrite "$IDX" 0000000000000001

trace=$TESTDIR/trace
strace -f -qq -y -s 16 -e trace=openat,write,pwrite64,fsync,fdatasync,rename,renameat,renameat2,sendmsg,sendto \
	-p "$MGR_PID" -o "$trace" &
sp=$!
track_pid "$sp"
for _ in $(seq 100); do
	grep -Eq "TracerPid:[[:space:]]*[1-9]" "/proc/$MGR_PID/status" && break
	sleep 0.05
done
grep -Eq "TracerPid:[[:space:]]*[1-9]" "/proc/$MGR_PID/status" || fail "strace did not attach to the manager"
# strace attaches to the other threads right after the first one.
sleep 0.5
assert_ok "the traced NV write" "$CLIENT" tpm --socket "$(sock "$u")" nvwrite "$IDX" 0000000000000002
sleep 0.3
kill -INT "$sp"
wait "$sp" || [ $? -le 130 ] || fail "strace failed"

python3 - "$trace" "$u" <<'PY' || fail "the NV store's system calls are out of order (trace: $(tr '\n' '|' <"$trace" | head -c 3000))"
import re, sys
lines = open(sys.argv[1]).read().splitlines()
u = sys.argv[2]
tmp = "/vtpm/%s/.permall.tmp>" % u
dirfd = "/vtpm/%s>" % u
def first(pred, start=0, what=""):
    for i in range(start, len(lines)):
        if pred(lines[i]):
            return i
    sys.exit("no %s after line %d" % (what, start))
i_open = first(lambda l: "openat(" in l and '".permall.tmp"' in l and "O_CREAT" in l, 0, "openat of .permall.tmp")
i_write = first(lambda l: re.search(r"\bwrite\(\d+<[^>]*" + re.escape(tmp), l), i_open, "write to .permall.tmp")
i_fsync = first(lambda l: re.search(r"\bfsync\(\d+<[^>]*" + re.escape(tmp), l), i_write, "fsync of .permall.tmp")
i_rename = first(lambda l: "rename" in l and '".permall.tmp"' in l and '"permall"' in l and l.rstrip().endswith("= 0"),
                 i_fsync, "rename of .permall.tmp to permall")
i_dsync = first(lambda l: re.search(r"\bfsync\(\d+<[^>]*" + re.escape(dirfd) + r"\)", l), i_rename,
                "fsync of the vTPM's directory")
# The acknowledgement: a channel message of type 7 (CHAN_NV_STATUS).
ack = lambda l: "sendmsg(" in l and 'iov_base="\\0\\0\\0\\7' in l
i_ack = first(ack, 0, "NV_STATUS acknowledgement")
if i_ack < i_dsync:
    sys.exit("the acknowledgement (line %d) comes before the directory fsync (line %d)" % (i_ack, i_dsync))
if not re.search(r'iov_base="\\0\\0\\0\\0"', lines[i_ack]):
    sys.exit("the acknowledgement is not a success: " + lines[i_ack])
print("order: write %d < fsync %d < rename %d < fsync(dir) %d < ack %d" % (i_write, i_fsync, i_rename, i_dsync, i_ack))
PY
stop_manager
