#!/bin/bash
# build-images.sh OUTDIR - the Debian-package half of the real-Xen test
# machine (tests/integration/test_xen_real.sh), cached in OUTDIR:
#
#   OUTDIR/xen                the Xen hypervisor (xen-hypervisor-4.17-amd64,
#                             decompressed: a multiboot1 ELF QEMU's -kernel loads)
#   OUTDIR/vmlinux            the Debian 12 kernel (dom0 and every domU) as the
#                             plain ELF inside its bzImage: Xen and libxc would
#                             otherwise unpack the xz payload at emulated speed
#                             (some 10 s per domain under TCG)
#   OUTDIR/dom0-base.cpio     dom0's initramfs without this project's files:
#                             busybox, xl/xenstored/xenconsoled/xen-init-dom0/
#                             xenstore-* with their libraries (and libgcc_s,
#                             which glibc dlopens for pthread_cancel), the
#                             xenfs/privcmd/evtchn/gntdev modules, and the
#                             domU kernel as /boot/domU/vmlinux
#   OUTDIR/domu-base.cpio     a domU's initramfs without its /init: busybox,
#                             tpm2-tools with its libraries, xen-tpmfront.ko
#   OUTDIR/busybox            a static busybox for the test to make cpio
#                             archives with (the host may have no cpio)
#
# Everything comes from `apt-get download` + `dpkg-deb -x` into a scratch
# directory: nothing is installed and the machine's own boot set-up is not
# touched.  The Xen tools are taken at the version of the host's installed
# libxenmisc4.17 (libxen-dev pulls it in), because the host's libxen*
# libraries go into the images with them and with vtpm_managerd.
#
# The archives are not compressed: unpacking gzip in an emulated guest costs
# more than copying the bytes.
#
# Cache: OUTDIR/stamp names this script's hash and the package versions;
# when it matches, this is a no-op.  Concurrent runs serialise on
# OUTDIR/.lock.  Exit status: 0 built or cached; 77 a package cannot be
# downloaded (no archive): the test skips; anything else is an error.
# What happened goes to stderr.
set -euo pipefail

[ $# = 1 ] || {
	echo "usage: $0 OUTDIR" >&2
	exit 2
}
OUT=$1
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

say() { echo "build-images: $*" >&2; }
die() {
	say "$*"
	exit 1
}

exec 9>"$OUT/.lock"
flock 9

ARCH_LIB=/lib/x86_64-linux-gnu
xenver=$(dpkg-query -W -f='${Version}' libxenmisc4.17 2>/dev/null || true)
[ -n "$xenver" ] || die "libxenmisc4.17 is not installed (scripts/install-deps.sh installs libxen-dev)"
kernel_pkg() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1
}
kpkg=$(kernel_pkg)
inputs=$(cat "$HERE/build-images.sh" | sha256sum | cut -d' ' -f1)
key="inputs=$inputs xen=$xenver kernel=$kpkg tpm2=$(dpkg-query -W -f='${Version}' tpm2-tools 2>/dev/null || true)"
if [ -f "$OUT/stamp" ] && grep -qxF "$key" "$OUT/stamp" &&
	[ -f "$OUT/xen" ] && [ -f "$OUT/vmlinux" ] && [ -f "$OUT/dom0-base.cpio" ] &&
	[ -f "$OUT/domu-base.cpio" ] && [ -x "$OUT/busybox" ]; then
	exit 0
fi

