package integration

import (
	"context"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/core/mdutil"
)

// TestRollingUpdateKeepsAvailability changes the template of a
// MachineDeployment of 5 with maxSurge 1 and maxUnavailable 0. At every
// observed step there are at most 6 Machines (deleting ones included) and at
// least 5 available ones; at the end all 5 are on the new revision.
func TestRollingUpdateKeepsAvailability(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(t, g, ns, "roll")
	md := newMachineDeployment(g, c, "workers", 5, 1, 0)
	waitForRunning(g, ns, 5, time.Minute)

	// Watch every step from the API server while the rollout runs.
	var mu sync.Mutex
	var violations []string
	maxSeen, minAvailable, steps := 0, 5, 0
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			list := &clusterv1.MachineList{}
			if err := env.Client.List(ctx, list, client.InNamespace(ns)); err != nil {
				continue
			}
			available := 0
			for _, m := range list.Items {
				if m.DeletionTimestamp.IsZero() && isTrue(m.Status.Conditions, clusterv1.AvailableCondition) {
					available++
				}
			}
			mu.Lock()
			steps++
			maxSeen = max(maxSeen, len(list.Items))
			minAvailable = min(minAvailable, available)
			if len(list.Items) > 6 {
				violations = append(violations, "more than 6 Machines")
			}
			if available < 5 {
				violations = append(violations, "fewer than 5 available Machines")
			}
			mu.Unlock()
		}
	}()

	// A template change other than its metadata and timeouts (which
	// change Machines in place) starts a rollout.
	got := &clusterv1.MachineDeployment{}
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(md), got)).To(Succeed())
	before := got.DeepCopy()
	got.Spec.Template.Spec.Version = "v1.37.3"
	g.Expect(env.Client.Patch(ctx, got, client.MergeFrom(before))).To(Succeed())
	newHash := mdutil.TemplateHash(got, time.Now())

	g.Eventually(func(g Gomega) {
		ms := machines(g, ns)
		g.Expect(ms).To(HaveLen(5))
		for _, m := range ms {
			g.Expect(m.Labels).To(HaveKeyWithValue(clusterv1.MachineDeploymentUniqueLabel, newHash))
			g.Expect(m.Spec.Version).To(Equal("v1.37.3"))
			g.Expect(isTrue(m.Status.Conditions, clusterv1.AvailableCondition)).To(BeTrue())
		}
		sets := &clusterv1.MachineSetList{}
		g.Expect(env.Client.List(ctx, sets, client.InNamespace(ns))).To(Succeed())
		g.Expect(sets.Items).To(HaveLen(1), "old MachineSets are cleaned up")
		g.Expect(sets.Items[0].Annotations).To(HaveKeyWithValue(clusterv1.RevisionAnnotation, "2"))
	}, 2*time.Minute, 200*time.Millisecond).Should(Succeed())
	close(stop)
	<-done

	mu.Lock()
	defer mu.Unlock()
	t.Logf("observed %d steps: at most %d Machines, at least %d available", steps, maxSeen, minAvailable)
	g.Expect(steps).To(BeNumerically(">", 10))
	g.Expect(maxSeen).To(Equal(6), "the rollout surges by exactly one")
	g.Expect(violations).To(BeEmpty())
}

// TestScaleHonoursDeleteMachineAnnotation scales with kubectl scale (the scale
// subresource) up to 5, then down to 3: the two Machines annotated with
// cluster.x-k8s.io/delete-machine are the ones that go. Then down to 1.
func TestScaleHonoursDeleteMachineAnnotation(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(t, g, ns, "scale")
	newMachineDeployment(g, c, "workers", 2, 1, 0)
	waitForRunning(g, ns, 2, time.Minute)

	_, err := env.Kubectl(ctx, "scale", "machinedeployment/workers", "-n", ns, "--replicas=5")
	g.Expect(err).NotTo(HaveOccurred())
	waitForRunning(g, ns, 5, time.Minute)

	// Mark two Machines; scaling to 3 must remove exactly those.
	ms := machines(g, ns)
	marked := map[string]bool{ms[1].Name: true, ms[3].Name: true}
	for name := range marked {
		_, err := env.Kubectl(ctx, "annotate", "machine/"+name, "-n", ns, clusterv1.DeleteMachineAnnotation+"=yes")
		g.Expect(err).NotTo(HaveOccurred())
	}
	_, err = env.Kubectl(ctx, "scale", "machinedeployment/workers", "-n", ns, "--replicas=3")
	g.Expect(err).NotTo(HaveOccurred())
	waitForRunning(g, ns, 3, time.Minute)
	for _, m := range machines(g, ns) {
		g.Expect(marked).NotTo(HaveKey(m.Name), "a Machine marked with delete-machine survived the scale down")
	}
	_, err = env.Kubectl(ctx, "scale", "machinedeployment/workers", "-n", ns, "--replicas=1")
	g.Expect(err).NotTo(HaveOccurred())
	waitForRunning(g, ns, 1, time.Minute)
}
