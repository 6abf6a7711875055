// Package kubernetes is the infrastructure.cluster.x-k8s.io provider that runs
// each workload-cluster Node as a privileged Pod of the management cluster: the
// KubernetesCluster, KubernetesMachine and KubernetesMachineTemplate
// controllers.
package kubernetes

import (
	"context"
	"errors"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	"github.com/podcluster/podcluster/infrastructure/kubernetes/reconcilers/kubernetescluster"
	"github.com/podcluster/podcluster/infrastructure/kubernetes/reconcilers/kubernetesmachine"
	"github.com/podcluster/podcluster/infrastructure/kubernetes/reconcilers/kubernetesmachinetemplate"
	"github.com/podcluster/podcluster/internal/remote"
)

// Options configure the infrastructure provider.
type Options struct {
	// WatchFilter limits the controllers to objects labelled
	// cluster.x-k8s.io/watch-filter=<WatchFilter>; empty means all.
	WatchFilter string
	// Concurrency is the number of workers per controller, by controller name
	// (kubernetescluster, kubernetesmachine, kubernetesmachinetemplate).
	// Default 10.
	Concurrency map[string]int
	// ClusterCache gives access to workload clusters; shared between providers.
	ClusterCache *remote.ClusterCache
}

// Setup registers the infrastructure provider's controllers with mgr.
func Setup(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	if opts.ClusterCache == nil {
		return errors.New("infrastructure provider: no ClusterCache")
	}
	workers := func(name string) controller.Options {
		n := opts.Concurrency[name]
		if n == 0 {
			n = 10
		}
		return controller.Options{MaxConcurrentReconciles: n}
	}
	c := mgr.GetClient()
	for _, r := range []struct {
		name string
		r    interface {
			SetupWithManager(context.Context, ctrl.Manager, controller.Options) error
		}
	}{
		{"kubernetescluster", &kubernetescluster.Reconciler{Client: c, WatchFilter: opts.WatchFilter}},
		{"kubernetesmachine", &kubernetesmachine.Reconciler{
			Client: c, APIReader: mgr.GetAPIReader(), ClusterCache: opts.ClusterCache, WatchFilter: opts.WatchFilter,
		}},
		{"kubernetesmachinetemplate", &kubernetesmachinetemplate.Reconciler{Client: c, WatchFilter: opts.WatchFilter}},
	} {
		if err := r.r.SetupWithManager(ctx, mgr, workers(r.name)); err != nil {
			return fmt.Errorf("setting up the %s controller: %w", r.name, err)
		}
	}
	return nil
}
