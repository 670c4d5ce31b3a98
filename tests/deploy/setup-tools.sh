#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The deploy tests' tools, built or installed once into DIR (the build
# folder's deploy/) and again only when their pins or sources change:
#   DIR/venv                          Python venv: kubernetes-validate, PyYAML
#                                     (tests/deploy/requirements.txt, from PyPI)
#   DIR/bin/kustomize                 kustomize, from the Go module proxy
#   DIR/bin/otelcol-tgprof            the collector the deployment runs
#                                     (collector/, v0.165.0), for `validate`
#
#   setup-tools.sh DIR SOURCE_DIR [GO]
#
# Without Go the Go tools are left out: exit 77 (skip), or 1 when CI=true.
set -euo pipefail

KUSTOMIZE_VERSION=v5.8.2

dir=$1
src=$2
go=${3:-go}
mkdir -p "$dir/bin"
dir=$(cd "$dir" && pwd)

die() {
	echo "tgprof deploy tools: $*" >&2
	exit 1
}

# A stamp holds what a tool was made from; the tool is remade when it
# differs.
fresh() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }

# ---- Python venv
req=$src/tests/deploy/requirements.txt
want=$(sha256sum "$req" | cut -d' ' -f1)
if ! fresh "$dir/venv/.tgprof-stamp" "$want" || [ ! -x "$dir/venv/bin/python3" ]; then
	rm -rf "$dir/venv"
	python3 -m venv "$dir/venv" ||
		die "python3 -m venv failed: install python3-venv (cmake/install-deps.sh does)"
	"$dir/venv/bin/pip" install --disable-pip-version-check --no-cache-dir -q -r "$req" ||
		die "pip could not install $req from PyPI"
	echo "$want" >"$dir/venv/.tgprof-stamp"
fi
echo "venv: $("$dir/venv/bin/kubernetes-validate" --version 2>&1 | tail -1)"

# ---- Go tools
if ! command -v "$go" >/dev/null 2>&1; then
	msg="Go not found: kustomize and the validating collector need Go >= 1.26 (go on PATH or /usr/local/go/bin)"
	if [ "${CI:-}" = true ]; then
		die "$msg (CI=true: these tests must run)"
	fi
	echo "tgprof deploy tools: $msg; skipping" >&2
	exit 77
fi
export GOPROXY=${GOPROXY:-https://proxy.golang.org,direct}
if [ -z "${HOME:-}" ] && [ -z "${GOCACHE:-}" ]; then
	export GOCACHE="$dir/go-cache" GOMODCACHE="$dir/go-mod"
fi

if ! fresh "$dir/bin/.kustomize-stamp" "$KUSTOMIZE_VERSION" || [ ! -x "$dir/bin/kustomize" ]; then
	GOBIN="$dir/bin" "$go" install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" ||
		die "go install kustomize $KUSTOMIZE_VERSION failed"
	echo "$KUSTOMIZE_VERSION" >"$dir/bin/.kustomize-stamp"
fi
echo "kustomize: $("$dir/bin/kustomize" version)"

cv=$src/collector
want=$(cat "$cv/go.mod" "$cv/go.sum" "$cv/build.sh" $(find "$cv" -name '*.go' | sort) |
	sha256sum | cut -d' ' -f1)
if ! fresh "$dir/bin/.otelcol-stamp" "$want" || [ ! -x "$dir/bin/otelcol-tgprof" ]; then
	bash "$cv/build.sh" "$dir/bin/otelcol-tgprof" "$go" ||
		die "building collector/ (otelcol-tgprof) failed"
	echo "$want" >"$dir/bin/.otelcol-stamp"
fi
echo "collector: $("$dir/bin/otelcol-tgprof" --version)"
