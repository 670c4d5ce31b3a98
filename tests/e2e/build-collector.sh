#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the end-to-end tests' OpenTelemetry Collector (tests/e2e/collector,
# collector v0.165.0) into $1. CMake runs it only when the Go sources change;
# Go's module and build caches make a rebuild cheap. Modules come from
# $GOPROXY (default: the public Go module proxy).
set -euo pipefail
out=$1
go=${2:-go}
src=$(cd "$(dirname "$0")/collector" && pwd)

if ! command -v "$go" >/dev/null 2>&1; then
	echo "tgprof: Go not found: the e2e tests need Go >= 1.26 to build their collector" >&2
	exit 1
fi
export GOFLAGS=-mod=mod
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
