#!/usr/bin/env bash
# ensure-test-packages.sh installs the Debian packages the tests use when they
# are missing. It is a no-op on a machine that has them.
#
#   cloud-init                    `cloud-init schema` validates our cloud-configs.
#   containerd, runc              test/realnode runs the node image in a private
#                                 containerd (its own root, state and socket).
#   mmdebstrap                    hack/node-image/build.sh makes the node's root
#                                 filesystem.
#   containernetworking-plugins   the management node of `podcluster up
#                                 --runtime=real` gives its Pods addresses
#                                 with the bridge plugin (/usr/lib/cni).
#
# Installing containerd starts no host daemon where PID 1 is not systemd, and
# the tests never use a host containerd: they start their own.
set -euo pipefail

missing=()
command -v cloud-init >/dev/null 2>&1 || missing+=(cloud-init)
command -v containerd >/dev/null 2>&1 || missing+=(containerd)
command -v runc >/dev/null 2>&1 || missing+=(runc)
command -v mmdebstrap >/dev/null 2>&1 || missing+=(mmdebstrap)
[[ -x /usr/lib/cni/bridge ]] || missing+=(containernetworking-plugins)

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
