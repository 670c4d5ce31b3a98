#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What continuous profiling costs: tgprof record's own CPU time and peak RSS
# for a system-wide recording while both cores are busy, at 19 Hz and 99 Hz,
# next to perf record -a -g (+ perf script, which is where perf symbolizes),
# and the BPF sampler's cost per sample from the kernel's BPF statistics.
#
# Usage: sudo bench/record_overhead.sh [BUILD_DIR] [SECONDS]
set -euo pipefail

build=${1:-build}
secs=${2:-30}
tgprof=$build/tgprof
work=$build/fixtures/demo_workload
out=$(mktemp -d /tmp/tgprof-bench-XXXXXX)
trap 'kill $load 2>/dev/null || true; rm -rf "$out"' EXIT

[ -x "$tgprof" ] && [ -x "$work" ] || { echo "build first: make build" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (apt-get install time)" >&2; exit 1; }

# Four busy threads on two cores for the whole run.
"$work" $((secs * 6 + 60)) >/dev/null &
load=$!

calc() { awk "BEGIN { printf \"%.2f\", $* }"; }

field() { # field NAME FILE -> value of "NAME: value" in /usr/bin/time -v output
	sed -n "s/^[[:space:]]*$1: //p" "$2"
}

sysctl -qw kernel.bpf_stats_enabled=1

bpf_cost() { # reads run_time_ns/run_cnt of the sampler program of PID $1
	local pid=$1 id json
	for _ in $(seq 50); do
		id=$(bpftool prog show -j 2>/dev/null | python3 -c '
import json, sys
for p in json.load(sys.stdin):
    if p.get("name") == "sample" and p.get("type") == "perf_event":
        print(p["id"]); break' || true)
		[ -n "$id" ] && break
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.2
	done
	[ -n "$id" ] || return 0
	sleep $((secs - 3))
	json=$(bpftool prog show id "$id" -j)
	python3 -c '
import json, sys
p = json.loads(sys.argv[1])
n = p.get("run_cnt", 0)
print("%d %d" % (p.get("run_time_ns", 0), n))' "$json" >"$out/bpf.$pid"
}

printf '%-28s %10s %10s %10s %12s\n' "run ($secs s, 2 busy cores)" "user s" "sys s" "cpu %" "peak RSS MiB"
for hz in 19 99; do
	/usr/bin/time -v -o "$out/tg.$hz" "$tgprof" record -d "$secs" -F "$hz" \
		-o "$out/tg-$hz" --no-progress --top 0 -q &
	tp=$!
	bpf_cost "$tp" &
	bp=$!
	wait $tp
	wait $bp || true
	u=$(field "User time (seconds)" "$out/tg.$hz")
	s=$(field "System time (seconds)" "$out/tg.$hz")
	rss=$(field "Maximum resident set size (kbytes)" "$out/tg.$hz")
	printf '%-28s %10s %10s %10.2f %12.1f\n' "tgprof record -F $hz" "$u" "$s" \
		"$(calc "($u + $s) * 100 / $secs")" "$(calc "$rss / 1024")"
	eval "tg_cpu_$hz=$(calc "$u + $s")"
	if [ -s "$out/bpf.$tp" ]; then
		read -r ns cnt <"$out/bpf.$tp"
		[ "$cnt" -gt 0 ] && printf '%-28s %s ns per sample over %s samples\n' \
			"  BPF sampler (-F $hz)" "$((ns / cnt))" "$cnt"
	fi

	if command -v perf >/dev/null; then
		/usr/bin/time -v -o "$out/perf.$hz" perf record -q -a -g -F "$hz" \
			-o "$out/perf-$hz.data" -- sleep "$secs" 2>/dev/null
		/usr/bin/time -v -o "$out/perfs.$hz" perf script -i "$out/perf-$hz.data" >/dev/null 2>&1
		u=$(field "User time (seconds)" "$out/perf.$hz")
		s=$(field "System time (seconds)" "$out/perf.$hz")
		u2=$(field "User time (seconds)" "$out/perfs.$hz")
		s2=$(field "System time (seconds)" "$out/perfs.$hz")
		rss=$(field "Maximum resident set size (kbytes)" "$out/perf.$hz")
		rss2=$(field "Maximum resident set size (kbytes)" "$out/perfs.$hz")
		[ "$rss2" -gt "$rss" ] && rss=$rss2
		tot=$(calc "$u + $s + $u2 + $s2")
		printf '%-28s %10.2f %10.2f %10.2f %12.1f\n' "perf record+script -F $hz" \
			"$(calc "$u + $u2")" "$(calc "$s + $s2")" \
			"$(calc "$tot * 100 / $secs")" "$(calc "$rss / 1024")"
		printf '%-28s %.2f\n' "  tgprof/perf CPU ratio" \
			"$(calc "$(eval echo \$tg_cpu_$hz) / $tot")"
	fi
done
sysctl -qw kernel.bpf_stats_enabled=0
