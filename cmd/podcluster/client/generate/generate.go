// Package generate renders ready-to-apply clusters from embedded flavors:
// text/template files whose variables come from flags, clusterctl-style
// environment variables, or defaults, in that order of precedence.
package generate

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/version"

	"github.com/podcluster/podcluster/cmd/podcluster/client/manifest"
)

//go:embed flavors/*.yaml
var flavorFS embed.FS

// DefaultFlavor is the flavor of the seed walkthrough.
const DefaultFlavor = "default"

// AutoscaleFlavor is the default flavor's shape with its workers a node group
// of the cluster autoscaler.
const AutoscaleFlavor = "autoscale"

// Variable names.
const (
	ClusterName              = "CLUSTER_NAME"
	Namespace                = "NAMESPACE"
	KubernetesVersion        = "KUBERNETES_VERSION"
	ControlPlaneMachineCount = "CONTROL_PLANE_MACHINE_COUNT"
	WorkerMachineCount       = "WORKER_MACHINE_COUNT"
	WorkerMachineMinCount    = "WORKER_MACHINE_MIN_COUNT"
	WorkerMachineMaxCount    = "WORKER_MACHINE_MAX_COUNT"
	PodCIDR                  = "POD_CIDR"
	ServiceCIDR              = "SERVICE_CIDR"
	ControlPlaneServiceType  = "CONTROL_PLANE_SERVICE_TYPE"
	NodeCPU                  = "NODE_CPU"
	NodeMemory               = "NODE_MEMORY"
	EtcdVolumeSize           = "ETCD_VOLUME_SIZE"
)

// Variable is one input of the flavors.
type Variable struct {
	// Name is the template and environment variable name, for example KUBERNETES_VERSION.
	Name string
	// Flag is the command-line flag without dashes; empty when the variable is
	// set another way (CLUSTER_NAME is the NAME argument).
	Flag string
	// Description says what the variable sets.
	Description string
	// Optional variables may stay empty; the flavors then leave their setting out.
	Optional bool
	// defaults are per flavor; "" is the default of any other flavor.
	defaults map[string]string
	// validate checks a value; the error need not name the variable.
	validate func(flavor, value string) error
}

// Default returns the default value of the variable in a flavor.
func (v Variable) Default(flavor string) string {
	if d, ok := v.defaults[flavor]; ok {
		return d
	}
	return v.defaults[""]
}

// Source names where a value of the variable comes from, for error messages.
func (v Variable) Source() string {
	if v.Name == ClusterName {
		return "NAME (" + v.Name + ")"
	}
	if v.Flag == "" {
		return v.Name
	}
	return fmt.Sprintf("--%s (%s)", v.Flag, v.Name)
}

// Variables lists every variable a flavor may use.
var Variables = []Variable{
	{
		Name: ClusterName, Description: "name of the Cluster; prefixes the names of its objects",
		validate: dnsLabel,
	},
	{
		Name: Namespace, Flag: "namespace", Description: "namespace of every object",
		defaults: map[string]string{"": "default"}, validate: dnsLabel,
	},
	{
		Name: KubernetesVersion, Flag: "kubernetes-version", Description: "Kubernetes version of the nodes",
		defaults: map[string]string{"": "v1.37.2"}, validate: kubernetesVersion,
	},
	{
		Name: ControlPlaneMachineCount, Flag: "control-plane-machine-count", Description: "number of control-plane machines",
		defaults: map[string]string{"": "3", DefaultFlavor: "1", AutoscaleFlavor: "1"}, validate: controlPlaneCount,
	},
	{
		Name: WorkerMachineCount, Flag: "worker-machine-count", Description: "number of worker machines",
		defaults: map[string]string{"": "3"}, validate: count(0),
	},
	{
		Name: WorkerMachineMinCount, Flag: "worker-machine-min-count", Description: "fewest worker machines the cluster autoscaler keeps, and the number the pool starts with",
		defaults: map[string]string{"": "1"}, validate: count(0),
	},
	{
		Name: WorkerMachineMaxCount, Flag: "worker-machine-max-count", Description: "most worker machines the cluster autoscaler makes",
		defaults: map[string]string{"": "5"}, validate: count(1),
	},
	{
		Name: PodCIDR, Flag: "pod-cidr", Description: "CIDR of the Pod network",
		defaults: map[string]string{"": "192.168.0.0/16"}, validate: cidr,
	},
	{
		Name: ServiceCIDR, Flag: "service-cidr", Description: "CIDR of the Service network",
		defaults: map[string]string{"": "10.128.0.0/12"}, validate: cidr,
	},
	{
		Name: ControlPlaneServiceType, Flag: "service-type", Description: "type of the API server's Service: ClusterIP, NodePort or LoadBalancer",
		defaults: map[string]string{"": "LoadBalancer"}, validate: serviceType,
	},
	{
		Name: NodeCPU, Flag: "node-cpu", Description: "CPU of each node container (requests and limits), for example 2", Optional: true,
		// The autoscaler scales a pool up from zero only when it knows a
		// new node's cpu and memory.
		defaults: map[string]string{AutoscaleFlavor: "2"}, validate: quantity,
	},
	{
		Name: NodeMemory, Flag: "node-memory", Description: "memory of each node container (requests and limits), for example 4Gi", Optional: true,
		defaults: map[string]string{AutoscaleFlavor: "4Gi"}, validate: quantity,
	},
	{
		Name: EtcdVolumeSize, Flag: "etcd-volume-size", Description: "size of each control-plane machine's var-lib-etcd volume",
		defaults: map[string]string{"": "1Gi"}, validate: quantity,
	},
}

