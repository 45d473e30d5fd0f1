#!/usr/bin/env bash
# Builds what the local cluster runs, from the package registries only, into $CACHE/<key>/ (see
# lib.sh): the Kubernetes binaries, Knative Serving and Eventing, CoreDNS and Traefik as FROM-scratch
# images (docker-archive tarballs), and the release-like YAML of Serving and Eventing assembled from
# the module sources. Prints that directory. A second run with the same sources builds nothing; the
# Go build cache (~/.cache/go-build) makes a run after a version change cheap too.
#
#   test/cluster/build.sh          needs go >= 1.24 and podman
set -euo pipefail
. "$(dirname "$0")/lib.sh"
out="$CACHE/$(build_key)"
if [ -f "$out/complete" ]; then echo "$out"; exit 0; fi
rm -rf "$out" && mkdir -p "$out/bin" "$out/images" "$out/yaml"
export GOFLAGS=-mod=readonly
build="$cluster_dir/build"
timed() { local started=$SECONDS; "$@"; echo "cluster build: $(basename "${*: -1}") $((SECONDS - started)) s" >&2; }

# FROM-scratch image NAME:TAG with ENTRYPOINT /<file>, run as 65532 (Knative's deployments require
# non-root); dev.local/ names are used by tag (Knative skips digest resolution for them).
# Its own podman storage (vfs), dropped at the end; podman wants a run root of at most 50 characters.
podman_root="$out/podman"
podman_run=$(mktemp -d /tmp/security-records-podman.XXXX)
pm() { podman --root "$podman_root/root" --runroot "$podman_run" --storage-driver vfs "$@"; }
image() {
  local name=$1 binary=$2 context
  context=$(mktemp -d "$out/context.XXXX")
  mkdir -p "$context/rootfs/etc/ssl/certs" "$context/rootfs/tmp"
  cp -a "$binary" "$context/rootfs/"
  cp /etc/ssl/certs/ca-certificates.crt "$context/rootfs/etc/ssl/certs/"
  echo 'nonroot:x:65532:65532::/home/nonroot:/sbin/nologin' >"$context/rootfs/etc/passwd"
  printf 'FROM scratch\nCOPY rootfs/ /\nENTRYPOINT ["/%s"]\nUSER 65532:65532\n' "$(basename "$binary")" >"$context/Containerfile"
  pm build -q -t "$name" "$context" >/dev/null
  pm save --quiet --format docker-archive -o "$out/images/$(echo "$name" | tr "/:" "__").tar" "$name"
  rm -rf "$context"
}

k8s_ldflags="-s -w -X k8s.io/component-base/version.gitVersion=v$KUBERNETES_VERSION -X k8s.io/component-base/version.gitMajor=1"
k8s_ldflags+=" -X k8s.io/component-base/version.gitMinor=$(echo "$KUBERNETES_VERSION" | cut -d. -f2) -X k8s.io/component-base/version.gitTreeState=clean"
k8s_ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=v$KUBERNETES_VERSION -X k8s.io/component-base/version.buildDate=2025-01-01T00:00:00Z"
# The Kubernetes binaries run on the host (cgo as Go defaults); the images' binaries are static (CGO off).
for command in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy; do
  timed go build -C "$build/kubernetes" -trimpath -ldflags "$k8s_ldflags" -o "$out/bin/$command" "k8s.io/kubernetes/cmd/$command"
done

mkdir -p "$out/knative"
export CGO_ENABLED=0
for command in webhook controller queue activator autoscaler; do
  timed go build -C "$build/serving" -trimpath -ldflags '-s -w' -o "$out/knative/$command" "knative.dev/serving/cmd/$command"
  image "dev.local/knative-serving-$command:$KNATIVE_VERSION" "$out/knative/$command"
done
# Eventing v0.45.0 with the fix upstream made after the last v0.45.x the proxy serves (the patch says which).
go mod download -C "$build/eventing" knative.dev/eventing
eventing_source="$out/eventing-source"
cp -r "$(go list -C "$build/eventing" -m -f '{{.Dir}}' knative.dev/eventing)" "$eventing_source"
chmod -R u+w "$eventing_source"
patch --quiet -p1 -d "$eventing_source" <"$build/eventing/imc-oidc-host.patch"
cp "$build/eventing/go.mod" "$out/eventing.mod" && cp "$build/eventing/go.sum" "$out/eventing.sum"
echo "replace knative.dev/eventing => $eventing_source" >>"$out/eventing.mod"
for package in controller webhook in_memory/channel_controller in_memory/channel_dispatcher mtchannel_broker broker/ingress broker/filter jobsink mtping; do
  name=$(basename "$package"); case $name in ingress|filter) name=broker-$name ;; esac
  timed go build -C "$build/eventing" -modfile "$out/eventing.mod" -trimpath -ldflags '-s -w' -o "$out/knative/$name" "knative.dev/eventing/cmd/$package"
  image "dev.local/knative-eventing-$name:$KNATIVE_VERSION" "$out/knative/$name"
