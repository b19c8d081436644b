#!/bin/bash
# test_storage_faults: a save that fails at any step (short write + ENOSPC,
# fsync EIO, rename EIO, directory fsync EIO) fails the TPM command that
# needed it with a TPM error, leaves the previous state intact and readable
# after a restart, and the manager keeps serving other vTPMs.  The vTPM is
# shown "degraded" (never "running") until a save works again, and its
# vtpmd, which libtpms left in failure mode, is restarted from the last
# saved state, so the next commands work.  Faults are
# injected with VTPM_FAULT=<step>:<n> (util/fileio.c): the n-th such step in
# the manager process fails.  The atomic writes of a start are the pidfile,
# then (the vTPM resumes from the volatile state its stop saved) the manifest
# commit that records that state file's deletion, so n=3 is the first blob
# save after start.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

start_manager
u=$(create_vtpm)
other=$(create_vtpm)
assert_ok "nvdefine" t2 nvdefine "$u" 0x1500016 -C o -s 8 -a "ownerread|ownerwrite" >/dev/null
printf 'AAAAAAAA' >"$TESTDIR/a"
printf 'BBBBBBBB' >"$TESTDIR/b"
assert_ok "nvwrite A" t2 nvwrite "$u" 0x1500016 -C o -i "$TESTDIR/a"
stop_manager

for step in write fsync rename dirsync; do
	log "fault at $step"
	off=$(stat -c %s "$MGR_LOG")
	VTPM_FAULT=$step:3 start_manager
	if t2 nvwrite "$u" 0x1500016 -C o -i "$TESTDIR/b" 2>/dev/null; then
		fail "$step: the NV write whose save failed was acknowledged"
	fi
	newlog=$(tail -c +"$((off + 1))" "$MGR_LOG")
	assert_contains "$newlog" "cannot write blob $STATE/vtpm/$u/permall" "$step: manager log"
	# libtpms is in failure mode after a failed save: the vTPM is shown
	# degraded, never running, and is restarted from its last saved state.
	# (The restarted TPM may already have saved something successfully,
	# which ends the degraded state: then the log says so.)
	st=$(json_field "$u" state)
	if [ "$st" = degraded ]; then
		assert_contains "$(json_field "$u" reason)" "saving permall failed" "$step: reason after the failed save"
	else
		assert_eq running "$st" "$step: state after the failed save"
		assert_contains "$(log_since "$off")" "vtpm $u: saving works again" "$step: running again only after a save worked"
	fi
	assert_contains "$(log_since "$off")" "ended after a failed save" "$step: the vtpmd's end"
	# libtpms' own words reach the log from inside the sandbox (vtpm/tpmlog.c),
	# its dump of the command does not.
	assert_contains "$(log_since "$off")" "libtpms: libtpms/tpm2: Entering failure mode" \
		"$step: libtpms' message"
	assert_contains "$(log_since "$off")" "hex dump was suppressed" "$step: libtpms' dump"
	r=$(t2 getrandom "$u" 8 --hex) || fail "$step: the vTPM whose save failed still fails every command"
	r=$(t2 nvread "$u" 0x1500016 -C o -s 8) || fail "$step: nvread after the failed save"
	case "$step:$r" in
	dirsync:AAAAAAAA | dirsync:BBBBBBBB | *:AAAAAAAA) ;;
	*) fail "$step: NV holds '$r' right after the failed save" ;;
	esac
	# Another vTPM is served meanwhile (its own saves work again).
	r=$(t2 getrandom "$other" 8 --hex) || fail "$step: another vTPM after the fault"
	assert_match '[0-9a-f]{16}' "$r" "$step: GetRandom on another vTPM"
	manager_alive || fail "$step: the manager died"
	stop_manager
	start_manager
	r=$(t2 nvread "$u" 0x1500016 -C o -s 8) || fail "$step: nvread after restart"
	if [ "$step" = dirsync ]; then
		# The new file was renamed into place, only its durability is
		# unknown: either version is a correct outcome.
		case "$r" in
		AAAAAAAA | BBBBBBBB) ;;
		*) fail "$step: NV holds '$r' after restart" ;;
		esac
	else
		assert_eq AAAAAAAA "$r" "$step: NV after restart (the previous state)"
	fi
	assert_ok "$step: nvwrite A again" t2 nvwrite "$u" 0x1500016 -C o -i "$TESTDIR/a"
	assert_eq running "$(json_field "$u" state)" "$step: state once a save worked again"
	stop_manager
done
