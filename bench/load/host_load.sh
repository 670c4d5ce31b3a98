#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A busy host of about 500 processes for tgprof's memory benchmarks: the
# mix a node runs. Large C++ binaries (node, clang-format with libLLVM), Go
# binaries (a small program built here with the Go toolchain), Debian's
# python3.11, shell loops whose sleeps make a stream of short-lived
# processes, short-lived runs of distinct binaries from /usr/bin, and one
# spinner per CPU so both cores stay busy. Each long-lived process wakes up
# now and then to run a little, so over time every one of them is sampled.
#
# Usage: bench/load/host_load.sh start DIR [SCALE]   (SCALE 1 = ~500 procs)
#        bench/load/host_load.sh stop DIR
# DIR holds the pids and the Go program; stop kills everything start began.
set -euo pipefail

cmd=${1:?start|stop}
dir=${2:?DIR}
scale=${3:-1}

if [ "$cmd" = stop ]; then
	[ -f "$dir/pgid" ] && kill -KILL -- "-$(cat "$dir/pgid")" 2>/dev/null || true
	rm -f "$dir/pgid"
	exit 0
fi
[ "$cmd" = start ] || { echo "host_load: start|stop" >&2; exit 2; }
mkdir -p "$dir"

n() { echo $(($1 * scale)); }

# The Go program: a few goroutines that compute for a moment every second.
if [ ! -x "$dir/goload" ] && command -v go >/dev/null; then
	mkdir -p "$dir/gosrc"
	cat >"$dir/gosrc/main.go" <<'GO'
package main

import (
	"crypto/sha256"
	"time"
)

func work(seed byte) {
	b := []byte{seed}
	for i := 0; i < 2000; i++ {
		s := sha256.Sum256(b)
		b = s[:]
	}
}

func main() {
	for g := 0; g < 4; g++ {
		go func(g byte) {
			for {
				work(g)
				time.Sleep(time.Duration(700+int(g)*150) * time.Millisecond)
			}
		}(byte(g))
	}
	select {}
}
GO
	(cd "$dir/gosrc" && GOFLAGS=-mod=mod go mod init goload >/dev/null 2>&1;
	 cd "$dir/gosrc" && go build -o "$dir/goload" .) ||
		echo "host_load: no Go program (go build failed)" >&2
fi

cat >"$dir/pyload.py" <<'PY'
import random, sys, time
def parse(n):
    return sum(int(c) for c in str(n) * 50)
def tick(k):
    return [parse(i * k) for i in range(200)]
random.seed(int(sys.argv[1]))
while True:
    tick(random.randint(1, 1000))
    time.sleep(random.uniform(0.3, 1.5))
PY

cat >"$dir/nodeload.js" <<'JS'
function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
setInterval(() => fib(20), 700 + Math.floor(Math.random() * 800));
JS

here=$(cd "$(dirname "$0")/.." && pwd)
sample=$here/exec_burst.c
setsid bash -c '
	dir=$1; np=$2; ng=$3; nn=$4; ncf=$5; nsh=$6; sample=$7
	echo $$ >"$dir/pgid"
	for i in $(seq "$(nproc)"); do
		bash -c "while :; do :; done" &
	done
	for i in $(seq "$np"); do python3.11 "$dir/pyload.py" "$i" & done
	if [ -x "$dir/goload" ]; then
		for i in $(seq "$ng"); do "$dir/goload" & done
	fi
	if command -v node >/dev/null; then
		for i in $(seq "$nn"); do node "$dir/nodeload.js" & done
	fi
	for i in $(seq "$ncf"); do
		bash -c "while :; do clang-format <\"$sample\" >/dev/null; sleep 2; done" &
	done
	for i in $(seq "$nsh"); do
		bash -c "while :; do sleep \$((RANDOM % 5 + 1)); done" &
	done
	# Short-lived runs of distinct binaries, ~10 a second.
	bash -c "
		bins=(ls date sort uniq wc md5sum sha1sum gzip xz head tail cut tr od stat id uname env du df)
		while :; do
			for b in \"\${bins[@]}\"; do
				\$b </dev/null >/dev/null 2>&1 &
				sleep 0.1
			done
		done" &
	wait
' host_load "$dir" "$(n 150)" "$(n 40)" "$(n 30)" "$(n 10)" "$(n 120)" \
	"$sample" >/dev/null 2>&1 </dev/null &
for _ in $(seq 100); do [ -s "$dir/pgid" ] && break; sleep 0.1; done
echo "host_load: started (process group $(cat "$dir/pgid"))"
