#!/bin/bash
# test_xen_real: vtpm_managerd --backend xen on a real Xen.  Boots Debian
# 12's Xen 4.17 under QEMU (TCG) with a PV dom0 running the manager
# (host TPM: a keyfile in dom0), and PV domUs running the stock
# xen-tpmfront, once; the scenarios of tests/xen-real/scenarios.sh run in
# that dom0 (xl create/shutdown/destroy/reboot, vtpm-attach/detach,
# frontend unbind/bind, a manager restart, two domUs, an unknown UUID and
# xen_autocreate, a TPM 1.2 vTPM, xenstored frozen (kill -STOP) while a
# vTPM reached through its sockets must answer, 20 create/destroy cycles)
# and report "XTRESULT PASS|FAIL name" lines on the serial console.  Every
# expected result must be there and pass.  Prints the wall time of each
# step.
#
# Images: tests/xen-real/build-images.sh builds (or reuses) the Debian
# part in $BUILD/xen-real; this project's binaries, scripts and the
# domUs' /init are added here at every run.  Skips (lib.sh's skip: exit
# 77, a failure under CI=true) only when the Debian packages cannot be
# downloaded.  XT_ONLY=name[,name]
# runs a subset (then only those results are expected); XEN_QEMU_TIMEOUT
# (default 1200 s: about 5 min on an idle 2-core machine, 9 min seen on
# one shared with 3 other test runs) bounds
# the whole machine.
# run.sh: timeout=1260
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")/../xen-real" && pwd)
IMG=$BUILD/xen-real
QEMU_TIMEOUT=${XEN_QEMU_TIMEOUT:-1200}
EXPECTED="pv2_basic reboot_in_guest shutdown_create destroy_create manager_restart
unknown_uuid_xenstore_error unknown_uuid_log unknown_uuid_xl_fails tpm12
vtpm_attach_cmd vtpm_attach rebind xen_autocreate isolation busy_neighbour vtpm_detach
hung_xenstored cycles"

command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 is not installed (make deps)"
ms() { date +%s%N | cut -c1-13; }
T0=$(ms)
STEP_T=$T0
step() { # NAME: wall time since the previous step
	local t
	t=$(ms)
	printf 'STEP %-22s %6d ms\n' "$1" "$((t - STEP_T))"
	STEP_T=$t
}

rc=0
"$HERE/build-images.sh" "$IMG" 2>"$TESTDIR/build-images.log" || rc=$?
case "$rc" in
0) ;;
77)
	skip "the Xen/kernel Debian packages cannot be downloaded (no network?): $(tail -n 1 "$TESTDIR/build-images.log")"
	;;
*) fail "build-images.sh exited $rc: $(tail -n 5 "$TESTDIR/build-images.log" | tr '\n' ' ')" ;;
esac
[ ! -s "$TESTDIR/build-images.log" ] || log "$(tr '\n' ' ' <"$TESTDIR/build-images.log")"
step images

# ---- this project's part of the images --------------------------------
BB=$IMG/busybox
cpio_of() { # DIR: a newc archive of DIR on stdout
	(cd "$1" && find . | LC_ALL=C sort | "$BB" cpio -o -H newc -R 0:0 2>/dev/null)
}
P=$TESTDIR/proj
U=$TESTDIR/domu
mkdir -p "$P"/{xt,usr/sbin,usr/libexec/vtpm-manager,boot/domU,lib/x86_64-linux-gnu,lib64} "$U"
install -m 0755 "$HERE/dom0-init" "$P/init"
install -m 0644 "$HERE/scenarios.sh" "$P/xt/scenarios.sh"
install -m 0755 "$BUILD/vtpm_managerd" "$BUILD/vtpmctl" "$P/usr/sbin/"
install -m 0755 "$BUILD/vtpmd" "$P/usr/libexec/vtpm-manager/vtpmd"
# The tests' client, for the vTPM that hung_xenstored reaches through its
# sockets as QEMU does (dom0 has no tpm2-tools and no python3).
install -m 0755 "$BUILD/vtpm-client" "$P/usr/sbin/"
# Their libraries as this host resolves them (libtpms, libssl, libtss2-*,
# libseccomp, libxen*; the sanitizer runtimes in a SANITIZE=1 build).
for f in "$BUILD/vtpm_managerd" "$BUILD/vtpmctl" "$BUILD/vtpmd" "$BUILD/vtpm-client"; do
	ldd "$f" | awk '/=> \// { print $3 }'
