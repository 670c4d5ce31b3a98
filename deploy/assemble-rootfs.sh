#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The runtime root of tgprof's container image, from a finished build:
# the host binary, the receiver plugin, the shared libraries they load
# (found with ldd, copied from this Debian root), the CA bundle, curl for
# the HEALTHCHECK, and the default configuration. Nothing else: no shell,
# no package manager. deploy/Dockerfile copies the result into an empty
# image; deploy/debootstrap-check.sh runs tgprof in it.
#
#   deploy/assemble-rootfs.sh BUILD_DIR ROOTFS_DIR
#
# Layout: /opt/tgprof/{tgprof,libtgprof_receiver.so*} (tgprof looks for
# its plugin next to /proc/self/exe), /usr/bin/tgprof -> /opt/tgprof/tgprof,
# libraries in /usr/lib/<multiarch> with /lib and /lib64 as links (merged
# /usr, as in Debian 12), /etc/tgprof/config.yaml.
set -euo pipefail

die() {
	echo "tgprof assemble-rootfs: $*" >&2
	exit 1
}

[ $# -eq 2 ] || die "usage: $0 BUILD_DIR ROOTFS_DIR"
build=$(readlink -f "$1")
rootfs=$2
src=$(cd "$(dirname "$0")" && pwd)

[ -x "$build/tgprof" ] || die "$build/tgprof is missing: build first"
plugins=("$build"/libtgprof_receiver.so*)
[ -e "${plugins[0]}" ] ||
	die "$build/libtgprof_receiver.so* is missing (CMake target tgprof_receiver)"
curl_bin=$(command -v curl) || die "curl is not installed (deploy/build-stage.sh deps)"
[ -f /etc/ssl/certs/ca-certificates.crt ] ||
	die "no CA bundle: install ca-certificates"
multiarch=$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)

rm -rf "$rootfs"
# proc, sys, dev: mount points, so the root can be mounted read-only first.
mkdir -p "$rootfs"/{opt/tgprof,usr/bin,"usr/lib/$multiarch",etc/tgprof,etc/ssl/certs,tmp,var/lib/tgprof,proc,sys,dev}
chmod 1777 "$rootfs/tmp"
ln -s usr/lib "$rootfs/lib"
ln -s usr/bin "$rootfs/bin"
if [ -d /usr/lib64 ]; then
	mkdir -p "$rootfs/usr/lib64"
	ln -s usr/lib64 "$rootfs/lib64"
fi

# The binaries keep .symtab (tgprof can profile itself); DWARF goes.
install -m 0755 "$build/tgprof" "$rootfs/opt/tgprof/tgprof"
strip --strip-debug "$rootfs/opt/tgprof/tgprof"
for p in "${plugins[@]}"; do
	if [ -L "$p" ]; then
		cp -P "$p" "$rootfs/opt/tgprof/"
	else
		install -m 0755 "$p" "$rootfs/opt/tgprof/"
		strip --strip-debug "$rootfs/opt/tgprof/$(basename "$p")"
	fi
done
ln -s ../../opt/tgprof/tgprof "$rootfs/usr/bin/tgprof"
install -m 0755 "$curl_bin" "$rootfs/usr/bin/curl"

# Every library the binaries load, at the path the loader asks for (the
# soname), copied from the file the link points to.
copy_lib() {
	local path=$1 dest real

	case "$path" in
	/lib64/* | /usr/lib64/*) dest="$rootfs/usr/lib64/$(basename "$path")" ;;
	*) dest="$rootfs/usr/lib/$multiarch/$(basename "$path")" ;;
	esac
	real=$(readlink -f "$path")
	[ -e "$dest" ] || install -m "$(stat -c %a "$real")" "$real" "$dest"
}
for bin in "$build/tgprof" "${plugins[@]}" "$curl_bin"; do
	[ -L "$bin" ] && continue
	ldd "$bin" | awk '
		$2 == "=>" && $3 ~ /^\// { print $3 }
		$1 ~ /^\// { print $1 }' |
		while read -r lib; do copy_lib "$lib"; done
	if ldd "$bin" | grep -q "not found"; then
		die "$bin: a library is missing: $(ldd "$bin" | grep "not found")"
	fi
done
# ld.so.cache spares the loader a search of its default directories.
ldconfig -r "$rootfs"

install -m 0644 /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
install -m 0644 "$src/image/config.yaml" "$rootfs/etc/tgprof/config.yaml"
# The licence travels with the binaries.
install -D -m 0644 "$src/../LICENSE" "$rootfs/usr/share/doc/tgprof/LICENSE"
# Names for the two users the image runs as (getpwuid), and name lookups
# through /etc/hosts and DNS.
cat >"$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/nonexistent
tgprof:x:65532:65532:tgprof:/var/lib/tgprof:/nonexistent
EOF
cat >"$rootfs/etc/group" <<'EOF'
root:x:0:
tgprof:x:65532:
EOF
echo "hosts: files dns" >"$rootfs/etc/nsswitch.conf"

echo "tgprof assemble-rootfs: $rootfs: $(du -sh "$rootfs" | cut -f1)," \
	"$(find "$rootfs" -type f | wc -l) files"
