package e2e

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// TestScaleToZeroDuringRollout: scaling a MachineDeployment to 0 while it
// rolls out leaves no worker Machine and no workload Node behind (issue #18
// reported an orphaned Node).
func TestScaleToZeroDuringRollout(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	applySeed(g, ns)
	waitForWorkers(g, ns, 3)

	// Start a rollout and, while the new set surges, scale to 0.
	kubectl(g, "patch", "machinedeployment/worker", "-n", ns, "--type=merge", "-p", `{"spec":{"template":{"metadata":{"annotations":{"rev":"2"}}}}}`)
	g.Eventually(func(g Gomega) {
		revs := map[string]bool{}
		for _, m := range machines(g, ns) {
			if _, cp := m.Labels[clusterv1.MachineControlPlaneLabel]; !cp {
				revs[m.Annotations["rev"]] = true
			}
		}
		g.Expect(revs).To(HaveKey("2"), "a Machine of the new revision exists")
	}, time.Minute, 100*time.Millisecond).Should(Succeed())
	kubectl(g, "scale", "machinedeployment/worker", "-n", ns, "--replicas=0")

	waitForWorkers(g, ns, 0)
	// Every workload Node but the control plane's goes, Ready or not.
	g.Eventually(func(g Gomega) {
		nodes := &corev1.NodeList{}
		g.Expect(workloadClientOf(g, c, ns, "example").List(context.Background(), nodes)).To(Succeed())
		var names []string
		for _, n := range nodes.Items {
			names = append(names, n.Name)
		}
		g.Expect(names).To(ConsistOf("controller"))
	}, 2*time.Minute, time.Second).Should(Succeed())
}
