#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""One process per node or two: CPU and RSS of otelcol-tgprof with the
tgprof receiver inside (libtgprof_receiver.so loaded by the collector,
collector/tgprofreceiver) against `tgprof run` plus a collector it sends
to, in the same run, on the same load.

Both profile the whole host at once with the DaemonSet's settings (19 Hz,
5 s intervals; HZ to change it) while bench/load/host_load.sh keeps ~500
processes busy (SCALE). Both end at the same loopback OTLP/HTTP sink, which
answers 200 and is not measured:

  A  otelcol-tgprof [tgprof receiver -> otlp_http] -> sink
  B  tgprof run [otlphttp] -> otelcol-tgprof [otlp -> otlp_http] -> sink

After WARMUP seconds (20) it measures SECONDS (120): each process's CPU
(utime + stime from /proc/PID/stat, as a share of one CPU), its VmRSS
sampled once a second (mean, max) and VmHWM; then the samples and requests
each receiver made (their logs' totals).

usage: sudo python3 bench/collector_receiver_compare.py [BUILD] [SECONDS]
           [SCALE] [HZ]
Needs BUILD/collector/otelcol-tgprof (ctest -R e2e/build_collector),
BUILD/tgprof and BUILD/libtgprof_receiver.so.1.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from otlp_sink import Sink, free_port

HERE = os.path.dirname(os.path.abspath(__file__))
LOAD = os.path.join(HERE, "load", "host_load.sh")
TICK = os.sysconf("SC_CLK_TCK")
WARMUP = 20


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime


def status_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def collector_telemetry(logs_json=True):
    return {"logs": {"encoding": "json" if logs_json else "console"},
            "metrics": {"level": "none"}}


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 120
    scale = sys.argv[3] if len(sys.argv) > 3 else "1"
    hz = int(sys.argv[4]) if len(sys.argv) > 4 else 19
    if os.geteuid() != 0:
        sys.exit("collector_receiver_compare: needs root (BPF)")
    otelcol = os.path.join(build, "collector", "otelcol-tgprof")
    tgprof = os.path.join(build, "tgprof")
    plugin = os.path.abspath(os.path.join(build, "libtgprof_receiver.so.1"))
    for p in (otelcol, tgprof, plugin):
        if not os.path.exists(p):
            sys.exit("collector_receiver_compare: %s is missing" % p)
    sink = Sink()
    work = tempfile.mkdtemp(prefix="tgprof-collector-bench-")
    relay_http = free_port()
    receiver = {"sampling_frequency_hz": hz, "report_interval": "5s",
                "host_name": "bench"}
    exporter = {"compression": "gzip", "sending_queue": {"queue_size": 24}}
    configs = {
        "a-collector": {
            "receivers": {"tgprof": dict(receiver, library=plugin)},
            "exporters": {"otlp_http": dict(exporter, endpoint=sink.url)},
            "service": {"telemetry": collector_telemetry(),
                        "pipelines": {"profiles": {
                            "receivers": ["tgprof"],
                            "exporters": ["otlp_http"]}}}},
        "b-collector": {
            "receivers": {"otlp": {"protocols": {"http": {
                "endpoint": "127.0.0.1:%d" % relay_http}}}},
            "exporters": {"otlp_http": dict(exporter, endpoint=sink.url)},
            "service": {"telemetry": collector_telemetry(),
                        "pipelines": {"profiles": {
                            "receivers": ["otlp"],
                            "exporters": ["otlp_http"]}}}},
        "b-tgprof": {
            "receivers": {"tgprof": receiver},
            "exporters": {"otlphttp": dict(
                exporter, endpoint="http://127.0.0.1:%d" % relay_http)},
            "service": {"telemetry": {"logs": {"encoding": "json"}},
                        "pipelines": {"profiles": {
                            "receivers": ["tgprof"],
                            "exporters": ["otlphttp"]}}}},
    }
    paths = {}
    for name, cfg in configs.items():
        paths[name] = os.path.join(work, name + ".yaml")
        with open(paths[name], "w") as f:
            json.dump(cfg, f)
    argv = {
        "a-collector": [otelcol, "--config=file:" + paths["a-collector"],
                        "--feature-gates=service.profilesSupport"],
        "b-collector": [otelcol, "--config=file:" + paths["b-collector"],
                        "--feature-gates=service.profilesSupport"],
        "b-tgprof": [tgprof, "run", "--config", paths["b-tgprof"]],
    }
    load_dir = os.path.join(work, "load")
    subprocess.run(["bash", LOAD, "start", load_dir, scale], check=True)
    procs, logs = {}, {}
    try:
        for name in ("b-collector", "a-collector", "b-tgprof"):
            logs[name] = os.path.join(work, name + ".log")
            with open(logs[name], "wb") as f:
                procs[name] = subprocess.Popen(
                    argv[name], stdin=subprocess.DEVNULL, stdout=f,
                    stderr=subprocess.STDOUT)
        time.sleep(WARMUP)
        for name, p in procs.items():
            if p.poll() is not None:
                sys.exit("%s exited:\n%s" % (name, open(logs[name]).read()))
        start = {n: cpu_ticks(p.pid) for n, p in procs.items()}
        rss = {n: [] for n in procs}
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds:
            for n, p in procs.items():
                rss[n].append(status_kib(p.pid, "VmRSS"))
            time.sleep(1)
        elapsed = time.monotonic() - t0
        cpu = {n: (cpu_ticks(p.pid) - start[n]) / TICK
               for n, p in procs.items()}
        hwm = {n: status_kib(p.pid, "VmHWM") for n, p in procs.items()}
    finally:
        # The relay last: tgprof run's last interval goes through it.
        for group in (("b-tgprof", "a-collector"), ("b-collector",)):
            for n in group:
                if n in procs and procs[n].poll() is None:
                    procs[n].send_signal(signal.SIGTERM)
            for n in group:
                try:
                    procs[n].wait(timeout=60)
                except subprocess.TimeoutExpired:
                    procs[n].kill()
                except KeyError:
                    pass
        subprocess.run(["bash", LOAD, "stop", load_dir])

    def totals(name, msg):
        for line in open(logs[name], errors="replace"):
            if line.startswith("{"):
                e = json.loads(line)
                if e.get("msg") == msg:
                    return e
        return {}
    a = totals("a-collector", "tgprof receiver stopped")
    b = totals("b-tgprof", "stopped")
    print("one process per node or two: %d s, whole host at %d Hz, 5 s "
          "intervals, load scale %s, %d CPUs" % (elapsed, hz, scale,
                                                 os.cpu_count()))
    print("%-34s %9s %8s %10s %10s %10s" % ("process", "CPU s", "% CPU",
                                           "RSS mean", "RSS max",
                                           "VmHWM"))

    def row(label, names):
        c = sum(cpu[n] for n in names)
        mean = sum(sum(rss[n]) / len(rss[n]) for n in names) / 1024
        mx = sum(max(rss[n]) for n in names) / 1024
        hw = sum(hwm[n] for n in names) / 1024
        print("%-34s %9.2f %7.2f%% %7.1f MiB %6.1f MiB %6.1f MiB"
              % (label, c, 100 * c / elapsed, mean, mx, hw))
        return c, mean
    ca, ra = row("A otelcol-tgprof (tgprof receiver)", ["a-collector"])
    row("B tgprof run", ["b-tgprof"])
    row("B otelcol-tgprof (otlp relay)", ["b-collector"])
    cb, rb = row("B total", ["b-tgprof", "b-collector"])
    print("A / B: CPU %.2f, RSS mean %.2f" % (ca / cb if cb else 0,
                                             ra / rb if rb else 0))
    print("samples: A %s in %s requests (%s dropped), B %s in %s requests "
          "(%s dropped); sink: %d posts, %.1f MB"
          % (a.get("samples"), a.get("requests"), a.get("dropped"),
             b.get("samples"), b.get("requests"), b.get("dropped"),
             sink.posts, sink.bytes / 1e6))


if __name__ == "__main__":
    main()
