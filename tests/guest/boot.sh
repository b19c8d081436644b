# boot.sh - boots the test guest (tests/guest/build-guest.sh) under QEMU with
# its TPM served by the manager's tpm-emulator control socket.  Sourced by
# tests/integration/test_qemu_*.sh after lib.sh.
#
#   guest_prepare       builds (or reuses) $BUILD/guest/{vmlinuz,initrd.img};
#                       when the Debian kernel package cannot be downloaded
#                       it skips (lib.sh's skip: exit 77, a failure
#                       under CI=true).
#   guest_boot NAME UUID DEVICE ACTIONS [APPEND...]
#                       boots once: DEVICE tpm-tis or tpm-crb, ACTIONS for
#                       the guest's /init (vtpmtest=..., see tests/guest/init),
#                       APPEND more kernel command-line words.  QEMU must
#                       exit 0 within $GUEST_TIMEOUT s (default 60), the
#                       guest must print VTPMTEST-END rc=0, and neither
#                       QEMU's output nor the guest kernel's console may
#                       mention the TPM.  The guest's "VTPM key=value" lines
#                       are in GUEST[key] (the last value of a key printed
#                       twice); the console is $TESTDIR/NAME.serial, QEMU's
#                       own output $TESTDIR/NAME.qemu.
#   guest_start NAME UUID DEVICE ACTIONS [APPEND...] / guest_finish NAME
#                       the same in two halves, QEMU running in between
#                       (GUEST_QPID); guest_wait_line NAME ERE SECONDS
#                       waits for a console line meanwhile.
#   guest_expect KEY VALUE       GUEST[KEY] = VALUE
#   guest_expect_match KEY REGEX GUEST[KEY] matches REGEX (whole value)
#
# GUEST_REBOOT=1 lets the guest reboot (no -no-reboot) for the "reboot"
# action.  QEMU runs with TCG by default (GUEST_ACCEL=kvm to change it; KVM
# hangs on the machines this was written on).
# shellcheck shell=bash

GUEST_DIR=$BUILD/guest
GUEST_TIMEOUT=${GUEST_TIMEOUT:-60}
GUEST_ACCEL=${GUEST_ACCEL:-tcg}
declare -A GUEST=()
GUEST_ZERO256=$(printf '0%.0s' $(seq 64))

guest_prepare() {
	local here rc=0 t0
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 is not installed (make deps)"
	t0=$(date +%s)
	"$here/build-guest.sh" "$GUEST_DIR" 2>"$TESTDIR/build-guest.log" || rc=$?
	case "$rc" in
	0) ;;
	77)
		sed 's/^/# /' "$TESTDIR/build-guest.log" >&2
		skip "the test guest's Debian kernel package cannot be downloaded (no network?): $(tail -n 1 "$TESTDIR/build-guest.log")"
		;;
	*) fail "guest_prepare: build-guest.sh $GUEST_DIR exited $rc: $(tail -n 5 "$TESTDIR/build-guest.log" | tr '\n' ' ')" ;;
	esac
	if [ -s "$TESTDIR/build-guest.log" ]; then
		log "build-guest ($(($(date +%s) - t0)) s): $(tr '\n' ' ' <"$TESTDIR/build-guest.log")"
	fi
	GUEST_KERNEL=$GUEST_DIR/vmlinuz
	GUEST_INITRD=$GUEST_DIR/initrd.img
}

# guest_start NAME UUID DEVICE ACTIONS [APPEND...]: starts QEMU in the
# background (as guest_boot); guest_finish NAME waits for it and checks
# the run as guest_boot does.  For tests that act on the host meanwhile.
guest_start() {
	local name=$1 u=$2 dev=$3 actions=$4 serial qout
	local -a noreboot=(-no-reboot)
	shift 4
	serial=$TESTDIR/$name.serial
	qout=$TESTDIR/$name.qemu
	[ -S "$RUN/$u.sock.ctrl" ] || fail "$name: no control socket $RUN/$u.sock.ctrl"
	rm -f "$serial" "$qout"
	[ "${GUEST_REBOOT:-0}" = 0 ] || noreboot=()
	_GUEST_T0=$(date +%s%N)
	_GUEST_WHAT="$dev boot of $u"
	timeout -k 5 "$GUEST_TIMEOUT" qemu-system-x86_64 -accel "$GUEST_ACCEL" -m 512 \
		-nodefaults -display none -serial "file:$serial" "${noreboot[@]}" \
		-kernel "$GUEST_KERNEL" -initrd "$GUEST_INITRD" \
		-append "console=ttyS0 panic=-1 quiet vtpmtest=$actions $*" \
		-chardev "socket,id=chrtpm,path=$RUN/$u.sock.ctrl" \
		-tpmdev emulator,id=tpm0,chardev=chrtpm \
		-device "$dev,tpmdev=tpm0" </dev/null >"$qout" 2>&1 &
	GUEST_QPID=$!
	track_pid "$GUEST_QPID"
}

# guest_wait_line NAME ERE SECONDS: true once the guest's console has a
# line matching ERE.
guest_wait_line() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		{ tr -d '\r' <"$TESTDIR/$1.serial"; } 2>/dev/null | grep -qE -- "$2" && return 0
		kill -0 "$GUEST_QPID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

