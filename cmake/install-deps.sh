#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian packages tgprof's build, run and tests need, and only
# those that are missing. Called by `make run` and `make test`.
set -euo pipefail

packages=(
	build-essential cmake ninja-build pkg-config
	clang llvm bpftool libbpf-dev
	libelf-dev libdw-dev zlib1g-dev liblzma-dev libiberty-dev
	protobuf-c-compiler libprotobuf-c-dev libcurl4-openssl-dev libyaml-dev
	libcriterion-dev clang-format
	util-linux procps python3 openssl
	libclang-rt-14-dev xz-utils
)
# ---- deploy tests (tests/deploy/): a venv for kubernetes-validate and
# PyYAML, systemd-analyze for the unit in deploy/systemd/.
packages+=(python3-venv systemd)
# ---- end of deploy tests
# ---- OTLP/gRPC tests (tests/grpc/): scripted gRPC servers in Python.
packages+=(python3-grpcio)
# ---- end of OTLP/gRPC tests
# ---- JIT tests (tests/bpf/test_perfmap.c): Node.js (--perf-basic-prof) and
# the JVM (jcmd Compiler.perfmap, JDK 17+) write the perf maps they read.
packages+=(nodejs openjdk-17-jdk-headless)
# ---- end of JIT tests
# ---- CPython frames (tests/bpf/test_python.c): Debian's interpreter.
packages+=(python3.11)
# ---- end of CPython frames
if [ "${TGPROF_TEST_DEPS:-0}" = 1 ]; then
	packages+=(linux-perf time)
fi

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "tgprof: installing missing packages: ${missing[*]}"
sudo=
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null; then
		echo "tgprof: packages missing (${missing[*]}); run as root or install them" >&2
		exit 1
	fi
	sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