// Lookup returns the variable of that name.
func Lookup(name string) (Variable, bool) {
	i := slices.IndexFunc(Variables, func(v Variable) bool { return v.Name == name })
	if i < 0 {
		return Variable{}, false
	}
	return Variables[i], true
}

// Flavors lists the embedded flavors by name.
func Flavors() []string { return flavors(flavorFS) }

func flavors(fsys fs.FS) []string {
	entries, _ := fs.ReadDir(fsys, "flavors")
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), path.Ext(e.Name())))
	}
	sort.Strings(out)
	return out
}

// parseFlavor parses the template of a flavor.
func parseFlavor(fsys fs.FS, flavor string) (*template.Template, error) {
	if !slices.Contains(flavors(fsys), flavor) {
		return nil, fmt.Errorf("unknown flavor %q: choose one of %s", flavor, strings.Join(flavors(fsys), ", "))
	}
	return template.New(flavor+".yaml").
		Option("missingkey=error").
		Funcs(template.FuncMap{"seq": seq}).
		ParseFS(fsys, "flavors/"+flavor+".yaml")
}

// FlavorVariables returns the variables a flavor uses, in the order of Variables.
// It fails when the flavor uses a variable that is not in Variables.
func FlavorVariables(flavor string) ([]Variable, error) { return flavorVariables(flavorFS, flavor) }

func flavorVariables(fsys fs.FS, flavor string) ([]Variable, error) {
	t, err := parseFlavor(fsys, flavor)
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for _, tt := range t.Templates() {
		if tt.Tree != nil {
			collectFields(tt.Root, used)
		}
	}
	var out []Variable
	var unknown []string
	for name := range used {
		if _, ok := Lookup(name); !ok {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("flavor %q uses unknown variables: %s", flavor, strings.Join(unknown, ", "))
	}
	for _, v := range Variables {
		if used[v.Name] {
			out = append(out, v)
		}
	}
	return out, nil
}

// collectFields records the first name of every field reference (.NAME) in a template.
func collectFields(n parse.Node, used map[string]bool) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			collectFields(c, used)
		}
	case *parse.ActionNode:
		collectFields(n.Pipe, used)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			collectFields(c, used)
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			collectFields(a, used)
		}
	case *parse.FieldNode:
		used[n.Ident[0]] = true
	case *parse.IfNode:
		collectBranch(&n.BranchNode, used)
	case *parse.RangeNode:
		collectBranch(&n.BranchNode, used)
	case *parse.WithNode:
		collectBranch(&n.BranchNode, used)
	case *parse.TemplateNode:
		collectFields(n.Pipe, used)
	}
}

func collectBranch(b *parse.BranchNode, used map[string]bool) {
	collectFields(b.Pipe, used)
	collectFields(b.List, used)
	collectFields(b.ElseList, used)
}

// Resolve computes the value of every variable of a flavor: a flag value when
// set, else the environment variable, else the default. It validates every value
// and returns an error naming each variable that is missing or invalid.
func Resolve(flavor string, flags map[string]string, lookupEnv func(string) (string, bool)) (map[string]string, error) {
	return resolve(flavorFS, flavor, flags, lookupEnv)
}

func resolve(fsys fs.FS, flavor string, flags map[string]string, lookupEnv func(string) (string, bool)) (map[string]string, error) {
	vars, err := flavorVariables(fsys, flavor)
	if err != nil {
		return nil, err
	}
	values := map[string]string{}
	var errs []error
	for _, v := range vars {
		value, ok := flags[v.Name]
		if !ok || value == "" {
			value, ok = lookupEnv(v.Name)
		}
		if !ok || value == "" {
			value = v.Default(flavor)
		}
		values[v.Name] = value
		switch {
		case value == "" && !v.Optional:
			errs = append(errs, fmt.Errorf("missing value for %s", v.Source()))
		case value != "" && v.validate != nil:
			if err := v.validate(flavor, value); err != nil {
				errs = append(errs, fmt.Errorf("invalid %s %q: %w", v.Source(), value, err))
			}
		}
	}
	if err := disjoint(values); err != nil {
		errs = append(errs, err)
	}
	if err := ordered(values); err != nil {
		errs = append(errs, err)
	}
	return values, errors.Join(errs...)
}

