#!/usr/bin/env python3
"""deploy/kubernetes checked as Kubernetes would read it, without a cluster: every document
parses as YAML and has what its kind must have; the DaemonSet's pods mount only volumes they
define and use every volume they define, run privileged (they write sysfs), read the node's
labels through a service account that may get nodes and nothing else, and run the program the
image installs; the ConfigMap's layout, and each of its profiles, is one gpuprep reads (planned on a sample host).

usage: Tests/deploy/check-manifests.py GPUPREP SAMPLE_HOST
"""
import os, subprocess, sys, tempfile
import yaml

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy", "kubernetes")
gpuprep, sample = sys.argv[1], sys.argv[2]
failures = []

def fail(message):
    failures.append(message)

documents = {}
for name in sorted(os.listdir(here)):
    if not name.endswith(".yaml"):
        continue
    with open(os.path.join(here, name)) as f:
        for doc in yaml.safe_load_all(f):
            if doc is None:
                continue
            if name == "kustomization.yaml":
                missing = [r for r in doc["resources"] if not os.path.exists(os.path.join(here, r))]
                if missing:
                    fail(f"kustomization.yaml lists missing files: {missing}")
                listed = set(doc["resources"])
                continue
            for key in ("apiVersion", "kind", "metadata"):
                if key not in doc:
                    fail(f"{name}: a document without {key}")
            if "name" not in doc.get("metadata", {}):
                fail(f"{name}: a {doc.get('kind')} without metadata.name")
            documents.setdefault(doc["kind"], []).append((name, doc))

for kind in ("Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "DaemonSet"):
    if kind not in documents:
        fail(f"no {kind}")
if set(n for docs in documents.values() for n, _ in docs) - listed:
    fail("kustomization.yaml does not list every manifest")

namespace = documents["Namespace"][0][1]["metadata"]["name"]
daemonset = documents["DaemonSet"][0][1]
spec = daemonset["spec"]
if spec["selector"]["matchLabels"].items() > spec["template"]["metadata"]["labels"].items():
    fail("the DaemonSet's selector does not match its pods' labels")
pod = spec["template"]["spec"]
if daemonset["metadata"].get("namespace") != namespace:
    fail("the DaemonSet is not in the namespace")
volumes = {v["name"]: v for v in pod["volumes"]}
used = set()
for container in pod.get("initContainers", []) + pod["containers"]:
    for key in ("name", "image"):
        if key not in container:
            fail(f"a container without {key}")
    if not container.get("securityContext", {}).get("privileged"):
        fail(f"container {container['name']} is not privileged: it cannot write sysfs or load modules")
    for mount in container.get("volumeMounts", []):
        if mount["name"] not in volumes:
            fail(f"container {container['name']} mounts undefined volume {mount['name']}")
        used.add(mount["name"])
        if mount["mountPath"].startswith("/host/") and mount["name"] not in ("sys", "run", "nfd", "records") and not mount.get("readOnly"):
            fail(f"{mount['mountPath']} is writable: gpuprep only reads it")
if set(volumes) - used:
    fail(f"volumes no container mounts: {sorted(set(volumes) - used)}")
main = pod["containers"][0]
with open(os.path.join(here, "Dockerfile")) as f:
    dockerfile = f.read()
if main["command"][0] != "/usr/local/bin/gpuprep-node" or "/usr/local/bin/gpuprep-node" not in dockerfile:
    fail("the container runs a program the image does not install")
with open(os.path.join(here, "gpuprep-node.sh")) as f:
    loop = f.read()
nfd = next((m for m in main["volumeMounts"] if m["name"] == "nfd"), None)
if nfd is None or volumes["nfd"]["hostPath"]["path"] != "/etc/kubernetes/node-feature-discovery/features.d" \
        or nfd["mountPath"] != "/host" + volumes["nfd"]["hostPath"]["path"] or "gpuprep export nfd --root /host" not in loop:
    fail("the NFD feature file is not written where NFD's local source reads it")
if not any(e["name"] == "NODE_NAME" and e["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName" for e in main["env"]):
    fail("NODE_NAME is not the pod's node (the profile comes from its label)")

account = documents["ServiceAccount"][0][1]["metadata"]["name"]
if pod["serviceAccountName"] != account:
    fail("the pods do not run as the service account")
rules = documents["ClusterRole"][0][1]["rules"]
if rules != [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}]:
    fail(f"the role may do more than get nodes: {rules}")
binding = documents["ClusterRoleBinding"][0][1]
if binding["subjects"] != [{"kind": "ServiceAccount", "name": account, "namespace": namespace}]:
    fail("the role is bound to another subject")

script = os.path.join(here, "gpuprep-node.sh")
if subprocess.run(["sh", "-n", script]).returncode != 0:
    fail("gpuprep-node.sh is not valid sh")

configmap = documents["ConfigMap"][0][1]
mount = next(m for m in main["volumeMounts"] if volumes[m["name"]].get("configMap", {}).get("name") == configmap["metadata"]["name"])
with open(script) as f:
    if f"{mount['mountPath']}/gpuprep.yaml" not in f.read():
        fail("gpuprep-node.sh does not read the ConfigMap's file where it is mounted")
layout = configmap["data"]["gpuprep.yaml"]
with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
    f.write(layout)
profiles = [None] + list(yaml.safe_load(layout).get("profiles", {}))
for profile in profiles:
    argv = [gpuprep, "apply", "--check", "--root", sample, "-f", f.name] + (["--profile", profile] if profile else [])
    run = subprocess.run(argv, capture_output=True, text=True)
    # 64: a file gpuprep cannot read (a refusal, 65, is about the sample host's state, not the file).
    if run.returncode in (64, 66) or run.returncode > 66:
        fail(f"the ConfigMap's layout{f' (profile {profile})' if profile else ''} is not one gpuprep reads: {run.stderr.strip()}")
os.unlink(f.name)

for failure in failures:
    print("FAIL:", failure)
print(f"check-manifests: {sum(len(d) for d in documents.values())} manifests, {len(profiles)} layouts, {len(failures)} problems")
sys.exit(1 if failures else 0)
