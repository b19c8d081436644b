#!/bin/bash
# test_ek_cert: `vtpmctl create` makes a TPM 2.0 like a real chip.  With a
# swtpm standing in for the host TPM: the first start makes the vTPM CA
# (<state-dir>/ca.pem, printed by `vtpmctl ca`; its private key only
# sealed, never in clear on disk).  A new vTPM has EK certificates at NV
# 0x01c00002 (RSA-2048) and 0x01c0000a (ECC P-256), platform-created,
# write-locked; each verifies with `openssl verify -CAfile ca.pem`, carries
# the EK profile (subject CN = the UUID, SAN dirName with the TPM
# manufacturer/model/version, CA:FALSE, keyEncipherment / keyAgreement,
# EKU 2.23.133.8.1), and its key is the one tpm2_createek makes.
# `vtpmctl ek` prints the same key and certificate from the host.  A
# secret sealed on the host with tpm2_makecredential to the certificate's
# key comes back out of tpm2_activatecredential in the vTPM.  The
# certificate survives a restart (same CA) and QEMU-style migration
# (GET/SET_STATEBLOB, both managers with the same migration_key) to a
# second manager, where `vtpmctl ek` reads the migrated EK back from the TPM.  Refusals: an unknown UUID, a P-384 EK
# that was never made.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

start_host_swtpm2 host
# A migration key shared with the second manager below (state blobs move
# between hosts only under one).
head -c 32 /dev/urandom >"$TESTDIR/migkey"
chmod 600 "$TESTDIR/migkey"
start_manager --host-tpm "$(host_spec host)" --migration-key "keyfile:$TESTDIR/migkey"

log "the vTPM CA"
vtpmctl ca >"$TESTDIR/ca.pem" || fail "vtpmctl ca: exit $?"
cmp -s "$TESTDIR/ca.pem" "$STATE/ca.pem" || fail "vtpmctl ca differs from $STATE/ca.pem"
ca_text=$(openssl x509 -in "$TESTDIR/ca.pem" -noout -text)
assert_contains "$ca_text" "CA:TRUE" "CA certificate basic constraints"
assert_contains "$ca_text" "Certificate Sign" "CA certificate key usage"
[ -s "$STATE/ca-key.sealed" ] || fail "no sealed CA key in $STATE"
hits=$(grep -rl -- "PRIVATE KEY" "$STATE" || true) # grep exits 1 when nothing matches
assert_eq "" "$hits" "files with a clear-text private key under the state directory"
grep -q "vTPM CA: created a P-384 CA" "$MGR_LOG" || fail "no log line about the new CA"

u=$(create_vtpm)
export TPM2TOOLS_TCTI
TPM2TOOLS_TCTI=$(tcti "$u")

log "NV indices of the EK certificates"
pub=$(timeout 30 tpm2_nvreadpublic) || fail "nvreadpublic"
for idx in 0x1c00002 0x1c0000a; do
	attrs=$(printf '%s\n' "$pub" | sed -n "/^$idx:/,/^\$/p" | sed -n 's/^ *friendly: //p' | tail -1)
	assert_eq "ppwrite|writelocked|writedefine|ppread|ownerread|authread|no_da|written|platformcreate" \
		"$attrs" "attributes of $idx"
done

# cert_of INDEX FILE.pem: the certificate in NV, as PEM.
cert_of() {
	rm -f "$TESTDIR/nv.der"
	assert_ok "nvread $1" timeout 30 tpm2_nvread "$1" -C "$1" -o "$TESTDIR/nv.der"
	assert_ok "$1 holds DER" openssl x509 -inform der -in "$TESTDIR/nv.der" -out "$2"
}
# spki_hash [openssl pkey args]: sha256 of the SPKI DER of a PEM key on stdin.
spki_hash() { openssl pkey -pubin -outform der "$@" | sha256_hex; }

