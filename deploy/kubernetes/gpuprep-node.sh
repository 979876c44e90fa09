#!/bin/sh
# The DaemonSet's loop (installed in the image as /usr/local/bin/gpuprep-node): choose the
# profile from this node's gpuprep.dev/profile label, apply the layout as at boot, publish what
# the node now has as Node Feature Discovery labels (gpuprep export nfd), mark the pod ready,
# and do it again every GPUPREP_INTERVAL seconds. A refusal (a vGPU a VM uses, more
# than a GPU can take) changes nothing and is logged; the pod keeps running, not ready until
# one apply has succeeded. With GPUPREP_METRICS_DIR (node_exporter's textfile directory, mounted
# from the host), every round also writes gpuprep.prom there (gpuprep metrics --textfile): the
# last apply's result included, refused or not.
set -u
sa=/var/run/secrets/kubernetes.io/serviceaccount
profile=""
if [ -n "${NODE_NAME:-}" ] && [ -r "$sa/token" ]; then
  labels=$(curl -fsS --cacert "$sa/ca.crt" -H "Authorization: Bearer $(cat "$sa/token")" \
    "https://kubernetes.default.svc/api/v1/nodes/$NODE_NAME") || { echo "gpuprep-node: cannot read node $NODE_NAME" >&2; exit 1; }
  profile=$(printf '%s' "$labels" | jq -r '.metadata.labels["gpuprep.dev/profile"] // empty')
fi
set -- --root /host -f /etc/gpuprep/gpuprep.yaml
[ -n "$profile" ] && set -- "$@" --profile "$profile"
echo "gpuprep-node: node ${NODE_NAME:-?}, profile ${profile:-(the file as it is)}"
features=/host/etc/kubernetes/node-feature-discovery/features.d
publish() {
  # Written beside, then renamed: NFD never reads half a file.
  gpuprep export nfd --root /host > "$features/.gpuprep.tmp" && mv "$features/.gpuprep.tmp" "$features/gpuprep"
}
metrics() {
  [ -z "${GPUPREP_METRICS_DIR:-}" ] || gpuprep metrics --root /host --textfile "$GPUPREP_METRICS_DIR" || echo "gpuprep-node: metrics not written" >&2
}
gpuprep apply --boot "$@" && publish && touch /run/gpuprep-node/applied
metrics
while sleep "${GPUPREP_INTERVAL:-300}"; do
  gpuprep apply "$@" && publish && touch /run/gpuprep-node/applied
  metrics
done
