#!/bin/bash
# test_recovery: surviving the host TPM.  With recovery_key set (an
# operator's P-384 public key), the master key is also wrapped to it in
# <state-dir>/master.recovery (mode 0600, not rewritten at an ordinary
# restart).  The host TPM (swtpm A) then "dies": on a new TPM (swtpm B) the
# daemon refuses to start as before, and also with a wrong recovery key or
# a tampered master.recovery (naming the cause, changing nothing).
# `--recover-with` the right private key unwraps it, reseals to B with a new
# rollback counter, says loudly what it did, and every vTPM (NV data, EK
# certificate, the CA) is back, even after a kill -9 right after the
# recovery; later starts need no recovery key, and the old TPM no longer
# opens the state.  The same covers a changed boot chain:
# sealed to PCR 16, a changed PCR 16 is refused, and --recover-with
# reseals to the new value.  An RSA-3072 recovery key replaces the P-384
# one (master.recovery is rewritten) and recovers too.  A restored backup
# is refused as a rollback, and accepted with --recover-with.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$TESTDIR/rec.key" 2>/dev/null
openssl pkey -in "$TESTDIR/rec.key" -pubout -out "$TESTDIR/rec.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$TESTDIR/wrong.key" 2>/dev/null
chmod 600 "$TESTDIR/rec.key" "$TESTDIR/wrong.key"
fp=$(openssl pkey -pubin -in "$TESTDIR/rec.pem" -outform der | sha256_hex)
IDX=0x1500020

start_host_swtpm2 A
off=$(stat -c %s "$MGR_LOG")
start_manager --host-tpm "$(host_spec A)" --recovery-key "$TESTDIR/rec.pem"
assert_contains "$(log_since "$off")" "master.recovery: master key wrapped to recovery key $fp" "first start log"
[ "$(stat -c %a "$STATE/master.recovery")" = 600 ] || fail "master.recovery mode $(stat -c %a "$STATE/master.recovery")"
u=$(create_vtpm)
head -c 32 /dev/urandom >"$TESTDIR/marker"
assert_ok "nvdefine" t2 nvdefine "$u" $IDX -C o -s 32 -a "ownerread|ownerwrite"
nv_put "$u" $IDX "$TESTDIR/marker"
vtpmctl ek "$u" --cert >"$TESTDIR/cert.pem" || fail "ek --cert"
vtpmctl ca >"$TESTDIR/ca.pem" || fail "ca"
rec=$(sha256sum <"$STATE/master.recovery")
stop_manager
off=$(stat -c %s "$MGR_LOG")
start_manager --host-tpm "$(host_spec A)" --recovery-key "$TESTDIR/rec.pem"
assert_contains "$(log_since "$off")" "master.recovery: the master key is wrapped to recovery key $fp" "restart log"
assert_eq "$rec" "$(sha256sum <"$STATE/master.recovery")" "master.recovery across a restart"
stop_manager

log "the host TPM dies; a new one (B) is refused as before"
stop_host_swtpm A
start_host_swtpm2 B
before=$(state_digest)
manager_fails "start on B" --host-tpm "$(host_spec B)"
assert_contains "$LAST_STDERR" "sealed on another TPM" "start on B"
manager_fails "recovery with another key" --host-tpm "$(host_spec B)" --recover-with "$TESTDIR/wrong.key"
wfp=$(openssl pkey -in "$TESTDIR/wrong.key" -pubout -outform der | sha256_hex)
assert_contains "$LAST_STDERR" "--recover-with: $TESTDIR/wrong.key (fingerprint $wfp) is not the recovery key of this state directory ($STATE/master.recovery is wrapped to $fp)" \
	"wrong recovery key"
cp "$STATE/master.recovery" "$TESTDIR/master.recovery.good"
n=$(stat -c %s "$STATE/master.recovery")
b=$(xxd -s $((n - 40)) -l 1 -p "$STATE/master.recovery")
printf "\\x$(printf %02x $((0x$b ^ 0x55)))" | dd of="$STATE/master.recovery" bs=1 seek=$((n - 40)) conv=notrunc status=none
manager_fails "recovery from a tampered master.recovery" --host-tpm "$(host_spec B)" --recover-with "$TESTDIR/rec.key"
assert_contains "$LAST_STDERR" "--recover-with: $STATE/master.recovery: authentication failed: modified, forged, or the wrong key" \
	"tampered master.recovery"
cp "$TESTDIR/master.recovery.good" "$STATE/master.recovery"
assert_eq "$before" "$(state_digest)" "state directory after the refusals"