done
timed go build -C "$build/coredns" -trimpath -ldflags '-s -w' -o "$out/knative/coredns" .
image "dev.local/coredns:$COREDNS_VERSION" "$out/knative/coredns"
timed go build -C "$build/traefik" -trimpath -ldflags '-s -w' -o "$out/knative/traefik" github.com/traefik/traefik/v3/cmd/traefik
image "dev.local/traefik:$TRAEFIK_VERSION" "$out/knative/traefik"
timed go build -C "$build/images" -trimpath -ldflags '-s -w' -o "$out/knative/pause" ./pause
image registry.k8s.io/pause:3.10 "$out/knative/pause"
# The reference ksvc of the cold-start benchmark: a minimal Go HTTP server.
timed go build -C "$build/images" -trimpath -ldflags '-s -w' -o "$out/knative/hello" ./hello
image dev.local/hello:v1 "$out/knative/hello"
rm -rf "$out/knative" "$podman_root" "$podman_run"

# Release-like YAML from the module sources (ko:// → dev.local/…). Module zips drop symlinks: the
# networking CRDs and config-network come from knative.dev/networking, the Image CRD from caching.
serving=$(go list -C "$build/serving" -m -f '{{.Dir}}' knative.dev/serving)
networking=$(go list -C "$build/serving" -m -f '{{.Dir}}' knative.dev/networking)
caching=$(go list -C "$build/serving" -m -f '{{.Dir}}' knative.dev/caching)
concat() { local file; for file in "$@"; do case $file in *.yaml) printf -- '---\n'; cat "$file"; echo ;; esac; done; }
concat "$serving"/config/core/100-namespace.yaml "$serving"/config/core/200-roles/*.yaml "$serving"/config/core/200-serviceaccount.yaml \
  "$serving"/config/core/300-resources/*.yaml "$networking"/config/{certificate,domain-claim,ingress,serverlessservice}.yaml "$caching"/config/image.yaml \
  "$serving"/config/core/300-knativecertificate.yaml "$serving"/config/core/configmaps/*.yaml "$networking"/config/config-network.yaml \
  "$serving"/config/core/deployments/{controller,webhook,activator,autoscaler}.yaml "$serving"/config/core/webhooks/*.yaml "$serving"/config/core/999-cache.yaml \
  | sed -E "s#ko://knative.dev/serving/cmd/([a-z-]+)#dev.local/knative-serving-\1:$KNATIVE_VERSION#g" >"$out/yaml/serving-core.yaml"
eventing=$eventing_source/config
eventing_images() {
  sed -E -e "s#ko://knative.dev/eventing/cmd/broker/(ingress|filter)#dev.local/knative-eventing-broker-\1:$KNATIVE_VERSION#g" \
    -e "s#ko://knative.dev/eventing/cmd/(in_memory/)?([a-z_]+)#dev.local/knative-eventing-\2:$KNATIVE_VERSION#g"
}
concat "$eventing"/core/100-namespace.yaml "$eventing"/core/200-*.yaml "$eventing"/core/roles/*.yaml "$eventing"/core/resources/*.yaml \
  "$eventing"/core/configmaps/*.yaml $(ls "$eventing"/core/deployments/*.yaml | grep -v hpa) "$eventing"/core/webhooks/*.yaml \
  | eventing_images >"$out/yaml/eventing-core.yaml"
channel=$eventing/channels/in-memory-channel
concat "$channel"/*.yaml "$channel"/roles/*.yaml "$channel"/resources/*.yaml "$channel"/configmaps/*.yaml "$channel"/deployments/*.yaml \
  "$channel"/webhooks/*.yaml | eventing_images >"$out/yaml/eventing-imc.yaml"
broker=$eventing/brokers/mt-channel-broker
concat "$broker"/roles/*.yaml $(ls "$broker"/deployments/*.yaml | grep -v hpa) | eventing_images >"$out/yaml/eventing-mtbroker.yaml"
rm -rf "$eventing_source" "$out/eventing.mod" "$out/eventing.sum"
touch "$out/complete"
echo "$out"
