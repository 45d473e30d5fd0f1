#!/usr/bin/env bash
# Local stand-ins for the public base images the Dockerfile names, so `podman build --pull=never`
# runs the project's Dockerfile for real where no container registry is reachable:
#   docker.io/library/node:24-bookworm-slim   Debian bookworm minbase (debootstrap) + Node 24 (npm) + npm
#   gcr.io/distroless/nodejs24-debian12       the same, node at /nodejs/bin/node, entrypoint node, user 65532
# Idempotent: images that exist are kept.
set -euo pipefail
export CONTAINERS_CONF=${CONTAINERS_CONF:-/etc/containers/containers.conf}
# podman's default rlimits and crun fail in this sandbox: runc, no default ulimits.
if ! grep -q default_ulimits "$CONTAINERS_CONF" 2>/dev/null; then
  mkdir -p "$(dirname "$CONTAINERS_CONF")"
  printf '[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = "runc"\n' >"$CONTAINERS_CONF"
fi
if podman image exists docker.io/library/node:24-bookworm-slim && podman image exists gcr.io/distroless/nodejs24-debian12; then exit 0; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
debootstrap --variant=minbase bookworm "$work/rootfs" "${mirror:-http://deb.debian.org/debian}" >"$work/debootstrap.log" 2>&1 \
  || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
node_bin=$(command -v node)
[ "$("$node_bin" -p 'process.versions.node.split(".")[0]')" -ge 24 ] || { echo "base-images: node 24 must be first on PATH" >&2; exit 1; }
root=$work/rootfs
mkdir -p "$root/usr/local/bin" "$root/usr/local/lib/node_modules" "$root/etc/ssl/certs" "$root/nodejs/bin"
cp "$node_bin" "$root/usr/local/bin/node"
ln -sf /usr/local/bin/node "$root/nodejs/bin/node"
cp -r "$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")" "$root/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
chroot "$root" sh -c 'groupadd -g 1000 node && useradd -u 1000 -g node -m node && groupadd -g 65532 nonroot && useradd -u 65532 -g nonroot -M nonroot'
environment=(--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt')
tar -C "$root" -c . | podman import "${environment[@]}" --change 'CMD ["node"]' - docker.io/library/node:24-bookworm-slim >/dev/null
tar -C "$root" -c . | podman import "${environment[@]}" --change 'ENTRYPOINT ["/nodejs/bin/node"]' --change 'USER 65532' - gcr.io/distroless/nodejs24-debian12 >/dev/null
echo "base-images: node:24-bookworm-slim and distroless/nodejs24-debian12 stand-ins ready"
