#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The build stage of tgprof's container image (deploy/Dockerfile), as one
# script so that deploy/debootstrap-check.sh runs exactly what the image
# build runs. Run as root from the top of the source tree in a Debian 12
# (bookworm) root:
#
#   deploy/build-stage.sh deps                 Debian packages: the build's
#                                              (cmake/install-deps.sh) and
#                                              what the runtime root takes
#   deploy/build-stage.sh build BUILD ROOTFS   `make build` into BUILD, then
#                                              the runtime root into ROOTFS
#
# vmlinux.h is generated from a kernel BTF file: deploy/btf/vmlinux when one
# was put there (TGPROF_BTF overrides that path), else the build machine's
# /sys/kernel/btf/vmlinux. Any kernel's BTF will do: the BPF programs are
# CO-RE and relocate against the BTF of the kernel they load on.
set -euo pipefail

die() {
	echo "tgprof build stage: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "run as root (it installs Debian packages)"
[ -f Makefile ] && [ -f cmake/install-deps.sh ] ||
	die "run from the top of tgprof's source tree"

deps() {
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# make runs the README's steps; ca-certificates and curl are copied
	# into the runtime root (TLS to the collector, the HEALTHCHECK).
	apt-get install -y -qq --no-install-recommends make ca-certificates \
		curl binutils
	bash cmake/install-deps.sh
}

build() {
	local build=$1 rootfs=$2 btf=${TGPROF_BTF:-deploy/btf/vmlinux}

	if [ ! -s "$btf" ]; then
		btf=/sys/kernel/btf/vmlinux
	fi
	[ -s "$btf" ] || die "no kernel BTF: neither deploy/btf/vmlinux nor \
/sys/kernel/btf/vmlinux exists here. Copy one in first: \
cp /sys/kernel/btf/vmlinux deploy/btf/vmlinux (from any machine whose \
kernel has CONFIG_DEBUG_INFO_BTF=y; see deploy/btf/README.md)"
	btf=$(readlink -f "$btf")
	echo "tgprof build stage: vmlinux.h from $btf"
	# The README's `make build`; tests and benchmarks are not part of an
	# image.
	make build BUILD="$build" CMAKE_FLAGS="-DCMAKE_BUILD_TYPE=RelWithDebInfo \
-DTGPROF_BUILD_TESTS=OFF -DTGPROF_VMLINUX_BTF=$btf"
	bash deploy/assemble-rootfs.sh "$build" "$rootfs"
}

case "${1:-}" in
deps) deps ;;
build)
	[ $# -eq 3 ] || die "usage: $0 build BUILD_DIR ROOTFS_DIR"
	build "$2" "$3"
	;;
*) die "usage: $0 deps | build BUILD_DIR ROOTFS_DIR" ;;
esac
