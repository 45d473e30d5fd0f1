#!/usr/bin/env bash
# schemathesis against /openapi.json of a running stack: every phase (examples, coverage, fuzzing,
# stateful) and every check, with a local-admin token and with a local-reader token, the records and
# the imports operations in runs of their own (see below).
# Usage: test/openapi/schemathesis/run.sh http://127.0.0.1:8080
# Installs schemathesis from PyPI into a virtualenv under ~/.cache the first time.
# SCHEMATHESIS_SEED overrides the seed (a fixed one keeps CI reproducible; any failure prints its own).
set -euo pipefail
api=${1:?usage: run.sh <base url of a running stack>}
here=$(cd "$(dirname "$0")" && pwd)
version=4.32.5
venv="$HOME/.cache/schemathesis-$version"
seed=${SCHEMATHESIS_SEED:-20261130}

if [ ! -x "$venv/bin/schemathesis" ]; then
  echo "schemathesis: installing schemathesis $version from PyPI into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi

token() {
  curl -sf -u "$1:$1-secret" -d grant_type=client_credentials "$api/oauth2/token" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}

# Requests made and checks run, per phase, from the NDJSON report.
summarize() {
  python3 - "$1" <<'PYTHON'
import collections, json, sys
requests, checks, failed = collections.Counter(), collections.Counter(), collections.Counter()
for line in open(sys.argv[1]):
    event = json.loads(line)
    scenario = event.get("ScenarioFinished")
    if not scenario:
        continue
    phase, recorder = scenario["phase"], scenario["recorder"]
    requests[phase] += len(recorder.get("interactions", {}))
    for results in recorder.get("checks", {}).values():
        checks[phase] += len(results)
        failed.update(result["name"] for result in results if result["status"] != "success")
print(f"{sum(requests.values())} requests ({', '.join(f'{phase} {count}' for phase, count in requests.items())}), "
      f"{sum(checks.values())} checks, {sum(failed.values())} failed" + (f" ({dict(failed)})" if failed else ""))
PYTHON
}

# Two runs per client, one per tag: records, then imports. In one run, schemathesis' stateful phase
# would start every scenario at POST /v1/imports: it takes the record body's `vulnerabilityIds` and
# `cweIds` for references to resources no operation returns, ranks POST /v1/records an unreliable
# first step, and never takes one while another is reliable; no link from a created record
# (get, patch, delete, history) would ever be followed.
status=0
for client in local-admin local-reader; do
  for tag in records imports; do
    report=$(mktemp -d)
    started=$(date +%s)
    set +e
    # From the report's directory: schemathesis keeps a cache (.schemathesis/) in its working directory.
    (cd "$report" && SCHEMATHESIS_TOKEN=$(token "$client") "$venv/bin/schemathesis" --config-file "$here/schemathesis.toml" \
      run "$api/openapi.json" --include-tag "$tag" --seed "$seed" --report ndjson --report-dir "$report" --no-color > "$report/out.txt" 2>&1)
    run_status=$?
    set -e
    links=$(sed -nE 's/^ *API Links: *([0-9]+) covered \/ ([0-9]+) selected.*/\1 of \2 links followed/p' "$report/out.txt")
    echo "schemathesis ($client, $tag): $(summarize "$report"/*.ndjson); ${links:-no links followed}; exit $run_status after $(( $(date +%s) - started )) s"
    if [ "$run_status" -ne 0 ]; then
      echo "schemathesis ($client, $tag): failed; its report (long lines cut):"
      cut -c1-400 "$report/out.txt"
      status=1
    fi
    [ -n "${SCHEMATHESIS_KEEP:-}" ] && cp -r "$report" "$SCHEMATHESIS_KEEP-$client-$tag"
    rm -rf "$report"
  done
done
exit "$status"
