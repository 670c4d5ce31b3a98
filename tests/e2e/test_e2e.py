#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""tgprof's profiles against a real OpenTelemetry Collector (v0.165.0, built
by collector/build.sh): the collector's own JSON output of what its
pipeline received is the proof, not a fake server.

Run through ctest (label e2e): `python3 test_e2e.py TEST_NAME`, with
TGPROF_E2E_COLLECTOR, TGPROF_E2E_SEND, TGPROF_BINARY and TGPROF_FIXTURE_DIR
in the environment. A test that cannot run (no Go to build the collector,
not root) skips with exit code 77, and fails instead when CI=true.
"""
import json
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

COLLECTOR = os.environ.get("TGPROF_E2E_COLLECTOR", "")
SEND = os.environ.get("TGPROF_E2E_SEND", "")
TGPROF = os.environ.get("TGPROF_BINARY", "")
FIXTURES = os.environ.get("TGPROF_FIXTURE_DIR", "")
IN_CI = os.environ.get("CI") == "true"
SKIP = 77

# `tgprof record --endpoint` prints this one line on stderr when it exits.
EXPORT_LINE = re.compile(
    r"tgprof: export: sent (\d+) requests \((\d+) bytes\), "
    r"retries (\d+), dropped (\d+)")


def must_have(cond, why):
    """Skips the test when @cond is false, or fails it when CI=true."""
    if cond:
        return
    if IN_CI:
        raise AssertionError(why + " (CI=true: this test must run)")
    raise unittest.SkipTest(why)


def require_collector():
    must_have(COLLECTOR and os.access(COLLECTOR, os.X_OK),
              "no e2e collector at %r: Go (>= 1.26) was not found when "
              "configuring; install it and re-run cmake" % COLLECTOR)


def require_root():
    must_have(os.geteuid() == 0, "tgprof samples with BPF: needs root")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(pred, timeout, what, interval=0.05):
    """Polls @pred until it is true or @timeout seconds passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.0f s waiting for %s"
                                 % (timeout, what))
        time.sleep(interval)


def group_cpu_seconds(tgid):
    """CPU time the thread group @tgid has used so far (every thread's,
    also while its leader is a zombie): what a sampler at N Hz turns into
    about N samples per second."""
    with open("/proc/%d/stat" % tgid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for_cpu(tgid, seconds, timeout, what):
    """Waits until @tgid has run @seconds more on a CPU: the samples a
    step needs are taken, however loaded the machine is."""
    start = group_cpu_seconds(tgid)
    wait_until(lambda: group_cpu_seconds(tgid) >= start + seconds, timeout,
               what)


# ---- The collector ----

class Collector:
    """otelcol-tgprof on loopback: OTLP/HTTP (and gRPC) receiver, debug exporter
    (detailed) and the jsonfile exporter, one JSON line per request."""

    def __init__(self, workdir, tls=None):
        self.workdir = workdir
        self.port = free_port()
        self.grpc_port = free_port()  # the OTLP receiver's gRPC, plaintext
        self.tls = tls
        self.json_path = os.path.join(workdir, "received.jsonl")
        self.log_path = os.path.join(workdir, "collector.log")
        self.config_path = os.path.join(workdir, "collector.yaml")
        self.proc = None
        self.log = None

    @property
    def url(self):
        scheme = "https" if self.tls else "http"
        return "%s://127.0.0.1:%d" % (scheme, self.port)

    def _write_config(self):
        tls = ""
        if self.tls:
            tls = ("        tls:\n"
                   "          cert_file: %(cert)s\n"
                   "          key_file: %(key)s\n"
                   "          client_ca_file: %(ca)s\n" % self.tls)
        with open(self.config_path, "w") as f:
            f.write(
                "receivers:\n"
                "  otlp:\n"
                "    protocols:\n"
                "      grpc:\n"
                "        endpoint: 127.0.0.1:%d\n"
                "      http:\n"
                "        endpoint: 127.0.0.1:%d\n"
                "%s"
                "exporters:\n"
                "  debug:\n"
                "    verbosity: detailed\n"
                "  jsonfile:\n"
                "    path: %s\n"
                "service:\n"
                "  telemetry:\n"
                "    metrics:\n"
                "      level: none\n"
                "  pipelines:\n"
                "    profiles:\n"
                "      receivers: [otlp]\n"
                "      exporters: [debug, jsonfile]\n"
                % (self.grpc_port, self.port, tls, self.json_path))

    def start(self):
        """Starts it (again, on the same port) and waits until it listens."""
        self._write_config()
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [COLLECTOR, "--config", self.config_path,
             "--feature-gates=service.profilesSupport"],
            stdout=self.log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)

        def listening():
            if self.proc.poll() is not None:
                raise AssertionError("collector exited with %d:\n%s"
                                     % (self.proc.returncode, self.output()))
            try:
                with socket.create_connection(("127.0.0.1", self.port),
                                              timeout=1):
                    return True
            except OSError:
                return False
        wait_until(listening, 60, "the collector to listen")
        return self

    def stop(self):
        if not self.proc:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.log.close()

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def requests(self):
        """Every profiles request the pipeline received, decoded."""
        try:
            with open(self.json_path, "rb") as f:
                data = f.read().decode("utf-8")
        except FileNotFoundError:
            return []
        # One write per line: only a line still being written lacks "\n".
        return [json.loads(l) for l in data.split("\n")[:-1] if l]

    def wait_requests(self, n, timeout=30):
        return wait_until(lambda: len(self.requests()) >= n and
                          self.requests(), timeout,
                          "%d requests at the collector" % n)


