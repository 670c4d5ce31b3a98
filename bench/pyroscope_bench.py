#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""What tgprof costs Pyroscope and how fast profiles show up there, side by
side in one whole-host run of `tgprof run` (the DaemonSet's settings: 19 Hz,
5 s intervals) with two exporters:

  all      otlphttp straight to Pyroscope A: every attribute tgprof sends
           becomes a label
  default  otlphttp to otelcol-tgprof with deploy/kubernetes's collector
           configuration (pyroscope_otlp, its resource_labels allowlist,
           5 s batching) -> Pyroscope B

Prints the number of series each Pyroscope holds for the host's CPU
profiles after the run, and, for PROBES short-lived processes started
during it, the seconds from a process's first sample to the first query of
each Pyroscope that shows it.

usage: sudo python3 bench/pyroscope_bench.py [BUILD] [SECONDS] [PROBES]
       (build, 300, 5; Pyroscope as tests/pyroscope/pyroscope.py finds it:
       TGPROF_PYROSCOPE, ../shared/tools/pyroscope, PATH)
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "pyroscope"))
import pyroscope  # noqa: E402
from pyroscope import free_port, wait_until  # noqa: E402

CPU = pyroscope.CPU_TYPE
SAMPLE_LABELS = {"thread_id", "thread_name", "cpu_logical_number"}


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    probes = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    shared = os.path.join(SRC, "..", "shared", "tools", "pyroscope")
    if os.path.isdir(shared):
        os.environ.setdefault("TGPROF_PYROSCOPE_DEFAULT",
                              os.path.abspath(shared))
    tgprof = os.path.join(build, "tgprof")
    collector = os.path.join(build, "collector", "otelcol-tgprof")
    spin = os.path.join(build, "fixtures", "spin_alpha")
    for f in (tgprof, collector, spin):
        if not os.access(f, os.X_OK):
            sys.exit("missing %s: make build, then ctest -R "
                     "e2e/build_collector" % f)
    work = tempfile.mkdtemp(prefix="tgprof-pyrobench-")
    procs, pyros = [], []
    try:
        for name in ("all", "default"):
            d = os.path.join(work, name)
            os.makedirs(d)
            pyros.append(pyroscope.Pyroscope.start(d))
        all_py, def_py = pyros
        http, grpc, cmetrics = free_port(), free_port(), free_port()
        override = {
            "receivers": {"otlp": {"protocols": {
                "http": {"endpoint": "127.0.0.1:%d" % http},
                "grpc": {"endpoint": "127.0.0.1:%d" % grpc}}}},
            "exporters": {"pyroscope_otlp": {"endpoint": def_py.url}},
            "service": {
                "telemetry": {"metrics": {"readers": [{"pull": {"exporter": {
                    "prometheus": {"host": "127.0.0.1",
                                   "port": cmetrics}}}}]}},
                # k8s_attributes needs a Kubernetes API server.
                "pipelines": {"profiles": {"processors": []}}}}
        opath = os.path.join(work, "collector-override.yaml")
        with open(opath, "w") as f:
            json.dump(override, f)
        deploy = os.path.join(SRC, "deploy", "kubernetes", "config",
                              "otel-collector.yaml")
        clog = open(os.path.join(work, "collector.log"), "wb")
        procs.append(subprocess.Popen(
            [collector, "--config=file:" + deploy, "--config=file:" + opath,
             "--feature-gates=service.profilesSupport"],
            stdout=clog, stderr=subprocess.STDOUT))
        cfg = {
            "receivers": {"tgprof": {"sampling_frequency_hz": 19,
                                     "report_interval": "5s",
                                     "host_name": "bench-node"}},
            "exporters": {
                "otlphttp/all": {"endpoint": all_py.url,
                                 "compression": "gzip"},
                "otlphttp/collector": {"endpoint": "http://127.0.0.1:%d"
                                       % http, "compression": "gzip"}},
            "service": {"pipelines": {"profiles": {
                "receivers": ["tgprof"],
                "exporters": ["otlphttp/all", "otlphttp/collector"]}},
                "telemetry": {"logs": {"encoding": "json"}}}}
        tpath = os.path.join(work, "tgprof.yaml")
        with open(tpath, "w") as f:
            json.dump(cfg, f)
        tlog = open(os.path.join(work, "tgprof.log"), "wb")
        start_ms = int(time.time() * 1000)
        tg = subprocess.Popen([tgprof, "run", "--config", tpath],
                              stdout=tlog, stderr=subprocess.STDOUT)
        procs.append(tg)
        t_end = time.monotonic() + seconds
        lat = {"all": [], "default": []}
        gap = max(1, seconds // max(1, probes) - 30)
        for i in range(probes):
            name = "pyrobench%d" % i
            exe = os.path.join(work, name)
            shutil.copy(spin, exe)
            t0 = time.time()
            p = subprocess.Popen([exe, "30000"], stdout=subprocess.DEVNULL)
            procs.append(p)
            sel = '{service_name="%s"}' % name
            seen = {}
            lo = int(t0 * 1000) - 1000

            def both():
                for key, py in (("all", all_py), ("default", def_py)):
                    if key not in seen and py.total(
                            sel, lo, int(time.time() * 1000) + 1000) > 0:
                        seen[key] = time.time() - t0
                return len(seen) == 2
            wait_until(both, 90, "probe %s in both Pyroscopes" % name, 0.1)
            p.kill()
            p.wait()
            for k in seen:
                lat[k].append(seen[k])
            print("probe %d: all %.2f s, default %.2f s"
                  % (i, seen["all"], seen["default"]), flush=True)
            if time.monotonic() + gap < t_end:
                time.sleep(gap)
        left = t_end - time.monotonic()
        if left > 0:
            time.sleep(left)
        tg.send_signal(signal.SIGTERM)
        tg.wait(timeout=60)
        end_ms = int(time.time() * 1000)
        # The collector's last batch: 5 s flush.
        time.sleep(8)
        print()
        print("whole host, %d s, 19 Hz, 5 s intervals" % seconds)
        stopped = [json.loads(l) for l in open(tlog.name)
                   if '"stopped"' in l]
        if stopped:
            s = stopped[-1]
            print("tgprof: %d samples, %d processes seen, %d requests, "
                  "%d dropped" % (s["samples"], s["new_processes"],
                                  s["requests"], s["dropped"]))
        for key, py in (("all", all_py), ("default", def_py)):
            series = py.series('{__profile_type__="%s"}' % CPU,
                               start_ms - 1000, end_ms + 10000)
            services = {s.get("service_name") for s in series}
            names = sorted({n for s in series for n in s
                            if not n.startswith("__")})
            print("%-8s %5d series, %4d services, labels: %s"
                  % (key, len(series), len(services), ", ".join(names)))
            # The same profiles with no sample attributes (what a receiver
            # that attaches none would give): the distinct label sets
            # without them.
            bare = {tuple(sorted((n, v) for n, v in s.items()
                                 if n not in SAMPLE_LABELS))
                    for s in series}
            print("%-8s %5d series without sample attributes (%s)"
                  % ("", len(bare), ", ".join(sorted(SAMPLE_LABELS))))
        for key in ("all", "default"):
            v = sorted(lat[key])
            if v:
                print("%-8s sample -> query: median %.2f s, min %.2f, max "
                      "%.2f (%d probes)" % (key, v[len(v) // 2], v[0],
                                            v[-1], len(v)))
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        for py in pyros:
            py.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
