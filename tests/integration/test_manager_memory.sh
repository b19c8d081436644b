#!/bin/bash
# test_manager_memory: TPM state passes through the manager in the clear
# (a vtpmd's NV stores, the blobs it loads, GET_STATEBLOB's raw state) but
# does not stay in its memory (issue 9, finding 6: the last saved state was
# found in a core dump of the manager).  A 32-byte marker is written into a
# vTPM's NV; after the save, after the vTPM is stopped and loaded again, and
# after a GET_STATEBLOB, every readable mapping of the manager's memory
# (/proc/<pid>/mem) is searched for it: it is nowhere.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

start_manager
u=$(create_vtpm)
IDX=0x1500050
printf 'MANAGER-MEMORY-MARKER-%010d' "$RANDOM" >"$TESTDIR/marker"
hex=$(xxd -p -c 64 "$TESTDIR/marker")
assert_ok "nvdefine" t2 nvdefine "$u" "$IDX" -C o -s 32 -a "ownerread|ownerwrite" >/dev/null
nv_put "$u" "$IDX" "$TESTDIR/marker"

scan() { # WHAT
	local hits
	hits=$(python3 - "$MGR_PID" "$hex" <<'PY'
import re, sys
pid, marker = sys.argv[1], bytes.fromhex(sys.argv[2])
CHUNK, HUGE = 64 << 20, 64 << 30
with open("/proc/%s/maps" % pid) as maps, open("/proc/%s/mem" % pid, "rb", 0) as mem:
    for line in maps:
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)", line)
        lo, hi, perm, name = int(m.group(1), 16), int(m.group(2), 16), m.group(3), m.group(4)
        if "r" not in perm or name.startswith("[v"):
            continue
        if hi - lo > HUGE:
            # A sanitizer's shadow memory (terabytes reserved, not the
            # program's data); the caller decides whether that may be.
            print("huge %x-%x" % (lo, hi))
            continue
        tail, at = b"", lo
        while at < hi:
            try:
                mem.seek(at)
                data = tail + mem.read(min(CHUNK, hi - at))
            except (OSError, ValueError):
                break
            i = data.find(marker)
            if i >= 0:
                print("%x %s %s" % (at - len(tail) + i, perm, name or "(anonymous)"))
                break
            tail = data[-(len(marker) - 1):]
            at += CHUNK
PY
) || fail "$1: cannot read the manager's memory"
	if grep -q '^huge ' <<<"$hits"; then
		grep -q libasan "/proc/$MGR_PID/maps" ||
			fail "$1: mappings over 64 GiB in a manager without a sanitizer: $(grep '^huge ' <<<"$hits" | tr '\n' ' ')"
		skip_part_variant "$1: the sanitizer's shadow mappings (over 64 GiB each) are not scanned"
		hits=$(grep -v '^huge ' <<<"$hits" || [ $? = 1 ])
	fi
	[ -z "$hits" ] || fail "$1: the NV marker is in the manager's memory at: $(echo "$hits" | tr '\n' ' ')"
	log "  $1: not in the manager's memory"
}
scan "after the NV write was saved"
assert_ok "vtpmctl stop" vtpmctl stop "$u"
nv_expect "$u" "$IDX" "$TESTDIR/marker" "after the vTPM loaded its state again"
scan "after the state was loaded back"
r=$(client ctrl --socket "$RUN/$u.sock.ctrl" raw 0000000c000000010000000100000000) ||
	fail "GET_STATEBLOB: $r"
scan "after GET_STATEBLOB(permanent)"
stop_manager
