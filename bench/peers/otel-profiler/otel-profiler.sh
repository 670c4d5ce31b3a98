#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs the OpenTelemetry eBPF profiler, the peer tgprof's benchmarks compare
# with, whole-host, sending OTLP/gRPC to otlp-sink (samples as text in
# RUNDIR/samples.txt) or to a collector of the caller's.
#
#   otel-profiler.sh build    PEERDIR              build once (build.sh)
#   otel-profiler.sh start    PEERDIR RUNDIR [opts] [-- profiler flags]
#       --hz N            samples per second per CPU (default 19)
#       --interval DUR    reporter interval, Go duration (default 1s)
#       --endpoint H:P    send to this collector instead of starting a sink
#       --timeout S       seconds to wait for the eBPF programs to attach (120)
#     Returns once the profiler samples: RUNDIR/profiler.pid, sink.pid,
#     endpoint, profiler.log, sink.log.
#   otel-profiler.sh endpoint RUNDIR               the address it sends to
#   otel-profiler.sh stop     RUNDIR               stop both, wait for them
#
# PEERDIR is where build.sh put ebpf-profiler and otlp-sink (the benchmarks
# use BUILD/bench/peers/otel-profiler). Needs root and tracefs, which start
# mounts when it is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

die() {
	echo "otel-profiler: $*" >&2
	exit 1
}

# Waits up to $2 s for command $1 to succeed; fails early if pid $3 died.
wait_for() {
	local cond=$1 secs=$2 pid=${3:-} end=$((SECONDS + $2))
	while ! eval "$cond"; do
		[ -z "$pid" ] || kill -0 "$pid" 2>/dev/null || return 1
		[ $SECONDS -lt $end ] || return 1
		sleep 0.1
	done
}

stop_pid() {
	local f=$1 pid
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	rm -f "$f"
	kill -0 "$pid" 2>/dev/null || return 0
	kill -INT "$pid" 2>/dev/null || true
	wait_for "! kill -0 $pid 2>/dev/null" 15 || kill -KILL "$pid" 2>/dev/null || true
	wait_for "! kill -0 $pid 2>/dev/null" 5 || true
}

cmd_start() {
	local peer=$1 run=$2 hz=19 interval=1s endpoint= timeout=120 ppid spid
	shift 2
	while [ $# -gt 0 ]; do
		case $1 in
		--hz) hz=$2; shift 2 ;;
		--interval) interval=$2; shift 2 ;;
		--endpoint) endpoint=$2; shift 2 ;;
		--timeout) timeout=$2; shift 2 ;;
		--) shift; break ;;
		*) die "unknown option $1" ;;
		esac
	done
	[ -x "$peer/ebpf-profiler" ] && [ -x "$peer/otlp-sink" ] ||
		"$here/build.sh" "$peer" || die "build failed"
	mkdir -p "$run"
	run=$(cd "$run" && pwd)
	[ ! -f "$run/profiler.pid" ] || die "$run: already running"
	# The profiler attaches to tracepoints through tracefs.
	if [ ! -d /sys/kernel/tracing/events ]; then
		mount -t tracefs nodev /sys/kernel/tracing ||
			die "tracefs is not mounted and cannot be"
	fi
	rm -f "$run/endpoint" "$run/sink.addr"
	if [ -z "$endpoint" ]; then
		: >"$run/samples.txt"
		setsid "$peer/otlp-sink" -listen 127.0.0.1:0 \
			-out "$run/samples.txt" -addr-file "$run/sink.addr" \
			</dev/null >"$run/sink.log" 2>&1 &
		spid=$!
		echo "$spid" >"$run/sink.pid"
		wait_for "[ -s '$run/sink.addr' ]" 30 "$spid" ||
			die "the sink did not start: $(cat "$run/sink.log")"
		endpoint=$(cat "$run/sink.addr")
	fi
	echo "$endpoint" >"$run/endpoint"
	setsid "$peer/ebpf-profiler" -collection-agent "$endpoint" -disable-tls \
		-samples-per-second "$hz" -reporter-interval "$interval" \
		-reporter-jitter 0 "$@" </dev/null >"$run/profiler.log" 2>&1 &
	ppid=$!
	echo "$ppid" >"$run/profiler.pid"
	# Sampling starts when the perf events are attached; the sched monitor
	# is the last program start-up attaches.
	if ! wait_for "grep -q 'Attached sched monitor' '$run/profiler.log'" \
		"$timeout" "$ppid"; then
		tail -n 20 "$run/profiler.log" >&2
		cmd_stop "$run"
		die "the profiler did not start"
	fi
}

cmd_stop() {
	local run=$1
	# The profiler first: the sink takes what it sends until it exits.
	stop_pid "$run/profiler.pid"
	stop_pid "$run/sink.pid"
}

case ${1:-} in
build) "$here/build.sh" "$2" "${3:-go}" ;;
start) shift; cmd_start "$@" ;;
endpoint) cat "$2/endpoint" ;;
stop) cmd_stop "$2" ;;
*) sed -n '3,19p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
