#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""tgprof's profiles in a real Grafana Pyroscope (v1.21.1), checked through
Pyroscope's query API against what tgprof says it sent: the fixture's
function names, its service name, the labels, the sample totals.

  collector_delivers_profiles_to_pyroscope    tgprof run -> otelcol-tgprof
      with deploy/kubernetes/config/otel-collector.yaml (only addresses
      overridden, k8s_attributes out of the pipeline) -> Pyroscope
  stock_otlp_exporter_is_refused_by_pyroscope  the same through the stock
      otlp_http exporter: Pyroscope refuses it (why pyroscope_otlp exists;
      fails when an upgrade fixes it, so pyroscope_otlp may go)
  otlphttp_direct_delivers_profiles_to_pyroscope   tgprof run -> Pyroscope
  otlp_grpc_direct_delivers_profiles_to_pyroscope  the same with the otlp
      (gRPC) exporter: Pyroscope takes OTLP/gRPC (h2c) on its HTTP port
  pprof_upload_delivers_profiles_to_pyroscope      tgprof record's
      profile.pb.gz -> /ingest?format=pprof, as docs/OPERATIONS.md says
  refusing_pyroscope_is_counted_and_logged   a Pyroscope that refuses
      every push (label limit): tgprof counts and logs the drops

usage: test_pyroscope.py STATE_DIR CASE
environment: TGPROF_BINARY, TGPROF_COLLECTOR (otelcol-tgprof),
TGPROF_FIXTURE_DIR, TGPROF_SOURCE_DIR; Pyroscope as pyroscope.py finds it.
Needs root (BPF); skips (77) without it or Pyroscope, fails when CI=true.
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyroscope  # noqa: E402
from pyroscope import free_port, skip_or_fail, wait_until  # noqa: E402

TGPROF = os.environ.get("TGPROF_BINARY", "")
COLLECTOR = os.environ.get("TGPROF_COLLECTOR", "")
FIXTURES = os.environ.get("TGPROF_FIXTURE_DIR", "")
SOURCE = os.environ.get("TGPROF_SOURCE_DIR", "")

# Labels Pyroscope may show for tgprof's profiles, as Series returns them
# (dots made underscores). Pyroscope's own:
PYROSCOPE_LABELS = {"__name__", "__period_type__", "__period_unit__",
                    "__profile_type__", "__service_name__", "__type__",
                    "__unit__", "__delta__", "__otel__", "service_name"}
# From tgprof's resource attributes:
RESOURCE_LABELS = {"service_namespace", "host_name",
                   "process_executable_name", "process_executable_path",
                   "process_pid", "container_id"}
# From tgprof's sample attributes (which ones are on by default is the
# receiver's choice):
SAMPLE_LABELS = {"thread_id", "thread_name", "cpu_logical_number"}
# pprof labels of tgprof record's profile.pb.gz, and what /ingest adds:
PPROF_LABELS = {"comm", "thread", "pid", "tid", "cpu", "pyroscope_spy"}
# What pyroscope_otlp's default allowlist lets through of the resource.
ALLOWLIST_LABELS = {"service_namespace", "host_name",
                    "process_executable_name"}


def fail(what):
    raise AssertionError(what)


def expect(cond, what):
    if not cond:
        fail(what)


def require_tools():
    if os.geteuid() != 0:
        skip_or_fail("tgprof needs root (BPF)")
    for name, path in (("TGPROF_BINARY", TGPROF),
                       ("TGPROF_FIXTURE_DIR", FIXTURES)):
        expect(path and os.path.exists(path), "%s=%r" % (name, path))


def now_ms():
    return int(time.time() * 1000)


