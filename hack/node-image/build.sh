#!/usr/bin/env bash
# build.sh builds podcluster's node image: a Debian bookworm root filesystem
# with systemd, containerd, runc and the kubelet, kubeadm and kubectl of one
# Kubernetes version, and the images `kubeadm init` needs, preloaded. Nothing
# is pulled from a registry: every Kubernetes binary and image is built here
# from Go modules (hack/tools/ensure.sh), every other file comes from Debian.
#
#   hack/node-image/build.sh               build what is missing, print the output folder
#   hack/node-image/build.sh --print-dir   print the output folder, build nothing
#
# The output folder holds
#   rootfs.tar       the node's root filesystem
#   node-image.tar   the same as a single-layer OCI image archive, for
#                    `ctr image import` (its name is in the file image-name)
#   images.txt       the preloaded images, one name a line
# and lives in a cache outside the clone: $PODCLUSTER_NODE_IMAGE_CACHE, else
# $XDG_CACHE_HOME/podcluster/node-image, else ~/.cache/podcluster/node-image.
# Its name is the Kubernetes version and a hash of every input (this folder's
# files, the tools' go.sum files, the Kubernetes version, the mirrors and the
# image's repository, $PODCLUSTER_NODE_IMAGE_NAME), so a changed input
# builds anew and an unchanged one costs nothing. Builds take a lock.
#
# Needs root (mmdebstrap runs in its unshare mode, so the packages' maintainer
# scripts run in a user namespace and cannot change the host's kernel settings),
# mmdebstrap, and a Debian mirror. See docs/real-nodes.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
tools="$root/hack/tools"
cache="${PODCLUSTER_NODE_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/podcluster/node-image}"
mirror="${PODCLUSTER_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
security_mirror="${PODCLUSTER_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
suite=bookworm
image_repository="${PODCLUSTER_NODE_IMAGE_NAME:-podcluster.local/node}"

log() { echo "node-image: $*" >&2; }

k8s_version=$(cd "$tools/kubernetes" && go list -m -f '{{.Version}}' k8s.io/kubernetes)

# inputs_hash covers every file that shapes the image.
inputs_hash() {
  (
    cd "$root"
    echo "$k8s_version $suite $mirror $security_mirror $image_repository"
    find hack/node-image -type f ! -name '*_test.go' -print0 | sort -z | xargs -0 sha256sum
    sha256sum hack/tools/kubernetes/go.sum hack/tools/etcd/go.sum hack/tools/coredns/go.sum hack/tools/ensure.sh
  ) | sha256sum | cut -c1-12
}
out="$cache/$k8s_version-$(inputs_hash)"

if [[ "${1:-}" == "--print-dir" ]]; then
  echo "$out"
  exit 0
fi
if [[ -f "$out/node-image.tar" ]]; then
  echo "$out"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  log "building the node image needs root (mmdebstrap, file ownership)"
  exit 1
fi
command -v mmdebstrap >/dev/null || { log "mmdebstrap is missing: run hack/ensure-test-packages.sh"; exit 1; }

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [[ -f "$out/node-image.tar" ]]; then # built by another process meanwhile
  echo "$out"
  exit 0
fi

start=$SECONDS
work=$(mktemp -d "$cache/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# packages FILE prints the package list as mmdebstrap's --include value.
packages() { grep -v '^[[:space:]]*\(#\|$\)' "$1" | paste -sd, -; }

# The layers made from binaries are tarballs with root ownership and a fixed
# modification time, so that equal binaries give equal digests. (mmdebstrap's
# tarballs, the kube-proxy base and the node's root filesystem, keep the
# packages' times.)
tar_dir() { tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$1" -cf "$2" .; }

mmdebstrap_common=(
  --mode=unshare --format=tar --quiet --aptopt='Acquire::Retries "3"'
  # Documentation, manual pages and translations are dead weight in a node.
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-exclude=/usr/share/info/*'
)
sources=(
  "deb $mirror $suite main"
  "deb $mirror $suite-updates main"
  "deb $security_mirror $suite-security main"
)

# 1. The Kubernetes binaries, built from Go modules and cached by version.
log "building the Kubernetes binaries (hack/tools/ensure.sh)"
"$tools/ensure.sh" kubelet kubeadm kubectl kube-apiserver kube-controller-manager kube-scheduler \
  kube-proxy etcd coredns
bin=$("$tools/ensure.sh" --print-dir)
tool() { readlink -f "$bin/$1"; }
(cd "$here" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$work/ociarchive" ./ociarchive &&
  CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$work/pause" ./pause &&
  CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$work/podcluster-network" ./network)

# 2. The images kubeadm needs, named as it expects. Each is one layer.
path_env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
images_list=$("$(tool kubeadm)" config images list --kubernetes-version "$k8s_version")
mapfile -t images <<<"$images_list"
layout="$work/images-layout"
# image_from_binaries NAME DEST:SRC... [-- OCIARCHIVE FLAGS]: an image holding
# the static binaries at DEST, with /tmp and /etc/ssl/certs from the host's
# Debian CA bundle (clients that check TLS against public CAs need them).
image_from_binaries() {
  local ref=$1 layer_dir="$work/layer" pair
  shift
  rm -rf "$layer_dir"
  mkdir -p "$layer_dir/tmp" "$layer_dir/etc/ssl/certs"
  chmod 1777 "$layer_dir/tmp"
  cp /etc/ssl/certs/ca-certificates.crt "$layer_dir/etc/ssl/certs/" 2>/dev/null || true
  while [[ $# -gt 0 && "$1" != -- ]]; do
    pair=$1
    shift
    install -D -m 0755 "${pair#*:}" "$layer_dir${pair%%:*}"
  done
  [[ "${1:-}" == -- ]] && shift
  tar_dir "$layer_dir" "$work/layer.tar"
  "$work/ociarchive" add -layout "$layout" -name "$ref" -layer "$work/layer.tar" -env "$path_env" "$@"
}
for ref in "${images[@]}"; do
  name=${ref%:*}
  log "making $ref"
  case "${name##*/}" in
    kube-apiserver | kube-controller-manager | kube-scheduler)
      image_from_binaries "$ref" "/usr/local/bin/${name##*/}:$(tool "${name##*/}")"
      ;;
    etcd)
      # kubeadm names etcd by its own tag (3.7.0-0); the binary is the etcd
      # hack/tools/etcd pins, of the same minor version.
      image_from_binaries "$ref" "/usr/local/bin/etcd:$(tool etcd)"
      ;;
    coredns)
      image_from_binaries "$ref" "/coredns:$(tool coredns)" -- -entrypoint '["/coredns"]'
      ;;
    pause)
      image_from_binaries "$ref" "/pause:$work/pause" -- -entrypoint '["/pause"]'
      ;;
    kube-proxy)
      # kube-proxy runs iptables, nft and conntrack: a small Debian base.
      mmdebstrap "${mmdebstrap_common[@]}" --variant=essential --include="$(packages "$here/proxy-packages.txt")" \
        --customize-hook="copy-in $(tool kube-proxy) /usr/local/bin" \
        --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*' \
        "$suite" "$work/layer.tar" "${sources[@]}"
      "$work/ociarchive" add -layout "$layout" -name "$ref" -layer "$work/layer.tar" -env "$path_env"
      ;;
    *)
      log "kubeadm $k8s_version needs $ref, which this script does not know how to build"
      exit 1
      ;;
  esac
