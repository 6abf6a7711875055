#!/usr/bin/env bash
# build.sh builds the manager image: the static podcluster binary as
# /podcluster, run as 65532:65532, the image the Dockerfile describes, made
# without a container engine by hack/node-image/ociarchive (go-containerregistry)
# as one OCI image archive that `ctr image import` loads and `podcluster up
# --runtime=real --load-image` imports into the management node.
#
#   hack/manager-image/build.sh               build if needed, print the archive's path
#   hack/manager-image/build.sh --print-name  the same, then print the image's name
#
# The output folder, named after a hash of the binary and of this script, holds
#   podcluster-image.tar  the OCI image archive
#   image-name            its name, podcluster.local/podcluster:<hash>
# and lives outside the clone: $PODCLUSTER_MANAGER_IMAGE_CACHE, else
# $XDG_CACHE_HOME/podcluster/manager-image, else ~/.cache/podcluster/manager-image.
# The tag is the hash, so that a changed binary is a new image that a kubelet
# never mistakes for one it already has (IfNotPresent). Needs no root.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cache="${PODCLUSTER_MANAGER_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/podcluster/manager-image}"
repository="${PODCLUSTER_MANAGER_IMAGE_NAME:-podcluster.local/podcluster}"

mkdir -p "$cache"
work=$(mktemp -d "$cache/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The binary, as the Dockerfile builds it; the Go build cache makes a rebuild
# of an unchanged tree cheap.
mkdir -p "$work/rootfs/etc" "$work/rootfs/tmp"
(cd "$root" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$work/rootfs/podcluster" ./cmd/podcluster)
hash=$( (sha256sum "$work/rootfs/podcluster" | cut -d' ' -f1; echo "$repository"; sha256sum "$here/build.sh") | sha256sum | cut -c1-12)
out="$cache/$hash"
if [[ -f "$out/podcluster-image.tar" ]]; then
  echo "$out/podcluster-image.tar"
  [[ "${1:-}" == "--print-name" ]] && cat "$out/image-name"
  exit 0
fi

# The user of the Dockerfile's distroless base, by name too.
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$work/rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$work/rootfs/etc/group"
chmod 1777 "$work/rootfs/tmp"
# Root-owned files with a fixed time: an equal binary gives an equal digest.
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$work/rootfs" -cf "$work/layer.tar" .

(cd "$root/hack/node-image" && CGO_ENABLED=0 go build -trimpath -o "$work/ociarchive" ./ociarchive)
name="$repository:$hash"
"$work/ociarchive" add -layout "$work/layout" -name "$name" -layer "$work/layer.tar" \
  -entrypoint '["/podcluster"]' -user 65532:65532
mkdir -p "$work/out"
"$work/ociarchive" pack -layout "$work/layout" -o "$work/out/podcluster-image.tar"
echo "$name" >"$work/out/image-name"
# Another build of the same hash may have won: either result is the same.
mv -T "$work/out" "$out" 2>/dev/null || true
echo "$out/podcluster-image.tar"
[[ "${1:-}" == "--print-name" ]] && cat "$out/image-name"
exit 0
