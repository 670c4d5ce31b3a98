#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""OTLP/HTTP against OTLP/gRPC on the same recording: bytes on the wire per
sample and CPU per interval of tgprof's OTLP exporter (exporter/otlp_http.c
in both modes, driven by BUILD/e2e/e2e_otlp_send).

The recording: `tgprof run` (real plugin, whole host, the DaemonSet's 19 Hz,
INTERVAL report intervals) writes each interval's request with the file
exporter (`formats: [otlp]`); its `stopped` line gives the samples. Or
--requests DIR replays .otlp.pb files already recorded (samples then counted
by decoding them). The same files are then replayed, REPEAT times over, by
one otlp_send per protocol and compression into a local sink: an HTTP/1.1
server answering 200 and a grpcio server answering OK (Debian's
python3-grpcio), each behind a loopback TCP relay that counts every byte
both ways (TCP payload: HTTP/2 preface, settings, HPACK headers, frames,
HTTP/1.1 heads, bodies). CPU is otlp_send's user+system time (rusage of
the child), per request sent; the start-up of otlp_send, the same in each,
is measured alone with one tiny request and taken out.

usage: sudo /usr/bin/python3 bench/otlp_wire_bench.py [BUILD] [INTERVALS]
       [REPEAT] [--requests DIR]
