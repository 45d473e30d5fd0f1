#!/usr/bin/env bash
# Names the AWS account of the two IAM roles in the eks overlay (IRSA: eks.amazonaws.com/role-arn on
# the ServiceAccounts security-records-functions and security-records-bootstrap), replacing the
# placeholder 111122223333 — or whatever account the overlay named before. Run it once by hand
# (docs/deployment.md, section 2); deploy.yml runs it with the variable AWS_ACCOUNT_ID.
#
#   knative/scripts/set-eks-account.sh <12-digit AWS account id>
set -euo pipefail
account=${1:-}
overlay="$(cd "$(dirname "$0")/.." && pwd)/overlays/eks/kustomization.yaml"
fail() {
  # In GitHub Actions, an annotation on the run's summary page.
  if [ "${GITHUB_ACTIONS:-}" = true ]; then echo "::error title=eks overlay::$*"; fi
  echo "set-eks-account: $*" >&2
  exit 2
}
[[ $account =~ ^[0-9]{12}$ ]] || fail "want the 12-digit AWS account id that holds the roles security-records-functions and security-records-bootstrap, got '${account}' (deploy.yml: set the variable AWS_ACCOUNT_ID, in the repository or in environment eks — docs/deployment.md, section 8)"
sed -i -E "s#(eks\.amazonaws\.com/role-arn: arn:aws:iam::)[0-9]{12}:#\1$account:#" "$overlay"
named=$(grep -cE "eks\.amazonaws\.com/role-arn: arn:aws:iam::$account:role/" "$overlay" || true)
[ "$named" = 2 ] || fail "$overlay: expected two role ARNs of account $account, found $named"
echo "set-eks-account: the eks overlay's IAM roles are in account $account"
