#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""deploy/ as a cluster operator meets it: the manifests render with
kustomize and validate against the Kubernetes schemas, the DaemonSet keeps
to least privilege, the collector's configuration passes the real
collector's `validate`, tgprof's configurations pass `tgprof validate`, and
the systemd unit verifies.

usage: test_deploy.py SOURCE_DIR CASE
environment: TGPROF_DEPLOY_TOOLS (the build folder's deploy/, made by
tests/deploy/setup-tools.sh), TGPROF_BINARY (build/tgprof).

Run with the tools' venv Python (it has PyYAML). A case whose tool is
missing skips with exit code 77, and fails instead when CI=true.
"""
import copy
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import yaml

IN_CI = os.environ.get("CI") == "true"
SKIP = 77
KUBERNETES_VERSION = "1.37.0"
NAMESPACE = "tgprof"

# The capabilities the DaemonSet adds, and nothing else (DESIGN.md §9).
CAPABILITIES = {"BPF", "PERFMON", "SYS_PTRACE", "SYS_RESOURCE",
                "DAC_READ_SEARCH", "SYSLOG", "CHECKPOINT_RESTORE"}

SRC = None
TOOLS = os.environ.get("TGPROF_DEPLOY_TOOLS", "")
TGPROF = os.environ.get("TGPROF_BINARY", "")


def fail(what):
    print("FAIL:", what)
    sys.exit(1)


def expect(cond, what):
    if not cond:
        fail(what)


def tool(name):
    """The path of a tool setup-tools.sh made; skips (fails in CI) when
    it is not there."""
    path = os.path.join(TOOLS, "bin", name) if TOOLS else ""
    if path and os.access(path, os.X_OK):
        return path
    why = f"{name} is missing from {TOOLS or '$TGPROF_DEPLOY_TOOLS'}/bin " \
          "(tests/deploy/setup-tools.sh builds it; it needs Go)"
    if IN_CI:
        fail(why + " (CI=true: this test must run)")
    print("SKIP:", why)
    sys.exit(SKIP)


def run(*args, env=None, timeout=120):
    return subprocess.run(list(args), capture_output=True, text=True,
                          timeout=timeout, env=env)


def src(*parts):
    return os.path.join(SRC, *parts)


KUSTOMIZE_DIR = None  # set in main()


def render(directory=None):
    """kustomize build of deploy/kubernetes: the list of objects."""
    r = run(tool("kustomize"), "build", directory or KUSTOMIZE_DIR)
    expect(r.returncode == 0, f"kustomize build failed:\n{r.stderr}")
    return [d for d in yaml.safe_load_all(r.stdout) if d]


def find(objs, kind, name=None):
    found = [o for o in objs if o["kind"] == kind and
             (name is None or o["metadata"]["name"] == name)]
    expect(found, f"no {kind} {name or ''} in the rendered manifests")
    return found[0]


def configmap_data(objs, prefix, key="config.yaml"):
    """The data of the generated ConfigMap whose name starts with
    @prefix- (kustomize appends a hash)."""
    for o in objs:
        if o["kind"] == "ConfigMap" and \
                o["metadata"]["name"].startswith(prefix + "-"):
            expect(key in o.get("data", {}),
                   f"ConfigMap {o['metadata']['name']} has no {key}")
            return o["data"][key]
    fail(f"no ConfigMap {prefix}-* in the rendered manifests")


def pod_spec(obj):
    return obj["spec"]["template"]["spec"]


# ---- the least-privilege policy ------------------------------------------

def policy_violations(ds):
    """Every way the DaemonSet @ds breaks the policy, as sentences."""
    out = []
    spec = pod_spec(ds)
    if spec.get("hostPID") is not True:
        out.append("hostPID is not true")
    for key in ("hostNetwork", "hostIPC"):
        if spec.get(key):
            out.append(f"{key} is true")
    containers = spec.get("containers", []) + spec.get("initContainers", [])
    for c in containers:
        name = c.get("name", "?")
        sc = c.get("securityContext") or {}
        if sc.get("privileged") is True:
            out.append(f"{name}: privileged: true")
        if sc.get("allowPrivilegeEscalation") is not False:
            out.append(f"{name}: allowPrivilegeEscalation is not false")
        if sc.get("readOnlyRootFilesystem") is not True:
            out.append(f"{name}: the root filesystem is writable")
        caps = sc.get("capabilities") or {}
        if [str(x).upper() for x in caps.get("drop") or []] != ["ALL"]:
            out.append(f"{name}: capabilities do not drop ALL")
        added = {str(x).upper().removeprefix("CAP_")
                 for x in caps.get("add") or []}
        extra = sorted(added - CAPABILITIES)
        if extra:
            out.append(f"{name}: capabilities outside the list: "
                       + ", ".join(extra))
        res = c.get("resources") or {}
        for kind in ("requests", "limits"):
            for r in ("cpu", "memory"):
                if r not in (res.get(kind) or {}):
                    out.append(f"{name}: no {r} {kind[:-1]}")
        for v in c.get("volumeMounts") or []:
            if v["name"] in host_path_volumes(spec) and \
                    not v.get("readOnly"):
                out.append(f"{name}: host path {v['name']} mounted "
                           "writable")
    return out


def host_path_volumes(spec):
    return {v["name"] for v in spec.get("volumes") or [] if "hostPath" in v}


# ---- cases ---------------------------------------------------------------

def kustomize_renders_the_whole_stack():
    objs = render()
    kinds = sorted((o["kind"], o["metadata"]["name"]) for o in objs
                   if o["kind"] != "ConfigMap")
    want = [("ClusterRole", "tgprof-otel-collector"),
            ("ClusterRoleBinding", "tgprof-otel-collector"),
            ("DaemonSet", "tgprof"),
            ("Deployment", "grafana"), ("Deployment", "otel-collector"),
            ("Deployment", "pyroscope"),
            ("Namespace", NAMESPACE),
            ("NetworkPolicy", "tgprof"),
            ("Service", "grafana"), ("Service", "otel-collector"),
            ("Service", "pyroscope"),
            ("ServiceAccount", "otel-collector"),
            ("ServiceAccount", "tgprof")]
    expect(kinds == want, f"rendered objects {kinds}, expected {want}")
    cms = {o["metadata"]["name"] for o in objs if o["kind"] == "ConfigMap"}
    for o in objs:
        if o["kind"] in ("Namespace", "ClusterRole", "ClusterRoleBinding"):
            continue
        expect(o["metadata"].get("namespace") == NAMESPACE,
               f"{o['kind']} {o['metadata']['name']} is not in namespace "
               f"{NAMESPACE}")
    # Every ConfigMap a pod mounts is one kustomize generated (the names
    # carry the content hash), so an edited configuration rolls the pods.
    for o in objs:
        if o["kind"] not in ("DaemonSet", "Deployment"):
            continue
        for v in pod_spec(o).get("volumes") or []:
            if "configMap" in v:
                name = v["configMap"]["name"]
                expect(name in cms, f"{o['metadata']['name']} mounts "
                       f"ConfigMap {name}, which is not rendered")
    binding = find(objs, "ClusterRoleBinding")
    expect(binding["subjects"] == [{"kind": "ServiceAccount",
                                    "name": "otel-collector",
                                    "namespace": NAMESPACE}],
           f"ClusterRoleBinding subjects: {binding['subjects']}")
    ds = find(objs, "DaemonSet", "tgprof")
    image = pod_spec(ds)["containers"][0]["image"]
    expect(image == "tgprof:0.1.0", f"tgprof image {image}")
    print(f"PASS: {len(objs)} objects, ConfigMaps {sorted(cms)}")


def manifests_validate_against_kubernetes_schemas():
    tool("kustomize")
    validate = os.path.join(TOOLS, "venv", "bin", "kubernetes-validate")
    files = sorted(os.path.join(KUSTOMIZE_DIR, f)
                   for f in os.listdir(KUSTOMIZE_DIR)
                   if f.endswith(".yaml") and f != "kustomization.yaml")
    expect(len(files) >= 7, f"only {len(files)} manifests found")
    want = 0
    for path in files:
        with open(path) as f:
            want += sum(1 for d in yaml.safe_load_all(f) if d)
    with tempfile.TemporaryDirectory() as d:
        rendered = os.path.join(d, "rendered.yaml")
        objs = render()
        want += len(objs)
        with open(rendered, "w") as f:
            yaml.safe_dump_all(objs, f)
        r = run(validate, "--strict", "-k", KUBERNETES_VERSION,
                *files, rendered)
    print(r.stdout[-4000:])
    expect(r.returncode == 0,
           f"kubernetes-validate --strict failed:\n{r.stdout}\n{r.stderr}")
    passed = r.stdout.count(" passed for resource ")
    expect(passed == want, f"{passed} resources validated of {want}")
    expect("failed" not in r.stdout.lower() and
           "error" not in r.stdout.lower(), "a resource did not pass")
    print(f"PASS: {passed} resources valid against Kubernetes "
          f"{KUBERNETES_VERSION} (strict)")


def schema_validation_catches_a_misspelled_field():
    """The validation above would catch the mistakes it is there for."""
    validate = os.path.join(TOOLS, "venv", "bin", "kubernetes-validate")
    with open(os.path.join(KUSTOMIZE_DIR, "tgprof-daemonset.yaml")) as f:
        ds = yaml.safe_load(f)
    c = pod_spec(ds)["containers"][0]
    c["securityContext"]["readOnlyRootFileSystem"] = \
        c["securityContext"].pop("readOnlyRootFilesystem")
    bad_type = copy.deepcopy(ds)
    pod_spec(bad_type)["hostPID"] = "yes"
    for what, obj in (("misspelled readOnlyRootFileSystem", ds),
                      ("hostPID: \"yes\"", bad_type)):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            yaml.safe_dump(obj, f)
            f.flush()
            r = run(validate, "--strict", "-k", KUBERNETES_VERSION, f.name)
        expect(r.returncode != 0,
               f"kubernetes-validate accepted a DaemonSet with {what}")
    print("PASS: a misspelled field and a wrong type are rejected")


def daemonset_is_least_privilege():
    ds = find(render(), "DaemonSet", "tgprof")
    bad = policy_violations(ds)
    expect(not bad, "policy violations:\n  " + "\n  ".join(bad))
    c = pod_spec(ds)["containers"][0]
    added = {x.upper() for x in c["securityContext"]["capabilities"]["add"]}
    expect(added == CAPABILITIES,
           f"the DaemonSet adds {sorted(added)}, expected exactly "
           f"{sorted(CAPABILITIES)}")
    print("PASS: not privileged, drops ALL, adds only "
          + ", ".join(sorted(CAPABILITIES))
          + "; hostPID; read-only root; requests and limits")


def policy_rejects_each_violation():
    """The policy check fails on each thing it guards."""
    ds = find(render(), "DaemonSet", "tgprof")

    def sc(d):
        return pod_spec(d)["containers"][0]["securityContext"]

    def res(d):
        return pod_spec(d)["containers"][0]["resources"]

    mutations = {
        "privileged: true": lambda d: sc(d).update(privileged=True),
        "a capability outside the list":
            lambda d: sc(d)["capabilities"]["add"].append("SYS_ADMIN"),
        "not dropping ALL":
            lambda d: sc(d)["capabilities"].update(drop=["NET_RAW"]),
        "no hostPID": lambda d: pod_spec(d).pop("hostPID"),
        "a writable root filesystem":
            lambda d: sc(d).update(readOnlyRootFilesystem=False),
        "no memory limit": lambda d: res(d)["limits"].pop("memory"),
        "no cpu request": lambda d: res(d)["requests"].pop("cpu"),
        "no resources at all":
            lambda d: pod_spec(d)["containers"][0].pop("resources"),
    }
    for what, mutate in mutations.items():
        d = copy.deepcopy(ds)
        mutate(d)
        expect(policy_violations(d),
               f"the policy check passed a DaemonSet with {what}")
    print(f"PASS: each of {len(mutations)} violations is caught")


def daemonset_matches_its_configuration():
    objs = render()
    ds = find(objs, "DaemonSet", "tgprof")
    spec = pod_spec(ds)
    c = spec["containers"][0]
    cfg = yaml.safe_load(configmap_data(objs, "tgprof-config"))
    expect(c["args"] == ["run", "--config", "/etc/tgprof/config.yaml"],
           f"args {c['args']}")
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    expect("/etc/tgprof" in mounts and mounts["/etc/tgprof"].get("readOnly"),
           "the ConfigMap is not mounted read-only at /etc/tgprof")
    env = {e["name"]: e for e in c["env"]}
    expect(env.get("NODE_NAME", {}).get("valueFrom", {}).get("fieldRef", {})
           .get("fieldPath") == "spec.nodeName",
           "NODE_NAME is not the downward API's spec.nodeName")
    expect(cfg["receivers"]["tgprof"]["host_name"] == "${env:NODE_NAME}",
           "host_name is not ${env:NODE_NAME}")
    # The metrics port listens on the pod's address alone: where the
    # kubelet probes, and nowhere else (not a wildcard).
    expect(env.get("POD_IP", {}).get("valueFrom", {}).get("fieldRef", {})
           .get("fieldPath") == "status.podIP",
           "POD_IP is not the downward API's status.podIP")
    address = cfg["service"]["telemetry"]["metrics"]["address"]
    host, port = address.rsplit(":", 1)
    expect(host == "${env:POD_IP}",
           f"metrics listen on {address}, not on the pod's address")
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    expect(ports.get("metrics") == int(port),
           f"container port metrics={ports.get('metrics')}, config {port}")
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        get = c.get(probe, {}).get("httpGet", {})
        expect(get.get("path") == "/healthz" and get.get("port") == "metrics",
               f"{probe} is not GET /healthz on the metrics port")
        expect("host" not in get, f"{probe} probes another host than the "
               "pod's address")
        # /healthz answers in milliseconds; its server closes a
        # connection 3 s after accept.
        expect(1 <= c[probe].get("timeoutSeconds", 1) <= 3,
               f"{probe} timeoutSeconds {c[probe].get('timeoutSeconds')}")
    expect(spec.get("tolerations") == [{"operator": "Exists"}],
           f"tolerations {spec.get('tolerations')}: not every node")
    expect(cfg["exporters"]["otlphttp"]["endpoint"] ==
           "http://otel-collector:4318", "exporter endpoint")
    svc = find(objs, "Service", "otel-collector")
    expect(4318 in [p["port"] for p in svc["spec"]["ports"]],
           "the collector Service has no port 4318")
    # Every writable path is an emptyDir; no host path at all.
    expect(not host_path_volumes(spec), "the DaemonSet mounts host paths")
    print(f"PASS: probes on /healthz at :{port}, host.name from "
          "spec.nodeName, every node tolerated")


def collector_config_passes_collector_validate():
    otelcol = tool("otelcol-tgprof")
    objs = render()
    dep = find(objs, "Deployment", "otel-collector")
    c = pod_spec(dep)["containers"][0]
    expect("--feature-gates=service.profilesSupport" in c["args"],
           f"the collector runs without the profiles gate: {c['args']}")
    config_arg = [a for a in c["args"] if a.startswith("--config=")]
    expect(config_arg, "the collector's --config is not set")
    path = config_arg[0].split("=", 1)[1]
    mounts = [m for m in c["volumeMounts"]
              if path.startswith(m["mountPath"] + "/")]
    expect(mounts, f"{path} is not in a mounted volume")
    expect(not c["image"].endswith(":latest"), "the collector image floats")
    text = configmap_data(objs, "otel-collector-config")
    cfg = yaml.safe_load(text)
    pipeline = cfg["service"]["pipelines"]["profiles"]
    expect("k8s_attributes" in pipeline.get("processors", []),
           "the profiles pipeline has no k8s_attributes")
    assoc = cfg["processors"]["k8s_attributes"]["pod_association"]
    expect({"from": "resource_attribute", "name": "container.id"} in
           [s for a in assoc for s in a["sources"]],
           "k8s_attributes does not associate pods on container.id")
    exporters = [cfg["exporters"][e] for e in pipeline["exporters"]
                 if e.split("/")[0] == "pyroscope_otlp"]
    expect(any(e.get("endpoint", "").endswith("pyroscope:4040")
               for e in exporters),
           "no pyroscope_otlp exporter to pyroscope:4040 (otlp_grpc and "
           "otlp_http send what Pyroscope refuses: docs/OPERATIONS.md)")
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        f.write(text)
        f.flush()
        r = run(otelcol, "validate", "--config=file:" + f.name,
                "--feature-gates=service.profilesSupport")
    expect(r.returncode == 0,
           f"the collector refuses its configuration:\n{r.stderr}")
    print("PASS: otelcol validate accepts the ConfigMap's configuration "
          "(otlp -> k8s_attributes -> pyroscope_otlp, debug)")


def _collector_refuses(text, feature_gate, message):
    otelcol = tool("otelcol-tgprof")
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        f.write(text)
        f.flush()
        args = [otelcol, "validate", "--config=file:" + f.name]
        if feature_gate:
            args.append("--feature-gates=service.profilesSupport")
        r = run(*args)
    expect(r.returncode != 0, "the collector accepted it")
    expect(message in r.stderr,
           f"the collector said:\n{r.stderr}\nnot: {message}")
    # docs/OPERATIONS.md quotes the message for users who meet it.
    with open(src("docs", "OPERATIONS.md")) as f:
        expect(message in f.read(),
               f"docs/OPERATIONS.md does not quote: {message}")
    return r.stderr


def collector_without_the_feature_gate_refuses_profiles():
    objs = render()
    text = configmap_data(objs, "otel-collector-config")
    _collector_refuses(
        text, False,
        'pipeline "profiles": profiling signal support is at alpha level, '
        'gated under the "service.profilesSupport" feature gate')
    print("PASS: without --feature-gates=service.profilesSupport the "
          "collector refuses the profiles pipeline, as the docs say")


def collector_refuses_the_batch_processor_for_profiles():
    """Why the deploy configuration batches in the exporter's queue: the
    batch processor of v0.165.0 has no profiles support. When a collector
    upgrade adds it, this fails: then the batch processor may come back."""
    objs = render()
    cfg = yaml.safe_load(configmap_data(objs, "otel-collector-config"))
    cfg["processors"]["batch"] = {}
    cfg["service"]["pipelines"]["profiles"]["processors"].append("batch")
    _collector_refuses(yaml.safe_dump(cfg), True,
                       'failed to create "batch" processor, in pipeline '
                       '"profiles": telemetry type is not supported')
    print("PASS: the batch processor is refused in a profiles pipeline")


def network_policy_admits_only_the_scraper_to_metrics():
    objs = render()
    ds = find(objs, "DaemonSet", "tgprof")
    c = pod_spec(ds)["containers"][0]
    port = {p["name"]: p["containerPort"] for p in c["ports"]}["metrics"]
    labels = ds["spec"]["template"]["metadata"]["labels"]
    pols = [o for o in objs if o["kind"] == "NetworkPolicy"]
    expect(len(pols) == 1, f"{len(pols)} NetworkPolicies rendered")
    pol = pols[0]
    sel = pol["spec"]["podSelector"].get("matchLabels", {})
    expect(sel and all(labels.get(k) == v for k, v in sel.items()),
           f"the NetworkPolicy selects {sel}, not tgprof's pods {labels}")
    expect(pol["spec"].get("policyTypes") == ["Ingress"],
           f"policyTypes {pol['spec'].get('policyTypes')}")
    rules = pol["spec"].get("ingress") or []
    expect(len(rules) == 1, f"{len(rules)} ingress rules, expected one")
    rule = rules[0]
    expect(rule.get("ports") == [{"port": port, "protocol": "TCP"}],
           f"the rule admits ports {rule.get('ports')}, not {port}/TCP")
    peers = rule.get("from") or []
    # Each peer names a namespace and pods in it: never everyone, never an
    # address block (the kubelet's probes come from the node, which
    # NetworkPolicy always admits).
    expect(peers, "the rule admits every source")
    for peer in peers:
        expect(set(peer) == {"namespaceSelector", "podSelector"},
               f"peer {peer} is not one namespace's scraper pods")
        expect(peer["namespaceSelector"].get("matchLabels") and
               peer["podSelector"].get("matchLabels"),
               f"peer {peer} selects every namespace or every pod")
    print(f"PASS: only {peers} reach tgprof, on {port}/TCP")


def tgprof_configs_pass_tgprof_validate():
    expect(TGPROF and os.access(TGPROF, os.X_OK),
           f"TGPROF_BINARY={TGPROF!r} is not an executable")
    objs = render()
    with tempfile.TemporaryDirectory() as d:
        daemonset = os.path.join(d, "daemonset.yaml")
        with open(daemonset, "w") as f:
            f.write(configmap_data(objs, "tgprof-config"))
        env = dict(os.environ, NODE_NAME="node-1", POD_IP="127.0.0.1")
        for what, path in (
                ("the DaemonSet's ConfigMap", daemonset),
                ("the image's", src("deploy", "image", "config.yaml")),
                ("the systemd unit's", src("deploy", "systemd",
                                           "config.yaml"))):
            r = run(TGPROF, "validate", "--config", path, env=env)
            expect(r.returncode == 0 and "config OK" in r.stdout,
                   f"tgprof validate refuses {what} configuration:\n"
                   f"{r.stdout}{r.stderr}")
        # The metrics address is the pod's: another host's is refused.
        r = run(TGPROF, "validate", "--config", daemonset,
                env=dict(env, POD_IP="198.51.100.254"))
        expect(r.returncode == 2 and
               "service.telemetry.metrics.address: expected an address of "
               "this host's interfaces, got \"198.51.100.254:9464\"" in
               r.stderr, "validate took another host's address for the "
               f"metrics:\n{r.stdout}{r.stderr}")
        # host_name really comes from the environment.
        env.pop("NODE_NAME")
        r = run(TGPROF, "validate", "--config", daemonset, env=env)
        expect(r.returncode == 2 and "NODE_NAME" in r.stdout + r.stderr,
               "validate without NODE_NAME did not name the variable:\n"
               f"{r.stdout}{r.stderr}")
    print("PASS: the ConfigMap's, the image's and the systemd unit's "
          "configurations are valid")


def unit_capabilities(text, key):
    caps = set()
    for line in text.splitlines():
        if line.startswith(key + "="):
            caps |= {c.removeprefix("CAP_") for c in line.split("=", 1)[1]
                     .split()}
    return caps


def systemd_unit_verifies():
    with open(src("deploy", "systemd", "tgprof.service")) as f:
        unit = f.read()
    for key in ("AmbientCapabilities", "CapabilityBoundingSet"):
        caps = unit_capabilities(unit, key)
        expect(caps == CAPABILITIES, f"{key}: {sorted(caps)}, expected "
               f"{sorted(CAPABILITIES)}")
    for line in ("NoNewPrivileges=yes", "ProtectSystem=strict",
                 "PrivateTmp=yes", "Restart=on-failure",
                 "ExecReload=/bin/kill -HUP $MAINPID"):
        expect(line in unit.splitlines(), f"the unit lacks {line}")
    expect(re.search(r"^(DynamicUser=yes|User=(?!root)\S+)$", unit, re.M),
           "the unit runs as root")
    expect(re.search(r"^ProtectHome=", unit, re.M), "no ProtectHome=")
    expect(re.search(r"^ReadWritePaths=-?/var/lib/tgprof$", unit, re.M),
           "no ReadWritePaths for the file exporter's directory")
    analyze = subprocess.run(["which", "systemd-analyze"],
                             capture_output=True, text=True).stdout.strip()
    if not analyze:
        why = "systemd-analyze is missing (Debian package systemd)"
        if IN_CI:
            fail(why + " (CI=true: this test must run)")
        print("SKIP:", why)
        sys.exit(SKIP)
    expect(TGPROF and os.access(TGPROF, os.X_OK), "TGPROF_BINARY")
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "tgprof.service")
        with open(path, "w") as f:
            # verify wants ExecStart's binary to exist.
            f.write(unit.replace("/usr/local/bin/tgprof",
                                 os.path.abspath(TGPROF)))
        r = run(analyze, "verify", path)
    expect(r.returncode == 0 and not r.stderr.strip() and
           not r.stdout.strip(),
           f"systemd-analyze verify:\n{r.stdout}{r.stderr}")
    print("PASS: systemd-analyze verify is silent; ambient capabilities "
          "are the DaemonSet's")


def capabilities_agree_everywhere():
    """The DaemonSet, the Dockerfile's `docker run` line and the docs'
    table name one list."""
    with open(src("deploy", "Dockerfile")) as f:
        dockerfile = f.read()
    added = set(re.findall(r"--cap-add=([A-Z_]+)", dockerfile))
    expect(added == CAPABILITIES, f"Dockerfile's docker run adds "
           f"{sorted(added)}")
    expect("--cap-drop=ALL" in dockerfile, "Dockerfile: no --cap-drop=ALL")
    with open(src("docs", "OPERATIONS.md")) as f:
        doc = f.read()
    table = set(re.findall(r"^\| `CAP_([A-Z_]+)`", doc, re.M))
    expect(table == CAPABILITIES,
           f"docs/OPERATIONS.md's capability table: {sorted(table)}")
    print("PASS: one capability list in the DaemonSet, the unit, the "
          "Dockerfile and docs/OPERATIONS.md")


def deploy_scripts_parse():
    scripts = [src("deploy", f) for f in sorted(os.listdir(src("deploy")))
               if f.endswith(".sh")]
    scripts.append(src("tests", "deploy", "setup-tools.sh"))
    scripts.append(src("tests", "deploy", "setup-container.sh"))
    expect(len(scripts) >= 4, f"scripts: {scripts}")
    # deploy/lib holds what the scripts source: parsed, not run.
    sourced = [src("deploy", "lib", f)
               for f in sorted(os.listdir(src("deploy", "lib")))]
    expect(sourced, "deploy/lib is empty")
    for s in scripts + sourced:
        r = run("bash", "-n", s)
        expect(r.returncode == 0, f"bash -n {s}:\n{r.stderr}")
        expect(s in sourced or os.access(s, os.X_OK),
               f"{s} is not executable")
    print(f"PASS: {len(scripts)} scripts and {len(sourced)} sourced "
          "files parse")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, cond, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.25)
    fail(f"timed out after {seconds} s waiting for {what}")


def collector_pipeline_forwards_tgprof_profiles():
    """The deployed pipeline end to end on this machine: `tgprof run` with
    the DaemonSet's configuration -> the collector with the ConfigMap's
    configuration -> OTLP/HTTP with the exporter's batching -> a second
    collector in Pyroscope's place (tests/pyroscope/ sends to a real one). Only k8s_attributes is left out: it
    needs a Kubernetes API server at start."""
    otelcol = tool("otelcol-tgprof")
    if os.geteuid() != 0:
        why = "tgprof run needs root (BPF)"
        if IN_CI:
            fail(why + " (CI=true: this test must run)")
        print("SKIP:", why)
        sys.exit(SKIP)
    objs = render()
    up = yaml.safe_load(configmap_data(objs, "otel-collector-config"))
    tg = yaml.safe_load(configmap_data(objs, "tgprof-config"))
    http_port, grpc_port, down_port, metrics_port = \
        free_port(), free_port(), free_port(), free_port()
    up["receivers"]["otlp"]["protocols"] = {
        "http": {"endpoint": f"127.0.0.1:{http_port}"},
        "grpc": {"endpoint": f"127.0.0.1:{grpc_port}"}}
    pipeline = up["service"]["pipelines"]["profiles"]
    pipeline["processors"].remove("k8s_attributes")
    del up["processors"]["k8s_attributes"]
    exporter = [e for e in pipeline["exporters"]
                if e.startswith("pyroscope_otlp")][0]
    up["exporters"][exporter]["endpoint"] = f"http://127.0.0.1:{down_port}"
    up["service"]["telemetry"] = {"metrics": {"level": "none"}}
    down = {"receivers": {"otlp": {"protocols": {"http": {
                "endpoint": f"127.0.0.1:{down_port}"}}}},
            "exporters": {"debug": {"verbosity": "basic"}},
            "service": {"telemetry": {"metrics": {"level": "none"}},
                        "pipelines": {"profiles": {
                            "receivers": ["otlp"],
                            "exporters": ["debug"]}}}}
    tg["exporters"]["otlphttp"]["endpoint"] = f"http://127.0.0.1:{http_port}"
    tg["service"]["telemetry"]["metrics"]["address"] = \
        f"127.0.0.1:{metrics_port}"
    procs = []
    with tempfile.TemporaryDirectory() as d:
        def start(name, args, env=None):
            path = os.path.join(d, name + ".log")
            log = open(path, "w")
            procs.append(subprocess.Popen(args, stdout=log,
                                          stderr=subprocess.STDOUT,
                                          env=env))
            return path

        def text(path):
            with open(path) as f:
                return f.read()

        def records(path):
            return [int(n) for n in
                    re.findall(r'"sample records": (\d+)', text(path))]

        files = {}
        for name, cfg in (("down", down), ("up", up), ("tgprof", tg)):
            files[name] = os.path.join(d, name + ".yaml")
            with open(files[name], "w") as f:
                yaml.safe_dump(cfg, f)
        try:
            down_log = start("down", [otelcol, "--config=file:" +
                                      files["down"],
                                      "--feature-gates=service.profilesSupport"])
            up_log = start("up", [otelcol, "--config=file:" + files["up"],
                                  "--feature-gates=service.profilesSupport"])
            tg_log = start("tgprof", [TGPROF, "run", "--config",
                                      files["tgprof"]],
                           env=dict(os.environ, NODE_NAME="deploy-check"))

            def healthy():
                try:
                    with urllib.request.urlopen(
                            f"http://127.0.0.1:{metrics_port}/healthz",
                            timeout=2) as r:
                        return r.status == 200
                except OSError:
                    return False
            wait_for("tgprof's /healthz to answer 200", healthy, 60)
            wait_for("profiles at the collector in Pyroscope's place",
                     lambda: sum(records(down_log)) > 0, 60)
        finally:
            for p in reversed(procs):
                p.terminate()
            for p in procs:
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
        got, sent = sum(records(down_log)), sum(records(up_log))
        out = text(tg_log)
        expect(got > 0 and sent > 0,
               f"collector: {sent} samples, downstream: {got}\n{out}")
    print(f"PASS: tgprof -> collector ({sent} samples through its debug "
          f"exporter) -> pyroscope_otlp batches -> {got} samples downstream")


CASES = {f.__name__: f for f in (
    kustomize_renders_the_whole_stack,
    manifests_validate_against_kubernetes_schemas,
    schema_validation_catches_a_misspelled_field,
    daemonset_is_least_privilege,
    policy_rejects_each_violation,
    daemonset_matches_its_configuration,
    collector_config_passes_collector_validate,
    collector_without_the_feature_gate_refuses_profiles,
    collector_refuses_the_batch_processor_for_profiles,
    tgprof_configs_pass_tgprof_validate,
    network_policy_admits_only_the_scraper_to_metrics,
    systemd_unit_verifies,
    capabilities_agree_everywhere,
    deploy_scripts_parse,
    collector_pipeline_forwards_tgprof_profiles,
)}


def main():
    global SRC, KUSTOMIZE_DIR
    if len(sys.argv) != 3 or sys.argv[2] not in CASES:
        print(__doc__)
        print("cases:", " ".join(CASES))
        return 2
    SRC = os.path.abspath(sys.argv[1])
    KUSTOMIZE_DIR = src("deploy", "kubernetes")
    CASES[sys.argv[2]]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
