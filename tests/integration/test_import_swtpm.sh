#!/bin/bash
# test_import_swtpm: `vtpmctl import-swtpm` adopts a libvirt-style swtpm
# state directory.  A TPM 2.0 made by `swtpm_setup --tpm2 --create-ek-cert`
# (its own localca in the test directory), with an NV index written
# through a bare swtpm, is imported: the same EK (tpm2_createek), the same
# NV contents, the same EK certificates (RSA-2048 and swtpm's P-384, in NV
# and from `vtpmctl ek`).  The same with swtpm's encrypted state: a hex key
# file (`--key`) and a libvirt-style passphrase (`--pwdfile`); a wrong key
# or no key is refused by name.  A TPM 1.2: same EK (TPM_ReadPubek), and
# the owner reads the same certificate from the locked NV.  Refused by
# name: a UUID that exists, a directory a swtpm still holds, a file that is
# not swtpm state, a directory without state.  The manifest records the
# imported state: deleting its file later stops the vTPM by name.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

lca=$TESTDIR/localca
mkdir -p "$lca"
cat >"$lca/localca.conf" <<CONF
statedir = $lca
signingkey = $lca/signkey.pem
issuercert = $lca/issuercert.pem
certserial = $lca/certserial
CONF
cat >"$lca/setup.conf" <<CONF
create_certs_tool = /usr/bin/swtpm_localca
create_certs_tool_config = $lca/localca.conf
create_certs_tool_options = /etc/swtpm-localca.options
active_pcr_banks = sha256
CONF
IDX=0x1500020

# setup DIR [swtpm_setup args]: a swtpm_setup-made TPM with EK certificates.
setup() {
	local d=$1
	shift
	mkdir -p "$d"
	timeout 120 swtpm_setup --config "$lca/setup.conf" --tpm-state "$d" --createek \
		--create-ek-cert --lock-nvram --write-ek-cert-files "$d" "$@" >>"$TESTDIR/setup.log" 2>&1 ||
		fail "swtpm_setup $*: $(tail -n 5 "$TESTDIR/setup.log")"
}
# bare DIR [swtpm args]: a swtpm on DIR, its socket $TESTDIR/bare.sock.
BARE=""
bare() {
	local d=$1 s=$TESTDIR/bare.sock
	shift
	rm -f "$s" "$s.ctrl"
	swtpm socket --tpmstate dir="$d" --server type=unixio,path="$s" \
		--ctrl type=unixio,path="$s.ctrl" --flags not-need-init,startup-clear "$@" \
		>>"$TESTDIR/bare.log" 2>&1 &
	BARE=$!
	track_pid "$BARE"
	for _ in $(seq 100); do
		[ -S "$s" ] && return 0
		sleep 0.05
	done
	fail "bare swtpm did not start: $(tail -n 5 "$TESTDIR/bare.log")"
}
bare_stop() {
	kill -TERM "$BARE"
	wait "$BARE" 2>/dev/null || true # SIGTERM's status
	_untrack_pid "$BARE"
	BARE=""
}
bare_tcti() { echo "swtpm:path=$TESTDIR/bare.sock"; }
spki_hash() { openssl pkey -pubin -outform der "$@" | sha256_hex; }
cert_pem() { openssl x509 -inform der -in "$1"; }

