// Package convert is the `podcluster convert` verb: it rewrites manifests of
// Cluster API v1alpha2 (the seed's API) and v1beta1 into v1beta2.
package convert

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/podcluster/podcluster/cmd/podcluster/client/convert"
	"github.com/podcluster/podcluster/cmd/podcluster/client/manifest"
	"github.com/podcluster/podcluster/cmd/podcluster/client/streams"
)

type options struct {
	file string
}

// NewCommand returns the convert verb.
func NewCommand(s streams.IO) *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:   "convert -f FILE",
		Short: "Rewrite Cluster API v1alpha2 and v1beta1 manifests as v1beta2",
		Long: `convert reads manifests written for Cluster API v1alpha2 (cluster.x-k8s.io,
bootstrap.cluster.x-k8s.io and the Kubernetes provider's
infrastructure.lukeaddison.co.uk) and prints them as v1beta2 objects that
podcluster serves. References change to {apiGroup, kind, name}, the cluster-name
label becomes spec.clusterName, and argument maps become lists.

v1beta1 objects of cluster.x-k8s.io (Cluster, Machine, MachineSet,
MachineDeployment, MachineHealthCheck) and bootstrap.cluster.x-k8s.io
(KubeadmConfig, KubeadmConfigTemplate) go through the same conversion the API
server's conversion webhook uses; podcluster also serves them as they are.

Every field that cannot be carried over is named on standard error; other kinds
are printed unchanged, with a warning. convert fails only when it cannot read
its input: a missing file, YAML that does not parse, or a document with a key
twice in one mapping (often a missing "---" between two objects), which it
names rather than let one value silently replace the other.`,
		Example: `  # Convert the seed walkthrough and apply it
  podcluster convert -f cluster.yaml > cluster-v1beta2.yaml
  kubectl apply -f cluster-v1beta2.yaml

  # Convert from standard input
  cat machines.yaml | podcluster convert -f -`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { return o.run(s) },
	}
	cmd.Flags().StringVarP(&o.file, "filename", "f", "", `manifest file to convert ("-" for standard input)`)
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}

func (o *options) run(s streams.IO) error {
	data, err := o.read(s.In)
	if err != nil {
		return err
	}
	objs, err := manifest.Decode(data)
	if err != nil {
		return fmt.Errorf("%s: %w", o.name(), err)
	}
	objs, warnings, err := fromV1beta1(objs)
	if err != nil {
		return err
	}
	out, more := convert.Convert(objs)
	warnings = append(warnings, more...)
	for _, w := range warnings {
		fmt.Fprintf(s.ErrOut, "WARNING: %s\n", w)
	}
	for i, obj := range out {
		doc, err := yaml.Marshal(obj.Object)
		if err != nil {
			return fmt.Errorf("encoding %s %s: %w", obj.GetKind(), obj.GetName(), err)
		}
		if i > 0 {
			if _, err := io.WriteString(s.Out, "---\n"); err != nil {
				return err
			}
		}
		if _, err := s.Out.Write(doc); err != nil {
			return err
		}
	}
	return nil
}

func (o *options) read(in io.Reader) ([]byte, error) {
	if o.file == "-" {
		data, err := io.ReadAll(in)
		if err != nil {
			return nil, fmt.Errorf("reading standard input: %w", err)
		}
		return data, nil
	}
	return os.ReadFile(o.file)
}

func (o *options) name() string {
	if o.file == "-" {
		return "standard input"
	}
	return o.file
}
