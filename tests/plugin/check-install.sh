#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# `make install` in miniature: cmake --install into a fresh prefix, then
# checks what landed there and builds a host through tgprof-receiver.pc.
#   check-install.sh BUILD_DIR SOURCE_DIR CC [CFLAGS]
# CFLAGS: what the library was built with that its host must be too (the
# sanitizers of -DTGPROF_SANITIZE, whose runtime must come first).
set -eu
build=$1
src=$2
cc=$3
extra=${4:-}

prefix=$(mktemp -d /tmp/tgprof-install-XXXXXX)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null

fail() {
	echo "install: $*" >&2
	exit 1
}

[ -x "$prefix/bin/tgprof" ] || fail "no bin/tgprof"
[ -f "$prefix/include/tgprof/receiver.h" ] || fail "no include/tgprof/receiver.h"
cmp -s "$prefix/share/doc/tgprof/LICENSE" "$src/LICENSE" ||
	fail "no share/doc/tgprof/LICENSE"
pc=$(find "$prefix" -name tgprof-receiver.pc)
[ -n "$pc" ] || fail "no tgprof-receiver.pc"
libdir=$(dirname "$(dirname "$pc")")
# The library with its symlinks: .so -> .so.1 -> .so.VERSION
[ -L "$libdir/libtgprof_receiver.so" ] || fail "no libtgprof_receiver.so link"
[ "$(readlink "$libdir/libtgprof_receiver.so")" = libtgprof_receiver.so.1 ] ||
	fail "libtgprof_receiver.so does not point at the SONAME"
[ -L "$libdir/libtgprof_receiver.so.1" ] || fail "no libtgprof_receiver.so.1"
[ -f "$(readlink -f "$libdir/libtgprof_receiver.so.1")" ] ||
	fail "libtgprof_receiver.so.1 points nowhere"
# Only what the ABI names: one header.
[ "$(find "$prefix/include" -type f | wc -l)" -eq 1 ] ||
	fail "headers other than tgprof/receiver.h were installed"

export PKG_CONFIG_PATH="$libdir/pkgconfig"
[ "$(pkg-config --variable=prefix tgprof-receiver)" = "$prefix" ] ||
	fail "the .pc names another prefix"
# Word-split and joined again: pkg-config pads with spaces.
# shellcheck disable=SC2046
cflags=$(echo $(pkg-config --cflags tgprof-receiver))
# shellcheck disable=SC2046
libs=$(echo $(pkg-config --libs tgprof-receiver))
[ "$cflags" = "-I$prefix/include" ] || fail "Cflags: $cflags"
case $libs in
*-ltgprof_receiver*) ;;
*) fail "Libs: $libs" ;;
esac

# shellcheck disable=SC2086 # the flags are words
"$cc" -std=c99 -Wall -Werror $extra $cflags -o "$prefix/pc_host" \
	"$src/tests/plugin/pc_host.c" $libs
out=$(LD_LIBRARY_PATH="$libdir" "$prefix/pc_host")
version=$(sed -n 's/^project(tgprof VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
case $out in
"tgprof $version 1."*) ;;
*) fail "the host built through pkg-config says '$out'" ;;
esac
