#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The DaemonSet's privileges for real: the image's root (deploy/, made by
tests/deploy/setup-container.sh) runs under Debian's podman with the
security context, volumes, environment, arguments and limits of
deploy/kubernetes/tgprof-daemonset.yaml, every podman flag derived from the
manifest here, so the test follows the manifest wherever it goes.

usage: test_container.py SOURCE_DIR CASE
environment: TGPROF_DEPLOY_TOOLS (the build folder's deploy/: the venv and
bin/otelcol-tgprof of tests/deploy/setup-tools.sh, image/ of
setup-container.sh), TGPROF_SPINNER (the spin_alpha fixture).

Where a node and this test differ, the test says so: the pod's network is
podman's slirp4netns namespace (the container's own, as a pod's), where the
collector's Service name resolves to the host's loopback and the collector
listens on a free port; a capability the test runner itself lacks cannot be
granted and is named. A case that cannot run skips with exit code 77, and
fails instead when CI=true.
"""
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import time

import yaml

IN_CI = os.environ.get("CI") == "true"
SKIP = 77
TOOLS = os.environ.get("TGPROF_DEPLOY_TOOLS", "")
SPINNER = os.environ.get("TGPROF_SPINNER", "")
ROOTFS = os.path.join(TOOLS, "image", "build-root", "rootfs")
SRC = None

# slirp4netns: the container's address, and the address that reaches the
# host's loopback (allow_host_loopback).
POD_IP = "10.0.2.100"
HOST_LOOPBACK = "10.0.2.2"
NODE_NAME = "deploy-container-node"

# Capability number -> name (linux/capability.h), for /proc/PID/status.
CAP_NAMES = [
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL",
    "SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE",
    "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
    "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
    "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME",
    "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL",
    "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM",
    "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
]

# What tgprof says at start when a capability is missing: (line, exits).
# CAP_SYS_RESOURCE matters only on kernels before 5.11 (docs/OPERATIONS.md,
# "What each capability is for") and is not checked.
WITHOUT = {
    "BPF": ("missing privilege: CAP_BPF (", True),
    "PERFMON": ("missing privilege: CAP_PERFMON (", True),
    "SYSLOG": ("CAP_SYSLOG missing: kernel frames will not be named", False),
    "SYS_PTRACE": ("CAP_SYS_PTRACE missing: processes of other users "
                   "cannot be symbolized", False),
    "DAC_READ_SEARCH": ("CAP_DAC_READ_SEARCH missing: binaries and debug "
                        "files whose mode denies reading cannot be "
                        "symbolized", False),
    "CHECKPOINT_RESTORE": ("CAP_CHECKPOINT_RESTORE missing: mappings of "
                           "deleted or replaced binaries cannot be "
                           "symbolized", False),
}


def fail(what):
    print("FAIL:", what, flush=True)
    sys.exit(1)


def expect(cond, what):
    if not cond:
        fail(what)


def require(cond, why):
    if cond:
        return
    if IN_CI:
        fail(why + " (CI=true: this test must run)")
    print("SKIP:", why)
    sys.exit(SKIP)


def src(*parts):
    return os.path.join(SRC, *parts)


def wait_for(what, cond, seconds, log=None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.25)
    fail(f"timed out after {seconds} s waiting for {what}" +
         (f"\n---- container log\n{log()}" if log else ""))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


# ---- the manifest and the image, as they are written ----------------------

def load_manifest():
    with open(src("deploy", "kubernetes", "tgprof-daemonset.yaml")) as f:
        ds = yaml.safe_load(f)
    expect(ds["kind"] == "DaemonSet", "tgprof-daemonset.yaml: not a "
           "DaemonSet")
    pod = ds["spec"]["template"]["spec"]
    expect(len(pod["containers"]) == 1 and not pod.get("initContainers"),
           "the DaemonSet has more than one container: extend this test")
    return pod


def configmap_files(name):
    """{key: content} of the configMapGenerator entry @name."""
    kdir = src("deploy", "kubernetes")
    with open(os.path.join(kdir, "kustomization.yaml")) as f:
        kust = yaml.safe_load(f)
    for gen in kust.get("configMapGenerator", []):
        if gen["name"] != name:
            continue
        out = {}
        for entry in gen.get("files", []):
            key, _, path = entry.partition("=")
            if not path:
                key, path = os.path.basename(entry), entry
            out[key] = read(os.path.join(kdir, path))
        return out
    fail(f"kustomization.yaml generates no ConfigMap {name}")


def dockerfile_runtime():
    """ENTRYPOINT (a list) and ENV of the Dockerfile's last stage."""
    with open(src("deploy", "Dockerfile")) as f:
        text = f.read()
    stage = text.split("\nFROM ")[-1]
    m = re.search(r"^ENTRYPOINT (\[.*\])$", stage, re.M)
    expect(m, "deploy/Dockerfile: no ENTRYPOINT [...] in the last stage")
    env = dict(re.findall(r"^ENV (\w+)=(\S+)$", stage, re.M))
    return json.loads(m.group(1)), env


