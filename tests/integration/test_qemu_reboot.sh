#!/bin/bash
# test_qemu_reboot: a guest reset inside one QEMU process (QEMU sends STOP,
# SET_BUFFERSIZE and INIT on the control socket) power-cycles the vTPM: the
# guest extends PCR16 (sha256), sets a flag NV index and runs `reboot -f`;
# after the reboot the flag is there (NV kept), PCR16 is zero again (PCRs
# reset), and PCR0 is non-zero and equals the replay of the new firmware
# event log (measured once, not on top of the first boot's values).  tpm-tis,
# TPM 2.0.  Skips (exit 77, "SKIP:") only when the kernel package cannot be
# downloaded.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../guest/boot.sh
. "$(dirname "$0")/../guest/boot.sh"

guest_prepare
start_manager
u=$(create_vtpm)

GUEST_REBOOT=1 guest_boot reboot "$u" tpm-tis info,reboot,pcr0
guest_expect version_major 2
guest_expect_match pcr16_before_reboot '[0-9a-f]{64}'
assert_ne "$GUEST_ZERO256" "${GUEST[pcr16_before_reboot]}" "PCR16 after the extend, before the reboot"
guest_expect rebooted yes
guest_expect pcr16_after_reboot "$GUEST_ZERO256"
guest_expect_match pcr0_sha256 '[0-9a-f]{64}'
assert_ne "$GUEST_ZERO256" "${GUEST[pcr0_sha256]}" "PCR0 (sha256) after the reboot is zero"
guest_expect eventlog_pcr0_sha256 "${GUEST[pcr0_sha256]}"
n=$(tr -d '\r' <"$TESTDIR/reboot.serial" | count_ere '^VTPMTEST-BEGIN')
assert_eq 2 "$n" "boots of the guest in one QEMU process"