# ---- Reading OTLP/JSON as the collector writes it ----

class Request:
    """One ExportProfilesServiceRequest as pprofile.JSONMarshaler wrote it.
    The collector may move resource keys and strings into the dictionary
    (keyStrindex, stringValueStrindex): every lookup resolves both forms."""

    def __init__(self, doc):
        d = doc.get("dictionary", {})
        self.doc = doc
        self.strings = d.get("stringTable", [])
        self.attrs = d.get("attributeTable", [])
        self.functions = d.get("functionTable", [])
        self.locations = d.get("locationTable", [])
        self.mappings = d.get("mappingTable", [])
        self.stacks = d.get("stackTable", [])

    def string(self, i):
        return self.strings[i] if 0 <= i < len(self.strings) else ""

    def key(self, kv):
        return kv["key"] if "key" in kv else self.string(
            kv.get("keyStrindex", 0))

    def value(self, anyv):
        if "stringValue" in anyv:
            return anyv["stringValue"]
        if "stringValueStrindex" in anyv:
            return self.string(anyv["stringValueStrindex"])
        if "intValue" in anyv:
            return int(anyv["intValue"])  # int64 is a JSON string
        for k in ("boolValue", "doubleValue", "bytesValue"):
            if k in anyv:
                return anyv[k]
        return None

    def kvs(self, kvs):
        return {self.key(kv): self.value(kv.get("value", {})) for kv in kvs}

    def indexed_attrs(self, indices):
        return {self.key(self.attrs[i]): self.value(self.attrs[i].get(
            "value", {})) for i in indices}

    def resources(self):
        """(resource attributes, [profiles]) per ResourceProfiles."""
        for rp in self.doc.get("resourceProfiles", []):
            attrs = self.kvs(rp.get("resource", {}).get("attributes", []))
            profiles = [p for sp in rp.get("scopeProfiles", [])
                        for p in sp.get("profiles", [])]
            yield attrs, profiles

    def sample_functions(self, sample):
        """Function names of a sample's stack, leaf first."""
        names = []
        stack = self.stacks[sample.get("stackIndex", 0)]
        for li in stack.get("locationIndices", []):
            for line in self.locations[li].get("lines", []):
                fn = self.functions[line.get("functionIndex", 0)]
                names.append(self.string(fn.get("nameStrindex", 0)))
        return names

    def sample_mappings(self, sample):
        stack = self.stacks[sample.get("stackIndex", 0)]
        for li in stack.get("locationIndices", []):
            mi = self.locations[li].get("mappingIndex", 0)
            if mi:
                yield self.mappings[mi]


