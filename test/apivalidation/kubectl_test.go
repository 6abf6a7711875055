package apivalidation

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podcluster/podcluster/config/crd"
	"github.com/podcluster/podcluster/test/testenv"
)

// TestKubectlExplainShowsDocComments runs the pinned kubectl's explain against
// the test API server: the field docs come from our Go doc comments.
func TestKubectlExplainShowsDocComments(t *testing.T) {
	cases := []struct {
		field string
		want  []string
	}{
		{"machines.spec.clusterName", []string{"clusterName is the name of the Cluster this Machine belongs to"}},
		{"clusters.spec.clusterNetwork.apiServerPort", []string{"apiServerPort is the port the API server binds to", "<integer>"}},
		{"machinedeployments.spec.rollout.strategy", []string{"strategy is how Machines are replaced", "rollingUpdate", "type"}},
		{"kubeadmconfigs.spec.joinConfiguration.nodeRegistration.kubeletExtraArgs", []string{"kubeletExtraArgs"}},
		{"kubeadmcontrolplanes.spec.replicas", []string{"replicas"}},
		{"kubernetesmachines.spec.volumeClaimTemplates", []string{"var-lib-etcd"}},
		{"kubernetesclusters.spec.controlPlaneServiceType", []string{"ClusterIP", "NodePort", "LoadBalancer"}},
	}
	for _, tc := range cases {
		t.Run(tc.field, func(t *testing.T) {
			g := NewWithT(t)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			out, err := env.Kubectl(ctx, "explain", tc.field)
			g.Expect(err).NotTo(HaveOccurred())
			for _, w := range tc.want {
				g.Expect(out).To(ContainSubstring(w))
			}
		})
	}
}

// TestKubectlGetShowsPrinterColumns applies the seed example and checks the
// columns kubectl prints for each kind, with and without -o wide.
func TestKubectlGetShowsPrinterColumns(t *testing.T) {
	ns := env.NewNamespace(t)
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	files, _ := filepath.Glob(filepath.Join(root, "examples", "kcp", "*.yaml"))
	seed, _ := filepath.Glob(filepath.Join(root, "examples", "seed", "*.yaml"))
	for _, f := range append(files, seed...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, obj := range decodeDocuments(t, data) {
			if err := createStrict(ctx, obj, ns); err != nil {
				t.Fatalf("creating %s %s: %v", obj.GetKind(), obj.GetName(), err)
			}
		}
	}

	// No controller runs here, so add a MachineSet by hand.
	if err := createStrict(ctx, mustObject(t, machineSetYAML, ""), ns); err != nil {
		t.Fatalf("creating MachineSet: %v", err)
	}

	cases := []struct {
		resource string
		wide     bool
		header   []string
	}{
		{"clusters", false, []string{"NAME", "CLUSTERCLASS", "AVAILABLE", "CP DESIRED", "CP AVAILABLE", "CP UP-TO-DATE", "W DESIRED", "W AVAILABLE", "W UP-TO-DATE", "PHASE", "AGE", "VERSION"}},
		{"clusters", true, []string{"NAME", "CLUSTERCLASS", "AVAILABLE", "CP DESIRED", "CP CURRENT", "CP READY", "CP AVAILABLE", "CP UP-TO-DATE", "W DESIRED", "W CURRENT", "W READY", "W AVAILABLE", "W UP-TO-DATE", "PAUSED", "PHASE", "AGE", "VERSION"}},
		{"machines", false, []string{"NAME", "CLUSTER", "NODE NAME", "FAILURE DOMAIN", "READY", "AVAILABLE", "UP-TO-DATE", "PHASE", "AGE", "VERSION"}},
		{"machines", true, []string{"NAME", "CLUSTER", "NODE NAME", "PROVIDER ID", "FAILURE DOMAIN", "READY", "AVAILABLE", "UP-TO-DATE", "INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "PAUSED", "PHASE", "AGE", "VERSION"}},
		{"machinedeployments", false, []string{"NAME", "CLUSTER", "AVAILABLE", "DESIRED", "CURRENT", "READY", "AVAILABLE", "UP-TO-DATE", "PHASE", "AGE", "VERSION"}},
		{"machinesets", true, []string{"NAME", "CLUSTER", "DESIRED", "CURRENT", "READY", "AVAILABLE", "UP-TO-DATE", "PAUSED", "AGE", "VERSION"}},
		{"kubeadmconfigs", false, []string{"NAME", "CLUSTER", "DATA SECRET CREATED", "AGE"}},
		{"kubeadmconfigtemplates", false, []string{"NAME", "CLUSTERCLASS", "CLUSTER", "AGE"}},
		{"kubeadmcontrolplanes", false, []string{"NAME", "CLUSTER", "AVAILABLE", "DESIRED", "CURRENT", "READY", "AVAILABLE", "UP-TO-DATE", "INITIALIZED", "AGE", "VERSION"}},
		{"kubernetesclusters", false, []string{"NAME", "CLUSTER", "PHASE", "HOST", "PORT", "AGE"}},
		{"kubernetesmachines", false, []string{"NAME", "CLUSTER", "MACHINE", "PROVIDER-ID", "PHASE", "VERSION", "AGE"}},
	}
	for _, tc := range cases {
		name := tc.resource
		if tc.wide {
			name += " wide"
		}
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			args := []string{"get", tc.resource, "-n", ns}
			if tc.wide {
				args = append(args, "-o", "wide")
			}
			out, err := env.Kubectl(ctx, args...)
			g.Expect(err).NotTo(HaveOccurred())
			lines := strings.Split(strings.TrimSpace(out), "\n")
			g.Expect(len(lines)).To(BeNumerically(">=", 2), "want a header and at least one object:\n%s", out)
			g.Expect(splitColumns(lines[0])).To(Equal(tc.header))
		})
	}

	t.Run("category and short names", func(t *testing.T) {
		g := NewWithT(t)
		out, err := env.Kubectl(ctx, "get", "cluster-api", "-n", ns, "-o", "name")
		g.Expect(err).NotTo(HaveOccurred())
		for _, want := range []string{"cluster.cluster.x-k8s.io/example", "machine.cluster.x-k8s.io/controller",
			"machinedeployment.cluster.x-k8s.io/worker", "kubeadmconfig.bootstrap.cluster.x-k8s.io/controller",
			"kubeadmcontrolplane.controlplane.cluster.x-k8s.io/example-kcp-control-plane",
			"kubernetescluster.infrastructure.cluster.x-k8s.io/example", "kubernetesmachine.infrastructure.cluster.x-k8s.io/controller"} {
			g.Expect(out).To(ContainSubstring(want))
		}
		for short, want := range map[string]string{"cl": "example", "ma": "controller", "md": "worker", "kcp": "example-kcp-control-plane", "kcl": "example", "kma": "controller", "kmt": "worker"} {
			out, err := env.Kubectl(ctx, "get", short, "-n", ns, "-o", "name")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(out).To(ContainSubstring("/"+want+"\n"), "kubectl get %s", short)
		}
	})

	t.Run("scale subresource", func(t *testing.T) {
		g := NewWithT(t)
		_, err := env.Kubectl(ctx, "scale", "machinedeployment/worker", "-n", ns, "--replicas=5")
		g.Expect(err).NotTo(HaveOccurred())
		out, err := env.Kubectl(ctx, "get", "machinedeployment/worker", "-n", ns, "-o", "jsonpath={.spec.replicas}")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out).To(Equal("5"))
	})
}

