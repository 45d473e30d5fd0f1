#!/usr/bin/env bash
# After the ScyllaCluster is up (GKE, AKS, kind): creates the two CQL roles Alternator signs with,
# stores their credentials as Secrets for the functions and the create-table Job, and copies
# Alternator's serving CA next to the functions. Idempotent; run it again after a CA rotation.
#
#   CQL_ADMIN_PASSWORD=… knative/scripts/alternator-credentials.sh
#
#   security_records_app        SELECT, MODIFY       -> Secret security-records-store
#   security_records_bootstrap  CREATE, ALTER, SELECT -> Secret security-records-store-bootstrap
# Alternator's access key id is the role name, its secret key the role's salted_hash.
# CQL_ADMIN_PASSWORD is the CQL superuser's password (a fresh cluster has cassandra/cassandra:
# change it — docs/deployment.md).
set -euo pipefail
store_ns=scylla
cluster=security-records
ns=security-records
admin_user=${CQL_ADMIN_USER:-cassandra}
admin_password=${CQL_ADMIN_PASSWORD:-cassandra}

kubectl wait --namespace "$store_ns" --for=condition=Available "scyllacluster/$cluster" --timeout=20m

cql() {
  kubectl exec --namespace "$store_ns" -i "service/$cluster-client" -c scylla -- \
    cqlsh --no-color --user "$admin_user" --password "$admin_password" -e "$1"
}
salted_hash() {
  local output
  # ScyllaDB 6 keeps roles in system.roles; older releases in system_auth.roles.
  output=$(cql "SELECT salted_hash FROM system.roles WHERE role = '$1';" 2>/dev/null) \
    || output=$(cql "SELECT salted_hash FROM system_auth.roles WHERE role = '$1';")
  printf '%s\n' "$output" | awk '/^-+$/ { getline; gsub(/^[ \t]+|[ \t\r]+$/, ""); print; exit }'
}
role() { # name, grants…
  local name=$1; shift
  local password
  password=$(openssl rand -hex 24)
  cql "CREATE ROLE IF NOT EXISTS $name WITH PASSWORD = '$password' AND LOGIN = true;"
  for permission in "$@"; do cql "GRANT $permission ON ALL KEYSPACES TO $name;"; done
}
secret() { # secret name, role
  local hash work
  hash=$(salted_hash "$2")
  [ -n "$hash" ] || { echo "alternator-credentials: no salted_hash for role $2" >&2; exit 1; }
  work=$(mktemp -d); chmod 700 "$work"
  printf %s "$2" > "$work/id"; printf %s "$hash" > "$work/key"
  kubectl create secret generic "$1" --namespace "$ns" \
    --from-file=AWS_ACCESS_KEY_ID="$work/id" --from-file=AWS_SECRET_ACCESS_KEY="$work/key" \
    --dry-run=client -o yaml | kubectl apply -f -
  rm -rf "$work"
}

kubectl get namespace "$ns" >/dev/null 2>&1 || kubectl create namespace "$ns"
role security_records_app SELECT MODIFY
role security_records_bootstrap CREATE ALTER SELECT
secret security-records-store security_records_app
secret security-records-store-bootstrap security_records_bootstrap

kubectl get configmap "$cluster-alternator-local-serving-ca" --namespace "$store_ns" \
  --template='{{ index .data "ca-bundle.crt" }}' > /tmp/security-records-store-ca.crt
kubectl create configmap security-records-store-ca --namespace "$ns" \
  --from-file=ca-bundle.crt=/tmp/security-records-store-ca.crt --dry-run=client -o yaml | kubectl apply -f -
rm -f /tmp/security-records-store-ca.crt
echo "alternator-credentials: Secrets security-records-store, security-records-store-bootstrap and ConfigMap security-records-store-ca are ready"
