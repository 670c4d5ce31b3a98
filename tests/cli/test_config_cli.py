#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The configuration from the command line: `tgprof validate` and
`tgprof config`, and what `tgprof record` reads from the receiver plugin's
keys before it samples, run as a user runs them (no root).

usage: test_config_cli.py TGPROF SOURCE_DIR CASE
       test_config_cli.py TGPROF SOURCE_DIR update_config_doc

The last form rewrites the generated part of docs/CONFIG.md from
`tgprof config --keys --markdown`.
"""
import difflib
import os
import shutil
import subprocess
import sys
import tempfile

DOC_BEGIN = "<!-- BEGIN GENERATED: tgprof config --keys --markdown -->\n"
DOC_END = "<!-- END GENERATED -->\n"


def run(tgprof, *args, env=None):
    return subprocess.run([tgprof, *args], capture_output=True, text=True,
                          timeout=30, env=env)


def expect(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)


def write(dirname, name, text):
    path = os.path.join(dirname, name)
    with open(path, "w") as f:
        f.write(text)
    return path


GOOD = """\
receivers:
  tgprof:
    sampling_frequency_hz: 49
    filter:
      exclude_comm: ["^kworker/"]
exporters:
  otlphttp/pyroscope:
    endpoint: http://otel-collector:4318
    headers: { authorization: "Bearer ${env:TGPROF_CLI_TOKEN}" }
  file:
    directory: ./out
service:
  pipelines:
    profiles:
      receivers: [tgprof]
      exporters: [otlphttp/pyroscope, file]
"""

BAD = """\
receivers:
  tgprof:
    sampling_frequency_hz: 0
    report_interval: often
    filter: { include_comm: ["[a-"] }
exporters:
  otlphttp:
    headers: { authorization: "${env:TGPROF_CLI_UNSET}" }
service:
  pipelines:
    profiles:
      receivers: [tgprof]
      exporters: [otlphttp, file]