rm -rf "$OUT"/work.*
WORK=$(mktemp -d "$OUT/work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
DL=$WORK/dl
mkdir -p "$DL"
APT_OPTS=(-q -o APT::Sandbox::User=root)

updated=0
apt_update() {
	[ "$updated" = 0 ] || return 0
	updated=1
	say "running apt-get update"
	apt-get update -q >"$WORK/update.log" 2>&1 ||
		say "apt-get update failed: $(tail -n 3 "$WORK/update.log" | tr '\n' ' ')"
}
download() { # PKG[=VERSION]...
	(cd "$DL" && apt-get download "${APT_OPTS[@]}" "$@") >"$WORK/apt.log" 2>&1
}

pkgs=(xen-hypervisor-4.17-amd64="$xenver" xen-utils-4.17="$xenver"
	xenstore-utils="$xenver" busybox-static)
if [ -z "$kpkg" ] || ! download "${pkgs[@]}" "$kpkg"; then
	say "download failed ($(tail -n 2 "$WORK/apt.log" | tr '\n' ' ')); updating the lists"
	apt_update
	kpkg=$(kernel_pkg)
	[ -n "$kpkg" ] || {
		say "apt-cache depends linux-image-amd64 names no kernel package"
		exit 77
	}
	download "${pkgs[@]}" "$kpkg" || {
		say "cannot download ${pkgs[*]} $kpkg: $(tail -n 3 "$WORK/apt.log" | tr '\n' ' ')"
		exit 77
	}
	key="inputs=$inputs xen=$xenver kernel=$kpkg tpm2=$(dpkg-query -W -f='${Version}' tpm2-tools 2>/dev/null || true)"
fi
say "packages: ${pkgs[*]} $kpkg"

X=$WORK/xenpkg
K=$WORK/kernel
BB=$WORK/bb
mkdir -p "$X" "$K" "$BB"
for f in "$DL"/xen-*.deb "$DL"/xenstore-utils_*.deb; do dpkg-deb -x "$f" "$X"; done
dpkg-deb -x "$DL"/busybox-static_*.deb "$BB"
kdeb=$(echo "$DL"/linux-image-*.deb)
dpkg-deb --fsys-tarfile "$kdeb" | tar -t >"$WORK/kfiles"
dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$K" ./boot
vmlinuz=$(find "$K/boot" -maxdepth 1 -name 'vmlinuz-*' | head -n 1)
[ -n "$vmlinuz" ] || die "no /boot/vmlinuz-* in $kpkg"
kver=${vmlinuz##*/vmlinuz-}
busybox=$BB/bin/busybox
[ -x "$busybox" ] || die "no /bin/busybox in busybox-static"
XB=$X/usr/lib/xen-4.17/bin
[ -f "$X/boot/xen-4.17-amd64.gz" ] || die "no /boot/xen-4.17-amd64.gz in xen-hypervisor-4.17-amd64"

# Root skeleton with busybox.
skeleton() { # DIR
	mkdir -p "$1"/{bin,sbin,usr/bin,usr/sbin,lib64,lib/modules,proc,sys,dev,tmp,etc,run,var/log,var/lib,root}
	mkdir -p "$1/$ARCH_LIB"
	cp "$busybox" "$1/bin/busybox"
}

# copy_libs ROOT FILE...: the shared libraries FILEs need (ldd, resolved
# on this host), under their sonames, and the dynamic loader.
copy_libs() {
	local root=$1 f lib
	shift
	for f in "$@"; do
		ldd "$f" | awk '/=> \// { print $3 } /^\t\/.*ld-linux/ { print $1 }'
	done | sort -u | while read -r lib; do
		case "$lib" in
		*/ld-linux-x86-64.so.2) cp -L "$lib" "$root/lib64/ld-linux-x86-64.so.2" ;;
		*) cp -L "$lib" "$root/$ARCH_LIB/$(basename "$lib")" ;;
		esac
	done
}

# add_mod ROOT NAME: the module and those it depends on (its .modinfo's
# depends=), in load order into ROOT/lib/modules/load-order.
add_mod() {
	local root=$1 name=$2 path dep
	! grep -qx "$name.ko" "$root/lib/modules/load-order" 2>/dev/null || return 0
	path=$(grep -E "^\./lib/modules/$kver/.*/${name//[-_]/[-_]}\.ko$" "$WORK/kfiles" | head -n 1)
	[ -n "$path" ] || die "module $name: no .ko in $kpkg (compressed modules are not supported)"
	[ -f "$K/$path" ] || dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$K" "$path"
	for dep in $(tr '\0' '\n' <"$K/$path" | sed -n 's/^depends=//p' | tr ',' ' '); do
		add_mod "$root" "$dep"
	done
	cp "$K/$path" "$root/lib/modules/$name.ko"
	echo "$name.ko" >>"$root/lib/modules/load-order"
}

