// Package core is the cluster.x-k8s.io provider: the Cluster, Machine,
// MachineSet, MachineDeployment and MachineHealthCheck controllers, and the
// ClusterResourceSet controller of addons.cluster.x-k8s.io.
package core

import (
	"context"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	"github.com/podcluster/podcluster/core/reconcilers/cluster"
	"github.com/podcluster/podcluster/core/reconcilers/clusterresourceset"
	"github.com/podcluster/podcluster/core/reconcilers/machine"
	"github.com/podcluster/podcluster/core/reconcilers/machinedeployment"
	"github.com/podcluster/podcluster/core/reconcilers/machinehealthcheck"
	"github.com/podcluster/podcluster/core/reconcilers/machineset"
	"github.com/podcluster/podcluster/internal/contract"
	"github.com/podcluster/podcluster/internal/remote"
)

// Options configure the core provider.
type Options struct {
	// WatchFilter limits the controllers to objects labelled
	// cluster.x-k8s.io/watch-filter=<WatchFilter>; empty means all.
	WatchFilter string
	// Concurrency is the number of workers per controller, by controller name
	// (cluster, machine, machineset, machinedeployment, machinehealthcheck,
	// clusterresourceset).
	// Default 10.
	Concurrency map[string]int
	// ClusterCache gives access to workload clusters; shared between providers.
	ClusterCache *remote.ClusterCache
}

// Setup registers the core controllers with mgr.
func Setup(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	resolver := &contract.Resolver{Reader: mgr.GetClient()}
	workers := func(name string) controller.Options {
		n := opts.Concurrency[name]
		if n == 0 {
			n = 10
		}
		return controller.Options{MaxConcurrentReconciles: n}
	}
	c := mgr.GetClient()
	for name, r := range map[string]interface {
		SetupWithManager(context.Context, ctrl.Manager, controller.Options) error
	}{
		"cluster":            &cluster.Reconciler{Client: c, Resolver: resolver, ClusterCache: opts.ClusterCache, WatchFilter: opts.WatchFilter},
		"machine":            &machine.Reconciler{Client: c, APIReader: mgr.GetAPIReader(), ClusterCache: opts.ClusterCache, Resolver: resolver, WatchFilter: opts.WatchFilter},
		"machineset":         &machineset.Reconciler{Client: c, Resolver: resolver, WatchFilter: opts.WatchFilter},
		"machinedeployment":  &machinedeployment.Reconciler{Client: c, WatchFilter: opts.WatchFilter},
		"clusterresourceset": &clusterresourceset.Reconciler{Client: c, ClusterCache: opts.ClusterCache, WatchFilter: opts.WatchFilter},
		"machinehealthcheck": &machinehealthcheck.Reconciler{Client: c, APIReader: mgr.GetAPIReader(), ClusterCache: opts.ClusterCache, WatchFilter: opts.WatchFilter},
	} {
		if err := r.SetupWithManager(ctx, mgr, workers(name)); err != nil {
			return fmt.Errorf("setting up the %s controller: %w", name, err)
		}
	}
	return nil
}
