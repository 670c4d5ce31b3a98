#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the peer the benchmarks compare tgprof with: the OpenTelemetry eBPF
# profiler (a pinned version from the Go module proxy, memlock.patch
# applied) and sink/, the OTLP profiles receiver that records what it sends.
# Usage: build.sh OUTDIR [GO]. Writes OUTDIR/ebpf-profiler and
# OUTDIR/otlp-sink; does nothing when both exist for this version and patch.
set -euo pipefail
out=$1
go=${2:-go}
here=$(cd "$(dirname "$0")" && pwd)
mod=go.opentelemetry.io/ebpf-profiler
ver=${OTEL_PROFILER_VERSION:-v0.0.202633}

if ! command -v "$go" >/dev/null 2>&1; then
	[ -x /usr/local/go/bin/go ] && go=/usr/local/go/bin/go ||
		{ echo "otel-profiler: Go >= 1.25 not found" >&2; exit 1; }
fi
export GOFLAGS=-mod=mod
export GOPROXY=${GOPROXY:-https://proxy.golang.org,direct}
if [ -z "${HOME:-}" ] && [ -z "${GOCACHE:-}" ]; then
	export GOCACHE="$out/go-cache" GOMODCACHE="$out/go-mod"
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
stamp="$ver $(sha256sum "$here/memlock.patch" "$here"/sink/*.go "$here"/sink/go.* | sha256sum | cut -c1-16)"
if [ -x "$out/ebpf-profiler" ] && [ -x "$out/otlp-sink" ] &&
	[ "$(cat "$out/stamp" 2>/dev/null)" = "$stamp" ]; then
	exit 0
fi

# The module cache is read-only: patch a copy.
dir=$("$go" mod download -json "$mod@$ver" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[ -d "$dir" ] || { echo "otel-profiler: $mod@$ver not downloaded" >&2; exit 1; }
rm -rf "$out/src"
cp -r "$dir" "$out/src"
chmod -R u+w "$out/src"
patch -s -d "$out/src" -p1 <"$here/memlock.patch"
(cd "$out/src" && "$go" build -buildvcs=false -trimpath -o "$out/ebpf-profiler.tmp" .)
mv -f "$out/ebpf-profiler.tmp" "$out/ebpf-profiler"
(cd "$here/sink" && "$go" build -buildvcs=false -trimpath -o "$out/otlp-sink.tmp" .)
mv -f "$out/otlp-sink.tmp" "$out/otlp-sink"
echo "$stamp" >"$out/stamp"
