#!/usr/bin/env bash
# Deploys an overlay with the kn CLI instead of `kubectl apply -k`: the same rendered manifests,
# but every function goes through `kn service apply`, which waits until its revision is ready and
# prints its URL. Everything that is not a Knative Service (config, accounts, store, ingress, the
# create-table Job, the broker, Trigger, SinkBindings and sweeper CronJob) is applied with kubectl
# first, so the SinkBindings are in place when the functions are created.
#
#   knative/kn-deploy.sh <gke|aks|eks|kind> [image]
#     image: e.g. ghcr.io/mediamarktsaturn/security-records:<sha>; default: the overlay's image
#
# Needs kubectl (with kustomize, v1.27+) and kn (v1.15+), both pointed at the target cluster.
set -euo pipefail

overlay=${1:?usage: kn-deploy.sh <gke|aks|eks|kind> [image]}
image=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
dir="$here/overlays/$overlay"
[ -d "$dir" ] || { echo "kn-deploy: no overlay $overlay (have: $(ls "$here/overlays" | tr '\n' ' '))" >&2; exit 2; }
for tool in kubectl kn; do command -v "$tool" >/dev/null || { echo "kn-deploy: $tool is not on PATH" >&2; exit 2; }; done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Render once (with the image swapped in when one is given), then split into one file per object.
kubectl kustomize "$dir" > "$work/all.yaml"
if [ -n "$image" ]; then
  current=$(awk '$1 == "image:" { print $2; exit }' "$work/all.yaml")
  sed -i "s#image: ${current}\$#image: ${image}#" "$work/all.yaml"
fi
awk -v dir="$work" '
  /^---$/ { n++; next }
  { print > sprintf("%s/%03d.yaml", dir, n) }
' "$work/all.yaml"

functions=()
others=()
for file in "$work"/[0-9][0-9][0-9].yaml; do
  if grep -q '^apiVersion: serving.knative.dev/v1$' "$file" && grep -q '^kind: Service$' "$file"; then
    functions+=("$file")
  else
    others+=("$file")
  fi
done

namespace=security-records
job=security-records-create-table
echo "kn-deploy: applying ${#others[@]} supporting objects with kubectl"
# A Job's pod template is immutable: the previous run goes, the new one creates the table if missing.
kubectl delete job "$job" --namespace "$namespace" --ignore-not-found
args=()
for file in "${others[@]}"; do args+=(-f "$file"); done
kubectl apply --server-side "${args[@]}"
echo "kn-deploy: waiting for the table (job/$job)"
kubectl wait --namespace "$namespace" --for=condition=complete "job/$job" --timeout=15m

for file in "${functions[@]}"; do
  name=$(awk '/^metadata:/ { inmeta = 1; next } inmeta && /^  name: / { print $2; exit }' "$file")
  echo "kn-deploy: kn service apply $name"
  # Server-generated revision names: Knative's SinkBinding does not inject K_SINK into a Service
  # whose revision names the client picks (knative/eventing#4106).
  kn service apply "$name" --namespace "$namespace" --filename "$file" --revision-name "" --wait-timeout 300
done

# The functions that emit record events must have K_SINK by now (SinkBinding security-records-functions).
label=security-records.mediamarktsaturn.com/emits-events=true
for name in $(kubectl get ksvc --namespace "$namespace" -l "$label" -o jsonpath='{.items[*].metadata.name}'); do
  sink=$(kubectl get ksvc "$name" --namespace "$namespace" -o jsonpath='{.spec.template.spec.containers[0].env[?(@.name=="K_SINK")].value}')
  [ -n "$sink" ] || { echo "kn-deploy: $name has no K_SINK; is Knative Eventing installed? (kubectl get sinkbinding -n $namespace)" >&2; exit 1; }
done

echo "kn-deploy: done; kn service list -n $namespace"
kn service list --namespace "$namespace"
