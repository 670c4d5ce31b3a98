#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tgprof beside its peers, in one run: tgprof record, the OpenTelemetry eBPF
# profiler (peers/otel-profiler) and perf record -a -g, all three at once,
# whole host, on the same load (both cores kept busy, a Python process, a
# stream of short-lived processes), at each frequency. For each it prints
# CPU seconds (perf: record + script, which is where perf symbolizes), peak
# RSS, samples kept against the theoretical count (HZ x CPUs x seconds:
# every CPU is busy), and the seconds from launch to sampling, with ratios
# to tgprof.
#
# Usage: sudo bench/peers_compare.sh [BUILD_DIR] [SECONDS] [HZ ...]
#        (defaults: build 60 20 99)
# The OpenTelemetry profiler is built on first use (Go, the Go module
# proxy; peers/otel-profiler/README.md says how it is made to run here).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-build}" && pwd)
secs=${2:-60}
shift 2 || shift $#
freqs=${*:-20 99}
tgprof=$build/tgprof
work=$build/fixtures/demo_workload
peer=$build/bench/peers/otel-profiler
otel=$here/peers/otel-profiler/otel-profiler.sh
ncpu=$(nproc)
out=$(mktemp -d /tmp/tgprof-peers-XXXXXX)
pids=()

cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	"$otel" stop "$out/otel" >/dev/null 2>&1 || true
	rm -rf "$out"
}
trap cleanup EXIT

die() {
	echo "peers_compare: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "needs root"
[ -x "$tgprof" ] && [ -x "$work" ] || die "build first: make build"
command -v /usr/bin/time >/dev/null || die "needs GNU time (apt-get install time)"
command -v perf >/dev/null || die "needs perf (apt-get install linux-perf)"
[ -x /usr/bin/python3.11 ] || die "needs Debian's python3.11"

calc() { awk "BEGIN { printf \"%.2f\", $* }"; }
field() { sed -n "s/^[[:space:]]*$1: //p" "$2"; }
now() { date +%s.%N; }

# CPU seconds of a live process (user + system, its reaped children too).
cpu_of() {
	awk -v hz="$(getconf CLK_TCK)" '{
		sub(/^.*\) /, ""); print ($12 + $13 + $14 + $15) / hz }' "/proc/$1/stat"
}
hwm_of() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

# Waits until file $1 holds a line matching $2 (process $3 alive), prints
# the seconds since $4.
wait_line() {
	local f=$1 re=$2 pid=$3 t0=$4
	until grep -q "$re" "$f" 2>/dev/null; do
		kill -0 "$pid" 2>/dev/null || die "process $pid ended before: $re"
		sleep 0.02
	done
	calc "$(now) - $t0"
}

# Waits until process $1 has a perf event open on every CPU.
wait_perf_events() {
	local pid=$1 t0=$2 n
	while :; do
		n=$(find "/proc/$pid/fd" -lname 'anon_inode:*perf_event*' 2>/dev/null |
			wc -l)
		[ "$n" -ge "$ncpu" ] && break
		kill -0 "$pid" 2>/dev/null || die "perf ended before sampling"
		sleep 0.02
	done
	calc "$(now) - $t0"
}

# The load: four busy threads, a recursing Python, ~20 short processes a
# second (each a new PID for every profiler to learn and forget).
"$work" $((secs * 4 + 300)) >/dev/null &
pids+=($!)
/usr/bin/python3.11 -c '
def fib(n): return n if n < 2 else fib(n - 1) + fib(n - 2)
while True: fib(27)' &
pids+=($!)
(while :; do /bin/true; sleep 0.05; done) &
pids+=($!)

[ -x "$peer/ebpf-profiler" ] || "$here/peers/otel-profiler/build.sh" "$peer" >&2 ||
	die "the OpenTelemetry profiler did not build"

