// Package initcmd is the `podcluster init` verb: install or upgrade the CRDs,
// RBAC and manager Deployments in an existing management cluster, from the
// manifests embedded in the binary.
package initcmd

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podcluster/podcluster/cmd/podcluster/client/manifest"
	"github.com/podcluster/podcluster/cmd/podcluster/client/streams"
	"github.com/podcluster/podcluster/config/release"
	"github.com/podcluster/podcluster/internal/scheme"
)

type options struct {
	kubeconfig string
	dryRun     bool
	wait       bool
	timeout    time.Duration
}

// NewCommand returns the init verb.
func NewCommand(s streams.IO) *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Install or upgrade podcluster in a management cluster",
		Long: `init installs the podcluster CRDs, the RBAC of each provider and one manager
Deployment per provider into the cluster of --kubeconfig, with server-side apply:
running it again changes nothing, and a newer podcluster upgrades in place. It then
waits until every manager is available.`,
		Example: `  # Install into the current kubectl context and wait for the managers
  podcluster init

  # Show what would be installed
  podcluster init --dry-run > podcluster.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd.Context(), s) },
	}
	cmd.Flags().StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of the management cluster (default: $KUBECONFIG or ~/.kube/config)")
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "print the manifests instead of applying them")
	cmd.Flags().BoolVar(&o.wait, "wait", true, "wait until every manager Deployment is available")
	cmd.Flags().DurationVar(&o.timeout, "timeout", 5*time.Minute, "how long to wait for the managers")
	return cmd
}

func (o *options) run(ctx context.Context, s streams.IO) error {
	if ctx == nil {
		ctx = context.Background()
	}
	data, err := release.Manifest("podcluster")
	if err != nil {
		return err
	}
	if o.dryRun {
		_, err := s.Out.Write(data)
		return err
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return fmt.Errorf("loading the management cluster's kubeconfig: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme.New()})
	if err != nil {
		return err
	}
	objs, err := manifest.Decode(data)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.ErrOut, " • Applying %d objects (CRDs, RBAC, managers)\n", len(objs))
	var deployments []client.ObjectKey
	for _, obj := range objs {
		if obj.GetKind() == "Deployment" {
			deployments = append(deployments, client.ObjectKeyFromObject(obj))
		}
		if err := manifest.Apply(ctx, c, "", obj); err != nil {
			return err
		}
	}
	if !o.wait {
		fmt.Fprintln(s.ErrOut, "podcluster is installed; not waiting for the managers (--wait=false)")
		return nil
	}
	for _, key := range deployments {
		fmt.Fprintf(s.ErrOut, " • Waiting for %s to be available\n", key.Name)
		err := wait.PollUntilContextTimeout(ctx, 2*time.Second, o.timeout, true, func(ctx context.Context) (bool, error) {
			d := &appsv1.Deployment{}
			if err := c.Get(ctx, key, d); err != nil {
				return false, nil
			}
			for _, cond := range d.Status.Conditions {
				if cond.Type == appsv1.DeploymentAvailable && cond.Status == "True" {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("manager Deployment %s did not become available within %s (see 'kubectl -n %s describe deployment %s'): %w",
				key.Name, o.timeout, key.Namespace, key.Name, err)
		}
	}
	fmt.Fprintln(s.ErrOut, "podcluster is installed and its managers are running")
	return nil
}
