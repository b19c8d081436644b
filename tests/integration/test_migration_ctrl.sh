#!/bin/bash
# test_migration_ctrl: state blobs through the control socket, as QEMU uses
# them for live migration and savevm/loadvm (reference/swtpm-qemu.md §4.3),
# between two managers ("hosts" A and B, each with its own state and run
# directories and master key).  On A a vTPM gets an NV index and an extended
# PCR; while it runs, GET_STATEBLOB returns its permanent and volatile state
# in this project's envelope (magic VTPMMIG1, version 2, type, key flag, the
# vTPM's UUID, its state generation, length, AES-256-GCM): without a
# migration key it is sealed under A's own key (flag 02, state_flags
# ENCRYPTED), and no NV byte is visible in it.  Same host: STOP,
# SET_STATEBLOB of its own blobs, INIT gives the vTPM back its state; an
# older blob of its own loads (a snapshot revert) and the log names both
# generations.  Refused with TPM_BAD_PARAMETER (0x03), without reaching
# the vtpmd: a changed byte anywhere (state, type, UUID, generation, tag),
# a truncated or extended blob, a blob under another blob type, a blob for
# another vTPM (also with its UUID patched to that vTPM's), an empty
# permanent blob, a version 1 integrity-only blob with a correct SHA-256
# (the old forgery), and on host B a blob sealed under A's key (the log says
# a migration_key is needed).  With the same migration_key on both hosts
# the blobs are sealed under it (flag 01) and migrate; under another key, or
# where none is set, they are refused.  A TPM 1.2 vTPM migrates too (PCR
# through volatile state), and a real QEMU 7.2 live-migrates a VM whose TPM
# is served by A to B.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# ---- two hosts ----------------------------------------------------------
# host A|B points lib.sh's STATE, RUN, KEY, MGR_LOG and MGR_PID at a host.
declare -A H_PID=()
CUR=""
host() {
	[ -z "$CUR" ] || H_PID[$CUR]=$MGR_PID
	CUR=$1
	mkdir -p "$TESTDIR/$1"
	STATE=$TESTDIR/$1/state
	RUN=$TESTDIR/$1/run
	KEY=$TESTDIR/$1/master.key
	MGR_LOG=$TESTDIR/$1/manager.log
	touch "$MGR_LOG"
	MGR_PID=${H_PID[$1]:-}
}
# Debug logging: vtpmd logs each control command it handles.
start() {
	start_manager --log-level debug "$@"
	track_pid "$MGR_PID"
}
stop() {
	local p=$MGR_PID
	stop_manager
	_untrack_pid "$p"
}
restart() {
	stop
	start "$@"
}

