#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Proves deploy/Dockerfile's recipe on a machine without a container engine:
# makes a clean Debian 12 (bookworm) root with debootstrap, runs the image's
# build stage in it (deploy/build-stage.sh, the same script the Dockerfile
# runs), puts the runtime stage's file set (/rootfs of the build) into a
# second, read-only root, and runs tgprof there: `tgprof version`,
# `tgprof validate --config` on the image's and the DaemonSet's
# configurations and, when the host can run BPF, `tgprof run` until
# /healthz answers and an interval reaches the file exporter.
#
# Run by hand, as root, from anywhere (CI runs the image under podman
# instead: tests/deploy/test_container.py). A first run downloads Debian
# and builds tgprof, minutes on two cores; later ones rebuild what changed:
#
#   sudo deploy/debootstrap-check.sh [--reuse-build] [WORKDIR]
#
# WORKDIR (default /var/tmp/tgprof-debootstrap) keeps the bare bookworm
# root (base) and the build stage's (build-root) for the next run
# (deploy/image-rootfs.sh); remove it for new ones. --reuse-build checks
# the last runtime file set again without building. Exit 0 when every step
# passed.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
reuse_build=
if [ "${1:-}" = --reuse-build ]; then
	reuse_build=yes
	shift
fi
work=${1:-/var/tmp/tgprof-debootstrap}
buildroot=$work/build-root
runtime=$work/runtime
# shellcheck source=deploy/lib/mounts.sh
. "$src/deploy/lib/mounts.sh"

step() { printf '\n==> %s\n' "$*"; }
die() {
	echo "debootstrap-check: FAILED: $*" >&2
	exit 1
}

cleanup() {
	unmount_all
	[ -z "${run_pid:-}" ] || kill "$run_pid" 2>/dev/null || true
}
trap cleanup EXIT

[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap, chroot, mounts)"
mkdir -p "$work"

if [ -n "$reuse_build" ] && [ -d "$buildroot/rootfs" ]; then
	step "reusing the build stage's result in $buildroot"
else
	# debootstrap into $base, the build stage in $buildroot (its packages
	# kept, its build incremental): deploy/image-rootfs.sh, which the
	# container tests run too.
	step "the image's root: deploy/image-rootfs.sh $work"
	bash "$src/deploy/image-rootfs.sh" "$work" "$src" || die "the build stage"
fi

step "runtime stage: $runtime, mounted read-only"
rm -rf "$runtime"
cp -a "$buildroot/rootfs" "$runtime"
echo "files: $(cd "$runtime" && find . -type f -o -type l | sort | tr '\n' ' ')"
echo "size: $(du -sh "$runtime" | cut -f1)"
rt=$work/runtime-ro
mkdir -p "$rt"
mount --bind "$runtime" "$rt"
mounts+=("$rt")
mount -o remount,bind,ro "$rt"
# What a container runtime mounts: procfs (the host's PID namespace, like
# hostPID), sysfs read-only, /dev, and the DaemonSet's emptyDir /tmp.
mount_in "$rt" /proc
mount_in "$rt" /sys ro
mount_in "$rt" /dev
mount -t tmpfs -o size=16m tmpfs "$rt/tmp"
mounts+=("$rt/tmp")
cp "$src/deploy/kubernetes/config/tgprof.yaml" "$rt/tmp/daemonset.yaml"

# The runtime root has no shell and no env: the environment is set out here.
chroot_bin=$(command -v chroot)
in_runtime() {
	env -i PATH=/usr/bin NODE_NAME=check-node POD_IP=127.0.0.1 "$chroot_bin" "$rt" "$@"
}

step "tgprof version"
in_runtime /usr/bin/tgprof version || die "tgprof version"
step "tgprof validate --config /etc/tgprof/config.yaml (the image's)"
in_runtime /usr/bin/tgprof validate --config /etc/tgprof/config.yaml ||
	die "validate of the image's configuration"
step "tgprof validate --config (the DaemonSet's ConfigMap, NODE_NAME=check-node, POD_IP=127.0.0.1)"
in_runtime /usr/bin/tgprof validate --config /tmp/daemonset.yaml ||
	die "validate of the DaemonSet's configuration"
step "curl (the HEALTHCHECK's) runs"
in_runtime /usr/bin/curl --version | head -1 || die "curl"

if ! in_runtime /usr/bin/tgprof help 2>&1 | grep -q '^ *run '; then
	echo "this tgprof has no 'run' command: the daemon was not checked"
	echo "debootstrap-check: PASSED (build, runtime file set, version, validate)"
	exit 0
fi
step "tgprof run in the read-only root until /healthz answers and a profile is written"
cat >"$rt/tmp/run.yaml" <<'EOF'
receivers:
  tgprof:
    report_interval: 2s
    host_name: ${env:NODE_NAME}
exporters:
  file:
    directory: /tmp/out
    formats: [pprof, folded]
service:
  pipelines:
    profiles: { receivers: [tgprof], exporters: [file] }
  telemetry:
    metrics: { address: "127.0.0.1:19464" }
EOF
if in_runtime /usr/bin/curl -s -o /dev/null http://127.0.0.1:19464/healthz; then
	die "127.0.0.1:19464 already answers: another tgprof runs; stop it first"
fi
# Not through in_runtime: in the background a function runs in a subshell,
# and $! must be tgprof's own PID (env and chroot exec into it).
env -i PATH=/usr/bin NODE_NAME=check-node "$chroot_bin" "$rt" \
	/usr/bin/tgprof run --config /tmp/run.yaml >"$work/run.log" 2>&1 &
run_pid=$!
healthy=
for _ in $(seq 1 60); do
	if in_runtime /usr/bin/curl -fsS -o /dev/null http://127.0.0.1:19464/healthz 2>/dev/null; then
		healthy=yes
		break
	fi
	kill -0 "$run_pid" 2>/dev/null || break
	sleep 0.5
done
[ -n "$healthy" ] || { cat "$work/run.log"; die "/healthz never answered 200"; }
echo "/healthz: 200"
written=
for _ in $(seq 1 40); do
	if ls "$rt/tmp/out" 2>/dev/null | grep -q folded; then
		written=yes
		break
	fi
	sleep 0.5
done
echo "/metrics (first lines):"
in_runtime /usr/bin/curl -sS http://127.0.0.1:19464/metrics | head -n 8 || true
kill -TERM "$run_pid"
wait "$run_pid" || die "tgprof run did not stop cleanly on SIGTERM"
run_pid=
cat "$work/run.log"
[ -n "$written" ] || die "no interval reached the file exporter"
echo "written: $(ls "$rt/tmp/out" | tr '\n' ' ')"
echo "debootstrap-check: PASSED (build, runtime file set, version, validate, run)"
