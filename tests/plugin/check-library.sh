#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# What libtgprof_receiver.so shows the dynamic loader (docs/ABI.md).
#   check-library.sh exports LIB   only tgprof_receiver_plugin is exported
#   check-library.sh linkage LIB   SONAME with the ABI major; the system
#                                  libraries linked as shared libraries
#   check-library.sh hygiene LIB   no way to print, exit or take signals:
#                                  stdout, stderr, exit, abort, signal()...
#                                  are not even imported
set -eu
mode=$1
lib=$2

case $mode in
exports)
	exported=$(nm -D --defined-only "$lib" | awk '{ print $NF }' | sort)
	if [ "$exported" != "tgprof_receiver_plugin" ]; then
		echo "$lib exports more than its entry:" >&2
		echo "$exported" >&2
		exit 1
	fi
	;;
linkage)
	dyn=$(objdump -p "$lib")
	soname=$(echo "$dyn" | awk '$1 == "SONAME" { print $2 }')
	if [ "$soname" != "libtgprof_receiver.so.1" ]; then
		echo "SONAME is '$soname', expected libtgprof_receiver.so.1" >&2
		exit 1
	fi
	for want in libbpf.so.1 libelf.so.1 libdw.so.1 libprotobuf-c.so.1 \
		libz.so.1 libc.so.6; do
		if ! echo "$dyn" | awk '$1 == "NEEDED" { print $2 }' |
			grep -qx "$want"; then
			echo "$lib does not link $want dynamically" >&2
			exit 1
		fi
	done
	# libbpf linked in statically would bring its code along, hidden
	# or not: its functions would be defined in the file.
	if nm --defined-only "$lib" 2>/dev/null |
		awk '$3 == "bpf_object__open" { found = 1 } END { exit !found }'; then
		echo "$lib holds a static copy of libbpf" >&2
		exit 1
	fi
	;;
hygiene)
	bad=$(nm -D --undefined-only "$lib" | awk '{ sub(/@.*/, "", $2); print $2 }' |
		grep -xE 'stdout|stderr|printf|vprintf|puts|putchar|perror|__printf_chk|__vprintf_chk|exit|_exit|_Exit|abort|quick_exit|signal|sigaction|sigset|bsd_signal|libbpf_set_print' ||
		true)
	if [ -n "$bad" ]; then
		echo "$lib imports what the plugin must never use:" >&2
		echo "$bad" >&2
		exit 1
	fi
	;;
*)
	echo "usage: check-library.sh exports|linkage|hygiene LIB" >&2
	exit 2
	;;
esac
