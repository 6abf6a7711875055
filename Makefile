# podcluster developer entry points. Tool binaries are pinned in hack/tools and
# built once per version into a cache outside the clone (hack/tools/ensure.sh).

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c

ENSURE := hack/tools/ensure.sh
BIN := bin
CONTROLLER_GEN := $(BIN)/controller-gen
GOLANGCI_LINT := $(BIN)/golangci-lint

# Two cores and 24 GiB: two packages at a time, each with its own API server.
GO_TEST_FLAGS ?= -p 2 -timeout 45m
# The e2e and simulated-runtime packages run `podcluster up`, the providers and
# the simulated kubelet in the test process, where their goroutines meet: they
# run again on their own with the race detector, and not in the first run.
GO_TEST_RACE_PKGS ?= ./test/e2e/ ./test/sim/
GO_TEST_PKGS ?= $(filter-out %/test/e2e %/test/sim,$(shell go list ./...))

.PHONY: all
all: generate build

.PHONY: tools
tools: ## Build the pinned test binaries (etcd, kube-apiserver, kube-controller-manager, kubeadm, kubectl).
	$(ENSURE)

.PHONY: generate
generate: ## Regenerate deepcopy functions and CRDs.
	$(ENSURE) controller-gen
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./api/...
	$(CONTROLLER_GEN) crd paths=./api/... output:crd:artifacts:config=config/crd/bases
	$(CONTROLLER_GEN) rbac:roleName=podcluster-core-manager paths=./core/... output:rbac:artifacts:config=config/providers/core
	$(CONTROLLER_GEN) rbac:roleName=podcluster-kubeadm-bootstrap-manager paths=./bootstrap/... output:rbac:artifacts:config=config/providers/kubeadm-bootstrap
	$(CONTROLLER_GEN) rbac:roleName=podcluster-kubeadm-control-plane-manager paths=./controlplane/... output:rbac:artifacts:config=config/providers/kubeadm-control-plane
	gofmt -w api
	$(CONTROLLER_GEN) rbac:roleName=podcluster-kubernetes-manager paths=./infrastructure/... output:rbac:artifacts:config=config/providers/kubernetes
	hack/release-manifests.sh
	hack/tools/ensure.sh --print-cache-dirs $(INSTALL_TOOLS) > cmd/podcluster/client/tools/cachedirs.txt

.PHONY: release-manifests
release-manifests: ## Render config/ into config/release/ (one YAML per provider and podcluster.yaml).
	hack/release-manifests.sh

.PHONY: verify
verify: ## Fail when generated files or go.mod files are stale.
	hack/verify.sh

.PHONY: build
build: ## Build every package.
	go build ./...

# The tools `podcluster up` runs. An installed podcluster finds them in the
# tool cache by the folder names make generate records in
# cmd/podcluster/client/tools/cachedirs.txt.
INSTALL_TOOLS := etcd kube-apiserver kube-controller-manager kube-scheduler kubectl

.PHONY: install
install: ## Build the tools `podcluster up` needs into the tool cache, and go install the podcluster binary (into $GOBIN, else $GOPATH/bin).
	$(ENSURE) $(INSTALL_TOOLS)
	go install ./cmd/podcluster
	@echo "installed podcluster into $$(go env GOBIN | grep . || echo "$$(go env GOPATH)/bin")"

.PHONY: lint
lint: ## Run golangci-lint (pinned in hack/tools).
	$(ENSURE) golangci-lint
	$(GOLANGCI_LINT) run ./...

# UP_FLAGS go to `podcluster up` after the defaults, e.g. UP_FLAGS="--state-dir /tmp/scratch".
UP_FLAGS ?=

# up builds podcluster and runs it rather than `go run`, which dies on SIGTERM
# and leaves the plane running. GNU make ends itself by the signal on Ctrl-C
# (exit 130) even when its job exits 0; so when make runs in the foreground of
# a terminal, podcluster runs there as a job of its own (set -m): the
# interrupt reaches podcluster and not make, which exits 0 once the plane has
# stopped. SIGTERM to make ends that shell without passing the signal on, so
# --stop-with-parent stops the plane then. Elsewhere podcluster replaces the
# shell: make passes SIGTERM to it and waits for it.

.PHONY: up
up: ## The main job: a local management plane with podcluster's APIs and the seed example cluster.
	$(ENSURE) etcd kube-apiserver kube-controller-manager kube-scheduler kubectl
	go build -o $(BIN)/podcluster ./cmd/podcluster
	@if [ -t 0 ] && [ "$$(ps -o tpgid= -p $$$$)" -eq "$$(ps -o pgid= -p $$$$)" ]; then \
		set -m; $(BIN)/podcluster up --stop-with-parent --apply examples/seed $(UP_FLAGS) || exit $$?; \
	else \
		exec $(BIN)/podcluster up --apply examples/seed $(UP_FLAGS); \
	fi

.PHONY: test
test: ## Build the tools, install test packages, and run every test against real API servers (e2e and sim with -race).
	$(ENSURE)
	hack/ensure-test-packages.sh
	@# The node image, where the host can build and run real nodes (cached by
	@# its inputs; minutes cold): test/realnode boots it for real.
	@if [ "$$(id -u)" = 0 ] && [ "$$(uname -s)" = Linux ]; then hack/node-image/build.sh >/dev/null; \
	else echo "make test: not root on Linux: no node image, the real-node tests will skip" >&2; fi
	go test $(GO_TEST_FLAGS) $(GO_TEST_PKGS)
	cd hack/node-image && go test $(GO_TEST_FLAGS) ./...
	go test -race $(GO_TEST_FLAGS) $(GO_TEST_RACE_PKGS)

.PHONY: node-image
node-image: ## Build the node image (hack/node-image, cached by version; minutes cold, see docs/real-nodes.md).
	hack/ensure-test-packages.sh
	hack/node-image/build.sh

.PHONY: manager-image
manager-image: ## Build the manager image as an OCI archive (hack/manager-image, no container engine; prints its path).
	hack/manager-image/build.sh

# up-real keeps its plane apart from make up's simulated one.
UP_REAL_STATE_DIR ?= $(HOME)/.podcluster-real

.PHONY: up-real
up-real: node-image ## The main job on real nodes: up --runtime=real with examples/real (root, Linux; see docs/real-nodes.md).
	$(ENSURE) etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet
	go build -o $(BIN)/podcluster ./cmd/podcluster
	@if [ -t 0 ] && [ "$$(ps -o tpgid= -p $$$$)" -eq "$$(ps -o pgid= -p $$$$)" ]; then \
		set -m; $(BIN)/podcluster up --stop-with-parent --runtime=real --state-dir $(UP_REAL_STATE_DIR) --apply examples/real $(UP_FLAGS) || exit $$?; \
	else \
		exec $(BIN)/podcluster up --runtime=real --state-dir $(UP_REAL_STATE_DIR) --apply examples/real $(UP_FLAGS); \
	fi

.PHONY: test-realnode
test-realnode: node-image ## Run kubeadm init in the node image, in a private containerd (needs root).
	PODCLUSTER_BUILD_NODE_IMAGE=1 go test -count=1 -timeout 30m -v ./test/realnode/

.PHONY: help
help:
	@grep -E '^[a-z-]+:.*## ' Makefile | sed 's/:.*## /\t/'
