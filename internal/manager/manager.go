// Package manager builds the controller-runtime manager every podcluster
// binary and test uses, with the settings that keep API traffic low.
package manager

import (
	"time"

	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/podcluster/podcluster/internal/remote"
	"github.com/podcluster/podcluster/internal/scheme"
)

// Options configure a manager.
type Options struct {
	// MetricsAddr serves Prometheus metrics; "0" disables them.
	MetricsAddr string
	// HealthAddr serves /healthz and /readyz; "" or "0" disables them.
	HealthAddr string
	// LeaderElection makes only one replica reconcile at a time.
	LeaderElection          bool
	LeaderElectionID        string
	LeaderElectionNamespace string
	// SyncPeriod re-lists everything this often (default 10 minutes).
	SyncPeriod time.Duration
	// Namespaces limits the controllers to objects in these namespaces: the
	// cache watches only them, so objects elsewhere are never seen, and the
	// manager needs RBAC only there (cluster-scoped kinds are still watched
	// cluster-wide). Empty means every namespace.
	Namespaces []string
	// AllowRestart lets one process build several managers with the same
	// controllers (tests that restart the manager); metrics names then repeat.
	AllowRestart bool
	// PprofAddr serves Go's net/http/pprof there, a debugging aid; "" or
	// "0" disables it.
	PprofAddr string
}

// New builds a manager. Reads of unstructured provider objects go through the
// cache like typed ones: the core reads them on every reconcile.
func New(cfg *rest.Config, opts Options) (manager.Manager, *remote.ClusterCache, error) {
	if opts.MetricsAddr == "" {
		opts.MetricsAddr = "0"
	}
	if opts.HealthAddr == "" {
		opts.HealthAddr = "0"
	}
	if opts.SyncPeriod == 0 {
		opts.SyncPeriod = 10 * time.Minute
	}
	s := scheme.New()
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  s,
		Metrics:                 metricsserver.Options{BindAddress: opts.MetricsAddr},
		HealthProbeBindAddress:  opts.HealthAddr,
		PprofBindAddress:        opts.PprofAddr,
		LeaderElection:          opts.LeaderElection,
		LeaderElectionID:        opts.LeaderElectionID,
		LeaderElectionNamespace: opts.LeaderElectionNamespace,
		Cache:                   cacheOptions(opts.SyncPeriod, opts.Namespaces),
		Client:                  client.Options{Cache: &client.CacheOptions{Unstructured: true}},
		Controller:              config.Controller{SkipNameValidation: &opts.AllowRestart},
		// The builder gives every controller this logger: "Reconciler error"
		// lines of benign errors go to debug (see BenignLogger).
		Logger: BenignLogger(ctrl.Log),
	})
	if err != nil {
		return nil, nil, err
	}
	cc := remote.New(mgr.GetClient(), s, remote.Options{})
	if err := mgr.Add(cc); err != nil {
		return nil, nil, err
	}
	return mgr, cc, nil
}

// cacheOptions sets the resync period and, when namespaces are given, limits
// the cache (and so every watch and cached read) to them.
func cacheOptions(sync time.Duration, namespaces []string) cache.Options {
	o := cache.Options{SyncPeriod: &sync}
	if len(namespaces) > 0 {
		o.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range namespaces {
			o.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return o
}
