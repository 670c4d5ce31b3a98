#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`tgprof run` with the `otlp` (gRPC) exporter, the fake receiver plugin
of tests/run/ offering one canned profile per interval, into scripted
gRPC servers (fake_grpc.py): every interval arrives through an UNAVAILABLE
answer; a hung server's queue-full drops are counted and logged. No root.

Run through ctest: `python3 test_run_grpc.py TGPROF FAKE_PLUGIN_DIR NAME`.
"""
import os
import re
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "run"))
import test_run as tr  # noqa: E402  (reads TGPROF, PLUGINS from argv)
from fake_grpc import FakeGrpc, require_grpcio  # noqa: E402


def otlp_exporter(server, name="otlp", extra=""):
    return ("  %s:\n"
            "    endpoint: %s\n"
            "    tls:\n"
            "      insecure: true\n"
            "    retry_on_failure:\n"
            "      initial_interval: 50ms\n"
            "      max_interval: 200ms\n"
            "      max_elapsed_time: 1s\n"
            "%s" % (name, server.address, extra))


class RunGrpcTest(tr.RunTest):
    def server(self, script=()):
        s = FakeGrpc(script)
        self.addCleanup(s.close)
        return s

    def test_run_otlp_exporter_delivers_every_interval(self):
        s = self.server(["UNAVAILABLE"])
        d = self.daemon(tr.config(exporters=otlp_exporter(s)))
        d.wait_event(lambda e: e["msg"].startswith("fake: offered interval 3"),
                     10, "three intervals")
        self.assertEqual(d.stop(), 0)
        events = d.events()
        stopped = [e for e in events if e["msg"] == "stopped"][0]
        self.assertEqual(stopped["dropped"], "0", stopped)
        n = int(stopped["requests"])
        self.assertGreaterEqual(n, 3)
        got = set()
        for body, _ in s.wait_requests(n + 1):
            got.update(int(m) for m in re.findall(rb"interval_(\d+)", body))
        self.assertEqual(got, set(range(1, n + 1)),
                         "an interval is missing")
        warn = [e for e in events if "UNAVAILABLE" in e["msg"]]
        self.assertEqual(len(warn), 1, events)
        self.assertEqual(warn[0]["component"], "exporters.otlp")

    def test_run_otlp_hung_server_drops_are_counted_and_logged(self):
        s = self.server(["hang"] * 1000)
        exp = otlp_exporter(s, extra="    timeout: 200ms\n"
                            "    sending_queue:\n      queue_size: 1\n")
        d = self.daemon(tr.config(exporters=exp, interval="50ms"))
        first = d.wait_event(
            lambda e: e["msg"] == "export queue full: profiles dropped", 20,
            "the queue-full line")[0]
        self.assertEqual(first["component"], "exporters.otlp")
        self.assertGreater(int(first["lost"]), 0)
        self.assertEqual(d.stop(), 0)
        events = d.events()
        stopped = [e for e in events if e["msg"] == "stopped"][0]
        self.assertEqual(stopped["sent"], "0")
        self.assertGreater(int(stopped["dropped"]), 0)
        self.assertTrue(any("Timeout was reached" in e["msg"]
                            for e in events), events)


def main():
    require_grpcio()
    names = sys.argv[3:]
    suite = unittest.TestSuite(
        RunGrpcTest("test_" + n if not n.startswith("test_") else n)
        for n in names)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
