package integration

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// newMachineHealthCheck creates a MachineHealthCheck of the pool's Machines
// that finds a Machine unhealthy once its Node is Ready=False for timeout.
func newMachineHealthCheck(g Gomega, c testCluster, pool string, timeout int32, trigger clusterv1.MachineHealthCheckRemediationTriggerIf) *clusterv1.MachineHealthCheck {
	mhc := &clusterv1.MachineHealthCheck{
		ObjectMeta: metav1.ObjectMeta{Namespace: c.ns, Name: pool},
		Spec: clusterv1.MachineHealthCheckSpec{
			ClusterName: c.name,
			Selector:    metav1.LabelSelector{MatchLabels: map[string]string{"pool": pool}},
			Checks: clusterv1.MachineHealthCheckChecks{UnhealthyNodeConditions: []clusterv1.UnhealthyNodeCondition{
				{Type: corev1.NodeReady, Status: corev1.ConditionFalse, TimeoutSeconds: &timeout},
			}},
			Remediation: clusterv1.MachineHealthCheckRemediation{TriggerIf: trigger},
		},
	}
	g.Expect(env.Client.Create(context.Background(), mhc)).To(Succeed())
	return mhc
}

// setNodeReady plays the kubelet (or the node lifecycle controller) of a
// Machine's Node: Ready takes status since the given time.
func setNodeReady(g Gomega, name string, status corev1.ConditionStatus, since metav1.Time) {
	g.Eventually(func() error {
		node := &corev1.Node{}
		if err := workload.Client.Get(context.Background(), client.ObjectKey{Name: name}, node); err != nil {
			return err
		}
		for i := range node.Status.Conditions {
			if node.Status.Conditions[i].Type == corev1.NodeReady {
				node.Status.Conditions[i].Status = status
				node.Status.Conditions[i].Reason = "KubeletNotReady"
				node.Status.Conditions[i].LastTransitionTime = since
			}
		}
		return workload.Client.Status().Update(context.Background(), node)
	}, 20*time.Second, 50*time.Millisecond).Should(Succeed())
}

func condition(conds []metav1.Condition, t string) *metav1.Condition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

// waitForMHCStatus waits until the MachineHealthCheck reports the counts and returns it.
func waitForMHCStatus(g Gomega, mhc *clusterv1.MachineHealthCheck, expected, healthy, allowed int32, remediationAllowed metav1.ConditionStatus) *clusterv1.MachineHealthCheck {
	got := &clusterv1.MachineHealthCheck{}
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(mhc), got)).To(Succeed())
		g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		g.Expect(got.Status.ExpectedMachines).To(HaveValue(Equal(expected)))
		g.Expect(got.Status.CurrentHealthy).To(HaveValue(Equal(healthy)))
		g.Expect(got.Status.RemediationsAllowed).To(HaveValue(Equal(allowed)))
		g.Expect(got.Status.Targets).To(HaveLen(int(expected)))
		c := condition(got.Status.Conditions, clusterv1.MachineHealthCheckRemediationAllowedCondition)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(remediationAllowed))
		g.Expect(isTrue(got.Status.Conditions, clusterv1.PausedCondition)).To(BeFalse())
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	return got
}

