package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/cmd/podcluster/app/describe"
	"github.com/podcluster/podcluster/cmd/podcluster/client/streams"
	"github.com/podcluster/podcluster/test/sim"
)

// TestMachineHealthCheckReplacesACrashedWorker: a worker whose node Pod
// crashes is a terminal failure of its KubernetesMachine, which the Machine
// reports; the MachineHealthCheck finds it unhealthy at once (without waiting
// for the Node's heartbeat to time out), the MachineSet replaces the Machine,
// and the pool is back to 3 Ready Nodes. kubectl shows the
// MachineHealthCheck's counts and podcluster describe the unhealthy Machine.
func TestMachineHealthCheckReplacesACrashedWorker(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	applySeed(g, ns)
	waitForWorkers(g, ns, 3)

	tenSeconds := int32(10)
	mhc := &clusterv1.MachineHealthCheck{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "workers"},
		Spec: clusterv1.MachineHealthCheckSpec{
			ClusterName: "example",
			Selector:    metav1.LabelSelector{MatchLabels: map[string]string{"nodepool": "default"}},
			Checks: clusterv1.MachineHealthCheckChecks{UnhealthyNodeConditions: []clusterv1.UnhealthyNodeCondition{
				{Type: corev1.NodeReady, Status: corev1.ConditionUnknown, TimeoutSeconds: &tenSeconds},
				{Type: corev1.NodeReady, Status: corev1.ConditionFalse, TimeoutSeconds: &tenSeconds},
			}},
		},
	}
	g.Expect(c.Create(ctx, mhc)).To(Succeed())
	g.Eventually(func(g Gomega) {
		out := kubectl(g, "get", "mhc", "workers", "-n", ns, "--no-headers")
		g.Expect(strings.Fields(out)).To(HaveLen(5), out) // NAME CLUSTER REPLICAS HEALTHY AGE
		g.Expect(strings.Fields(out)[1:4]).To(Equal([]string{"example", "3", "3"}), out)
	}, time.Minute, time.Second).Should(Succeed())

	var victim string
	for _, m := range machines(g, ns) {
		if m.Labels["nodepool"] == "default" {
			victim = m.Name
			break
		}
	}
	g.Expect(victim).NotTo(BeEmpty())
	// A pre-drain hook holds the victim's deletion until the report was read.
	hook := clusterv1.PreDrainDeleteHookAnnotationPrefix + "/e2e"
	kubectl(g, "annotate", "machine/"+victim, "-n", ns, hook+"=")
	kubectl(g, "annotate", "kubernetesmachine/"+victim, "-n", ns, sim.CrashAnnotation+"=kernel panic (e2e)")

	// Detected from the infrastructure's terminal failure, handed to the
	// MachineSet, which deletes it.
	g.Eventually(func(g Gomega) {
		m := &clusterv1.Machine{}
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: victim}, m)).To(Succeed())
		hc := condition(m.Status.Conditions, clusterv1.MachineHealthCheckSucceededCondition)
		g.Expect(hc).NotTo(BeNil())
		g.Expect(hc.Status).To(Equal(metav1.ConditionFalse), hc.Message)
		g.Expect(hc.Reason).To(Equal(clusterv1.MachineHealthCheckSucceededUnhealthyMachineReason))
		g.Expect(hc.Message).To(ContainSubstring("Machine has failed: PodFailed"))
		g.Expect(hc.Message).To(ContainSubstring("kernel panic (e2e)"))
		g.Expect(m.Status.Deprecated).NotTo(BeNil())
		g.Expect(m.Status.Deprecated.V1Beta1.FailureReason).To(HaveValue(Equal("PodFailed")))
		or := condition(m.Status.Conditions, clusterv1.MachineOwnerRemediatedCondition)
		g.Expect(or).NotTo(BeNil())
		g.Expect(or.Reason).To(Equal(clusterv1.MachineOwnerRemediatedWaitingForRemediationReason))
		g.Expect(m.DeletionTimestamp).NotTo(BeNil())
	}, 2*time.Minute, time.Second).Should(Succeed())

	// podcluster describe shows it.
	var out strings.Builder
	cmd := describe.NewCommand(streams.IO{Out: &out, ErrOut: &out})
	cmd.SetArgs([]string{"cluster", "example", "-n", ns, "--kubeconfig", kubeconfig, "--color", "never"})
	g.Expect(cmd.Execute()).To(Succeed(), out.String())
	g.Expect(out.String()).To(ContainSubstring("Machine/"+victim+" [Unhealthy, Remediating]"), out.String())
	g.Expect(out.String()).To(ContainSubstring("HealthCheckSucceeded: False (UnhealthyMachine) Health check failed: Machine has failed: PodFailed"), out.String())
	g.Expect(out.String()).To(MatchRegexp(`MachineHealthCheck/workers\s+\d/\d`), out.String())
	kubectl(g, "annotate", "machine/"+victim, "-n", ns, hook+"-")

	// Replaced: the victim is gone and the pool has 3 Ready Nodes again.
	g.Eventually(func(g Gomega) {
		err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: victim}, &clusterv1.Machine{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the unhealthy Machine is deleted")
		g.Expect(workloadNodes(g, ns)).To(HaveLen(4))
		g.Expect(workloadNodes(g, ns)).NotTo(ContainElement(victim))
	}, 3*time.Minute, time.Second).Should(Succeed())
	waitForWorkers(g, ns, 3)
	g.Eventually(func(g Gomega) {
		out := kubectl(g, "get", "mhc", "workers", "-n", ns, "--no-headers")
		g.Expect(strings.Fields(out)[1:4]).To(Equal([]string{"example", "3", "3"}), out)
	}, time.Minute, time.Second).Should(Succeed())
}