class Procs:
    """Processes a case started, stopped at its end whatever happens."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.procs = []

    def start(self, name, args, **kw):
        log = os.path.join(self.workdir, name + ".log")
        with open(log, "wb") as f:
            p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=f,
                                 stderr=subprocess.STDOUT, **kw)
        p.log = log
        self.procs.append(p)
        return p

    def fixture(self, name, ms):
        """Starts a spin fixture; returns (process, pid)."""
        p = subprocess.Popen([os.path.join(FIXTURES, name), str(ms)],
                             stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE)
        self.procs.append(p)
        line = p.stdout.readline().decode()
        expect(line.startswith("pid="), "fixture %s said %r" % (name, line))
        return p, int(line.split("=")[1])

    def close(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def text(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def events(path):
    return [json.loads(l) for l in text(path).splitlines()
            if l.startswith("{")]


def http_get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.read().decode()
    except OSError:
        return ""


def metric(body, name, **labels):
    """The sum of @name's samples whose labels include @labels."""
    total, seen = 0.0, False
    for m in re.finditer(r"^%s(?:_total)?(?:\{([^}]*)\})? (\S+)$"
                         % re.escape(name), body, re.M):
        have = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1) or ""))
        if all(re.fullmatch(v, have.get(k, "")) for k, v in labels.items()):
            total += float(m.group(2))
            seen = True
    return total if seen else None


def tgprof_config(endpoint, pid, hz, interval, metrics_port, exporter,
                  host="pyroscope-check"):
    """tgprof run's configuration (YAML, written as JSON): the fixture
    only, one otlphttp exporter named @exporter, host.name @host (each
    test its own, so that its series are its own in the shared
    Pyroscope)."""
    return {
        "receivers": {"tgprof": {
            "sampling_frequency_hz": hz, "report_interval": interval,
            "host_name": host,
            "filter": {"include_pid": [pid]}}},
        "exporters": {exporter: {
            "endpoint": endpoint, "compression": "gzip",
            "retry_on_failure": {"initial_interval": "200ms",
                                 "max_interval": "1s"}}},
        "service": {
            "pipelines": {"profiles": {"receivers": ["tgprof"],
                                       "exporters": [exporter]}},
            "shutdown_timeout": "20s",
            "telemetry": {"logs": {"encoding": "json"},
                          "metrics": {"address":
                                      "127.0.0.1:%d" % metrics_port}}}}


def run_tgprof(procs, cfg, min_samples, min_sent=2):
    """Runs tgprof with @cfg until it has sent @min_sent requests holding
    at least @min_samples samples, stops it with SIGTERM; returns its
    `stopped` totals and the run's window in ms."""
    path = os.path.join(procs.workdir, "tgprof.yaml")
    with open(path, "w") as f:
        json.dump(cfg, f)
    start = now_ms()
    p = procs.start("tgprof", [TGPROF, "run", "--config", path])

    def enough():
        if p.poll() is not None:
            fail("tgprof run exited %d:\n%s" % (p.returncode, text(p.log)))
        st = [e for e in events(p.log) if e["msg"] == "statistics"]
        return st and st[-1]["samples"] >= min_samples and \
            st[-1]["sent"] + st[-1]["dropped"] >= min_sent
    wait_until(enough, 90, "%d samples in %d requests" % (min_samples,
                                                          min_sent))
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=40)
    expect(p.returncode == 0, "tgprof run exited %d:\n%s"
           % (p.returncode, text(p.log)))
    stopped = [e for e in events(p.log) if e["msg"] == "stopped"]
    expect(len(stopped) == 1, text(p.log))
    return stopped[0], start, now_ms(), p


