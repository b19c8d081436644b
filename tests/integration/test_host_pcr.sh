#!/bin/bash
# test_host_pcr: the master key sealed with --seal-pcrs 16 to a swtpm
# --tpm2 host.  PCR 16 extended on the host: the restart is refused
# (non-zero, one line about the PCR values), the state dir unchanged; a
# start without --seal-pcrs is refused too (one line naming the PCRs to
# use); PCR 16 reset: it starts and NV reads back.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

idx=0x1500016
start_host_swtpm2 host
spec=$(host_spec host)
htcti=$(host_tcti host)

start_manager --host-tpm "$spec" --seal-pcrs 16
assert_eq "16" "$(status_field seal-pcrs)" "status seal-pcrs"
u=$(create_vtpm)
assert_ok "nvdefine" t2 nvdefine "$u" "$idx" -C o -s 32 -a "ownerread|ownerwrite" >/dev/null
head -c 32 /dev/urandom >"$TESTDIR/d"
nv_put "$u" "$idx" "$TESTDIR/d"
stop_manager

log "restart with PCR 16 unchanged works"
start_manager --host-tpm "$spec" --seal-pcrs 16
nv_expect "$u" "$idx" "$TESTDIR/d" "PCR 16 unchanged"
stop_manager
before=$(state_digest)

log "extend PCR 16 on the host"
assert_ok "pcrextend on the host" timeout 30 tpm2_pcrextend -T "$htcti" \
	"16:sha256=$(printf 'changed boot chain' | sha256_hex)"
pcr=$(timeout 30 tpm2_pcrread -T "$htcti" sha256:16) || fail "pcrread on the host"
assert_not_contains "$pcr" "0x0000000000000000000000000000000000000000000000000000000000000000" "host PCR 16 after extend"

manager_fails "start with PCR 16 changed" --host-tpm "$spec" --seal-pcrs 16
log "refusal: $LAST_STDERR"
assert_one_line_stderr "start with PCR 16 changed"
assert_contains "$LAST_STDERR" "PCR values (16) differ from those the master key was sealed to" "start with PCR 16 changed"
assert_eq "$before" "$(state_digest)" "state directory after the PCR refusal"

log "start without --seal-pcrs: refused, names the sealing PCRs"
manager_fails "start without --seal-pcrs" --host-tpm "$spec"
log "refusal: $LAST_STDERR"
assert_one_line_stderr "start without --seal-pcrs"
assert_contains "$LAST_STDERR" "--seal-pcrs 16" "start without --seal-pcrs"
assert_eq "$before" "$(state_digest)" "state directory after the --seal-pcrs refusal"

log "reset PCR 16 on the host"
assert_ok "pcrreset on the host" timeout 30 tpm2_pcrreset -T "$htcti" 16
start_manager --host-tpm "$spec" --seal-pcrs 16
nv_expect "$u" "$idx" "$TESTDIR/d" "after the PCR reset"
assert_eq "16" "$(status_field seal-pcrs)" "status seal-pcrs after the PCR reset"
stop_manager