for alg in rsa ecc; do
	[ $alg = rsa ] && idx=0x01c00002 || idx=0x01c0000a
	log "$alg EK certificate at $idx"
	cert_of $idx "$TESTDIR/$alg.pem"
	out=$(openssl verify -CAfile "$TESTDIR/ca.pem" "$TESTDIR/$alg.pem" 2>&1) ||
		fail "openssl verify of the $alg EK certificate: $out"
	assert_eq "$TESTDIR/$alg.pem: OK" "$out" "openssl verify ($alg)"
	text=$(openssl x509 -in "$TESTDIR/$alg.pem" -noout -text)
	assert_contains "$text" "Subject: CN = $u" "$alg certificate subject"
	assert_contains "$text" "DirName:/2.23.133.2.1=id:00001014/2.23.133.2.2=swtpm/2.23.133.2.3=id:20191023" \
		"$alg certificate SAN"
	assert_contains "$text" "X509v3 Subject Alternative Name: critical" "$alg SAN is critical"
	assert_contains "$text" "2.23.133.8.1" "$alg certificate EKU"
	assert_contains "$text" "CA:FALSE" "$alg certificate basic constraints"
	if [ $alg = rsa ]; then
		assert_contains "$text" "Key Encipherment" "RSA certificate key usage"
	else
		assert_contains "$text" "Key Agreement" "ECC certificate key usage"
	fi
	certkey=$(openssl x509 -in "$TESTDIR/$alg.pem" -pubkey -noout | spki_hash)
	assert_ok "tpm2_createek $alg" timeout 30 tpm2_createek -c "$TESTDIR/ek.$alg.ctx" -G $alg \
		-u "$TESTDIR/ek.$alg.pem" -f pem
	assert_ok "flush" timeout 30 tpm2_flushcontext -t
	assert_eq "$certkey" "$(spki_hash -in "$TESTDIR/ek.$alg.pem")" "$alg certificate key vs tpm2_createek"
	flag=$([ $alg = rsa ] && echo --rsa || echo --ecc)
	assert_eq "$certkey" "$(vtpmctl ek "$u" $flag | spki_hash)" "vtpmctl ek $flag"
	vtpmctl ek "$u" $flag --cert >"$TESTDIR/ek-cert.$alg.pem" || fail "vtpmctl ek $flag --cert"
	cmp -s "$TESTDIR/ek-cert.$alg.pem" "$TESTDIR/$alg.pem" ||
		fail "vtpmctl ek $flag --cert differs from the certificate in NV"
done
assert_eq "$(vtpmctl ek "$u" --rsa)" "$(vtpmctl ek "$u")" "vtpmctl ek defaults to RSA"

log "makecredential on the host, activatecredential in the vTPM"
cd "$TESTDIR"
openssl x509 -in rsa.pem -pubkey -noout >ekcert.pub
assert_ok "createak" timeout 30 tpm2_createak -C ek.rsa.ctx -c ak.ctx -G rsa -g sha256 -s rsassa \
	-u ak.pub -n ak.name
assert_ok "flush" timeout 30 tpm2_flushcontext -t
head -c 24 /dev/urandom >secret
assert_ok "makecredential" tpm2_makecredential -T none -u ekcert.pub -G rsa -s secret \
	-n "$(xxd -p -c 256 ak.name)" -o cred.out
assert_ok "startauthsession" timeout 30 tpm2_startauthsession --policy-session -S session.ctx
assert_ok "policysecret" timeout 30 tpm2_policysecret -S session.ctx -c e
assert_ok "activatecredential" timeout 30 tpm2_activatecredential -c ak.ctx -C ek.rsa.ctx \
	-i cred.out -o act.out -P "session:session.ctx"
assert_ok "flush session" timeout 30 tpm2_flushcontext session.ctx
cmp -s secret act.out || fail "activatecredential returned another secret"
cd - >/dev/null

log "refusals"
assert_fails "ek of an unknown vTPM" vtpmctl ek 00000000-0000-4000-8000-00000000abcd
assert_eq 1 "$LAST_RC" "exit status for an unknown vTPM"
assert_eq "vtpmctl: no vTPM with UUID 00000000-0000-4000-8000-00000000abcd" "$LAST_STDERR" "unknown vTPM"
assert_fails "ek --ecc384" vtpmctl ek "$u" --ecc384
assert_eq "vtpmctl: vTPM $u has no ECC P-384 EK recorded (only swtpm_setup makes one)" \
	"$LAST_STDERR" "P-384 EK"

