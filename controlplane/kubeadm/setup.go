// Package kubeadm is the controlplane.cluster.x-k8s.io provider: the
// KubeadmControlPlane controller, which runs a Kubernetes control plane on
// Machines bootstrapped with kubeadm.
package kubeadm

import (
	"context"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	"github.com/podcluster/podcluster/controlplane/kubeadm/reconcilers/kubeadmcontrolplane"
	"github.com/podcluster/podcluster/internal/contract"
	"github.com/podcluster/podcluster/internal/remote"
)

// Options configure the control-plane provider.
type Options struct {
	// WatchFilter limits the controller to objects labelled
	// cluster.x-k8s.io/watch-filter=<WatchFilter>; empty means all.
	WatchFilter string
	// Concurrency is the number of workers per controller, by controller
	// name (kubeadmcontrolplane). Default 10.
	Concurrency map[string]int
	// ClusterCache gives access to workload clusters, where the
	// control plane's static Pods are inspected; shared between providers.
	ClusterCache *remote.ClusterCache
}

// Setup registers the control-plane provider's controllers with mgr.
func Setup(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	n := opts.Concurrency["kubeadmcontrolplane"]
	if n == 0 {
		n = 10
	}
	r := &kubeadmcontrolplane.Reconciler{
		Client:       mgr.GetClient(),
		APIReader:    mgr.GetAPIReader(),
		Resolver:     &contract.Resolver{Reader: mgr.GetClient()},
		WatchFilter:  opts.WatchFilter,
		ClusterCache: opts.ClusterCache,
	}
	return r.SetupWithManager(ctx, mgr, controller.Options{MaxConcurrentReconciles: n})
}
