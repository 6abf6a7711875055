// Package mgmt selects the management cluster for the CLI verbs, the way
// kubectl does: --kubeconfig, --context and --namespace over the usual
// kubeconfig loading rules.
package mgmt

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podcluster/podcluster/internal/scheme"
)

// Flags select the management cluster and the namespace.
type Flags struct {
	Kubeconfig string
	Context    string
	Namespace  string
}

// AddFlags registers --kubeconfig, --context and -n/--namespace.
func (f *Flags) AddFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.Kubeconfig, "kubeconfig", "", "kubeconfig of the management cluster (default: $KUBECONFIG or ~/.kube/config)")
	cmd.Flags().StringVar(&f.Context, "context", "", "kubeconfig context of the management cluster (default: the current context)")
	cmd.Flags().StringVarP(&f.Namespace, "namespace", "n", "", "namespace of the Cluster (default: the context's namespace)")
}

// Client returns a client of the management cluster and the namespace to use.
func (f *Flags) Client() (client.Client, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = f.Kubeconfig
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: f.Context})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("loading the management cluster's kubeconfig: %w", err)
	}
	ns := f.Namespace
	if ns == "" {
		if ns, _, err = cc.Namespace(); err != nil {
			return nil, "", fmt.Errorf("reading the kubeconfig's namespace: %w", err)
		}
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme.New()})
	if err != nil {
		return nil, "", fmt.Errorf("connecting to the management cluster: %w", err)
	}
	return c, ns, nil
}