def check_pyroscope(py, service, functions, expected, hz, start, end,
                    allowed, forbidden=(), profile_type=pyroscope.CPU_TYPE,
                    per_sample=None, wait=60, host=None):
    """Pyroscope holds @service's profiles: @expected samples in all,
    @functions among its function names, every label named and in
    @allowed, none in @forbidden. With @host, only the series of that
    host.name count: the tests share one Pyroscope, and its Series call
    answers per block, not per sample time, so an earlier test's series
    of the same service can show up in this test's window."""
    match = 'service_name="%s"' % service
    if host:
        match += ', host_name="%s"' % host
    sel = "{%s}" % match
    # Profiles carry their interval's time, within the run.
    lo, hi = start - 1000, end + 1000
    # A value is samples x period for cpu:nanoseconds, the count for
    # samples:count.
    per = per_sample or 1e9 / hz
    got = [0]

    def complete():
        got[0] = round(py.total(sel, lo, hi, profile_type) / per)
        return got[0] >= expected
    try:
        wait_until(complete, wait, "%d samples of %s in Pyroscope"
                   % (expected, service), interval=0.5)
    except AssertionError:
        fail("Pyroscope has %d samples of %s, tgprof sent %d"
             % (got[0], service, expected))
    expect(got[0] == expected, "Pyroscope has %d samples of %s, tgprof "
           "sent %d" % (got[0], service, expected))
    names = py.functions(sel, lo, hi, profile_type)
    missing = set(functions) - names
    expect(not missing, "functions %s missing from Pyroscope's flame graph "
           "of %s: %s" % (sorted(missing), service, sorted(names)))
    series = py.series('{%s, __profile_type__="%s"}'
                       % (match, profile_type), lo, hi)
    expect(series, "no series for %s" % sel)
    for s in series:
        expect("" not in s, "a label with an empty name: %s" % s)
        expect(s.get("service_name") == service, "service_name: %s" % s)
        extra = set(s) - allowed
        expect(not extra, "labels outside the expected set %s: %s"
               % (sorted(extra), s))
        bad = set(s) & set(forbidden)
        expect(not bad, "labels that must not reach Pyroscope %s: %s"
               % (sorted(bad), s))
    return series


# ---- the collector between tgprof and Pyroscope, as deployed
def start_collector(procs, py, exporter_override=None):
    """otelcol-tgprof with the deployment's configuration file, plus a
    second file that only moves it onto this machine: loopback addresses,
    Pyroscope's URL, no k8s_attributes (it needs a Kubernetes API)."""
    if not COLLECTOR or not os.access(COLLECTOR, os.X_OK):
        skip_or_fail("TGPROF_COLLECTOR=%r is not built (needs Go)"
                     % COLLECTOR)
    deploy = os.path.join(SOURCE, "deploy", "kubernetes", "config",
                          "otel-collector.yaml")
    http, grpc, metrics = free_port(), free_port(), free_port()
    override = {
        "receivers": {"otlp": {"protocols": {
            "http": {"endpoint": "127.0.0.1:%d" % http},
            "grpc": {"endpoint": "127.0.0.1:%d" % grpc}}}},
        "exporters": {"pyroscope_otlp": {"endpoint": py.url}},
        "service": {
            "telemetry": {"metrics": {"readers": [{"pull": {"exporter": {
                "prometheus": {"host": "127.0.0.1", "port": metrics}}}}]}},
            "pipelines": {"profiles": {"processors": []}}}}
    if exporter_override:
        exporter_override(override)
    path = os.path.join(procs.workdir, "collector-override.yaml")
    with open(path, "w") as f:
        json.dump(override, f)
    p = procs.start("collector", [COLLECTOR, "--config=file:" + deploy,
                                  "--config=file:" + path,
                                  "--feature-gates=service.profilesSupport"])
    murl = "http://127.0.0.1:%d/metrics" % metrics

    def up():
        if p.poll() is not None:
            fail("the collector exited %d:\n%s" % (p.returncode,
                                                   text(p.log)))
        return "otelcol_" in http_get(murl)
    wait_until(up, 60, "the collector's metrics")
    return p, "http://127.0.0.1:%d" % http, murl


def collector_delivers_profiles_to_pyroscope(py, workdir):
    procs = Procs(workdir)
    try:
        coll, url, murl = start_collector(procs, py)
        _, pid = procs.fixture("spin_alpha", 120000)
        hz = 19  # the DaemonSet's frequency
        stopped, start, end, tg = run_tgprof(
            procs, tgprof_config(url, pid, hz, "1s", free_port(),
                                 "otlphttp", "via-collector"), 40, 3)
        expect(stopped["dropped"] == 0 and stopped["sent"] ==
               stopped["requests"], "tgprof lost requests: %s" % stopped)
        series = check_pyroscope(
            py, "spin_alpha", {"alpha_spin", "main"}, stopped["samples"], hz,
            start, end,
            PYROSCOPE_LABELS | ALLOWLIST_LABELS | SAMPLE_LABELS,
            forbidden={"process_pid", "process_executable_path",
                       "container_id"}, host="via-collector")
        body = http_get(murl)
        sent = metric(body, "otelcol_exporter_sent_profile_samples",
                      exporter="pyroscope_otlp")
        failed = metric(body, "otelcol_exporter_send_failed_profile_samples",
                        exporter="pyroscope_otlp") or 0
        expect(sent and failed == 0, "collector metrics: sent %s, failed "
               "%s\n%s" % (sent, failed, text(coll.log)[-4000:]))
    finally:
        procs.close()
    print("PASS: tgprof -> otelcol-tgprof (deploy config) -> Pyroscope: "
          "%d samples of spin_alpha, labels %s"
          % (stopped["samples"], sorted(series[0])))


