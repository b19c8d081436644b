#!/bin/bash
# test_ek_cert12: a TPM 1.2 vTPM is manufactured like a 1.2 chip: enabled,
# activated, with an endorsement key and its certificate (TCG EK profile
# for 1.2: empty subject, SAN dirName, spec family "1.2") in NV
# TPM_NV_INDEX_EKCert behind the TCG stored-certificate header, NV
# locked, no owner.  The certificate verifies with the vTPM CA; its key is
# what TPM_ReadPubek returns; an unauthorized NV read is refused
# (TPM_AUTH_CONFLICT, the NV is locked); after TakeOwnership the owner
# reads exactly the header and the certificate `vtpmctl ek --cert` prints.
# --ecc and --pcr-banks are refused for a 1.2.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

start_manager
vtpmctl ca >"$TESTDIR/ca.pem" || fail "vtpmctl ca"
u=$(create_vtpm --tpm-version 1.2)
owner=$(head -c 20 /dev/urandom | xxd -p -c 40)
py() { timeout 60 python3 "$(dirname "$0")/tpm12_owner.py" "$(sock "$u")" "$@"; }

vtpmctl ek "$u" --cert >"$TESTDIR/ek.pem" || fail "vtpmctl ek --cert"
out=$(openssl verify -CAfile "$TESTDIR/ca.pem" "$TESTDIR/ek.pem" 2>&1) || fail "openssl verify: $out"
assert_eq "$TESTDIR/ek.pem: OK" "$out" "openssl verify"
text=$(openssl x509 -in "$TESTDIR/ek.pem" -noout -text)
assert_contains "$text" "Subject: "$'\n' "empty subject (1.2 profile)"
assert_contains "$text" "DirName:/2.23.133.2.1=id:00001014/2.23.133.2.2=swtpm/2.23.133.2.3=id:00740001" "SAN"
assert_contains "$text" "Key Encipherment" "key usage"
assert_contains "$text" "2.23.133.8.1" "EKU"

log "the certificate's key is the EK"
pubek=$(py readpubek) || fail "TPM_ReadPubek"
modulus=$(openssl x509 -in "$TESTDIR/ek.pem" -noout -modulus | sed 's/^Modulus=//' | tr 'A-F' 'a-f')
assert_eq "$pubek" "$modulus" "TPM_ReadPubek vs the certificate"
assert_eq "$modulus" "$(vtpmctl ek "$u" | openssl rsa -pubin -noout -modulus |
	sed 's/^Modulus=//' | tr 'A-F' 'a-f')" "vtpmctl ek"

log "NV: locked, and the owner reads the certificate"
assert_eq 3b "$(py nvread-noauth 0x1000f000)" "unauthorized NV_ReadValue (TPM_AUTH_CONFLICT)"
assert_ok "TakeOwnership" py takeown "$owner"
nv=$(py nvread 0x1000f000 "$owner") || fail "owner NV_ReadValue"
der=$(openssl x509 -in "$TESTDIR/ek.pem" -outform der | xxd -p -c 4096)
hdr=$(printf '1001%02x%04x1002' 0 $((${#der} / 2 + 2)))
assert_eq "$hdr$der" "$nv" "NV contents: TCG header and the certificate"

log "refusals"
assert_fails "ek --ecc of a 1.2" vtpmctl ek "$u" --ecc
assert_eq "vtpmctl: a TPM 1.2 has an RSA EK only" "$LAST_STDERR" "ek --ecc of a 1.2"
assert_fails "--pcr-banks with 1.2" vtpmctl create --tpm-version 1.2 --pcr-banks sha256
assert_eq 2 "$LAST_RC" "exit status of --pcr-banks with 1.2"
assert_eq "vtpmctl: --pcr-banks needs --tpm-version 2" "$LAST_STDERR" "--pcr-banks with 1.2"
stop_manager
