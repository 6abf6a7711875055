package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// TestDeletionHooks: pre-drain and pre-terminate hook annotations hold a
// Machine's deletion until they are removed, in that order.
func TestDeletionHooks(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(t, g, ns, "hooks")
	m := newMachine(g, c, "m1", nil)
	waitForRunning(g, ns, 1, time.Minute)
	preDrain := clusterv1.PreDrainDeleteHookAnnotationPrefix + "/backup"
	preTerminate := clusterv1.PreTerminateDeleteHookAnnotationPrefix + "/detach"
	update(g, m, func() { m.Annotations = map[string]string{preDrain: "", preTerminate: ""} })
	g.Expect(env.Client.Delete(ctx, m)).To(Succeed())

	waitFor := func(reason string) {
		g.Eventually(func(g Gomega) {
			got := &clusterv1.Machine{}
			g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(m), got)).To(Succeed())
			for _, cond := range got.Status.Conditions {
				if cond.Type == clusterv1.DeletingCondition {
					g.Expect(cond.Reason).To(Equal(reason))
					return
				}
			}
			g.Expect(false).To(BeTrue(), "no Deleting condition")
		}, 20*time.Second, 200*time.Millisecond).Should(Succeed())
	}
	removeHook := func(key string) {
		got := m.DeepCopy()
		update(g, got, func() { delete(got.Annotations, key) })
	}

	waitFor("WaitingForPreDrainHook")
	node := &corev1.Node{}
	g.Expect(workload.Client.Get(ctx, client.ObjectKey{Name: ns + "-m1"}, node)).To(Succeed())
	g.Expect(node.Spec.Unschedulable).To(BeFalse(), "no drain before the pre-drain hook is gone")
	removeHook(preDrain)
	waitFor("WaitingForPreTerminateHook")
	g.Expect(workload.Client.Get(ctx, client.ObjectKey{Name: ns + "-m1"}, node)).To(Succeed())
	g.Expect(node.Spec.Unschedulable).To(BeTrue(), "drained before the pre-terminate hook")
	removeHook(preTerminate)
	g.Eventually(func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(m), &clusterv1.Machine{}))
	}, 20*time.Second, 200*time.Millisecond).Should(BeTrue())
}

// TestNodeLabelSync: labels in the contract's domains and node.cluster.x-k8s.io
// annotations go to the Node, other labels do not, and removed ones are removed.
// The worker registered with the uninitialized taint, which goes once the
// Machine's labels are on the Node.
func TestNodeLabelSync(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(t, g, ns, "labels")
	m := newMachine(g, c, "m1", nil)
	waitForRunning(g, ns, 1, time.Minute)
	g.Eventually(func(g Gomega) {
		node := &corev1.Node{}
		g.Expect(workload.Client.Get(ctx, client.ObjectKey{Name: ns + "-m1"}, node)).To(Succeed())
		g.Expect(node.Annotations).To(HaveKey(clusterv1.TaintsFromMachineAnnotation), "synced once")
		g.Expect(node.Spec.Taints).NotTo(ContainElement(HaveField("Key", clusterv1.NodeUninitializedTaintKey)))
	}, 20*time.Second, 200*time.Millisecond).Should(Succeed())
	update(g, m, func() {
		m.Labels["node-role.kubernetes.io/worker"] = ""
		m.Labels["team.node.cluster.x-k8s.io/owner"] = "a"
		m.Labels["example.com/not-synced"] = "x"
		m.Annotations = map[string]string{"node.cluster.x-k8s.io/note": "hello"}
	})
	g.Eventually(func(g Gomega) {
		node := &corev1.Node{}
		g.Expect(workload.Client.Get(ctx, client.ObjectKey{Name: ns + "-m1"}, node)).To(Succeed())
		g.Expect(node.Labels).To(HaveKeyWithValue("node-role.kubernetes.io/worker", ""))
		g.Expect(node.Labels).To(HaveKeyWithValue("team.node.cluster.x-k8s.io/owner", "a"))
		g.Expect(node.Labels).NotTo(HaveKey("example.com/not-synced"))
		g.Expect(node.Annotations).To(HaveKeyWithValue("node.cluster.x-k8s.io/note", "hello"))
	}, 20*time.Second, 200*time.Millisecond).Should(Succeed())

	update(g, m, func() { delete(m.Labels, "node-role.kubernetes.io/worker") })
	g.Eventually(func(g Gomega) {
		node := &corev1.Node{}
		g.Expect(workload.Client.Get(ctx, client.ObjectKey{Name: ns + "-m1"}, node)).To(Succeed())
		g.Expect(node.Labels).NotTo(HaveKey("node-role.kubernetes.io/worker"))
		g.Expect(node.Labels).To(HaveKey("team.node.cluster.x-k8s.io/owner"))
	}, 20*time.Second, 200*time.Millisecond).Should(Succeed())
}

