#!/usr/bin/env bash
# bench/realnodes.sh measures the main job on real nodes (issue #17): the time
# from applying examples/real (one control plane, a MachineDeployment of 3) to
# 4 Ready Nodes with `podcluster up --runtime=real`, and the memory of each
# node Pod, read from its cgroup on the management node once the 4 Nodes are
# Ready: all of it (page cache included) and its anonymous memory only. It
# runs RUNS times (default 1) and prints each run and the medians. Root on
# Linux, with the node image built (make node-image); only one management node
# runs per host, so nothing else may run one meanwhile (it takes
# /tmp/podcluster-realnode.lock, as the real-node tests' users do).
#
#   bench/realnodes.sh [RUNS]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
runs=${1:-1}
exec 9>/tmp/podcluster-realnode.lock
flock 9
image_dir=$(hack/node-image/build.sh --print-dir)
[[ -f $image_dir/node-image.tar ]] || { echo "the node image is not built: make node-image" >&2; exit 1; }
hack/tools/ensure.sh etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl >/dev/null
kubectl="$(hack/tools/ensure.sh --print-dir)/kubectl"
work=$(mktemp -d)
pid=""
cleanup() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; wait "$pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/podcluster" ./cmd/podcluster
export PODCLUSTER_SIM_LOADBALANCER_BASE=${PODCLUSTER_SIM_LOADBALANCER_BASE:-127.73.1.1}

now() { date +%s.%N; }
# cgroup_mib DIR: "all anon" memory of a cgroup, in MiB (cgroup v1 or v2).
cgroup_mib() {
  if [[ -f $1/memory.usage_in_bytes ]]; then
    awk -v all="$(cat "$1/memory.usage_in_bytes")" '$1 == "total_rss" {rss = $2} END {printf "%d %d\n", all / 1048576, rss / 1048576}' "$1/memory.stat"
  else
    awk -v all="$(cat "$1/memory.current")" '$1 == "anon" {rss = $2} END {printf "%d %d\n", all / 1048576, rss / 1048576}' "$1/memory.stat"
  fi
}

times=()
for i in $(seq "$runs"); do
  state="$work/state-$i"
  "$work/podcluster" up --runtime=real --state-dir "$state" --node-image-dir "$image_dir" \
    --apply examples/real --wait=20m >"$work/out" 2>"$work/err" &
  pid=$!
  applied="" ready=""
  for _ in $(seq 18000); do
    [[ -z $applied ]] && grep -q "Applying" "$work/err" && applied=$(now)
    if grep -q "is available" "$work/err" && [[ $(grep -c " Ready " "$work/out") -ge 4 ]]; then ready=$(now); break; fi
    kill -0 "$pid" 2>/dev/null || { cat "$work/err" >&2; exit 1; }
    sleep 0.1
  done
  [[ -n $ready ]] || { echo "run $i: the cluster did not become ready" >&2; tail -20 "$work/err" >&2; exit 1; }
  secs=$(awk -v a="$applied" -v b="$ready" 'BEGIN {printf "%.1f", b - a}')
  load=$(cut -d' ' -f1 /proc/loadavg)
  printf 'run %d: %s s from apply to 4 Ready real Nodes (load average %s)\n' "$i" "$secs" "$load"
  times+=("$secs")
  # Each node Pod's cgroup: pod<uid> below the management node's cgroup root.
  memroot=/sys/fs/cgroup/memory
  [[ -d $memroot ]] || memroot=/sys/fs/cgroup
  for role in control-plane worker; do
    selector=cluster.x-k8s.io/cluster-name=real,cluster.x-k8s.io/control-plane
    [[ $role == worker ]] && selector=cluster.x-k8s.io/cluster-name=real,!cluster.x-k8s.io/control-plane
    while read -r name uid; do
      [[ -n $name ]] || continue
      dir=$(find "$memroot/podcluster-podcluster-management" -type d \( -name "pod$uid" -o -name "pod${uid//-/_}*" \) -print -quit 2>/dev/null || true)
      [[ -n $dir ]] || { echo "no cgroup for node Pod $name" >&2; continue; }
      read -r all anon < <(cgroup_mib "$dir")
      printf '  %-13s %-32s %5d MiB (page cache included), %4d MiB anonymous\n' "$role" "$name" "$all" "$anon"
    done < <("$kubectl" --kubeconfig "$state/kubeconfig" get pods -l "$selector" \
      -o jsonpath='{range .items[*]}{.metadata.name} {.metadata.uid}{"\n"}{end}')
  done
  kill -TERM "$pid"
  wait "$pid" || true
  pid=""
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf 'median: %s s from apply to 4 Ready real Nodes over %d runs\n' "$(median "${times[@]}")" "$runs"
