#!/usr/bin/env bash
# `npm run cluster:e2e`: the local cluster up from a clean state, the project deployed with
# knative/deploy.sh, the whole scenario (test/cluster/e2e.ts), then deployed again with
# knative/kn-deploy.sh and a second, shorter run; down at the end, also when a step fails.
# Prints each part's time.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "cluster: run as root (network namespace, cgroups, mounts)" >&2; exit 1; }
finish() {
  local status=$?
  if [ "$status" != 0 ] && [ -d "$STATE/logs" ]; then
    echo "cluster e2e failed (exit $status); the cluster as it was:" >&2
    kc get ksvc,pods,broker,trigger,sinkbinding,eventpolicy -A 2>&1 | tail -60 >&2 || true
    kc get events -n security-records --sort-by=.lastTimestamp 2>&1 | tail -30 >&2 || true
  fi
  "$cluster_dir/down.sh"
  exit "$status"
}
trap finish EXIT
"$cluster_dir/down.sh" >/dev/null   # a clean state: nothing left from an earlier run
timings=()
part() { local label=$1 began=$SECONDS; shift; "$@"; timings+=("$label $((SECONDS - began)) s"); say "$label took $((SECONDS - began)) s"; }

part "platform (build + cluster)" "$cluster_dir/up.sh" --platform-only
deploy_started=$SECONDS
part "deploy.sh local-cluster" "$cluster_dir/deploy-project.sh"
echo "deploy.sh start to all Ready: $((SECONDS - deploy_started)) s" >"$STATE/deploy-seconds.txt"

kn_dir=$(bash "$repo_dir/test/knative/upstream/build.sh")
scenario() {
  # The clients' secrets, the ingress address and Host, for the scenario; only inside the namespace.
  set -a; . "$STATE/clients.env"; set +a
  in_netns env STATE="$STATE" KN="$kn_dir/kn" CGROUP_ROOT="$CGROUP_ROOT" \
    INGRESS="http://$(kc -n traefik get service traefik -o jsonpath='{.spec.clusterIP}')" \
    HOST="$(sed -nE 's#^AUTH_ISSUER=https?://##p' "$repo_dir/knative/overlays/local-cluster/site/site.env")" \
    "$@" node "$cluster_dir/e2e.ts"
}
part "scenario" scenario
part "kn-deploy.sh local-cluster (upgrade)" "$cluster_dir/deploy-project.sh" --kn
part "scenario after kn-deploy.sh (smoke)" scenario E2E_SMOKE=1
[ -z "${E2E_FIGURES:-}" ] || cp "$STATE/e2e-figures.json" "$E2E_FIGURES"
say "e2e passed: ${timings[*]}"