// TestNodeTaintSync: the Machine's taints go to the Node; an Always taint
// removed from the Machine is removed from the Node (the taints-from-machine
// annotation says which ones the Machine put there), one that became
// OnInitialization stays, and a taint someone else put on the Node is never
// touched. The uninitialized taint stays away.
func TestNodeTaintSync(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(t, g, ns, "taints")
	m := newMachine(g, c, "m1", nil)
	waitForRunning(g, ns, 1, time.Minute)
	nodeKey := client.ObjectKey{Name: ns + "-m1"}
	getNode := func(g Gomega) *corev1.Node {
		node := &corev1.Node{}
		g.Expect(workload.Client.Get(ctx, nodeKey, node)).To(Succeed())
		return node
	}
	// The test's taints: the API server also puts node.kubernetes.io/not-ready
	// on the Node, which nothing here lifts.
	testTaints := func(node *corev1.Node) []corev1.Taint {
		var out []corev1.Taint
		for _, t := range node.Spec.Taints {
			if strings.HasPrefix(t.Key, "example.com/") {
				out = append(out, t)
			}
		}
		return out
	}
	taint := func(key string, effect corev1.TaintEffect) corev1.Taint {
		return corev1.Taint{Key: key, Value: "v", Effect: effect}
	}
	machineTaint := func(key string, effect corev1.TaintEffect, p clusterv1.MachineTaintPropagation) clusterv1.MachineTaint {
		return clusterv1.MachineTaint{Key: key, Value: "v", Effect: effect, Propagation: p}
	}
	// Someone taints the Node, and the uninitialized taint (as a kubeadm join
	// registers it) is there again: the next sync removes only the latter.
	userTaint := taint("example.com/user", corev1.TaintEffectPreferNoSchedule)
	uninitialized := corev1.Taint{Key: clusterv1.NodeUninitializedTaintKey, Effect: corev1.TaintEffectNoSchedule}
	g.Eventually(func(g Gomega) {
		node := getNode(g)
		node.Spec.Taints = append(node.Spec.Taints, userTaint, uninitialized)
		g.Expect(workload.Client.Update(ctx, node)).To(Succeed())
	}, 20*time.Second, 200*time.Millisecond).Should(Succeed())

	a := taint("example.com/a", corev1.TaintEffectNoSchedule)
	b := taint("example.com/b", corev1.TaintEffectNoExecute)
	update(g, m, func() {
		m.Spec.Taints = []clusterv1.MachineTaint{
			machineTaint(a.Key, a.Effect, clusterv1.MachineTaintPropagationAlways),
			machineTaint(b.Key, b.Effect, clusterv1.MachineTaintPropagationAlways),
		}
	})
	g.Eventually(func(g Gomega) {
		node := getNode(g)
		g.Expect(testTaints(node)).To(ConsistOf(userTaint, a, b))
		g.Expect(node.Spec.Taints).NotTo(ContainElement(HaveField("Key", clusterv1.NodeUninitializedTaintKey)))
		g.Expect(node.Annotations).To(HaveKeyWithValue(clusterv1.TaintsFromMachineAnnotation, "example.com/a:NoSchedule,example.com/b:NoExecute"))
	}, 20*time.Second, 200*time.Millisecond).Should(Succeed())

	// a leaves the Machine: it leaves the Node.
	update(g, m, func() { m.Spec.Taints = m.Spec.Taints[1:] })
	g.Eventually(func(g Gomega) {
		node := getNode(g)
		g.Expect(testTaints(node)).To(ConsistOf(userTaint, b))
		g.Expect(node.Annotations).To(HaveKeyWithValue(clusterv1.TaintsFromMachineAnnotation, "example.com/b:NoExecute"))
	}, 20*time.Second, 200*time.Millisecond).Should(Succeed())

	// b becomes OnInitialization: no longer owned, so it stays when it then
	// leaves the Machine.
	update(g, m, func() { m.Spec.Taints[0].Propagation = clusterv1.MachineTaintPropagationOnInitialization })
	g.Eventually(func(g Gomega) {
		g.Expect(getNode(g).Annotations).To(HaveKeyWithValue(clusterv1.TaintsFromMachineAnnotation, ""))
	}, 20*time.Second, 200*time.Millisecond).Should(Succeed())
	// A synced label changed with the taints marks the sync of that spec: one
	// patch carries labels and taints.
	update(g, m, func() {
		m.Spec.Taints = nil
		m.Labels["step.node.cluster.x-k8s.io/taints"] = "removed"
	})
	g.Eventually(func(g Gomega) {
		g.Expect(getNode(g).Labels).To(HaveKeyWithValue("step.node.cluster.x-k8s.io/taints", "removed"))
	}, 20*time.Second, 200*time.Millisecond).Should(Succeed())
	node := getNode(g)
	g.Expect(testTaints(node)).To(ConsistOf(userTaint, b))
	g.Expect(node.Spec.Taints).NotTo(ContainElement(HaveField("Key", clusterv1.NodeUninitializedTaintKey)))
}