// splitColumns splits a kubectl table header on runs of two or more spaces, so
// that "CP DESIRED" stays one column.
func splitColumns(header string) []string {
	var cols []string
	for _, f := range strings.Split(header, "   ") {
		for _, c := range strings.Split(f, "  ") {
			if c = strings.TrimSpace(c); c != "" {
				cols = append(cols, c)
			}
		}
	}
	return cols
}

// TestCRDMetadata checks what the API server serves for every CRD: status and
// scale subresources, the cluster-api category, and the contract label on
// provider CRDs (upstream's core CRDs carry none).
func TestCRDMetadata(t *testing.T) {
	g := NewWithT(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	embedded, err := crd.All()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(embedded).To(HaveLen(15))

	wantContract := map[string]string{
		"bootstrap.cluster.x-k8s.io":      "v1beta2",
		"controlplane.cluster.x-k8s.io":   "v1beta2",
		"infrastructure.cluster.x-k8s.io": "v1alpha1",
	}
	scaled := map[string]bool{"MachineSet": true, "MachineDeployment": true, "KubeadmControlPlane": true}
	noStatus := map[string]bool{"KubeadmConfigTemplate": true, "MachineDrainRule": true}
	for _, e := range embedded {
		served := &apiextensionsv1.CustomResourceDefinition{}
		g.Expect(env.Client.Get(ctx, client.ObjectKey{Name: e.Name}, served)).To(Succeed())
		kind := served.Spec.Names.Kind
		g.Expect(served.Spec.Scope).To(Equal(apiextensionsv1.NamespaceScoped), kind)
		g.Expect(served.Spec.Names.Categories).To(ContainElement("cluster-api"), kind)
		if v, ok := wantContract[served.Spec.Group]; ok {
			g.Expect(served.Labels).To(HaveKeyWithValue("cluster.x-k8s.io/v1beta2", v), kind)
		} else {
			g.Expect(served.Labels).NotTo(HaveKey("cluster.x-k8s.io/v1beta2"), kind)
		}
		// The stored version last; cluster.x-k8s.io and bootstrap.cluster.x-k8s.io
		// also have v1beta1, deprecated, which the CRDs as generated do not serve:
		// only an install with the conversion webhook does (internal/webhook).
		version := served.Spec.Versions[len(served.Spec.Versions)-1]
		g.Expect(version.Storage && version.Served).To(BeTrue(), kind)
		if len(served.Spec.Versions) > 1 {
			g.Expect(served.Spec.Versions).To(HaveLen(2), kind)
			old := served.Spec.Versions[0]
			g.Expect(old.Name).To(Equal("v1beta1"), kind)
			g.Expect(!old.Served && !old.Storage && old.Deprecated).To(BeTrue(), kind)
		}
		if noStatus[kind] {
			g.Expect(version.Subresources == nil || version.Subresources.Status == nil).To(BeTrue(), "%s has no status", kind)
		} else {
			g.Expect(version.Subresources).NotTo(BeNil(), kind)
			g.Expect(version.Subresources.Status).NotTo(BeNil(), kind)
		}
		switch {
		case kind == "MachinePool":
			// As upstream's: a pool has no label selector of its Machines.
			g.Expect(version.Subresources.Scale).To(Equal(&apiextensionsv1.CustomResourceSubresourceScale{
				SpecReplicasPath: ".spec.replicas", StatusReplicasPath: ".status.replicas",
			}), kind)
		case scaled[kind]:
			g.Expect(version.Subresources.Scale).To(Equal(&apiextensionsv1.CustomResourceSubresourceScale{
				SpecReplicasPath:   ".spec.replicas",
				StatusReplicasPath: ".status.replicas",
				LabelSelectorPath:  ptr(".status.selector"),
			}), kind)
		case version.Subresources != nil:
			g.Expect(version.Subresources.Scale).To(BeNil(), kind)
		}
	}
}

func ptr[T any](v T) *T { return &v }
