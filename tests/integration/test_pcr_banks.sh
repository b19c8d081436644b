#!/bin/bash
# test_pcr_banks: `vtpmctl create --pcr-banks` selects the active PCR banks
# (PCR_Allocate at manufacture, as swtpm_setup --pcr-banks), and they stay
# so across a restart; without it libtpms' default (all four banks)
# stays.  `--no-ek-cert` makes a vTPM without EK certificates (no NV
# index at 0x01c00002 / 0x01c0000a) and, with no banks either, without a
# manufacturing vtpmd at all; `vtpmctl ek` still reads its EK public key
# from the stopped TPM (the key tpm2_createek makes) but reports that it
# has no certificate; while it runs, or before it ever ran, it cannot be
# read.  Bad bank names are
# usage errors.  The vtpmd that manufactures a vTPM runs as the uid of that
# vTPM's own vtpmd.  --owner and --pcr-banks together both take effect.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# banks UUID: "alg=count ..." for each bank in tpm2_getcap pcrs.
banks() {
	t2 getcap "$1" pcrs | python3 -c '
import sys, re
out = []
for line in sys.stdin:
    m = re.match(r"\s*-\s*(sha\d+)\s*:\s*\[(.*)\]", line)
    if m:
        n = len([x for x in m.group(2).split(",") if x.strip()])
        out.append("%s=%d" % (m.group(1), n))
print(" ".join(out))'
}

start_manager --log-level debug
log "default: libtpms' banks"
d=$(create_vtpm)
assert_eq "sha1=24 sha256=24 sha384=24 sha512=24" "$(banks "$d")" "banks of a default vTPM"
# The private vtpmd that manufactured it ran as the uid its own vtpmd runs
# as (vtpm_uid_base + instance), which no other vTPM's vtpmd has.
uids=$(sed -n "s/^vtpmd\[$d\]: debug: sandboxed: uid \([0-9]*\),.*/\1/p" "$MGR_LOG" | tr '\n' ' ')
want=$((0x70000000 + $(json_field "$d" instance)))
assert_eq "$want $want " "$uids" "uids of the manufacturing vtpmd and then the vTPM's own"
stop_manager
start_manager

log "--pcr-banks sha256,sha384"
u=$(create_vtpm --pcr-banks sha256,sha384)
assert_eq "sha1=0 sha256=24 sha384=24 sha512=0" "$(banks "$u")" "banks after --pcr-banks sha256,sha384"
nv=$(t2 nvreadpublic "$u") || fail "nvreadpublic"
assert_contains "$nv" "0x1c00002:" "EK certificate with --pcr-banks"
stop_manager
start_manager
assert_eq "sha1=0 sha256=24 sha384=24 sha512=0" "$(banks "$u")" "banks after a restart"

log "--no-ek-cert"
off=$(stat -c %s "$MGR_LOG")
n=$(create_vtpm --no-ek-cert)
assert_not_contains "$(log_since "$off")" "started vtpmd" "create --no-ek-cert starts no vtpmd"
assert_fails "ek of a vTPM that never ran" vtpmctl ek "$n"
assert_eq "vtpmctl: cannot read the EK of vTPM $n: it has never run, so it has no TPM state (and no EK) yet" \
	"$LAST_STDERR" "ek of a vTPM that never ran"
nv=$(t2 nvreadpublic "$n" 2>&1) || true # no index at all is an error for the tool
assert_not_contains "$nv" "0x1c00002" "NV indices with --no-ek-cert"
assert_not_contains "$nv" "0x1c0000a" "NV indices with --no-ek-cert"
assert_fails "ek of a running vTPM without a record" vtpmctl ek "$n"
assert_eq "vtpmctl: no EK recorded for vTPM $n and it is running; stop it and try again" \
	"$LAST_STDERR" "ek while running"
assert_ok "createek" t2 createek "$n" -c "$TESTDIR/ek.ctx" -G rsa -u "$TESTDIR/ek.pem" -f pem
assert_ok "flush" t2 flushcontext "$n" -t
assert_ok "stop" vtpmctl stop "$n"
want=$(openssl pkey -pubin -in "$TESTDIR/ek.pem" -outform der | sha256_hex)
assert_eq "$want" "$(vtpmctl ek "$n" | openssl pkey -pubin -outform der | sha256_hex)" \
	"vtpmctl ek of a --no-ek-cert vTPM (read from the stopped TPM)"
assert_fails "ek --cert without certificate" vtpmctl ek "$n" --cert
assert_eq "vtpmctl: vTPM $n has no RSA-2048 EK certificate (created with --no-ek-cert, or imported without one)" \
	"$LAST_STDERR" "ek --cert of a --no-ek-cert vTPM"

log "--no-ek-cert --pcr-banks sha1"
w=$(create_vtpm --no-ek-cert --pcr-banks sha1)
assert_eq "sha1=24 sha256=0 sha384=0 sha512=0" "$(banks "$w")" "banks with --no-ek-cert --pcr-banks sha1"
nv=$(t2 nvreadpublic "$w" 2>&1) || true # no index at all is an error for the tool
assert_not_contains "$nv" "0x1c00002" "NV indices with --no-ek-cert --pcr-banks"

log "with --owner too (the longest create request)"
o=$(create_vtpm --owner nobody:nogroup --pcr-banks sha384)
assert_eq "nobody:nogroup" "$(json_field "$o" owner)" "owner of a vTPM made with --pcr-banks"
assert_eq "660 nobody nogroup" "$(stat -c '%a %U %G' "$RUN/$o.sock")" "mode and owner of its socket"
assert_eq "sha1=0 sha256=0 sha384=24 sha512=0" "$(banks "$o")" "banks with --owner --pcr-banks sha384"

log "bad values"
for v in md5 "sha256," ",sha1" ""; do
	assert_fails "--pcr-banks '$v'" vtpmctl create --pcr-banks "$v"
	assert_eq 2 "$LAST_RC" "exit status for --pcr-banks '$v'"
	assert_eq "vtpmctl: --pcr-banks: '$v' is not a list of sha1, sha256, sha384, sha512" \
		"$LAST_STDERR" "--pcr-banks '$v'"
done
stop_manager
