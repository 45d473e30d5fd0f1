#!/usr/bin/env bash
# Deploys an overlay in the order a first deploy needs, so nothing waits on a deadline it cannot
# meet (docs/deployment.md, "What a deploy waits for"). Re-runnable: run it again to upgrade.
#
#   knative/deploy.sh <gke|aks|eks|kind> [--image REF] [--kn] [--target DIR]
#
#   --image REF   every container runs REF (deploy.yml passes name@sha256:digest); default: the overlay's
#   --kn          the Knative Services go through `kn service create --force` (knative/kn-deploy.sh)
#   --target DIR  offline: render into DIR and let kn write the Services there (`kn --target`); touches
#                 no cluster. Used by the tests to judge exactly what this script would apply.
#
# 1. platform   namespaces, accounts, config, the store (ScyllaCluster), eventing, ingress
# 2. store      Alternator overlays: wait until the ScyllaCluster is Available, then create the roles,
#               their Secrets and the CA (knative/scripts/alternator-credentials.sh roles)
# 3. table      the create-table Job, deleted and created again (a Job's pod template is immutable),
#               then waited for: it starts only now that the store answers
# 4. grants     Alternator overlays: the application role may use the table's keyspace, nothing else
# 5. workloads  the sweeper CronJob and the Knative Services (with kubectl, or kn), waited for
# 6. check      every event-emitting function has K_SINK; broker, Trigger, SinkBindings, EventPolicies Ready
#
# Needs kubectl (v1.27+), node 24 with `npm ci` done (knative/scripts/render.ts), and kn for --kn.
# The Secrets of knative/scripts/create-secrets.sh must exist (checked first).
set -euo pipefail

usage() { echo "usage: knative/deploy.sh <gke|aks|eks|kind> [--image REF] [--kn] [--target DIR]" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
overlay=${1:-}
[ -n "$overlay" ] || usage
shift
image='' with_kn='' target=''
while [ $# -gt 0 ]; do
  case "$1" in
    --image) image=${2:?--image needs a value}; shift 2 ;;
    --kn) with_kn=1; shift ;;
    --target) target=${2:?--target needs a directory}; shift 2 ;;
    *) usage ;;
  esac
done
[ -d "$here/overlays/$overlay" ] || { echo "deploy: no overlay $overlay (have: $(ls "$here/overlays" | tr '\n' ' '))" >&2; exit 2; }
tools=(kubectl node)
[ -n "$with_kn" ] && tools+=(kn)
for tool in "${tools[@]}"; do command -v "$tool" >/dev/null || { echo "deploy: $tool is not on PATH" >&2; exit 2; }; done

work=$(mktemp -d)
chmod 700 "$work"
trap 'rm -rf "$work"' EXIT
say() { echo "deploy: $*"; }

render_args=("$overlay" --out "${target:-$work/rendered}")
[ -n "$image" ] && render_args+=(--image "$image")
namespace=security-records

if [ -z "$target" ]; then
  for secret in security-records-cursor security-records-auth; do
    kubectl get secret "$secret" --namespace "$namespace" >/dev/null 2>&1 \
      || { echo "deploy: Secret $namespace/$secret is missing: run knative/scripts/create-secrets.sh first" >&2; exit 1; }
  done
  # mock-auth's keys, inline at the gateway (knative/scripts/render.ts says why); the private set
  # stays in this private directory and is removed on exit.
  kubectl get secret security-records-auth --namespace "$namespace" -o jsonpath='{.data.signing-keys\.json}' \
    | base64 -d > "$work/signing-keys.json"
  render_args+=(--signing-keys "$work/signing-keys.json")
fi
node "$here/scripts/render.ts" "${render_args[@]}"
rendered=${target:-$work/rendered}
# shellcheck source=/dev/null
. "$rendered/facts.env"
rm -f "$work/signing-keys.json"

# Server-side apply; this script owns these objects, also fields an earlier `kubectl apply` set.
apply() { kubectl apply --server-side --force-conflicts --field-manager=security-records-deploy -f "$1"; }

