#!/bin/bash
# test_host_keyfile_guard:
#  - keyfile mode: with vTPMs in the state dir, the key file deleted: the
#    start is refused (non-zero, one line naming the key file), no new key
#    file appears and the state dir is unchanged; the key put back: it
#    starts and NV reads back.
#  - a key file that is not root's (owned by nobody, mode 0600) or that
#    others can read is refused, naming the file (issue 9, finding 6).
#  - a mistyped --host-tpm (swtpm:foo, an unknown kind, a kind without a
#    value) is refused with exit 1 or 2 and one line naming the accepted
#    kinds, before anything is created.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

idx=0x1500060
off=$(stat -c %s "$MGR_LOG")
start_manager
assert_contains "$(log_since "$off")" "keyfile mode" "keyfile-mode warning at start"
[ -f "$KEY" ] || fail "no key file $KEY after the first keyfile start"
u=$(create_vtpm)
assert_ok "nvdefine" t2 nvdefine "$u" "$idx" -C o -s 32 -a "ownerread|ownerwrite" >/dev/null
head -c 32 /dev/urandom >"$TESTDIR/d"
nv_put "$u" "$idx" "$TESTDIR/d"
stop_manager

log "key file missing"
mv "$KEY" "$TESTDIR/key.saved"
before=$(state_digest)
manager_fails "start without the key file"
log "refusal: $LAST_STDERR"
assert_one_line_stderr "start without the key file"
assert_contains "$LAST_STDERR" "key file $KEY is missing" "start without the key file"
[ ! -e "$KEY" ] || fail "a new key file $KEY was created over existing vTPM state"
assert_eq "$before" "$(state_digest)" "state directory after the missing-key refusal"

log "key file back"
mv "$TESTDIR/key.saved" "$KEY"
start_manager
nv_expect "$u" "$idx" "$TESTDIR/d" "key file restored"
stop_manager

log "a key file someone else owns, or others can read"
chown nobody "$KEY"
manager_fails "start with a key file owned by nobody"
assert_one_line_stderr "start with a key file owned by nobody"
assert_contains "$LAST_STDERR" "key file $KEY is owned by uid $(id -u nobody)" "the refusal"
chown root "$KEY"
chmod 0640 "$KEY"
manager_fails "start with a group-readable key file"
assert_contains "$LAST_STDERR" "chmod 600" "the refusal"
chmod 0600 "$KEY"
start_manager
nv_expect "$u" "$idx" "$TESTDIR/d" "key file root's and 0600 again"
stop_manager

log "mistyped --host-tpm specs"
for bad in swtpm:foo swtpm: swtmp:path=/x tpm:/dev/tpm0 device: keyfile:; do
	manager_fails "--host-tpm $bad" --host-tpm "$bad" \
		--state-dir "$TESTDIR/state-bad" --run-dir "$TESTDIR/run-bad"
	log "$bad -> $LAST_RC: $LAST_STDERR"
	case "$LAST_RC" in
	1 | 2) ;;
	*) fail "--host-tpm $bad: exit status $LAST_RC, expected 1 or 2" ;;
	esac
	assert_one_line_stderr "--host-tpm $bad"
	case "$bad" in
	swtpm:foo | swtmp:path=/x | tpm:/dev/tpm0)
		for k in device: swtpm:path= swtpm:host= keyfile:; do
			assert_contains "$LAST_STDERR" "$k" "--host-tpm $bad names the accepted kind $k"
		done
		;;
	*) # A kind without a value: names the forms it takes.
		assert_contains "$LAST_STDERR" "needs a value" "--host-tpm $bad"
		;;
	esac
	if [ -e "$TESTDIR/state-bad/master.sealed" ] || [ -e "$TESTDIR/state-bad/manifest" ]; then
		fail "--host-tpm $bad: state was created in $TESTDIR/state-bad"
	fi
done
