#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""otelcol-tgprof with the tgprof receiver (collector/tgprofreceiver,
libtgprof_receiver.so loaded in the collector): one process per node
instead of `tgprof run` plus a collector.

  tgprof_receiver_in_collector_delivers_to_collector_and_pyroscope
      the node collector (deploy/kubernetes-node-collector's configuration,
      only addresses, the plugin's path and a pid filter overridden)
      profiles a spinning fixture and sends OTLP/HTTP to a second,
      central collector (deploy/kubernetes/config/otel-collector.yaml),
      which writes every request to a file and sends it on to Pyroscope:
      both hold exactly the samples the receiver says it made
  bad_tgprof_key_fails_collector_startup
      a configuration with a key the plugin does not know: the collector
      exits non-zero at startup with the plugin's own message
  collector_without_cap_bpf_fails_at_start
      the node collector without CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN
      (setpriv): the receiver's Start fails, the collector exits non-zero
      with the plugin's reason

usage: test_collector_receiver.py STATE_DIR CASE
environment: TGPROF_COLLECTOR (otelcol-tgprof), TGPROF_RECEIVER_PLUGIN
(libtgprof_receiver.so), TGPROF_FIXTURE_DIR, TGPROF_SOURCE_DIR; Pyroscope
as pyroscope.py finds it. Needs root (BPF); skips (77) without it,
fails when CI=true.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyroscope  # noqa: E402
import test_pyroscope as tp  # noqa: E402
from pyroscope import free_port, skip_or_fail, wait_until  # noqa: E402

COLLECTOR = os.environ.get("TGPROF_COLLECTOR", "")
PLUGIN = os.environ.get("TGPROF_RECEIVER_PLUGIN", "")
SOURCE = os.environ.get("TGPROF_SOURCE_DIR", "")
NODE_CONFIG = os.path.join(SOURCE, "deploy", "kubernetes-node-collector",
                           "config", "otel-collector-node.yaml")
HZ = 19  # the node configuration's frequency


def require_tools():
    if os.geteuid() != 0:
        skip_or_fail("the tgprof receiver needs root (BPF)")
    for name, path in (("TGPROF_COLLECTOR", COLLECTOR),
                       ("TGPROF_RECEIVER_PLUGIN", PLUGIN),
                       ("TGPROF_FIXTURE_DIR", tp.FIXTURES)):
        tp.expect(path and os.path.exists(path), "%s=%r" % (name, path))


def json_samples(path):
    """Samples in a jsonfile exporter's output: one OTLP/JSON request per
    line."""
    if not os.path.exists(path):
        return 0
    n = 0
    for line in tp.text(path).splitlines():
        if not line.startswith("{"):
            continue
        for rp in json.loads(line).get("resourceProfiles", []):
            for sp in rp.get("scopeProfiles", []):
                for p in sp.get("profiles", []):
                    for s in p.get("samples", []):
                        v = s.get("values")
                        n += sum(int(x) for x in v) if v else \
                            len(s.get("timestampsUnixNano", []))
    return n


def node_collector(procs, overrides, name="node-collector"):
    path = os.path.join(procs.workdir, name + "-override.yaml")
    with open(path, "w") as f:
        json.dump(overrides, f)
    env = dict(os.environ, NODE_NAME="collector-receiver-check",
               POD_IP="127.0.0.1")
    return procs.start(name, [COLLECTOR, "--config=file:" + NODE_CONFIG,
                              "--config=file:" + path,
                              "--feature-gates=service.profilesSupport"],
                       env=env)


def tgprof_receiver_in_collector_delivers_to_collector_and_pyroscope(
        py, workdir):
    procs = tp.Procs(workdir)
    sink = os.path.join(workdir, "central.jsonl")

    def with_sink(o):
        o["exporters"]["jsonfile"] = {"path": sink}
        o["service"]["pipelines"]["profiles"]["exporters"] = [
            "pyroscope_otlp", "debug", "jsonfile"]
    try:
        central, url, _ = tp.start_collector(procs, py, with_sink)
        _, pid = procs.fixture("spin_alpha", 120000)
        start = tp.now_ms()
        nport = free_port()
        node = node_collector(procs, {
            "receivers": {"tgprof": {
                "library": PLUGIN, "report_interval": "1s",
                "filter": {"include_pid": [pid]}}},
            "exporters": {"otlp_http": {"endpoint": url}},
            "service": {"telemetry": {
                "logs": {"encoding": "json"},
                "metrics": {"readers": [{"pull": {"exporter": {
                    "prometheus": {"host": "127.0.0.1",
                                   "port": nport}}}}]}}}})

        def enough():
            if node.poll() is not None:
                tp.fail("the node collector exited %d:\n%s"
                        % (node.returncode, tp.text(node.log)))
            return json_samples(sink) >= 40
        wait_until(enough, 120, "40 samples at the central collector")
        # The collector's own receiver metrics count what the plugin gave.
        body = tp.http_get("http://127.0.0.1:%d/metrics" % nport)
        accepted = tp.metric(body, "otelcol_receiver_accepted_profile_samples",
                             receiver="tgprof")
        tp.expect(accepted and accepted > 0, "no "
                  "otelcol_receiver_accepted_profile_samples for tgprof:\n"
                  + body[-3000:])
        node.send_signal(signal.SIGTERM)
        node.wait(timeout=60)
        end = tp.now_ms()
        tp.expect(node.returncode == 0, "the node collector exited %d:\n%s"
                  % (node.returncode, tp.text(node.log)))
        stopped = [e for e in tp.events(node.log)
                   if e.get("msg") == "tgprof receiver stopped"]
        tp.expect(len(stopped) == 1, "no totals in the node collector's "
                  "log:\n" + tp.text(node.log))
        st = stopped[0]
        tp.expect(st["dropped"] == 0 and st["consumed"] == st["requests"]
                  and st["samples"] >= 40, "the receiver lost requests: %s"
                  % st)
        # Every sample the receiver made is at the central collector...
        got = [0]

        def all_there():
            got[0] = json_samples(sink)
            return got[0] >= st["samples"]
        try:
            wait_until(all_there, 60, "every sample at the central collector")
        except AssertionError:
            tp.fail("the central collector got %d samples, the receiver "
                    "made %d" % (got[0], st["samples"]))
        tp.expect(got[0] == st["samples"], "the central collector got %d "
                  "samples, the receiver made %d" % (got[0], st["samples"]))
        # ... and in Pyroscope, with the deployment's labels.
        series = tp.check_pyroscope(
            py, "spin_alpha", {"alpha_spin", "main"}, st["samples"], HZ,
            start, end,
            tp.PYROSCOPE_LABELS | tp.ALLOWLIST_LABELS | tp.SAMPLE_LABELS,
            forbidden={"process_pid", "process_executable_path",
                       "container_id"}, host="collector-receiver-check")
        tp.expect(series[0].get("host_name") == "collector-receiver-check",
                  "host.name is not the node's: %s" % series[0])
    finally:
        procs.close()
    print("PASS: otelcol-tgprof (tgprof receiver) -> OTLP/HTTP -> "
          "otelcol-tgprof -> Pyroscope: %d samples of spin_alpha in %d "
          "requests, all in the second collector and in Pyroscope"
          % (st["samples"], st["requests"]))


def bad_tgprof_key_fails_collector_startup(py, workdir):
    procs = tp.Procs(workdir)
    try:
        node = node_collector(procs, {"receivers": {"tgprof": {
            "library": PLUGIN, "sampling_frequency": 49}}})
        node.wait(timeout=120)
        log = tp.text(node.log)
        tp.expect(node.returncode != 0, "the collector started with an "
                  "unknown key:\n" + log)
        want = ("receivers::tgprof: sampling_frequency: unknown key "
                "(did you mean sampling_frequency_hz?)")
        tp.expect(want in log, "not the plugin's message (%r):\n%s"
                  % (want, log))
    finally:
        procs.close()
    print("PASS: an unknown key stops the collector at startup: " + want)


def collector_without_cap_bpf_fails_at_start(py, workdir):
    procs = tp.Procs(workdir)
    drop = "-bpf,-perfmon,-sys_admin"
    try:
        path = os.path.join(workdir, "override.yaml")
        with open(path, "w") as f:
            json.dump({"receivers": {"tgprof": {"library": PLUGIN}},
                       "service": {"telemetry": {"metrics": {
                           "level": "none"}}}}, f)
        env = dict(os.environ, NODE_NAME="collector-receiver-check",
                   POD_IP="127.0.0.1")
        node = procs.start("node-collector", [
            "setpriv", "--bounding-set=" + drop, "--inh-caps=" + drop,
            COLLECTOR, "--config=file:" + NODE_CONFIG,
            "--config=file:" + path,
            "--feature-gates=service.profilesSupport"], env=env)
        node.wait(timeout=120)
        log = tp.text(node.log)
        tp.expect(node.returncode != 0, "the collector started without "
                  "CAP_BPF:\n" + log)
        want = ('failed to start "tgprof" receiver: tgprof: missing '
                'privilege: CAP_BPF and CAP_PERFMON')
        tp.expect(want in log, "not the plugin's reason (%r):\n%s"
                  % (want, log))
    finally:
        procs.close()
    print("PASS: without CAP_BPF the collector stops at Start: " + want)


CASES = {f.__name__: f for f in (
    tgprof_receiver_in_collector_delivers_to_collector_and_pyroscope,
    bad_tgprof_key_fails_collector_startup,
    collector_without_cap_bpf_fails_at_start,
)}
NEEDS_PYROSCOPE = {
    tgprof_receiver_in_collector_delivers_to_collector_and_pyroscope}


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in CASES:
        print(__doc__)
        return 2
    require_tools()
    case = CASES[sys.argv[2]]
    py = pyroscope.load(sys.argv[1]) if case in NEEDS_PYROSCOPE else None
    with tempfile.TemporaryDirectory(prefix="tgprof-collector-") as d:
        try:
            case(py, d)
        except AssertionError as e:
            print("FAIL:", e)
            for name in ("node-collector.log", "collector.log"):
                path = os.path.join(d, name)
                if os.path.exists(path):
                    print("---- %s (last 3000 chars)\n%s"
                          % (name, tp.text(path)[-3000:]))
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
