#!/usr/bin/env bash
# Deploys an overlay in the order a first deploy needs, so nothing waits on a deadline it cannot
# meet and nothing is created before what it resolves (docs/deployment.md, "What a deploy waits
# for"). Re-runnable: run it again to upgrade. The way to deploy every overlay (a bare
# `kubectl apply -k` cannot: the Job template is immutable, and the cluster's OIDC issuer and the
# gateway's keys are filled in here).
#
#   knative/deploy.sh <overlay> [--image REF] [--kn] [--target DIR]
#
#   --image REF   every container runs REF (deploy.yml passes name@sha256:digest); default: the overlay's
#   --kn          the Knative Services go through `kn service create --force` (knative/kn-deploy.sh)
#   --target DIR  offline: render into DIR and let kn write the Services there (`kn --target`); touches
#                 no cluster. Used by the tests to judge exactly what this script would apply.
#
# 1. platform   namespaces, accounts, config (with this cluster's OIDC issuer rendered in), the store
#               (ScyllaCluster or a store of the overlay's own), network policies, ingress
# 2. store      Alternator overlays: wait until the ScyllaCluster is Available, then create the roles,
#               their Secrets and the CA (knative/scripts/alternator-credentials.sh roles)
# 3. table      the create-table Job, deleted and created again (a Job's pod template is immutable),
#               then waited for: it starts only now that the store answers
# 4. grants     Alternator overlays: the application role may use the table's keyspace, nothing else
# 5. eventing   the dead-letter sink (a Knative Service) first and Ready, then the Broker that names it,
#               the Trigger, SinkBindings and EventPolicies; the Broker and SinkBindings waited for, so
#               every function revision created next gets K_SINK injected
# 6. workloads  the sweeper CronJob and the Knative Services (with kubectl, or kn), waited for; then
#               every event-emitting function has K_SINK, the Trigger and EventPolicies are Ready, and
#               ConfigMaps no revision or job names any more are removed
#
# Needs kubectl (v1.27+), node 24 with `npm ci` done (knative/scripts/render.ts), and kn for --kn.
# The Secrets of knative/scripts/create-secrets.sh must exist (checked first).
set -euo pipefail

usage() { echo "usage: knative/deploy.sh <overlay> [--image REF] [--kn] [--target DIR] (overlays: $(ls "$(dirname "$0")/overlays" | tr '\n' ' '))" >&2; exit 2; }
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
  # Sender identity (docs/deployment.md, "Knative Eventing"): the EventPolicies need it, and Knative's
  # webhook refuses them without it; say so before anything is applied.
  oidc=$(kubectl get configmap config-features --namespace knative-eventing -o jsonpath='{.data.authentication-oidc}' 2>/dev/null || true)
  if [ "$oidc" != enabled ]; then
    echo "deploy: Knative Eventing's sender identity is off (config-features authentication-oidc=${oidc:-unset}); first:" >&2
    echo "  kubectl patch configmap config-features -n knative-eventing --type merge -p '{\"data\":{\"authentication-oidc\":\"enabled\"}}'" >&2
    exit 1
  fi
  # ingest-finding checks each broker delivery's OIDC token (the findings Trigger's identity) against
  # this cluster's service-account issuer: issuer and keys from the API server's discovery document,
  # rendered into the ConfigMap's generator so its hashed name changes and the functions roll out.
  discovery=$(kubectl get --raw /.well-known/openid-configuration)
  field() { printf '%s' "$discovery" | node -e 'let s="";process.stdin.on("data",(c)=>s+=c).on("end",()=>console.log(JSON.parse(s)[process.argv[1]]))' "$1"; }
  issuer=$(field issuer)
  jwks_uri=$(field jwks_uri)
  render_args+=(--config "DELIVERY_OIDC_ISSUER=$issuer")
  case "$jwks_uri" in
    https://kubernetes.default.svc*|https://10.*|https://172.*|https://192.168.*)
      # The API server itself publishes the keys (kind, self-managed clusters): ingest-finding asks it
      # by its in-cluster name, trusting the cluster CA (kube-root-ca.crt) and presenting its own
      # service account token, which Kubernetes' default binding of system:service-account-issuer-discovery
      # to system:serviceaccounts lets read them. Nothing is granted to unauthenticated callers.
      render_args+=(--config "DELIVERY_OIDC_JWKS_URL=https://kubernetes.default.svc/openid/v1/jwks"
        --config "DELIVERY_OIDC_CA_FILE=/var/run/secrets/security-records/kube-api/ca.crt"
        --config "DELIVERY_OIDC_TOKEN_FILE=/var/run/secrets/security-records/kube-api/token") ;;
    *) render_args+=(--config "DELIVERY_OIDC_JWKS_URL=$jwks_uri") ;;
  esac