// TestOnDeleteAndPaused: with OnDelete a template change replaces a Machine only
// after the user deletes it; a paused MachineDeployment does not scale.
func TestOnDeleteAndPaused(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(t, g, ns, "ondelete")
	md := newMachineDeployment(g, c, "workers", 2, 1, 0)
	waitForRunning(g, ns, 2, time.Minute)

	got := md.DeepCopy()
	update(g, got, func() {
		got.Spec.Rollout.Strategy = clusterv1.MachineDeploymentRolloutStrategy{Type: clusterv1.OnDeleteMachineDeploymentStrategyType}
		// The version: labels and annotations would change Machines in place.
		got.Spec.Template.Spec.Version = "v1.37.3"
	})
	g.Consistently(func(g Gomega) {
		for _, m := range machines(g, ns) {
			g.Expect(m.Spec.Version).To(Equal("v1.37.2"))
		}
	}, 3*time.Second, 300*time.Millisecond).Should(Succeed())
	// Old Machines report that they are not up to date.
	g.Eventually(func(g Gomega) {
		for _, m := range machines(g, ns) {
			g.Expect(isTrue(m.Status.Conditions, clusterv1.UpToDateCondition)).To(BeFalse())
		}
	}, 20*time.Second, 200*time.Millisecond).Should(Succeed())

	victim := machines(g, ns)[0]
	g.Expect(env.Client.Delete(ctx, &victim)).To(Succeed())
	g.Eventually(func(g Gomega) {
		ms := machines(g, ns)
		g.Expect(ms).To(HaveLen(2))
		replaced := 0
		for _, m := range ms {
			if m.Spec.Version == "v1.37.3" {
				replaced++
				g.Expect(isTrue(m.Status.Conditions, clusterv1.AvailableCondition)).To(BeTrue())
			}
		}
		g.Expect(replaced).To(Equal(1), "exactly the deleted Machine is replaced by the new template")
	}, time.Minute, 200*time.Millisecond).Should(Succeed())

	// Paused: scaling waits.
	paused, three := true, int32(3)
	update(g, got, func() { got.Spec.Paused, got.Spec.Replicas = &paused, &three })
	g.Consistently(func() int { return len(machines(g, ns)) }, 3*time.Second, 300*time.Millisecond).Should(Equal(2))
	g.Eventually(func() bool {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(md), got)).To(Succeed())
		return isTrue(got.Status.Conditions, clusterv1.PausedCondition)
	}, 10*time.Second, 200*time.Millisecond).Should(BeTrue())
}