log "--recover-with"
off=$(stat -c %s "$MGR_LOG")
start_manager --host-tpm "$(host_spec B)" --recover-with "$TESTDIR/rec.key"
rl=$(log_since "$off")
assert_contains "$rl" "warning: RECOVERY: master key unwrapped from $STATE/master.recovery with recovery key $fp" "recovery log"
assert_contains "$rl" "warning: RECOVERY: the old master.sealed (sealed to the lost TPM or to the old PCR values) is kept as master.sealed.old" "recovery log"
assert_contains "$rl" "warning: RECOVERY: master key resealed to $(host_spec B)" "recovery log"
assert_contains "$rl" "warning: RECOVERY: rollback detection re-anchored" "recovery log"
[ -s "$STATE/master.sealed.old" ] || fail "no master.sealed.old"
# Committed at the start, before anything else can commit (using the vTPM
# resumes it, which commits too): checked before any use, and a kill -9
# right now must leave a state the next ordinary start accepts, whole.
ctr=$(status_field rollback-counter)
assert_eq "${ctr##* = }" "$(status_field manifest-sequence)" "manifest sequence vs the new counter"
kill9_manager
start_manager --host-tpm "$(host_spec B)"
assert_eq "$u" "$(vtpmctl list --json | python3 -c 'import json, sys
print(" ".join(e["uuid"] for e in json.load(sys.stdin)))')" "vTPMs after a kill -9 right after the recovery"
nv_expect "$u" $IDX "$TESTDIR/marker" "NV data after the recovery"
cmp -s "$TESTDIR/cert.pem" <(vtpmctl ek "$u" --cert) || fail "EK certificate after the recovery"
cmp -s "$TESTDIR/ca.pem" <(vtpmctl ca) || fail "the CA after the recovery"
stop_manager
start_manager --host-tpm "$(host_spec B)"
nv_expect "$u" $IDX "$TESTDIR/marker" "NV data at the next ordinary start"
stop_manager
stop_host_swtpm B
start_host_swtpm2 A
manager_fails "start on the old TPM" --host-tpm "$(host_spec A)"
assert_contains "$LAST_STDERR" "sealed on another TPM" "the old TPM after the recovery"
stop_host_swtpm A
start_host_swtpm2 B

log "a changed boot chain: sealed to PCR 16"
manager_fails "another PCR list without recovery" --host-tpm "$(host_spec B)" --seal-pcrs 16
assert_contains "$LAST_STDERR" "resealing is not supported" "changed --seal-pcrs"
start_manager --host-tpm "$(host_spec B)" --seal-pcrs 16 --recover-with "$TESTDIR/rec.key"
assert_eq 16 "$(status_field seal-pcrs)" "seal-pcrs after recovery"
stop_manager
assert_ok "extend host PCR 16" timeout 30 tpm2_pcrextend -T "$(host_tcti B)" \
	"16:sha256=$(printf 'new bootloader' | sha256_hex)"
manager_fails "start after the PCR changed" --host-tpm "$(host_spec B)" --seal-pcrs 16
assert_contains "$LAST_STDERR" "differ from those the master key was sealed to" "changed PCR"
start_manager --host-tpm "$(host_spec B)" --seal-pcrs 16 --recover-with "$TESTDIR/rec.key"
nv_expect "$u" $IDX "$TESTDIR/marker" "NV data after resealing to the new PCR value"
stop_manager
start_manager --host-tpm "$(host_spec B)" --seal-pcrs 16
stop_manager

log "an RSA-3072 recovery key"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$TESTDIR/rsa.key" 2>/dev/null
chmod 600 "$TESTDIR/rsa.key"
openssl pkey -in "$TESTDIR/rsa.key" -pubout -out "$TESTDIR/rsa.pem"
rfp=$(openssl pkey -pubin -in "$TESTDIR/rsa.pem" -outform der | sha256_hex)
off=$(stat -c %s "$MGR_LOG")
start_manager --host-tpm "$(host_spec B)" --seal-pcrs 16 --recovery-key "$TESTDIR/rsa.pem"
assert_contains "$(log_since "$off")" "master.recovery was wrapped to another recovery key; rewritten for recovery key $rfp" \
	"switch to the RSA key"
stop_manager
manager_fails "the retired P-384 key" --host-tpm "$(host_spec B)" --seal-pcrs 16 --recover-with "$TESTDIR/rec.key"
assert_contains "$LAST_STDERR" "is not the recovery key of this state directory" "retired key"
start_manager --host-tpm "$(host_spec B)" --seal-pcrs 16 --recover-with "$TESTDIR/rsa.key"
nv_expect "$u" $IDX "$TESTDIR/marker" "NV data after recovery with the RSA key"
stop_manager

log "a restored backup: refused as a rollback, accepted with --recover-with"
cp -a "$STATE" "$TESTDIR/backup"
start_manager --host-tpm "$(host_spec B)" --seal-pcrs 16
head -c 32 /dev/urandom >"$TESTDIR/marker2"
nv_put "$u" $IDX "$TESTDIR/marker2"
stop_manager
rm -rf "$STATE"
cp -a "$TESTDIR/backup" "$STATE"
manager_fails "start on the restored backup" --host-tpm "$(host_spec B)" --seal-pcrs 16
assert_contains "$LAST_STDERR" "rollback detected" "restored backup"
start_manager --host-tpm "$(host_spec B)" --seal-pcrs 16 --recover-with "$TESTDIR/rsa.key"
nv_expect "$u" $IDX "$TESTDIR/marker" "NV data of the restored backup"
stop_manager

log "a weak recovery key is refused"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$TESTDIR/weak.key" 2>/dev/null
openssl pkey -in "$TESTDIR/weak.key" -pubout -out "$TESTDIR/weak.pem"
manager_fails "RSA-2048 recovery key" --host-tpm "$(host_spec B)" --seal-pcrs 16 --recovery-key "$TESTDIR/weak.pem"
assert_contains "$LAST_STDERR" "recovery_key $TESTDIR/weak.pem: unsuitable key: wrong type or length (the recovery key must be RSA of 3072 bits or more, or NIST P-384)" \
	"weak key"
