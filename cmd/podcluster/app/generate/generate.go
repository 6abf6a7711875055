// Package generate is the `podcluster generate` verb: `generate cluster NAME`
// prints a ready-to-apply cluster from an embedded flavor.
package generate

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	gen "github.com/podcluster/podcluster/cmd/podcluster/client/generate"
	"github.com/podcluster/podcluster/cmd/podcluster/client/streams"
)

// NewCommand returns the generate verb and its children.
func NewCommand(s streams.IO) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Print manifests to apply",
		Example: `  podcluster generate cluster demo | kubectl apply -f -
  podcluster generate cluster demo --flavor kcp --list-variables`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newClusterCommand(s))
	return cmd
}

type clusterOptions struct {
	flavor        string
	listVariables bool
	// values holds each variable's flag, by variable name.
	values map[string]*string
	// lookupEnv reads environment variables; tests replace it.
	lookupEnv func(string) (string, bool)
}

func newClusterCommand(s streams.IO) *cobra.Command {
	o := &clusterOptions{values: map[string]*string{}, lookupEnv: os.LookupEnv}
	cmd := &cobra.Command{
		Use:   "cluster NAME",
		Short: "Print a ready-to-apply cluster",
		Long: fmt.Sprintf(`cluster prints the manifests of a cluster named NAME from a flavor:

  default     control-plane Machines made by hand and a MachineDeployment of
              workers: the seed walkthrough's shape
  kcp         a KubeadmControlPlane, a MachineDeployment of workers and a
              MachineHealthCheck that replaces unhealthy workers
  persistent  the kcp flavor whose control-plane machines keep etcd's data in
              a PersistentVolumeClaim (var-lib-etcd)
  autoscale   the default flavor's shape whose workers are a node group of the
              cluster autoscaler (docs/autoscaler.md)

Each setting is a flag or, as with clusterctl, an environment variable (%s,
...); a flag wins over the environment variable, which wins over the default.
--list-variables prints the variables of a flavor and their defaults.`, gen.KubernetesVersion),
		Example: `  # The seed's shape, applied directly
  podcluster generate cluster demo | kubectl apply -f -

  # Three control-plane machines and five workers of 2 CPUs and 4Gi each
  podcluster generate cluster demo --flavor kcp --worker-machine-count 5 \
    --node-cpu 2 --node-memory 4Gi > demo.yaml

  # Settings from the environment, clusterctl style
  KUBERNETES_VERSION=v1.37.2 CONTROL_PLANE_MACHINE_COUNT=5 podcluster generate cluster demo --flavor persistent

  # What can be set
  podcluster generate cluster --flavor persistent --list-variables`,
		Args: func(cmd *cobra.Command, args []string) error {
			if o.listVariables {
				return cobra.MaximumNArgs(1)(cmd, args)
			}
			return cobra.ExactArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, s, args) },
	}
	f := cmd.Flags()
	f.StringVar(&o.flavor, "flavor", gen.DefaultFlavor, "flavor of the cluster: "+strings.Join(gen.Flavors(), ", "))
	f.BoolVar(&o.listVariables, "list-variables", false, "print the variables of the flavor and exit")
	for _, v := range gen.Variables {
		if v.Flag == "" {
			continue
		}
		usage := fmt.Sprintf("%s (env %s%s)", v.Description, v.Name, defaultsUsage(v))
		if v.Name == gen.Namespace {
			o.values[v.Name] = f.StringP(v.Flag, "n", "", usage)
		} else {
			o.values[v.Name] = f.String(v.Flag, "", usage)
		}
	}
	return cmd
}

// defaultsUsage says a variable's default for the flag's usage, naming the
// flavors whose default differs: "; default 1 with flavors autoscale and
// default, 3 otherwise", or "" without any default.
func defaultsUsage(v gen.Variable) string {
	general := v.Default("")
	var values []string
	byValue := map[string][]string{}
	for _, f := range gen.Flavors() {
		d := v.Default(f)
		if d == general {
			continue
		}
		if _, ok := byValue[d]; !ok {
			values = append(values, d)
		}
		byValue[d] = append(byValue[d], f)
	}
	var parts []string
	for _, d := range values {
		noun := "flavor"
		if len(byValue[d]) > 1 {
			noun = "flavors"
		}
		parts = append(parts, fmt.Sprintf("%s with %s %s", d, noun, strings.Join(byValue[d], " and ")))
	}
	switch {
	case len(parts) > 0 && general != "":
		parts = append(parts, general+" otherwise")
	case general != "":
		parts = append(parts, general)
	case len(parts) == 0:
		return ""
	}
	return "; default " + strings.Join(parts, ", ")
}

func (o *clusterOptions) run(cmd *cobra.Command, s streams.IO, args []string) error {
	if o.listVariables {
		return o.printVariables(s)
	}
	flags := map[string]string{gen.ClusterName: args[0]}
	for name, value := range o.values {
		v, _ := gen.Lookup(name)
		if cmd.Flags().Changed(v.Flag) {
			flags[name] = *value
		}
	}
	out, err := gen.Render(o.flavor, flags, o.lookupEnv)
	if err != nil {
		return err
	}
	_, err = s.Out.Write(out)
	return err
}

func (o *clusterOptions) printVariables(s streams.IO) error {
	vars, err := gen.FlavorVariables(o.flavor)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "Variables of flavor %q (a flag wins over the environment variable, which wins over the default):\n\n", o.flavor)
	w := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "VARIABLE\tFLAG\tDEFAULT\tDESCRIPTION")
	for _, v := range vars {
		flag := "--" + v.Flag
		if v.Flag == "" {
			flag = "NAME argument"
		}
		def := v.Default(o.flavor)
		switch {
		case def != "":
		case v.Optional:
			def = "(optional)"
		default:
			def = "(required)"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", v.Name, flag, def, v.Description)
	}
	return errors.Join(w.Flush())
}