def stock_otlp_exporter_is_refused_by_pyroscope(py, workdir):
    """collector v0.165.0's otlp_http sends resource attributes as string
    table references, which Pyroscope v1.21.1 reads as a label named "":
    it refuses the batch and the collector counts it as failed. When this
    fails, an upgrade fixed it: docs/OPERATIONS.md says what may go."""
    def stock(o):
        o["exporters"] = {"otlp_http/pyroscope": {
            "endpoint": py.url, "retry_on_failure": {"enabled": False}}}
        o["service"]["pipelines"]["profiles"]["exporters"] = [
            "otlp_http/pyroscope"]
    procs = Procs(workdir)
    try:
        coll, url, murl = start_collector(procs, py, stock)
        _, pid = procs.fixture("spin_beta", 60000)
        stopped, start, end, tg = run_tgprof(
            procs, tgprof_config(url, pid, 49, "1s", free_port(),
                                 "otlphttp"), 20, 2)
        # tgprof's side is all well: the collector took every request.
        expect(stopped["dropped"] == 0, "tgprof dropped: %s" % stopped)

        def refused():
            return metric(http_get(murl),
                          "otelcol_exporter_send_failed_profile_samples",
                          exporter="otlp_http/pyroscope")
        wait_until(refused, 30, "the collector to count a failed send")
        expect("HTTP Status Code 400" in text(coll.log),
               "the collector did not log Pyroscope's refusal:\n"
               + text(coll.log)[-4000:])
        sel = '{service_name="spin_beta"}'
        expect(py.total(sel, start - 1000, end + 1000) == 0,
               "Pyroscope took profiles through otlp_http: the stock "
               "exporter works now (see docs/OPERATIONS.md)")
    finally:
        procs.close()
    print("PASS: the stock otlp_http exporter is refused (HTTP 400), "
          "counted in otelcol_exporter_send_failed_profile_samples")


# ---- tgprof straight to Pyroscope
def otlphttp_direct_delivers_profiles_to_pyroscope(py, workdir):
    procs = Procs(workdir)
    try:
        _, pid = procs.fixture("spin_beta", 120000)
        hz = 100
        stopped, start, end, tg = run_tgprof(
            procs, tgprof_config(py.url, pid, hz, "1s", free_port(),
                                 "otlphttp", "direct-http"), 200, 3)
        expect(stopped["dropped"] == 0 and stopped["sent"] ==
               stopped["requests"], "tgprof lost requests: %s" % stopped)
        series = check_pyroscope(
            py, "spin_beta", {"beta_spin", "main"}, stopped["samples"], hz,
            start, end, PYROSCOPE_LABELS | RESOURCE_LABELS | SAMPLE_LABELS,
            host="direct-http")
    finally:
        procs.close()
    print("PASS: tgprof run -> Pyroscope (OTLP/HTTP): %d samples of "
          "spin_beta, labels %s" % (stopped["samples"], sorted(series[0])))


def otlp_grpc_direct_delivers_profiles_to_pyroscope(py, workdir):
    procs = Procs(workdir)
    try:
        _, pid = procs.fixture("spin_alpha", 120000)
        hz = 100
        # http://: h2c with prior knowledge, on Pyroscope's HTTP port.
        stopped, start, end, tg = run_tgprof(
            procs, tgprof_config(py.url, pid, hz, "1s", free_port(),
                                 "otlp", "direct-grpc"), 200, 3)
        expect(stopped["dropped"] == 0 and stopped["sent"] ==
               stopped["requests"], "tgprof lost requests: %s" % stopped)
        series = check_pyroscope(
            py, "spin_alpha", {"alpha_spin", "main"}, stopped["samples"], hz,
            start, end, PYROSCOPE_LABELS | RESOURCE_LABELS | SAMPLE_LABELS,
            host="direct-grpc")
    finally:
        procs.close()
    print("PASS: tgprof run -> Pyroscope (OTLP/gRPC): %d samples of "
          "spin_alpha, labels %s" % (stopped["samples"], sorted(series[0])))


