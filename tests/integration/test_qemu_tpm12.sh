#!/bin/bash
# test_qemu_tpm12: a --tpm-version 1.2 vTPM behind QEMU's tpm-tis (tpm-crb is
# TPM 2.0 only) shows up in a Debian 12 guest as a TPM 1.2: sysfs
# tpm_version_major 1, caps "TCG version: 1.2", enabled and active, 24 PCRs,
# no /dev/tpmrm0, and a non-zero PCR0 that equals the SHA-1 replay of the
# firmware event log.  After a manager restart a second boot sees the same.
# Skips (exit 77, "SKIP:") only when the kernel package cannot be downloaded.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../guest/boot.sh
. "$(dirname "$0")/../guest/boot.sh"

# sha1 replay of the ':'-separated digests in $1, from 20 zero bytes.
replay_sha1() {
	local pcr d
	pcr=$(printf '0%.0s' $(seq 40))
	for d in ${1//:/ }; do
		pcr=$(printf '%s%s' "$pcr" "$d" | xxd -r -p | sha1sum | cut -d' ' -f1)
	done
	echo "$pcr"
}

check_tpm12() {
	guest_expect tpm0 yes
	guest_expect version_major 1
	guest_expect dev_tpm0 yes
	guest_expect dev_tpmrm0 no
	guest_expect_match caps '.*TCG version: 1\.2;.*'
	guest_expect enabled 1
	guest_expect active 1
	guest_expect pcr_count 24
	guest_expect_match pcr00 '[0-9a-f]{40}'
	assert_ne "$(printf '0%.0s' $(seq 40))" "${GUEST[pcr00]}" "PCR-00 in the guest is zero"
	guest_expect_match eventlog_pcr0_sha1 '[0-9a-f]{40}(:[0-9a-f]{40})*'
	assert_eq "$(replay_sha1 "${GUEST[eventlog_pcr0_sha1]}")" "${GUEST[pcr00]}" \
		"PCR-00 against the replay of the firmware event log"
}

guest_prepare
start_manager
u=$(create_vtpm --tpm-version 1.2)
assert_eq "1.2" "$(json_field "$u" tpm_version)" "tpm_version in list --json"

guest_boot boot1 "$u" tpm-tis info,tpm12
check_tpm12
pcr0=${GUEST[pcr00]}
log "boot 1: PCR-00 $pcr0, caps: ${GUEST[caps]}"

stop_manager
start_manager

guest_boot boot2 "$u" tpm-tis info,tpm12
check_tpm12
guest_expect pcr00 "$pcr0"
