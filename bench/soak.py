#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""tgprof run's memory over a long run: the soak.

Starts the ~500-process host of bench/load/host_load.sh (large C++ and Go
binaries, python3.11, node, short-lived processes, both cores busy), a
loopback OTLP/HTTP sink that answers 200, and `tgprof run` at the
DaemonSet's settings (19 Hz, 5 s intervals, whole host) exporting to it with
its /metrics on loopback. Every 10 s it reads tgprof's resident memory
(VmRSS, RssAnon, RssFile, and Pss from smaps_rollup: the shared library
pages divided among the processes mapping them) and the byte gauges of
/metrics; it prints a line per minute and, at the end, RSS at 1 minute (the
start of the steady state), 10 minutes and the end, the mean and median of
every reading from 1 minute on, the peak and the cache sizes.

Usage: sudo python3 bench/soak.py [BUILD] [MINUTES] [SCALE]
       (defaults: build 60 1; SCALE multiplies the host load)
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

from otlp_sink import Sink, free_port

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
MINUTES = float(sys.argv[2]) if len(sys.argv) > 2 else 60
SCALE = sys.argv[3] if len(sys.argv) > 3 else "1"
LOAD = os.path.join(HERE, "load", "host_load.sh")


def status_kib(pid):
    got = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"):
                got[k] = int(v.split()[0])
    return got


def pss_kib(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def gauges(url):
    """tgprof_*_bytes gauges and a few counters from /metrics."""
    got = {}
    try:
        with urllib.request.urlopen(url + "/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return got
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        key, _, value = line.rpartition(" ")
        name = key.split("{")[0]
        if name.endswith("_bytes") or name in (
                "tgprof_processes", "tgprof_samples_total",
                "tgprof_samples_lost_total", "tgprof_events_lost_total"):
            got[key] = float(value)
    return got


def host_processes():
    return sum(1 for d in os.listdir("/proc") if d.isdigit())


def main():
    if os.geteuid() != 0:
        sys.exit("soak: needs root")
    tgprof = os.path.join(BUILD, "tgprof")
    if not os.access(tgprof, os.X_OK):
        sys.exit("soak: build first (make build)")
    work = tempfile.mkdtemp(prefix="tgprof-soak-")
    sink = Sink()
    port = free_port()
    metrics = "http://127.0.0.1:%d" % port
    config = os.path.join(work, "tgprof.yaml")
    with open(config, "w") as f:
        f.write("receivers:\n  tgprof:\n    sampling_frequency_hz: 19\n"
                "    report_interval: 5s\n"
                "exporters:\n  otlphttp:\n    endpoint: %s\n"
                "service:\n  pipelines:\n    profiles:\n"
                "      receivers: [tgprof]\n      exporters: [otlphttp]\n"
                "  telemetry:\n    metrics:\n      address: 127.0.0.1:%d\n"
                % (sink.url, port))
    subprocess.run([LOAD, "start", os.path.join(work, "load"), SCALE],
                   check=True)
    err = open(os.path.join(work, "tgprof.log"), "wb")
    proc = subprocess.Popen([tgprof, "run", "--config", config],
                            stdout=subprocess.DEVNULL, stderr=err)
    t0 = time.monotonic()
    marks = {}
    peak = 0
    last = {}
    steady = []  # (VmRSS, RssAnon, RssFile, Pss) of readings from 1 min on
    try:
        print("min  procs   VmRSS  RssAnon  RssFile  (MiB)  posts")
        next_print = 0
        while time.monotonic() - t0 < MINUTES * 60:
            if proc.poll() is not None:
                sys.exit("soak: tgprof exited with %d (log: %s)" %
                         (proc.returncode, err.name))
            st = status_kib(proc.pid)
            peak = max(peak, st["VmRSS"])
            m = (time.monotonic() - t0) / 60
            if m >= 1:
                steady.append((st["VmRSS"], st["RssAnon"], st["RssFile"],
                               pss_kib(proc.pid)))
            for mark in (1, 10, 60, MINUTES):
                if m >= mark and mark not in marks:
                    marks[mark] = st
            if m >= next_print:
                print("%4.0f %6d %7.1f %8.1f %8.1f %12d" % (
                    m, host_processes(), st["VmRSS"] / 1024,
                    st["RssAnon"] / 1024, st["RssFile"] / 1024, sink.posts),
                    flush=True)
                next_print += 1
            last = gauges(metrics) or last
            time.sleep(10)
        marks[MINUTES] = status_kib(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        subprocess.run([LOAD, "stop", os.path.join(work, "load")])
    print("\nRSS (MiB), tgprof run, %s minutes, ~%s x 500 processes:" %
          (MINUTES, SCALE))
    for mark in sorted(marks):
        st = marks[mark]
        print("  at %5.1f min: VmRSS %6.1f  anon %6.1f  file %6.1f" % (
            mark, st["VmRSS"] / 1024, st["RssAnon"] / 1024,
            st["RssFile"] / 1024))
    if steady:
        cols = list(zip(*steady))
        for name, how in (("mean", lambda v: sum(v) / len(v)),
                          ("median", lambda v: sorted(v)[len(v) // 2])):
            print("  %s of %d readings from 1 min on: VmRSS %6.1f  anon "
                  "%6.1f  file %6.1f  Pss %6.1f" % (
                      name, len(steady),
                      *(how(c) / 1024 for c in cols)))
        over = sum(1 for r in steady if r[0] >= 32 * 1024)
        print("  readings at or over 32 MiB: %d of %d" % (over, len(steady)))
    print("  peak VmRSS: %.1f MiB" % (peak / 1024))
    print("  profiles exported: %d (%.1f MB)" % (sink.posts, sink.bytes / 1e6))
    print("gauges at the end:")
    for k in sorted(last):
        print("  %s %.0f" % (k, last[k]))


if __name__ == "__main__":
    main()