done | sort -u | while read -r lib; do
	cp -L "$lib" "$P/lib/x86_64-linux-gnu/$(basename "$lib")"
done
install -m 0755 "$HERE/domu-init" "$U/init"
{
	cat "$IMG/domu-base.cpio"
	cpio_of "$U"
} >"$P/boot/domU/initrd.cpio"
{
	cat "$IMG/dom0-base.cpio"
	cpio_of "$P"
} >"$TESTDIR/dom0.img"
step assemble

# ---- one machine, every scenario ----------------------------------------
# +rdrand: with no entropy source the kernel's CRNG stays unseeded for
# minutes under TCG, and libuuid (in every xl command) retries
# getrandom(GRND_NONBLOCK) with sleeps: 3 s per xl command.  RDRAND
# (trusted by Debian's kernel, CONFIG_RANDOM_TRUST_CPU) seeds dom0 and the
# domUs at once.
CONSOLE=$TESTDIR/console.log
only=
[ -z "${XT_ONLY:-}" ] || only="xtonly=$XT_ONLY"
timeout -k 5 "$QEMU_TIMEOUT" qemu-system-x86_64 -accel tcg -cpu qemu64,+svm,+rdrand -m 3072 -smp 2 \
	-nodefaults -display none -no-reboot -serial "file:$CONSOLE" \
	-kernel "$IMG/xen" \
	-append "dom0_mem=1024M,max:1024M dom0_max_vcpus=1 console=com1 com1=115200,8n1 noreboot" \
	-initrd "$IMG/vmlinux console=hvc0 earlyprintk=xen quiet cryptomgr.notests init_on_alloc=0 mitigations=off $only,$TESTDIR/dom0.img" \
	</dev/null >"$TESTDIR/qemu.out" 2>&1 &
QPID=$!
track_pid "$QPID"
qrc=0
wait "$QPID" || qrc=$?
_untrack_pid "$QPID"
tr -d '\r' <"$CONSOLE" >"$TESTDIR/console.txt"
step "machine (QEMU)"

# ---- results ----------------------------------------------------------------
sed -n 's/^XTDOM0 up: .*; uptime \([0-9.]*\) s$/\1/p' "$TESTDIR/console.txt" | while read -r up; do
	printf 'STEP   dom0: %-15s %8s s (dom0 uptime when its /init took over)\n' up "$up"
done
grep '^XTSTEP ' "$TESTDIR/console.txt" | while read -r _ name secs unit; do
	printf 'STEP   dom0: %-15s %8s %s\n' "$name" "$secs" "$unit"
done
grep -E '^XT(INFO|CYCLE|TOTAL|DOM0) ' "$TESTDIR/console.txt" | sed 's/^/# /' >&2 || true
grep '^XTRESULT ' "$TESTDIR/console.txt" | sed 's/^XTRESULT /  /'
[ "$qrc" != 124 ] || fail "the Xen machine was still running after $QEMU_TIMEOUT s; console tail: $(grep -v '^(XEN)' "$TESTDIR/console.txt" | tail -n 15)"
grep -q '^XTDOM0 up' "$TESTDIR/console.txt" ||
	fail "dom0 never came up (QEMU exit $qrc: $(head -c 300 "$TESTDIR/qemu.out")); console tail: $(tail -n 25 "$TESTDIR/console.txt")"
grep -q '^XTDONE ' "$TESTDIR/console.txt" ||
	fail "dom0's scenarios did not finish (QEMU exit $qrc); console tail: $(grep -v '^(XEN)' "$TESTDIR/console.txt" | tail -n 25)"
if grep -q '^XTRESULT FAIL' "$TESTDIR/console.txt"; then
	fail "$(grep -c '^XTRESULT FAIL' "$TESTDIR/console.txt") scenario check(s) failed: $(grep '^XTRESULT FAIL' "$TESTDIR/console.txt" | head -n 5 | tr '\n' ' ')"
fi
if [ -z "${XT_ONLY:-}" ]; then
	for r in $EXPECTED; do
		grep -qx "XTRESULT PASS $r" "$TESTDIR/console.txt" || fail "no PASS for $r"
	done
fi
grep -qx 'XTDONE rc=0' "$TESTDIR/console.txt" || fail "dom0's scenarios ended with $(grep '^XTDONE' "$TESTDIR/console.txt")"
printf 'STEP %-22s %6d ms\n' total "$(($(ms) - T0))"