def quantity_bytes(q):
    units = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "K": 1000,
             "M": 1000 ** 2, "G": 1000 ** 3}
    m = re.fullmatch(r"(\d+)([KMG]i?)?", str(q))
    expect(m, f"quantity {q!r}")
    return int(m.group(1)) * units.get(m.group(2) or "", 1)


def quantity_cpus(q):
    q = str(q)
    return int(q[:-1]) / 1000 if q.endswith("m") else float(q)


def seccomp_runtime_default(path):
    """RuntimeDefault as Kubernetes nodes have it: podman's default profile
    with the rules containerd >= 1.7 and Docker >= 23 add (bpf() with
    CAP_BPF, perf_event_open() with CAP_PERFMON); Debian 12's podman
    allows them with CAP_SYS_ADMIN only (docs/OPERATIONS.md)."""
    with open("/usr/share/containers/seccomp.json") as f:
        prof = json.load(f)
    # Its rule refusing them to a process without CAP_SYS_ADMIN goes: the
    # rules below allow them, and a refusal otherwise is the default.
    added = {"bpf", "perf_event_open"}
    for rule in prof["syscalls"]:
        if rule["action"] != "SCMP_ACT_ALLOW" and added & set(rule["names"]):
            rule["names"] = [n for n in rule["names"] if n not in added]
    prof["syscalls"] = [r for r in prof["syscalls"] if r["names"]]
    prof["syscalls"] += [
        {"names": ["bpf"], "action": "SCMP_ACT_ALLOW",
         "includes": {"caps": ["CAP_BPF"]}},
        {"names": ["perf_event_open"], "action": "SCMP_ACT_ALLOW",
         "includes": {"caps": ["CAP_PERFMON"]}},
    ]
    with open(path, "w") as f:
        json.dump(prof, f)


def runner_bounding_set():
    m = re.search(r"^CapBnd:\s*([0-9a-f]+)$", read("/proc/self/status"), re.M)
    return caps_of(int(m.group(1), 16))


def caps_of(mask):
    return {name for i, name in enumerate(CAP_NAMES) if mask >> i & 1}


def ulimit_args():
    """podman raises RLIMIT_NOFILE and RLIMIT_NPROC for a rootful
    container; a runner without CAP_SYS_RESOURCE cannot, so the container
    keeps the runner's own (what a kubelet's containers do: containerd
    sets none)."""
    if "SYS_RESOURCE" in runner_bounding_set():
        return []
    import resource
    out = []
    for name, lim, cap in (("nofile", resource.RLIMIT_NOFILE, 1048576),
                           ("nproc", resource.RLIMIT_NPROC, 32768)):
        _, hard = resource.getrlimit(lim)
        n = cap if hard == resource.RLIM_INFINITY else min(hard, cap)
        out += ["--ulimit", f"{name}={n}:{n}"]
    return out


def oci_runtime():
    """crun, podman's default, where cgroups are v2 only; runc where v1
    hierarchies are mounted beside v2 (crun refuses that layout)."""
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        return "crun"
    return "runc"


