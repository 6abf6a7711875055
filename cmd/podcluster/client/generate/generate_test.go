package generate

import (
	"testing"
	"testing/fstest"

	. "github.com/onsi/gomega"

	"github.com/podcluster/podcluster/cmd/podcluster/client/manifest"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// TestResolve: a flag wins over the environment variable, which wins over the
// flavor's default; invalid and missing values are errors naming their flag.
func TestResolve(t *testing.T) {
	cases := []struct {
		name   string
		flavor string
		flags  map[string]string
		env    map[string]string
		want   map[string]string
		errs   []string
	}{
		{
			name: "defaults of the default flavor", flavor: "default",
			flags: map[string]string{ClusterName: "demo"},
			want: map[string]string{
				Namespace: "default", KubernetesVersion: "v1.37.2", ControlPlaneMachineCount: "1", WorkerMachineCount: "3",
				PodCIDR: "192.168.0.0/16", ServiceCIDR: "10.128.0.0/12", ControlPlaneServiceType: "LoadBalancer", NodeCPU: "", NodeMemory: "",
			},
		},
		{
			name: "kcp defaults to three control-plane machines", flavor: "kcp",
			flags: map[string]string{ClusterName: "demo"},
			want:  map[string]string{ControlPlaneMachineCount: "3"},
		},
		{
			name: "environment over default, flag over environment", flavor: "kcp",
			flags: map[string]string{ClusterName: "demo", WorkerMachineCount: "5", NodeCPU: ""},
			env:   map[string]string{WorkerMachineCount: "7", KubernetesVersion: "v1.36.1", NodeCPU: "2", ControlPlaneMachineCount: ""},
			want:  map[string]string{WorkerMachineCount: "5", KubernetesVersion: "v1.36.1", NodeCPU: "2", ControlPlaneMachineCount: "3"},
		},
		{
			name: "invalid values name their flag and variable", flavor: "kcp",
			flags: map[string]string{
				ClusterName: "Demo", KubernetesVersion: "1.37.2", ControlPlaneMachineCount: "2", WorkerMachineCount: "-1",
				PodCIDR: "192.168.0.0", ControlPlaneServiceType: "External", NodeMemory: "lots",
			},
			errs: []string{
				`invalid NAME (CLUSTER_NAME) "Demo"`,
				`invalid --kubernetes-version (KUBERNETES_VERSION) "1.37.2": must be a semantic version with a leading v`,
				`invalid --control-plane-machine-count (CONTROL_PLANE_MACHINE_COUNT) "2": must be odd with flavor "kcp"`,
				`invalid --worker-machine-count (WORKER_MACHINE_COUNT) "-1": must be a whole number of at least 0`,
				`invalid --pod-cidr (POD_CIDR) "192.168.0.0": must be a CIDR`,
				`invalid --service-type (CONTROL_PLANE_SERVICE_TYPE) "External": must be ClusterIP, NodePort or LoadBalancer`,
				`invalid --node-memory (NODE_MEMORY) "lots": must be a Kubernetes quantity`,
			},
		},
		{
			name: "an even control-plane count is fine without stacked etcd", flavor: "default",
			flags: map[string]string{ClusterName: "demo", ControlPlaneMachineCount: "2"},
			want:  map[string]string{ControlPlaneMachineCount: "2"},
		},
		{
			name: "overlapping networks", flavor: "default",
			flags: map[string]string{ClusterName: "demo", PodCIDR: "10.128.0.0/16"},
			errs:  []string{"--pod-cidr (POD_CIDR) 10.128.0.0/16 and --service-cidr (SERVICE_CIDR) 10.128.0.0/12 overlap"},
		},
		{
			name: "a missing cluster name", flavor: "default",
			errs: []string{"missing value for NAME (CLUSTER_NAME)"},
		},
		{
			name: "autoscale: bounds, node resources and one control-plane machine by default", flavor: "autoscale",
			flags: map[string]string{ClusterName: "demo"},
			want: map[string]string{
				WorkerMachineMinCount: "1", WorkerMachineMaxCount: "5", NodeCPU: "2", NodeMemory: "4Gi", ControlPlaneMachineCount: "1",
			},
		},
		{
			name: "autoscale from zero, an even control plane", flavor: "autoscale",
			flags: map[string]string{ClusterName: "demo", WorkerMachineMinCount: "0", ControlPlaneMachineCount: "2"},
			env:   map[string]string{WorkerMachineMaxCount: "2"},
			want:  map[string]string{WorkerMachineMinCount: "0", WorkerMachineMaxCount: "2", ControlPlaneMachineCount: "2"},
		},
		{
			name: "autoscale bounds the wrong way round", flavor: "autoscale",
			flags: map[string]string{ClusterName: "demo", WorkerMachineMinCount: "4", WorkerMachineMaxCount: "3"},
			errs:  []string{"--worker-machine-min-count (WORKER_MACHINE_MIN_COUNT) 4 is above --worker-machine-max-count (WORKER_MACHINE_MAX_COUNT) 3"},
		},
		{
			name: "autoscale bounds that are no counts", flavor: "autoscale",
			flags: map[string]string{ClusterName: "demo", WorkerMachineMinCount: "-1", WorkerMachineMaxCount: "0"},
			errs: []string{
				`invalid --worker-machine-min-count (WORKER_MACHINE_MIN_COUNT) "-1": must be a whole number of at least 0`,
				`invalid --worker-machine-max-count (WORKER_MACHINE_MAX_COUNT) "0": must be a whole number of at least 1`,
			},
		},
		{
			name: "an unknown flavor", flavor: "huge",
			errs: []string{`unknown flavor "huge": choose one of autoscale, default, kcp, persistent`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := Resolve(tc.flavor, tc.flags, env(tc.env))
			if tc.errs != nil {
				for _, e := range tc.errs {
					g.Expect(err).To(MatchError(ContainSubstring(e)))
				}
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			for k, v := range tc.want {
				g.Expect(got).To(HaveKeyWithValue(k, v))
			}
		})
	}
}

// TestFlavorVariables: each flavor lists only the variables it uses.
func TestFlavorVariables(t *testing.T) {
	g := NewWithT(t)
	names := func(flavor string) []string {
		vars, err := FlavorVariables(flavor)
		g.Expect(err).NotTo(HaveOccurred())
		var out []string
		for _, v := range vars {
			out = append(out, v.Name)
		}
		return out
	}
	common := []string{ClusterName, Namespace, KubernetesVersion, ControlPlaneMachineCount, WorkerMachineCount,
		PodCIDR, ServiceCIDR, ControlPlaneServiceType, NodeCPU, NodeMemory}
	g.Expect(names("default")).To(Equal(common))
	g.Expect(names("kcp")).To(Equal(common))
	g.Expect(names("persistent")).To(Equal(append(common, EtcdVolumeSize)))
	g.Expect(names("autoscale")).To(Equal([]string{ClusterName, Namespace, KubernetesVersion, ControlPlaneMachineCount,
		WorkerMachineMinCount, WorkerMachineMaxCount, PodCIDR, ServiceCIDR, ControlPlaneServiceType, NodeCPU, NodeMemory}))
}

// TestUnknownVariables: a flavor that uses a variable nobody can set is an
// error naming the variable, and so is rendering one.
func TestUnknownVariables(t *testing.T) {
	g := NewWithT(t)
	fsys := fstest.MapFS{"flavors/bad.yaml": {Data: []byte("name: {{ .CLUSTER_NAME }}-{{ .CLUSTR_SUFFIX }}\n{{ if .ZONE }}zone: x{{ end }}\n")}}
	_, err := flavorVariables(fsys, "bad")
	g.Expect(err).To(MatchError(`flavor "bad" uses unknown variables: CLUSTR_SUFFIX, ZONE`))
	_, err = render(fsys, "bad", map[string]string{ClusterName: "demo"}, env(nil))
	g.Expect(err).To(MatchError(ContainSubstring("CLUSTR_SUFFIX")))
}

// TestRenderAllFlavors: every flavor renders to YAML objects, with and without
// node resources, and the counts land where they belong.
func TestRenderAllFlavors(t *testing.T) {
	for _, flavor := range Flavors() {
		for _, flags := range []map[string]string{
			{ClusterName: "demo"},
			{ClusterName: "demo", NodeCPU: "2", NodeMemory: "4Gi", ControlPlaneMachineCount: "5", WorkerMachineCount: "0"},
		} {
			g := NewWithT(t)
			out, err := Render(flavor, flags, env(nil))
			g.Expect(err).NotTo(HaveOccurred(), flavor)
			objs, err := manifest.Decode(out)
			g.Expect(err).NotTo(HaveOccurred(), flavor)
			kinds := map[string]int{}
			for _, o := range objs {
				kinds[o.GetKind()]++
				g.Expect(o.GetNamespace()).To(Equal("default"))
			}
			g.Expect(kinds).To(HaveKeyWithValue("Cluster", 1), flavor)
			g.Expect(kinds).To(HaveKeyWithValue("MachineDeployment", 1), flavor)
			if flavor == DefaultFlavor || flavor == AutoscaleFlavor {
				want := 1
				if flags[ControlPlaneMachineCount] != "" {
					want = 5
				}
				g.Expect(kinds).To(HaveKeyWithValue("Machine", want))
				g.Expect(kinds).To(HaveKeyWithValue("KubernetesMachine", want))
			} else {
				g.Expect(kinds).To(HaveKeyWithValue("KubeadmControlPlane", 1), flavor)
				g.Expect(kinds).To(HaveKeyWithValue("MachineHealthCheck", 1), flavor)
			}
		}
	}
}

// TestAutoscaleFlavor: the workers are a node group of the cluster autoscaler,
// with the bounds as set, no replicas (they default to the min-size and then
// belong to the autoscaler), and a template whose resources tell the
// autoscaler what a new node offers.
func TestAutoscaleFlavor(t *testing.T) {
	g := NewWithT(t)
	out, err := Render(AutoscaleFlavor, map[string]string{ClusterName: "demo", WorkerMachineMinCount: "0", WorkerMachineMaxCount: "7"}, env(nil))
	g.Expect(err).NotTo(HaveOccurred())
	objs, err := manifest.Decode(out)
	g.Expect(err).NotTo(HaveOccurred())
	var md, kmt bool
	for _, o := range objs {
		switch o.GetKind() {
		case "MachineDeployment":
			md = true
			g.Expect(o.GetAnnotations()).To(Equal(map[string]string{
				"cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size": "0",
				"cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size": "7",
			}))
			g.Expect(o.Object["spec"]).NotTo(HaveKey("replicas"))
		case "KubernetesMachineTemplate":
			kmt = true
			g.Expect(o.Object).To(HaveKeyWithValue("spec", HaveKeyWithValue("template", HaveKeyWithValue("spec",
				HaveKeyWithValue("resources", HaveKeyWithValue("limits", Equal(map[string]any{"cpu": "2", "memory": "4Gi"})))))))
		}
	}
	g.Expect(md).To(BeTrue())
	g.Expect(kmt).To(BeTrue())
}
