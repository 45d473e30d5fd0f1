#!/usr/bin/env bash
# Builds the crds judge (main.go), gathers the files of the pinned releases it and the e2e budget
# read (sources.txt), and prints the directory holding them: crds (the binary), crds.d/ (the CRDs)
# and release.d/ (the add-ons' Deployments). Cached like
# ../build.sh: under $SECURITY_RECORDS_TOOLS (default ~/.cache/security-records/tools)/crds-<hash of
# the sources>, so an unchanged judge builds nothing. Needs go on PATH.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
key=$(cat "$here/go.mod" "$here/go.sum" "$here"/*.go "$here/sources.txt" | sha256sum | cut -c1-16)
out="${SECURITY_RECORDS_TOOLS:-$HOME/.cache/security-records/tools}/crds-$key"
if [ -x "$out/crds" ] && [ -d "$out/crds.d" ] && [ -d "$out/release.d" ]; then
  echo "$out"
  exit 0
fi
command -v go >/dev/null || { echo "crds/build.sh: go is not on PATH (.ci/run installs it)" >&2; exit 2; }
rm -rf "$out.partial" && mkdir -p "$out.partial/crds.d" "$out.partial/release.d"
GOFLAGS=-mod=readonly go build -C "$here" -trimpath -o "$out.partial/crds" .
# The files, from the modules of the pinned releases, each module checked against its pinned hash.
grep -v '^#' "$here/sources.txt" | while read -r dest module version sum files; do
  [ -n "$module" ] || continue
  info=$(cd / && GOFLAGS=-mod=mod go mod download -json "$module@$version")
  dir=$(sed -nE 's/^\s*"Dir": "(.*)",?$/\1/p' <<<"$info")
  got=$(sed -nE 's/^\s*"Sum": "(.*)",?$/\1/p' <<<"$info")
  [ "$got" = "$sum" ] || { echo "crds/build.sh: $module@$version has hash ${got:-none} (${info//$'\n'/ }), sources.txt pins $sum" >&2; exit 1; }
  for file in $files; do
    cp "$dir/$file" "$out.partial/$dest.d/${module//\//_}-${file//\//_}"
  done
done
rm -rf "$out" && mv "$out.partial" "$out"
echo "$out"