fi
node "$here/scripts/render.ts" "${render_args[@]}"
rendered=${target:-$work/rendered}
# shellcheck source=/dev/null
. "$rendered/facts.env"
rm -f "$work/signing-keys.json"

# Server-side apply; this script owns these objects, also fields an earlier `kubectl apply` set.
apply() { kubectl apply --server-side --force-conflicts --field-manager=security-records-deploy -f "$1"; }

# apply_services FILE…: Knative Services, with kubectl (the one file of a phase) or kn (a file per Service).
apply_services() {
  local file name
  if [ -z "$with_kn" ]; then
    apply "$1"
    return
  fi
  [ -z "$target" ] || mkdir -p "$target/kn"
  for file in "$@"; do
    name=$(basename "$file" .yaml)
    say "kn service create $name --force"
    # --force replaces the Service when it exists, so a re-run upgrades it; kn waits for the revision.
    # Server-generated revision names: the SinkBinding does not inject K_SINK into a Service whose
    # revision names the client picks (knative/eventing#4106).
    kn service create "$name" --namespace "$NAMESPACE" --filename "$file" --force --revision-name "" \
      ${target:+--target "$target/kn"} --wait-timeout 600
  done
}
dead_letter_services() { if [ -z "$with_kn" ]; then echo "$rendered/dead-letters.yaml"; else ls "$rendered"/dead-letters/*.yaml; fi; }
function_services() { if [ -z "$with_kn" ]; then echo "$rendered/services.yaml"; else ls "$rendered"/services/*.yaml; fi; }

if [ -n "$target" ]; then
  if [ -n "$with_kn" ]; then
    # shellcheck disable=SC2046  # one path per line, no spaces
    apply_services $(dead_letter_services) $(function_services)
  fi
  say "rendered into $target (nothing applied)"
  exit 0
fi

if [ "$INGRESS" = istio ]; then
  # The JWT policies select the public gateway's pods; they must not also carry the local gateway.
  if ! local_gateway=$(kubectl get service knative-local-gateway --namespace istio-system -o jsonpath='{.spec.selector.istio}' 2>/dev/null); then
    echo "deploy: this overlay routes through Istio, but istio-system has no Service knative-local-gateway: install Knative's" \
      "Istio networking layer (net-istio) first, then: kubectl apply --server-side --force-conflicts -k knative/cluster/istio" >&2
    exit 1
  fi
  if [ "$local_gateway" = ingressgateway ]; then
    echo "deploy: knative-local-gateway runs on the public gateway's pods; first: kubectl apply --server-side --force-conflicts -k knative/cluster/istio" >&2
    exit 1
  fi
fi

# EKS: the IAM roles' account is filled in by knative/scripts/set-eks-account.sh; the example one is not yours.
if grep -q 'arn:aws:iam::111122223333:' "$rendered/platform.yaml"; then
  echo "deploy: the ServiceAccounts still name the example AWS account 111122223333: run knative/scripts/set-eks-account.sh <your account id> first" >&2
  exit 1
fi

say "1/6 platform: $(grep -c '^kind:' "$rendered/platform.yaml") objects"
apply "$rendered/platform.yaml"

if [ "$STORE" = alternator ]; then
  say "2/6 store: waiting for the ScyllaCluster, then its roles and CA"
  TABLE_NAME=$TABLE_NAME "$here/scripts/alternator-credentials.sh" roles
fi

say "3/6 table: job/$TABLE_JOB"
# A store of the overlay's own (a Deployment) answers once it is Available.
if [ -n "$STORE_DEPLOYMENTS" ]; then
  for deployment in $STORE_DEPLOYMENTS; do
    kubectl wait "deployment/$deployment" --namespace "$NAMESPACE" --for=condition=Available --timeout=5m
  done
fi
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

say "5/6 eventing: the dead-letter sink, then the Broker, Trigger, SinkBindings and EventPolicies"
# The Broker publishes no address while its dead-letter sink does not resolve (eventing v0.45.0
# pkg/reconciler/broker/broker.go), and a SinkBinding without the Broker's address injects no K_SINK:
# so the sink first, Ready, then the Broker and the bindings, Ready, and only then the functions.
# shellcheck disable=SC2046  # one path per line, no spaces
apply_services $(dead_letter_services)
kubectl wait ksvc/dead-letters --namespace "$NAMESPACE" --for=condition=Ready --timeout=10m
apply "$rendered/eventing.yaml"
kubectl wait broker --all --namespace "$NAMESPACE" --for=condition=Ready --timeout=5m
kubectl wait sinkbinding --all --namespace "$NAMESPACE" --for=condition=Ready --timeout=5m

say "6/6 workloads: $(grep -c '^kind: CronJob' "$rendered/cronjobs.yaml") CronJob, $(ls "$rendered"/services | wc -l) Knative Services"
apply "$rendered/cronjobs.yaml"
# shellcheck disable=SC2046  # one path per line, no spaces
apply_services $(function_services)
kubectl wait ksvc --all --namespace "$NAMESPACE" --for=condition=Ready --timeout=10m
label=security-records.mediamarktsaturn.com/emits-events=true
for name in $(kubectl get ksvc --namespace "$NAMESPACE" -l "$label" -o jsonpath='{.items[*].metadata.name}'); do
  sink=$(kubectl get ksvc "$name" --namespace "$NAMESPACE" -o jsonpath='{.spec.template.spec.containers[0].env[?(@.name=="K_SINK")].value}')
  [ -n "$sink" ] || { echo "deploy: $name has no K_SINK although its SinkBinding is Ready (kubectl get sinkbinding -n $NAMESPACE)" >&2; exit 1; }
done
kubectl wait trigger --all --namespace "$NAMESPACE" --for=condition=Ready --timeout=5m
# Ready once every sender they name resolved to an identity (the Trigger's, the bindings').
kubectl wait eventpolicy --all --namespace "$NAMESPACE" --for=condition=Ready --timeout=5m

# Each config change made a ConfigMap with a new hashed name; keep the ones a revision, Job or
# CronJob still names (an older revision may serve again), remove the rest.
in_use=$(kubectl get revisions,jobs,cronjobs --namespace "$NAMESPACE" -o json | node -e '
  let s = ""; process.stdin.on("data", (c) => s += c).on("end", () => {
    const names = new Set([...s.matchAll(/"name":\s*"(security-records-config-[a-z0-9]+)"/g)].map((m) => m[1]))
    console.log([...names].join(" "))
  })')
for config in $(kubectl get configmaps --namespace "$NAMESPACE" -o name | sed -n 's#^configmap/\(security-records-config-[a-z0-9]*\)$#\1#p'); do
  case " $in_use " in
    *" $config "*) ;;
    *) kubectl delete configmap "$config" --namespace "$NAMESPACE" ;;
  esac
done
kubectl get ksvc --namespace "$NAMESPACE"
say "done"
