// Package kubeadm is the bootstrap.cluster.x-k8s.io provider: the
// KubeadmConfig controller, which turns a Machine into a Node with kubeadm.
package kubeadm

import (
	"context"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	"github.com/podcluster/podcluster/bootstrap/kubeadm/reconcilers/kubeadmconfig"
	"github.com/podcluster/podcluster/internal/remote"
)

// Options configure the bootstrap provider.
type Options struct {
	WatchFilter  string
	Concurrency  map[string]int
	ClusterCache *remote.ClusterCache
	// TokenTTL is the lifetime of join tokens (default 15 minutes).
	TokenTTL time.Duration
}

// Setup registers the bootstrap provider's controllers with mgr.
func Setup(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	n := opts.Concurrency["kubeadmconfig"]
	if n == 0 {
		n = 10
	}
	r := &kubeadmconfig.Reconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), ClusterCache: opts.ClusterCache,
		WatchFilter: opts.WatchFilter, TokenTTL: opts.TokenTTL,
	}
	return r.SetupWithManager(ctx, mgr, controller.Options{MaxConcurrentReconciles: n})
}
