#!/usr/bin/env bash
# Builds the upstream judges from the Go module proxy and prints the directory holding them:
#   admit       Knative's admission code (serving, eventing v0.45.0 = release knative-v1.18.0)
#   kn          the kn CLI of the same release (knative.dev/client v0.45.0)
#   actionlint  the GitHub Actions workflow linter (test/workflows/actionlint/go.mod)
# and, through crds/build.sh (its own cache key, so the heavy ones above are not rebuilt for it):
#   crds        the API server's custom-resource validation and Scylla Operator's ValidateScyllaCluster
# Builds land in $SECURITY_RECORDS_TOOLS (default ~/.cache/security-records/tools)/<hash of the
# sources>, so a second run, or a run with unchanged sources, builds nothing. Needs go on PATH.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/crds/build.sh" >/dev/null
root=$(cd "$here/../../.." && pwd)
actionlint_module="$root/test/workflows/actionlint"
key=$(cat "$here/go.mod" "$here/go.sum" "$here"/admit/*.go "$actionlint_module/go.mod" "$actionlint_module/go.sum" \
  | sha256sum | cut -c1-16)
out="${SECURITY_RECORDS_TOOLS:-$HOME/.cache/security-records/tools}/$key"
if [ -x "$out/admit" ] && [ -x "$out/kn" ] && [ -x "$out/actionlint" ]; then
  echo "$out"
  exit 0
fi
command -v go >/dev/null || { echo "build.sh: go is not on PATH (.ci/run installs it)" >&2; exit 2; }
mkdir -p "$out.partial"
export GOFLAGS=-mod=readonly
go build -C "$here" -trimpath -o "$out.partial/admit" ./admit
go build -C "$here" -trimpath -o "$out.partial/kn" knative.dev/client/cmd/kn
go build -C "$actionlint_module" -trimpath -o "$out.partial/actionlint" github.com/rhysd/actionlint/cmd/actionlint
rm -rf "$out" && mv "$out.partial" "$out"
echo "$out"
