// Package describe is the `podcluster describe` verb: `describe cluster NAME`
// prints the tree of a Cluster and the health of each of its parts.
package describe

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	tree "github.com/podcluster/podcluster/cmd/podcluster/client/describe"
	"github.com/podcluster/podcluster/cmd/podcluster/client/mgmt"
	"github.com/podcluster/podcluster/cmd/podcluster/client/streams"
)

// pollInterval is how often --watch reads the objects again.
const pollInterval = 2 * time.Second

// ANSI sequence that moves the cursor home and clears the screen.
const clearScreen = "\x1b[H\x1b[2J"

// NewCommand returns the describe verb and its children.
func NewCommand(s streams.IO) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "describe",
		Short:   "Show the state of a workload cluster",
		Example: "  podcluster describe cluster demo",
		Args:    cobra.NoArgs,
	}
	cmd.AddCommand(newClusterCommand(s))
	return cmd
}

type clusterOptions struct {
	mgmt.Flags
	output string
	color  string
	watch  bool
}

func newClusterCommand(s streams.IO) *cobra.Command {
	o := &clusterOptions{}
	cmd := &cobra.Command{
		Use:   "cluster NAME",
		Short: "Show the tree of a Cluster and the health of its parts",
		Long: `cluster prints the Cluster NAME as a tree: its infrastructure, its control plane
(a KubeadmControlPlane and its Machines, or the control-plane Machines), and its
workers (MachineDeployments, their MachineSets and Machines, and stand-alone
Machines), then its MachineHealthChecks with their healthy/expected Machines.
A Machine a MachineHealthCheck found unhealthy is marked [Unhealthy], and
[Unhealthy, Remediating] once it was handed on for remediation.

Each line shows the replicas (current/desired) of groups and the status of the
object's Ready, Available and UpToDate conditions (MachinesReady and
MachinesUpToDate for groups without them). Under anything unhealthy, a line per
condition that is False or Unknown gives its reason and message.

-o json|yaml prints the same tree for programs. --watch redraws the tree when
it changes, until Ctrl-C.`,
		Example: `  # The state of a cluster
  podcluster describe cluster demo

  # Follow a cluster coming up
  podcluster describe cluster demo -n team-a --watch

  # For scripts
  podcluster describe cluster demo -o json | jq '.children[] | select(.role == "ControlPlane")'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd.Context(), s, args[0]) },
	}
	o.AddFlags(cmd)
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "", "output format: json or yaml (default: a tree for people)")
	f.StringVar(&o.color, "color", "auto", "colour the statuses: auto (on a terminal, unless $NO_COLOR is set), always or never")
	f.BoolVarP(&o.watch, "watch", "w", false, "redraw when the cluster changes, until Ctrl-C")
	return cmd
}

func (o *clusterOptions) validate() error {
	switch o.output {
	case "", "json", "yaml":
	default:
		return fmt.Errorf("invalid --output %q: must be json or yaml", o.output)
	}
	switch o.color {
	case "auto", "always", "never":
	default:
		return fmt.Errorf("invalid --color %q: must be auto, always or never", o.color)
	}
	return nil
}

func (o *clusterOptions) run(ctx context.Context, s streams.IO, name string) error {
	if err := o.validate(); err != nil {
		return err
	}
	if ctx == nil {
		ctx = context.Background()
	}
	c, ns, err := o.Client()
	if err != nil {
		return err
	}
	tty := isTerminal(s.Out)
	color := o.color == "always" || (o.color == "auto" && tty && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb")
	draw := func() ([]byte, error) {
		in, err := read(ctx, c, ns, name)
		if err != nil {
			return nil, err
		}
		return o.format(tree.Build(in), color)
	}
	if !o.watch {
		out, err := draw()
		if err != nil {
			return err
		}
		_, err = s.Out.Write(out)
		return err
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	var last []byte
	for {
		out, err := draw()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// A watched cluster may be gone or the API server away for a moment: say so and keep watching.
			out = fmt.Appendf(nil, "ERROR: %v\n", err)
		}
		if !bytes.Equal(out, last) {
			if err := o.redraw(s.Out, tty, last == nil, ns, name, out); err != nil {
				return err
			}
			last = out
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// redraw shows a new frame of --watch: on a terminal in place of the last one,
// elsewhere after it.
func (o *clusterOptions) redraw(w io.Writer, tty, first bool, ns, name string, frame []byte) error {
	var b bytes.Buffer
	switch {
	case tty && o.output == "":
		b.WriteString(clearScreen)
		fmt.Fprintf(&b, "Cluster %s/%s every %s, at %s (Ctrl-C to stop)\n\n", ns, name, pollInterval, time.Now().Format(time.TimeOnly))
	case first:
	case o.output == "yaml":
		b.WriteString("---\n")
	case o.output == "":
		b.WriteString("\n")
	}
	b.Write(frame)
	_, err := w.Write(b.Bytes())
	return err
}

func (o *clusterOptions) format(root *tree.Node, color bool) ([]byte, error) {
	switch o.output {
	case "json":
		b, err := json.MarshalIndent(root, "", "  ")
		return append(b, '\n'), err
	case "yaml":
		return yaml.Marshal(root)
	}
	var b bytes.Buffer
	err := tree.Render(&b, root, color)
	return b.Bytes(), err
}

// read collects the objects of a Cluster. The Cluster's own kinds are typed;
// the infrastructure and control plane are read through the contract, as
// unstructured objects, so that any provider's kinds show.
func read(ctx context.Context, c client.Client, ns, name string) (tree.Input, error) {
	in := tree.Input{Cluster: &clusterv1.Cluster{}}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, in.Cluster); err != nil {
		if apierrors.IsNotFound(err) {
			return in, fmt.Errorf("no Cluster %s/%s", ns, name)
		}
		return in, fmt.Errorf("reading Cluster %s/%s: %w", ns, name, err)
	}
	if ref := in.Cluster.Spec.InfrastructureRef; ref.Name != "" {
		in.Infrastructure = provider(ctx, c, ns, ref)
	}
	if ref := in.Cluster.Spec.ControlPlaneRef; ref.Name != "" {
		in.ControlPlane = provider(ctx, c, ns, ref)
	}

	mds := &clusterv1.MachineDeploymentList{}
	if err := c.List(ctx, mds, client.InNamespace(ns)); err != nil {
		return in, fmt.Errorf("listing MachineDeployments in %s: %w", ns, err)
	}
	for _, md := range mds.Items {
		if md.Spec.ClusterName == name {
			in.MachineDeployments = append(in.MachineDeployments, md)
		}
	}
	sets := &clusterv1.MachineSetList{}
	if err := c.List(ctx, sets, client.InNamespace(ns)); err != nil {
		return in, fmt.Errorf("listing MachineSets in %s: %w", ns, err)
	}
	for _, ms := range sets.Items {
		if ms.Spec.ClusterName == name {
			in.MachineSets = append(in.MachineSets, ms)
		}
	}
	machines := &clusterv1.MachineList{}
	if err := c.List(ctx, machines, client.InNamespace(ns)); err != nil {
		return in, fmt.Errorf("listing Machines in %s: %w", ns, err)
	}
	for _, m := range machines.Items {
		if m.Spec.ClusterName == name {
			in.Machines = append(in.Machines, m)
		}
	}
	mhcs := &clusterv1.MachineHealthCheckList{}
	if err := c.List(ctx, mhcs, client.InNamespace(ns)); err != nil {
		return in, fmt.Errorf("listing MachineHealthChecks in %s: %w", ns, err)
	}
	for _, mhc := range mhcs.Items {
		if mhc.Spec.ClusterName == name {
			in.MachineHealthChecks = append(in.MachineHealthChecks, mhc)
		}
	}
	return in, nil
}

// provider reads a referenced provider object; what cannot be read is
// reported on the object rather than failing the whole tree.
func provider(ctx context.Context, c client.Client, ns string, ref clusterv1.ContractVersionedObjectReference) *tree.Object {
	o := &tree.Object{Kind: ref.Kind, Name: ref.Name}
	mapping, err := c.RESTMapper().RESTMapping(schema.GroupKind{Group: ref.APIGroup, Kind: ref.Kind})
	if err != nil {
		o.NotFound = fmt.Sprintf("no API serves %s.%s: %v", ref.Kind, ref.APIGroup, err)
		return o
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(mapping.GroupVersionKind)
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: ref.Name}, u); err != nil {
		o.NotFound = err.Error()
		return o
	}
	// The contract fields every provider object of these roles has.
	var contract struct {
		Spec struct {
			Replicas *int32 `json:"replicas"`
		} `json:"spec"`
		Status struct {
			Replicas   *int32             `json:"replicas"`
			Conditions []metav1.Condition `json:"conditions"`
		} `json:"status"`
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &contract); err != nil {
		o.NotFound = fmt.Sprintf("reading its status: %v", err)
		return o
	}
	o.Conditions = contract.Status.Conditions
	o.Desired, o.Current = contract.Spec.Replicas, contract.Status.Replicas
	return o
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) //nolint:gosec // a file descriptor fits in an int
}
