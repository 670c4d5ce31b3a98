# SPDX-License-Identifier: Apache-2.0
"""A local Grafana Pyroscope for the tests and the benchmark: found through a
setting, started single-node on loopback, asked through its HTTP API.

Where Pyroscope comes from, first found wins:
  TGPROF_PYROSCOPE           a pyroscope binary, or a folder holding one
                             (`pyroscope`) or its xz archive (pyroscope-*.xz,
                             as /work/shared/tools/pyroscope has it)
  TGPROF_PYROSCOPE_DEFAULT   the same, set by CMake to ../shared/tools/pyroscope
                             from the source tree when that exists
  `pyroscope` on PATH
Without one the tests skip (77), and fail when CI=true.

    python3 pyroscope.py start STATE_DIR   starts it, writes STATE_DIR/state.json
    python3 pyroscope.py stop STATE_DIR    stops the one state.json names
"""
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

IN_CI = os.environ.get("CI") == "true"
SKIP = 77
CPU_TYPE = "process_cpu:cpu:nanoseconds:cpu:nanoseconds"


class Missing(Exception):
    """No Pyroscope to run: the caller skips, or fails when CI=true."""


def skip_or_fail(why):
    if IN_CI:
        print("FAIL:", why, "(CI=true: this test must run)")
        sys.exit(1)
    print("SKIP:", why)
    sys.exit(SKIP)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(pred, timeout, what, interval=0.2):
    """pred()'s first true value, polled until @timeout seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s"
                                 % (timeout, what))
        time.sleep(interval)


def find_binary(state_dir):
    """The pyroscope executable, unpacking an xz archive into @state_dir."""
    for var in ("TGPROF_PYROSCOPE", "TGPROF_PYROSCOPE_DEFAULT"):
        where = os.environ.get(var, "")
        if not where:
            continue
        if os.path.isfile(where) and os.access(where, os.X_OK):
            return where
        if os.path.isdir(where):
            b = os.path.join(where, "pyroscope")
            if os.path.isfile(b) and os.access(b, os.X_OK):
                return b
            xz = sorted(glob.glob(os.path.join(where, "pyroscope-*.xz")))
            if xz:
                return unpack(xz[-1], state_dir)
        raise Missing("%s=%s holds no pyroscope binary or pyroscope-*.xz"
                      % (var, where))
    b = shutil.which("pyroscope")
    if b:
        return b
    raise Missing("no Pyroscope: set TGPROF_PYROSCOPE to a pyroscope binary "
                  "(v1.21.1, built from github.com/grafana/pyroscope) or put "
                  "one on PATH")


def unpack(archive, state_dir):
    out = os.path.join(state_dir, "bin", "pyroscope")
    stamp = out + ".from"
    key = "%s %d" % (archive, os.stat(archive).st_mtime_ns)
    if os.access(out, os.X_OK) and os.path.exists(stamp) and \
            open(stamp).read() == key:
        return out
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out + ".tmp", "wb") as f:
        subprocess.run(["xz", "-dc", archive], stdout=f, check=True)
    os.chmod(out + ".tmp", 0o755)
    os.rename(out + ".tmp", out)
    with open(stamp, "w") as f:
        f.write(key)
    return out


class Pyroscope:
    """A running Pyroscope: its URL and the queries the tests make."""

    def __init__(self, url, pid=None):
        self.url = url.rstrip("/")
        self.pid = pid

    @staticmethod
    def start(state_dir, extra_args=(), ready_timeout=120):
        """Starts Pyroscope on free loopback ports with its data in
        @state_dir/data (emptied first); returns it once /ready is 200."""
        binary = find_binary(state_dir)
        data = os.path.join(state_dir, "data")
        shutil.rmtree(data, ignore_errors=True)
        os.makedirs(data)
        http, grpc, gossip = free_port(), free_port(), free_port()
        a = "127.0.0.1"
        # Every ring and instance address on loopback: otherwise Pyroscope
        # advertises another interface's and its parts do not meet.
        args = [binary, "-target=all",
                "-server.http-listen-address=" + a,
                "-server.http-listen-port=%d" % http,
                "-server.grpc-listen-address=" + a,
                "-server.grpc-listen-port=%d" % grpc,
                "-memberlist.bind-addr=" + a,
                "-memberlist.bind-port=%d" % gossip,
                "-memberlist.advertise-addr=" + a,
                "-memberlist.advertise-port=%d" % gossip,
                "-memberlist.join=",
                "-compactor.ring.instance-addr=" + a,
                "-distributor.ring.instance-addr=" + a,
                "-ingester.lifecycler.addr=" + a,
                "-overrides-exporter.ring.instance-addr=" + a,
                "-query-frontend.instance-addr=" + a,
                "-query-scheduler.ring.instance-addr=" + a,
                "-store-gateway.sharding-ring.instance-addr=" + a,
                "-storage.backend=filesystem",
                "-storage.filesystem.dir=" + os.path.join(data, "bucket"),
                "-pyroscopedb.data-path=" + os.path.join(data, "db"),
                "-self-profiling.disable-push=true", *extra_args]
        log = open(os.path.join(state_dir, "pyroscope.log"), "wb")
        p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log,
                             stderr=subprocess.STDOUT,
                             start_new_session=True)
        py = Pyroscope("http://%s:%d" % (a, http), p.pid)

        def ready():
            if p.poll() is not None:
                raise AssertionError("pyroscope exited %d; see %s"
                                     % (p.returncode, log.name))
            try:
                with urllib.request.urlopen(py.url + "/ready",
                                            timeout=2) as r:
                    return r.status == 200
            except OSError:
                return False
        try:
            wait_until(ready, ready_timeout, "Pyroscope's /ready")
        except BaseException:
            py.stop()
            raise
        return py

    def stop(self):
        if not self.pid:
            return
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                # Reaps it when it is our child; else probes.
                if os.waitpid(self.pid, os.WNOHANG)[0]:
                    return
            except ChildProcessError:
                try:
                    os.kill(self.pid, 0)
                except ProcessLookupError:
                    return
            time.sleep(0.1)
        os.kill(self.pid, signal.SIGKILL)

    # ---- the HTTP API
    def call(self, method, body):
        """A Connect/JSON call of querier.v1.QuerierService."""
        req = urllib.request.Request(
            self.url + "/querier.v1.QuerierService/" + method,
            data=json.dumps(body).encode(),
            headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.load(r)

    def series(self, selector, start_ms, end_ms):
        """The label sets of the series @selector matches: [{name: value}]."""
        out = self.call("Series", {"matchers": [selector],
                                   "start": start_ms, "end": end_ms})
        return [{l["name"]: l["value"] for l in s.get("labels", [])}
                for s in out.get("labelsSet", [])]

    def total(self, selector, start_ms, end_ms, profile_type=CPU_TYPE):
        """The sum of every sample value @selector matches, from the
        series (which, unlike the flame graph, keep unsymbolized stacks)."""
        out = self.call("SelectSeries", {
            "profile_typeID": profile_type, "label_selector": selector,
            "start": start_ms, "end": end_ms, "step": 1,
            "group_by": ["service_name"],
            "aggregation": "TIME_SERIES_AGGREGATION_TYPE_SUM"})
        return sum(int(p.get("value", 0)) for s in out.get("series", [])
                   for p in s.get("points", []))

    def profile_types(self, start_ms, end_ms):
        """The profile type IDs Pyroscope holds in the window."""
        out = self.call("ProfileTypes", {"start": start_ms, "end": end_ms})
        return [t.get("ID", "") for t in out.get("profileTypes", [])]

    def functions(self, selector, start_ms, end_ms, profile_type=CPU_TYPE):
        """The function names of @selector's merged flame graph."""
        out = self.call("SelectMergeStacktraces", {
            "profile_typeID": profile_type, "label_selector": selector,
            "start": start_ms, "end": end_ms})
        return set(out.get("flamegraph", {}).get("names", [])) - {"total"}

    def ingest_pprof(self, path, name, start_s, end_s):
        """POSTs a gzip'd pprof file to /ingest?format=pprof; returns the
        HTTP status."""
        q = urllib.parse.urlencode({"format": "pprof", "name": name,
                                    "from": start_s, "until": end_s})
        with open(path, "rb") as f:
            body = f.read()
        req = urllib.request.Request(
            self.url + "/ingest?" + q, data=body,
            headers={"content-type": "application/octet-stream"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code


def load(state_dir):
    """The Pyroscope `start` left running; skips (fails in CI) without."""
    path = os.path.join(state_dir, "state.json")
    if not os.path.exists(path):
        skip_or_fail("no Pyroscope was started (%s missing: ctest runs "
                     "pyroscope/start first)" % path)
    with open(path) as f:
        st = json.load(f)
    if st.get("missing"):
        skip_or_fail(st["missing"])
    return Pyroscope(st["url"], st["pid"])


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "stop"):
        print(__doc__)
        return 2
    state_dir = os.path.abspath(sys.argv[2])
    os.makedirs(state_dir, exist_ok=True)
    path = os.path.join(state_dir, "state.json")
    if os.path.exists(path):
        with open(path) as f:
            old = json.load(f)
        Pyroscope(old.get("url", ""), old.get("pid")).stop()
        os.unlink(path)
    if sys.argv[1] == "stop":
        print("pyroscope stopped")
        return 0
    try:
        py = Pyroscope.start(state_dir)
    except Missing as e:
        with open(path, "w") as f:
            json.dump({"missing": str(e)}, f)
        skip_or_fail(str(e))
    with open(path, "w") as f:
        json.dump({"url": py.url, "pid": py.pid}, f)
    print("pyroscope %d at %s" % (py.pid, py.url))
    return 0


if __name__ == "__main__":
    sys.exit(main())
