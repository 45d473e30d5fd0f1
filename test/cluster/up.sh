#!/usr/bin/env bash
# Brings up a real single-node Kubernetes with Knative Serving and Eventing inside the network
# namespace "security-records" (lib.sh), then deploys the project the way a user does, with
# knative/deploy.sh and the local-cluster overlay (`--kn`: through knative/kn-deploy.sh). Left
# running; test/cluster/down.sh removes it. Idempotent: a second run finds what runs and goes on.
#
#   npm run cluster:up [-- --kn] [-- --platform-only]
#
# Needs root (network namespace, cgroups, mounts), Debian's packages (installed when missing), Go
# >= 1.24 (.ci/run installs one) and node 24 after `npm ci`.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
deploy_args=() platform_only=''
for argument in "$@"; do
  case $argument in
    --kn) deploy_args+=(--kn) ;;
    --platform-only) platform_only=1 ;;
    *) echo "usage: test/cluster/up.sh [--kn] [--platform-only]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "cluster: run as root (network namespace, cgroups, mounts)" >&2; exit 1; }
started=$SECONDS
phase() { say "$1 ($((SECONDS - started)) s)"; }

missing=()
for command in patch containerd runc etcd podman debootstrap iptables conntrack socat openssl curl; do
  command -v "$command" >/dev/null || missing+=("$command")
