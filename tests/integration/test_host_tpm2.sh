#!/bin/bash
# test_host_tpm2: a swtpm --tpm2 stands in for the host TPM.  The first
# start creates and seals the master key (master.sealed, no key file);
# vTPMs get NV contents through tpm2-tools; an orderly restart unseals the
# same key (master.sealed unchanged) and every NV index reads back.
# `vtpmctl status` reports the host TPM as 2.0 by IBM with a counter.
# The same, briefly, with the swtpm reached over TCP (swtpm:host=,port=).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

idx=0x1500020
start_host_swtpm2 host
spec=$(host_spec host)

off=$(stat -c %s "$MGR_LOG")
start_manager --host-tpm "$spec"
first=$(log_since "$off")
assert_contains "$first" "host TPM: $spec (swtpm (TPM 2.0) standing in for the host TPM), manufacturer IBM; master key created and sealed" "first start log"
assert_not_contains "$first" "keyfile mode" "first start log"

u1=$(create_vtpm)
u2=$(create_vtpm)
for u in "$u1" "$u2"; do
	assert_ok "nvdefine on $u" t2 nvdefine "$u" "$idx" -C o -s 32 -a "ownerread|ownerwrite" >/dev/null
	head -c 32 /dev/urandom >"$TESTDIR/d.$u"
	nv_put "$u" "$idx" "$TESTDIR/d.$u"
	nv_expect "$u" "$idx" "$TESTDIR/d.$u" "before restart"
done

log "vtpmctl status"
st=$(vtpmctl status) || fail "vtpmctl status: exit $?"
log "$st"
assert_eq "$spec" "$(status_field host-tpm)" "status host-tpm"
assert_eq "2.0" "$(status_field host-tpm-version)" "status host-tpm-version"
assert_eq "IBM" "$(status_field manufacturer)" "status manufacturer"
assert_eq "none" "$(status_field seal-pcrs)" "status seal-pcrs"
ctr=$(status_field rollback-counter)
assert_match '0x[0-9a-f]{8} = [1-9][0-9]*' "$ctr" "status rollback-counter"
c1=${ctr##* = }
seq1=$(status_field manifest-sequence)
assert_eq "$c1" "$seq1" "manifest-sequence vs rollback-counter after the create commits"

log "the master key is sealed, not in a key file"
[ -s "$STATE/master.sealed" ] || fail "$STATE/master.sealed is missing or empty"
[ ! -e "$KEY" ] || fail "keyfile $KEY exists although the host TPM is a swtpm"
keys=$(find "$TESTDIR" -name '*.key' -print)
assert_eq "" "$keys" "*.key files under the test directory"
sealed=$(sha256sum <"$STATE/master.sealed")

log "orderly restart"
stop_manager
off=$(stat -c %s "$MGR_LOG")
start_manager --host-tpm "$spec"
second=$(log_since "$off")
assert_contains "$second" "host TPM: $spec (swtpm (TPM 2.0) standing in for the host TPM), manufacturer IBM; master key unsealed" "restart log"
assert_not_contains "$second" "created and sealed" "restart log"
assert_eq "$sealed" "$(sha256sum <"$STATE/master.sealed")" "master.sealed across the restart"
for u in "$u1" "$u2"; do
	nv_expect "$u" "$idx" "$TESTDIR/d.$u" "after restart"
done
ctr=$(status_field rollback-counter)
assert_match '0x[0-9a-f]{8} = [0-9]+' "$ctr" "status rollback-counter after restart"
c2=${ctr##* = }
[ "$c2" -gt "$c1" ] || fail "rollback counter did not advance across stop/start ($c1 -> $c2); the exit commit should count"
assert_eq "$c2" "$(status_field manifest-sequence)" "manifest-sequence vs rollback-counter after restart"

log "a further write survives a second restart"
head -c 32 /dev/urandom >"$TESTDIR/d.$u1"
nv_put "$u1" "$idx" "$TESTDIR/d.$u1"
stop_manager
start_manager --host-tpm "$spec"
for u in "$u1" "$u2"; do
	nv_expect "$u" "$idx" "$TESTDIR/d.$u" "after the second restart"
done
keys=$(find "$TESTDIR" -name '*.key' -print)
assert_eq "" "$keys" "*.key files under the test directory at the end"
stop_manager

log "the same over TCP: --host-tpm swtpm:host=127.0.0.1,port=P (control on P+1)"
start_host_swtpm2_tcp tcphost
tspec=$(host_spec_tcp tcphost)
STATE=$TESTDIR/state-tcp
RUN=$TESTDIR/run-tcp
off=$(stat -c %s "$MGR_LOG")
start_manager --host-tpm "$tspec"
assert_contains "$(log_since "$off")" "host TPM: $tspec (swtpm (TPM 2.0) standing in for the host TPM), manufacturer IBM; master key created and sealed" "TCP first start log"
assert_eq "$tspec" "$(status_field host-tpm)" "TCP status host-tpm"
assert_eq "2.0" "$(status_field host-tpm-version)" "TCP status host-tpm-version"
u3=$(create_vtpm)
assert_ok "nvdefine on $u3" t2 nvdefine "$u3" "$idx" -C o -s 32 -a "ownerread|ownerwrite" >/dev/null
head -c 32 /dev/urandom >"$TESTDIR/d.$u3"
nv_put "$u3" "$idx" "$TESTDIR/d.$u3"
stop_manager
off=$(stat -c %s "$MGR_LOG")
start_manager --host-tpm "$tspec"
assert_contains "$(log_since "$off")" "master key unsealed" "TCP restart log"
nv_expect "$u3" "$idx" "$TESTDIR/d.$u3" "TCP host after restart"
stop_manager
stop_host_swtpm tcphost
