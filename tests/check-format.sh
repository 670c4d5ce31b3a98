#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fails when a C source or header differs from what .clang-format makes of it.
set -euo pipefail
clang_format=${1:-clang-format}
cd "$(git rev-parse --show-toplevel 2>/dev/null || pwd)"
mapfile -t files < <(git ls-files -co --exclude-standard -- '*.c' '*.h' |
	grep -v '^build/' | while read -r f; do [ -f "$f" ] && echo "$f"; done)
[ ${#files[@]} -gt 0 ] || { echo "no C files found" >&2; exit 1; }
"$clang_format" --dry-run --Werror "${files[@]}"
echo "checked ${#files[@]} files with $("$clang_format" --version)"
