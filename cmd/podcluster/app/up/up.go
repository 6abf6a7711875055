// Package up is the `podcluster up` verb: a local management plane on loopback
// with podcluster's CRDs installed, in the foreground until Ctrl-C.
package up

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/config/crd"
	"github.com/podcluster/podcluster/cmd/podcluster/client/streams"
	"github.com/podcluster/podcluster/internal/conditions"
	"github.com/podcluster/podcluster/cmd/podcluster/client/localplane"
	"github.com/podcluster/podcluster/internal/manager"
	"github.com/podcluster/podcluster/cmd/podcluster/client/manifest"
	"github.com/podcluster/podcluster/cmd/podcluster/providers"
	"github.com/podcluster/podcluster/internal/scheme"
	"github.com/podcluster/podcluster/test/sim"
	"github.com/podcluster/podcluster/cmd/podcluster/client/tools"
)

type options struct {
	stateDir  string
	apply     []string
	namespace string
	providers []string
	simulate  string
	wait      time.Duration
}

// NewCommand returns the up verb.
func NewCommand(s streams.IO) *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run a local management plane with podcluster's APIs",
		Long: `up starts etcd, kube-apiserver and kube-controller-manager on loopback, installs
podcluster's CRDs, optionally applies manifests, and runs in the foreground until
Ctrl-C or SIGTERM, when it stops everything it started. Its state (certificates,
etcd data, logs, an admin kubeconfig) lives in --state-dir; running up again
resumes the same plane.`,
		Example: `  # Start the plane and apply the seed walkthrough
  podcluster up --apply examples/seed

  # In another terminal
  export KUBECONFIG=~/.podcluster/kubeconfig
  kubectl get clusters,machines`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd.Context(), s) },
	}
	cmd.Flags().StringVar(&o.stateDir, "state-dir", localplane.DefaultStateDir(), "folder for the plane's certificates, data, logs and kubeconfig")
	cmd.Flags().StringSliceVarP(&o.apply, "apply", "f", nil, "manifest files or folders to apply once the plane is up (repeatable)")
	cmd.Flags().StringVarP(&o.namespace, "namespace", "n", "default", "namespace for applied objects that name none")
	cmd.Flags().DurationVar(&o.wait, "wait", 10*time.Minute, "after --apply, wait this long for the applied Clusters to be Available and list their Nodes; 0 skips")
	cmd.Flags().StringVar(&o.simulate, "simulate", "auto", "run the simulated runtime (kubelet, node boot, LoadBalancer): auto (when the plane has no Nodes), true or false")
	cmd.Flags().StringSliceVar(&o.providers, "providers", providers.Names(), "providers to run in-process ("+strings.Join(providers.Names(), ", ")+"); none with --providers=\"\"")
	return cmd
}

func (o *options) run(parent context.Context, s streams.IO) error {
	if parent == nil {
		parent = context.Background()
	}
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()

	if err := localplane.Claim(o.stateDir); err != nil {
		return err
	}
	defer localplane.Release(o.stateDir)

	fmt.Fprintf(s.ErrOut, "Starting the podcluster management plane in %s\n", o.stateDir)
	bin, err := tools.EnsureBinDir(s.ErrOut, "etcd", "kube-apiserver", "kube-controller-manager")
	if err != nil {
		return err
	}
	plane, err := localplane.Start(ctx, localplane.Options{StateDir: o.stateDir, BinDir: bin, Progress: s.ErrOut})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Fprintln(s.ErrOut, "Stopping the management plane")
		if err := plane.Stop(); err != nil {
			fmt.Fprintf(s.ErrOut, "ERROR: %v\n", err)
		}
	}()

	c, err := client.New(plane.Config, client.Options{Scheme: scheme.New()})
	if err != nil {
		return err
	}
	fmt.Fprintln(s.ErrOut, " • Installing CRDs")
	crds, err := crd.All()
	if err != nil {
		return err
	}
	if err := manifest.InstallCRDs(ctx, c, crds); err != nil {
		return err
	}
	if len(o.providers) > 0 {
		simulate, err := o.wantSimulation(ctx, plane)
		if err != nil {
			return err
		}
		if err := startProviders(ctx, plane, o.providers, o.stateDir, simulate); err != nil {
			return err
		}
		if simulate {
			fmt.Fprintln(s.ErrOut, " • Running the simulated runtime (node Pods boot without a kubelet)")
		}
		fmt.Fprintf(s.ErrOut, " • Running providers %s (log: %s)\n", strings.Join(o.providers, ", "), filepath.Join(o.stateDir, "logs", "providers.log"))
	}
	if len(o.apply) > 0 {
		objs, err := manifest.ReadPaths(o.apply...)
		if err != nil {
			return err
		}
		fmt.Fprintf(s.ErrOut, " • Applying %d objects from %v\n", len(objs), o.apply)
		applyCtx, cancel := context.WithTimeout(ctx, time.Minute)
		err = manifest.Apply(applyCtx, c, o.namespace, objs...)
		cancel()
		if err != nil {
			return err
		}
		if o.wait > 0 && len(o.providers) > 0 {
			for _, obj := range objs {
				if obj.GetKind() == "Cluster" && obj.GroupVersionKind().Group == clusterv1.GroupVersion.Group {
					if err := o.waitForCluster(ctx, s, plane, c, client.ObjectKeyFromObject(obj)); err != nil {
						return err
					}
				}
			}
		}
	}

	fmt.Fprintf(s.Out, `
The management plane is ready. In another terminal:

  export KUBECONFIG=%s
  kubectl get clusters,machines,machinedeployments -A

Press Ctrl-C to stop it; 'podcluster up --state-dir %s' resumes it later.
`, plane.KubeconfigPath, o.stateDir)
	return plane.Wait(ctx)
}

