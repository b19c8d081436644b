#!/bin/bash
# test_host_tpm12: a swtpm TPM 1.2 prepared like a fresh server's chip
# (EK created, unowned) stands in for the host TPM.
#  - --owner-auth well-known: the manager takes ownership and seals the
#    master key; the WELL-KNOWN warning appears at every start (also when a
#    later start does not repeat the option); NV written with tpm2-tools to
#    a TPM 2.0 vTPM survives restarts; `vtpmctl status` says 1.2; the TPM is
#    owned afterwards (a fresh state dir with --owner-auth random is refused
#    because the TPM already has an owner).
#  - default --owner-auth random on another fresh TPM 1.2: the same, with no
#    warning; a fresh state dir with --owner-auth well-known is refused
#    (owner authorisation) and writes no master.sealed.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

idx=0x1500012
warn="warning: the TPM 1.2 owner auth is the WELL-KNOWN value"

# run_case HOSTNAME OWNER-ARGS...: start on a fresh TPM 1.2, a vTPM with NV,
# restart twice; checks the ownership line and the warning's presence.
run_case() {
	local name=$1 spec u off first second third n want_warn
	shift
	case "$*" in
	*well-known*) want_warn=1 ;;
	*) want_warn=0 ;;
	esac
	start_host_swtpm12 "$name"
	spec=$(host_spec "$name")

	off=$(stat -c %s "$MGR_LOG")
	start_manager --host-tpm "$spec" "$@"
	first=$(log_since "$off")
	assert_contains "$first" "host TPM: $spec (swtpm (TPM 1.2) standing in for the host TPM), manufacturer IBM; master key created and sealed" "$name: first start log"
	[ -s "$STATE/master.sealed" ] || fail "$name: no master.sealed after the first start"
	assert_eq "1.2" "$(status_field host-tpm-version)" "$name: status host-tpm-version"
	assert_eq "IBM" "$(status_field manufacturer)" "$name: status manufacturer"
	assert_match '0x[0-9a-f]{8} = [1-9][0-9]*' "$(status_field rollback-counter)" "$name: status rollback-counter"

	u=$(create_vtpm)
	assert_eq "2.0" "$(json_field "$u" tpm_version)" "$name: vTPM version"
	assert_ok "$name: nvdefine" t2 nvdefine "$u" "$idx" -C o -s 32 -a "ownerread|ownerwrite" >/dev/null
	head -c 32 /dev/urandom >"$TESTDIR/d.$name"
	nv_put "$u" "$idx" "$TESTDIR/d.$name"

	stop_manager
	off=$(stat -c %s "$MGR_LOG")
	start_manager --host-tpm "$spec" "$@"
	second=$(log_since "$off")
	assert_contains "$second" "host TPM: $spec (swtpm (TPM 1.2) standing in for the host TPM), manufacturer IBM; master key unsealed" "$name: restart log"
	nv_expect "$u" "$idx" "$TESTDIR/d.$name" "$name: after restart"
	assert_eq "1.2" "$(status_field host-tpm-version)" "$name: status host-tpm-version after restart"

	head -c 32 /dev/urandom >"$TESTDIR/d.$name"
	nv_put "$u" "$idx" "$TESTDIR/d.$name"
	stop_manager
	# Third start without any --owner-auth: the sealed blob knows the auth.
	off=$(stat -c %s "$MGR_LOG")
	start_manager --host-tpm "$spec"
	third=$(log_since "$off")
	assert_contains "$third" "master key unsealed" "$name: third start log"
	nv_expect "$u" "$idx" "$TESTDIR/d.$name" "$name: after the second restart"
	stop_manager

	if [ "$want_warn" = 1 ]; then
		assert_contains "$first" "$warn" "$name: first start"
		assert_contains "$second" "$warn" "$name: second start"
		assert_contains "$third" "$warn" "$name: third start (without --owner-auth)"
		n=$(count_matches "$warn" <"$MGR_LOG")
		assert_eq 3 "$n" "$name: WELL-KNOWN warnings in the log (one per start)"
	else
		assert_not_contains "$first$second$third" "WELL-KNOWN" "$name: log with a random owner auth"
	fi

	log "$name: the TPM is owned now: a fresh state dir with --owner-auth random is refused"
	manager_fails "$name: fresh state on the owned TPM" --host-tpm "$spec" \
		--state-dir "$TESTDIR/other-state.$name" --run-dir "$TESTDIR/other-run.$name"
	assert_one_line_stderr "$name: fresh state on the owned TPM"
	assert_contains "$LAST_STDERR" "the TPM 1.2 already has an owner" "$name: fresh state on the owned TPM"
	log "refusal: $LAST_STDERR"
	[ ! -e "$TESTDIR/other-state.$name/master.sealed" ] ||
		fail "$name: a master.sealed was written in the refused state dir"
	if [ "$want_warn" = 0 ]; then
		log "$name: a wrong owner auth (well-known) on the randomly owned TPM is refused"
		manager_fails "$name: wrong owner auth" --host-tpm "$spec" --owner-auth well-known \
			--state-dir "$TESTDIR/other-state.$name" --run-dir "$TESTDIR/other-run.$name"
		assert_one_line_stderr "$name: wrong owner auth"
		assert_contains "$LAST_STDERR" "owner authori" "$name: wrong owner auth"
		log "refusal: $LAST_STDERR"
		[ ! -e "$TESTDIR/other-state.$name/master.sealed" ] ||
			fail "$name: a master.sealed was written in the refused state dir"
	fi
	stop_host_swtpm "$name"
}

log "--owner-auth well-known"
run_case h12wk --owner-auth well-known

log "default --owner-auth (random), on a second fresh TPM 1.2 and state dir"
STATE=$TESTDIR/state-random
RUN=$TESTDIR/run-random
: >"$MGR_LOG"
run_case h12rnd
