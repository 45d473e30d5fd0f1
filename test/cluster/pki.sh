#!/usr/bin/env bash
# The local cluster's certificates and kubeconfigs (openssl only), under $STATE/pki. Idempotent.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mkdir -p "$PKI" && cd "$PKI"
[ -f ca.crt ] || openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 30 -subj "/CN=security-records-cluster-ca" 2>/dev/null
certificate() { # name CN O SANs
  local name=$1 cn=$2 org=$3 san=$4
  [ -f "$name.crt" ] && return 0
  openssl req -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" -subj "/CN=$cn${org:+/O=$org}" 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n%s' \
    "${san:+subjectAltName=$san}" >"$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$name.crt" -days 30 -extfile "$name.ext" 2>/dev/null
}
certificate apiserver kube-apiserver "" "DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:10.96.0.1,IP:$NODE_IP"
certificate admin admin system:masters ""
certificate kcm system:kube-controller-manager "" ""
certificate sched system:kube-scheduler "" ""
certificate kubelet "system:node:$NODE_NAME" system:nodes "DNS:$NODE_NAME,DNS:localhost,IP:127.0.0.1,IP:$NODE_IP"
[ -f sa.key ] || { openssl genrsa -out sa.key 2048 2>/dev/null; openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null; }
kubeconfig() { # name certificate
  local file=$PKI/$1.kubeconfig
  [ -f "$file" ] && return 0
  KUBECONFIG=$file kubectl config set-cluster security-records --server=https://127.0.0.1:6443 --certificate-authority="$PKI/ca.crt" --embed-certs >/dev/null
  KUBECONFIG=$file kubectl config set-credentials "$2" --client-certificate="$PKI/$2.crt" --client-key="$PKI/$2.key" --embed-certs >/dev/null
  KUBECONFIG=$file kubectl config set-context security-records --cluster=security-records --user="$2" >/dev/null
  KUBECONFIG=$file kubectl config use-context security-records >/dev/null
}
kubeconfig admin admin; kubeconfig kcm kcm; kubeconfig sched sched; kubeconfig kubelet kubelet
rm -f ./*.csr ./*.ext