def sample_count(sample):
    values = sample.get("values")
    if values:
        return sum(int(v) for v in values)
    return len(sample.get("timestampsUnixNano", []))


def gnu_build_id(path):
    out = subprocess.run(["readelf", "-n", path], check=True,
                         capture_output=True, text=True).stdout
    m = re.search(r"Build ID: ([0-9a-f]+)", out)
    assert m, "no GNU build-id in %s" % path
    return m.group(1)


# ---- A request crafted by hand (protobuf wire format) ----

def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7f
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def f_varint(field, n):
    return varint(field << 3) + varint(n) if n else b""


def f_bytes(field, b):
    return varint(field << 3 | 2) + varint(len(b)) + b


def f_msg(field, *parts):
    return f_bytes(field, b"".join(parts))


def f_str(field, s):
    return f_bytes(field, s.encode()) if s else b""


def f_fixed64(field, n):
    return varint(field << 3 | 1) + struct.pack("<Q", n)


def f_packed(field, ints):
    return f_bytes(field, b"".join(varint(i) for i in ints)) if ints else b""


def any_str(s):
    return f_str(1, s)


def any_int(n):
    return f_varint(3, n)


class Strings:
    def __init__(self):
        self.table = [""]

    def __call__(self, s):
        if s not in self.table:
            self.table.append(s)
        return self.table.index(s)


def crafted_request(pid, build_id, samples=7):
    """An ExportProfilesServiceRequest (opentelemetry-proto v1.10/v1.11 wire
    format) for one process: main -> worker_spin_hot, @samples samples."""
    s = Strings()
    attr_frame = f_varint(1, s("profile.frame.type")) + f_msg(
        2, any_str("native"))
    attr_build = f_varint(1, s("process.executable.build_id.gnu")) + f_msg(
        2, any_str(build_id))
    attr_tid = f_varint(1, s("thread.id")) + f_msg(2, any_int(pid + 1))
    mapping = (f_varint(1, 0x400000) + f_varint(2, 0x500000) +
               f_varint(4, s("/usr/bin/e2e-app")) + f_packed(5, [2]))
    fn_hot = f_varint(1, s("worker_spin_hot")) + f_varint(3, s("e2e.c"))
    fn_main = f_varint(1, s("main")) + f_varint(3, s("e2e.c"))
    loc_hot = (f_varint(1, 1) + f_varint(2, 0x401234) +
               f_msg(3, f_varint(1, 1), f_varint(2, 42)) + f_packed(4, [1]))
    loc_main = (f_varint(1, 1) + f_varint(2, 0x401000) +
                f_msg(3, f_varint(1, 2), f_varint(2, 7)) + f_packed(4, [1]))
    sample_type = f_varint(1, s("samples")) + f_varint(2, s("count"))
    period_type = f_varint(1, s("cpu")) + f_varint(2, s("nanoseconds"))
    now = time.time_ns()
    profile = (f_msg(1, sample_type) +
               f_msg(2, f_varint(1, 1), f_packed(2, [3]),
                     f_packed(4, [samples])) +
               f_fixed64(3, now - 1000000000) + f_varint(4, 1000000000) +
               f_msg(5, period_type) + f_varint(6, 10101010))
    resource = b"".join(
        f_msg(1, f_str(1, k), f_msg(2, v)) for k, v in (
            ("service.name", any_str("e2e-crafted")),
            ("process.pid", any_int(pid)),
            ("process.executable.name", any_str("e2e-app"))))
    resource_profiles = (f_msg(1, resource) +
                         f_msg(2, f_msg(1, f_str(1, "tgprof-e2e")),
                               f_msg(2, profile)))
    dictionary = b"".join([
        f_msg(1), f_msg(1, mapping),
        f_msg(2), f_msg(2, loc_hot), f_msg(2, loc_main),
        f_msg(3), f_msg(3, fn_hot), f_msg(3, fn_main),
        f_msg(4, f_bytes(1, bytes(16)), f_bytes(2, bytes(8))),
        b"".join(f_bytes(5, x.encode()) for x in s.table),
        f_msg(6), f_msg(6, attr_frame), f_msg(6, attr_build),
        f_msg(6, attr_tid),
        f_msg(7), f_msg(7, f_packed(1, [1, 2])),
    ])
    return f_msg(1, resource_profiles) + f_msg(2, dictionary)


