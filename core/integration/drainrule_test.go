package integration

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// runningPod puts a Running Pod on the Node, as a kubelet would report it.
func runningPod(g Gomega, ns, name, node string, labels map[string]string) {
	ctx := context.Background()
	zero := int64(0)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: corev1.PodSpec{NodeName: node, TerminationGracePeriodSeconds: &zero,
			Containers: []corev1.Container{{Name: "c", Image: "example.com/c"}}},
	}
	g.Expect(workload.Client.Create(ctx, pod)).To(Succeed())
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{
		{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()}}}
	g.Expect(workload.Client.Status().Update(ctx, pod)).To(Succeed())
}

func podExists(g Gomega, ns, name string) bool {
	err := workload.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &corev1.Pod{})
	if apierrors.IsNotFound(err) {
		return false
	}
	g.Expect(err).NotTo(HaveOccurred())
	return true
}

// TestMachineDrainRules: the drain of a deleted Machine's Node follows the
// MachineDrainRules that select the Machine: a Pod of a later drain order
// waits for the Pods of order 0 (here one held by a PodDisruptionBudget), a
// skipped Pod is left on the Node, a Pod labelled wait-completed is never
// evicted and the drain waits until it completes, and a rule for other
// Machines changes nothing.
func TestMachineDrainRules(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(t, g, ns, "rules")
	m := newMachine(g, c, "m1", nil)
	waitForRunning(g, ns, 1, time.Minute)
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(m), m)).To(Succeed())
	node := m.Status.NodeRef.Name

	pdb := guardedPod(g, ns, node) // app-<node>, order 0, held by its budget
	ws := &corev1.Namespace{}
	g.Expect(workload.Client.Get(ctx, client.ObjectKey{Name: ns}, ws)).To(Succeed())
	ws.Labels = map[string]string{"team": "platform"}
	g.Expect(workload.Client.Update(ctx, ws)).To(Succeed())
	runningPod(g, ns, "db", node, map[string]string{"app": "db"})
	runningPod(g, ns, "logs", node, map[string]string{"app": "logs"})
	runningPod(g, ns, "job", node, map[string]string{"app": "job", clusterv1.PodDrainLabel: "wait-completed"})
	ten := int32(10)
	for _, rule := range []clusterv1.MachineDrainRule{
		{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "a-skip-logs"}, Spec: clusterv1.MachineDrainRuleSpec{
			Drain: clusterv1.MachineDrainRuleDrainConfig{Behavior: clusterv1.MachineDrainRuleDrainBehaviorSkip},
			Pods: []clusterv1.MachineDrainRulePodSelector{{
				Selector:          &metav1.LabelSelector{MatchLabels: map[string]string{"app": "logs"}},
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "platform"}}}},
		}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "b-db-last"}, Spec: clusterv1.MachineDrainRuleSpec{
			Drain:    clusterv1.MachineDrainRuleDrainConfig{Behavior: clusterv1.MachineDrainRuleDrainBehaviorDrain, Order: &ten},
			Machines: []clusterv1.MachineDrainRuleMachineSelector{{ClusterSelector: &metav1.LabelSelector{}}},
			Pods:     []clusterv1.MachineDrainRulePodSelector{{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}}},
		}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "c-other-machines"}, Spec: clusterv1.MachineDrainRuleSpec{
			Drain:    clusterv1.MachineDrainRuleDrainConfig{Behavior: clusterv1.MachineDrainRuleDrainBehaviorSkip},
			Machines: []clusterv1.MachineDrainRuleMachineSelector{{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"pool": "gpu"}}}},
		}},
	} {
		g.Expect(env.Client.Create(ctx, &rule)).To(Succeed())
	}

	g.Expect(env.Client.Delete(ctx, m)).To(Succeed())
	g.Eventually(func(g Gomega) {
		got := &clusterv1.Machine{}
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(m), got)).To(Succeed())
		msg := deletingMessage(got)
		g.Expect(msg).To(ContainSubstring("evictions blocked by PodDisruptionBudgets: " + ns + "/app-" + node))
		g.Expect(msg).To(ContainSubstring("waiting for Pods to complete: " + ns + "/job"))
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())
	g.Consistently(func(g Gomega) bool { return podExists(g, ns, "db") }, 2*time.Second, 200*time.Millisecond).Should(BeTrue(),
		"order 10 waits for order 0")

	// The budget allows the eviction: order 0 goes, then order 10.
	allowOneDisruption(g, pdb)
	g.Eventually(func(g Gomega) {
		g.Expect(podExists(g, ns, "app-"+node)).To(BeFalse())
		g.Expect(podExists(g, ns, "db")).To(BeFalse())
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())
	g.Consistently(func() error {
		return env.Client.Get(ctx, client.ObjectKeyFromObject(m), &clusterv1.Machine{})
	}, 2*time.Second, 200*time.Millisecond).Should(Succeed(), "the drain waits for the wait-completed Pod")
	g.Expect(podExists(g, ns, "job")).To(BeTrue(), "a wait-completed Pod is never evicted")

	// The job completes: the drain is done, the skipped Pod still there.
	job := &corev1.Pod{}
	g.Expect(workload.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "job"}, job)).To(Succeed())
	job.Status.Phase = corev1.PodSucceeded
	g.Expect(workload.Client.Status().Update(ctx, job)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(m), &clusterv1.Machine{}))
	}, 30*time.Second, 200*time.Millisecond).Should(BeTrue())
	g.Expect(podExists(g, ns, "logs")).To(BeTrue(), "a skipped Pod is left alone")
}
