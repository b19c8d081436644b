#!/bin/bash
# test_ek_ca_operator: the operator's CA signs the EK certificates (config
# ca_key / ca_cert, here an intermediate under a site root made with
# openssl).  `vtpmctl ca` prints the operator's certificate file as given;
# a new vTPM's EK certificate verifies against the site root through the
# intermediate; nothing of the CA is written to the state directory.
# Refused at start, with the file named: a key readable by others, a
# certificate that is not a CA, a key that does not belong to the
# certificate, a missing file; ca_key without ca_cert is a usage error.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pki=$TESTDIR/pki
mkdir -p "$pki"
cd "$pki"
cat >ext.cnf <<'CNF'
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[leaf]
basicConstraints = critical,CA:FALSE
CNF
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout root.key \
	-out root.pem -days 30 -subj "/O=Example/CN=Site root" -addext "keyUsage=critical,keyCertSign" \
	2>/dev/null || fail "root CA"
openssl req -new -newkey rsa:2048 -nodes -keyout int.key -out int.csr -subj "/O=Example/CN=vTPM intermediate" \
	2>/dev/null || fail "intermediate request"
openssl x509 -req -in int.csr -CA root.pem -CAkey root.key -CAcreateserial -days 30 \
	-extfile ext.cnf -extensions ca -out int.pem 2>/dev/null || fail "intermediate"
openssl x509 -req -in int.csr -CA root.pem -CAkey root.key -CAcreateserial -days 30 \
	-extfile ext.cnf -extensions leaf -out notca.pem 2>/dev/null || fail "non-CA certificate"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out other.key 2>/dev/null
chmod 600 int.key other.key
cd - >/dev/null

start_manager --ca-key "$pki/int.key" --ca-cert "$pki/int.pem"
grep -q "vTPM CA: the operator's, $pki/int.pem" "$MGR_LOG" || fail "no log line naming the operator's CA"
cmp -s "$pki/int.pem" <(vtpmctl ca) || fail "vtpmctl ca is not the operator's certificate"
[ ! -e "$STATE/ca.pem" ] && [ ! -e "$STATE/ca-key.sealed" ] ||
	fail "the state directory got a CA of its own"
u=$(create_vtpm)
vtpmctl ek "$u" --cert >"$TESTDIR/ek.pem" || fail "vtpmctl ek --cert"
out=$(openssl verify -CAfile "$pki/root.pem" -untrusted "$pki/int.pem" "$TESTDIR/ek.pem" 2>&1) ||
	fail "openssl verify through the intermediate: $out"
assert_eq "$TESTDIR/ek.pem: OK" "$out" "verify against the site root"
assert_contains "$(openssl x509 -in "$TESTDIR/ek.pem" -noout -issuer)" "CN = vTPM intermediate" "issuer"
stop_manager

chmod 644 "$pki/int.key"
manager_fails "CA key readable by others" --ca-key "$pki/int.key" --ca-cert "$pki/int.pem"
assert_contains "$LAST_STDERR" "$pki/int.key holds a private key but is readable by group or others (mode 644); chmod 600 it" \
	"CA key mode"
chmod 600 "$pki/int.key"
manager_fails "not a CA certificate" --ca-key "$pki/int.key" --ca-cert "$pki/notca.pem"
assert_contains "$LAST_STDERR" "ca_key/ca_cert ($pki/notca.pem): the CA certificate is not a CA certificate" \
	"non-CA certificate"
manager_fails "key of another certificate" --ca-key "$pki/other.key" --ca-cert "$pki/int.pem"
assert_contains "$LAST_STDERR" "the CA certificate does not belong to the CA key" "mismatched key"
manager_fails "missing file" --ca-key "$pki/none.key" --ca-cert "$pki/int.pem"
assert_contains "$LAST_STDERR" "cannot open $pki/none.key: No such file or directory" "missing key"
manager_fails "ca_key alone" --ca-key "$pki/int.key"
assert_eq 2 "$LAST_RC" "exit status for ca_key alone"
assert_contains "$LAST_STDERR" "ca_key and ca_cert go together" "ca_key alone"
