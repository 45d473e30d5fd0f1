#!/usr/bin/env bash
# Deploys an overlay with the kn CLI: knative/deploy.sh in its order (store, credentials, table Job,
# then the functions), with every Knative Service created or replaced by `kn service create --force`,
# which waits until its revision is ready. Re-runnable.
#
#   knative/kn-deploy.sh <gke|aks|eks|kind> [--image REF] [--target DIR]
#
# Needs kubectl (v1.27+), kn (v1.18, knative.dev/client v0.45.0), node 24 after `npm ci`.
exec "$(dirname "$0")/deploy.sh" "$@" --kn