pack() { # DIR OUTFILE
	(cd "$1" && find . | LC_ALL=C sort | "$busybox" cpio -o -H newc -R 0:0 2>/dev/null) >"$2"
}

# The ELF kernel inside a bzImage: the setup header gives the payload's
# offset and length (Documentation/arch/x86/boot.rst); Debian compresses
# it with xz.
python3 - "$vmlinuz" "$WORK/vmlinux" <<'EOF' || die "cannot extract the ELF kernel from $vmlinuz"
import lzma, struct, sys
d = open(sys.argv[1], 'rb').read()
setup_sects = d[0x1f1] or 4
off, length = struct.unpack_from('<II', d, 0x248)
start = (setup_sects + 1) * 512 + off
# One xz stream; the payload ends with 4 bytes of the unpacked size.
elf = lzma.LZMADecompressor().decompress(d[start:start + length])
if elf[:4] != b'\x7fELF':
    sys.exit('payload is not an ELF file')
open(sys.argv[2], 'wb').write(elf)
EOF

# ---- dom0 ---------------------------------------------------------------
D=$WORK/dom0
skeleton "$D"
mkdir -p "$D"/{var/lib/xen,var/log/xen/console,run/xen,etc/xen,boot/domU,usr/lib/xen-4.17/bin}
for b in xl xenstored xenconsoled xen-init-dom0; do
	[ -x "$XB/$b" ] || die "no $b in xen-utils-4.17"
	cp "$XB/$b" "$D/usr/lib/xen-4.17/bin/$b"
	ln -s "/usr/lib/xen-4.17/bin/$b" "$D/usr/sbin/$b"
done
cp "$X/usr/bin/xenstore" "$D/usr/bin/xenstore"
for t in read write rm ls list exists watch chmod; do
	ln -s xenstore "$D/usr/bin/xenstore-$t"
done
copy_libs "$D" "$XB/xl" "$XB/xenstored" "$XB/xenconsoled" "$XB/xen-init-dom0" "$X/usr/bin/xenstore"
# glibc dlopens libgcc_s for pthread_cancel (xl's and libxenstore's
# threads); ldd does not list it.
cp -L "$ARCH_LIB/libgcc_s.so.1" "$D/$ARCH_LIB/libgcc_s.so.1"
: >"$D/lib/modules/load-order"
for m in xenfs xen-evtchn xen-gntdev xen-gntalloc; do add_mod "$D" "$m"; done
cp "$WORK/vmlinux" "$D/boot/domU/vmlinux"
printf 'root:x:0:0:root:/root:/bin/sh\nvtpm:x:999:999:vtpm:/nonexistent:/bin/false\n' >"$D/etc/passwd"
printf 'root:x:0:\nvtpm:x:999:\n' >"$D/etc/group"
echo "$kpkg $kver; xen $xenver" >"$D/etc/xt-images"
pack "$D" "$WORK/dom0-base.cpio"

# ---- domU ---------------------------------------------------------------
U=$WORK/domu
skeleton "$U"
[ -x /usr/bin/tpm2 ] || die "/usr/bin/tpm2 (tpm2-tools) is not installed on the host"
cp /usr/bin/tpm2 "$U/usr/bin/tpm2"
# The TCTI loader dlopens libtss2-tcti-device; ldd of tpm2 does not show it.
copy_libs "$U" /usr/bin/tpm2 "$ARCH_LIB"/libtss2-tcti-device.so.0
cp -L "$ARCH_LIB"/libtss2-tcti-device.so.0 "$U/$ARCH_LIB/"
: >"$U/lib/modules/load-order"
add_mod "$U" xen-tpmfront
pack "$U" "$WORK/domu-base.cpio"

zcat "$X/boot/xen-4.17-amd64.gz" >"$WORK/xen"
cp "$busybox" "$WORK/busybox"
for f in xen vmlinux dom0-base.cpio domu-base.cpio busybox; do
	mv -f "$WORK/$f" "$OUT/$f"
done
echo "$key" >"$OUT/stamp"
say "built $OUT (xen $xenver, kernel $kver): $(du -ch "$OUT"/xen "$OUT"/vmlinux "$OUT"/*.cpio | tail -n 1 | cut -f1)"
