#!/bin/bash
# test_host_failed_start: a start that fails after the manifest was read
# must leave the state directory as it was (swtpm --tpm2 host, two vTPMs):
#  - manifest deleted: refused ("rollback or tampering detected", naming the
#    manifest), nothing written, a second start refused the same way; the
#    manifest put back: it starts with both vTPMs.
#  - a vTPM's socket path occupied by a directory: the start fails naming
#    it, nothing in the state dir changes; once the path is free it starts
#    and lists both vTPMs, whose NV reads back.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

idx=0x1500070
start_host_swtpm2 host
spec=$(host_spec host)

start_manager --host-tpm "$spec"
u1=$(create_vtpm)
u2=$(create_vtpm)
for u in "$u1" "$u2"; do
	assert_ok "nvdefine on $u" t2 nvdefine "$u" "$idx" -C o -s 32 -a "ownerread|ownerwrite" >/dev/null
	head -c 32 /dev/urandom >"$TESTDIR/d.$u"
	nv_put "$u" "$idx" "$TESTDIR/d.$u"
done
stop_manager

listed() { vtpmctl list --json | python3 -c 'import json,sys; print(" ".join(sorted(e["uuid"] for e in json.load(sys.stdin))))'; }
both=$(printf '%s\n' "$u1" "$u2" | sort | tr '\n' ' ')
both=${both% }

log "manifest deleted"
mv "$STATE/manifest" "$TESTDIR/manifest.saved"
before=$(state_digest)
for attempt in 1 2; do
	manager_fails "start without a manifest (attempt $attempt)" --host-tpm "$spec"
	log "refusal: $(printf '%s\n' "$LAST_STDERR" | tail -n 1)"
	assert_contains "$(printf '%s\n' "$LAST_STDERR" | tail -n 1)" ": error: rollback or tampering detected: $STATE/manifest is missing" "start without a manifest (attempt $attempt)"
	assert_eq "$before" "$(state_digest)" "state directory after the refused start without a manifest (attempt $attempt)"
done
mv "$TESTDIR/manifest.saved" "$STATE/manifest"
start_manager --host-tpm "$spec"
assert_eq "$both" "$(listed)" "vTPMs listed after the manifest was put back"
stop_manager

log "a vTPM's socket path occupied"
mkdir -p "$RUN/$u2.sock/blocker"
before=$(state_digest)
manager_fails "start with $RUN/$u2.sock occupied" --host-tpm "$spec"
log "refusal: $(printf '%s\n' "$LAST_STDERR" | tail -n 1)"
assert_contains "$LAST_STDERR" "$RUN/$u2.sock" "start with the socket path occupied"
assert_eq "$before" "$(state_digest)" "state directory after the failed start"
rm -rf "$RUN/$u2.sock"
start_manager --host-tpm "$spec"
assert_eq "$both" "$(listed)" "vTPMs listed after the socket path was freed"
for u in "$u1" "$u2"; do
	nv_expect "$u" "$idx" "$TESTDIR/d.$u" "after the failed start"
done
stop_manager
