#!/bin/bash
# build-guest.sh OUTDIR - a small Linux guest for the QEMU integration tests:
# OUTDIR/vmlinuz (the Debian 12 amd64 kernel from the archive) and
# OUTDIR/initrd.img (busybox-static, tpm2-tools with its libraries, the TPM
# modules if the kernel has them as modules, and tests/guest/init).
#
# The result is cached: when OUTDIR/stamp exists (and neither init nor this
# script has changed since), this is a no-op.  Concurrent runs on the same OUTDIR serialise on
# OUTDIR/.lock.  Needs apt-get download (an apt-get update, which needs
# root, is done when the package lists are missing or stale), dpkg-deb, ldd,
# flock and gzip; the host's /usr/bin/tpm2 (tpm2-tools) is copied into the
# guest.  Only vmlinuz, initrd.img and stamp are kept in OUTDIR.
#
# Exit status: 0 built (or cached); 77 the kernel package could not be
# downloaded (no network / no archive): the tests skip; anything else is an
# error.  What happened goes to stderr.
set -euo pipefail

[ $# = 1 ] || {
	echo "usage: $0 OUTDIR" >&2
	exit 2
}
OUT=$1
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

say() { echo "build-guest: $*" >&2; }
die() {
	say "$*"
	exit 1
}

exec 9>"$OUT/.lock"
flock 9

# The cache is keyed on this script and the guest's init.
inputs=$(cat "$HERE/init" "$HERE/build-guest.sh" | sha256sum | cut -d' ' -f1)
if [ -f "$OUT/stamp" ] && [ -f "$OUT/vmlinuz" ] && [ -f "$OUT/initrd.img" ] &&
	grep -qx "inputs=$inputs" "$OUT/stamp"; then
	exit 0
fi

# A build killed half-way leaves its work directory (we hold the lock).
rm -rf "$OUT"/work.*
WORK=$(mktemp -d "$OUT/work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
DL=$WORK/dl
mkdir -p "$DL"

APT_OPTS=(-q -o APT::Sandbox::User=root)

# The kernel package that linux-image-amd64 currently depends on.
kernel_pkg() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1
}

# try_download PKG: apt-get download into $DL (output in $WORK/apt.log).
try_download() {
	(cd "$DL" && apt-get download "${APT_OPTS[@]}" "$1") >"$WORK/apt.log" 2>&1
}
apt_log() { tail -n 3 "$WORK/apt.log" | tr '\n' ' '; }

# apt-get update, at most once.
updated=0
apt_update() {
	[ "$updated" = 0 ] || return 0
	updated=1
	say "running apt-get update"
	apt-get update -q >"$WORK/update.log" 2>&1 ||
		say "apt-get update failed: $(tail -n 3 "$WORK/update.log" | tr '\n' ' ')"
}

# The kernel: when the lists are missing or stale (the package they name is
# gone from the archive), update them and ask again.
kpkg=$(kernel_pkg)
if [ -z "$kpkg" ] || ! try_download "$kpkg"; then
	if [ -z "$kpkg" ]; then
		say "apt-cache depends linux-image-amd64 names no kernel package"
	else
		say "apt-get download $kpkg failed: $(apt_log)"
	fi
	apt_update
	kpkg=$(kernel_pkg)
	if [ -z "$kpkg" ]; then
		say "cannot find the Debian kernel package (apt-cache depends linux-image-amd64 names none)"
		exit 77
	fi
	try_download "$kpkg" || {
		say "cannot download the kernel package $kpkg: $(apt_log)"
		exit 77
	}
fi
say "kernel package $kpkg"
if ! try_download busybox-static; then
	apt_update
	try_download busybox-static ||
		die "cannot download busybox-static (the kernel package did download): $(apt_log)"
fi