def pprof_upload_delivers_profiles_to_pyroscope(py, workdir):
    procs = Procs(workdir)
    try:
        fx, pid = procs.fixture("spin_alpha", 60000)
        out = os.path.join(workdir, "record")
        start = int(time.time())
        r = subprocess.run([TGPROF, "record", "-p", str(pid), "-d", "3",
                            "-F", "100", "-o", out], capture_output=True,
                           text=True, timeout=120)
        end = int(time.time()) + 1
        expect(r.returncode == 0, "tgprof record: %s%s" % (r.stdout,
                                                           r.stderr))
        # "Top N functions by total samples (of M):"
        m = re.search(r"by total samples \(of (\d+)\)", r.stdout + r.stderr)
        expect(m, "tgprof record printed no total:\n" + r.stdout)
        samples = int(m.group(1))
        # docs/OPERATIONS.md gives users this upload.
        status = py.ingest_pprof(os.path.join(out, "profile.pb.gz"),
                                 "spin_alpha", start, end)
        expect(status == 200, "/ingest?format=pprof answered %d" % status)
        series = check_pyroscope(
            py, "spin_alpha", {"alpha_spin", "main"}, samples, 100,
            start * 1000, end * 1000, PYROSCOPE_LABELS | PPROF_LABELS,
            profile_type="process_cpu:samples:count:cpu:nanoseconds",
            per_sample=1)
    finally:
        procs.close()
    print("PASS: tgprof record -> profile.pb.gz -> /ingest?format=pprof: "
          "%d samples, labels %s" % (samples, sorted(series[0])))


def refusing_pyroscope_is_counted_and_logged(py, workdir):
    """A Pyroscope whose limit refuses every push tgprof sends (5 label
    names per series, fewer than tgprof's profiles carry): each request
    is a permanent drop in tgprof's metrics, and the log says why."""
    state = os.path.join(workdir, "strict")
    os.makedirs(state)
    strict = pyroscope.Pyroscope.start(
        state, ["-validation.max-label-names-per-series=5"])
    procs = Procs(workdir)
    try:
        _, pid = procs.fixture("spin_beta", 60000)
        mport = free_port()
        cfg = tgprof_config(strict.url, pid, 49, "1s", mport,
                            "otlphttp/pyroscope")
        path = os.path.join(workdir, "tgprof.yaml")
        with open(path, "w") as f:
            json.dump(cfg, f)
        p = procs.start("tgprof", [TGPROF, "run", "--config", path])
        murl = "http://127.0.0.1:%d/metrics" % mport

        def dropped():
            if p.poll() is not None:
                fail("tgprof run exited:\n" + text(p.log))
            return metric(http_get(murl), "tgprof_export_dropped_total",
                          exporter="otlphttp.*", reason="permanent")
        n = wait_until(dropped, 60, "a permanent drop in tgprof's metrics")
        refusals = [e for e in events(p.log) if e["level"] == "error" and
                    e.get("component", "").startswith("exporters.otlphttp")
                    and "HTTP 400" in e["msg"] and
                    "invalid_argument" in e["msg"]]
        expect(refusals, "tgprof's log does not quote Pyroscope's 400:\n"
               + text(p.log))
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=40)
        stopped = [e for e in events(p.log) if e["msg"] == "stopped"][0]
        expect(stopped["dropped"] >= n and stopped["sent"] == 0,
               "stopped: %s" % stopped)
    finally:
        procs.close()
        strict.stop()
    print("PASS: a refusing Pyroscope: %d permanent drops counted, the log "
          "quotes its 400" % stopped["dropped"])


