#!/bin/bash
# test_transport: moving a stopped vTPM between two hosts (two managers,
# each with a swtpm standing in for its own host TPM).  `vtpmctl
# transport-key` on B prints B's public transport key (= B's
# transport.pem); A exports a stopped vTPM to it, is left with the vTPM
# stopped and marked exported (it refuses to start, even after `vtpmctl
# stop`, and says so); B imports the file: the same NV contents and EK
# certificate, and `vtpmctl ek` works there.  Refused by name: export of a
# running vTPM or to this host's own key; on import a changed byte
# (authentication), a truncated file, a file for another host's key, a
# file from another source than --from names, a UUID that already exists.
# `--delete-after` removes the source once the file is written.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

declare -A H_PID=()
CUR=""
host() { # A|B: lib.sh's STATE, RUN, KEY, MGR_LOG and MGR_PID for that host
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
start() {
	start_manager --host-tpm "$(host_spec "tpm$CUR")"
	track_pid "$MGR_PID" # the EXIT trap knows one MGR_PID only
}
stop() {
	local p=$MGR_PID
	stop_manager
	_untrack_pid "$p"
}
IDX=0x1500020

start_host_swtpm2 tpmA
start_host_swtpm2 tpmB
host B
start
vtpmctl transport-key >"$TESTDIR/b.pem" || fail "transport-key on B"
cmp -s "$TESTDIR/b.pem" "$STATE/transport.pem" || fail "transport-key differs from B's transport.pem"
assert_contains "$(openssl pkey -pubin -in "$TESTDIR/b.pem" -noout -text)" "NIST CURVE: P-384" "B's key"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$TESTDIR/c.key" 2>/dev/null
openssl pkey -in "$TESTDIR/c.key" -pubout -out "$TESTDIR/c.pem"

host A
start
vtpmctl transport-key >"$TESTDIR/a.pem" || fail "transport-key on A"
u=$(create_vtpm)
head -c 32 /dev/urandom >"$TESTDIR/marker"
assert_ok "nvdefine" t2 nvdefine "$u" $IDX -C o -s 32 -a "ownerread|ownerwrite"
nv_put "$u" $IDX "$TESTDIR/marker"
vtpmctl ek "$u" --cert >"$TESTDIR/certA.pem" || fail "ek --cert on A"

log "export"
assert_fails "export of a running vTPM" vtpmctl export "$u" --to "$TESTDIR/b.pem"
assert_eq "vtpmctl: vTPM $u is running; stop it first (vtpmctl stop)" "$LAST_STDERR" "running"
assert_ok "stop" vtpmctl stop "$u"
assert_fails "export to A's own key" vtpmctl export "$u" --to "$TESTDIR/a.pem"
assert_eq "vtpmctl: --to names this host's own transport key" "$LAST_STDERR" "own key"
vtpmctl export "$u" --to "$TESTDIR/b.pem" >"$TESTDIR/u.xprt" || fail "export to B"
assert_eq 5654504d58505254 "$(head -c 8 "$TESTDIR/u.xprt" | xxd -p)" "magic VTPMXPRT"
head -c 32 "$TESTDIR/marker" | xxd -p >"$TESTDIR/marker.hex"
if grep -qF "$(xxd -p -c 32 "$TESTDIR/marker")" <(xxd -p -c 1000000 "$TESTDIR/u.xprt" | tr -d '\n'); then
	fail "the export file holds the NV data in clear"
fi
fpB=$(openssl pkey -pubin -in "$TESTDIR/b.pem" -outform der | sha256_hex)
assert_eq failed "$(json_field "$u" state)" "state of the exported vTPM on A"
assert_contains "$(json_field "$u" reason)" "exported to host with transport key ${fpB:0:16}..." "reason on A"
if t2 getrandom "$u" 8 >/dev/null 2>&1; then
	fail "A still runs the exported vTPM"
fi
assert_ok "stop of the exported vTPM" vtpmctl stop "$u"
if t2 getrandom "$u" 8 >/dev/null 2>&1; then
	fail "A runs the exported vTPM after vtpmctl stop"
fi
stop
start
assert_contains "$(json_field "$u" reason)" "exported to host" "reason on A after a restart"
vtpmctl export "$u" --to "$TESTDIR/c.pem" >"$TESTDIR/c.xprt" || fail "export to C (again, allowed)"

log "import: refusals"
host B
fpBs=${fpB:0:16}
fpC=$(openssl pkey -pubin -in "$TESTDIR/c.pem" -outform der | sha256_hex)
assert_fails "import of C's file" vtpmctl import "$TESTDIR/c.xprt"
assert_eq "vtpmctl: export file was made for another host (transport key ${fpC:0:16}...; this host's is $fpBs...)" \
	"$LAST_STDERR" "another host's file"
size=$(stat -c %s "$TESTDIR/u.xprt")
for at in 15 30 100 $((size / 2)) $((size - 1)); do
	cp "$TESTDIR/u.xprt" "$TESTDIR/bad.xprt"
	printf "\\x$(printf %02x $(($(xxd -s $at -l 1 -p "$TESTDIR/u.xprt" | sed 's/^/0x/') ^ 1)))" |
		dd of="$TESTDIR/bad.xprt" bs=1 seek=$at conv=notrunc status=none
	assert_fails "import of a file changed at byte $at" vtpmctl import "$TESTDIR/bad.xprt"
	case $at in
	30) assert_eq "vtpmctl: export file was made for another host (transport key $(xxd -s 28 -l 8 -p "$TESTDIR/bad.xprt")...; this host's is $fpBs...)" \
		"$LAST_STDERR" "changed destination fingerprint" ;;
	100) assert_eq "vtpmctl: export file refused: malformed, or not the expected format" \
		"$LAST_STDERR" "changed source key (no P-384 point any more)" ;;
	*) assert_eq "vtpmctl: export file refused: authentication failed: modified, forged, or the wrong key" \
		"$LAST_STDERR" "changed byte $at" ;;
	esac
