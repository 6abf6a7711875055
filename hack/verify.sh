#!/usr/bin/env bash
# verify.sh fails when a generated file or a go.mod is stale. It regenerates
# into a scratch copy of the tree, so the working tree is never touched, and
# compares the two.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

status=0

# go.mod files must be tidy.
for mod in . hack/tools hack/tools/kubernetes hack/tools/etcd hack/tools/coredns hack/node-image; do
  if ! out=$(cd "$mod" && go mod tidy -diff 2>&1); then
    echo "verify: $mod/go.mod is not tidy; run 'go mod tidy' there:" >&2
    echo "$out" >&2
    status=1
  fi
done

# Generated files must match what `make generate` writes.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
tar --exclude=./bin --exclude=./.git -cf - . | tar -C "$scratch" -xf -
# The scratch copy links its tools to the same cache.
make -s -C "$scratch" generate >/dev/null
if ! diff -r -q --exclude=bin --exclude=.git "$root" "$scratch" >&2; then
  echo "verify: generated files are stale; run 'make generate' and commit the result" >&2
  status=1
fi
exit $status