"""
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "grpc"))
from fake_grpc import FakeGrpc, require_grpcio  # noqa: E402


class Relay:
    """127.0.0.1:port -> @target, counting bytes each way."""

    def __init__(self, target_port):
        self.target = target_port
        self.up = self.down = self.conns = 0
        self.lock = threading.Lock()
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(64)
        self.port = self.ls.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            s = socket.create_connection(("127.0.0.1", self.target))
            with self.lock:
                self.conns += 1
            threading.Thread(target=self._pipe, args=(c, s, "up"),
                             daemon=True).start()
            threading.Thread(target=self._pipe, args=(s, c, "down"),
                             daemon=True).start()

    def _pipe(self, a, b, way):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                with self.lock:
                    setattr(self, way, getattr(self, way) + len(d))
                b.sendall(d)
        except OSError:
            pass
        for x in (a, b):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def reset(self):
        with self.lock:
            self.up = self.down = self.conns = 0

    def totals(self):
        with self.lock:
            return self.up, self.down, self.conns


def http_sink():
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass
    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def record(build, workdir, intervals):
    """tgprof run, whole host, 19 Hz, 5 s intervals -> files; returns
    (paths, samples)."""
    out = os.path.join(workdir, "rec")
    cfg = os.path.join(workdir, "rec.yaml")
    with open(cfg, "w") as f:
        f.write("receivers:\n  tgprof:\n    sampling_frequency_hz: 19\n"
                "    report_interval: 5s\n"
                "exporters:\n  file:\n    directory: %s\n"
                "    formats: [otlp]\n    max_files: 100000\n"
                "service:\n  pipelines:\n    profiles:\n"
                "      receivers: [tgprof]\n      exporters: [file]\n"
                "  telemetry:\n    logs:\n      encoding: json\n" % out)
    log = os.path.join(workdir, "rec.log")
    with open(log, "wb") as err:
        p = subprocess.Popen([os.path.join(build, "tgprof"), "run",
                              "--config", cfg], stderr=err,
                             stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + intervals * 5 + 120

    def files():
        return sorted(os.path.join(out, n) for n in os.listdir(out)
                      if n.endswith(".otlp.pb")) if os.path.isdir(out) else []
    while len(files()) < intervals:
        if p.poll() is not None or time.monotonic() > deadline:
            sys.exit("tgprof run stopped before %d intervals:\n%s"
                     % (intervals, open(log).read()[-3000:]))
        time.sleep(0.5)
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=60)
    stopped = [json.loads(l) for l in open(log) if '"stopped"' in l]
    got = files()
    return got, int(stopped[-1]["samples"]) if stopped else None


def count_samples(path):
    """Samples in one request, by walking its protobuf (each Sample's
    timestamps, or the sum of its values when it has none)."""
    data = open(path, "rb").read()

    def fields(b):
        i = 0
        while i < len(b):
            key, i = varint(b, i)
            f, wt = key >> 3, key & 7
            if wt == 0:
                v, i = varint(b, i)
                yield f, wt, v
            elif wt == 2:
                n, i = varint(b, i)
                yield f, wt, b[i:i + n]
                i += n
            elif wt == 1:
                yield f, wt, b[i:i + 8]
                i += 8
            elif wt == 5:
                yield f, wt, b[i:i + 4]
                i += 4
            else:
                raise ValueError("wire type %d" % wt)

    def varint(b, i):
        v = s = 0
        while True:
            c = b[i]
            i += 1
            v |= (c & 0x7f) << s
            s += 7
            if not c & 0x80:
                return v, i

    def packed_sum(b):
        i = total = 0
        while i < len(b):
            v, i = varint(b, i)
            total += v
        return total

    n = 0
    # Request.resource_profiles(1).scope_profiles(2).profiles(2).samples(...)
    for f1, _, rp in fields(data):
        if f1 != 1:
            continue
        for f2, _, sp in fields(rp):
            if f2 != 2:
                continue
            for f3, _, prof in fields(sp):
                if f3 != 2:
                    continue
                for f4, wt, smp in fields(prof):
                    if f4 != 2 or wt != 2:  # Profile.samples = 2
                        continue
                    vals = ts = 0
                    for f5, wt5, v in fields(smp):
                        if f5 == 4:  # values
                            vals += packed_sum(v) if wt5 == 2 else v
                        elif f5 == 5:  # timestamps_unix_nano
                            ts += len(v) // 8 if wt5 == 2 else 1
                    n += ts or vals
    return n


def replay(send, endpoint, files, opts, repeat):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run([send, "--endpoint", endpoint, *opts,
                        "--timeout-ms", "600000",
                        "--queue-size", str(len(files) * repeat + 1),
                        *(files * repeat)],
                       capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode:
        sys.exit("otlp_send %s failed: %s %s" % (opts, r.stdout, r.stderr))
    cpu = (after.ru_utime - before.ru_utime) + \
        (after.ru_stime - before.ru_stime)
    c = dict(re.findall(r"(\w+)=(\d+)", r.stdout))
    return cpu, int(c["sent"]), int(c["bytes"])


def main():
    require_grpcio()
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    reqdir = None
    if "--requests" in sys.argv:
        reqdir = sys.argv[sys.argv.index("--requests") + 1]
        args.remove(reqdir)
    build = args[0] if args else "build"
    intervals = int(args[1]) if len(args) > 1 else 12
    repeat = int(args[2]) if len(args) > 2 else 20
    send = os.path.join(build, "e2e", "e2e_otlp_send")
    workdir = tempfile.mkdtemp(prefix="tgprof-wire-")
    try:
        if reqdir:
            files = sorted(os.path.join(reqdir, n) for n in os.listdir(reqdir)
                           if n.endswith(".otlp.pb"))
            samples = None
        else:
            files, samples = record(build, workdir, intervals)
        counted = sum(count_samples(f) for f in files)
        if samples is None:
            samples = counted
        raw = sum(os.path.getsize(f) for f in files)
        print("recording: %d requests (intervals), %d samples (%d by "
              "decoding), %d bytes serialized, %.1f bytes/sample raw"
              % (len(files), samples, counted, raw, raw / samples))

        tiny = os.path.join(workdir, "tiny.pb")
        with open(tiny, "wb") as f:
            f.write(b"")
        hs = http_sink()
        gs = FakeGrpc()
        hrel, grel = Relay(hs.server_address[1]), Relay(gs.port)
        cases = [
            ("OTLP/HTTP gzip", "http://127.0.0.1:%d" % hrel.port, hrel,
             ["--gzip"]),
            ("OTLP/gRPC gzip", "127.0.0.1:%d" % grel.port, grel,
             ["--grpc", "--plaintext", "--gzip"]),
            ("OTLP/HTTP none", "http://127.0.0.1:%d" % hrel.port, hrel, []),
            ("OTLP/gRPC none", "127.0.0.1:%d" % grel.port, grel,
             ["--grpc", "--plaintext"]),
        ]
        print("replayed %d times each (%d requests, %d samples per case)"
              % (repeat, len(files) * repeat, samples * repeat))
        print("%-15s %12s %12s %10s %12s %12s %12s" % (
            "case", "wire B/smp", "up B/req", "down B/req", "body B/req",
            "conns", "CPU us/req"))
        for name, ep, rel, opts in cases:
            # otlp_send's own start-up and exit, with one empty request.
            base, _, _ = replay(send, ep, [tiny], opts, 1)
            rel.reset()
            cpu, sent, body = replay(send, ep, files, opts, repeat)
            n = len(files) * repeat
            if sent != n:
                sys.exit("%s: sent %d of %d" % (name, sent, n))
            # the relay sees the bytes before otlp_send exits: settle
            time.sleep(0.2)
            up, down, conns = rel.totals()
            print("%-15s %12.2f %12.0f %10.0f %12.0f %12d %12.0f" % (
                name, (up + down) / (samples * repeat), up / n, down / n,
                body / n, conns, max(cpu - base, 0) / n * 1e6))
        gs.close()
        hs.shutdown()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
