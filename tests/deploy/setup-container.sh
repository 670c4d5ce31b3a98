#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The container tests' runtime and image, made once into DIR (the build
# folder's deploy/) and brought up to date on each run:
#   Debian's podman, its OCI runtimes (crun, and runc for hosts whose
#   cgroups are mixed v1/v2, which crun refuses), slirp4netns (the pod's own
#   network namespace) and debootstrap, installed with apt-get when missing;
#   DIR/image/build-root/rootfs   the image's root (deploy/image-rootfs.sh:
#                                 debootstrap, then the Dockerfile's build
#                                 stage; incremental after the first run)
#
#   setup-container.sh DIR SOURCE_DIR
#
# Not root: exit 77 (skip), or 1 when CI=true.
set -euo pipefail

dir=$1
src=$2

die() {
	echo "tgprof container setup: $*" >&2
	exit 1
}

if [ "$(id -u)" -ne 0 ]; then
	msg="the container tests need root (apt-get, debootstrap, podman)"
	[ "${CI:-}" = true ] && die "$msg (CI=true: these tests must run)"
	echo "tgprof container setup: $msg; skipping" >&2
	exit 77
fi

packages=(podman crun runc conmon slirp4netns debootstrap)
missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "tgprof container setup: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || die "apt-get update failed"
	apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
		die "apt-get install ${missing[*]} failed"
fi
echo "podman: $(podman --version)"
# Containers of test_container.py runs that were killed (named
# tgprof-deploy-*): none of them may run on beside the next test.
podman ps -a --filter name=^tgprof-deploy- --format '{{.Names}}' |
	while read -r name; do podman rm -f "$name" >/dev/null; done

mkdir -p "$dir"
start=$(date +%s)
rootfs=$(bash "$src/deploy/image-rootfs.sh" "$dir/image" "$src" | tail -1)
[ -x "$rootfs/opt/tgprof/tgprof" ] || die "no image root at $rootfs"
echo "image root: $rootfs ($(du -sh "$rootfs" | cut -f1)), made in $(($(date +%s) - start)) s"