// Render resolves the variables of a flavor and renders it.
func Render(flavor string, flags map[string]string, lookupEnv func(string) (string, bool)) ([]byte, error) {
	return render(flavorFS, flavor, flags, lookupEnv)
}

func render(fsys fs.FS, flavor string, flags map[string]string, lookupEnv func(string) (string, bool)) ([]byte, error) {
	values, err := resolve(fsys, flavor, flags, lookupEnv)
	if err != nil {
		return nil, err
	}
	t, err := parseFlavor(fsys, flavor)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, values); err != nil {
		return nil, fmt.Errorf("rendering flavor %q: %w", flavor, err)
	}
	// A flavor that does not render to valid YAML is a bug of the flavor.
	if _, err := manifest.Decode(buf.Bytes()); err != nil {
		return nil, fmt.Errorf("flavor %q rendered invalid YAML: %w", flavor, err)
	}
	return buf.Bytes(), nil
}

// seq returns 0..n-1 for a count given as a string, for {{ range seq .COUNT }}.
func seq(n string) ([]int, error) {
	c, err := strconv.Atoi(n)
	if err != nil {
		return nil, err
	}
	out := make([]int, c)
	for i := range out {
		out[i] = i
	}
	return out, nil
}

func dnsLabel(_, v string) error {
	if errs := validation.IsDNS1123Label(v); len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

func kubernetesVersion(_, v string) error {
	if !strings.HasPrefix(v, "v") {
		return errors.New("must be a semantic version with a leading v, for example v1.37.2")
	}
	if _, err := version.ParseSemantic(v); err != nil {
		return fmt.Errorf("must be a semantic version with a leading v, for example v1.37.2: %w", err)
	}
	return nil
}

func count(minimum int) func(string, string) error {
	return func(_, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < minimum {
			return fmt.Errorf("must be a whole number of at least %d", minimum)
		}
		return nil
	}
}

// controlPlaneCount asks for an odd number with a KubeadmControlPlane: its
// etcd is stacked, and an even number of members adds no fault tolerance.
// The flavors with hand-made control-plane Machines take any number.
func controlPlaneCount(flavor, v string) error {
	if err := count(1)(flavor, v); err != nil {
		return err
	}
	if n, _ := strconv.Atoi(v); flavor != DefaultFlavor && flavor != AutoscaleFlavor && n%2 == 0 {
		return fmt.Errorf("must be odd with flavor %q: its etcd is stacked and an even number of members adds no fault tolerance", flavor)
	}
	return nil
}

func cidr(_, v string) error {
	_, _, err := net.ParseCIDR(v)
	if err != nil {
		return errors.New("must be a CIDR, for example 192.168.0.0/16")
	}
	return nil
}

func serviceType(_, v string) error {
	if !slices.Contains([]string{"ClusterIP", "NodePort", "LoadBalancer"}, v) {
		return errors.New("must be ClusterIP, NodePort or LoadBalancer")
	}
	return nil
}

func quantity(_, v string) error {
	q, err := resource.ParseQuantity(v)
	if err != nil {
		return errors.New("must be a Kubernetes quantity, for example 2, 500m or 4Gi")
	}
	if q.Sign() <= 0 {
		return errors.New("must be positive")
	}
	return nil
}

// disjoint checks that the Pod and Service networks do not overlap.
func disjoint(values map[string]string) error {
	_, pods, err1 := net.ParseCIDR(values[PodCIDR])
	_, services, err2 := net.ParseCIDR(values[ServiceCIDR])
	if err1 != nil || err2 != nil {
		return nil // reported by their own checks
	}
	if pods.Contains(services.IP) || services.Contains(pods.IP) {
		p, _ := Lookup(PodCIDR)
		s, _ := Lookup(ServiceCIDR)
		return fmt.Errorf("%s %s and %s %s overlap", p.Source(), pods, s.Source(), services)
	}
	return nil
}

// ordered checks that the autoscaler's bounds leave room: the autoscaler
// ignores a node group whose min-size is above its max-size.
func ordered(values map[string]string) error {
	lo, err1 := strconv.Atoi(values[WorkerMachineMinCount])
	hi, err2 := strconv.Atoi(values[WorkerMachineMaxCount])
	if err1 != nil || err2 != nil || lo <= hi {
		return nil // reported by their own checks, or fine
	}
	l, _ := Lookup(WorkerMachineMinCount)
	h, _ := Lookup(WorkerMachineMaxCount)
	return fmt.Errorf("%s %d is above %s %d", l.Source(), lo, h.Source(), hi)
}
