#!/bin/sh
# Installs, with apt-get, every Debian package vtpm-manager needs to build,
# test and run. Idempotent: packages already present are not fetched again,
# and apt-get update runs only when something is missing.
set -eu

PKGS="build-essential pkg-config clang libssl-dev openssl libtpms-dev libtpms0 xxd \
libtss2-dev libtss2-fapi1 tpm2-tools swtpm swtpm-tools check libseccomp-dev libxen-dev \
qemu-system-x86 python3 python3-cryptography valgrind libclang-rt-dev strace e2fsprogs \
util-linux patch"

# vtpmd drops to this system user (config vtpm_user); created once.
ensure_user() {
	if ! getent passwd vtpm >/dev/null 2>&1; then
		if [ "$(id -u)" -eq 0 ]; then
			useradd --system --no-create-home --home-dir /nonexistent \
				--shell /usr/sbin/nologin vtpm
			echo "install-deps: created system user vtpm"
		else
			sudo useradd --system --no-create-home --home-dir /nonexistent \
				--shell /usr/sbin/nologin vtpm
		fi
	fi
}

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
	ensure_user
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
ensure_user