printf '%s s per run, %s CPUs busy, Hz: %s\n' "$secs" "$ncpu" "$freqs"
for hz in $freqs; do
	theory=$((hz * ncpu * secs))
	rm -rf "$out/otel"
	# The peer first: it takes seconds to attach, and its window is then
	# counted from the moment the other two start.
	t0=$(now)
	"$otel" start "$peer" "$out/otel" --hz "$hz" --interval 1s >/dev/null ||
		die "the OpenTelemetry profiler did not start"
	otel_start=$(calc "$(now) - $t0")
	opid=$(cat "$out/otel/profiler.pid")
	otel_cpu0=$(cpu_of "$opid")

	t0=$(now)
	/usr/bin/time -v -o "$out/tg.time" "$tgprof" record -d "$secs" -F "$hz" \
		-o "$out/tg" --no-progress --top 0 -v 2>"$out/tg.log" &
	tp=$!
	/usr/bin/time -v -o "$out/perf.time" perf record -q -a -g -F "$hz" \
		-o "$out/perf.data" -- sleep "$secs" 2>"$out/perf.log" &
	pp=$!
	tg_start=$(wait_line "$out/tg.log" "sampling every CPU" "$tp" "$t0")
	# The peer reports once a second, a little after: its samples of
	# tgprof's window are those it reported from 2 s after tgprof began
	# to 2 s after tgprof ended (within a report, +-1 s).
	(sleep 2 && wc -l <"$out/otel/samples.txt" >"$out/otel.mark0") &
	mk=$!
	perf_start=$(wait_perf_events "$(pgrep -P "$pp" -x perf || echo "$pp")" "$t0")
	wait "$tp" || die "tgprof record failed: $(tail -3 "$out/tg.log")"
	wait "$pp" || true
	wait "$mk"
	otel_cpu=$(calc "$(cpu_of "$opid") - $otel_cpu0")
	sleep 2
	otel_rss=$(hwm_of "$opid")
	mark1=$(wc -l <"$out/otel/samples.txt")
	"$otel" stop "$out/otel" >/dev/null 2>&1 || true
	otel_kept=$(sed -n "$(($(cat "$out/otel.mark0") + 1)),${mark1}p" \
		"$out/otel/samples.txt" |
		awk -F'\t' '$1 == "S" { n += $4 } END { print n + 0 }')

	tg_cpu=$(calc "$(field "User time (seconds)" "$out/tg.time") + $(field "System time (seconds)" "$out/tg.time")")
	tg_rss=$(field "Maximum resident set size (kbytes)" "$out/tg.time")
	tg_kept=$(sed -n 's/^tgprof: \([0-9]*\) samples in .*/\1/p' "$out/tg.log")

	/usr/bin/time -v -o "$out/script.time" perf script -i "$out/perf.data" \
		>/dev/null 2>&1 || true
	perf_cpu=$(calc "$(field "User time (seconds)" "$out/perf.time") + $(field "System time (seconds)" "$out/perf.time") + $(field "User time (seconds)" "$out/script.time") + $(field "System time (seconds)" "$out/script.time")")
	perf_rss=$(field "Maximum resident set size (kbytes)" "$out/perf.time")
	r2=$(field "Maximum resident set size (kbytes)" "$out/script.time")
	[ "$r2" -gt "$perf_rss" ] && perf_rss=$r2
	perf_kept=$(perf script -i "$out/perf.data" -F pid 2>/dev/null | wc -l)

	printf '\n%s Hz, %s s, theoretical %s samples\n' "$hz" "$secs" "$theory"
	printf '%-26s %9s %6s %10s %6s %14s %12s %6s\n' "" "CPU s" "x" \
		"peak RSS" "x" "samples kept" "start s" "x"
	row() { # name cpu rss_kb kept start
		printf '%-26s %9.2f %6.2f %7.1f MiB %6.2f %8s %4.1f %% %12.2f %6.1f\n' \
			"$1" "$2" "$(calc "$2 / ($tg_cpu > 0 ? $tg_cpu : 1)")" \
			"$(calc "$3 / 1024")" "$(calc "$3 / $tg_rss")" "$4" \
			"$(calc "$4 * 100 / $theory")" "$5" \
			"$(calc "$5 / ($tg_start > 0 ? $tg_start : 1)")"
	}
	row "tgprof record" "$tg_cpu" "$tg_rss" "$tg_kept" "$tg_start"
	row "OpenTelemetry profiler" "$otel_cpu" "$otel_rss" "$otel_kept" "$otel_start"
	row "perf record -g + script" "$perf_cpu" "$perf_rss" "$perf_kept" "$perf_start"
	rm -rf "$out/tg" "$out/perf.data"
done
