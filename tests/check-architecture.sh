#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fails when a source file of the data flow is not named in
# docs/ARCHITECTURE.md, by its path or as `dir/stem.{c,h}`.
set -euo pipefail
cd "$(git rev-parse --show-toplevel 2>/dev/null || pwd)"
doc=docs/ARCHITECTURE.md
bad=0
n=0
while read -r f; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	pair="${f%.*}.{c,h}"
	if ! grep -qF "\`$f\`" "$doc" && ! grep -qF "$f\`" "$doc" &&
		! grep -qF "$pair" "$doc"; then
		echo "$f: not in $doc" >&2
		bad=1
	fi
done < <(git ls-files -co --exclude-standard -- bpf receiver exporter cmd lib \
	include proto collector | grep -E '\.(c|h|go|proto|sh)$' |
	grep -v -e '^build/' -e '_test\.go$')
[ $n -gt 0 ] || { echo "no files found" >&2; exit 1; }
[ $bad -eq 0 ] || exit 1
echo "$doc names all $n source files"
