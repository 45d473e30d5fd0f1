#!/usr/bin/env bash
# Creates the functions' Secrets in the security-records namespace. Idempotent: a Secret that
# exists is kept (delete it first to rotate). Values never appear on a command line.
#
#   knative/scripts/create-secrets.sh                 # also registers one client, deploy-smoke
#   knative/scripts/create-secrets.sh clients.json    # your client registry instead
#
# clients.json is mock-auth's registry: a JSON array of clients whose secrets are scrypt hashes
# (`node scripts/hash-client-secret.ts --generate` prints a secret and its hash).
# Needs kubectl, openssl and node (run from the repository after `npm ci`).
set -euo pipefail
cd "$(dirname "$0")/../.."
ns=security-records
registry=${1:-}
work=$(mktemp -d)
chmod 700 "$work"
trap 'rm -rf "$work"' EXIT

kubectl get namespace "$ns" >/dev/null 2>&1 || kubectl create namespace "$ns"
exists() { kubectl get secret "$1" --namespace "$ns" >/dev/null 2>&1; }

if exists security-records-cursor; then
  echo "security-records-cursor: kept"
else
  openssl rand -base64 48 | tr -d '\n' > "$work/cursor"
  kubectl create secret generic security-records-cursor --namespace "$ns" --from-file=CURSOR_SECRET="$work/cursor"
fi

if exists security-records-auth; then
  echo "security-records-auth: kept"
else
  # One ES256 key; rotate by appending a key to the set (the last one signs, all are published).
  node -e '
    const { generateKeyPairSync, randomUUID } = require("node:crypto")
    const jwk = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" })
    process.stdout.write(JSON.stringify({ keys: [{ ...jwk, kid: randomUUID(), alg: "ES256", use: "sig" }] }))
  ' > "$work/signing-keys.json"
  if [ -n "$registry" ]; then
    cp "$registry" "$work/clients.json"
  else
    secret=$(openssl rand -base64 32 | tr '+/' '-_' | tr -d '=\n')
    hash=$(printf %s "$secret" | node scripts/hash-client-secret.ts)
    HASH="$hash" node -e '
      process.stdout.write(JSON.stringify([{
        client_id: "deploy-smoke", client_secret_hash: process.env.HASH, tenant: "deploy-smoke",
        scopes: ["records:read", "records:write", "records:delete"], audiences: ["security-records-api"]
      }]))
    ' > "$work/clients.json"
    echo "registered client deploy-smoke (tenant deploy-smoke); its secret, shown once — keep it as SMOKE_CLIENT_SECRET:" >&2
    echo "$secret" >&2
  fi
  kubectl create secret generic security-records-auth --namespace "$ns" \
    --from-file=signing-keys.json="$work/signing-keys.json" --from-file=clients.json="$work/clients.json"
fi