K=$WORK/kernel
BB=$WORK/busybox
mkdir -p "$K" "$BB"
kdeb=$(echo "$DL"/linux-image-*.deb)
# Only /boot of the kernel package (its modules are some 400 MB unpacked);
# modules are taken out below when needed.
dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$K" ./boot
dpkg-deb -x "$DL"/busybox-static_*.deb "$BB"
vmlinuz=$(find "$K/boot" -maxdepth 1 -name 'vmlinuz-*' | head -n 1)
config=$(find "$K/boot" -maxdepth 1 -name 'config-*' | head -n 1)
[ -n "$vmlinuz" ] || die "no /boot/vmlinuz-* in $kpkg"
[ -n "$config" ] || die "no /boot/config-* in $kpkg"
kver=${vmlinuz##*/vmlinuz-}
busybox=$BB/bin/busybox
[ -x "$busybox" ] || die "no /bin/busybox in busybox-static"
[ -x /usr/bin/tpm2 ] || die "/usr/bin/tpm2 (tpm2-tools) is not installed on the host"

# ---- the initramfs tree -------------------------------------------------
R=$WORK/root
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,lib/x86_64-linux-gnu,lib64,lib/modules,proc,sys,dev,tmp,etc}
cp "$busybox" "$R/bin/busybox"
cp "$HERE/init" "$R/init"
chmod 755 "$R/init"
cp /usr/bin/tpm2 "$R/usr/bin/tpm2"

# Shared libraries: ldd of tpm2 and of every libtss2-* (the TCTI loader
# dlopens libtss2-tcti-device.so.0, which ldd of tpm2 does not show).
libs=$WORK/libs
: >"$libs"
for f in /usr/bin/tpm2 /usr/lib/x86_64-linux-gnu/libtss2-*.so.[0-9]; do
	echo "$f" >>"$libs"
	ldd "$f" | awk '/=> \// { print $3 } /^\t\/.*ld-linux/ { print $1 }' >>"$libs"
done
loader=
while read -r f; do
	case "$f" in
	/usr/bin/tpm2) continue ;;
	*/ld-linux-x86-64.so.2) loader=$f ;;
	esac
	# Copy the resolved file under the soname the loader looks for.
	cp -L "$f" "$R/lib/x86_64-linux-gnu/$(basename "$f")"
done < <(sort -u "$libs")
[ -n "$loader" ] || die "ldd of /usr/bin/tpm2 names no dynamic loader"
cp -L "$loader" "$R/lib64/ld-linux-x86-64.so.2"

# TPM drivers: built in (=y) in Debian 12's kernel; when a kernel has them
# as modules (=m), copy them and the modules they depend on (the "depends="
# of their .modinfo; the package has no modules.dep, depmod makes it at
# install time) in load order.
modlist=$R/lib/modules/load-order
: >"$modlist"
kfiles=$WORK/kernel-files
add_mod() { # NAME
	local name=$1 path dep
	! grep -qx "$name.ko" "$modlist" || return 0
	[ -f "$kfiles" ] || dpkg-deb --fsys-tarfile "$kdeb" | tar -t >"$kfiles"
	path=$(grep -E "^\./lib/modules/$kver/.*/${name//[-_]/[-_]}\.ko$" "$kfiles" | head -n 1)
	[ -n "$path" ] || die "module $name: no .ko in $kpkg (compressed modules are not supported)"
	dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$K" "$path"
	for dep in $(tr '\0' '\n' <"$K/$path" | sed -n 's/^depends=//p' | tr ',' ' '); do
		add_mod "$dep"
	done
	cp "$K/$path" "$R/lib/modules/$name.ko"
	echo "$name.ko" >>"$modlist"
}
for opt in TCG_TPM:tpm TCG_TIS_CORE:tpm_tis_core TCG_TIS:tpm_tis TCG_CRB:tpm_crb; do
	sym=${opt%%:*}
	mod=${opt#*:}
	case "$(grep "^CONFIG_$sym=" "$config" || true)" in
	*=y) say "CONFIG_$sym=y: $mod is built in" ;;
	*=m)
		say "CONFIG_$sym=m: adding $mod"
		add_mod "$mod"
		;;
	*) die "CONFIG_$sym is neither y nor m in $(basename "$config")" ;;
	esac
done

echo "$kpkg $kver" >"$R/etc/guest-kernel"

# ---- archive --------------------------------------------------------------
(cd "$R" && find . | LC_ALL=C sort | "$busybox" cpio -o -H newc -R 0:0 2>/dev/null) |
	gzip -6 >"$WORK/initrd.img"
cp "$vmlinuz" "$WORK/vmlinuz"
mv -f "$WORK/vmlinuz" "$OUT/vmlinuz"
mv -f "$WORK/initrd.img" "$OUT/initrd.img"
{
	echo "kernel=$kpkg"
	echo "kver=$kver"
	echo "inputs=$inputs"
} >"$OUT/stamp"
say "built $OUT (kernel $kver): $(du -ch "$OUT/vmlinuz" "$OUT/initrd.img" | tail -n 1 | cut -f1)"
