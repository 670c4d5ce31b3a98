#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Checks tgprof's proto/ against the OpenTelemetry Collector v0.165.0 (pdata
# v1.71.0, pprofile v0.165.0): every field tgprof's .proto files declare has
# the collector's number, cardinality, type and packing, and the request
# files given as arguments (e.g. a `tgprof record` profile.otlp.pb) decode
# and merge with the collector's own code. Needs Go and the module proxy;
# not part of `make test` (proto/README.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
files=(opentelemetry/proto/collector/profiles/v1development/profiles_service.proto)
abs=()
for f in "$@"; do abs+=("$(realpath "$f")"); done

cp -r "$here/wirecheck/." "$work/"
cd "$work"
go mod init tgprof.local/wirecheck >/dev/null 2>&1
go get go.opentelemetry.io/collector/pdata@v1.71.0 \
	go.opentelemetry.io/collector/pdata/pprofile@v0.165.0 >/dev/null 2>&1
go mod tidy >/dev/null 2>&1
echo "modules the collector's pdata uses:"
go list -m all | grep -i 'proto' | sed 's/^/  /'

protoc-c --proto_path="$here" --include_imports \
	--descriptor_set_out=tgprof.pb "${files[@]}"
go run ./descdump tgprof.pb >tgprof.txt
go run ./descdump >collector.txt
# tgprof leaves out what it never writes (EntityRef, ProfilesData) and
# reserves Resource.entity_refs: nothing else may differ.
extra=$(comm -23 tgprof.txt collector.txt | grep -v '^Resource reserved 3-3$' || true)
if [ -n "$extra" ]; then
	echo "proto/ differs from the collector's wire format:" >&2
	echo "$extra" >&2
	exit 1
fi
echo "proto/: $(wc -l <tgprof.txt) fields, all as the collector has them;" \
	"left out: $(comm -13 tgprof.txt collector.txt | cut -d' ' -f1 | tr '\n' ' ')"
if [ ${#abs[@]} -gt 0 ]; then
	go run ./pdatacheck "${abs[@]}"
fi
