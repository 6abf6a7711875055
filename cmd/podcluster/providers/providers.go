// Package providers lists the providers one podcluster binary can run, so
// that `podcluster manager --providers=...` and `podcluster up` run any subset
// of them in one process.
package providers

import (
	"context"
	"fmt"
	"sort"
	"strings"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/podcluster/podcluster/bootstrap/kubeadm"
	kubeadmcontrolplane "github.com/podcluster/podcluster/controlplane/kubeadm"
	"github.com/podcluster/podcluster/core"
	"github.com/podcluster/podcluster/infrastructure/kubernetes"
	"github.com/podcluster/podcluster/internal/remote"
)

// Options are what every provider's setup gets.
type Options struct {
	WatchFilter  string
	Concurrency  map[string]int
	ClusterCache *remote.ClusterCache
}

// Setup registers one provider's controllers with a manager.
type Setup func(ctx context.Context, mgr ctrl.Manager, opts Options) error

// registry maps provider names (as --providers spells them) to their setup.
// Providers that are not built yet are absent, and asking for one is an error.
var registry = map[string]Setup{
	"core": func(ctx context.Context, mgr ctrl.Manager, o Options) error {
		return core.Setup(ctx, mgr, core.Options{WatchFilter: o.WatchFilter, Concurrency: o.Concurrency, ClusterCache: o.ClusterCache})
	},
	"kubeadm-bootstrap": func(ctx context.Context, mgr ctrl.Manager, o Options) error {
		return kubeadm.Setup(ctx, mgr, kubeadm.Options{WatchFilter: o.WatchFilter, Concurrency: o.Concurrency, ClusterCache: o.ClusterCache})
	},
	"kubeadm-control-plane": func(ctx context.Context, mgr ctrl.Manager, o Options) error {
		return kubeadmcontrolplane.Setup(ctx, mgr, kubeadmcontrolplane.Options{WatchFilter: o.WatchFilter, Concurrency: o.Concurrency, ClusterCache: o.ClusterCache})
	},
	"kubernetes": func(ctx context.Context, mgr ctrl.Manager, o Options) error {
		return kubernetes.Setup(ctx, mgr, kubernetes.Options{WatchFilter: o.WatchFilter, Concurrency: o.Concurrency, ClusterCache: o.ClusterCache})
	},
}

// Names returns the available providers, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// SetupAll registers the named providers with mgr.
func SetupAll(ctx context.Context, mgr ctrl.Manager, names []string, opts Options) error {
	// Check every name before setting anything up.
	for _, n := range names {
		if _, ok := registry[n]; !ok {
			return fmt.Errorf("unknown provider %q (available: %s)", n, strings.Join(Names(), ", "))
		}
	}
	for _, n := range names {
		if err := registry[n](ctx, mgr, opts); err != nil {
			return fmt.Errorf("setting up provider %s: %w", n, err)
		}
	}
	return nil
}
