package integration

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/podcluster/podcluster/api/controlplane/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/conditions"
)

// markUnhealthy plays a MachineHealthCheck: HealthCheckSucceeded=False and
// OwnerRemediated=False on the Machine. It marks again while the Machine
// lacks the marks (another writer may race it), until it is being deleted
// or gone, or until done says the marks were seen.
func markUnhealthy(g Gomega, ns, name string) {
	g.Eventually(func(g Gomega) {
		m := &clusterv1.Machine{}
		err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, m)
		if apierrors.IsNotFound(err) || (err == nil && !m.DeletionTimestamp.IsZero()) {
			return
		}
		g.Expect(err).NotTo(HaveOccurred())
		if c := conditions.Get(m.Status.Conditions, clusterv1.MachineHealthCheckSucceededCondition); c != nil && c.Status == metav1.ConditionFalse {
			if o := conditions.Get(m.Status.Conditions, clusterv1.MachineOwnerRemediatedCondition); o != nil && o.Status == metav1.ConditionFalse {
				return
			}
		}
		before := m.DeepCopy()
		conditions.Set(&m.Status.Conditions, m.Generation, conditions.False(clusterv1.MachineHealthCheckSucceededCondition, "UnhealthyNode", "test: Node is unhealthy"))
		conditions.Set(&m.Status.Conditions, m.Generation, conditions.False(clusterv1.MachineOwnerRemediatedCondition, clusterv1.MachineOwnerRemediatedWaitingForRemediationReason, "test"))
		g.Expect(env.Client.Status().Patch(context.Background(), m, client.MergeFrom(before))).To(Succeed())
		g.Expect(false).To(BeTrue(), "marked; looking again")
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
}

func markHealthy(g Gomega, ns, name string) {
	m := &clusterv1.Machine{}
	g.Eventually(func() error {
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, m); err != nil {
			return err
		}
		before := m.DeepCopy()
		conditions.Set(&m.Status.Conditions, m.Generation, conditions.True(clusterv1.MachineHealthCheckSucceededCondition, "Healthy", ""))
		conditions.Delete(&m.Status.Conditions, clusterv1.MachineOwnerRemediatedCondition)
		return env.Client.Status().Patch(context.Background(), m, client.MergeFrom(before))
	}, 10*time.Second, 50*time.Millisecond).Should(Succeed())
}

// TestKubeadmControlPlaneRemediation: one marked Machine of three is deleted
// and replaced, its replacement says what it is for, and status.lastRemediation
// names it. Two marked at once would cost the etcd cluster its quorum: the
// control plane refuses, says why on the Machine and on itself, and goes on
// once one of them is healthy again.
func TestKubeadmControlPlaneRemediation(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	kcp := newControlPlaneCluster(t, g, ns, "heal", 3)
	key := client.ObjectKeyFromObject(kcp)
	names := waitForRolledOut(g, key, nil)

	// One of three: replaced.
	victim := names[1]
	markUnhealthy(g, ns, victim)
	names = waitForRolledOut(g, key, []string{victim})
	got := &controlplanev1.KubeadmControlPlane{}
	g.Expect(env.Client.Get(ctx, key, got)).To(Succeed())
	g.Expect(got.Status.LastRemediation.Machine).To(Equal(victim))
	g.Expect(got.Status.LastRemediation.RetryCount).To(HaveValue(BeEquivalentTo(0)))
	g.Expect(got.Annotations).NotTo(HaveKey(controlplanev1.RemediationInProgressAnnotation))
	var replacement *clusterv1.Machine
	for _, m := range controlPlaneMachines(g, ns) {
		if raw, ok := m.Annotations[controlplanev1.RemediationForAnnotation]; ok {
			var data map[string]any
			g.Expect(json.Unmarshal([]byte(raw), &data)).To(Succeed())
			g.Expect(data).To(HaveKeyWithValue("machine", victim))
			replacement = m.DeepCopy()
		}
	}
	g.Expect(replacement).NotTo(BeNil(), "the replacement says what it replaced")

	// Two of three: refused, with the reason. The control plane is paused
	// while both are marked, so that it sees them together.
	// The oldest of the two is the one considered (names are sorted by
	// name, not age), and refused.
	first, second := names[0], names[2]
	setPaused(g, key, true)
	markUnhealthy(g, ns, first)
	markUnhealthy(g, ns, second)
	setPaused(g, key, false)
	g.Eventually(func(g Gomega) {
		var reasons, messages []string
		for _, name := range []string{first, second} {
			m := &clusterv1.Machine{}
			g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, m)).To(Succeed())
			if c := conditions.Get(m.Status.Conditions, clusterv1.MachineOwnerRemediatedCondition); c != nil {
				reasons, messages = append(reasons, c.Reason), append(messages, c.Message)
			}
		}
		g.Expect(reasons).To(ContainElement(controlplanev1.KubeadmControlPlaneMachineCannotBeRemediatedReason))
		g.Expect(messages).To(ContainElement(ContainSubstring("fewer than the quorum of 2")))
		k := &controlplanev1.KubeadmControlPlane{}
		g.Expect(env.Client.Get(ctx, key, k)).To(Succeed())
		r := conditions.Get(k.Status.Conditions, controlplanev1.KubeadmControlPlaneRemediatingCondition)
		g.Expect(r).NotTo(BeNil())
		g.Expect(r.Reason).To(Equal(controlplanev1.KubeadmControlPlaneRemediatingRemediationNotAllowedReason))
		g.Expect(r.Message).To(ContainSubstring("cannot be remediated"))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	g.Expect(controlPlaneMachines(g, ns)).To(HaveLen(3), "nothing deleted")

	// One recovers: the other is remediated.
	markHealthy(g, ns, second)
	waitForRolledOut(g, key, []string{first})
	g.Expect(env.Client.Get(ctx, key, got)).To(Succeed())
	g.Expect(got.Status.LastRemediation.Machine).To(Equal(first))
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, key, got)).To(Succeed())
		g.Expect(conditions.IsTrue(got.Status.Conditions, controlplanev1.KubeadmControlPlaneRemediatingCondition)).To(BeFalse())
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
}

func setPaused(g Gomega, key client.ObjectKey, paused bool) {
	k := &controlplanev1.KubeadmControlPlane{}
	g.Eventually(func() error {
		if err := env.Client.Get(context.Background(), key, k); err != nil {
			return err
		}
		if k.Annotations == nil {
			k.Annotations = map[string]string{}
		}
		if paused {
			k.Annotations[clusterv1.PausedAnnotation] = ""
		} else {
			delete(k.Annotations, clusterv1.PausedAnnotation)
		}
		return env.Client.Update(context.Background(), k)
	}, 10*time.Second, 50*time.Millisecond).Should(Succeed())
	// The controller has seen it: Paused reports the new state.
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), key, k)).To(Succeed())
		g.Expect(conditions.IsTrue(k.Status.Conditions, controlplanev1.KubeadmControlPlanePausedCondition)).To(Equal(paused))
	}, 30*time.Second, 50*time.Millisecond).Should(Succeed())
}
