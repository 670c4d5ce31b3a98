#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds otelcol-tgprof, tgprof's collector distribution (collector/,
# collector core v0.165.0), into OUT. The tests build it through CMake, which
# runs this only when the Go sources change; Go's module and build caches
# make a rebuild cheap. Modules come from $GOPROXY (default: the public Go
# module proxy). The image: collector/Dockerfile.
#
#   collector/build.sh OUT [GO]
set -euo pipefail
out=$1
go=${2:-go}
src=$(cd "$(dirname "$0")" && pwd)

if ! command -v "$go" >/dev/null 2>&1; then
	echo "tgprof: Go not found: otelcol-tgprof needs Go >= 1.26" >&2
	exit 1
fi
# go.mod and go.sum are complete: a build never changes them.
export GOFLAGS=-mod=readonly
export GOPROXY=${GOPROXY:-https://proxy.golang.org,direct}
# A build environment without HOME (CI, sudo -i) still needs Go's caches.
if [ -z "${HOME:-}" ] && [ -z "${GOCACHE:-}" ]; then
	export GOCACHE="$(dirname "$out")/go-cache"
	export GOMODCACHE="$(dirname "$out")/go-mod"
fi
mkdir -p "$(dirname "$out")"
cd "$src"
# -buildvcs=false: the module sits inside tgprof's git tree, and its VCS
# state is of no interest to the binary.
"$go" build -buildvcs=false -trimpath -o "$out.tmp" .
mv -f "$out.tmp" "$out"