# On a bare swtpm: write the marker, note the EK; then import DIR as U.
prepare2() { # DIR MARKER [swtpm args]
	local d=$1 mk=$2
	shift 2
	bare "$d" "$@"
	assert_ok "nvdefine on the bare swtpm" timeout 30 tpm2_nvdefine -T "$(bare_tcti)" $IDX -C o -s 32 \
		-a "ownerread|ownerwrite"
	assert_ok "nvwrite on the bare swtpm" timeout 30 tpm2_nvwrite -T "$(bare_tcti)" $IDX -C o -i "$mk"
	assert_ok "createek on the bare swtpm" timeout 30 tpm2_createek -T "$(bare_tcti)" -c "$TESTDIR/b.ctx" \
		-G rsa -u "$TESTDIR/bare-ek.pem" -f pem
	bare_stop
}
# check2 U DIR MARKER: the imported vTPM is the swtpm's.
check2() {
	local u=$1 d=$2 mk=$3
	nv_expect "$u" $IDX "$mk" "NV data after the import"
	assert_ok "createek" t2 createek "$u" -c "$TESTDIR/ek.ctx" -G rsa -u "$TESTDIR/ek.pem" -f pem
	assert_ok "flush" t2 flushcontext "$u" -t
	assert_eq "$(spki_hash -in "$TESTDIR/bare-ek.pem")" "$(spki_hash -in "$TESTDIR/ek.pem")" \
		"the EK before and after the import"
	cmp -s <(cert_pem "$d/ek-rsa2048.crt") <(vtpmctl ek "$u" --cert) ||
		fail "vtpmctl ek --cert differs from swtpm_setup's RSA EK certificate"
	cmp -s <(cert_pem "$d/ek-secp384r1.crt") <(vtpmctl ek "$u" --ecc384 --cert) ||
		fail "vtpmctl ek --ecc384 --cert differs from swtpm_setup's P-384 EK certificate"
	assert_ok "nvread of the EK certificate" t2 nvread "$u" 0x01c00002 -C 0x01c00002 -o "$TESTDIR/nvcert"
	cmp -s "$d/ek-rsa2048.crt" "$TESTDIR/nvcert" || fail "the EK certificate in NV changed"
	assert_eq "$(openssl x509 -inform der -in "$d/ek-rsa2048.crt" -pubkey -noout | spki_hash)" \
		"$(vtpmctl ek "$u" | spki_hash)" "vtpmctl ek (the EK public key)"
}

start_manager

log "TPM 2.0, plain state"
s2=$TESTDIR/swtpm2
setup "$s2" --tpm2
head -c 32 /dev/urandom >"$TESTDIR/marker2"
prepare2 "$s2" "$TESTDIR/marker2" --tpm2
u=11111111-2222-4333-8444-000000000002
assert_eq "$u" "$(vtpmctl import-swtpm --uuid $u "$s2")" "import-swtpm prints the UUID"
grep -q "vtpm $u: imported (instance .*, TPM 2.0) from a swtpm state directory" "$MGR_LOG" ||
	fail "no log line about the import"
check2 $u "$s2" "$TESTDIR/marker2"
stop_manager
start_manager
nv_expect $u $IDX "$TESTDIR/marker2" "NV data after a restart"

log "refusals"
assert_fails "import of an existing UUID" vtpmctl import-swtpm --uuid $u "$s2"
assert_eq "vtpmctl: a vTPM with UUID $u already exists on this host" "$LAST_STDERR" "existing UUID"
bare "$s2" --tpm2
assert_fails "import while a swtpm runs" vtpmctl import-swtpm --uuid 11111111-2222-4333-8444-0000000000ff "$s2"
assert_eq "vtpmctl: a swtpm (pid $BARE) still holds $s2; shut it down first (its state may change)" \
	"$LAST_STDERR" "a running swtpm"
bare_stop
mkdir -p "$TESTDIR/empty" "$TESTDIR/junk"
assert_fails "import of an empty directory" vtpmctl import-swtpm --uuid 11111111-2222-4333-8444-0000000000ff "$TESTDIR/empty"
assert_eq "vtpmctl: $TESTDIR/empty holds neither tpm2-00.permall nor tpm-00.permall: not a swtpm state directory" \
	"$LAST_STDERR" "empty directory"
head -c 3000 /dev/urandom >"$TESTDIR/junk/tpm2-00.permall"
assert_fails "import of junk" vtpmctl import-swtpm --uuid 11111111-2222-4333-8444-0000000000ff "$TESTDIR/junk"
assert_eq "vtpmctl: $TESTDIR/junk/tpm2-00.permall: malformed, or not the expected format" \
	"$LAST_STDERR" "junk state file"
# A well-formed swtpm file whose contents libtpms refuses.
printf '\x02\x01\x00\x0a\x00\x00\x00\x00\x00\x1a\x00\x01\x00\x00\x00\x0aNOT A TPM!' >"$TESTDIR/junk/tpm2-00.permall"
assert_fails "import of a state libtpms refuses" vtpmctl import-swtpm --uuid 11111111-2222-4333-8444-0000000000ff "$TESTDIR/junk"
assert_contains "$LAST_STDERR" "cannot import vTPM 11111111-2222-4333-8444-0000000000ff: libtpms could not start the TPM from this state" \
	"state refused by libtpms"
assert_not_contains "$(vtpmctl list)" "11111111-2222-4333-8444-0000000000ff" "list after the refused imports"

