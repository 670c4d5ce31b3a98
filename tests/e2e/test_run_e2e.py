#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`tgprof run`, the daemon, with the real receiver plugin against the real
OpenTelemetry Collector of test_e2e.py: stopped with SIGTERM it loses no
interval (the last, partial one included), and SIGHUP with a broken file
keeps the running configuration sending.

Run through ctest (label e2e): `python3 test_run_e2e.py TEST_NAME`, with
TGPROF_E2E_COLLECTOR, TGPROF_BINARY, TGPROF_PLUGIN (optional: else tgprof
finds the plugin next to itself) and TGPROF_FIXTURE_DIR in the environment.
Skips with 77 without Go's collector or root, and fails instead when
CI=true.
"""
import json
import os
import signal
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_e2e import (CollectorE2E, Request, require_root,  # noqa: E402
                      wait_for_cpu, wait_until, SKIP, TGPROF)

PLUGIN = os.environ.get("TGPROF_PLUGIN", "")


def run_config(endpoint, tgid, interval, exporter="otlphttp", extra=""):
    return ("receivers:\n"
            "  tgprof:\n"
            "    sampling_frequency_hz: 49\n"
            "    report_interval: %s\n"
            "    filter:\n"
            "      include_pid: [%d]\n"
            "exporters:\n"
            "  %s:\n"
            "    endpoint: %s\n"
            "%s"
            "    retry_on_failure:\n"
            "      initial_interval: 200ms\n"
            "      max_interval: 1s\n"
            "service:\n"
            "  pipelines:\n"
            "    profiles:\n"
            "      receivers: [tgprof]\n"
            "      exporters: [%s]\n"
            "  shutdown_timeout: 20s\n"
            "  telemetry:\n"
            "    logs:\n"
            "      encoding: json\n" % (interval, tgid, exporter, endpoint,
                                    extra, exporter))


class RunE2E(CollectorE2E):
    """The collector tests' fixtures (collector, fixtures, clean-up), with
    tgprof run in place of tgprof record."""

    err_path = None

    def tearDown(self):
        result = self._outcome.result
        if self.err_path and any(t is self for t, _ in
                                 result.errors + result.failures):
            sys.stderr.write("---- tgprof run stderr (last 6000 chars)\n"
                             + self.log_text()[-6000:] + "\n")
        super().tearDown()

    def start_run(self, cfg):
        self.cfg_path = os.path.join(self.workdir, "tgprof.yaml")
        self.write_config(cfg)
        self.err_path = os.path.join(self.workdir, "tgprof-run.log")
        args = [TGPROF, "run", "--config", self.cfg_path]
        if PLUGIN:
            args += ["--plugin", PLUGIN]
        with open(self.err_path, "wb") as err:
            p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err,
                                 stdin=subprocess.DEVNULL)
        self.procs.append(p)
        return p

    def write_config(self, text):
        with open(self.cfg_path + ".tmp", "w") as f:
            f.write(text)
        os.rename(self.cfg_path + ".tmp", self.cfg_path)

    def events(self):
        with open(self.err_path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").split("\n")[:-1]
        return [json.loads(l) for l in lines if l.startswith("{")]

    def log_text(self):
        with open(self.err_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def alive(self, p):
        if p.poll() is None:
            return True
        raise AssertionError("tgprof run exited %d early:\n%s"
                             % (p.returncode, self.log_text()))

    def stop_run(self, p, timeout=40):
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=timeout)
        self.assertEqual(p.returncode, 0, self.log_text())
        stopped = [e for e in self.events() if e["msg"] == "stopped"]
        self.assertEqual(len(stopped), 1, self.log_text())
        return stopped[0]

    def profiles(self, c, tgid):
        """Distinct profiles of @tgid at the collector."""
        seen = set()
        for d in c.requests():
            for attrs, profs in Request(d).resources():
                self.assertEqual(attrs.get("process.pid"), tgid,
                                 "a process the filter excludes arrived")
                for prof in profs:
                    seen.add((prof.get("profileId", ""),
                              prof.get("timeUnixNano"),
                              prof.get("durationNano")))
        return seen

    def test_run_sigterm_loses_no_interval(self):
        require_root()
        c = self.collector()
        fixture, tgid = self.spawn_fixture("pthread_exit_leader", "200",
                                           "60000")
        p = self.start_run(run_config(c.url, tgid, "2s"))
        wait_until(lambda: self.alive(p) and len(c.requests()) >= 3, 60,
                   "3 requests at the collector")
        # Into the next interval: its samples are the last interval, which
        # only the shutdown flush can send.
        wait_for_cpu(tgid, 0.5, 30, "the fixture's work in the next "
                     "interval")
        before = len(c.requests())
        stopped = self.stop_run(p)
        fixture.kill()

        self.assertEqual(stopped["dropped"], 0, stopped)
        self.assertEqual(stopped["requests"], stopped["requests_consumed"],
                         stopped)
        self.assertEqual(stopped["sent"], stopped["requests"], stopped)
        self.assertGreater(stopped["sent"], before,
                           "the last interval was not sent")
        distinct = wait_until(
            lambda: len(self.profiles(c, tgid)) >= stopped["sent"] and
            self.profiles(c, tgid), 30, "%d profiles" % stopped["sent"])
        self.assertEqual(len(distinct), stopped["sent"],
                         "tgprof sent %d, %d distinct profiles arrived"
                         % (stopped["sent"], len(distinct)))
        self.assertTrue(any(e["msg"] == "statistics" for e in self.events()))

    def test_run_otlp_grpc_reaches_the_collector(self):
        # The otlp (gRPC) exporter into the collector's OTLP receiver on
        # its gRPC port, h2c: every interval arrives, nothing dropped.
        require_root()
        c = self.collector()
        fixture, tgid = self.spawn_fixture("pthread_exit_leader", "200",
                                           "60000")
        p = self.start_run(run_config(
            "127.0.0.1:%d" % c.grpc_port, tgid, "1s", exporter="otlp",
            extra="    tls:\n      insecure: true\n"))
        wait_until(lambda: self.alive(p) and len(c.requests()) >= 3, 60,
                   "3 requests at the collector over gRPC")
        stopped = self.stop_run(p)
        fixture.kill()
        self.assertEqual(stopped["dropped"], 0, stopped)
        self.assertEqual(stopped["sent"], stopped["requests"], stopped)
        distinct = wait_until(
            lambda: len(self.profiles(c, tgid)) >= stopped["sent"] and
            self.profiles(c, tgid), 30, "%d profiles" % stopped["sent"])
        self.assertEqual(len(distinct), stopped["sent"])
        self.assertFalse(any(e.get("level") in ("warn", "error") and
                             "export" in e["msg"] for e in self.events()),
                         self.log_text())

    def test_run_sighup_with_a_broken_file_keeps_sending(self):
        require_root()
        c = self.collector()
        fixture, tgid = self.spawn_fixture("pthread_exit_leader", "200",
                                           "60000")
        p = self.start_run(run_config(c.url, tgid, "1s"))
        wait_until(lambda: self.alive(p) and len(c.requests()) >= 2, 60,
                   "2 requests at the collector")
        self.write_config("receivers:\n  tgprof:\n    filter: {\n")
        p.send_signal(signal.SIGHUP)
        wait_until(lambda: self.alive(p) and any(
            e["msg"].startswith("reload rejected") for e in self.events()),
            20, "the reload to be rejected")
        n = len(c.requests())
        wait_until(lambda: self.alive(p) and len(c.requests()) >= n + 3, 30,
                   "3 more requests after the rejected reload")
        stopped = self.stop_run(p)
        fixture.kill()
        self.assertEqual(stopped["dropped"], 0, stopped)
        self.assertEqual(stopped["sent"], stopped["requests"], stopped)
        self.assertFalse(any(e["msg"] == "configuration reloaded"
                             for e in self.events()))
        self.assertTrue(any("malformed YAML" in e["msg"]
                            for e in self.events()), self.log_text())


def main():
    names = sys.argv[1:] or [n for n in dir(RunE2E)
                             if n.startswith("test_run_")]
    suite = unittest.TestSuite(
        RunE2E("test_" + n if not n.startswith("test_") else n)
        for n in names)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    if not result.wasSuccessful():
        return 1
    if result.testsRun and len(result.skipped) == result.testsRun:
        return SKIP
    return 0


if __name__ == "__main__":
    sys.exit(main())
