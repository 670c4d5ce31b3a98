#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The root filesystem of tgprof's container image (deploy/Dockerfile's
# runtime stage) without a container engine, kept in WORKDIR and brought up
# to date on each call: a Debian 12 (bookworm) root made by debootstrap,
# a copy of it where deploy/build-stage.sh installs the build's packages
# and builds the source tree, as the Dockerfile's build stage does, and the
# runtime root that stage assembles. Prints the runtime root's path last.
#
#   deploy/image-rootfs.sh WORKDIR [SOURCE_DIR]      (as root)
#
# WORKDIR/base       bookworm, minbase; made once
# WORKDIR/build-root the build stage's root; remade when the package
#                    scripts change, else the build in it is incremental
# WORKDIR/build-root/rootfs   the image's root (a runtime stage)
#
# A first call downloads Debian and builds tgprof (minutes: see
# docs/OPERATIONS.md); a call on an unchanged tree takes seconds.
# TGPROF_DEBIAN_MIRROR overrides http://deb.debian.org/debian.
set -euo pipefail

die() {
	echo "tgprof image-rootfs: $*" >&2
	exit 1
}
step() { printf '==> %s\n' "$*" >&2; }

[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: $0 WORKDIR [SOURCE_DIR]"
[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap, chroot, mounts)"
work=$1
src=$(cd "${2:-$(dirname "$0")/..}" && pwd)
mirror=${TGPROF_DEBIAN_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$work"
work=$(cd "$work" && pwd)
base=$work/base
buildroot=$work/build-root
# shellcheck source=deploy/lib/mounts.sh
. "$src/deploy/lib/mounts.sh"
trap unmount_all EXIT

# Mounts a killed run left under DIR, deepest first: nothing of the host's
# /dev or /proc may be under a tree that is about to be removed.
unmount_under() {
	local m
	awk -v d="$1/" 'index($5 "/", d) == 1 { print $5 }' /proc/self/mountinfo |
		sort -r | while read -r m; do umount -l "$m" || exit 1; done ||
		die "cannot unmount what is mounted under $1"
}

# rm -rf DIR, never across a mount point.
remove() {
	local d
	for d in "$@"; do
		[ -e "$d" ] || continue
		unmount_under "$d"
		rm -rf --one-file-system "$d"
	done
}

in_build_root() {
	chroot "$buildroot" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root bash -c "cd /src && $1"
}

if ! command -v debootstrap >/dev/null; then
	step "installing debootstrap"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap
fi

# A stamp file's content is what its directory was made from.
fresh() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }

want_base="bookworm minbase $mirror"
if ! fresh "$work/.base-stamp" "$want_base" || [ ! -x "$base/usr/bin/apt-get" ]; then
	step "debootstrap (bookworm, minbase) into $base"
	remove "$base" "$buildroot" "$work/.base-stamp" "$work/.build-root-stamp"
	debootstrap --variant=minbase bookworm "$base" "$mirror" >&2 ||
		die "debootstrap failed"
	# The sources debian:bookworm-slim has: updates and security too.
	rm -f "$base/etc/apt/sources.list"
	cat >"$base/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	echo "$want_base" >"$work/.base-stamp"
fi

mount_in_build_root() {
	mount_in "$buildroot" /proc
	mount_in "$buildroot" /dev
	# /sys read-only, as a container's: the build reads
	# /sys/kernel/btf/vmlinux when deploy/btf/vmlinux was not provided.
	mount_in "$buildroot" /sys ro
}

[ ! -d "$buildroot" ] || unmount_under "$buildroot"

# The packages: the Dockerfile's first RUN, with the scripts it copies.
want_deps=$(cat "$work/.base-stamp" "$src/cmake/install-deps.sh" \
	"$src/deploy/build-stage.sh" "$src/Makefile" | sha256sum | cut -d' ' -f1)
if ! fresh "$work/.build-root-stamp" "$want_deps"; then
	step "the build stage's packages, in a fresh copy of the root ($buildroot)"
	remove "$buildroot" "$work/.build-root-stamp"
	# Never across a mount point: a killed debootstrap leaves the host's
	# /proc mounted in its root, and copying that fills the disk.
	unmount_under "$base"
	cp -a --one-file-system "$base" "$buildroot"
	cp /etc/resolv.conf "$buildroot/etc/resolv.conf"
	mkdir -p "$buildroot/src/cmake" "$buildroot/src/deploy"
	cp "$src/cmake/install-deps.sh" "$buildroot/src/cmake/"
	cp "$src/deploy/build-stage.sh" "$buildroot/src/deploy/"
	cp "$src/Makefile" "$buildroot/src/"
	mount_in_build_root
	in_build_root 'bash deploy/build-stage.sh deps && rm -rf /var/lib/apt/lists/*' >&2 ||
		die "the build stage's packages"
	echo "$want_deps" >"$work/.build-root-stamp"
fi

# The build context as deploy/Dockerfile.dockerignore leaves it. tar keeps
# the files' times: make's build in /build stays incremental.
step "the build stage: make build in $buildroot/build, the runtime root in $buildroot/rootfs"
remove "$buildroot/src" "$buildroot/tmp/btf"
mkdir -p "$buildroot/src" "$buildroot/tmp/btf"
tar -C "$src" --exclude=./.git --exclude=./build --exclude='./build-*' \
	--exclude=./out --exclude=./tgprof-out --exclude='__pycache__' \
	--exclude=./collector \
	-cf - . | tar -C "$buildroot/src" -xf -
cp -a "$src/deploy/btf/." "$buildroot/tmp/btf/"
[ ${#mounts[@]} -gt 0 ] || mount_in_build_root
in_build_root "TGPROF_BTF=/tmp/btf/vmlinux CMAKE_BUILD_PARALLEL_LEVEL=${TGPROF_JOBS:-2} \
	bash deploy/build-stage.sh build /build /rootfs" >&2 ||
	die "the build stage"
echo "$buildroot/rootfs"