log "TPM 2.0, encrypted with a key file"
se=$TESTDIR/swtpm2enc
head -c 32 /dev/urandom | xxd -p -c 64 >"$TESTDIR/swtpm.key"
setup "$se" --tpm2 --keyfile "$TESTDIR/swtpm.key" --cipher aes-256-cbc
head -c 32 /dev/urandom >"$TESTDIR/marker3"
prepare2 "$se" "$TESTDIR/marker3" --tpm2 --key file="$TESTDIR/swtpm.key",mode=aes-256-cbc,format=hex
ue=11111111-2222-4333-8444-000000000003
assert_fails "encrypted state without a key" vtpmctl import-swtpm --uuid $ue "$se"
assert_eq "vtpmctl: $se/tpm2-00.permall: encrypted, and no key to open it was given; give swtpm's key with --key or --pwdfile" \
	"$LAST_STDERR" "no key"
head -c 32 /dev/urandom | xxd -p -c 64 >"$TESTDIR/wrong.key"
assert_fails "encrypted state with a wrong key" vtpmctl import-swtpm --uuid $ue --key "$TESTDIR/wrong.key" "$se"
assert_eq "vtpmctl: $se/tpm2-00.permall: authentication failed: modified, forged, or the wrong key" \
	"$LAST_STDERR" "wrong key"
assert_eq "$ue" "$(vtpmctl import-swtpm --uuid $ue --key "$TESTDIR/swtpm.key" "$se")" "import with --key"
check2 $ue "$se" "$TESTDIR/marker3"

log "TPM 2.0, encrypted with a passphrase (libvirt's way)"
sp=$TESTDIR/swtpm2pw
printf 'a libvirt secret' >"$TESTDIR/pw"
setup "$sp" --tpm2 --pwdfile "$TESTDIR/pw" --cipher aes-256-cbc
head -c 32 /dev/urandom >"$TESTDIR/marker4"
prepare2 "$sp" "$TESTDIR/marker4" --tpm2 --key pwdfile="$TESTDIR/pw",mode=aes-256-cbc
up=11111111-2222-4333-8444-000000000004
assert_eq "$up" "$(vtpmctl import-swtpm --uuid $up --pwdfile "$TESTDIR/pw" "$sp")" "import with --pwdfile"
check2 $up "$sp" "$TESTDIR/marker4"

log "TPM 1.2"
s1=$TESTDIR/swtpm12
setup "$s1"
bare "$s1"
pubek=$(timeout 60 python3 "$(dirname "$0")/tpm12_owner.py" "$TESTDIR/bare.sock" readpubek) ||
	fail "ReadPubek on the bare swtpm 1.2"
bare_stop
u1=11111111-2222-4333-8444-000000000012
assert_eq "$u1" "$(vtpmctl import-swtpm --uuid $u1 "$s1")" "import-swtpm of a 1.2 (version detected)"
assert_eq "1.2" "$(json_field $u1 tpm_version)" "imported TPM version"
py() { timeout 60 python3 "$(dirname "$0")/tpm12_owner.py" "$(sock $u1)" "$@"; }
assert_eq "$pubek" "$(py readpubek)" "TPM_ReadPubek after the import"
assert_eq "$pubek" "$(vtpmctl ek $u1 | openssl rsa -pubin -noout -modulus | sed 's/^Modulus=//' |
	tr 'A-F' 'a-f')" "vtpmctl ek of the imported 1.2"
owner=$(head -c 20 /dev/urandom | xxd -p -c 40)
assert_ok "TakeOwnership" py takeown "$owner"
der=$(xxd -p -c 4096 "$s1/ek-rsa2048.crt")
assert_eq "$(printf '1001%02x%04x1002' 0 $((${#der} / 2 + 2)))$der" "$(py nvread 0x1000f000 "$owner")" \
	"the 1.2 EK certificate in NV after the import"

log "an imported state is recorded: a deleted file is refused, never a fresh TPM"
# Before its first use: using a vTPM records its files anyway.
uf=11111111-2222-4333-8444-0000000000f0
assert_eq "$uf" "$(vtpmctl import-swtpm --uuid $uf "$s2")" "import-swtpm (again, as $uf)"
rm -f "$STATE/vtpm/$uf/permall"
off=$(stat -c %s "$MGR_LOG")
assert_fails "use after permall was deleted" t2 getrandom "$uf" 8 --hex
line=$(log_since "$off" | grep -F "vtpm $uf" | grep -F "missing") ||
	fail "no log line says $uf's state is missing: $(log_since "$off" | tail -n 5)"
assert_contains "$line" "$STATE/vtpm/$uf/permall" "the log line names the file"
stop_manager
