#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The OTLP/gRPC exporter (exporter/otlp_http.c in gRPC mode, driven by
tests/e2e/otlp_send.c) against scripted gRPC servers (fake_grpc.py,
Python grpcio): UNAVAILABLE then OK loses nothing, INVALID_ARGUMENT is
dropped, counted and logged, RESOURCE_EXHAUSTED is retried only with a
RetryInfo, a server that never answers is timed out and retried within the
queue bound with every drop counted and logged, and TLS with ALPN h2.
Waits on counters and process exits, never on bare sleeps. No root.

Run through ctest: `python3 test_otlp_grpc.py OTLP_SEND TEST_NAME`.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_grpc import FakeGrpc, require_grpcio  # noqa: E402

SEND = sys.argv[1] if len(sys.argv) > 1 else "build/e2e/e2e_otlp_send"
COUNTERS = re.compile(r"(\w+)=(\d+)")


class GrpcExporterTest(unittest.TestCase):
    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="tgprof-grpc-")
        self.servers = []
        self.body = b"\x0a\x05hello" * 200  # opaque to the exporter
        self.files = []
        for i in range(4):
            path = os.path.join(self.workdir, "req%d.pb" % i)
            with open(path, "wb") as f:
                f.write(self.body + bytes([i]))
            self.files.append(path)

    def tearDown(self):
        for s in self.servers:
            s.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def server(self, script=(), tls=None):
        s = FakeGrpc(script, tls=tls)
        self.servers.append(s)
        return s

    def send(self, endpoint, files, *opts):
        res = subprocess.run(
            [SEND, "--grpc", "--endpoint", endpoint,
             "--retry-max-elapsed-ms", "3000", *opts, *files],
            capture_output=True, text=True, timeout=120)
        counts = {k: int(v) for k, v in
                  COUNTERS.findall(res.stdout.strip().splitlines()[-1])}
        return res, counts

    def test_unavailable_then_ok_loses_nothing(self):
        s = self.server(["UNAVAILABLE", "ok"])
        res, c = self.send(s.address, self.files[:2], "--plaintext",
                           "--gzip", "--header", "x-tenant=t1")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual((c["sent"], c["retries"]), (2, 1), res.stdout)
        reqs = s.wait_requests(3)
        self.assertEqual(len(reqs), 3)
        # The retried request arrives whole (grpcio undid the gzip).
        self.assertEqual(reqs[0][0], reqs[1][0])
        self.assertEqual(sorted(r[0] for r in reqs[1:]),
                         sorted(open(f, "rb").read() for f in self.files[:2]))
        self.assertEqual(reqs[1][1].get("x-tenant"), "t1")
        self.assertIn("gRPC status 14 UNAVAILABLE: scripted UNAVAILABLE; "
                      "retrying with backoff", res.stderr)
        self.assertIn("accepts requests again", res.stderr)

    def test_invalid_argument_is_dropped_counted_and_logged(self):
        s = self.server(["INVALID_ARGUMENT"])
        res, c = self.send(s.address, self.files[:1], "--plaintext")
        self.assertEqual(res.returncode, 1)
        self.assertEqual((c["sent"], c["dropped_permanent"], c["retries"]),
                         (0, 1, 0), res.stdout)
        self.assertEqual(s.count(), 1, "a permanent error was retried")
        self.assertRegex(res.stderr, r"error: export: .*: gRPC status 3 "
                         r"INVALID_ARGUMENT: scripted INVALID_ARGUMENT; "
                         r"request dropped, not retried")

    def test_resource_exhausted_is_retried_only_with_retry_info(self):
        s = self.server([("RESOURCE_EXHAUSTED", 0.2), "RESOURCE_EXHAUSTED"])
        res, c = self.send(s.address, self.files[:2], "--plaintext")
        # The first answer carries RetryInfo: retried after its delay;
        # the second has none: that request is dropped at once. The
        # other request is sent.
        self.assertEqual((c["sent"], c["retries"], c["dropped_permanent"]),
                         (1, 1, 1), res.stdout + res.stderr)
        self.assertEqual(s.count(), 3)
        self.assertIn("RESOURCE_EXHAUSTED: slow down; retrying", res.stderr)
        self.assertIn("RESOURCE_EXHAUSTED: scripted RESOURCE_EXHAUSTED; "
                      "request dropped", res.stderr)

    def test_hung_server_is_timed_out_retried_and_drops_are_counted(self):
        # Every request hangs: each attempt times out (300 ms) and is
        # retried until max_elapsed; the queue (2) sheds the oldest. All
        # four requests end counted as one kind of drop or another.
        s = self.server(["hang"] * 100)
        res, c = self.send(s.address, self.files, "--plaintext",
                           "--request-timeout-ms", "300",
                           "--queue-size", "2", "--timeout-ms", "60000")
        self.assertEqual(res.returncode, 1)
        self.assertEqual(c["sent"], 0)
        self.assertEqual(c["queued"], 0, res.stdout)
        self.assertEqual(c["dropped_queue_full"] +
                         c["dropped_retries_exhausted"] +
                         c["dropped_permanent"] + c["dropped_shutdown"], 4,
                         res.stdout)
        self.assertGreaterEqual(c["dropped_queue_full"], 1, res.stdout)
        self.assertGreaterEqual(c["retries"], 1)
        self.assertGreater(s.count(), c["dropped_retries_exhausted"])
        self.assertIn("Timeout was reached", res.stderr)
        self.assertIn("retrying with backoff", res.stderr)
        self.assertRegex(res.stderr, r"gave up on a request after .* s of "
                         r"retries; dropped")

    def test_tls_with_alpn_reaches_the_server(self):
        tls = make_cert(self.workdir)
        s = self.server(tls=tls)
        res, c = self.send("127.0.0.1:%d" % s.port, self.files[:1],
                           "--ca-file", tls["cert"], "--gzip")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(c["sent"], 1)
        self.assertEqual(s.wait_requests(1)[0][0],
                         open(self.files[0], "rb").read())
        # Plaintext to a TLS port fails and is not counted as sent.
        res, c = self.send("127.0.0.1:%d" % s.port, self.files[:1],
                           "--plaintext", "--retry-max-elapsed-ms", "1000")
        self.assertEqual(c["sent"], 0, res.stdout)


def make_cert(d):
    """A self-signed certificate for 127.0.0.1 (openssl)."""
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    return {"cert": cert, "key": key}


def main():
    require_grpcio()
    names = sys.argv[2:]
    suite = unittest.TestSuite(
        GrpcExporterTest("test_" + n if not n.startswith("test_") else n)
        for n in names) if names else unittest.defaultTestLoader \
        .loadTestsFromTestCase(GrpcExporterTest)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
