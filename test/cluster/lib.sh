# Shared by the cluster scripts (source it). Everything the running cluster writes lives under
# $STATE; what is built once per machine (binaries, platform images) under $CACHE, keyed by the
# sources and versions that made it, so a second `up` builds nothing.
# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables are the scripts' vocabulary
cluster_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(cd "$cluster_dir/../.." && pwd)
# shellcheck source=test/cluster/versions.env
. "$cluster_dir/versions.env"

STATE=${SECURITY_RECORDS_CLUSTER_STATE:-/tmp/security-records-cluster}
CACHE=${SECURITY_RECORDS_CLUSTER_CACHE:-$HOME/.cache/security-records/cluster}
# The network namespace that holds the whole cluster: node 10.200.0.1 on a veth pair whose both
# ends stay inside it, pods 10.244.0.0/24, services 10.96.0.0/16. Nothing is routed out of it.
NETNS=security-records
NODE_IP=10.200.0.1
NODE_NAME=security-records-node
# The cgroup (v1, every controller) under which kubelet places pods; removed by down.sh.
CGROUP_ROOT=security-records-cluster
PKI=$STATE/pki
export KUBECONFIG=$PKI/admin.kubeconfig
in_netns() { nsenter --net="/var/run/netns/$NETNS" "$@"; }
kc() { in_netns kubectl "$@"; }
ctr_k8s() { ctr --address "$STATE/run/containerd.sock" -n k8s.io "$@"; }
say() { echo "cluster: $*"; }

# The key of everything built from test/cluster/build (and the Go toolchain that builds it).
build_key() {
  (cd "$cluster_dir" && find build versions.env platform -type f | LC_ALL=C sort | xargs cat; go env GOVERSION) | sha256sum | cut -c1-16
}

# start NAME CMD…: CMD in the network namespace, in the background, logged to $STATE/logs/NAME.log.
start() {
  local name=$1; shift
  if [ -f "$STATE/pids/$name" ] && kill -0 "$(cat "$STATE/pids/$name")" 2>/dev/null; then return 0; fi
  nohup nsenter --net="/var/run/netns/$NETNS" nice -n 5 "$@" >"$STATE/logs/$name.log" 2>&1 &
  echo $! >"$STATE/pids/$name"
}
stop() {
  local name pid
  for name in "$@"; do
    [ -f "$STATE/pids/$name" ] || continue
    pid=$(cat "$STATE/pids/$name")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$STATE/pids/$name"
  done
}
# waitfor SECONDS CMD…: until CMD succeeds, or fail after SECONDS.
waitfor() {
  local seconds=$1; shift
  for _ in $(seq 1 "$seconds"); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  echo "cluster: timed out after ${seconds}s waiting for: $*" >&2
  return 1
}