// startProviders runs the providers' controllers in this process, logging to
// <state-dir>/logs/providers.log. They stop with ctx.
func startProviders(ctx context.Context, plane *localplane.Plane, names []string, stateDir string, simulate bool) error {
	logFile, err := os.OpenFile(filepath.Join(stateDir, "logs", "providers.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(logFile)))
	mgr, cc, err := manager.New(plane.Config, manager.Options{})
	if err != nil {
		return err
	}
	if err := providers.SetupAll(ctx, mgr, names, providers.Options{ClusterCache: cc}); err != nil {
		return err
	}
	if simulate {
		rt := &sim.Runtime{ScratchDir: filepath.Join(stateDir, "sim"), EtcdURL: plane.EtcdURL, BinDir: plane.BinDir}
		if err := rt.Setup(mgr); err != nil {
			return fmt.Errorf("setting up the simulated runtime: %w", err)
		}
	}
	go func() {
		defer func() { _ = logFile.Close() }()
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintf(logFile, "manager stopped: %v\n", err)
		}
	}()
	return nil
}

// wantSimulation decides --simulate: auto means on when the plane has no
// Nodes, since then nothing else would run node Pods.
func (o *options) wantSimulation(ctx context.Context, plane *localplane.Plane) (bool, error) {
	switch o.simulate {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "auto":
		c, err := client.New(plane.Config, client.Options{Scheme: scheme.New()})
		if err != nil {
			return false, err
		}
		nodes := &corev1.NodeList{}
		if err := c.List(ctx, nodes); err != nil {
			return false, fmt.Errorf("listing the plane's Nodes: %w", err)
		}
		return len(nodes.Items) == 0, nil
	}
	return false, fmt.Errorf("--simulate must be auto, true or false, not %q", o.simulate)
}

// waitForCluster shows a Cluster's progress until it is Available, then lists
// its Nodes with kubectl through the Cluster's kubeconfig, which it saves as
// <state-dir>/<cluster>.kubeconfig.
func (o *options) waitForCluster(ctx context.Context, s streams.IO, plane *localplane.Plane, c client.Client, key client.ObjectKey) error {
	fmt.Fprintf(s.ErrOut, " • Waiting for Cluster %s to be available\n", key.Name)
	last := ""
	err := wait.PollUntilContextTimeout(ctx, time.Second, o.wait, true, func(ctx context.Context) (bool, error) {
		cluster := &clusterv1.Cluster{}
		if err := c.Get(ctx, key, cluster); err != nil {
			return false, nil
		}
		cp, workers := "-", "-"
		if st := cluster.Status.ControlPlane; st != nil {
			cp = readyOf(st.ReplicaCounts)
		}
		if st := cluster.Status.Workers; st != nil {
			workers = readyOf(st.ReplicaCounts)
		}
		progress := fmt.Sprintf("%s, control plane %s, workers %s", orDash(cluster.Status.Phase), cp, workers)
		if progress != last {
			fmt.Fprintf(s.ErrOut, "   %s: %s\n", key.Name, progress)
			last = progress
		}
		return conditions.IsTrue(cluster.Status.Conditions, clusterv1.AvailableCondition), nil
	})
	if err != nil {
		return fmt.Errorf("cluster %s is not available after %s (see 'podcluster describe cluster %s'): %w", key.Name, o.wait, key.Name, err)
	}
	secret := &corev1.Secret{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: key.Namespace, Name: key.Name + "-kubeconfig"}, secret); err != nil {
		return fmt.Errorf("reading the kubeconfig of Cluster %s: %w", key.Name, err)
	}
	path := filepath.Join(o.stateDir, key.Name+".kubeconfig")
	if err := os.WriteFile(path, secret.Data["value"], 0o600); err != nil {
		return err
	}
	fmt.Fprintf(s.ErrOut, " • Cluster %s is available; its Nodes (kubectl --kubeconfig %s get nodes):\n", key.Name, path)
	kubectl := exec.CommandContext(ctx, filepath.Join(plane.BinDir, "kubectl"), "--kubeconfig", path, "get", "nodes")
	kubectl.Stdout, kubectl.Stderr = s.Out, s.ErrOut
	if err := kubectl.Run(); err != nil {
		return fmt.Errorf("kubectl get nodes of Cluster %s: %w", key.Name, err)
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// readyOf formats "ready/desired ready" of replica counts.
func readyOf(r clusterv1.ReplicaCounts) string {
	return fmt.Sprintf("%d/%d ready", deref(r.ReadyReplicas), deref(r.DesiredReplicas))
}

func deref(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}
