// Package get is the `podcluster get` verb: `get kubeconfig NAME` prints the
// admin kubeconfig of a workload cluster.
package get

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podcluster/podcluster/cmd/podcluster/client/mgmt"
	"github.com/podcluster/podcluster/cmd/podcluster/client/streams"
)

// NewCommand returns the get verb and its children.
func NewCommand(s streams.IO) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "get",
		Short:   "Print data of a workload cluster",
		Example: "  podcluster get kubeconfig demo --output demo.kubeconfig",
		Args:    cobra.NoArgs,
	}
	cmd.AddCommand(newKubeconfigCommand(s))
	return cmd
}

type kubeconfigOptions struct {
	mgmt.Flags
	output string
}

func newKubeconfigCommand(s streams.IO) *cobra.Command {
	o := &kubeconfigOptions{}
	cmd := &cobra.Command{
		Use:   "kubeconfig NAME",
		Short: "Print the admin kubeconfig of a workload cluster",
		Long: `kubeconfig prints the admin kubeconfig of the Cluster NAME: the value key of
the Secret NAME-kubeconfig that its control plane writes once it is initialized.
With --output it writes the kubeconfig to a file readable only by its owner.`,
		Example: `  # Use a workload cluster: --output writes the file with mode 0600
  podcluster get kubeconfig demo --output demo.kubeconfig
  kubectl --kubeconfig demo.kubeconfig get nodes

  # From a Cluster in namespace team-a, to standard output
  podcluster get kubeconfig demo -n team-a`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd.Context(), s, args[0]) },
	}
	o.AddFlags(cmd)
	cmd.Flags().StringVar(&o.output, "output", "", "write the kubeconfig to this file (mode 0600) instead of standard output")
	return cmd
}

func (o *kubeconfigOptions) run(ctx context.Context, s streams.IO, name string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, ns, err := o.Client()
	if err != nil {
		return err
	}
	secret := &corev1.Secret{}
	key := client.ObjectKey{Namespace: ns, Name: name + "-kubeconfig"}
	if err := c.Get(ctx, key, secret); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("no Secret %s: the kubeconfig of Cluster %s/%s is written there once its control plane is initialized", key, ns, name)
		}
		return fmt.Errorf("reading Secret %s: %w", key, err)
	}
	value, ok := secret.Data["value"]
	if !ok || len(value) == 0 {
		return fmt.Errorf("the Secret %s has no key \"value\"", key)
	}
	if o.output == "" {
		_, err := s.Out.Write(value)
		return err
	}
	if err := writePrivate(o.output, value); err != nil {
		return err
	}
	fmt.Fprintf(s.ErrOut, "Wrote the kubeconfig of Cluster %s/%s to %s\n", ns, name, o.output)
	return nil
}

// writePrivate writes a file only its owner can read, also when it exists already.
func writePrivate(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		_ = f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
