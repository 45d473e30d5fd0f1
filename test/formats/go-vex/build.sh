#!/usr/bin/env bash
# Builds the OpenVEX judge (main.go over github.com/openvex/go-vex, pinned in go.mod) from the Go
# module proxy and prints the directory holding it (go-vex). Builds land in
# $SECURITY_RECORDS_TOOLS (default ~/.cache/security-records/tools)/go-vex-<hash of the sources>,
# so a run with unchanged sources builds nothing. Needs go on PATH (.ci/run installs it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
key=$(cat "$here/go.mod" "$here/go.sum" "$here"/*.go | sha256sum | cut -c1-16)
out="${SECURITY_RECORDS_TOOLS:-$HOME/.cache/security-records/tools}/go-vex-$key"
if [ -x "$out/go-vex" ]; then
  echo "$out"
  exit 0
fi
command -v go >/dev/null || { echo "build.sh: go is not on PATH (.ci/run installs it)" >&2; exit 2; }
mkdir -p "$out.partial"
GOFLAGS=-mod=readonly go build -C "$here" -trimpath -o "$out.partial/go-vex" .
rm -rf "$out" && mv "$out.partial" "$out"
echo "$out"
