#!/bin/bash
# test_cli: vtpmctl's contract: errors exit non-zero with one line on stderr
# (daemon not running, bad arguments, unknown UUID); create --uuid prints the
# given UUID; list --json is valid JSON; show, stop and delete work, and
# delete removes the vTPM's sockets and state.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

unknown=00000000-0000-4000-8000-00000000abcd
given=$(python3 -c 'import uuid; print(uuid.uuid4())')

log "daemon not running"
mkdir -p "$RUN"
assert_fails "list without a daemon" vtpmctl list
assert_one_line_stderr "list without a daemon"
assert_fails "create without a daemon" vtpmctl create
assert_one_line_stderr "create without a daemon"

start_manager

log "bad arguments"
assert_fails "unknown command" vtpmctl frobnicate
assert_one_line_stderr "unknown command"
assert_fails "bad --tpm-version" vtpmctl create --tpm-version 3
assert_one_line_stderr "bad --tpm-version"
assert_fails "create --uuid not-a-uuid" vtpmctl create --uuid not-a-uuid
assert_one_line_stderr "create --uuid not-a-uuid"
assert_fails "show without UUID" vtpmctl show
assert_one_line_stderr "show without UUID"
assert_fails "show not-a-uuid" vtpmctl show not-a-uuid
assert_one_line_stderr "show not-a-uuid"
assert_eq "[]" "$(vtpmctl list --json | tr -d ' \n')" "list --json after the failed creates"

log "unknown UUID"
for c in show stop delete; do
	assert_fails "$c of an unknown UUID" vtpmctl "$c" "$unknown"
	assert_one_line_stderr "$c of an unknown UUID"
done

log "create, list, show"
out=$(vtpmctl create --uuid "$given") || fail "create --uuid $given"
assert_eq "$given" "$out" "create --uuid output"
assert_fails "create of an existing UUID" vtpmctl create --uuid "$given"
assert_one_line_stderr "create of an existing UUID"
other=$(create_vtpm --tpm-version 2)
v12=$(create_vtpm --tpm-version 1.2)

vtpmctl list --json >"$TESTDIR/list.json" || fail "list --json"
python3 -m json.tool "$TESTDIR/list.json" >/dev/null || fail "list --json is not JSON: $(cat "$TESTDIR/list.json")"
python3 - "$TESTDIR/list.json" "$given" "$other" "$v12" <<'PY' || fail "list --json content"
import json, sys
entries = json.load(open(sys.argv[1]))
want = sys.argv[2:]
got = {e["uuid"]: e for e in entries}
assert sorted(got) == sorted(want), f"uuids {sorted(got)} != {sorted(want)}"
insts = [e["instance"] for e in entries]
assert len(set(insts)) == len(insts), f"duplicate instance numbers {insts}"
assert all(isinstance(i, int) for i in insts), insts
assert got[want[2]]["tpm_version"] in ("1.2", 1.2), got[want[2]]
assert got[want[0]]["tpm_version"] in ("2.0", "2", 2), got[want[0]]
for e in entries:
    assert "pid" in e, e
PY
plain=$(vtpmctl list) || fail "list"
for u in "$given" "$other" "$v12"; do
	assert_contains "$plain" "$u" "vtpmctl list"
done
shown=$(vtpmctl show "$given") || fail "show $given"
assert_contains "$shown" "$given" "vtpmctl show"
[ -S "$RUN/$given.sock" ] || fail "no data socket $RUN/$given.sock after create"
[ -S "$RUN/$given.sock.ctrl" ] || fail "no control socket $RUN/$given.sock.ctrl after create"

log "stop"
assert_ok "getrandom" t2 getrandom "$given" 8 --hex >/dev/null
pid=$(json_field "$given" pid)
assert_match '[1-9][0-9]*' "$pid" "pid of a running vTPM in list --json"
assert_ok "stop" vtpmctl stop "$given"
wait_gone "$pid" 5 || fail "vtpmd $pid still running 5 s after vtpmctl stop"
assert_eq "stopped" "$(json_field "$given" state)" "state after stop"
[ -S "$RUN/$given.sock" ] || fail "vtpmctl stop removed the data socket (the vTPM is still defined)"
assert_ok "getrandom after stop" t2 getrandom "$given" 8 --hex >/dev/null

log "delete"
assert_ok "delete" vtpmctl delete "$given"
[ ! -e "$RUN/$given.sock" ] || fail "data socket still there after delete"
[ ! -e "$RUN/$given.sock.ctrl" ] || fail "control socket still there after delete"
[ ! -e "$STATE/vtpm/$given" ] || fail "state directory still there after delete: $(ls -A "$STATE/vtpm/$given")"
assert_fails "show after delete" vtpmctl show "$given"
assert_one_line_stderr "show after delete"
assert_not_contains "$(vtpmctl list)" "$given" "list after delete"

log "the other vTPMs are untouched"
assert_ok "getrandom on another vTPM" t2 getrandom "$other" 8 --hex >/dev/null
assert_ok "delete a never-used vTPM" vtpmctl delete "$v12"
[ ! -e "$RUN/$v12.sock" ] || fail "data socket of the 1.2 vTPM still there after delete"
