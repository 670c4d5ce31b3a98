#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fails when a source, build or deployment file of the tree has no
# SPDX-License-Identifier line near its top, or when a file under bpf/ says
# other than the BPF object's licence (its "license" section: Dual BSD/GPL).
set -euo pipefail
cd "$(git rev-parse --show-toplevel 2>/dev/null || pwd)"
[ -f LICENSE ] || { echo "no LICENSE file" >&2; exit 1; }
bad=0
n=0
while read -r f; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	line=$(head -n 3 "$f" | grep -m1 -o 'SPDX-License-Identifier: .*' || true)
	case $f in
	bpf/*) want='(GPL-2.0-only OR BSD-2-Clause)' ;;
	*) want='Apache-2.0' ;;
	esac
	line=${line%% \*/}
	if [ "$line" != "SPDX-License-Identifier: $want" ]; then
		echo "$f: want 'SPDX-License-Identifier: $want' in its first 3 lines" >&2
		bad=1
	fi
done < <(git ls-files -co --exclude-standard -- '*.c' '*.cc' '*.h' '*.go' \
	'*.proto' '*.py' '*.sh' '*.cmake' '*.yaml' '*.yml' '*.map' \
	'CMakeLists.txt' 'Makefile' '*Dockerfile' '.ci/run' | grep -v '^build/')
[ $n -gt 0 ] || { echo "no files found" >&2; exit 1; }
[ $bad -eq 0 ] || exit 1
echo "checked $n files: each names its licence"