done
# podcluster's Pod network (network/): its agent's image and the manifest
# that runs it, for a control plane's cloud-config to apply.
network_image="$image_repository-network:$k8s_version"
log "making $network_image"
image_from_binaries "$network_image" "/podcluster-network:$work/podcluster-network" -- -entrypoint '["/podcluster-network"]'
images+=("$network_image")
rm -f "$work/layer.tar"

# 3. The node's root filesystem: the packages, this folder's rootfs/ (units,
# containerd's configuration, the entrypoint), the binaries and the images.
stage="$work/stage"
cp -a "$here/rootfs" "$stage"
for b in kubelet kubeadm kubectl; do
  install -D -m 0755 "$(tool "$b")" "$stage/usr/local/bin/$b"
done
mkdir -p "$stage/usr/share/podcluster/images"
sed "s|NETWORK_IMAGE|$network_image|" "$here/network/network.yaml" >"$stage/usr/share/podcluster/network.yaml"
"$work/ociarchive" pack -layout "$layout" -o "$stage/usr/share/podcluster/images/kubernetes-$k8s_version.tar"
rm -rf "$layout"
# The files go in as root's, readable by all, whoever owns the checkout.
chown -R 0:0 "$stage"
chmod -R u+rwX,go+rX,go-w "$stage"
# shellcheck disable=SC2016 # the hooks' $1 is mmdebstrap's, the root being built
customize=(
  --customize-hook="sync-in $stage /"
  --customize-hook='chroot "$1" systemctl enable containerd.service kubelet.service podcluster-preload-images.service'
  # Units that cannot work in a container or would change the host: gettys
  # fight over the tty; systemd-sysctl would apply sysctl.d to the host's kernel.
  --customize-hook='for u in systemd-sysctl.service getty.target console-getty.service getty@.service serial-getty@.service container-getty@.service systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket systemd-modules-load.service sys-kernel-config.mount sys-kernel-debug.mount; do ln -sfn /dev/null "$1/etc/systemd/system/$u"; done'
  # Every node gets its own machine ID at boot, and its host name and DNS
  # settings from its runtime (the build host's must not leak into the image).
  --customize-hook=': >"$1/etc/machine-id"; rm -f "$1/var/lib/dbus/machine-id" "$1/etc/hostname" "$1/etc/resolv.conf"'
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/cache/debconf/*-old "$1"/var/log/*.log'
  # The copy of /var the entrypoint seeds an empty /var volume from.
  --customize-hook='mkdir -p "$1/usr/share/podcluster" && cp -a "$1/var" "$1/usr/share/podcluster/var"'
)
log "making the root filesystem (mmdebstrap $suite)"
mmdebstrap "${mmdebstrap_common[@]}" --variant=minbase --include="$(packages "$here/packages.txt")" \
  "${customize[@]}" "$suite" "$work/rootfs.tar" "${sources[@]}"

# 4. The node image: the root filesystem as one layer.
image_name="$image_repository:$k8s_version"
log "making $image_name"
"$work/ociarchive" add -layout "$work/node-layout" -name "$image_name" -layer "$work/rootfs.tar" \
  -entrypoint '["/usr/local/bin/entrypoint"]' -cmd '["/sbin/init"]' -stop-signal 'SIGRTMIN+3' \
  -env "$path_env" -env container=docker
"$work/ociarchive" pack -layout "$work/node-layout" -o "$work/node-image.tar"

mkdir -p "$work/out"
mv "$work/rootfs.tar" "$work/node-image.tar" "$work/out/"
echo "$image_name" >"$work/out/image-name"
printf '%s\n' "${images[@]}" >"$work/out/images.txt"
rm -rf "$out"
mv "$work/out" "$out"
log "built in $((SECONDS - start))s: $out ($(du -sh "$out" | cut -f1))"
echo "$out"
