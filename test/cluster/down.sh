#!/usr/bin/env bash
# Stops the local cluster and removes everything it put on the machine: its processes (by recorded
# PID and containerd task id only), the shims, mounts, the network namespace and the pods' network
# namespaces, its cgroups and iptables rules (they live in its namespace), and $STATE. Safe to run
# when nothing runs; exits 0 whatever it finds. The build cache ($CACHE) stays.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
[ -d "$STATE" ] || { ip netns delete "$NETNS" 2>/dev/null; exit 0; }
stop kube-proxy kubelet kube-scheduler kube-controller-manager
if [ -S "$STATE/run/containerd.sock" ]; then
  for task in $(ctr_k8s tasks ls -q 2>/dev/null); do ctr_k8s tasks kill -s SIGKILL "$task" >/dev/null 2>&1; done
  sleep 1
  for task in $(ctr_k8s tasks ls -q 2>/dev/null); do ctr_k8s tasks delete -f "$task" >/dev/null 2>&1; done
  for container in $(ctr_k8s containers ls -q 2>/dev/null); do ctr_k8s containers delete "$container" >/dev/null 2>&1; done
fi
stop containerd kube-apiserver etcd
# Shims our containerd started (named by our socket), by PID.
for pid in $(pgrep -f "containerd-shim-runc-v2 -namespace k8s.io .*-address $STATE/run/containerd.sock"); do kill -9 "$pid" 2>/dev/null; done
# Mounts under the state folder (overlay snapshots, pod volumes, shm), deepest first.
grep -oE " $STATE/[^ ]+" /proc/mounts | sort -r | while read -r mount; do umount -l "$mount" 2>/dev/null; done
# The pods' network namespaces that CNI made for this cluster's pod network.
for netns in $(ls /var/run/netns 2>/dev/null | grep '^cni-'); do
  ip netns exec "$netns" ip -br addr 2>/dev/null | grep -q '10\.244\.' && ip netns delete "$netns"
done
ip netns delete "$NETNS" 2>/dev/null   # its iptables rules, bridge and veth go with it
for cgroup in /sys/fs/cgroup/*/"$CGROUP_ROOT"; do [ -d "$cgroup" ] && find "$cgroup" -depth -type d -exec rmdir {} \; 2>/dev/null; done
# Paths kubelet, containerd and CNI hard-code on the host (only this cluster's entries).
find /var/log/containers /var/log/pods -maxdepth 1 -lname "$STATE/*" -delete 2>/dev/null
grep -lE '"security-records-pods"|"cni-loopback"' /var/lib/cni/results/* 2>/dev/null | xargs -r rm -f
rm -rf /run/containerd/runc/k8s.io /var/lib/kubelet/device-plugins/kubelet.sock
rmdir /var/lib/kubelet/device-plugins /var/lib/kubelet /run/containerd/s /run/containerd/runc /run/containerd /var/lib/cni/results /var/lib/cni 2>/dev/null
rm -rf "$STATE"
left=$(pgrep -f "$STATE" | tr '\n' ' ')
[ -z "$left" ] || echo "cluster: processes still naming $STATE: $left" >&2
echo "cluster: down"
exit 0