log "the certificate survives a restart, with the same CA"
stop_manager
start_manager --host-tpm "$(host_spec host)" --migration-key "keyfile:$TESTDIR/migkey"
cmp -s "$TESTDIR/ca.pem" <(vtpmctl ca) || fail "vtpmctl ca changed across a restart"
cert_of 0x01c00002 "$TESTDIR/rsa2.pem"
cmp -s "$TESTDIR/rsa.pem" "$TESTDIR/rsa2.pem" || fail "the RSA EK certificate changed"
cmp -s "$TESTDIR/rsa.pem" <(vtpmctl ek "$u" --cert) || fail "vtpmctl ek --cert after restart"

log "QEMU-style migration to a second manager"
stateA=$STATE runA=$RUN
blob() { # TYPE: GET_STATEBLOB on A, the envelope (hex)
	local r
	r=$(client ctrl --socket "$runA/$u.sock.ctrl" raw "0000000c00000001$(printf %08x "$1")00000000") ||
		fail "GET_STATEBLOB($1)"
	assert_eq 00000000 "${r:0:8}" "GET_STATEBLOB($1) result"
	printf '%s' "${r:32}"
}
perm=$(blob 1)
vol=$(blob 2)
mgrA=$MGR_PID
track_pid "$mgrA" # the EXIT trap knows one MGR_PID only
MGR_PID=""
STATE=$TESTDIR/stateB RUN=$TESTDIR/runB KEY=$TESTDIR/keyB
start_manager --migration-key "keyfile:$TESTDIR/migkey"
assert_eq "$u" "$(create_vtpm --uuid "$u")" "create --uuid on B"
vtpmctl ek "$u" --cert >"$TESTDIR/rsaB0.pem" || fail "vtpmctl ek --cert on B before migration"
! cmp -s "$TESTDIR/rsa.pem" "$TESTDIR/rsaB0.pem" || fail "B's own vTPM has A's certificate"
setblob() { # TYPE HEX
	printf '0000000d00000000%08x%08x%s' "$1" "$((${#2} / 2))" "$2" | xxd -r -p >"$TESTDIR/set.bin"
	timeout 30 python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.settimeout(20)
s.connect(sys.argv[1]); s.sendall(open(sys.argv[2], "rb").read())
r = b""
while len(r) < 4:
    d = s.recv(4 - len(r))
    if not d: break
    r += d
print(r.hex())' "$RUN/$u.sock.ctrl" "$TESTDIR/set.bin"
}
assert_eq 00000000 "$(client ctrl --socket "$RUN/$u.sock.ctrl" stop)" "STOP on B"
assert_eq 00000000 "$(setblob 1 "$perm")" "SET_STATEBLOB(permanent) on B"
assert_eq 00000000 "$(setblob 2 "$vol")" "SET_STATEBLOB(volatile) on B"
assert_eq 00000000 "$(client ctrl --socket "$RUN/$u.sock.ctrl" init 1)" "INIT on B"
TPM2TOOLS_TCTI=$(tcti "$u")
cert_of 0x01c00002 "$TESTDIR/rsaB.pem"
cmp -s "$TESTDIR/rsa.pem" "$TESTDIR/rsaB.pem" || fail "the EK certificate did not migrate"
assert_ok "stop on B" vtpmctl stop "$u"
cmp -s "$TESTDIR/rsa.pem" <(vtpmctl ek "$u" --cert) ||
	fail "vtpmctl ek --cert on B (read back from the migrated TPM)"
grep -q "vtpm $u: permanent state replaced; its recorded EK is forgotten" "$MGR_LOG" ||
	fail "B did not forget the EK record of the TPM that SET_STATEBLOB replaced"
stop_manager
MGR_PID=$mgrA
_untrack_pid "$mgrA"
STATE=$stateA RUN=$runA
stop_manager
