#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`tgprof run`, the daemon, with a fake receiver plugin (fake_plugin.c):
plugin loading and refusal, logs, signals, reload, the file exporter, and
/metrics and /healthz. No root, no BPF: the fake offers one canned profile
per report interval, its leaf function naming the interval
("interval_N"), so a test sees which intervals reached the files.

Run through ctest: `python3 test_run.py TGPROF FAKE_PLUGIN_DIR TEST_NAME`.
"""
import gzip
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TGPROF = sys.argv[1] if len(sys.argv) > 1 else "build/tgprof"
PLUGINS = sys.argv[2] if len(sys.argv) > 2 else "build/tests/run"
FAKE = os.path.join(PLUGINS, "libtgprof_fake_receiver_ok.so")
FAKE_ABI2 = os.path.join(PLUGINS, "libtgprof_fake_receiver_abi2.so")
FAKE_SMALL = os.path.join(PLUGINS, "libtgprof_fake_receiver_small.so")

# The one stack of every canned sample, with its interval in it.
FAKE_STACK = "%s;main;interval_%d;work;hot_inline_[i];do_syscall_64_[k]"
LOGFMT_PAIR = re.compile(r'([A-Za-z0-9_.]+)=("(?:[^"\\]|\\.)*"|[^ ]*)')


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


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_logfmt(line):
    """One logfmt line into a dict; fails on anything that is not."""
    out, pos = {}, 0
    for m in LOGFMT_PAIR.finditer(line):
        assert m.start() == pos, "not logfmt at %d: %r" % (pos, line)
        v = m.group(2)
        if v.startswith('"'):
            v = re.sub(r'\\(.)', lambda e: {"n": "\n", "t": "\t",
                                            "r": "\r"}.get(e.group(1),
                                                           e.group(1)),
                       v[1:-1])
        out[m.group(1)] = v
        pos = m.end() + 1
    assert pos >= len(line), "not logfmt: %r" % line
    return out


def http(port, request, timeout=5):
    """Sends raw @request bytes; returns (status, headers, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = dict(l.split(": ", 1) for l in lines[1:])
    return status, headers, body.decode()


def get(port, path):
    return http(port, ("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())


def parse_prometheus(text):
    """{name or name{labels}: value}; checks every sample has HELP/TYPE."""
    helped, typed, values = set(), {}, {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helped.add(line.split()[2])
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            typed[name] = kind
        elif line:
            key, value = line.rsplit(" ", 1)
            name = key.split("{")[0]
            assert name in helped and name in typed, "no HELP/TYPE: " + line
            if typed[name] == "counter":
                assert name.endswith("_total"), name
            values[key] = float(value)
    return values


class Collector:
    """An OTLP/HTTP endpoint on loopback that answers every POST 200 and
    counts them."""

    def __init__(self):
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with owner.lock:
                    owner.posts += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.lock = threading.Lock()
        self.posts = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class FailingCollector:
    """An OTLP/HTTP endpoint on loopback that answers every POST with
    @status, or (status None) holds it unanswered until closed."""

    def __init__(self, status):
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if status is None:
                    owner.release.wait(30)
                    return
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.release = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


class SlowClients:
    """@n connections to @port that each send part of a request, then a
    byte now and then, never the end; with @reconnect, one closed by the
    server is opened again at once. Counts what the server closed and how
    long each lived."""

    PARTIAL = b"GET /metrics HTTP/1.1\r\nHost: x\r\n"

    def __init__(self, port, n, reconnect):
        self.port, self.n, self.reconnect = port, n, reconnect
        self.opened = self.closed = 0
        self.lifetimes = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.main, daemon=True)
        self.thread.start()

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        s.setblocking(False)
        s.send(self.PARTIAL)
        self.opened += 1
        return s

    def main(self):
        import select
        socks = {self.connect(): time.monotonic() for _ in range(self.n)}
        while not self.stopping.is_set():
            ready, _, _ = select.select(list(socks), [], [], 0.25)
            for s in ready:
                try:
                    gone = not s.recv(4096)
                except OSError:
                    gone = True
                if not gone:
                    continue
                self.lifetimes.append(time.monotonic() - socks.pop(s))
                s.close()
                self.closed += 1
                if self.reconnect and not self.stopping.is_set():
                    try:
                        socks[self.connect()] = time.monotonic()
                    except OSError:
                        pass
            for s in socks:
                try:
                    s.send(b"X")
                except OSError:
                    pass
        for s in socks:
            s.close()

    def stop(self):
        self.stopping.set()
        self.thread.join()


class Daemon:
    """One `tgprof run` with its stderr read into lines."""

    def __init__(self, workdir, config, plugin=FAKE, extra=()):
        self.path = os.path.join(workdir, "tgprof.yaml")
        self.write(config)
        self.errpath = os.path.join(workdir, "stderr-%d.log" % time.time_ns())
        self.err = open(self.errpath, "wb")
        args = [TGPROF, "run", "--config", self.path, *extra]
        if plugin:
            args += ["--plugin", plugin]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                     stderr=self.err, stdin=subprocess.DEVNULL)

    def write(self, config):
        with open(self.path + ".tmp", "w") as f:
            f.write(config)
        os.rename(self.path + ".tmp", self.path)

    def lines(self):
        with open(self.errpath, "rb") as f:
            data = f.read().decode("utf-8", "replace")
        return data.split("\n")[:-1]

    def events(self):
        return [parse_logfmt(l) for l in self.lines()]

    def wait_event(self, pred, timeout, what):
        def find():
            if self.proc.poll() is not None and not any(
                    pred(e) for e in self.events()):
                raise AssertionError("tgprof exited %d before %s:\n%s" % (
                    self.proc.returncode, what, "\n".join(self.lines())))
            return [e for e in self.events() if pred(e)]
        return wait_until(find, timeout, what)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.err.close()
        return self.proc.returncode


def config(outdir="", interval="200ms", comm="fake_app", exporters=None,
           service="", receiver="", files=""):
    exp = exporters or ("  file:\n    directory: %s\n%s" % (outdir, files))
    names = re.findall(r"^  ([a-z_/0-9]+):", exp, re.M)
    return ("receivers:\n"
            "  tgprof:\n"
            "    report_interval: %s\n"
            "    comm: \"%s\"\n"
            "%s"
            "exporters:\n%s"
            "service:\n"
            "  pipelines:\n"
            "    profiles:\n"
            "      receivers: [tgprof]\n"
            "      exporters: [%s]\n"
            "  shutdown_timeout: 3s\n"
            "%s" % (interval, comm, receiver, exp, ", ".join(names), service))


def folded_intervals(outdir, comm="fake_app"):
    """{N: count} over the folded files: which intervals were written."""
    got = {}
    for name in sorted(os.listdir(outdir)):
        if not name.endswith(".folded"):
            continue
        with open(os.path.join(outdir, name)) as f:
            for line in f:
                stack, count = line.rsplit(" ", 1)
                m = re.fullmatch(
                    re.escape(comm) + r";main;interval_(\d+);work;"
                    r"hot_inline_\[i\];do_syscall_64_\[k\]", stack)
                assert m, "unexpected stack %r in %s" % (stack, name)
                got[int(m.group(1))] = got.get(int(m.group(1)), 0) + \
                    int(count)
    return got


class RunTest(unittest.TestCase):
    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="tgprof-run-")
        self.out = os.path.join(self.workdir, "out")
        self.daemons = []

    def tearDown(self):
        for d in self.daemons:
            if d.proc.poll() is None:
                d.proc.kill()
                d.proc.wait()
        result = self._outcome.result
        if any(t is self for t, _ in result.errors + result.failures):
            for d in self.daemons:
                sys.stderr.write("---- tgprof stderr\n%s\n"
                                 % "\n".join(d.lines()[-60:]))
            sys.stderr.write("kept %s\n" % self.workdir)
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def daemon(self, cfg, **kw):
        d = Daemon(self.workdir, cfg, **kw)
        self.daemons.append(d)
        return d

    def run_once(self, cfg, *args, plugin=FAKE, timeout=20):
        path = os.path.join(self.workdir, "once.yaml")
        with open(path, "w") as f:
            f.write(cfg)
        cmd = [TGPROF, "run", "--config", path, *args]
        if plugin:
            cmd += ["--plugin", plugin]
        return subprocess.run(cmd, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    # ---- plugin loading ----

    def test_refuses_a_plugin_of_another_abi_major(self):
        res = self.run_once(config(self.out), plugin=FAKE_ABI2)
        self.assertEqual(res.returncode, 2, res.stderr)
        lines = res.stderr.splitlines()
        self.assertEqual(len(lines), 1, res.stderr)
        e = parse_logfmt(lines[0])
        self.assertEqual(e["level"], "error")
        self.assertIn(FAKE_ABI2, e["msg"])
        self.assertIn("does not speak plugin ABI 1", e["msg"])
        self.assertFalse(os.path.exists(self.out), "it ran anyway")

    def test_refuses_a_plugin_with_a_small_descriptor(self):
        res = self.run_once(config(self.out), plugin=FAKE_SMALL)
        self.assertEqual(res.returncode, 2, res.stderr)
        lines = res.stderr.splitlines()
        self.assertEqual(len(lines), 1, res.stderr)
        msg = parse_logfmt(lines[0])["msg"]
        self.assertRegex(msg, r"descriptor is \d+ bytes, this tgprof needs "
                         r"at least \d+ \(plugin ABI 1\.\d+\)")
        self.assertIn(FAKE_SMALL, msg)

    def test_refuses_a_missing_plugin_and_a_bad_config(self):
        missing = os.path.join(self.workdir, "nope.so")
        res = self.run_once(config(self.out), plugin=missing)
        self.assertEqual(res.returncode, 2, res.stderr)
        self.assertIn("No such file", parse_logfmt(
            res.stderr.splitlines()[0])["msg"])
        # service.plugin names it as well as --plugin does.
        res = self.run_once(config(self.out, service="  plugin: %s\n"
                                   % FAKE_ABI2), plugin=None)
        self.assertEqual(res.returncode, 2, res.stderr)
        self.assertIn("does not speak plugin ABI 1", res.stderr)

        # Every problem of the file, one error event each, then a count.
        bad = config(self.out, interval="fast",
                     receiver="    sampling_frequency_hz: 19\n")
        res = self.run_once(bad)
        self.assertEqual(res.returncode, 2, res.stderr)
        events = [parse_logfmt(l) for l in res.stderr.splitlines()]
        self.assertTrue(all(e["level"] == "error" for e in events), events)
        msgs = [e["msg"] for e in events]
        self.assertTrue(any(re.search(
            r"once\.yaml:3:\d+: receivers\.tgprof\.report_interval: "
            r"expected a duration", m) for m in msgs), msgs)
        self.assertTrue(any("receivers.tgprof.sampling_frequency_hz: "
                            "unknown key" in m for m in msgs), msgs)
        self.assertEqual(events[-1]["msg"], "invalid configuration")
        self.assertEqual(events[-1]["problems"], "2")

        res = subprocess.run([TGPROF, "run"], capture_output=True, text=True)
        self.assertEqual(res.returncode, 2)
        self.assertIn("usage: tgprof run --config FILE", res.stderr)

    def test_start_failure_exits_1(self):
        res = self.run_once(config(self.out,
                                   receiver="    fail_start: true\n"))
        self.assertEqual(res.returncode, 1, res.stderr)
        events = [parse_logfmt(l) for l in res.stderr.splitlines()]
        self.assertTrue(any(e["msg"].startswith("fake: missing privilege")
                            and e.get("component") == "receivers.tgprof"
                            for e in events), res.stderr)
        self.assertTrue(any(e["msg"] == "cannot start receiver" and
                            e["error"] == "Operation not permitted"
                            for e in events), res.stderr)

    def test_validate_and_config_use_the_loaded_plugin(self):
        path = os.path.join(self.workdir, "v.yaml")
        with open(path, "w") as f:
            f.write(config(self.out, comm="x"))
        res = subprocess.run([TGPROF, "validate", "--config", path,
                              "--plugin", FAKE], capture_output=True,
                             text=True)
        self.assertEqual(res.returncode, 0, res.stderr)
        # The fake has no sampling_frequency_hz: its keys are the ones read.
        with open(path, "w") as f:
            f.write(config(self.out,
                           receiver="    sampling_frequency_hz: 19\n"))
        res = subprocess.run([TGPROF, "validate", "--config", path,
                              "--plugin", FAKE], capture_output=True,
                             text=True)
        self.assertEqual(res.returncode, 2, res.stderr)
        self.assertIn("receivers.tgprof.sampling_frequency_hz: unknown key",
                      res.stderr)
        res = subprocess.run([TGPROF, "validate", "--config", path,
                              "--plugin", FAKE_ABI2], capture_output=True,
                             text=True)
        self.assertEqual(res.returncode, 2, res.stderr)
        self.assertIn("does not speak plugin ABI 1", res.stderr)

    # ---- logs ----

    def test_logs_logfmt_lines(self):
        # A name that needs quoting and escaping in logfmt.
        d = self.daemon(config(self.out, comm='a \\"q\\"=b'))
        d.wait_event(lambda e: e["msg"] == "statistics", 10,
                     "a statistics line")
        self.assertEqual(d.stop(), 0)
        events = d.events()
        for e in events:
            self.assertRegex(e["ts"],
                             r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertIn(e["level"], ("error", "warn", "info", "debug"))
            self.assertIn("msg", e)
        started = [e for e in events if e["msg"].startswith("fake: started")]
        self.assertEqual(started[0]["msg"],
                         'fake: started, comm a "q"=b, every 200 ms')
        self.assertEqual(started[0]["component"], "receivers.tgprof")
        self.assertIn('msg="fake: started, comm a \\"q\\"=b, every 200 ms"',
                      d.lines()[0])
        stats = [e for e in events if e["msg"] == "statistics"][0]
        for key in ("samples", "samples_lost", "events_lost", "processes",
                    "exits", "symbol_hits", "symbol_misses", "bytes_sent",
                    "retries", "dropped"):
            self.assertRegex(stats[key], r"^\d+$", key)
        self.assertEqual(events[-1]["msg"], "tgprof stopped")

    def test_logs_json_lines(self):
        svc = ("  telemetry:\n    logs:\n      encoding: json\n"
               "      level: debug\n")
        d = self.daemon(config(self.out, comm='tab\\there', service=svc))
        # JSON lines are not logfmt: wait on the raw lines.
        wait_until(lambda: any('"msg":"statistics"' in l for l in d.lines()),
                   10, "a statistics line")
        self.assertEqual(d.stop(), 0)
        events = [json.loads(l) for l in d.lines()]
        for e in events:
            self.assertEqual(list(e)[:3], ["ts", "level", "msg"])
        started = [e for e in events if e["msg"].startswith("fake: started")]
        self.assertEqual(started[0]["msg"],
                         "fake: started, comm tab\there, every 200 ms")
        self.assertEqual(started[0]["component"], "receivers.tgprof")
        stats = [e for e in events if e["msg"] in ("statistics", "stopped")]
        self.assertTrue(all(isinstance(e["samples"], int) for e in stats))
        self.assertGreater(stats[-1]["samples"], 0)
        # debug: the receiver's status changes are there too.
        self.assertTrue(any(e["msg"] == "receiver status" and
                            e["status"] == "ok" for e in events), events)

        # warn: a healthy run says nothing.
        svc = "  telemetry:\n    logs:\n      level: warn\n"
        quiet_out = os.path.join(self.workdir, "out-warn")
        d = self.daemon(config(quiet_out, service=svc))
        wait_until(lambda: os.path.isdir(quiet_out) and
                   len(folded_intervals(quiet_out)) >= 3, 10,
                   "three intervals written")
        self.assertEqual(d.stop(), 0)
        self.assertEqual(d.lines(), [])

    # ---- signals ----

    def test_sigterm_flushes_the_last_interval(self):
        d = self.daemon(config(self.out, interval="2s"))
        d.wait_event(lambda e: e["msg"].startswith("fake: offered interval 1"),
                     10, "the first interval")
        # The stop arrives inside the second interval (2 s long): only the
        # shutdown flush can deliver it.
        t0 = time.monotonic()
        self.assertEqual(d.stop(), 0)
        self.assertLess(time.monotonic() - t0, 3.0)
        events = d.events()
        last = [e for e in events if e["msg"].startswith("fake: last")]
        self.assertEqual(len(last), 1, events)
        self.assertEqual(last[0]["msg"], "fake: last interval 2 answered ok")
        stopped = [e for e in events if e["msg"] == "stopped"][0]
        self.assertEqual(stopped["requests"], "2")
        self.assertEqual(stopped["requests_consumed"], "2")
        self.assertEqual(stopped["dropped"], "0")
        self.assertEqual(stopped["queued"], "0")
        # Both intervals are on disk, the last one included.
        self.assertEqual(folded_intervals(self.out), {1: 10, 2: 10})

    def test_sigterm_gives_up_on_a_hung_collector_in_time(self):
        # A collector that accepts and never answers: the queue cannot
        # drain, and shutdown_timeout (3s) still bounds the exit.
        hung = socket.socket()
        hung.bind(("127.0.0.1", 0))
        hung.listen(16)
        exp = ("  otlphttp:\n    endpoint: http://127.0.0.1:%d\n"
               % hung.getsockname()[1])
        d = self.daemon(config(exporters=exp))
        d.wait_event(lambda e: e["msg"].startswith("fake: offered interval 2"),
                     10, "two intervals")
        t0 = time.monotonic()
        self.assertEqual(d.stop(), 0)
        took = time.monotonic() - t0
        hung.close()
        self.assertLess(took, 3.0 + 2.0, "shutdown_timeout not kept")
        stopped = [e for e in d.events() if e["msg"] == "stopped"][0]
        self.assertGreater(int(stopped["dropped"]), 0, stopped)
        self.assertEqual(stopped["sent"], "0")

    def test_sighup_with_a_broken_file_keeps_the_old_config(self):
        d = self.daemon(config(self.out))
        wait_until(lambda: os.path.isdir(self.out) and
                   len(folded_intervals(self.out)) >= 2, 10, "2 intervals")
        d.write("receivers:\n  tgprof:\n    report_interval: [\n")
        d.signal(signal.SIGHUP)
        d.wait_event(lambda e: e["msg"].startswith("reload rejected"), 10,
                     "the reload to be rejected")
        # Still the same receiver: the intervals go on counting.
        n = max(folded_intervals(self.out))
        wait_until(lambda: max(folded_intervals(self.out)) >= n + 3, 10,
                   "3 more intervals after the rejected reload")

        # A file that parses but is wrong: every problem, then rejected.
        d.write(config(self.out, interval="2h", comm="0123456789abcdefg"))
        d.signal(signal.SIGHUP)
        wait_until(lambda: len([e for e in d.events() if e["msg"].startswith(
            "reload rejected")]) == 2, 10, "the second reload to be rejected")
        msgs = [e["msg"] for e in d.events()]
        self.assertTrue(any("receivers.tgprof.report_interval: expected a "
                            "duration in 10ms..1h" in m for m in msgs), msgs)
        self.assertTrue(any("receivers.tgprof.comm:" in m for m in msgs),
                        msgs)
        n = max(folded_intervals(self.out))
        wait_until(lambda: max(folded_intervals(self.out)) >= n + 3, 10,
                   "3 more intervals after the second rejected reload")
        self.assertEqual(d.stop(), 0)
        got = folded_intervals(self.out)
        self.assertEqual(sorted(got), list(range(1, max(got) + 1)),
                         "an interval is missing")
        self.assertFalse(any(e["msg"] == "configuration reloaded"
                             for e in d.events()))

    def test_sighup_with_a_good_file_replaces_the_pipeline(self):
        port = free_port()
        d = self.daemon(config(self.out))
        wait_until(lambda: os.path.isdir(self.out) and
                   len(folded_intervals(self.out)) >= 2, 10, "2 intervals")
        new_out = os.path.join(self.workdir, "out2")
        svc = ("  telemetry:\n    logs:\n      encoding: json\n"
               "    metrics:\n      address: 127.0.0.1:%d\n" % port)
        d.write(config(new_out, comm="reloaded", service=svc))
        d.signal(signal.SIGHUP)
        wait_until(lambda: any('"msg":"configuration reloaded"' in l
                               for l in d.lines()), 10, "the reload")
        wait_until(lambda: os.path.isdir(new_out) and
                   len(folded_intervals(new_out, "reloaded")) >= 2, 10,
                   "2 intervals of the new receiver")
        status, _, body = get(port, "/healthz")
        self.assertEqual((status, body), (200, "ok\n"))
        self.assertEqual(d.stop(), 0)

        lines = d.lines()
        before = [parse_logfmt(l) for l in lines if l.startswith("ts=")]
        after = [json.loads(l) for l in lines if l.startswith("{")]
        # The old receiver's last interval went to the old directory.
        last = [e for e in before if e["msg"].startswith("fake: last")]
        self.assertEqual(len(last), 1, before)
        n = int(re.search(r"interval (\d+)", last[0]["msg"]).group(1))
        self.assertEqual(sorted(folded_intervals(self.out)),
                         list(range(1, n + 1)))
        # The new one counts from 1 again, in the new directory.
        got = folded_intervals(new_out, "reloaded")
        self.assertEqual(sorted(got), list(range(1, max(got) + 1)))
        self.assertEqual(after[-1]["msg"], "tgprof stopped")

    # ---- the file exporter ----

    def test_file_exporter_writes_and_rotates(self):
        os.makedirs(self.out)
        # An earlier run's files count towards max_files; its temporary
        # files are stale.
        for i in range(5):
            for ext in (".folded", ".svg"):
                open(os.path.join(self.out, "tgprof-2000010%dT000000.000Z%s"
                                  % (i, ext)), "w").close()
        open(os.path.join(self.out, ".tgprof-x.folded.tmp"), "w").close()
        open(os.path.join(self.out, "unrelated.folded"), "w").close()
        d = self.daemon(config(self.out, files="    max_files: 3\n"))
        d.wait_event(lambda e: e["msg"].startswith("fake: offered interval 6"),
                     10, "six intervals")
        self.assertEqual(d.stop(), 0)

        names = sorted(os.listdir(self.out))
        self.assertNotIn(".tgprof-x.folded.tmp", names)
        self.assertIn("unrelated.folded", names)
        self.assertFalse([n for n in names if n.endswith(".tmp")], names)
        by_ext = {}
        for n in names:
            m = re.fullmatch(r"tgprof-(\d{8}T\d{6}\.\d{3}Z)"
                             r"(\.pb\.gz|\.otlp\.pb|\.folded|\.svg)", n)
            if m:
                by_ext.setdefault(m.group(2), []).append(m.group(1))
        self.assertEqual(sorted(by_ext), [".folded", ".otlp.pb", ".pb.gz",
                                          ".svg"])
        for ext, stamps in by_ext.items():
            self.assertEqual(len(stamps), 3, (ext, stamps))
            self.assertFalse(any(s.startswith("2000") for s in stamps))
        # The three newest intervals, each format of each.
        last = int(re.search(r"interval (\d+)", [
            e for e in d.events()
            if e["msg"].startswith("fake: last")][0]["msg"]).group(1))
        self.assertEqual(folded_intervals(self.out),
                         {last - 2: 10, last - 1: 10, last: 10})
        stamp = by_ext[".folded"][-1]
        base = os.path.join(self.out, "tgprof-" + stamp)
        with open(base + ".folded") as f:
            self.assertEqual(f.read(), FAKE_STACK % ("fake_app", last) +
                             " 10\n")
        with open(base + ".svg") as f:
            svg = f.read()
        self.assertTrue(svg.startswith("<?xml") and "</svg>" in svg)
        self.assertIn("interval_%d" % last, svg)
        with open(base + ".pb.gz", "rb") as f:
            pprof = gzip.decompress(f.read())
        self.assertIn(b"interval_%d" % last, pprof)
        with open(base + ".otlp.pb", "rb") as f:
            self.assertIn(b"hot_inline", f.read())
        stopped = [e for e in d.events() if e["msg"] == "stopped"][0]
        self.assertEqual(int(stopped["files_written"]), 4 * last)

    def test_file_exporter_write_error_drops_with_one_line(self):
        d = self.daemon(config(self.out))
        d.wait_event(lambda e: e["msg"].startswith("fake: offered interval 1"),
                     10, "one interval")
        # The directory goes away: each interval fails, said once.
        shutil.rmtree(self.out)
        d.wait_event(lambda e: e["msg"].startswith("fake: offered interval 5"),
                     10, "five intervals")
        self.assertEqual(d.stop(), 0)
        errors = [e for e in d.events() if e["level"] == "error"]
        self.assertEqual(len(errors), 1, errors)
        self.assertRegex(errors[0]["msg"],
                         r"^file: interval .* dropped: writing otlp to .*: "
                         r"No such file or directory$")
        self.assertEqual(errors[0]["component"], "exporters.file")
        stopped = [e for e in d.events() if e["msg"] == "stopped"][0]
        self.assertGreaterEqual(int(stopped["dropped"]), 4)

    # ---- losses ----

    def test_every_kind_of_loss_is_logged_once_per_minute(self):
        bad, hung = FailingCollector(400), FailingCollector(None)
        self.addCleanup(bad.close)
        self.addCleanup(hung.close)
        exporters = ("  otlphttp/bad:\n    endpoint: %s\n" % bad.url +
                     "  otlphttp/hung:\n    endpoint: %s\n" % hung.url +
                     "    sending_queue:\n      queue_size: 1\n")
        d = self.daemon(config(exporters=exporters,
                               receiver="    kernel_loss: 7\n"))
        kinds = {
            "kernel ring buffer full: samples lost": "receivers",
            "kernel events ring full: process events lost (process table "
            "repaired from /proc)": "receivers",
            "export failed permanently: profiles dropped":
                "exporters.otlphttp/bad",
            "export queue full: profiles dropped": "exporters.otlphttp/hung",
        }

        def said(msg):
            return [e for e in d.events() if e["msg"] == msg]
        for msg, comp in kinds.items():
            first = d.wait_event(lambda e: e["msg"] == msg, 10, msg)[0]
            self.assertEqual(first["level"], "warn")
            self.assertEqual(first["component"], comp)
            self.assertGreater(int(first["lost"]), 0)
            self.assertEqual(first["lost"], first["total"])
        # More of each is lost, but within the minute nothing more is said.
        n = len(d.wait_event(lambda e: e["msg"].startswith("fake: offered"),
                             10, "an interval"))
        d.wait_event(lambda e: e["msg"].startswith(
            "fake: offered interval %d " % (n + 10)), 20, "ten more intervals")
        for msg in kinds:
            self.assertEqual(len(said(msg)), 1, msg)
        # Stopping says the rest, with the totals of the stopped line.
        self.assertEqual(d.stop(), 0)
        stopped = [e for e in d.events() if e["msg"] == "stopped"][0]
        for msg in kinds:
            lines = said(msg)
            self.assertEqual(len(lines), 2, msg)
            self.assertEqual(int(lines[0]["total"]) + int(lines[1]["lost"]),
                             int(lines[1]["total"]))
        samples = said("kernel ring buffer full: samples lost")
        self.assertEqual(samples[1]["total"], stopped["samples_lost"])
        self.assertEqual(int(samples[1]["total"]) % 7, 0)
        events = said("kernel events ring full: process events lost (process "
                      "table repaired from /proc)")
        self.assertEqual(events[1]["total"], stopped["events_lost"])

    # ---- /metrics and /healthz ----

    def test_metrics_and_healthz(self):
        port = free_port()
        svc = "  telemetry:\n    metrics:\n      address: 127.0.0.1:%d\n" % port
        d = self.daemon(config(self.out, service=svc,
                               receiver="    permanent_error_after: 15\n"))
        d.wait_event(lambda e: e["msg"].startswith("fake: offered interval 2"),
                     10, "two intervals")
        wait_until(lambda: get(port, "/metrics")[0] == 200 and parse_prometheus(
            get(port, "/metrics")[2]).get("tgprof_samples_total", 0) >= 20,
            5, "metrics of two intervals")
        status, headers, body = get(port, "/metrics")
        self.assertTrue(headers["Content-Type"].startswith(
            "text/plain; version=0.0.4"))
        m = parse_prometheus(body)
        self.assertEqual(m["tgprof_up"], 1)
        self.assertEqual(m["tgprof_processes"], 1)
        # The file exporter writes behind the consumer, from its queue.
        # Its counter is live while the receiver's are a snapshot
        # published every stats period, so a scrape can see a request
        # written before the snapshot that counts it as consumed: every
        # request exported by this scrape is counted consumed by a later
        # one.
        exported = m['tgprof_export_requests_total{exporter="file"}']
        self.assertGreater(exported, 0)
        wait_until(lambda: parse_prometheus(get(port, "/metrics")[2])[
            "tgprof_profiles_consumed_total"] >= exported, 5,
            "the %d exported requests counted as consumed" % exported)
        for name in ("tgprof_samples_lost_total", "tgprof_events_lost_total",
                     "tgprof_process_exits_total",
                     "tgprof_symbol_cache_hits_total",
                     "tgprof_symbol_cache_misses_total",
                     "tgprof_config_reloads_total"):
            self.assertIn(name, m)
        # Every cache's size (the fake's canned values, ABI 1.3).
        for name, value in (("tgprof_symbol_cache_bytes", 1048576),
                            ("tgprof_symbol_cache_files", 7),
                            ("tgprof_symbol_cache_evictions_total", 3),
                            ("tgprof_perf_map_bytes", 4096),
                            ("tgprof_kernel_symbol_bytes", 2097152),
                            ("tgprof_process_table_bytes", 65536),
                            ("tgprof_process_idle_drops_total", 2)):
            self.assertEqual(m.get(name), value, name)
        self.assertIn("# TYPE tgprof_symbol_cache_bytes gauge", body)
        # Only configured exporters have series (the otlphttp exporters'
        # retries: test_metrics_are_per_exporter_by_component_id).
        self.assertFalse([k for k in m if 'exporter="otlphttp' in k], m)
        self.assertEqual(get(port, "/healthz")[:3:2], (200, "ok\n"))
        self.assertEqual(get(port, "/healthz?verbose=1")[0], 200)
        # Not a page, not a method, not a request.
        self.assertEqual(get(port, "/")[0], 404)
        self.assertEqual(http(port, b"POST /metrics HTTP/1.1\r\n\r\n")[0], 405)
        self.assertEqual(http(port, b"HEAD /healthz HTTP/1.1\r\n\r\n")[2], "")
        self.assertEqual(http(port, b"garbage\r\n\r\n")[0], 400)
        self.assertEqual(http(port, b"GET /" + b"a" * 5000)[0], 431)
        # A client that says nothing does not hold the others up.
        idle = [socket.create_connection(("127.0.0.1", port))
                for _ in range(3)]
        self.assertEqual(get(port, "/healthz")[0], 200)
        for s in idle:
            s.close()

        # The receiver broke for good: the probe says so.
        d.wait_event(lambda e: e["msg"] == "receiver status" and
                     e["status"] == "permanent_error", 10,
                     "the permanent error")
        wait_until(lambda: get(port, "/healthz")[0] == 503, 5, "503")
        self.assertEqual(get(port, "/healthz")[2], "not running\n")
        self.assertEqual(parse_prometheus(get(port, "/metrics")[2])[
            "tgprof_up"], 0)
        self.assertEqual(d.stop(), 0)
        with self.assertRaises(OSError):
            get(port, "/healthz")

    def test_healthz_answers_while_slow_clients_hold_the_port(self):
        port = free_port()
        svc = "  telemetry:\n    metrics:\n      address: 127.0.0.1:%d\n" % port
        d = self.daemon(config(self.out, service=svc))

        def healthy():
            try:
                return get(port, "/healthz")[0] == 200
            except OSError:
                return False
        wait_until(healthy, 10, "healthy")

        def closed_counts():
            m = parse_prometheus(get(port, "/metrics")[2])
            return (m['tgprof_metrics_connections_closed_total'
                      '{reason="deadline"}'],
                    m['tgprof_metrics_connections_closed_total'
                      '{reason="shed"}'])

        def probe():
            """One /healthz with a failure deadline (not a measurement)."""
            start = time.monotonic()
            status = http(port, b"GET /healthz HTTP/1.1\r\n\r\n",
                          timeout=2)[0]
            return status, time.monotonic() - start

        # Sixteen clients that trickle a request in, a byte at a time and
        # never finish it: each is closed at the deadline from accept
        # however recently it sent something.
        slow = SlowClients(port, 16, reconnect=False)
        self.addCleanup(slow.stop)
        for _ in range(6):
            status, took = probe()
            self.assertEqual(status, 200)
        wait_until(lambda: slow.closed == 16, 15,
                   "the server to close the 16 slow clients")
        self.assertLess(max(slow.lifetimes), 8.0, slow.lifetimes)
        self.assertGreaterEqual(
            wait_until(lambda: closed_counts()[0] >= 16 and closed_counts(),
                       5, "the deadline closes in /metrics")[0], 16)
        slow.stop()

        # Far more clients than slots, reconnecting as soon as they are
        # closed: the oldest are shed, every probe gets in.
        flood = SlowClients(port, 96, reconnect=True)
        self.addCleanup(flood.stop)
        wait_until(lambda: flood.opened >= 96, 10, "96 slow connections")
        took = []
        for _ in range(12):
            status, t = probe()
            self.assertEqual(status, 200)
            took.append(t)
        flood.stop()
        sys.stderr.write("healthz under %d slow clients: max %.3f s, "
                         "median %.3f s\n" % (96, max(took),
                                              sorted(took)[len(took) // 2]))
        wait_until(lambda: closed_counts()[1] > 0, 5, "shed connections")
        self.assertEqual(d.stop(), 0)

    def test_metrics_are_per_exporter_by_component_id(self):
        port = free_port()
        pyro, coll = Collector(), Collector()
        self.addCleanup(pyro.close)
        self.addCleanup(coll.close)
        svc = "  telemetry:\n    metrics:\n      address: 127.0.0.1:%d\n" % port

        def exporters(with_collector):
            return ("  otlphttp/pyroscope:\n    endpoint: %s\n" % pyro.url +
                    ("  otlphttp/collector:\n    endpoint: %s\n" % coll.url
                     if with_collector else "") +
                    "  file:\n    directory: %s\n" % self.out)

        def metrics():
            return parse_prometheus(get(port, "/metrics")[2])

        def sent(m, exp):
            return m.get('tgprof_export_requests_total{exporter="%s"}'
                         % exp, 0)

        d = self.daemon(config(exporters=exporters(True), service=svc))
        wait_until(lambda: pyro.posts >= 2 and coll.posts >= 2, 10,
                   "two profiles at each endpoint")
        wait_until(lambda: sent(metrics(), "otlphttp/pyroscope") >= 2 and
                   sent(metrics(), "otlphttp/collector") >= 2 and
                   sent(metrics(), "file") >= 2, 5, "the counts in /metrics")
        m = metrics()
        ids = sorted({re.search(r'exporter="([^"]*)"', k).group(1)
                      for k in m if "exporter=" in k})
        # One series per configured exporter, by its full component id.
        self.assertEqual(ids, ["file", "otlphttp/collector",
                               "otlphttp/pyroscope"])
        for exp in ("otlphttp/pyroscope", "otlphttp/collector"):
            for name in ("tgprof_export_bytes_total",
                         "tgprof_export_retries_total",
                         "tgprof_export_queue_length"):
                self.assertIn('%s{exporter="%s"}' % (name, exp), m)
            for reason in ("queue_full", "permanent", "retries_exhausted",
                           "shutdown", "refused"):
                self.assertEqual(m['tgprof_export_dropped_total{exporter='
                                   '"%s",reason="%s"}' % (exp, reason)], 0)
            self.assertGreater(m['tgprof_export_bytes_total{exporter="%s"}'
                                 % exp], 0)
        for reason in ("queue_full", "write_error", "shutdown", "refused"):
            self.assertIn('tgprof_export_dropped_total{exporter="file",'
                          'reason="%s"}' % reason, m)
        self.assertIn('tgprof_export_files_removed_total{exporter="file"}', m)
        # Retries mean nothing to a file exporter: no series.
        self.assertNotIn('tgprof_export_retries_total{exporter="file"}', m)
        before = sent(m, "otlphttp/pyroscope")

        # A reload drops otlphttp/collector: its series go; the new
        # otlphttp/pyroscope counts on from its predecessor's figures.
        d.write(config(exporters=exporters(False), service=svc))
        d.signal(signal.SIGHUP)
        d.wait_event(lambda e: e["msg"] == "configuration reloaded", 10,
                     "the reload")
        wait_until(lambda: not any("otlphttp/collector" in k
                                   for k in metrics()), 5,
                   "the removed exporter's series to go")
        m = metrics()
        self.assertGreaterEqual(sent(m, "otlphttp/pyroscope"), before)
        n = pyro.posts
        wait_until(lambda: sent(metrics(), "otlphttp/pyroscope") >= before + 2
                   and pyro.posts >= n + 2, 10, "two more profiles sent")
        self.assertEqual(d.stop(), 0)


def main():
    names = sys.argv[3:]
    suite = unittest.TestSuite(
        RunTest("test_" + n if not n.startswith("test_") else n)
        for n in names) if names else unittest.defaultTestLoader \
        .loadTestsFromTestCase(RunTest)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