done
[ -x /usr/lib/cni/bridge ] || missing+=(cni)
if [ ${#missing[@]} -gt 0 ]; then
  phase "installing Debian packages (missing: ${missing[*]})"
  # shellcheck disable=SC2086  # the list is words
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $DEBIAN_PACKAGES; } >/dev/null
fi

phase "building (cached under $CACHE)"
built=$("$cluster_dir/build.sh")
mkdir -p "$STATE"/{logs,pids,run,pki,cni/net.d,kubelet,containerd}
chmod 700 "$STATE"
render() { sed -e "s#@STATE@#$STATE#g" -e "s#@CGROUP_ROOT@#$CGROUP_ROOT#g" "$cluster_dir/platform/$1" >"$2"; }
render containerd.toml "$STATE/containerd/config.toml"
render kubelet.yaml "$STATE/kubelet/config.yaml"
render cni.conflist "$STATE/cni/net.d/10-security-records.conflist"
printf 'nameserver 10.96.0.10\nsearch svc.cluster.local cluster.local\n' >"$STATE/kubelet/resolv.conf"

phase "PKI"
"$cluster_dir/pki.sh"

phase "network namespace $NETNS"
ip netns list | grep -qw "$NETNS" || ip netns add "$NETNS"
ip -n "$NETNS" link set lo up
ip -n "$NETNS" link show node0 >/dev/null 2>&1 || {
  ip -n "$NETNS" link add node0 type veth peer name node0p
  ip -n "$NETNS" addr add "$NODE_IP/24" dev node0
  ip -n "$NETNS" link set node0p up
}
ip -n "$NETNS" link set node0 up
ip -n "$NETNS" route replace default dev node0
in_netns sysctl -qw net.ipv4.ip_forward=1
in_netns sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null || true

phase "etcd and the control plane"
start etcd etcd --name security-records --data-dir "$STATE/etcd" --listen-client-urls http://127.0.0.1:2379 \
  --advertise-client-urls http://127.0.0.1:2379 --listen-peer-urls http://127.0.0.1:2380 \
  --initial-advertise-peer-urls http://127.0.0.1:2380 --initial-cluster security-records=http://127.0.0.1:2380 \
  --listen-metrics-urls http://127.0.0.1:2381 --quota-backend-bytes 2147483648
waitfor 60 in_netns curl -sf http://127.0.0.1:2379/health
bin=$built/bin
start kube-apiserver "$bin/kube-apiserver" --etcd-servers=http://127.0.0.1:2379 \
  --bind-address=0.0.0.0 --secure-port=6443 --advertise-address="$NODE_IP" \
  --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" --client-ca-file="$PKI/ca.crt" \
  --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-cluster-ip-range=10.96.0.0/16 --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
  --kubelet-client-certificate="$PKI/admin.crt" --kubelet-client-key="$PKI/admin.key" --kubelet-certificate-authority="$PKI/ca.crt" \
  --allow-privileged=true --enable-aggregator-routing=true --kubelet-preferred-address-types=InternalIP,Hostname --profiling=false
waitfor 180 kc get --raw /readyz || { tail -20 "$STATE/logs/kube-apiserver.log" >&2; exit 1; }
start kube-controller-manager "$bin/kube-controller-manager" --kubeconfig="$PKI/kcm.kubeconfig" \
  --authentication-kubeconfig="$PKI/kcm.kubeconfig" --authorization-kubeconfig="$PKI/kcm.kubeconfig" \
  --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" --use-service-account-credentials=true \
  --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
  --leader-elect=false --bind-address=127.0.0.1 --secure-port=10257 --profiling=false \
  --controllers='*,-nodeipam,-bootstrapsigner,-tokencleaner'
start kube-scheduler "$bin/kube-scheduler" --kubeconfig="$PKI/sched.kubeconfig" \
  --authentication-kubeconfig="$PKI/sched.kubeconfig" --authorization-kubeconfig="$PKI/sched.kubeconfig" \
  --leader-elect=false --bind-address=127.0.0.1 --secure-port=10259 --profiling=false

phase "the node: containerd, kubelet, kube-proxy"
for controller in cpu cpuacct cpuset memory pids blkio devices freezer systemd; do
  [ -d "/sys/fs/cgroup/$controller" ] || continue
  mkdir -p "/sys/fs/cgroup/$controller/$CGROUP_ROOT"
  if [ "$controller" = cpuset ]; then
    cat /sys/fs/cgroup/cpuset/cpuset.cpus >"/sys/fs/cgroup/cpuset/$CGROUP_ROOT/cpuset.cpus"
    cat /sys/fs/cgroup/cpuset/cpuset.mems >"/sys/fs/cgroup/cpuset/$CGROUP_ROOT/cpuset.mems"
  fi
done
start containerd containerd --config "$STATE/containerd/config.toml"
waitfor 60 ctr --address "$STATE/run/containerd.sock" version
for archive in "$built"/images/*.tar; do ctr_k8s images import "$archive" >/dev/null; done
start kubelet "$bin/kubelet" --config="$STATE/kubelet/config.yaml" --kubeconfig="$PKI/kubelet.kubeconfig" \
  --root-dir="$STATE/kubelet/root" --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" --cert-dir="$STATE/kubelet/pki" -v=1
start kube-proxy "$bin/kube-proxy" --kubeconfig="$PKI/admin.kubeconfig" --hostname-override="$NODE_NAME" \
  --proxy-mode=iptables --cluster-cidr=10.244.0.0/16 --conntrack-max-per-core=0 --conntrack-tcp-timeout-established=0 \
  --conntrack-tcp-timeout-close-wait=0 --bind-address="$NODE_IP" --healthz-bind-address=127.0.0.1:10256 --metrics-bind-address=127.0.0.1:10249
node_ready() { kc get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' | grep -q True; }
waitfor 120 node_ready

phase "CoreDNS, Knative Serving, Traefik"
kc apply -f "$cluster_dir/platform/coredns.yaml" >/dev/null
# CRDs first (established before any object of theirs), then the rest; the webhook then admits the
# Certificate and Image objects it refused while it was starting.
apply_until_clean() {
  local file=$1
  for _ in 1 2 3 4 5 6; do kc apply --server-side --force-conflicts -f "$file" >/dev/null 2>&1 && return 0; sleep 5; done
  kc apply --server-side --force-conflicts -f "$file" >/dev/null
}
apply_until_clean "$built/yaml/serving-core.yaml"
# Upstream's CPU requests (the activator alone asks 300m) are sized for nodes of many cores: on this
# one node of 2 they leave no room for a second revision's pod during a rolling update ("Insufficient
# cpu"). Requests only: limits stay upstream's.
kc -n knative-serving set resources deployment --all --requests=cpu=10m >/dev/null
# The configuration webhooks validate every change of Knative's ConfigMaps: only once they serve.
kc -n knative-serving wait --for=condition=Available deploy --all --timeout=300s >/dev/null
kc apply -f "$cluster_dir/platform/traefik.yaml" >/dev/null
waitfor 120 kc -n knative-serving patch configmap config-network --type=merge \
  -p '{"data":{"ingress-class":"traefik.ingress.networking.knative.dev"}}'
waitfor 120 kc -n knative-serving patch configmap config-domain --type=merge -p '{"data":{"example.com":""}}'
# Scale to zero within seconds rather than minutes, so the e2e can watch it happen.
waitfor 120 kc -n knative-serving patch configmap config-autoscaler --type=merge \
  -p '{"data":{"stable-window":"10s","scale-to-zero-grace-period":"10s"}}'
kc -n traefik wait --for=condition=Available deploy/traefik --timeout=300s >/dev/null

phase "Knative Eventing (sender identity on)"
for file in eventing-core eventing-imc eventing-mtbroker; do apply_until_clean "$built/yaml/$file.yaml"; done
kc apply -f "$cluster_dir/platform/eventing-stub-cms.yaml" >/dev/null
kc -n knative-eventing set resources deployment --all --requests=cpu=10m >/dev/null
kc -n knative-eventing wait --for=condition=Available deploy --all --timeout=300s >/dev/null
waitfor 120 kc -n knative-eventing patch configmap config-features --type=merge -p '{"data":{"authentication-oidc":"enabled"}}'
phase "platform ready"
[ -z "$platform_only" ] || exit 0

"$cluster_dir/deploy-project.sh" "${deploy_args[@]}"
phase "up"
echo "kubeconfig: $KUBECONFIG (use it inside the namespace: nsenter --net=/var/run/netns/$NETNS kubectl …)"
echo "ingress:    http://$(kc -n traefik get service traefik -o jsonpath='{.spec.clusterIP}') (Host: $(sed -nE 's#^AUTH_ISSUER=https?://##p' "$repo_dir/knative/overlays/local-cluster/site/site.env"))"
