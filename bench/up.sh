#!/usr/bin/env bash
# bench/up.sh measures the main job in simulated mode: the time from applying
# examples/seed to 4 Ready Nodes, and the peak memory (VmHWM, resident) of the
# `podcluster up` process and of everything it runs (etcd, kube-apiserver,
# kube-controller-manager, the workload API servers). It runs RUNS times
# (default 3) and prints each run and the medians.
#
#   bench/up.sh [RUNS]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
runs=${1:-3}
hack/tools/ensure.sh etcd kube-apiserver kube-controller-manager kube-scheduler kubectl >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/podcluster" ./cmd/podcluster

now() { date +%s.%N; }
# peak_kib PID: VmHWM of a process, in KiB.
peak_kib() { awk '/^VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# tree_pids PID: a process and all its descendants, each once.
tree_pids() {
  local c
  echo "$1"
  for c in $(pgrep -P "$1" || true); do tree_pids "$c"; done
}
# tree_peak_kib PID: VmHWM summed over a process and its descendants.
tree_peak_kib() {
  local total=0 p
  for p in $(tree_pids "$1"); do total=$((total + $(peak_kib "$p"))); done
  echo "$total"
}

times=() ups=() totals=()
for i in $(seq "$runs"); do
  state="$work/state-$i"
  "$work/podcluster" up --state-dir "$state" --apply examples/seed >"$work/out" 2>"$work/err" &
  pid=$!
  applied="" ready=""
  for _ in $(seq 3000); do
    [[ -z $applied ]] && grep -q "Applying" "$work/err" && applied=$(now)
    if grep -q "is available" "$work/err" && grep -q " Ready " "$work/out"; then ready=$(now); break; fi
    kill -0 "$pid" 2>/dev/null || { cat "$work/err"; exit 1; }
    sleep 0.1
  done
  [[ -n $ready ]] || { echo "run $i: the cluster did not become ready" >&2; cat "$work/err" >&2; exit 1; }
  up_kib=$(peak_kib "$pid")
  total_kib=$(tree_peak_kib "$pid")
  "$work/podcluster" down --state-dir "$state" --purge >/dev/null 2>&1
  wait "$pid" || true
  secs=$(awk -v a="$applied" -v b="$ready" 'BEGIN {printf "%.2f", b - a}')
  nodes=$(grep -c " Ready " "$work/out")
  printf 'run %d: %s s from apply to %d Ready Nodes; peak RSS podcluster up %d MiB, with its processes %d MiB\n' \
    "$i" "$secs" "$nodes" $((up_kib / 1024)) $((total_kib / 1024))
  times+=("$secs") ups+=("$up_kib") totals+=("$total_kib")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf 'median: %s s to 4 Ready Nodes; peak RSS podcluster up %d MiB, with its processes %d MiB\n' \
  "$(median "${times[@]}")" $(( $(median "${ups[@]}") / 1024 )) $(( $(median "${totals[@]}") / 1024 ))