// TestMachineHealthCheckRemediatesUnhealthyMachine: a Machine whose Node is
// Ready=False for longer than the timeout is marked unhealthy and for
// remediation, and its MachineSet replaces it.
func TestMachineHealthCheckRemediatesUnhealthyMachine(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(t, g, ns, "mhc")
	newMachineDeployment(g, c, "workers", 3, 1, 0)
	waitForRunning(g, ns, 3, time.Minute)
	mhc := newMachineHealthCheck(g, c, "workers", 2, clusterv1.MachineHealthCheckRemediationTriggerIf{})

	waitForMHCStatus(g, mhc, 3, 3, 3, metav1.ConditionTrue)
	g.Eventually(func(g Gomega) {
		for _, m := range machines(g, ns) {
			g.Expect(isTrue(m.Status.Conditions, clusterv1.MachineHealthCheckSucceededCondition)).To(BeTrue(), m.Name)
		}
	}, 20*time.Second, 100*time.Millisecond).Should(Succeed())

	// A pre-drain hook holds the victim's deletion, so that its conditions
	// can be read before it is gone.
	victim := machines(g, ns)[0].DeepCopy()
	hook := clusterv1.PreDrainDeleteHookAnnotationPrefix + "/test"
	update(g, victim, func() {
		if victim.Annotations == nil {
			victim.Annotations = map[string]string{}
		}
		victim.Annotations[hook] = ""
	})
	setNodeReady(g, victim.Status.NodeRef.Name, corev1.ConditionFalse, metav1.Now())

	g.Eventually(func(g Gomega) {
		got := &clusterv1.Machine{}
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(victim), got)).To(Succeed())
		hc := condition(got.Status.Conditions, clusterv1.MachineHealthCheckSucceededCondition)
		g.Expect(hc).NotTo(BeNil())
		g.Expect(hc.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(hc.Reason).To(Equal(clusterv1.MachineHealthCheckSucceededUnhealthyNodeReason))
		g.Expect(hc.Message).To(ContainSubstring("Node condition Ready is False"))
		or := condition(got.Status.Conditions, clusterv1.MachineOwnerRemediatedCondition)
		g.Expect(or).NotTo(BeNil())
		g.Expect(or.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(or.Reason).To(Equal(clusterv1.MachineOwnerRemediatedWaitingForRemediationReason))
		g.Expect(got.DeletionTimestamp.IsZero()).To(BeFalse(), "the MachineSet deletes the Machine")
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())

	got := &clusterv1.Machine{}
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(victim), got)).To(Succeed())
	update(g, got, func() { delete(got.Annotations, hook) })
	g.Eventually(func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(victim), &clusterv1.Machine{}))
	}, 30*time.Second, 100*time.Millisecond).Should(BeTrue())

	waitForRunning(g, ns, 3, time.Minute)
	for _, m := range machines(g, ns) {
		g.Expect(m.Name).NotTo(Equal(victim.Name))
	}
	final := waitForMHCStatus(g, mhc, 3, 3, 3, metav1.ConditionTrue)
	g.Expect(final.Status.Targets).NotTo(ContainElement(victim.Name))
}