# ---- control requests -----------------------------------------------------
ctrl() {
	local u=$1
	shift
	client ctrl --socket "$RUN/$u.sock.ctrl" "$@"
}
# get_blob UUID TYPE [OFFSET]: the whole GET_STATEBLOB reply, hex.
get_blob() {
	ctrl "$1" raw "0000000c00000001$(printf %08x "$2")$(printf %08x "${3:-0}")"
}
# set_blob UUID TYPE FLAGS_HEX8 BLOB_HEX: SET_STATEBLOB; prints the 4-byte
# reply, hex.  (vtpm-client's raw takes bodies of at most 4 KiB.)
set_blob() {
	local f=$TESTDIR/setreq.bin
	printf '0000000d%s%08x%08x%s' "$3" "$2" "$((${#4} / 2))" "$4" | xxd -r -p >"$f"
	timeout 30 python3 - "$RUN/$1.sock.ctrl" "$f" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(20)
s.connect(sys.argv[1])
with open(sys.argv[2], "rb") as f:
    s.sendall(f.read())
r = b""
while len(r) < 4:
    d = s.recv(4 - len(r))
    if not d:
        break
    r += d
print(r.hex())
EOF
}
# check_reply WHAT REPLY: res 0, totlength == length == bytes that follow.
# Sets FLAGS (state_flags, hex8) and BLOB (hex).
check_reply() {
	local r=$2 tot len
	assert_match '[0-9a-f]{32,}' "$r" "$1: reply"
	assert_eq 00000000 "${r:0:8}" "$1: result"
	FLAGS=${r:8:8}
	tot=$((0x${r:16:8}))
	len=$((0x${r:24:8}))
	assert_eq "$tot" "$len" "$1: totlength and length"
	BLOB=${r:32}
	assert_eq $((len * 2)) "${#BLOB}" "$1: hex digits of the blob"
}
# check_envelope WHAT BLOB TYPE FLAGS UUID: version 2 layout (68 bytes of
# header, nonce and tag around the ciphertext).
check_envelope() {
	local b=$2
	assert_eq 5654504d4d494731 "${b:0:16}" "$1: magic VTPMMIG1"
	assert_eq 0002 "${b:16:4}" "$1: version"
	assert_eq "$(printf %02x "$3")" "${b:20:2}" "$1: blob type"
	assert_eq "$4" "${b:22:2}" "$1: key flag"
	assert_eq "${5//-/}" "${b:24:32}" "$1: UUID"
	assert_eq $((${#b} / 2 - 68)) $((0x${b:72:8})) "$1: length field"
}
# gen_of BLOB: the generation in an envelope.
gen_of() { echo $((0x${1:56:16})); }
# flip HEX BYTE_OFFSET: HEX with that byte xor 0x01.
flip() {
	local h=$1 o=$(($2 * 2))
	printf '%s%02x%s' "${h:0:o}" $((0x${h:o:2} ^ 1)) "${h:o+2}"
}
# SET_STATEBLOB requests a vtpmd of the current host has handled.
vtpmd_sets() { count_matches 'control command 0xd: result' <"$MGR_LOG"; }
pcr16() {
	assert_ok "pcrread on $1" t2 pcrread "$1" sha256:16 -o "$TESTDIR/pcr.bin" >/dev/null
	xxd -p -c 64 "$TESTDIR/pcr.bin"
}
new_key() {
	head -c 32 /dev/urandom >"$1"
	chmod 600 "$1"
}

IDX=0x1500020

# ---- host A: a vTPM with NV data and an extended PCR ------------------------
host A
start
u=$(create_vtpm)
log "A: vTPM $u with an NV index and PCR 16 extended"
head -c 32 /dev/urandom >"$TESTDIR/marker1"
assert_ok "nvdefine on A" t2 nvdefine "$u" "$IDX" -C o -s 32 -a "ownerread|ownerwrite" >/dev/null
nv_put "$u" "$IDX" "$TESTDIR/marker1"
assert_ok "pcrextend on A" t2 pcrextend "$u" "16:sha256=$(printf 'migrate me' | sha256_hex)"
pcrA=$(pcr16 "$u")
assert_ne "$(printf '%064d' 0)" "$pcrA" "PCR 16 on A after the extend"

log "A: capabilities, GET_CONFIG, LOCK_STORAGE, startup note"
caps=$(ctrl "$u" getcap) || fail "GET_CAPABILITY"
for bit in 8 9 10 16; do
	[ $(((0x$caps >> bit) & 1)) = 1 ] || fail "GET_CAPABILITY 0x$caps lacks bit $bit"
done
assert_eq 0000000000000000 "$(ctrl "$u" getconfig)" "GET_CONFIG without a migration key"
assert_eq 00000000 "$(ctrl "$u" raw 000000130000012c)" "LOCK_STORAGE(300)"
grep -q "no migration_key: .* loads back on this host only" "$MGR_LOG" ||
	fail "no startup note about state blobs sealed under this host's key"

log "A: GET_STATEBLOB while running: sealed under A's own key"
r=$(get_blob "$u" 1) || fail "GET_STATEBLOB(permanent)"
check_reply "GET_STATEBLOB(permanent)" "$r"
assert_eq 00000002 "$FLAGS" "GET_STATEBLOB(permanent) state_flags (ENCRYPTED)"
check_envelope "permanent blob" "$BLOB" 1 02 "$u"
perm=$BLOB
assert_not_contains "$perm" "$(xxd -p -c 64 "$TESTDIR/marker1")" "the permanent blob (NV marker in clear)"
r=$(get_blob "$u" 2) || fail "GET_STATEBLOB(volatile)"
check_reply "GET_STATEBLOB(volatile)" "$r"
check_envelope "volatile blob" "$BLOB" 2 02 "$u"
vol=$BLOB
assert_eq 00000800000000000000000000000000 "$(get_blob "$u" 3)" \
	"GET_STATEBLOB(savestate) of a TPM 2.0 (TPM_RETRY, empty)"
assert_eq 00000003000000000000000000000000 "$(get_blob "$u" 4)" "GET_STATEBLOB(type 4)"
assert_eq 00000003000000000000000000000000 "$(get_blob "$u" 1 16)" "GET_STATEBLOB(offset 16)"
assert_eq 0000000a "$(set_blob "$u" 1 00000000 "$perm")" "SET_STATEBLOB while running"
# The source keeps running (a failed migration falls back to it).
assert_eq "$pcrA" "$(pcr16 "$u")" "PCR 16 on A after GET_STATEBLOB"
nv_expect "$u" "$IDX" "$TESTDIR/marker1" "A after GET_STATEBLOB"

log "A: refused blobs reach no vtpmd"
w=$(create_vtpm)
assert_ok "first use of $w" t2 getrandom "$w" 8 >/dev/null
assert_eq 00000000 "$(ctrl "$u" stop)" "STOP on A"
assert_eq 00000000 "$(ctrl "$w" stop)" "STOP of $w on A"
n0=$(vtpmd_sets)
mid=$((40 + 12 + ${#perm} / 8))
for case in "changed state byte:1:$(flip "$perm" "$mid")" \
	"changed type byte:1:$(flip "$perm" 10)" \
	"changed UUID byte:1:$(flip "$perm" 20)" \
	"changed generation byte:1:$(flip "$perm" 35)" \
	"changed tag byte:1:$(flip "$perm" $((${#perm} / 2 - 1)))" \
	"truncated:1:${perm:0:${#perm}-2}" \
	"one byte more:1:${perm}00" \
	"permanent blob as volatile:2:$perm" \
	"empty permanent blob:1:"; do
	what=${case%%:*}
	rest=${case#*:}
	assert_eq 00000003 "$(set_blob "$u" "${rest%%:*}" 00000000 "${rest#*:}")" \
		"SET_STATEBLOB, $what"
done
assert_eq 00000003 "$(set_blob "$w" 1 00000000 "$perm")" "SET_STATEBLOB of $u's blob into $w"
grep -q "vtpm $w: SET_STATEBLOB(permanent, .*) refused: well formed, but for another vTPM, blob or kind" "$MGR_LOG" ||
	fail "no log line naming the UUID mismatch"
# The old forgery: the UUID patched to the victim's.  The GCM tag covers it.
assert_eq 00000003 "$(set_blob "$w" 1 00000000 "${perm:0:24}${w//-/}${perm:56}")" \
	"$u's blob with its UUID patched to $w's"
grep -q "vtpm $w: SET_STATEBLOB(permanent, .*) refused: made for a key this host does not hold (sealed on another host" "$MGR_LOG" ||
	fail "no log line for the patched UUID"
# And an integrity-only (version 1) envelope with a correct SHA-256, which
# used to be accepted from anyone: state of the attacker's choosing for $w.
forged=$(python3 - "${w//-/}" <<'PY'
import hashlib, os, sys
hdr = b"VTPMMIG1" + (1).to_bytes(2, "big") + bytes([1, 0]) + bytes.fromhex(sys.argv[1]) + (200).to_bytes(4, "big")
body = os.urandom(200)
print((hdr + body + hashlib.sha256(hdr + body).digest()).hex())
PY
)
assert_eq 00000003 "$(set_blob "$w" 1 00000000 "$forged")" "an integrity-only version 1 blob"
grep -q "vtpm $w: SET_STATEBLOB(permanent, .*) refused: integrity-only (unauthenticated) data" "$MGR_LOG" ||
	fail "no log line for the integrity-only blob"
assert_eq "$n0" "$(vtpmd_sets)" "SET_STATEBLOB requests that reached a vtpmd"

log "A: its own state back (save/restore on one host), and an older one (snapshot revert)"
assert_eq 00000000 "$(set_blob "$u" 1 00000000 "$perm")" "SET_STATEBLOB(permanent) on A"
assert_eq 00000000 "$(set_blob "$u" 2 00000000 "$vol")" "SET_STATEBLOB(volatile) on A"
assert_eq 00000000 "$(ctrl "$u" init 1)" "INIT(DELETE_VOLATILE) on A"
nv_expect "$u" "$IDX" "$TESTDIR/marker1" "A after restoring its own state"
assert_eq "$pcrA" "$(pcr16 "$u")" "PCR 16 on A after restoring its own state"
old_gen=$(gen_of "$perm")
head -c 32 /dev/urandom >"$TESTDIR/marker0"
nv_put "$u" "$IDX" "$TESTDIR/marker0"
nv_put "$u" "$IDX" "$TESTDIR/marker0"
assert_eq 00000000 "$(ctrl "$u" stop)" "STOP on A"
off=$(stat -c %s "$MGR_LOG")
assert_eq 00000000 "$(set_blob "$u" 1 00000000 "$perm")" "SET_STATEBLOB of an older blob of its own"
line=$(log_since "$off" | grep "older than the current generation") ||
	fail "no log line about loading older state"
assert_contains "$line" "generation $old_gen, older" "the log line names the blob's generation"
assert_eq 00000000 "$(ctrl "$u" init 1)" "INIT after the snapshot revert"
assert_ok "startup after the snapshot revert" t2 startup "$u" -c
nv_expect "$u" "$IDX" "$TESTDIR/marker1" "A after the snapshot revert (the older NV contents)"

# ---- host B: the same UUID, created by the operator -------------------------
host B
start
assert_eq "$u" "$(create_vtpm --uuid "$u")" "vtpmctl create --uuid on B"
log "B without a migration key: A's blobs do not open here"
assert_eq 00000000 "$(ctrl "$u" stop)" "STOP on B"
n0=$(vtpmd_sets)
assert_eq 00000003 "$(set_blob "$u" 1 00000000 "$perm")" "A's host-key blob on B"
grep -q "vtpm $u: SET_STATEBLOB(permanent, .*) refused: .*sealed on another host.*migration_key" "$MGR_LOG" ||
	fail "B's log does not say why (another host; migration_key)"
assert_eq "$n0" "$(vtpmd_sets)" "SET_STATEBLOB requests that reached B's vtpmd"
assert_eq 00000000 "$(ctrl "$u" init 0)" "INIT on B"

# libtpms 0.9 stores the permanent state it got from SET_STATEBLOB during
# the INIT's power-on but ignores a failure of that store; vtpmd then
# stores it itself, and when that fails too the INIT fails (the state must
# not live in memory only).  vtpmd-drive plays the manager and fails the
# next N NV stores; it takes a raw permanent blob from a vtpmd of its own
# (the manager's envelopes are sealed).
d=$TESTDIR/drive0
mkdir -p "$d"
printf 'spawn 2 --autostart --log-level debug\nctrl 0000000c 00000000 00000001 00000000 expect 00000000\nsave %s\nstop\n' \
	"$d.hex" >"$d.drive"
"$BUILD/vtpmd-drive" -x "$BUILD/vtpmd" -d "$d" <"$d.drive" >"$d.out" 2>&1 ||
	fail "vtpmd-drive, GET_STATEBLOB: $(grep -E 'FAIL|error' "$d.out" | head -n 5)"
rawreply=$(cat "$d.hex")
plen=$((0x${rawreply:24:8}))
raw=${rawreply:32}
[ "${#raw}" = $((plen * 2)) ] || fail "vtpmd's GET_STATEBLOB reply is shorter than its length field"
{
	log "vtpmd: the permanent state from SET_STATEBLOB is stored when libtpms' store fails"
	for fails in 1 2; do
		d=$TESTDIR/drive$fails
		mkdir -p "$d"
		{
			echo "spawn 2 --log-level debug"
			echo "ctrl 0000000d 00000000 00000001 $(printf %08x "$plen") $raw expect 00000000"
			echo "nvfail $fails"
			if [ "$fails" = 1 ]; then
				echo "ctrl 00000002 00000001 expect 00000000"
				echo "nvhas permall"
				# powered on from the blob, waiting for TPM2_Startup
				echo "tpm 8001 0000000c 0000017b 0010 expect 80010000000a00000100"
			else
				echo "ctrl 00000002 00000001 expect 00000009"
				echo "nvnot permall"
				# not powered on
				echo "tpm 8001 0000000c 0000017b 0010 expect 80010000000a00000101"
			fi
			echo "stop"
		} >"$d.drive"
		"$BUILD/vtpmd-drive" -x "$BUILD/vtpmd" -d "$d" <"$d.drive" >"$d.out" 2>&1 ||
			fail "vtpmd-drive, $fails NV store(s) failing: $(grep -E 'FAIL|error' "$d.out" | head -n 5)"
	done
	grep -q "permanent state from SET_STATEBLOB stored after power-on" "$TESTDIR/drive1.out" ||
		fail "vtpmd did not store the permanent state after libtpms' store failed"
	grep -q "cannot store the permanent state from SET_STATEBLOB" "$TESTDIR/drive2.out" ||
		fail "vtpmd did not report the failed store"
}

# ---- a migration key shared by both hosts ---------------------------------
log "both hosts with the same migration_key"
new_key "$TESTDIR/mk1"
new_key "$TESTDIR/mk2"
restart --migration-key "keyfile:$TESTDIR/mk1"
host A
restart --migration-key "keyfile:$TESTDIR/mk1"
assert_eq 0000000000000002 "$(ctrl "$u" getconfig)" "GET_CONFIG with a migration key"
head -c 32 /dev/urandom >"$TESTDIR/marker2"
nv_put "$u" "$IDX" "$TESTDIR/marker2"
# (the snapshot revert above restarted A's TPM: PCR 16 is extended again)
assert_ok "pcrextend on A" t2 pcrextend "$u" "16:sha256=$(printf 'migrate me too' | sha256_hex)"
pcrA=$(pcr16 "$u")
assert_ne "$(printf '%064d' 0)" "$pcrA" "PCR 16 on A after the extend"
r=$(get_blob "$u" 1) || fail "GET_STATEBLOB(permanent) with a key"
check_reply "GET_STATEBLOB(permanent) with a key" "$r"
assert_eq 00000002 "$FLAGS" "state_flags with a key (ENCRYPTED)"
check_envelope "permanent blob sealed under the migration key" "$BLOB" 1 01 "$u"
sperm=$BLOB
r=$(get_blob "$u" 2) || fail "GET_STATEBLOB(volatile) with a key"
check_reply "GET_STATEBLOB(volatile) with a key" "$r"
check_envelope "volatile blob sealed under the migration key" "$BLOB" 2 01 "$u"
svol=$BLOB

host B
assert_eq 00000000 "$(ctrl "$u" stop)" "STOP on B"
n0=$(vtpmd_sets)
assert_eq 00000003 "$(set_blob "$u" 1 00000002 "$(flip "$sperm" $((40 + 12 + 50)))")" \
	"a changed sealed blob"
assert_eq 00000003 "$(set_blob "$u" 1 00000002 "$(flip "$sperm" 11)")" \
	"a sealed blob with its key flag changed"
assert_eq "$n0" "$(vtpmd_sets)" "SET_STATEBLOB requests that reached a vtpmd"
assert_eq 00000000 "$(set_blob "$u" 1 00000002 "$sperm")" "SET_STATEBLOB(sealed permanent)"
assert_eq 00000000 "$(set_blob "$u" 2 00000002 "$svol")" "SET_STATEBLOB(sealed volatile)"
assert_eq 00000000 "$(ctrl "$u" init 1)" "INIT(DELETE_VOLATILE) on B"
nv_expect "$u" "$IDX" "$TESTDIR/marker2" "B after a sealed migration"
assert_eq "$pcrA" "$(pcr16 "$u")" "PCR 16 on B after a sealed migration"

log "B: restarted, the migrated state is still there"
restart --migration-key "keyfile:$TESTDIR/mk1"
nv_expect "$u" "$IDX" "$TESTDIR/marker2" "B after a restart"

log "B with another migration key, then with none"
restart --migration-key "keyfile:$TESTDIR/mk2"
assert_eq 00000000 "$(ctrl "$u" stop)" "STOP on B"
assert_eq 00000003 "$(set_blob "$u" 1 00000002 "$sperm")" "a blob sealed under another key"
restart
assert_eq 00000000 "$(ctrl "$u" stop)" "STOP on B"
assert_eq 00000003 "$(set_blob "$u" 1 00000002 "$sperm")" "a sealed blob where no key is set"
assert_eq 00000000 "$(ctrl "$u" init 0)" "INIT on B"
assert_ok "startup on B" t2 startup "$u" -c
nv_expect "$u" "$IDX" "$TESTDIR/marker2" "B after refused blobs"

log "a migration key file that is readable by others, or not root's, is refused"
chmod 644 "$TESTDIR/mk2"
stop
manager_fails "group-readable migration key" --migration-key "keyfile:$TESTDIR/mk2"
assert_contains "$LAST_STDERR" "chmod 600" "error for a group-readable migration key"
chmod 600 "$TESTDIR/mk2"
chown nobody "$TESTDIR/mk2"
manager_fails "migration key owned by nobody" --migration-key "keyfile:$TESTDIR/mk2"
assert_contains "$LAST_STDERR" "must be owned by uid 0" "error for a migration key owned by nobody"
start --migration-key "keyfile:$TESTDIR/mk1"

# ---- TPM 1.2 --------------------------------------------------------------
log "TPM 1.2: PCR 10 migrates through the volatile state"
host A
u12=$(create_vtpm --tpm-version 1.2)
S12=$RUN/$u12.sock
# TPM_Extend(PCR 10, 20 bytes); the response ends with the new value.
r=$(client tpm --socket "$S12" raw "00c100000022000000140000000a$(printf '%040d' 0 | tr 0 5)") ||
	fail "TPM_Extend on A"
assert_eq 00c40000001e00000000 "${r:0:20}" "TPM_Extend response header on A"
pcr12=${r:20:40}
r=$(get_blob "$u12" 1) || fail "GET_STATEBLOB(permanent), TPM 1.2"
check_reply "GET_STATEBLOB(permanent), TPM 1.2" "$r"
perm12=$BLOB
r=$(get_blob "$u12" 2) || fail "GET_STATEBLOB(volatile), TPM 1.2"
check_reply "GET_STATEBLOB(volatile), TPM 1.2" "$r"
vol12=$BLOB
assert_eq 00000800000000000000000000000000 "$(get_blob "$u12" 3)" \
	"GET_STATEBLOB(savestate), TPM 1.2 without TPM_SaveState"
host B
assert_eq "$u12" "$(create_vtpm --uuid "$u12" --tpm-version 1.2)" "vtpmctl create --uuid (1.2) on B"
assert_eq 00000000 "$(ctrl "$u12" stop)" "STOP (1.2) on B"
assert_eq 00000000 "$(set_blob "$u12" 1 00000000 "$perm12")" "SET_STATEBLOB(permanent), 1.2"
assert_eq 00000000 "$(set_blob "$u12" 2 00000000 "$vol12")" "SET_STATEBLOB(volatile), 1.2"
assert_eq 00000000 "$(ctrl "$u12" init 1)" "INIT(DELETE_VOLATILE) (1.2) on B"
r=$(client tpm --socket "$RUN/$u12.sock" raw 00c10000000e000000150000000a) || fail "TPM_PCRRead on B"
assert_eq "00c40000001e00000000$pcr12" "$r" "TPM_PCRRead(10) on B"

# ---- QEMU 7.2 itself --------------------------------------------------------
# Firmware only (no guest kernel): SeaBIOS measures into PCR 0 on A, QEMU
# migrates the VM over loopback TCP to a QEMU on B, which must see the same
# PCR 0.  This exercises QEMU's own GET/SET_STATEBLOB, flags and sizes.
# qmp SOCKET COMMAND [ARGS_JSON]: prints the "return" (JSON) of one command.
qmp() {
	timeout 20 python3 - "$@" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(15)
s.connect(sys.argv[1])
f = s.makefile("rw")
f.readline()  # greeting
cmd = {"execute": sys.argv[2]}
if len(sys.argv) > 3:
    cmd["arguments"] = json.loads(sys.argv[3])
for c in ({"execute": "qmp_capabilities"}, cmd):
    f.write(json.dumps(c) + "\n")
    f.flush()
    while True:
        r = json.loads(f.readline())
        if "return" in r or "error" in r:
            break
print(json.dumps(r))
sys.exit(1 if "error" in r else 0)
EOF
}
# qemu_vm NAME UUID [args]: a VM whose TPM is the current host's vTPM UUID.
qemu_vm() {
	local name=$1 u=$2
	shift 2
	qemu-system-x86_64 -machine q35,accel=tcg -nodefaults -m 128 -display none -serial none \
		-chardev "socket,id=chrtpm,path=$RUN/$u.sock.ctrl" \
		-tpmdev emulator,id=tpm0,chardev=chrtpm -device tpm-tis,tpmdev=tpm0 \
		-qmp "unix:$TESTDIR/$name.qmp,server=on,wait=off" "$@" >>"$TESTDIR/$name.qemu" 2>&1 &
	track_pid "$!"
}
if command -v qemu-system-x86_64 >/dev/null; then
	log "QEMU: a firmware-measured PCR 0 and NV data survive a live migration from A to B"
	host A
	uq=$(create_vtpm)
	qemu_vm qa "$uq"
	zero=$(printf '%064d' 0)
	p0=""
	for _ in $(seq 60); do
		if t2 pcrread "$uq" sha256:0 -o "$TESTDIR/p0.bin" >/dev/null 2>&1; then
			p0=$(xxd -p -c 64 "$TESTDIR/p0.bin")
			[ "$p0" = "$zero" ] || break
		fi
		sleep 0.5
	done
	if [ -z "$p0" ] || [ "$p0" = "$zero" ]; then
		fail "SeaBIOS did not measure into PCR 0 on A"
	fi
	# NV data written while the VM runs must travel too.
	assert_ok "nvdefine on A while the VM runs" t2 nvdefine "$uq" 0x1500099 -C o -s 8 \
		-a "ownerread|ownerwrite" >/dev/null
	printf 'MIGRATED' >"$TESTDIR/mig.dat"
	assert_ok "nvwrite on A while the VM runs" t2 nvwrite "$uq" 0x1500099 -C o -i "$TESTDIR/mig.dat"
	host B
	assert_eq "$uq" "$(create_vtpm --uuid "$uq")" "vtpmctl create --uuid on B"
	port=$((20000 + RANDOM % 20000))
	qemu_vm qb "$uq" -incoming "tcp:127.0.0.1:$port"
	for _ in $(seq 50); do
		[ -S "$TESTDIR/qb.qmp" ] && break
		sleep 0.1
	done
	host A
	assert_ok "QMP migrate on A" qmp "$TESTDIR/qa.qmp" migrate "{\"uri\": \"tcp:127.0.0.1:$port\"}" >/dev/null
	st=""
	for _ in $(seq 60); do
		st=$(qmp "$TESTDIR/qa.qmp" query-migrate || true) # polled: a failed query is retried
		case "$st" in *'"completed"'* | *'"failed"'*) break ;; esac
		sleep 0.5
	done
	assert_contains "$st" '"completed"' "migration status on A"
	host B
	qs=""
	for _ in $(seq 60); do
		qs=$(qmp "$TESTDIR/qb.qmp" query-status || true) # polled: a failed query is retried
		case "$qs" in *'"running"'*) break ;; esac
		sleep 0.5
	done
	assert_contains "$qs" '"running"' "VM status on B"
	assert_ok "pcrread on B" t2 pcrread "$uq" sha256:0 -o "$TESTDIR/p0b.bin" >/dev/null
	assert_eq "$p0" "$(xxd -p -c 64 "$TESTDIR/p0b.bin")" "PCR 0 on B after QEMU's migration"
	r=$(t2 nvread "$uq" 0x1500099 -C o -s 8) || fail "nvread on B after QEMU's migration"
	assert_eq MIGRATED "$r" "NV data on B after QEMU's migration"
	grep -q "vtpm $uq: incoming volatile state blob verified" "$MGR_LOG" ||
		fail "B did not log the incoming volatile blob"
	# Clean-up: a QEMU that already went away needs no quit.
	qmp "$TESTDIR/qb.qmp" quit >/dev/null || true
	host A
	qmp "$TESTDIR/qa.qmp" quit >/dev/null || true
else
	skip_part "the QEMU part: qemu-system-x86_64 is not installed"
fi

host B
manager_alive || fail "B's manager died"
host A
manager_alive || fail "A's manager died"