# ---- The tests ----

class CollectorE2E(unittest.TestCase):
    def setUp(self):
        require_collector()
        self.workdir = tempfile.mkdtemp(prefix="tgprof-e2e-")
        self.collectors = []
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for c in self.collectors:
            c.stop()
        result = self._outcome.result
        failed = any(t is self for t, _ in result.errors + result.failures)
        if failed:
            for c in self.collectors:
                sys.stderr.write("---- collector output (last 4000 chars)\n"
                                 + c.output()[-4000:] + "\n")
            sys.stderr.write("kept %s\n" % self.workdir)
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def collector(self, **kw):
        c = Collector(self.workdir, **kw)
        self.collectors.append(c)
        return c.start()

    def send(self, endpoint, files, *opts, expect_ok=True):
        res = subprocess.run([SEND, "--endpoint", endpoint, *opts, *files],
                             capture_output=True, text=True, timeout=120)
        if expect_ok:
            self.assertEqual(res.returncode, 0, "otlp_send failed:\n%s%s"
                             % (res.stdout, res.stderr))
        return res

    def spawn_fixture(self, *args):
        """Starts a fixture; returns (process, TGID it reports)."""
        p = subprocess.Popen([os.path.join(FIXTURES, args[0]), *args[1:]],
                             stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        self.procs.append(p)
        deadline = time.monotonic() + 10
        buf = b""
        while b"tgid=" not in buf or not buf.split(b"tgid=")[1].count(b"\n"):
            left = deadline - time.monotonic()
            self.assertGreater(left, 0, "fixture did not report its tgid")
            r, _, _ = select.select([p.stdout], [], [], left)
            if r:
                chunk = os.read(p.stdout.fileno(), 4096)
                self.assertTrue(chunk, "fixture exited early")
                buf += chunk
        return p, int(buf.split(b"tgid=")[1].split(b"\n")[0])

    def record(self, tgid, seconds, endpoint, name, freq=99):
        """Starts `tgprof record --endpoint` on @tgid (the contract the e2e
        tests hold tgprof to)."""
        out = os.path.join(self.workdir, "record-out")
        p = subprocess.Popen(
            [TGPROF, "record", "-p", str(tgid), "-d", str(seconds),
             "-F", str(freq), "-o", out, "--endpoint", endpoint,
             "--interval", "1s", "--service-name", name],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL, text=True)
        self.procs.append(p)
        return p

    def running(self, p):
        """True while @p runs; fails the test with its stderr once not."""
        if p.poll() is None:
            return True
        _, err = p.communicate()
        raise AssertionError("tgprof record exited %d early:\n%s"
                             % (p.returncode, err))

    def finish_record(self, p, timeout):
        out, err = p.communicate(timeout=timeout)
        self.assertEqual(p.returncode, 0, "tgprof record exited %d:\n%s"
                         % (p.returncode, err))
        lines = [l for l in err.splitlines() if EXPORT_LINE.search(l)]
        self.assertEqual(len(lines), 1, "no single export line:\n%s" % err)
        sent, nbytes, retries, dropped = map(
            int, EXPORT_LINE.search(lines[0]).groups())
        return sent, nbytes, retries, dropped, err

    # a. The exporter -> collector path with a real request.
    def test_golden_request_reaches_the_collector(self):
        c = self.collector()
        build_id = "c89b11207f6479603b0d49bf291c092c2b719293"
        path = os.path.join(self.workdir, "crafted.otlp.pb")
        with open(path, "wb") as f:
            f.write(crafted_request(4242, build_id))
        res = self.send(c.url, [path], "--gzip")
        self.assertIn("sent=1 ", res.stdout)

        req = Request(c.wait_requests(1)[0])
        resources = list(req.resources())
        self.assertEqual(len(resources), 1)
        attrs, profiles = resources[0]
        self.assertEqual(attrs.get("process.pid"), 4242)
        self.assertEqual(attrs.get("service.name"), "e2e-crafted")
        samples = [s for p in profiles for s in p.get("samples", [])]
        self.assertEqual(sum(sample_count(s) for s in samples), 7)
        self.assertEqual(req.sample_functions(samples[0]),
                         ["worker_spin_hot", "main"])
        self.assertEqual(
            req.indexed_attrs(next(req.sample_mappings(samples[0])).get(
                "attributeIndices", [])).get(
                    "process.executable.build_id.gnu"), build_id)
        # The debug exporter printed it too.
        wait_until(lambda: "worker_spin_hot" in c.output(), 10,
                   "the debug exporter's output")

    # The same path over TLS, with a client certificate the collector
    # requires; verification is on by default.
    def test_tls_with_client_certificate_reaches_the_collector(self):
        must_have(shutil.which("openssl"), "openssl is not installed")
        tls = make_certs(self.workdir)
        c = self.collector(tls=tls)
        path = os.path.join(self.workdir, "crafted.otlp.pb")
        with open(path, "wb") as f:
            f.write(crafted_request(4343, "ab" * 20))

        res = self.send(c.url, [path], "--gzip", "--ca-file", tls["ca"],
                        "--cert-file", tls["client_cert"],
                        "--key-file", tls["client_key"])
        self.assertIn("sent=1 ", res.stdout)
        attrs, _ = next(Request(c.wait_requests(1)[0]).resources())
        self.assertEqual(attrs.get("process.pid"), 4343)

        # Without the CA the server is not trusted: dropped, not retried.
        res = self.send(c.url, [path], "--cert-file", tls["client_cert"],
                        "--key-file", tls["client_key"],
                        "--retry-max-elapsed-ms", "2000", expect_ok=False)
        self.assertEqual(res.returncode, 1, res.stdout + res.stderr)
        self.assertIn("dropped_permanent=1", res.stdout)
        self.assertIn("certificate", res.stderr)
        # Without a client certificate the collector refuses the handshake.
        res = self.send(c.url, [path], "--ca-file", tls["ca"],
                        "--retry-max-elapsed-ms", "2000", expect_ok=False)
        self.assertEqual(res.returncode, 1, res.stdout + res.stderr)
        self.assertIn("sent=0 ", res.stdout)
        self.assertEqual(len(c.requests()), 1)

    # b. tgprof record --endpoint on the pthread_exit fixture.
    def test_pthread_exit_profiles_arrive_at_the_collector(self):
        require_root()
        c = self.collector()
        fixture, tgid = self.spawn_fixture("pthread_exit_leader", "200",
                                           "3000")
        p = self.record(tgid, 30, c.url, "e2e-pthread-exit", freq=199)
        sent, nbytes, retries, dropped, err = self.finish_record(p, 120)
        fixture.wait(timeout=30)
        self.assertGreaterEqual(sent, 1, err)
        self.assertGreater(nbytes, 0)
        self.assertEqual(dropped, 0, err)

        reqs = [Request(d) for d in c.wait_requests(sent)]
        total, functions, build_ids = 0, set(), set()
        for req in reqs:
            for attrs, profiles in req.resources():
                if attrs.get("process.pid") != tgid:
                    continue
                self.assertEqual(attrs.get("service.name"),
                                 "e2e-pthread-exit")
                for prof in profiles:
                    for s in prof.get("samples", []):
                        total += sample_count(s)
                        functions.update(req.sample_functions(s))
                        for m in req.sample_mappings(s):
                            b = req.indexed_attrs(m.get(
                                "attributeIndices", [])).get(
                                    "process.executable.build_id.gnu")
                            if b:
                                build_ids.add(b)
        self.assertGreater(total, 0, "no samples of TGID %d arrived" % tgid)
        self.assertIn("worker_spin_hot", functions)
        self.assertIn(gnu_build_id(os.path.join(
            FIXTURES, "pthread_exit_leader")), build_ids)

    def test_record_grpc_endpoint_reaches_the_collector(self):
        # tgprof record --endpoint grpc://: OTLP/gRPC (h2c) into the
        # collector's gRPC receiver.
        require_root()
        c = self.collector()
        fixture, tgid = self.spawn_fixture("pthread_exit_leader", "200",
                                           "3000")
        p = self.record(tgid, 30, "grpc://127.0.0.1:%d" % c.grpc_port,
                        "e2e-grpc", freq=199)
        sent, nbytes, retries, dropped, err = self.finish_record(p, 120)
        fixture.wait(timeout=30)
        self.assertGreaterEqual(sent, 1, err)
        self.assertEqual(dropped, 0, err)
        total = 0
        for req in (Request(d) for d in c.wait_requests(sent)):
            for attrs, profiles in req.resources():
                if attrs.get("process.pid") == tgid:
                    self.assertEqual(attrs.get("service.name"), "e2e-grpc")
                    total += sum(sample_count(s) for prof in profiles
                                 for s in prof.get("samples", []))
        self.assertGreater(total, 0, "no samples of TGID %d arrived" % tgid)

    # c. A collector down for 10 s mid-run loses no interval.
    def test_collector_restart_loses_no_interval(self):
        require_root()
        c = self.collector()
        fixture, tgid = self.spawn_fixture("pthread_exit_leader", "200",
                                           "60000")
        p = self.record(tgid, 30, c.url, "e2e-restart", freq=49)
        wait_until(lambda: self.running(p) and len(c.requests()) >= 2, 30,
                   "2 requests at the collector")
        c.stop()
        # The outage under test: tgprof keeps sampling and queues every
        # 1 s interval meanwhile; it lasts while the fixture runs 5 s.
        wait_for_cpu(tgid, 5, 120, "5 s of the fixture's work during the "
                     "outage")
        c.start()
        sent, _, retries, dropped, err = self.finish_record(p, 120)
        fixture.kill()
        self.assertEqual(dropped, 0, err)
        self.assertGreater(retries, 0, "the outage was not noticed:\n" + err)
        self.assertGreaterEqual(sent, 20, err)

        def profiles():
            seen = set()
            for d in c.requests():
                req = Request(d)
                for attrs, profs in req.resources():
                    for prof in profs:
                        seen.add((attrs.get("process.pid"),
                                  prof.get("profileId", ""),
                                  prof.get("timeUnixNano"),
                                  prof.get("durationNano")))
            return seen
        distinct = wait_until(lambda: len(profiles()) >= sent and profiles(),
                              30, "%d distinct profiles" % sent)
        self.assertEqual(len(distinct), sent,
                         "sent %d requests, %d distinct profiles arrived"
                         % (sent, len(distinct)))


def make_certs(d):
    """A CA, a server certificate for 127.0.0.1 and a client certificate."""
    def ossl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)
    p = {k: os.path.join(d, k + ".pem") for k in (
        "ca", "ca_key", "cert", "key", "client_cert", "client_key")}
    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=tgprof e2e CA", "-keyout", p["ca_key"],
         "-out", p["ca"])
    ext = os.path.join(d, "san.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    for name, key, cn, extra in (("cert", "key", "127.0.0.1", ["-extfile", ext]),
                                 ("client_cert", "client_key", "tgprof", [])):
        csr = os.path.join(d, name + ".csr")
        ossl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + cn,
             "-keyout", p[key], "-out", csr)
        ossl("x509", "-req", "-in", csr, "-CA", p["ca"], "-CAkey",
             p["ca_key"], "-CAcreateserial", "-days", "2", "-out", p[name],
             *extra)
    return p


def main():
    names = sys.argv[1:]
    suite = unittest.TestSuite(
        CollectorE2E("test_" + n if not n.startswith("test_") else n)
        for n in names) if names else unittest.defaultTestLoader \
        .loadTestsFromTestCase(CollectorE2E)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    if not result.wasSuccessful():
        return 1
    if result.testsRun and len(result.skipped) == result.testsRun:
        return SKIP
    return 0


if __name__ == "__main__":
    sys.exit(main())
