#!/bin/bash
# test_qemu_tis: a Debian 12 kernel boots under QEMU (TCG) with a tpm-tis
# device whose backend is the manager's tpm-emulator control socket.  The
# guest sees a TPM 2.0 with a non-zero, firmware-measured PCR0 (it equals the
# replay of SeaBIOS's event log), writes an NV index and powers off; after a
# manager restart a second boot reads the index back (and PCR0 is the same
# again).  See tests/guest/boot.sh (qemu_tpm2_nv_test).  Skips (exit 77,
# "SKIP:") only when the kernel package cannot be downloaded.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../guest/boot.sh
. "$(dirname "$0")/../guest/boot.sh"

qemu_tpm2_nv_test tpm-tis
