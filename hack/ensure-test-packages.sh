#!/usr/bin/env bash
# ensure-test-packages.sh installs the Debian packages the tests use when they
# are missing: cloud-init (its `cloud-init schema` validates our cloud-configs).
# It is a no-op on a machine that has them.
set -euo pipefail

missing=()
command -v cloud-init >/dev/null 2>&1 || missing+=(cloud-init)

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  sudo=sudo
else
  sudo=
fi
echo "ensure-test-packages: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
# --no-install-recommends keeps cloud-init from pulling in services we do not run.
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
