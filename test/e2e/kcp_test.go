package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/podcluster/podcluster/api/controlplane/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/cmd/podcluster/app/describe"
	"github.com/podcluster/podcluster/cmd/podcluster/client/manifest"
	"github.com/podcluster/podcluster/cmd/podcluster/client/streams"
)

// TestKCP: examples/kcp comes up on the simulated runtime. The
// KubeadmControlPlane brings up 3 control-plane Machines one at a time (init,
// then two control-plane joins), the MachineDeployment's 3 workers join,
// the workload cluster has 3 Ready control-plane Nodes and 3 Ready workers,
// and kubectl and podcluster describe show the control plane as 3/3.
func TestKCP(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	t.Cleanup(func() {
		if t.Failed() {
			// What each object waits for, for the log of a failed run.
			t.Log(kubectl(NewWithT(t), "get", "kcp,clusters,machines,kubeadmconfigs,kubernetesmachines,pods", "-n", ns, "-o", "wide"))
			t.Log(kubectl(NewWithT(t), "get", "kcp,kubeadmconfigs", "-n", ns, "-o",
				`jsonpath={range .items[*]}{.kind}/{.metadata.name}:{"\n"}{range .status.conditions[*]}  {.type}={.status} {.reason}: {.message}{"\n"}{end}{end}`))
			t.Log(kubectl(NewWithT(t), "get", "pods", "-n", ns, "-o",
				`jsonpath={range .items[*]}{.metadata.name}: {.status.containerStatuses[*].state.terminated.message}{"\n"}{end}`))
		}
	})
	objs, err := manifest.ReadPaths(filepath.Join(root, "examples", "kcp"))
	g.Expect(err).NotTo(HaveOccurred())
	start := time.Now()
	g.Expect(manifest.Apply(ctx, c, ns, objs...)).To(Succeed())

	const cluster, kcpName = "example-kcp", "example-kcp-control-plane"
	g.Eventually(func(g Gomega) {
		kcp := &controlplanev1.KubeadmControlPlane{}
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: kcpName}, kcp)).To(Succeed())
		g.Expect(kcp.Status.ReadyReplicas).To(HaveValue(BeEquivalentTo(3)))
	}, 3*time.Minute, time.Second).Should(Succeed())
	t.Logf("3 Ready control-plane Machines %s after apply", time.Since(start).Round(time.Second))

	g.Eventually(func(g Gomega) {
		ms := machines(g, ns)
		g.Expect(ms).To(HaveLen(6))
		for _, m := range ms {
			g.Expect(m.Status.Phase).To(Equal("Running"), m.Name)
			g.Expect(condition(m.Status.Conditions, clusterv1.AvailableCondition)).To(HaveField("Status", metav1.ConditionTrue), m.Name)
		}
		g.Expect(readyNodesOf(g, c, ns, cluster)).To(HaveLen(6))
	}, 4*time.Minute, time.Second).Should(Succeed())
	t.Logf("3 control-plane and 3 worker Nodes Ready %s after apply", time.Since(start).Round(time.Second))

	// The workload cluster has 3 control-plane Nodes, with kubeadm's role
	// label, one per control-plane Machine.
	var controlPlane []string
	for _, m := range machines(g, ns) {
		if _, ok := m.Labels[clusterv1.MachineControlPlaneLabel]; ok {
			g.Expect(m.Status.NodeRef.Name).NotTo(BeEmpty(), m.Name)
			controlPlane = append(controlPlane, m.Status.NodeRef.Name)
		}
	}
	g.Expect(controlPlane).To(HaveLen(3))
	g.Expect(controlPlaneNodes(g, ns, cluster)).To(ConsistOf(controlPlane))

	// The Cluster and kubectl see the control plane.
	g.Eventually(func(g Gomega) {
		cl := &clusterv1.Cluster{}
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: cluster}, cl)).To(Succeed())
		g.Expect(condition(cl.Status.Conditions, clusterv1.ClusterControlPlaneAvailableCondition)).To(HaveField("Status", metav1.ConditionTrue))
		g.Expect(cl.Status.ControlPlane).NotTo(BeNil())
		g.Expect(cl.Status.ControlPlane.ReadyReplicas).To(HaveValue(BeEquivalentTo(3)))
	}, time.Minute, time.Second).Should(Succeed())
	out := kubectl(g, "get", "kcp", "-n", ns)
	// Columns: NAME CLUSTER AVAILABLE DESIRED CURRENT READY AVAILABLE UP-TO-DATE INITIALIZED AGE VERSION.
	g.Expect(out).To(MatchRegexp(kcpName+`\s+`+cluster+`\s+True\s+3\s+3\s+3\s+3\s+3\s+true\s+`), out)

	var b strings.Builder
	cmd := describe.NewCommand(streams.IO{Out: &b, ErrOut: &b})
	cmd.SetArgs([]string{"cluster", cluster, "-n", ns, "--kubeconfig", kubeconfig, "--color", "never"})
	g.Expect(cmd.Execute()).To(Succeed(), b.String())
	g.Expect(b.String()).To(MatchRegexp(`KubeadmControlPlane/`+kcpName+`\s+3/3`), b.String())
}

// controlPlaneNodes lists the workload cluster's Nodes with kubeadm's
// control-plane role label, through the cluster's kubeconfig Secret.
func controlPlaneNodes(g Gomega, ns, name string) []string {
	nodes := &corev1.NodeList{}
	g.Expect(workloadClientOf(g, c, ns, name).List(context.Background(), nodes, client.HasLabels{"node-role.kubernetes.io/control-plane"})).To(Succeed())
	var out []string
	for _, n := range nodes.Items {
		out = append(out, n.Name)
	}
	return out
}