class Pod:
    """The DaemonSet's container as podman flags, the volumes' content in
    @workdir. @collector_port: where the collector listens on the host's
    loopback. @drop: a capability to leave out of the manifest's list."""

    def __init__(self, workdir, collector_port, drop=None):
        pod = load_manifest()
        c = pod["containers"][0]
        sc = c.get("securityContext") or {}
        entrypoint, image_env = dockerfile_runtime()
        self.name = f"tgprof-deploy-{os.getpid()}-{drop or 'all'}".lower()
        self.notes = []
        args = ["--name", self.name, "--runtime", oci_runtime(),
                "--hostname", "tgprof-pod"]

        # -- the pod
        expect(pod.get("hostPID") is True, "hostPID is not true")
        args.append("--pid=host")
        expect(not pod.get("hostNetwork") and not pod.get("hostIPC"),
               "hostNetwork/hostIPC: extend this test")
        args += ["--network", "slirp4netns:allow_host_loopback=true"]

        # -- the security context
        expect(sc.get("privileged") is False, "privileged is not false")
        if sc.get("allowPrivilegeEscalation") is False:
            args += ["--security-opt", "no-new-privileges"]
        if sc.get("readOnlyRootFilesystem"):
            # podman's --read-only adds tmpfs at /run, /tmp and /var/tmp
            # by default; Kubernetes does not.
            args += ["--read-only", "--read-only-tmpfs=false"]
        args += ["--user", f"{sc.get('runAsUser', 0)}:"
                 f"{sc.get('runAsGroup', 0)}"]
        caps = sc.get("capabilities") or {}
        for cap in caps.get("drop") or []:
            args.append(f"--cap-drop={cap}")
        self.added = [str(x) for x in caps.get("add") or []]
        expect(drop is None or drop in self.added,
               f"{drop} is not in the manifest's capabilities")
        self.granted = set(self.added) - {drop}
        for cap in self.added:
            if cap != drop:
                args.append(f"--cap-add={cap}")
        lacking = self.granted - runner_bounding_set()
        if lacking:
            self.notes.append(
                f"the runner's bounding set lacks {sorted(lacking)}: the "
                "runtime cannot grant them")
            self.granted -= lacking
        seccomp = (sc.get("seccompProfile") or {}).get("type",
                                                       "RuntimeDefault")
        if seccomp == "RuntimeDefault":
            path = os.path.join(workdir, "seccomp.json")
            seccomp_runtime_default(path)
            args += ["--security-opt", f"seccomp={path}"]
        else:
            expect(seccomp == "Unconfined", f"seccompProfile {seccomp}")
            args += ["--security-opt", "seccomp=unconfined"]
        apparmor = (sc.get("appArmorProfile") or {}).get("type")
        if apparmor == "Unconfined":
            args += ["--security-opt", "apparmor=unconfined"]
        else:
            expect(apparmor in (None, "RuntimeDefault"),
                   f"appArmorProfile {apparmor}")

        # -- the limits (requests only schedule)
        limits = (c.get("resources") or {}).get("limits") or {}
        if "memory" in limits:
            args += ["--memory", str(quantity_bytes(limits["memory"]))]
        if "cpu" in limits:
            args += ["--cpus", str(quantity_cpus(limits["cpu"]))]
        args += ulimit_args()

        # -- the volumes
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for vm in c.get("volumeMounts", []):
            v = volumes[vm["name"]]
            ro = ":ro" if vm.get("readOnly") else ""
            if "configMap" in v:
                name = v["configMap"]["name"]
                d = os.path.join(workdir, "configmap-" + name)
                os.makedirs(d)
                for key, text in configmap_files(name).items():
                    if key == "config.yaml" and name == "tgprof-config":
                        text = self.point_at_collector(text, collector_port)
                    with open(os.path.join(d, key), "w") as f:
                        f.write(text)
                args += ["-v", f"{d}:{vm['mountPath']}{ro or ':ro'}"]
            elif "emptyDir" in v:
                ed = v["emptyDir"] or {}
                if ed.get("medium") == "Memory":
                    opts = "rw,nosuid,nodev"
                    if "sizeLimit" in ed:
                        opts += f",size={quantity_bytes(ed['sizeLimit'])}"
                    args += ["--tmpfs", f"{vm['mountPath']}:{opts}"]
                else:
                    d = os.path.join(workdir, "emptydir-" + vm["name"])
                    os.makedirs(d)
                    args += ["-v", f"{d}:{vm['mountPath']}{ro}"]
            elif "hostPath" in v:
                args += ["-v", f"{v['hostPath']['path']}:"
                         f"{vm['mountPath']}{ro}"]
            else:
                fail(f"volume {vm['name']}: a kind this test does not "
                     "know: extend it")

        # -- the environment: the downward API's fields, as a node gives
        fields = {"spec.nodeName": NODE_NAME, "status.podIP": POD_IP}
        for k, v in image_env.items():
            args += ["--env", f"{k}={v}"]
        for e in c.get("env", []):
            if "value" in e:
                args += ["--env", f"{e['name']}={e['value']}"]
            else:
                path = e["valueFrom"]["fieldRef"]["fieldPath"]
                expect(path in fields, f"env {e['name']}: {path}")
                args += ["--env", f"{e['name']}={fields[path]}"]
        # The collector's Service, on the host's loopback.
        args += ["--add-host", f"otel-collector:{HOST_LOOPBACK}"]

        cmd = c.get("command") or entrypoint
        self.args = args + ["--rootfs", os.path.realpath(ROOTFS)] + cmd + \
            [str(a) for a in c.get("args", [])]
        self.log_path = os.path.join(workdir, f"{self.name}.log")
        self.proc = None

    @staticmethod
    def point_at_collector(text, port):
        """The ConfigMap, with the collector's Service port moved to the
        test collector's (the name stays: --add-host resolves it)."""
        cfg = yaml.safe_load(text)
        ep = cfg["exporters"]["otlphttp"]["endpoint"]
        expect(re.fullmatch(r"http://otel-collector:\d+", ep),
               f"the ConfigMap's endpoint {ep}: extend this test")
        new = f"http://otel-collector:{port}"
        return text.replace(ep, new, 1)

    def start(self):
        print("podman run", " ".join(shlex.quote(a) for a in self.args),
              flush=True)
        for n in self.notes:
            print("note:", n)
        self.log = open(self.log_path, "w")
        # --timeout: a container this test lost (the test killed) ends
        # on its own; setup-container.sh removes what is left.
        self.proc = subprocess.Popen(["podman", "run", "--rm",
                                      "--timeout", "900"] + self.args,
                                     stdout=self.log,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)

    def output(self):
        return read(self.log_path)

    def exited(self):
        return self.proc.poll() is not None

    def inspect(self, fmt):
        r = subprocess.run(["podman", "inspect", "-f", fmt, self.name],
                           capture_output=True, text=True, timeout=60)
        return r.stdout.strip() if r.returncode == 0 else ""

    def pid(self):
        pid = self.inspect("{{.State.Pid}}")
        return int(pid) if pid.isdigit() and int(pid) > 0 else 0

    def stop(self):
        """SIGTERM, as the kubelet: the exit code of tgprof."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            subprocess.run(["podman", "stop", "-t", "30", self.name],
                           capture_output=True, timeout=120)
            try:
                self.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                subprocess.run(["podman", "rm", "-f", self.name],
                               capture_output=True, timeout=120)
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


def check_setup():
    require(os.geteuid() == 0, "podman and BPF need root")
    require(os.access(os.path.join(ROOTFS, "opt", "tgprof", "tgprof"),
                      os.X_OK),
            f"no image root at {ROOTFS} (tests/deploy/setup-container.sh)")
    require(subprocess.run(["which", "podman"],
                           capture_output=True).returncode == 0,
            "podman is missing (tests/deploy/setup-container.sh)")
    otelcol = os.path.join(TOOLS, "bin", "otelcol-tgprof")
    require(os.access(otelcol, os.X_OK),
            f"{otelcol} is missing (tests/deploy/setup-tools.sh; needs Go)")
    require(SPINNER and os.access(SPINNER, os.X_OK),
            f"TGPROF_SPINNER={SPINNER!r} is not an executable")
    return otelcol


class Collector:
    """otelcol-tgprof (collector/) as tests/e2e start it: OTLP/HTTP on a
    free loopback port, every request one OTLP/JSON line in a file."""

    def __init__(self, otelcol, workdir):
        self.port = free_port()
        self.json_path = os.path.join(workdir, "received.jsonl")
        self.log_path = os.path.join(workdir, "collector.log")
        cfg = {"receivers": {"otlp": {"protocols": {"http": {
                   "endpoint": f"127.0.0.1:{self.port}"}}}},
               "exporters": {"jsonfile": {"path": self.json_path}},
               "service": {"telemetry": {"metrics": {"level": "none"}},
                           "pipelines": {"profiles": {
                               "receivers": ["otlp"],
                               "exporters": ["jsonfile"]}}}}
        path = os.path.join(workdir, "collector.yaml")
        with open(path, "w") as f:
            yaml.safe_dump(cfg, f)
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [otelcol, "--config", path,
             "--feature-gates=service.profilesSupport"],
            stdout=self.log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)

        def listening():
            expect(self.proc.poll() is None,
                   f"the collector exited:\n{read(self.log_path)}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), 1):
                    return True
            except OSError:
                return False
        wait_for("the collector to listen", listening, 60)

    def requests(self):
        lines = read(self.json_path).split("\n")[:-1]
        return [json.loads(line) for line in lines if line]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def workload_frames(doc, pid):
    """Function names of the samples of process @pid in one request, and
    the host.name of its resource."""
    d = doc.get("dictionary", {})
    strings = d.get("stringTable", [])
    funcs, locs = d.get("functionTable", []), d.get("locationTable", [])
    stacks = d.get("stackTable", [])

    def s(i):
        return strings[i] if 0 <= i < len(strings) else ""

    def value(v):
        if "stringValue" in v:
            return v["stringValue"]
        if "stringValueStrindex" in v:
            return s(v["stringValueStrindex"])
        if "intValue" in v:
            return int(v["intValue"])
        return None

    names, hosts = set(), set()
    for rp in doc.get("resourceProfiles", []):
        attrs = {kv["key"] if "key" in kv else s(kv.get("keyStrindex", 0)):
                 value(kv.get("value", {}))
                 for kv in rp.get("resource", {}).get("attributes", [])}
        if attrs.get("process.pid") != pid:
            continue
        hosts.add(attrs.get("host.name"))
        for sp in rp.get("scopeProfiles", []):
            for prof in sp.get("profiles", []):
                for sample in prof.get("samples", []):
                    stack = stacks[sample.get("stackIndex", 0)]
                    for li in stack.get("locationIndices", []):
                        for line in locs[li].get("lines", []):
                            fn = funcs[line.get("functionIndex", 0)]
                            names.add(s(fn.get("nameStrindex", 0)))
    return names, hosts


def status_field(pid, key):
    m = re.search(rf"^{key}:\s*(\S+)", read(f"/proc/{pid}/status"), re.M)
    return m.group(1) if m else ""


def container_profiles_a_host_workload():
    """The container, as the manifest sets it, profiles a process of the
    host and its profiles reach the collector; its process has exactly the
    manifest's capabilities, no new privileges, a read-only root, the
    host's PID namespace and a network namespace of its own."""
    otelcol = check_setup()
    with tempfile.TemporaryDirectory(prefix="tgprof-container-") as d:
        coll = Collector(otelcol, d)
        spinner = subprocess.Popen([SPINNER, "900000"],
                                   stdout=subprocess.DEVNULL,
                                   stdin=subprocess.DEVNULL)
        pod = Pod(d, coll.port)
        code = None
        try:
            pod.start()

            def running_pid():
                expect(not pod.exited(), "the container exited:\n" +
                       pod.output())
                return pod.pid()
            pid = wait_for("the container's process", running_pid, 120,
                           pod.output)
            # The process as the kernel sees it.
            eff = caps_of(int(status_field(pid, "CapEff"), 16))
            bnd = caps_of(int(status_field(pid, "CapBnd"), 16))
            expect(eff == pod.granted and bnd == pod.granted,
                   f"capabilities: effective {sorted(eff)}, bounding "
                   f"{sorted(bnd)}, expected {sorted(pod.granted)}")
            expect(status_field(pid, "CapAmb") == "0000000000000000",
                   "ambient capabilities are set")
            expect(status_field(pid, "NoNewPrivs") == "1",
                   "no_new_privs is not set")
            expect(status_field(pid, "Seccomp") == "2",
                   "no seccomp filter")
            expect(os.readlink(f"/proc/{pid}/ns/pid") ==
                   os.readlink("/proc/self/ns/pid"),
                   "not in the host's PID namespace")
            expect(os.readlink(f"/proc/{pid}/ns/net") !=
                   os.readlink("/proc/self/ns/net"),
                   "in the host's network namespace")
            mounts = read(f"/proc/{pid}/mountinfo").splitlines()
            root = [m.split() for m in mounts if m.split()[4] == "/"]
            expect(root and "ro" in root[-1][5].split(","),
                   f"the root is not read-only: {root}")
            # The manifest's volume mounts, as mounted.
            pod_spec = load_manifest()
            vols = {v["name"]: v for v in pod_spec.get("volumes", [])}
            for vm in pod_spec["containers"][0].get("volumeMounts", []):
                at = [m.split() for m in mounts
                      if m.split()[4] == vm["mountPath"]]
                expect(at, f"nothing mounted at {vm['mountPath']}")
                opts, fstype = at[-1][5].split(","), \
                    at[-1][at[-1].index("-") + 1]
                if vm.get("readOnly"):
                    expect("ro" in opts, f"{vm['mountPath']} is writable")
                if (vols[vm["name"]].get("emptyDir") or {}).get(
                        "medium") == "Memory":
                    expect(fstype == "tmpfs",
                           f"{vm['mountPath']} is {fstype}, not tmpfs")
            # /healthz as the kubelet's probes ask it, on the pod's address.
            port = 9464
            for p in load_manifest()["containers"][0].get("ports", []):
                if p.get("name") == "metrics":
                    port = p["containerPort"]

            def healthy():
                expect(not pod.exited(), "the container exited:\n" +
                       pod.output())
                r = subprocess.run(
                    ["podman", "exec", pod.name, "/usr/bin/curl", "-fsS",
                     "-o", "/dev/null", f"http://{POD_IP}:{port}/healthz"],
                    capture_output=True, timeout=60)
                return r.returncode == 0
            wait_for(f"/healthz on {POD_IP}:{port} to answer 200", healthy,
                     180, pod.output)

            def arrived():
                expect(not pod.exited(), "the container exited:\n" +
                       pod.output())
                for doc in coll.requests():
                    names, hosts = workload_frames(doc, spinner.pid)
                    if "alpha_spin" in names:
                        return names, hosts
                return None
            names, hosts = wait_for(
                f"the spinner's frames (PID {spinner.pid}, alpha_spin) at "
                "the collector", arrived, 240, pod.output)
            expect(hosts == {NODE_NAME}, f"host.name {hosts}, expected "
                   f"{NODE_NAME} (NODE_NAME from spec.nodeName)")
        finally:
            code = pod.stop()
            spinner.kill()
            spinner.wait()
            coll.stop()
        out = pod.output()
        expect(code == 0, f"tgprof exited with {code} on SIGTERM:\n{out}")
        for line in WITHOUT.values():
            expect(line[0] not in out, f"{line[0]!r} with every "
                   f"capability:\n{out}")
        print(f"PASS: in podman ({oci_runtime()}) with the manifest's "
              f"settings, capabilities {sorted(pod.granted)}: "
              f"{len(coll.requests())} requests reached the collector, "
              f"the spinner's stack {sorted(names)}; exit 0 on SIGTERM")


