package integration

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/podcluster/podcluster/api/controlplane/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/conditions"
)

// rolloutSampler records, every 20 ms, the most Machines that were not being
// deleted, the fewest of those that were Ready, the most being deleted at
// once, and whether the control plane said RollingOut=True.
type rolloutSampler struct {
	mu                               sync.Mutex
	maxActive, minReady, maxDeleting int
	sawRollingOut                    bool
	stop, done                       chan struct{}
}

func startRolloutSampler(ctx context.Context, ns string, key client.ObjectKey) *rolloutSampler {
	s := &rolloutSampler{minReady: 1 << 30, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
			list := &clusterv1.MachineList{}
			kcp := &controlplanev1.KubeadmControlPlane{}
			if env.Client.List(ctx, list, client.InNamespace(ns)) != nil || env.Client.Get(ctx, key, kcp) != nil {
				continue
			}
			active, ready, deleting := 0, 0, 0
			for _, m := range list.Items {
				switch {
				case !m.DeletionTimestamp.IsZero():
					deleting++
				case conditions.IsTrue(m.Status.Conditions, clusterv1.ReadyCondition):
					active++
					ready++
				default:
					active++
				}
			}
			s.mu.Lock()
			s.maxActive, s.minReady, s.maxDeleting = max(s.maxActive, active), min(s.minReady, ready), max(s.maxDeleting, deleting)
			s.sawRollingOut = s.sawRollingOut || conditions.IsTrue(kcp.Status.Conditions, controlplanev1.KubeadmControlPlaneRollingOutCondition)
			s.mu.Unlock()
		}
	}()
	return s
}

func (s *rolloutSampler) result() (maxActive, minReady, maxDeleting int, sawRollingOut bool) {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxActive, s.minReady, s.maxDeleting, s.sawRollingOut
}

// waitForRolledOut waits until the control plane has 3 Ready, up-to-date
// Machines, none of them named in old (replaced by a rollout or a
// remediation), and says it is not rolling out.
func waitForRolledOut(g Gomega, key client.ObjectKey, old []string) []string {
	var names []string
	g.Eventually(func(g Gomega) {
		ms := controlPlaneMachines(g, key.Namespace)
		g.Expect(ms).To(HaveLen(3))
		names = nil
		for _, m := range ms {
			g.Expect(old).NotTo(ContainElement(m.Name))
			g.Expect(conditions.IsTrue(m.Status.Conditions, clusterv1.ReadyCondition)).To(BeTrue(), "Machine %s Ready", m.Name)
			g.Expect(conditions.IsTrue(m.Status.Conditions, clusterv1.MachineUpToDateCondition)).To(BeTrue(), "Machine %s UpToDate", m.Name)
			names = append(names, m.Name)
		}
		kcp := &controlplanev1.KubeadmControlPlane{}
		g.Expect(env.Client.Get(context.Background(), key, kcp)).To(Succeed())
		g.Expect(kcp.Status.UpToDateReplicas).To(HaveValue(BeEquivalentTo(3)))
		g.Expect(kcp.Status.ReadyReplicas).To(HaveValue(BeEquivalentTo(3)))
		g.Expect(conditions.IsTrue(kcp.Status.Conditions, controlplanev1.KubeadmControlPlaneRollingOutCondition)).To(BeFalse())
		g.Expect(conditions.IsTrue(kcp.Status.Conditions, controlplanev1.KubeadmControlPlaneMachinesUpToDateCondition)).To(BeTrue())
	}, 2*time.Minute, 100*time.Millisecond).Should(Succeed())
	slices.Sort(names)
	return names
}

// TestKubeadmControlPlaneRollout: spec.rollout.after, then a change of
// kubeadmConfigSpec, then of the version, each replace every control-plane
// Machine, one at a time with the default surge of one: never more than 4
// Machines, never fewer than 3 Ready, never two being deleted. An outdated
// Machine says why in its UpToDate condition.
func TestKubeadmControlPlaneRollout(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	kcp := newControlPlaneCluster(t, g, ns, "roll", 3)
	key := client.ObjectKeyFromObject(kcp)
	names := waitForRolledOut(g, key, nil)

	steps := []struct {
		name   string
		change func(*controlplanev1.KubeadmControlPlane)
		why    string
	}{
		// A time to come, in whole seconds as the API keeps it, so that every
		// Machine was created before it; the controller comes back then.
		{"rollout.after", func(k *controlplanev1.KubeadmControlPlane) {
			k.Spec.Rollout.After = metav1.NewTime(time.Now().Add(2 * time.Second).Truncate(time.Second))
		}, "created before spec.rollout.after"},
		{"kubeadmConfigSpec", func(k *controlplanev1.KubeadmControlPlane) {
			k.Spec.KubeadmConfigSpec.PreKubeadmCommands = append(k.Spec.KubeadmConfigSpec.PreKubeadmCommands, "echo rolled")
		}, "KubeadmConfig is not up to date with spec.kubeadmConfigSpec"},
		{"version", func(k *controlplanev1.KubeadmControlPlane) { k.Spec.Version = "v1.37.3" }, "Version v1.37.2, v1.37.3 required"},
	}
	for _, step := range steps {
		sample := startRolloutSampler(ctx, ns, key)
		start := time.Now()
		got := &controlplanev1.KubeadmControlPlane{}
		g.Eventually(func() error {
			if err := env.Client.Get(ctx, key, got); err != nil {
				return err
			}
			step.change(got)
			return env.Client.Update(ctx, got)
		}, 10*time.Second, 50*time.Millisecond).Should(Succeed())
		// An old Machine says why it goes.
		g.Eventually(func(g Gomega) {
			m := &clusterv1.Machine{}
			g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: names[len(names)-1]}, m)).To(Succeed())
			c := conditions.Get(m.Status.Conditions, clusterv1.MachineUpToDateCondition)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Message).To(ContainSubstring(step.why))
		}, 30*time.Second, 20*time.Millisecond).Should(Succeed())
		names = waitForRolledOut(g, key, names)
		t.Logf("rollout of %s: 3 Machines replaced in %s", step.name, time.Since(start).Round(time.Millisecond))
		maxActive, minReady, maxDeleting, sawRollingOut := sample.result()
		g.Expect(maxActive).To(Equal(4), "%s: one Machine of surge", step.name)
		g.Expect(minReady).To(BeNumerically(">=", 3), "%s: three Ready Machines at every moment", step.name)
		g.Expect(maxDeleting).To(Equal(1), "%s: one Machine at a time on its way out", step.name)
		g.Expect(sawRollingOut).To(BeTrue(), "%s: RollingOut=True while it lasts", step.name)
	}
	for _, m := range controlPlaneMachines(g, ns) {
		g.Expect(m.Spec.Version).To(Equal("v1.37.3"))
	}
}
