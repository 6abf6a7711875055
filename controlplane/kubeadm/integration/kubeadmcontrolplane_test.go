package integration

import (
	"context"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	controlplanev1 "github.com/podcluster/podcluster/api/controlplane/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
	"github.com/podcluster/podcluster/internal/conditions"
)

// sampler looks at the control plane's Machines every 20 ms and records the
// most Machines that were ever on their way in (not Ready) or out (being
// deleted) at the same time.
type sampler struct {
	mu                       sync.Mutex
	maxNotReady, maxDeleting int
	stop                     chan struct{}
	done                     chan struct{}
}

func startSampler(ctx context.Context, ns string) *sampler {
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
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
			if err := env.Client.List(ctx, list, client.InNamespace(ns)); err != nil {
				continue
			}
			notReady, deleting := 0, 0
			for _, m := range list.Items {
				if !m.DeletionTimestamp.IsZero() {
					deleting++
				} else if !conditions.IsTrue(m.Status.Conditions, clusterv1.ReadyCondition) {
					notReady++
				}
			}
			s.mu.Lock()
			s.maxNotReady, s.maxDeleting = max(s.maxNotReady, notReady), max(s.maxDeleting, deleting)
			s.mu.Unlock()
		}
	}()
	return s
}

func (s *sampler) result() (maxNotReady, maxDeleting int) {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxNotReady, s.maxDeleting
}

func controlPlaneMachines(g Gomega, ns string) []clusterv1.Machine {
	list := &clusterv1.MachineList{}
	g.Expect(env.Client.List(context.Background(), list, client.InNamespace(ns), client.HasLabels{clusterv1.MachineControlPlaneLabel})).To(Succeed())
	return list.Items
}