apply_services() { # the Knative Services, with kubectl or kn
  if [ -z "$with_kn" ]; then
    apply "$rendered/services.yaml"
    kubectl wait ksvc --all --namespace "$NAMESPACE" --for=condition=Ready --timeout=10m
    return
  fi
  local file name
  [ -z "$target" ] || mkdir -p "$target/kn"
  for file in "$rendered"/services/*.yaml; do
    name=$(basename "$file" .yaml)
    say "kn service create $name --force"
    # --force replaces the Service when it exists, so a re-run upgrades it; kn waits for the revision.
    # Server-generated revision names: the SinkBinding does not inject K_SINK into a Service whose
    # revision names the client picks (knative/eventing#4106).
    kn service create "$name" --namespace "$NAMESPACE" --filename "$file" --force --revision-name "" \
      ${target:+--target "$target/kn"} --wait-timeout 600
  done
}

if [ -n "$target" ]; then
  [ -z "$with_kn" ] || apply_services
  say "rendered into $target (nothing applied)"
  exit 0
fi

# The JWT policies select the public gateway's pods; they must not also carry the local gateway.
local_gateway=$(kubectl get service knative-local-gateway --namespace istio-system -o jsonpath='{.spec.selector.istio}')
if [ "$local_gateway" = ingressgateway ]; then
  echo "deploy: knative-local-gateway runs on the public gateway's pods; first: kubectl apply --server-side --force-conflicts -k knative/cluster/istio" >&2
  exit 1
fi

# Sender identity (docs/deployment.md, "Knative Eventing"): the EventPolicies need it, and Knative's
# webhook refuses them without it; say so before anything is applied.
oidc=$(kubectl get configmap config-features --namespace knative-eventing -o jsonpath='{.data.authentication-oidc}')
if [ "$oidc" != enabled ]; then
  echo "deploy: Knative Eventing's sender identity is off (config-features authentication-oidc=${oidc:-unset}); first:" >&2
  echo "  kubectl patch configmap config-features -n knative-eventing --type merge -p '{\"data\":{\"authentication-oidc\":\"enabled\"}}'" >&2
  exit 1
fi

say "1/6 platform: $(grep -c '^kind:' "$rendered/platform.yaml") objects"
apply "$rendered/platform.yaml"

if [ "$STORE" = alternator ]; then
  say "2/6 store: waiting for the ScyllaCluster, then its roles and CA"
  TABLE_NAME=$TABLE_NAME "$here/scripts/alternator-credentials.sh" roles
fi

say "3/6 table: job/$TABLE_JOB"
kubectl delete job "$TABLE_JOB" --namespace "$NAMESPACE" --ignore-not-found --wait=true
apply "$rendered/table-job.yaml"
# Complete or failed, whichever comes first; the Job's own deadline bounds the wait.
while :; do
  state=$(kubectl get job "$TABLE_JOB" --namespace "$NAMESPACE" \
    -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}')
  case " $state " in
    *" Complete "*) break ;;
    *" Failed "*)
      kubectl logs "job/$TABLE_JOB" --namespace "$NAMESPACE" --tail=50 >&2 || true
      echo "deploy: job/$TABLE_JOB failed" >&2; exit 1 ;;
  esac
  sleep 5
done

if [ "$STORE" = alternator ]; then
  say "4/6 grants on the table's keyspace"
  TABLE_NAME=$TABLE_NAME "$here/scripts/alternator-credentials.sh" grants
fi

say "5/6 workloads"
# ingest-finding checks each broker delivery's OIDC token (the findings Trigger's identity) against
# this cluster's service-account issuer: take issuer and keys from the API server's discovery document.
discovery=$(kubectl get --raw /.well-known/openid-configuration)
field() { printf '%s' "$discovery" | node -e 'let s="";process.stdin.on("data",(c)=>s+=c).on("end",()=>console.log(JSON.parse(s)[process.argv[1]]))' "$1"; }
issuer=$(field issuer)
jwks_uri=$(field jwks_uri)
kubectl patch configmap security-records-config --namespace "$NAMESPACE" --type merge \
  -p "{\"data\":{\"DELIVERY_OIDC_ISSUER\":\"$issuer\",\"DELIVERY_OIDC_JWKS_URL\":\"$jwks_uri\"}}"
case "$jwks_uri" in
  https://kubernetes.default.svc*|https://10.*|https://172.*|https://192.168.*)
    # The API server itself publishes the keys (kind, self-managed clusters): let pods read them
    # without credentials, and trust the cluster CA for that call.
    kubectl create clusterrolebinding security-records-oidc-discovery --clusterrole=system:service-account-issuer-discovery \
      --group=system:unauthenticated --dry-run=client -o yaml | kubectl apply -f -
    kubectl patch configmap security-records-config --namespace "$NAMESPACE" --type merge \
      -p '{"data":{"NODE_EXTRA_CA_CERTS":"/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"}}' ;;
esac
apply "$rendered/cronjobs.yaml"
apply_services

say "6/6 checks"
label=security-records.mediamarktsaturn.com/emits-events=true
for name in $(kubectl get ksvc --namespace "$NAMESPACE" -l "$label" -o jsonpath='{.items[*].metadata.name}'); do
  sink=$(kubectl get ksvc "$name" --namespace "$NAMESPACE" -o jsonpath='{.spec.template.spec.containers[0].env[?(@.name=="K_SINK")].value}')
  [ -n "$sink" ] || { echo "deploy: $name has no K_SINK; is Knative Eventing installed? (kubectl get sinkbinding -n $NAMESPACE)" >&2; exit 1; }
done
kubectl wait broker/security-records trigger/ingest-finding --namespace "$NAMESPACE" --for=condition=Ready --timeout=5m
kubectl wait sinkbinding --all --namespace "$NAMESPACE" --for=condition=Ready --timeout=5m
# Ready once every sender they name resolved to an identity (the Trigger's, the bindings').
kubectl wait eventpolicy --all --namespace "$NAMESPACE" --for=condition=Ready --timeout=5m
kubectl get ksvc --namespace "$NAMESPACE"
say "done"
