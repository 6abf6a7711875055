#!/usr/bin/env bash
# ensure.sh builds the pinned tool binaries the project needs, once per version,
# into a cache outside the clone, and links them into the repository's ignored
# bin/ folder.
#
#   hack/tools/ensure.sh [TOOL...]     build what is missing (default: all test tools)
#   hack/tools/ensure.sh --print-dir   print the bin/ folder and build nothing
#   hack/tools/ensure.sh --print-cache-dirs TOOL...
#                                      print "TOOL FOLDER" lines, each tool's
#                                      folder name in the cache, and build nothing
#                                      (make generate records them for podcluster
#                                      binaries installed outside the clone)
#
# Tools: kube-apiserver kube-controller-manager kube-scheduler kubeadm kubectl etcd
#        controller-gen golangci-lint cluster-autoscaler
#        kubelet kube-proxy coredns  (built on request: the node image needs them)
#        clusterctl  (built on request: upstream's CLI, for the compatibility e2e)
#        kubeadm-v1.30  (built on request: checks the kubeadm.k8s.io/v1beta3 output)
#
# cluster-autoscaler is built on request only (the autoscaler e2e asks for it),
# from the upstream source archives in $PODCLUSTER_AUTOSCALER_SRC, by default
# ../shared/third_party/cluster-autoscaler next to the clone: the Go module
# proxy cannot serve it. Without those archives the script exits with status 3
# and says why, and the tests that need it skip.
#
# The cache is $PODCLUSTER_TOOLS_CACHE, else $XDG_CACHE_HOME/podcluster/tools,
# else ~/.cache/podcluster/tools. Each module's binaries live in a folder named
# after the module's pinned version, so a version change rebuilds and an
# unchanged version costs nothing. The folder name also carries a hash of the
# module's go.sum, so a dependency bump rebuilds. A fresh clone on the same machine reuses the
# cache; the Go build cache makes even a rebuild a relink.
#
# Builds take a lock, so parallel `go test` packages that call this script wait
# for one build instead of racing.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tools="$root/hack/tools"
cache="${PODCLUSTER_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/podcluster/tools}"
bin="$root/bin"

if [[ "${1:-}" == "--print-dir" ]]; then
  echo "$bin"
  exit 0
fi

# module_version MODDIR MODULE prints the version MODDIR's go.mod requires.
module_version() {
  (cd "$1" && go list -m -f '{{.Version}}' "$2")
}

# cache_key NAME MODDIR VERSION prints the name of a tool's cache folder. It
# is keyed by the pinned version and by the module's go.sum, so a change to
# any dependency of the tool rebuilds it too.
cache_key() {
  local sum
  sum=$(sha256sum "$2/go.sum" | cut -c1-8)
  echo "$1-$3-$sum"
}

# build NAME MODDIR PACKAGE VERSION [LDFLAGS] builds PACKAGE from MODDIR into
# $cache/NAME-VERSION/ unless it is already there, and links it into bin/.
build() {
  local name=$1 moddir=$2 pkg=$3 version=$4 ldflags=${5:-}
  local dir
  dir="$cache/$(cache_key "$name" "$moddir" "$version")"
  local out="$dir/$name"
  if [[ ! -x "$out" ]]; then
    mkdir -p "$dir"
    echo "hack/tools: building $name $version (cached in $dir)" >&2
    local start=$SECONDS
    (cd "$moddir" && CGO_ENABLED=0 go build -trimpath -tags=selinux,notest,grpcnotrace \
      -ldflags "-s -w $ldflags" -o "$out.tmp" "$pkg")
    mv "$out.tmp" "$out"
    echo "hack/tools: built $name in $((SECONDS - start))s" >&2
  fi
  mkdir -p "$bin"
  ln -sfn "$out" "$bin/$name"
}

# no_source_status is the exit status when a tool's source is not on this
# machine; callers (tests) skip on it rather than fail.
no_source_status=3