// TestKubeadmControlPlaneLifecycle: a KubeadmControlPlane of 3 brings its
// Machines up one at a time (the first with kubeadm init's configuration,
// the others as control-plane joins once the first initialized), reports
// upstream's status, scales to 1 through the scale subresource by deleting
// the oldest two one at a time, and on deletion leaves no Machine behind.
func TestKubeadmControlPlaneLifecycle(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	sample := startSampler(ctx, ns)
	kcp := newControlPlaneCluster(t, g, ns, "c1", 3)
	key := client.ObjectKeyFromObject(kcp)

	start := time.Now()
	g.Eventually(func(g Gomega) {
		got := &controlplanev1.KubeadmControlPlane{}
		g.Expect(env.Client.Get(ctx, key, got)).To(Succeed())
		st := got.Status
		g.Expect(st.Replicas).To(HaveValue(BeEquivalentTo(3)))
		g.Expect(st.ReadyReplicas).To(HaveValue(BeEquivalentTo(3)))
		g.Expect(st.AvailableReplicas).To(HaveValue(BeEquivalentTo(3)))
		g.Expect(st.UpToDateReplicas).To(HaveValue(BeEquivalentTo(3)))
		g.Expect(st.Versions).To(Equal([]clusterv1.StatusVersion{{Version: "v1.37.2", Replicas: 3}}))
		g.Expect(st.Version).To(Equal("v1.37.2")) //nolint:staticcheck // still written for older clients
		g.Expect(st.Initialization.ControlPlaneInitialized).To(HaveValue(BeTrue()))
		g.Expect(conditions.IsTrue(st.Conditions, controlplanev1.KubeadmControlPlaneAvailableCondition)).To(BeTrue())
		g.Expect(conditions.IsTrue(st.Conditions, controlplanev1.KubeadmControlPlaneMachinesReadyCondition)).To(BeTrue())
		g.Expect(conditions.IsTrue(st.Conditions, controlplanev1.KubeadmControlPlaneScalingUpCondition)).To(BeFalse())
		// The stand-in kubelets run the static Pods of an external-etcd
		// control plane: every Machine reports them healthy, and none
		// has an etcd Pod to report.
		g.Expect(conditions.IsTrue(st.Conditions, controlplanev1.KubeadmControlPlaneControlPlaneComponentsHealthyCondition)).To(BeTrue())
		for _, m := range controlPlaneMachines(g, ns) {
			for _, c := range []string{controlplanev1.KubeadmControlPlaneMachineAPIServerPodHealthyCondition,
				controlplanev1.KubeadmControlPlaneMachineControllerManagerPodHealthyCondition, controlplanev1.KubeadmControlPlaneMachineSchedulerPodHealthyCondition} {
				g.Expect(conditions.IsTrue(m.Status.Conditions, c)).To(BeTrue(), "%s %s", m.Name, c)
			}
			g.Expect(conditions.Get(m.Status.Conditions, controlplanev1.KubeadmControlPlaneMachineEtcdPodHealthyCondition)).To(BeNil(), m.Name)
		}
	}, time.Minute, 100*time.Millisecond).Should(Succeed())
	t.Logf("3 Ready control-plane Machines after %s", time.Since(start).Round(time.Millisecond))
	maxNotReady, _ := sample.result()
	g.Expect(maxNotReady).To(Equal(1), "one Machine at a time on its way in")

	// The Machines, and their clones, are what the contract says.
	got := &controlplanev1.KubeadmControlPlane{}
	g.Expect(env.Client.Get(ctx, key, got)).To(Succeed())
	g.Expect(got.Labels).To(HaveKeyWithValue(clusterv1.ClusterNameLabel, "c1"))
	g.Expect(got.Finalizers).To(ContainElement(controlplanev1.KubeadmControlPlaneFinalizer))
	g.Expect(got.Status.Selector).To(Equal("cluster.x-k8s.io/cluster-name=c1,cluster.x-k8s.io/control-plane"))
	ms := controlPlaneMachines(g, ns)
	g.Expect(ms).To(HaveLen(3))
	var initConfigs, joinConfigs int
	for _, m := range ms {
		g.Expect(m.Labels).To(HaveKeyWithValue(clusterv1.MachineControlPlaneNameLabel, kcp.Name))
		g.Expect(m.Labels).To(HaveKeyWithValue("tier", "control-plane"))
		g.Expect(metav1.GetControllerOf(&m).Kind).To(Equal("KubeadmControlPlane"))
		g.Expect(m.Spec.Version).To(Equal("v1.37.2"))
		cfg := &bootstrapv1.KubeadmConfig{}
		g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: m.Spec.Bootstrap.ConfigRef.Name}, cfg)).To(Succeed())
		g.Expect(metav1.GetControllerOf(cfg).Name).To(Equal(m.Name))
		if cfg.Spec.JoinConfiguration.ControlPlane != nil {
			joinConfigs++
			g.Expect(cfg.Spec.ClusterConfiguration).To(BeZero())
		} else {
			initConfigs++
			g.Expect(cfg.Spec.ClusterConfiguration.CertificatesDir).To(Equal("/etc/kubernetes/pki"))
		}
		km := &infrav1.KubernetesMachine{}
		g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: m.Spec.InfrastructureRef.Name}, km)).To(Succeed())
		g.Expect(km.Annotations).To(HaveKeyWithValue(clusterv1.TemplateClonedFromNameAnnotation, kcp.Name))
	}
	g.Expect([]int{initConfigs, joinConfigs}).To(Equal([]int{1, 2}))

	// The Cluster follows its control plane.
	g.Eventually(func(g Gomega) {
		c := &clusterv1.Cluster{}
		g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "c1"}, c)).To(Succeed())
		g.Expect(c.Status.Initialization.ControlPlaneInitialized).To(HaveValue(BeTrue()))
		g.Expect(conditions.IsTrue(c.Status.Conditions, clusterv1.ClusterControlPlaneAvailableCondition)).To(BeTrue())
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())

	// kubectl scale through the scale subresource: the oldest two go, one at a time.
	// Creation times have a resolution of one second, so Machines created in
	// the same second are ordered by name, as the controller orders them.
	newest := ms[0]
	for _, m := range ms[1:] {
		if t, n := m.CreationTimestamp.Time, newest.CreationTimestamp.Time; t.After(n) || (t.Equal(n) && m.Name > newest.Name) {
			newest = m
		}
	}
	sample = startSampler(ctx, ns)
	start = time.Now()
	_, err := env.Kubectl(ctx, "scale", "kcp/"+kcp.Name, "-n", ns, "--replicas=1")
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(func(g Gomega) {
		left := controlPlaneMachines(g, ns)
		g.Expect(left).To(HaveLen(1))
		g.Expect(left[0].Name).To(Equal(newest.Name))
		got := &controlplanev1.KubeadmControlPlane{}
		g.Expect(env.Client.Get(ctx, key, got)).To(Succeed())
		g.Expect(got.Status.Replicas).To(HaveValue(BeEquivalentTo(1)))
		g.Expect(conditions.IsTrue(got.Status.Conditions, controlplanev1.KubeadmControlPlaneScalingDownCondition)).To(BeFalse())
	}, time.Minute, 100*time.Millisecond).Should(Succeed())
	t.Logf("scaled 3 -> 1 in %s", time.Since(start).Round(time.Millisecond))
	_, maxDeleting := sample.result()
	g.Expect(maxDeleting).To(Equal(1), "one Machine at a time on its way out")
	out, err := env.Kubectl(ctx, "get", "kcp", "-n", ns)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(MatchRegexp(`c1-control-plane\s+c1\s+True\s+1\s+1\s+1\s+1\s+1\s+true`), out)

	// Deleting the control plane deletes its Machines, then goes itself.
	g.Expect(env.Client.Delete(ctx, got)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(controlPlaneMachines(g, ns)).To(BeEmpty())
		err := env.Client.Get(ctx, key, &controlplanev1.KubeadmControlPlane{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the KubeadmControlPlane is gone")
	}, time.Minute, 100*time.Millisecond).Should(Succeed())
}