"""

BAD_PROBLEMS = """\
{f}:3:28: receivers.tgprof.sampling_frequency_hz: expected an integer in 1..10000, got "0"
{f}:4:22: receivers.tgprof.report_interval: expected a duration in 100ms..1h (like 250ms, 5s, 2m), got "often"
{f}:5:30: receivers.tgprof.filter.include_comm[0]: expected a POSIX extended regular expression, got "[a-" (Unmatched [, [^, [:, [., or [=)
{f}:7:3: exporters.otlphttp.endpoint: required key is missing
{f}:8:31: exporters.otlphttp.headers.authorization: environment variable TGPROF_CLI_UNSET is not set
{f}:13:29: service.pipelines.profiles.exporters[1]: "file" is not a configured exporter (configured: otlphttp)
{f}: 6 problems
"""


def validate_accepts_a_good_file(tgprof, src, tmp):
    path = write(tmp, "good.yaml", GOOD)
    env = dict(os.environ, TGPROF_CLI_TOKEN="t0ken")
    r = run(tgprof, "validate", "--config", path, env=env)
    expect(r.returncode == 0, f"exit {r.returncode}: {r.stderr}")
    expect(r.stdout == "config OK\n", f"stdout {r.stdout!r}")
    expect(r.stderr == "", f"stderr {r.stderr!r}")


def validate_reports_every_problem_with_exit_2(tgprof, src, tmp):
    path = write(tmp, "bad.yaml", BAD)
    env = {k: v for k, v in os.environ.items() if k != "TGPROF_CLI_UNSET"}
    r = run(tgprof, "validate", "-c", path, env=env)
    expect(r.returncode == 2, f"exit {r.returncode}")
    expect(r.stdout == "", f"stdout {r.stdout!r}")
    want = BAD_PROBLEMS.format(f=path)
    expect(r.stderr == want, "stderr differs:\n" + "".join(
        difflib.unified_diff(want.splitlines(True),
                             r.stderr.splitlines(True), "want", "got")))


def local_addresses():
    """The addresses of this host's interfaces (what `ip` lists)."""
    r = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True,
                       timeout=10)
    return {w.split("/")[0] for line in r.stdout.splitlines()
            for w in line.split()[3:4]}


def validate_refuses_a_metrics_address_not_of_this_host(tgprof, src, tmp):
    def check(address):
        path = write(tmp, "m.yaml", GOOD.replace(
            "      exporters: [otlphttp/pyroscope, file]\n",
            "      exporters: [otlphttp/pyroscope, file]\n"
            "  telemetry:\n"
            "    metrics:\n"
            "      address: \"%s\"\n" % address))
        env = dict(os.environ, TGPROF_CLI_TOKEN="t0ken",
                   TGPROF_CLI_POD_IP="127.0.0.1")
        return run(tgprof, "validate", "--config", path, env=env)

    for good in ("127.0.0.1:9464", "127.0.0.2:1", "localhost:9464",
                 "LOCALHOST:9464", "[::1]:9464",
                 "${env:TGPROF_CLI_POD_IP}:9464"):
        r = check(good)
        expect(r.returncode == 0, f"{good} refused: {r.stderr}")
    other = "198.51.100.254"
    expect(other not in local_addresses(),
           f"{other} is this host's: pick another for the test")
    wildcard = ("expected one address, not every interface: anyone who "
                "reaches the host could hold the probe port (use 127.0.0.1, "
                "or the pod's ${env:POD_IP})")
    for bad, why in (
            ("0.0.0.0:9464", wildcard),
            ("[::]:9464", wildcard),
            ("metrics.example.com:9464", "expected localhost or a literal "
             "IP address of this host, not a name to resolve"),
            ("ip6-localhost:9464", "expected localhost or a literal IP "
             "address of this host, not a name to resolve"),
            (other + ":9464",
             "expected an address of this host's interfaces"),
            ("[2001:db8::dead]:9464",
             "expected an address of this host's interfaces"),
            (":9464", "expected host:port (like 127.0.0.1:8888)")):
        r = check(bad)
        want = (f"{tmp}/m.yaml:19:16: service.telemetry.metrics.address: "
                f"{why}, got \"{bad}\"\n")
        expect(r.returncode == 2, f"{bad}: exit {r.returncode}")
        expect(r.stderr == want, f"{bad}:\n want {want!r}\n got  "
               f"{r.stderr!r}")


def validate_needs_a_config_argument(tgprof, src, tmp):
    r = run(tgprof, "validate")
    expect(r.returncode == 2, f"no --config: exit {r.returncode}")
    expect(r.stderr.startswith("usage: tgprof validate --config FILE"),
           f"no usage: {r.stderr!r}")
    missing = os.path.join(tmp, "missing.yaml")
    r = run(tgprof, "validate", "--config", missing)
    expect(r.returncode == 2, f"missing file: exit {r.returncode}")
    expect(r.stderr == f"{missing}: cannot read: No such file or directory\n",
           f"missing file: {r.stderr!r}")
    r = run(tgprof, "validate", "--config")
    expect(r.returncode == 2 and "needs a value" in r.stderr,
           f"--config without value: {r.returncode} {r.stderr!r}")


def defaults_round_trip_through_validate(tgprof, src, tmp):
    r = run(tgprof, "config", "--defaults")
    expect(r.returncode == 0, f"config --defaults: exit {r.returncode}")
    for needle in ("receivers:\n  tgprof:\n",
                   "    sampling_frequency_hz: 19\n",
                   "      exclude_cgroup: []\n",
                   "exporters:\n  otlphttp:\n",
                   "    endpoint: http://localhost:4318\n",
                   "  file:\n    # Required.",
                   "    directory: ./tgprof-out\n",
                   "      receivers: [tgprof]\n",
                   "      exporters: [otlphttp, file]\n"):
        expect(needle in r.stdout, f"defaults lack {needle!r}")
    path = write(tmp, "defaults.yaml", r.stdout)
    v = run(tgprof, "validate", "--config", path)
    expect(v.returncode == 0 and v.stdout == "config OK\n",
           f"validate of the defaults: exit {v.returncode}: {v.stderr}")
    # Every key the tables list appears in the defaults.
    keys = run(tgprof, "config", "--keys").stdout
    for line in keys.splitlines():
        if line.startswith(("receivers.", "exporters.", "service", "key ")) \
                or not line:
            continue
        leaf = line.split()[0].split(".")[-1]
        expect(f" {leaf}: " in r.stdout, f"defaults lack key {line.split()[0]}")


def keys_list_every_component(tgprof, src, tmp):
    r = run(tgprof, "config", "--keys")
    expect(r.returncode == 0, f"exit {r.returncode}")
    sections = [l for l in r.stdout.splitlines()
                if l in ("receivers.tgprof", "exporters.otlphttp",
                         "exporters.file", "service")]
    expect(sections == ["receivers.tgprof", "exporters.otlphttp",
                        "exporters.file", "service"], f"sections {sections}")
    rows = {l.split()[0]: l for l in r.stdout.splitlines() if l.strip()}
    row = rows.get("sampling_frequency_hz", "")
    for part in ("int", "19", "1..10000", "Samples per second"):
        expect(part in row, f"sampling_frequency_hz row lacks {part}: {row}")
    row = rows.get("endpoint", "")
    expect("required" in row, f"endpoint row: {row}")
    row = rows.get("compression", "")
    expect("one of gzip, none" in row, f"compression row: {row}")
    row = rows.get("pipelines.profiles.receivers", "")
    expect("string list" in row, f"pipelines row: {row}")
    md = run(tgprof, "config", "--keys", "--markdown")
    expect(md.returncode == 0 and "| `report_interval` | duration | `5s` |"
           in md.stdout, "markdown row of report_interval")
    bad = run(tgprof, "config", "--markdown")
    expect(bad.returncode == 2, "--markdown alone must be a usage error")
    bad = run(tgprof, "config")
    expect(bad.returncode == 2, "config without a mode must be a usage error")


def doc_parts(path):
    with open(path) as f:
        text = f.read()
    head, sep, rest = text.partition(DOC_BEGIN)
    body, sep2, tail = rest.partition(DOC_END)
    expect(sep and sep2, f"{path} lacks the generated-section markers")
    return head, body, tail


def config_doc_matches_the_tables(tgprof, src, tmp):
    path = os.path.join(src, "docs", "CONFIG.md")
    _, body, _ = doc_parts(path)
    r = run(tgprof, "config", "--keys", "--markdown")
    expect(r.returncode == 0, f"exit {r.returncode}")
    if body != r.stdout:
        diff = "".join(difflib.unified_diff(
            body.splitlines(True), r.stdout.splitlines(True),
            "docs/CONFIG.md", "tgprof config --keys --markdown"))
        print(diff)
        expect(False, "docs/CONFIG.md is out of step with the key tables; "
               "regenerate it: python3 tests/cli/test_config_cli.py "
               "build/tgprof . update_config_doc")


def update_config_doc(tgprof, src, tmp):
    path = os.path.join(src, "docs", "CONFIG.md")
    head, _, tail = doc_parts(path)
    r = run(tgprof, "config", "--keys", "--markdown")
    expect(r.returncode == 0, f"exit {r.returncode}")
    with open(path, "w") as f:
        f.write(head + DOC_BEGIN + r.stdout + DOC_END + tail)
    print(f"rewrote {path}")


def one_line(r, code, needle, what):
    expect(r.returncode == code, f"{what}: exit {r.returncode}, want {code}:"
           f" {r.stderr!r}")
    expect(r.stderr.count("\n") == 1 and r.stderr.startswith("tgprof: "),
           f"{what}: not one line: {r.stderr!r}")
    expect(needle in r.stderr, f"{what}: no {needle!r} in {r.stderr!r}")
    expect(r.stdout == "", f"{what}: stdout {r.stdout!r}")


def a_missing_plugin_is_one_line(tgprof, src, tmp):
    # tgprof without its plugin: alone in a bin/ of its own, nothing in
    # bin/../lib. The keys come from the plugin only, so validate, config
    # and record each say so in one line, exit 1 (the installation's
    # problem).
    bindir = os.path.join(tmp, "bin")
    os.mkdir(bindir)
    lone = os.path.join(bindir, "tgprof")
    shutil.copy(tgprof, lone)
    good = write(tmp, "good.yaml", GOOD)
    env = dict(os.environ, TGPROF_CLI_TOKEN="t0ken")
    for args in (["config", "--defaults"], ["config", "--keys"],
                 ["validate", "--config", good],
                 ["record", "-d", "1", "-o", os.path.join(tmp, "out")]):
        r = run(lone, *args, env=env)
        if r.returncode == 0:
            expect(False, f"{args}: a plugin is installed where tgprof "
                   f"looks by default; this test needs none there")
        one_line(r, 1, "no receiver plugin found", " ".join(args[:2]))
        expect("--plugin" in r.stderr, f"{args}: says nothing of --plugin")
    # A plugin named that is not there: the user's mistake, exit 2.
    missing = os.path.join(tmp, "nope.so")
    for args in (["config", "--defaults", "--plugin", missing],
                 ["validate", "--config", good, "--plugin", missing],
                 ["record", "--plugin", missing, "-d", "1"]):
        r = run(tgprof, *args, env=env)
        one_line(r, 2, "No such file", " ".join(args[:2]))


def record_bounds_come_from_the_plugin(tgprof, src, tmp):
    # The plugin's sampling_frequency_hz and report_interval keys give
    # record its defaults and bounds: no other copy of them.
    keys = run(tgprof, "config", "--keys").stdout
    rows = {l.split()[0]: l for l in keys.splitlines() if l.strip()}
    freq = rows.get("sampling_frequency_hz", "").split()
    interval = rows.get("report_interval", "").split()
    expect(len(freq) > 3 and len(interval) > 3, f"no key rows: {keys!r}")
    fdef, (fmin, fmax) = freq[2], freq[3].split("..")
    idef, (imin, imax) = interval[2], interval[3].split("..")
    out = os.path.join(tmp, "out")
    for bad in ("0", str(int(fmax) + 1), "fast"):
        r = run(tgprof, "record", "-F", bad, "-o", out)
        expect(r.returncode == 2 and r.stderr ==
               f"tgprof: invalid frequency '{bad}': expected {fmin} to "
               f"{fmax} Hz\n", f"-F {bad}: {r.returncode} {r.stderr!r}")
    r = run(tgprof, "record", "--interval", "1ms", "-o", out)
    one_line(r, 2, f"expected a duration of at least {imin}", "--interval")
    r = run(tgprof, "record", "--interval", "7d", "-o", out)
    one_line(r, 2, "invalid interval", "--interval 7d")
    r = run(tgprof, "record", "--interval", "2h", "-o", out)
    one_line(r, 2, f"expected a duration of at most {imax}", "--interval")
    h = run(tgprof, "record", "--help")
    expect(h.returncode == 0, f"--help: exit {h.returncode}")
    expect(f"{fmin}..{fmax} (default {fdef})" in h.stdout,
           f"--help lacks the frequency bounds: {h.stdout}")
    expect(f"(default {idef})" in h.stdout,
           f"--help lacks the interval default: {h.stdout}")
    expect(not os.path.exists(out), "record wrote before its checks")


def record_set_refuses_unknown_and_bad_keys(tgprof, src, tmp):
    # --set KEY=VALUE reaches the receiver's key table: an unknown key, a
    # bad value and a malformed argument each get one line and exit 2,
    # before anything is recorded.
    out = os.path.join(tmp, "out")
    r = run(tgprof, "record", "--set", "no_such_key=1", "-o", out)
    expect(r.returncode == 2 and r.stderr ==
           "tgprof: --set no_such_key=1: the receiver has no key "
           "'no_such_key' ('tgprof config --keys' lists them)\n",
           f"unknown key: {r.returncode} {r.stderr!r}")
    r = run(tgprof, "record", "--set", "unwinder=bogus", "-o", out)
    one_line(r, 2, "--set unwinder=bogus: expected one of", "bad value")
    for bad in ("unwinder", "=frame_pointer"):
        r = run(tgprof, "record", "--set", bad, "-o", out)
        expect(r.returncode == 2 and r.stderr ==
               f"tgprof: invalid --set '{bad}': expected KEY=VALUE\n",
               f"--set {bad}: {r.returncode} {r.stderr!r}")
    h = run(tgprof, "record", "--help")
    expect("--set KEY=VALUE" in h.stdout, f"--help lacks --set: {h.stdout}")
    expect(not os.path.exists(out), "record wrote before its checks")


CASES = {f.__name__: f for f in (
    validate_accepts_a_good_file,
    validate_reports_every_problem_with_exit_2,
    validate_needs_a_config_argument,
    defaults_round_trip_through_validate,
    keys_list_every_component,
    config_doc_matches_the_tables,
    a_missing_plugin_is_one_line,
    record_bounds_come_from_the_plugin,
    record_set_refuses_unknown_and_bad_keys,
    update_config_doc,
    validate_refuses_a_metrics_address_not_of_this_host,
)}


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in CASES:
        print(__doc__, file=sys.stderr)
        print("cases:", ", ".join(CASES), file=sys.stderr)
        return 2
    tgprof, src, case = sys.argv[1:]
    with tempfile.TemporaryDirectory(prefix="tgprof-cli-") as tmp:
        CASES[case](os.path.abspath(tgprof), os.path.abspath(src), tmp)
    print("ok:", case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