// TestMachineHealthCheckShortCircuits: with 2 of 3 Machines unhealthy and
// remediation allowed only for at most 1, nothing is marked or deleted, and
// RemediationAllowed says why; when one recovers, the other is remediated and
// replaced, and the recovered one stays.
func TestMachineHealthCheckShortCircuits(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	c := newCluster(t, g, ns, "mhcsc")
	newMachineDeployment(g, c, "workers", 3, 1, 0)
	waitForRunning(g, ns, 3, time.Minute)
	one := intstr.FromInt32(1)
	mhc := newMachineHealthCheck(g, c, "workers", 2, clusterv1.MachineHealthCheckRemediationTriggerIf{UnhealthyLessThanOrEqualTo: &one})
	waitForMHCStatus(g, mhc, 3, 3, 1, metav1.ConditionTrue)

	// Both Nodes turn NotReady at the same instant, so both time out in the
	// same reconcile and no single one is ever remediated alone.
	ms := machines(g, ns)
	names := map[string]bool{}
	since := metav1.Now()
	for _, m := range ms[:2] {
		names[m.Name] = true
		setNodeReady(g, m.Status.NodeRef.Name, corev1.ConditionFalse, since)
	}

	got := waitForMHCStatus(g, mhc, 3, 1, 0, metav1.ConditionFalse)
	ra := condition(got.Status.Conditions, clusterv1.MachineHealthCheckRemediationAllowedCondition)
	g.Expect(ra.Reason).To(Equal(clusterv1.MachineHealthCheckRemediationAllowedTooManyUnhealthyReason))
	g.Expect(ra.Message).To(ContainSubstring("2 of 3 Machines are unhealthy"))

	check := func(g Gomega) {
		list := machines(g, ns)
		g.Expect(list).To(HaveLen(3))
		for _, m := range list {
			g.Expect(m.DeletionTimestamp.IsZero()).To(BeTrue(), m.Name)
			g.Expect(condition(m.Status.Conditions, clusterv1.MachineOwnerRemediatedCondition)).To(BeNil(), m.Name)
			g.Expect(isTrue(m.Status.Conditions, clusterv1.MachineHealthCheckSucceededCondition)).To(Equal(!names[m.Name]), m.Name)
		}
	}
	g.Eventually(check, 20*time.Second, 100*time.Millisecond).Should(Succeed())
	g.Consistently(check, 3*time.Second, 200*time.Millisecond).Should(Succeed())

	// One recovers: 1 unhealthy is within the limit, so the other is
	// remediated and replaced, and the recovered one stays.
	recovers, remediated := ms[0], ms[1]
	setNodeReady(g, recovers.Status.NodeRef.Name, corev1.ConditionTrue, metav1.Now())
	g.Eventually(func(g Gomega) {
		var names []string
		for _, m := range machines(g, ns) {
			names = append(names, m.Name)
		}
		g.Expect(names).To(ContainElement(recovers.Name))
		g.Expect(names).NotTo(ContainElement(remediated.Name))
	}, time.Minute, 100*time.Millisecond).Should(Succeed())
	waitForRunning(g, ns, 3, time.Minute)
	final := waitForMHCStatus(g, mhc, 3, 3, 1, metav1.ConditionTrue)
	g.Expect(final.Status.Targets).To(ContainElement(recovers.Name))
}

// TestMachineHealthCheckNodeDeleted: a Machine whose Node is deleted from the
// workload cluster is unhealthy at once, whatever the condition checks say,
// and is replaced.
func TestMachineHealthCheckNodeDeleted(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(t, g, ns, "mhcnd")
	newMachineDeployment(g, c, "workers", 2, 1, 0)
	waitForRunning(g, ns, 2, time.Minute)
	mhc := newMachineHealthCheck(g, c, "workers", 300, clusterv1.MachineHealthCheckRemediationTriggerIf{})
	waitForMHCStatus(g, mhc, 2, 2, 2, metav1.ConditionTrue)

	victim := machines(g, ns)[0].DeepCopy()
	hook := clusterv1.PreDrainDeleteHookAnnotationPrefix + "/test"
	update(g, victim, func() {
		if victim.Annotations == nil {
			victim.Annotations = map[string]string{}
		}
		victim.Annotations[hook] = ""
	})
	g.Expect(workload.Client.Delete(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: victim.Status.NodeRef.Name}})).To(Succeed())

	g.Eventually(func(g Gomega) {
		got := &clusterv1.Machine{}
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(victim), got)).To(Succeed())
		hc := condition(got.Status.Conditions, clusterv1.MachineHealthCheckSucceededCondition)
		g.Expect(hc).NotTo(BeNil())
		g.Expect(hc.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(hc.Reason).To(Equal(clusterv1.MachineHealthCheckSucceededNodeDeletedReason))
		g.Expect(condition(got.Status.Conditions, clusterv1.MachineOwnerRemediatedCondition)).NotTo(BeNil())
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())

	got := &clusterv1.Machine{}
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(victim), got)).To(Succeed())
	update(g, got, func() { delete(got.Annotations, hook) })
	g.Eventually(func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(victim), &clusterv1.Machine{}))
	}, 30*time.Second, 100*time.Millisecond).Should(BeTrue())
	waitForRunning(g, ns, 2, time.Minute)
	waitForMHCStatus(g, mhc, 2, 2, 2, metav1.ConditionTrue)
}
