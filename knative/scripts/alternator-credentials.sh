#!/usr/bin/env bash
# The store's credentials (GKE, AKS, kind): CQL roles Alternator signs with, their Secrets for the
# functions and the create-table Job, and Alternator's serving CA next to the functions.
# knative/deploy.sh runs both steps in order; each is idempotent (run `roles` again after a CA
# rotation).
#
#   CQL_ADMIN_PASSWORD=… knative/scripts/alternator-credentials.sh roles    # before the table Job
#   CQL_ADMIN_PASSWORD=… knative/scripts/alternator-credentials.sh grants   # once the table exists
#
#   roles   waits for the ScyllaCluster, creates the roles and the Secrets, copies the CA:
#           security_records_bootstrap  CREATE ON ALL KEYSPACES -> Secret security-records-store-bootstrap
#           security_records_app        (nothing yet)           -> Secret security-records-store
#   grants  on the table's keyspace only (alternator_<TABLE_NAME>):
#           security_records_app        SELECT, MODIFY
#           security_records_bootstrap  SELECT, ALTER (DescribeTable, UpdateTimeToLive on re-runs)
#
# Why not ON ALL KEYSPACES: through Alternator a role that may SELECT every keyspace can read the
# system tables, and system.roles holds every role's salted_hash — which is that role's Alternator
# secret key, the superuser's included. CreateTable is the one operation that needs an
# all-keyspaces grant (CREATE: it creates keyspace and table), and it grants its caller full
# permissions on the table it creates (scylladb test/alternator/test_cql_rbac.py,
# test_rbac_createtable).
#
# Alternator's access key id is the role name, its secret key the role's salted_hash.
# CQL_ADMIN_PASSWORD is the CQL superuser's password (a fresh cluster has cassandra/cassandra:
# change it — docs/deployment.md). TABLE_NAME defaults to security-records (knative/base/config.env).
set -euo pipefail
step=${1:-}
store_ns=scylla
cluster=security-records
ns=security-records
table=${TABLE_NAME:-security-records}
admin_user=${CQL_ADMIN_USER:-cassandra}
admin_password=${CQL_ADMIN_PASSWORD:-cassandra}
app=security_records_app
bootstrap=security_records_bootstrap

# The admin's credentials and the statement travel on stdin, never in an argument: arguments are
# readable by every process on both machines (ps, /proc/<pid>/cmdline) and land in audit logs, and
# CREATE ROLE statements carry a role's password. In the scylla container a private cqlshrc
# (mktemp: mode 0600, removed on exit) gives cqlsh the credentials; cqlsh reads the statement from
# what is left of stdin.
# shellcheck disable=SC2016 # expanded by the container's shell
in_container='set -eu
rc=$(mktemp)
trap '"'"'rm -f "$rc"'"'"' EXIT
IFS= read -r user
IFS= read -r password
printf "[authentication]\nusername = %s\npassword = %s\n" "$user" "$password" > "$rc"
cqlsh --no-color --cqlshrc "$rc"'
cql() {
  printf '%s\n%s\n%s\n' "$admin_user" "$admin_password" "$1" \
    | kubectl exec --namespace "$store_ns" -i "service/$cluster-client" -c scylla -- sh -c "$in_container"
}
# Alternator keeps table T in keyspace alternator_T; a name with '-' must be double-quoted in CQL.
keyspace() { printf '"alternator_%s"' "${table//\"/\"\"}"; }
salted_hash() {
  local output
  # ScyllaDB 6 and later keep roles in system.roles; older releases in system_auth.roles.
  output=$(cql "SELECT salted_hash FROM system.roles WHERE role = '$1';" 2>/dev/null) \
    || output=$(cql "SELECT salted_hash FROM system_auth.roles WHERE role = '$1';")
  printf '%s\n' "$output" | awk '/^-+$/ { getline; gsub(/^[ \t]+|[ \t\r]+$/, ""); print; exit }'
}
create_role() {
  cql "CREATE ROLE IF NOT EXISTS $1 WITH PASSWORD = '$(openssl rand -hex 24)' AND LOGIN = true;"
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

case "$step" in
  roles)
    kubectl wait --namespace "$store_ns" --for=condition=Available "scyllacluster/$cluster" --timeout=30m
    kubectl get namespace "$ns" >/dev/null 2>&1 || kubectl create namespace "$ns"
    create_role "$app"
    create_role "$bootstrap"
    # An earlier version of this script granted these on every keyspace: take them back (revoking
    # what a role does not hold is not an error in CQL, but do not let an old server stop the run).
    for permission in SELECT MODIFY; do cql "REVOKE $permission ON ALL KEYSPACES FROM $app;" || true; done
    for permission in SELECT ALTER; do cql "REVOKE $permission ON ALL KEYSPACES FROM $bootstrap;" || true; done
    cql "GRANT CREATE ON ALL KEYSPACES TO $bootstrap;"
    secret security-records-store "$app"
    secret security-records-store-bootstrap "$bootstrap"
    ca=$(mktemp)
    kubectl get configmap "$cluster-alternator-local-serving-ca" --namespace "$store_ns" \
      --template='{{ index .data "ca-bundle.crt" }}' > "$ca"
    kubectl create configmap security-records-store-ca --namespace "$ns" \
      --from-file=ca-bundle.crt="$ca" --dry-run=client -o yaml | kubectl apply -f -
    rm -f "$ca"
    echo "alternator-credentials: roles ready; Secrets security-records-store, security-records-store-bootstrap and ConfigMap security-records-store-ca written"
    ;;
  grants)
    for permission in SELECT MODIFY; do cql "GRANT $permission ON KEYSPACE $(keyspace) TO $app;"; done
    for permission in SELECT ALTER; do cql "GRANT $permission ON KEYSPACE $(keyspace) TO $bootstrap;"; done
    echo "alternator-credentials: $app may SELECT and MODIFY keyspace $(keyspace), and nothing else"
    ;;
  *)
    echo "usage: alternator-credentials.sh roles|grants" >&2
    exit 2
    ;;
esac