def container_without_each_capability_names_it():
    """Each capability tgprof checks at start, left out of the manifest's
    list in turn: tgprof names it in its log, and does not start without
    CAP_BPF or CAP_PERFMON."""
    otelcol = check_setup()
    added = [str(x) for x in (load_manifest()["containers"][0]
                              ["securityContext"]["capabilities"]["add"])]
    expect(set(WITHOUT) <= set(added),
           f"the manifest adds {added}, not every one of {sorted(WITHOUT)}")
    results = []
    with tempfile.TemporaryDirectory(prefix="tgprof-container-") as d:
        coll = Collector(otelcol, d)
        try:
            for cap in added:
                if cap not in WITHOUT:
                    print(f"note: without {cap} tgprof starts and says "
                          "nothing at start (docs/OPERATIONS.md)")
                    continue
                line, exits = WITHOUT[cap]
                os.makedirs(os.path.join(d, cap))
                pod = Pod(os.path.join(d, cap), coll.port, drop=cap)
                try:
                    pod.start()
                    wait_for(f"{line!r} without CAP_{cap}",
                             lambda: line in pod.output() or pod.exited(),
                             180, pod.output)
                    if exits:
                        wait_for(f"tgprof to exit without CAP_{cap}",
                                 pod.exited, 120, pod.output)
                finally:
                    code = pod.stop()
                out = pod.output()
                expect(line in out, f"without CAP_{cap}: no {line!r}:\n"
                       f"{out}")
                if exits:
                    expect(code != 0, f"without CAP_{cap}: exit 0\n{out}")
                else:
                    expect(code == 0, f"without CAP_{cap}: exit {code} on "
                           f"SIGTERM\n{out}")
                msg = [ln for ln in out.splitlines() if line in ln][0]
                results.append(f"{cap}: exit {code}: {msg.strip()}")
        finally:
            coll.stop()
    for r in results:
        print(r)
    print(f"PASS: {len(results)} capabilities left out in turn, each named")


CASES = {f.__name__: f for f in (
    container_profiles_a_host_workload,
    container_without_each_capability_names_it,
)}


def main():
    global SRC
    if len(sys.argv) != 3 or sys.argv[2] not in CASES:
        print(__doc__)
        print("cases:", " ".join(CASES))
        return 2
    SRC = os.path.abspath(sys.argv[1])
    CASES[sys.argv[2]]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