guest_boot() {
	guest_start "$@"
	guest_finish "$1"
}

guest_finish() {
	local name=$1 serial qout pid=$GUEST_QPID rc=0 line k v
	serial=$TESTDIR/$name.serial
	qout=$TESTDIR/$name.qemu
	wait "$pid" || rc=$?
	_untrack_pid "$pid"
	log "$name: $_GUEST_WHAT took $((($(date +%s%N) - _GUEST_T0) / 1000000)) ms"
	[ "$rc" != 124 ] || fail "$name: QEMU still running after $GUEST_TIMEOUT s; console: $(tail -n 15 "$serial" 2>/dev/null | tr -d '\r')"
	[ "$rc" = 0 ] || fail "$name: QEMU exited $rc: $(head -c 800 "$qout"); console: $(tail -n 15 "$serial" 2>/dev/null | tr -d '\r')"
	[ -f "$serial" ] || fail "$name: no console output"
	if grep -qi tpm "$qout"; then
		fail "$name: QEMU reported a TPM problem: $(grep -i tpm "$qout" | head -n 5)"
	fi
	if [ -s "$qout" ]; then
		log "$name: QEMU said: $(head -c 400 "$qout")"
	fi
	# Kernel messages printed despite `quiet` are errors and warnings.
	if tr -d '\r' <"$serial" | grep -v '^VTPM' | grep -qi tpm; then
		fail "$name: the guest kernel complained about the TPM: $(tr -d '\r' <"$serial" | grep -v '^VTPM' | grep -i tpm | head -n 5)"
	fi
	GUEST=()
	while IFS= read -r line; do
		line=${line%$'\r'}
		case "$line" in
		"VTPM "*=*)
			line=${line#VTPM }
			k=${line%%=*}
			v=${line#*=}
			# A key seen twice (a guest that rebooted): the last value,
			# but every error.
			if [ "$k" = error ] && [ -n "${GUEST[$k]+x}" ]; then
				GUEST[$k]+="; $v"
			else
				GUEST[$k]=$v
			fi
			;;
		esac
	done < <(sed -n '/^VTPMTEST-BEGIN/,/^VTPMTEST-END/p' "$serial")
	grep -q '^VTPMTEST-BEGIN' "$serial" ||
		fail "$name: the guest's /init never ran; console: $(tail -n 20 "$serial" | tr -d '\r')"
	grep -q '^VTPMTEST-END' "$serial" ||
		fail "$name: the guest's /init did not finish; console: $(tail -n 20 "$serial" | tr -d '\r')"
	if [ -n "${GUEST[error]:-}" ] || ! tr -d '\r' <"$serial" | grep -qx 'VTPMTEST-END rc=0'; then
		fail "$name: the guest reported errors: ${GUEST[error]:-?}"
	fi
}

guest_expect() {
	assert_eq "$2" "${GUEST[$1]:-}" "guest's $1"
}

guest_expect_match() {
	assert_match "$2" "${GUEST[$1]:-}" "guest's $1"
}

# qemu_tpm2_nv_test DEVICE: the TPM 2.0 scenario of test_qemu_tis and
# test_qemu_crb.  Boot 1 sees a TPM 2.0 whose PCR0 (sha256) is non-zero and
# equals the replay of the firmware's event log, defines NV index $idx and
# writes a random marker.  The manager restarts.  Boot 2 reads the marker
# back, and PCR0 is the same as in boot 1 (the power cycle reset the PCRs,
# and SeaBIOS measured the same things).  Finally tpm2_nvread on the host,
# through the manager's data socket, returns the marker too.
qemu_tpm2_nv_test() {
	local dev=$1 u idx=0x1500020 mark pcr0
	guest_prepare
	start_manager
	u=$(create_vtpm)
	mark=$(head -c 8 /dev/urandom | xxd -p)

	guest_boot boot1 "$u" "$dev" info,pcr0,nvwrite "vtpmnv=$idx" "vtpmmark=$mark"
	guest_expect tpm0 yes
	guest_expect version_major 2
	guest_expect dev_tpm0 yes
	guest_expect dev_tpmrm0 yes
	guest_expect_match pcr0_sha256 '[0-9a-f]{64}'
	pcr0=${GUEST[pcr0_sha256]}
	assert_ne "$GUEST_ZERO256" "$pcr0" "PCR0 (sha256) in the guest is zero"
	guest_expect sysfs_pcr0_sha256 "$pcr0"
	guest_expect_match eventlog_pcr0_events '[1-9][0-9]*'
	guest_expect eventlog_pcr0_sha256 "$pcr0"
	guest_expect nvwrite ok
	log "boot 1: PCR0 $pcr0, ${GUEST[eventlog_events]} firmware events; wrote $mark to $idx"

	stop_manager
	start_manager

	guest_boot boot2 "$u" "$dev" info,pcr0,nvread "vtpmnv=$idx" "vtpmmark=$mark"
	guest_expect version_major 2
	guest_expect pcr0_sha256 "$pcr0"
	guest_expect eventlog_pcr0_sha256 "$pcr0"
	guest_expect nvread "$mark"

	printf '%s' "$mark" >"$TESTDIR/mark"
	nv_expect "$u" "$idx" "$TESTDIR/mark" "on the host after the guest boots"
}