done
head -c $((size - 7)) "$TESTDIR/u.xprt" >"$TESTDIR/short.xprt"
assert_fails "import of a truncated file" vtpmctl import "$TESTDIR/short.xprt"
assert_eq "vtpmctl: export file refused: malformed, or not the expected format" \
	"$LAST_STDERR" "truncated"
fpA=$(openssl pkey -pubin -in "$TESTDIR/a.pem" -outform der | sha256_hex)
assert_fails "import --from another source" vtpmctl import --from "$TESTDIR/c.pem" "$TESTDIR/u.xprt"
assert_eq "vtpmctl: export file comes from transport key ${fpA:0:16}..., not from the expected ${fpC:0:16}... (--from)" \
	"$LAST_STDERR" "--from mismatch"
assert_eq "" "$(vtpmctl list)" "B's vTPMs after the refusals"

log "import"
assert_eq "$u" "$(vtpmctl import --from "$TESTDIR/a.pem" "$TESTDIR/u.xprt")" "import prints the UUID"
grep -q "vtpm $u: imported (instance 1, TPM 2.0) from host with transport key ${fpA:0:16}..." "$MGR_LOG" ||
	fail "no log line naming the source"
nv_expect "$u" $IDX "$TESTDIR/marker" "NV data on B"
cmp -s "$TESTDIR/certA.pem" <(vtpmctl ek "$u" --cert) || fail "vtpmctl ek --cert on B"
assert_ok "nvread of the EK certificate on B" t2 nvread "$u" 0x01c00002 -C 0x01c00002 -o "$TESTDIR/nvcert"
cmp -s <(openssl x509 -in "$TESTDIR/certA.pem" -outform der) "$TESTDIR/nvcert" ||
	fail "the EK certificate in NV on B"
assert_fails "import of the same file again" vtpmctl import "$TESTDIR/u.xprt"
assert_eq "vtpmctl: a vTPM with UUID $u already exists on this host" "$LAST_STDERR" "existing UUID"

log "--delete-after"
host A
w=$(create_vtpm)
vtpmctl export "$w" --to "$TESTDIR/b.pem" --delete-after >"$TESTDIR/w.xprt" 2>"$TESTDIR/w.err" ||
	fail "export --delete-after: $(cat "$TESTDIR/w.err")"
assert_eq "vtpmctl: exported and deleted $w" "$(cat "$TESTDIR/w.err")" "export --delete-after message"
assert_not_contains "$(vtpmctl list)" "$w" "A's vTPMs after --delete-after"
[ ! -e "$STATE/vtpm/$w" ] || fail "A kept the state of the deleted vTPM"
host B
assert_eq "$w" "$(vtpmctl import "$TESTDIR/w.xprt")" "import of the deleted vTPM"
assert_match '[0-9a-f]{16}' "$(t2 getrandom "$w" 8 --hex)" "GetRandom on the moved vTPM"
stop
host A
stop