def off_cpu_profile_reaches_pyroscope_as_its_own_type(py, workdir):
    """tgprof run with off_cpu on, straight to Pyroscope: the waits of
    tests/fixtures/offcpu_waits.c are an off-CPU profile type of their
    own, with their functions, weighing the time waited."""
    procs = Procs(workdir)
    try:
        fx = subprocess.Popen([os.path.join(FIXTURES, "offcpu_waits"),
                               "waits"], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE)
        procs.procs.append(fx)
        line = fx.stdout.readline().decode()
        expect(line.startswith("tgid="), "fixture said %r" % line)
        pid = int(line.split("=")[1])
        cfg = tgprof_config(py.url, pid, 19, "1s", free_port(), "otlphttp",
                            "off-cpu")
        cfg["receivers"]["tgprof"]["off_cpu"] = True
        path = os.path.join(workdir, "tgprof.yaml")
        with open(path, "w") as f:
            json.dump(cfg, f)
        start = now_ms()
        p = procs.start("tgprof", [TGPROF, "run", "--config", path])

        def sent_some():
            if p.poll() is not None:
                fail("tgprof run exited:\n" + text(p.log))
            st = [e for e in events(p.log) if e["msg"] == "statistics"]
            return st and st[-1]["sent"] >= 1
        # The warm-up waits load the fixture's unwind tables; then the
        # measured waits, three rounds of 300 + 200 + 100 ms.
        wait_until(sent_some, 60, "a first request sent")
        os.kill(pid, signal.SIGUSR1)
        out = fx.communicate(timeout=60)[0].decode()
        expect(fx.returncode == 0, "fixture failed: %s" % out)
        waited = sum(int(l.split("=")[1]) for l in out.splitlines()
                     if l.split("=")[0] in ("mutex_ns", "pipe_ns",
                                            "sleep_ns"))
        # Its last interval is sent at shutdown.
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=40)
        expect(p.returncode == 0, "tgprof run exited %d" % p.returncode)
        end = now_ms()
        lo, hi = start - 1000, end + 1000
        box = {}

        def has_type():
            ids = [t for t in py.profile_types(lo, hi) if "off_cpu" in t]
            if ids:
                box["id"] = ids[0]
            return bool(ids)
        wait_until(has_type, 60, "an off_cpu profile type in Pyroscope")
        sel = '{service_name="offcpu_waits", host_name="off-cpu"}'
        names = set()

        def has_waits():
            names.update(py.functions(sel, lo, hi, box["id"]))
            return {"wait_on_mutex", "wait_on_pipe",
                    "wait_in_nanosleep"} <= names
        wait_until(has_waits, 60, "the waits' functions in the off-CPU "
                   "flame graph")
        total = py.total(sel, lo, hi, box["id"])
        expect(total >= waited * 0.9, "Pyroscope has %d ns off CPU, the "
               "fixture waited %d ns in the three functions" % (total,
                                                               waited))
    finally:
        procs.close()
    print("PASS: tgprof run (off_cpu) -> Pyroscope: profile type %s, "
          "%.1f ms off CPU (the measured waits: %.1f ms)"
          % (box.get("id"), total / 1e6, waited / 1e6))


CASES = {f.__name__: f for f in (
    collector_delivers_profiles_to_pyroscope,
    stock_otlp_exporter_is_refused_by_pyroscope,
    otlphttp_direct_delivers_profiles_to_pyroscope,
    otlp_grpc_direct_delivers_profiles_to_pyroscope,
    pprof_upload_delivers_profiles_to_pyroscope,
    refusing_pyroscope_is_counted_and_logged,
    off_cpu_profile_reaches_pyroscope_as_its_own_type,
)}


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in CASES:
        print(__doc__)
        return 2
    require_tools()
    py = pyroscope.load(sys.argv[1])
    with tempfile.TemporaryDirectory(prefix="tgprof-pyroscope-") as d:
        try:
            CASES[sys.argv[2]](py, d)
        except AssertionError as e:
            print("FAIL:", e)
            for name in ("tgprof.log", "collector.log"):
                path = os.path.join(d, name)
                if os.path.exists(path):
                    print("---- %s (last 3000 chars)\n%s"
                          % (name, text(path)[-3000:]))
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
