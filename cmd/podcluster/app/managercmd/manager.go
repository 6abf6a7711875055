// Package managercmd is the `podcluster manager` verb: the controllers of any
// subset of providers in one process, with leader election, metrics, health
// endpoints and structured logs.
package managercmd

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"go.uber.org/zap/zapcore"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/podcluster/podcluster/cmd/podcluster/client/streams"
	"github.com/podcluster/podcluster/cmd/podcluster/providers"
	"github.com/podcluster/podcluster/internal/manager"
	"github.com/podcluster/podcluster/internal/webhook"
)

type options struct {
	kubeconfig       string
	providers        []string
	watchFilter      string
	namespaces       []string
	concurrency      map[string]string
	metricsAddr      string
	healthAddr       string
	leaderElect      bool
	leaderElectionNS string
	logFormat        string
	verbosity        int
	// webhookPort and webhookCertDir serve the conversion webhook (0: off).
	webhookPort    int
	webhookCertDir string
}

// NewCommand returns the manager verb.
func NewCommand(s streams.IO) *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:   "manager",
		Short: "Run the controllers of one or more providers",
		Long: `manager runs the controllers of the providers named in --providers against the
management cluster of --kubeconfig (or the in-cluster config). Several replicas can
run with --leader-elect; several instances can split objects with --watch-filter or
--namespace. With --namespace the manager watches, and needs RBAC in, only the
namespaces named (see 'podcluster init --watch-namespace').`,
		Example: `  # All providers in one process
  podcluster manager --providers=` + strings.Join(providers.Names(), ",") + `

  # Only the core provider, for objects labelled cluster.x-k8s.io/watch-filter=team-a
  podcluster manager --providers=core --watch-filter=team-a --concurrency=machine=20

  # Only objects in the namespaces team-a and team-b
  podcluster manager --namespace=team-a,team-b`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd, s) },
	}
	f := cmd.Flags()
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of the management cluster (default: in-cluster config or $KUBECONFIG)")
	f.StringSliceVar(&o.providers, "providers", providers.Names(), "providers to run: "+strings.Join(providers.Names(), ", "))
	f.StringVar(&o.watchFilter, "watch-filter", "", "only reconcile objects labelled cluster.x-k8s.io/watch-filter=<value>")
	f.StringSliceVar(&o.namespaces, "namespace", nil, "only watch and reconcile objects in these namespaces (comma-separated; default: every namespace)")
	f.StringToStringVar(&o.concurrency, "concurrency", nil, "workers per controller, for example machine=20,cluster=5 (default 10 each)")
	f.StringVar(&o.metricsAddr, "metrics-bind-address", ":8080", "address of the Prometheus metrics endpoint; 0 disables it")
	f.StringVar(&o.healthAddr, "health-probe-bind-address", ":8081", "address of /healthz and /readyz; 0 disables it")
	f.BoolVar(&o.leaderElect, "leader-elect", false, "elect a leader so that only one replica reconciles")
	f.StringVar(&o.leaderElectionNS, "leader-election-namespace", "", "namespace of the leader election Lease (default: the Pod's namespace)")
	f.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	f.IntVarP(&o.verbosity, "v", "v", 0, "log verbosity")
	f.IntVar(&o.webhookPort, "webhook-port", 0, "port of the CRD conversion webhook (cluster.x-k8s.io and bootstrap.cluster.x-k8s.io v1beta1); 0 disables it")
	f.StringVar(&o.webhookCertDir, "webhook-cert-dir", webhook.InClusterCertDir, "folder with the webhook's serving certificate (tls.crt, tls.key)")
	return cmd
}

func (o *options) run(cmd *cobra.Command, s streams.IO) error {
	if o.logFormat != "text" && o.logFormat != "json" {
		return fmt.Errorf("--log-format must be text or json, not %q", o.logFormat)
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(s.ErrOut), zap.UseDevMode(o.logFormat == "text"), zap.Level(zapcore.Level(-o.verbosity))))
	concurrency := map[string]int{}
	for name, v := range o.concurrency {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("--concurrency %s=%s: want a positive number", name, v)
		}
		concurrency[name] = n
	}
	cfg, err := ctrl.GetConfig()
	if o.kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	}
	if err != nil {
		return fmt.Errorf("loading the management cluster's config: %w", err)
	}
	cfg.QPS, cfg.Burst = 100, 200
	mgr, cc, err := manager.New(cfg, manager.Options{
		MetricsAddr: o.metricsAddr, HealthAddr: o.healthAddr,
		LeaderElection: o.leaderElect, LeaderElectionID: "podcluster-" + strings.Join(o.providers, "-"),
		LeaderElectionNamespace: o.leaderElectionNS, Namespaces: o.namespaces,
	})
	if err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	ctx := cmd.Context()
	if ctx == nil || ctx.Done() == nil {
		ctx = ctrl.SetupSignalHandler()
	}
	if o.webhookPort != 0 {
		if err := webhook.AddServer(mgr, o.webhookPort, o.webhookCertDir); err != nil {
			return err
		}
	}
	if err := providers.SetupAll(ctx, mgr, o.providers, providers.Options{WatchFilter: o.watchFilter, Concurrency: concurrency, ClusterCache: cc}); err != nil {
		return err
	}
	ctrl.Log.Info("Starting manager", "providers", o.providers, "watchFilter", o.watchFilter, "namespaces", o.namespaces)
	return mgr.Start(ctx)
}
