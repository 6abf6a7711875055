package integration

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
)

// TestRestartDuringScaleUp stops the core manager in the middle of a scale-up
// from 0 to 10 and starts a new one: the end state has exactly 10 Machines,
// each with exactly one KubeadmConfig and one KubernetesMachine, and nothing
// orphaned.
func TestRestartDuringScaleUp(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(t, g, ns, "restart")
	md := newMachineDeployment(g, c, "workers", 0, 1, 0)
	g.Eventually(func(g Gomega) {
		sets := &clusterv1.MachineSetList{}
		g.Expect(env.Client.List(ctx, sets, client.InNamespace(ns))).To(Succeed())
		g.Expect(sets.Items).To(HaveLen(1))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())

	_, err := env.Kubectl(ctx, "scale", "machinedeployment/"+md.Name, "-n", ns, "--replicas=10")
	g.Expect(err).NotTo(HaveOccurred())
	// Stop as soon as the scale-up has started but not finished.
	g.Eventually(func() int { return len(machines(g, ns)) }, 30*time.Second, 5*time.Millisecond).Should(BeNumerically(">=", 1))
	stopCore()
	stoppedAt := len(machines(g, ns))
	t.Logf("manager stopped with %d of 10 Machines created", stoppedAt)
	g.Expect(startCore()).To(Succeed())

	waitForRunning(g, ns, 10, 2*time.Minute)
	g.Consistently(func() int { return len(machines(g, ns)) }, 3*time.Second, 200*time.Millisecond).Should(Equal(10))

	names := map[string]bool{}
	for _, m := range machines(g, ns) {
		names[m.Name] = true
	}
	configs := &bootstrapv1.KubeadmConfigList{}
	g.Expect(env.Client.List(ctx, configs, client.InNamespace(ns))).To(Succeed())
	infra := &infrav1.KubernetesMachineList{}
	g.Expect(env.Client.List(ctx, infra, client.InNamespace(ns))).To(Succeed())
	g.Expect(configs.Items).To(HaveLen(10))
	g.Expect(infra.Items).To(HaveLen(10))
	for _, objs := range [][]metav1.Object{metas(configs.Items), metas(infra.Items)} {
		for _, o := range objs {
			owner := metav1.GetControllerOf(o)
			g.Expect(owner).NotTo(BeNil(), "%s has no controller", o.GetName())
			g.Expect(names).To(HaveKey(owner.Name), "%s is owned by a Machine that does not exist", o.GetName())
		}
	}
}

func metas[T any, PT interface {
	*T
	metav1.Object
}](items []T) []metav1.Object {
	out := make([]metav1.Object, 0, len(items))
	for i := range items {
		out = append(out, PT(&items[i]))
	}
	return out
}
