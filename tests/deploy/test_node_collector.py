#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The one-process-per-node variant (deploy/kubernetes-node-collector):
kustomize renders it; its DaemonSet keeps the base's least privilege (the
same policy test_deploy.py holds the base to, the same seven
capabilities) and runs otelcol-tgprof on the ConfigMap it mounts; that
configuration passes `otelcol-tgprof validate`, the tgprof receiver's keys
checked by the plugin.

usage: test_node_collector.py SOURCE_DIR
environment: TGPROF_DEPLOY_TOOLS (tests/deploy/setup-tools.sh's folder),
TGPROF_COLLECTOR (otelcol-tgprof built with cgo), TGPROF_RECEIVER_PLUGIN.
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_deploy as td  # noqa: E402

COLLECTOR = os.environ.get("TGPROF_COLLECTOR", "")
PLUGIN = os.environ.get("TGPROF_RECEIVER_PLUGIN", "")


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    td.SRC = os.path.abspath(sys.argv[1])
    overlay = os.path.join(td.SRC, "deploy", "kubernetes-node-collector")
    for name, path in (("TGPROF_COLLECTOR", COLLECTOR),
                       ("TGPROF_RECEIVER_PLUGIN", PLUGIN)):
        td.expect(path and os.path.exists(path), "%s=%r" % (name, path))
    objs = td.render(overlay)
    ds = td.find(objs, "DaemonSet", "tgprof")
    bad = td.policy_violations(ds)
    td.expect(not bad, "policy violations:\n  " + "\n  ".join(bad))
    c = td.pod_spec(ds)["containers"][0]
    added = {x.upper() for x in c["securityContext"]["capabilities"]["add"]}
    td.expect(added == td.CAPABILITIES, "the variant adds %s, expected "
              "exactly %s" % (sorted(added), sorted(td.CAPABILITIES)))
    td.expect(c["command"] == ["/opt/tgprof/otelcol-tgprof"] and
              "--config=/etc/tgprof/config.yaml" in c["args"] and
              "--feature-gates=service.profilesSupport" in c["args"],
              "the container does not run otelcol-tgprof on its "
              "ConfigMap: %s %s" % (c.get("command"), c.get("args")))
    ports = {p["containerPort"] for p in c["ports"]}
    probes = {c[p]["httpGet"]["port"] for p in
              ("startupProbe", "livenessProbe", "readinessProbe")}
    td.expect(ports == {8888} and probes == {"metrics"},
              "ports %s, probes on %s" % (ports, probes))
    config = td.configmap_data(objs, "tgprof-config")
    with open(os.path.join(overlay, "config",
                           "otel-collector-node.yaml")) as f:
        td.expect(f.read() == config, "the ConfigMap is not "
                  "config/otel-collector-node.yaml")
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "config.yaml")
        with open(path, "w") as f:
            f.write(config)
        # The image has the plugin next to the collector; here the build's.
        override = os.path.join(d, "override.yaml")
        with open(override, "w") as f:
            json.dump({"receivers": {"tgprof": {"library": PLUGIN}}}, f)
        env = dict(os.environ, NODE_NAME="node-1", POD_IP="10.0.0.7")
        r = subprocess.run([COLLECTOR, "validate", "--config=file:" + path,
                            "--config=file:" + override,
                            "--feature-gates=service.profilesSupport"],
                           capture_output=True, text=True, env=env,
                           timeout=120)
        td.expect(r.returncode == 0, "otelcol-tgprof validate refused the "
                  "node configuration:\n" + r.stdout + r.stderr)
    print("PASS: the node-collector variant renders, keeps the seven "
          "capabilities and the policy, runs otelcol-tgprof on its "
          "ConfigMap, which passes validate (the plugin's keys)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
