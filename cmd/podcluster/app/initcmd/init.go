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
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podcluster/podcluster/cmd/podcluster/client/install"
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
	// install adapts the manifest: --image and --watch-namespace.
	install install.Options
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
waits until every manager is available.

podcluster publishes no image: the managers run ` + install.DefaultImage + ` unless
--image names another (build one with the repository's Dockerfile). By default the
managers serve every namespace, and the infrastructure provider may create
privileged Pods in any of them; --watch-namespace limits every manager, and its
RBAC, to the namespaces named.`,
		Example: `  # Install into the current kubectl context and wait for the managers
  podcluster init

  # Show what would be installed
  podcluster init --dry-run > podcluster.yaml

  # Run the managers from your own image, serving only two namespaces
  podcluster init --image registry.example.com/podcluster:v0.1 --watch-namespace team-a,team-b`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd.Context(), s) },
	}
	cmd.Flags().StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of the management cluster (default: $KUBECONFIG or ~/.kube/config)")
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "print the manifests instead of applying them")
	cmd.Flags().BoolVar(&o.wait, "wait", true, "wait until every manager Deployment is available")
	cmd.Flags().DurationVar(&o.timeout, "timeout", 5*time.Minute, "how long to wait for the managers")
	addInstallFlags(cmd, &o.install)
	return cmd
}

func (o *options) run(ctx context.Context, s streams.IO) error {
	if ctx == nil {
		ctx = context.Background()
	}
	data, err := manifestData(o.install)
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
	if err := limitToNamespaces(ctx, c, s, o.install.WatchNamespaces); err != nil {
		return err
	}
	if objs, err = withConversionWebhook(ctx, c, objs); err != nil {
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

// addInstallFlags registers the flags that adapt the manifest.
func addInstallFlags(cmd *cobra.Command, o *install.Options) {
	cmd.Flags().StringVar(&o.Image, "image", install.DefaultImage, "image of every manager Deployment")
	cmd.Flags().StringSliceVar(&o.WatchNamespaces, "watch-namespace", nil,
		"limit every manager, and its RBAC, to these namespaces (comma-separated; default: every namespace)")
}

// manifestData is the release manifest adapted to o; with the defaults it is
// the embedded manifest byte for byte.
func manifestData(o install.Options) ([]byte, error) {
	data, err := release.Manifest("podcluster")
	if err != nil {
		return nil, err
	}
	if o.Image == install.DefaultImage {
		o.Image = ""
	}
	if o.Image == "" && len(o.WatchNamespaces) == 0 {
		return data, nil
	}
	objs, err := manifest.Decode(data)
	if err != nil {
		return nil, err
	}
	if objs, err = install.Render(objs, o); err != nil {
		return nil, err
	}
	return install.Encode(objs)
}

// limitToNamespaces prepares a namespace-limited install: the namespaces must
// exist (their RoleBindings go there), and the cluster-wide bindings of an
// earlier install are deleted, or the managers would keep their cluster-wide
// rights. Without namespaces it does nothing.
func limitToNamespaces(ctx context.Context, c client.Client, s streams.IO, namespaces []string) error {
	if len(namespaces) == 0 {
		return nil
	}
	for _, ns := range namespaces {
		if err := c.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{}); err != nil {
			if apierrors.IsNotFound(err) {
				return fmt.Errorf("--watch-namespace %s: the namespace does not exist; create it first", ns)
			}
			return fmt.Errorf("reading namespace %s: %w", ns, err)
		}
	}
	data, err := release.Manifest("podcluster")
	if err != nil {
		return err
	}
	objs, err := manifest.Decode(data)
	if err != nil {
		return err
	}
	for _, obj := range objs {
		if obj.GetKind() != "ClusterRoleBinding" {
			continue
		}
		b := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: obj.GetName()}}
		switch err := c.Delete(ctx, b); {
		case err == nil:
			fmt.Fprintf(s.ErrOut, " • Deleted the cluster-wide ClusterRoleBinding %s\n", b.Name)
		case !apierrors.IsNotFound(err):
			return fmt.Errorf("deleting ClusterRoleBinding %s: %w", b.Name, err)
		}
	}
	return nil
}