# build_autoscaler builds the real cluster-autoscaler (with the clusterapi
# provider) from the two upstream archives its README names: kubernetes/autoscaler
# (autoscaler-<commit>.tar.gz) and its core, kubernetes-sigs/cluster-autoscaler
# (sigs-cluster-autoscaler-<commit>.tar.gz). The cache folder is keyed by both
# commits. The archives are unpacked into a temporary folder inside the cache,
# never into the clone, and removed after the build.
build_autoscaler() {
  local src=${PODCLUSTER_AUTOSCALER_SRC:-$(dirname "$root")/shared/third_party/cluster-autoscaler}
  local main_tgz core_tgz
  main_tgz=$(compgen -G "$src/autoscaler-*.tar.gz" | head -n1 || true)
  core_tgz=$(compgen -G "$src/sigs-cluster-autoscaler-*.tar.gz" | head -n1 || true)
  if [[ -z "$main_tgz" || -z "$core_tgz" ]]; then
    echo "hack/tools: cluster-autoscaler source not found: $src has no autoscaler-<commit>.tar.gz" \
      "and sigs-cluster-autoscaler-<commit>.tar.gz (set PODCLUSTER_AUTOSCALER_SRC)" >&2
    exit "$no_source_status"
  fi
  local main_commit core_commit
  main_commit=$(basename "$main_tgz" .tar.gz); main_commit=${main_commit#autoscaler-}
  core_commit=$(basename "$core_tgz" .tar.gz); core_commit=${core_commit#sigs-cluster-autoscaler-}
  local dir="$cache/cluster-autoscaler-$main_commit-$core_commit"
  local out="$dir/cluster-autoscaler"
  if [[ ! -x "$out" ]]; then
    mkdir -p "$dir"
    echo "hack/tools: building cluster-autoscaler $main_commit (core $core_commit) from $src (cached in $dir)" >&2
    local start=$SECONDS work
    work=$(mktemp -d "$cache/.cluster-autoscaler-src.XXXXXX")
    # The trap removes the unpacked source also when the build fails.
    trap 'rm -rf "$work"' EXIT
    tar -xzf "$main_tgz" -C "$work"
    tar -xzf "$core_tgz" -C "$work"
    local moddir="$work/cluster-autoscaler-src/cluster-autoscaler"
    # The core is not on the module proxy: point its module at the archive.
    printf '\nreplace sigs.k8s.io/cluster-autoscaler => ../../sigs-cluster-autoscaler\n' >>"$moddir/go.mod"
    (cd "$moddir" && CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" GOWORK=off \
      go build -trimpath -tags clusterapi -ldflags "-s -w" -o "$out.tmp" .)
    mv "$out.tmp" "$out"
    rm -rf "$work"
    trap - EXIT
    echo "hack/tools: built cluster-autoscaler in $((SECONDS - start))s" >&2
  fi
  mkdir -p "$bin"
  ln -sfn "$out" "$bin/cluster-autoscaler"
}

k8s_ldflags() {
  local v=$1 minor
  minor=$(echo "$v" | cut -d. -f2)
  local flags=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$flags"
}

ensure_one() {
  case "$1" in
    kube-apiserver|kube-controller-manager|kube-scheduler|kubeadm|kubectl|kubelet|kube-proxy)
      local v
      v=$(module_version "$tools/kubernetes" k8s.io/kubernetes)
      build "$1" "$tools/kubernetes" "k8s.io/kubernetes/cmd/$1" "$v" "$(k8s_ldflags "$v")"
      ;;
    etcd)
      local v
      v=$(module_version "$tools/etcd" go.etcd.io/etcd/server/v3)
      build etcd "$tools/etcd" go.etcd.io/etcd/server/v3 "$v"
      ;;
    coredns)
      local v
      v=$(module_version "$tools/coredns" github.com/coredns/coredns)
      build coredns "$tools/coredns" github.com/coredns/coredns "$v"
      ;;
    kubeadm-v1.30)
      local v
      v=$(module_version "$tools/kubeadm-v1.30" k8s.io/kubernetes)
      build kubeadm-v1.30 "$tools/kubeadm-v1.30" k8s.io/kubernetes/cmd/kubeadm "$v" "$(k8s_ldflags "$v")"
      ;;
    clusterctl)
      local v
      v=$(module_version "$tools/clusterctl" sigs.k8s.io/cluster-api)
      build clusterctl "$tools/clusterctl" sigs.k8s.io/cluster-api/cmd/clusterctl "$v" \
        "-X sigs.k8s.io/cluster-api/version.gitVersion=$v -X sigs.k8s.io/cluster-api/version.gitMajor=1"
      ;;
    controller-gen)
      build controller-gen "$tools" sigs.k8s.io/controller-tools/cmd/controller-gen \
        "$(module_version "$tools" sigs.k8s.io/controller-tools)"
      ;;
    golangci-lint)
      build golangci-lint "$tools" github.com/golangci/golangci-lint/v2/cmd/golangci-lint \
        "$(module_version "$tools" github.com/golangci/golangci-lint/v2)"
      ;;
    cluster-autoscaler)
      build_autoscaler
      ;;
    *)
      echo "hack/tools: unknown tool $1" >&2
      exit 2
      ;;
  esac
}

if [[ "${1:-}" == "--print-cache-dirs" ]]; then
  shift
  for t in "$@"; do
    case "$t" in
      kube-apiserver|kube-controller-manager|kube-scheduler|kubeadm|kubectl|kubelet|kube-proxy)
        echo "$t $(cache_key "$t" "$tools/kubernetes" "$(module_version "$tools/kubernetes" k8s.io/kubernetes)")"
        ;;
      etcd)
        echo "$t $(cache_key etcd "$tools/etcd" "$(module_version "$tools/etcd" go.etcd.io/etcd/server/v3)")"
        ;;
      *)
        echo "hack/tools: --print-cache-dirs does not know $t" >&2
        exit 2
        ;;
    esac
  done
  exit 0
fi

want=("$@")
if [[ ${#want[@]} -eq 0 ]]; then
  want=(etcd kube-apiserver kube-controller-manager kube-scheduler kubeadm kubectl)
fi

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
for t in "${want[@]}"; do
  ensure_one "$t"
done
