package integration

import (
	"context"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
)

// faultWindow is how long a fault is held while the sampler counts Machines.
const faultWindow = time.Minute

// machineSampler counts a namespace's Machines (those being deleted too)
// straight from the API server about every 50 ms, and keeps the most seen.
type machineSampler struct {
	mu      sync.Mutex
	most    int
	samples int
	stop    chan struct{}
	done    chan struct{}
}

func sampleMachines(ns string) *machineSampler {
	s := &machineSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			list := &clusterv1.MachineList{}
			if err := env.Client.List(context.Background(), list, client.InNamespace(ns)); err == nil {
				s.mu.Lock()
				s.most = max(s.most, len(list.Items))
				s.samples++
				s.mu.Unlock()
			}
			select {
			case <-s.stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return s
}

// Stop ends the sampling and returns the most Machines seen and how many
// samples were taken.
func (s *machineSampler) Stop() (most, samples int) {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.most, s.samples
}

// refuseCreate makes the API server refuse every CREATE of resource in the
// namespace, with a ValidatingAdmissionPolicy and its binding, and returns
// the function that lifts the refusal. It returns once a create is refused.
func refuseCreate(t *testing.T, g Gomega, ns, group, resource string, probe func() client.Object) func() {
	ctx := context.Background()
	fail := admissionregistrationv1.Fail
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "refuse-" + resource + "-" + ns},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &fail,
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
					Rule:       admissionregistrationv1.Rule{APIGroups: []string{group}, APIVersions: []string{"*"}, Resources: []string{resource}},
				},
			}}},
			Validations: []admissionregistrationv1.Validation{{Expression: "false", Message: "refused by the test"}},
		},
	}
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: policy.Name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        policy.Name,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
			MatchResources: &admissionregistrationv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{corev1.LabelMetadataName: ns}}},
		},
	}
	g.Expect(env.Client.Create(ctx, policy)).To(Succeed())
	g.Expect(env.Client.Create(ctx, binding)).To(Succeed())
	lift := func() {
		_ = env.Client.Delete(ctx, binding)
		_ = env.Client.Delete(ctx, policy)
	}
	t.Cleanup(lift)
	// The API server loads policies asynchronously: wait until it refuses.
	g.Eventually(func() bool {
		obj := probe()
		err := env.Client.Create(ctx, obj)
		if err == nil {
			_ = env.Client.Delete(ctx, obj)
		}
		return apierrors.IsInvalid(err) || apierrors.IsForbidden(err)
	}, 30*time.Second, 200*time.Millisecond).Should(BeTrue(), "the policy takes effect")
	return func() {
		lift()
		// And until it accepts again, so the test's next step starts from a
		// known state.
		g.Eventually(func() error {
			obj := probe()
			if err := env.Client.Create(ctx, obj); err != nil {
				return err
			}
			return env.Client.Delete(ctx, obj)
		}, 30*time.Second, 200*time.Millisecond).Should(Succeed(), "the refusal is lifted")
	}
}

// TestRefusedClonesMakeNoRunaway: while the API server refuses every
// KubernetesMachine, a MachineDeployment of 3 (maxSurge 1) never has more
// than 3 Machines, sampled for a minute: each waits for its refused
// KubernetesMachine, with one KubeadmConfig each (owned by it), and the
// Machine says what it waits for. Once the refusal is lifted the missing
// clones are created and it reaches 3 Running Machines, with exactly one
// KubeadmConfig and one KubernetesMachine each.
func TestRefusedClonesMakeNoRunaway(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(t, g, ns, "refused")
	lift := refuseCreate(t, g, ns, infrav1.GroupVersion.Group, "kubernetesmachines", func() client.Object {
		return &infrav1.KubernetesMachine{ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: "probe-"}}
	})

	tried := func() int { return requests.Breakdown()["POST kubernetesmachines"] }
	before := tried()
	sampler := sampleMachines(ns)
	newMachineDeployment(g, c, "workers", 3, 1, 0)
	// The MachineSet keeps trying, and the API server keeps refusing.
	g.Eventually(tried, time.Minute, 200*time.Millisecond).Should(BeNumerically(">=", before+3))
	time.Sleep(faultWindow)
	most, samples := sampler.Stop()
	t.Logf("while refused: at most %d Machines in %d samples; %d refused creates", most, samples, tried()-before)
	g.Expect(samples).To(BeNumerically(">", 100))
	// Stricter than replicas plus surge: a Machine waiting for its clone
	// counts, so none is created in its place.
	g.Expect(most).To(BeNumerically("<=", 3), "more Machines than replicas")
	g.Eventually(func(g Gomega) {
		configs := &bootstrapv1.KubeadmConfigList{}
		g.Expect(env.Client.List(ctx, configs, client.InNamespace(ns))).To(Succeed())
		machines := &clusterv1.MachineList{}
		g.Expect(env.Client.List(ctx, machines, client.InNamespace(ns))).To(Succeed())
		g.Expect(configs.Items).To(HaveLen(len(machines.Items)))
		for _, m := range machines.Items {
			cond := condition(m.Status.Conditions, clusterv1.MachineInfrastructureReadyCondition)
			g.Expect(cond).NotTo(BeNil(), m.Name)
			g.Expect(cond.Message).To(ContainSubstring("KubernetesMachine "+m.Name+" does not exist"), m.Name)
		}
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())

	lift()
	waitForRunning(g, ns, 3, 2*time.Minute)
	expectOneCloneEach(g, ns)
}

// TestStuckDeletingMachineIsNotReplacedEarly: a Machine that cannot finish
// deleting (a finalizer of someone else's) still counts, so its MachineSet
// does not replace it while it stays, and a MachineDeployment of 3 never has
// more than 3 Machines; once it is gone, the replacement comes.
func TestStuckDeletingMachineIsNotReplacedEarly(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(t, g, ns, "stuck")
	newMachineDeployment(g, c, "workers", 3, 1, 0)
	waitForRunning(g, ns, 3, time.Minute)

	victim := &machines(g, ns)[0]
	const finalizer = "test.podcluster.io/hold"
	update(g, victim, func() { victim.Finalizers = append(victim.Finalizers, finalizer) })
	sampler := sampleMachines(ns)
	g.Expect(env.Client.Delete(ctx, victim)).To(Succeed())
	// The Machine controller is done with it: only the test's finalizer holds it.
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(victim), victim)).To(Succeed())
		g.Expect(victim.Finalizers).To(Equal([]string{finalizer}))
	}, time.Minute, 200*time.Millisecond).Should(Succeed())
	time.Sleep(10 * time.Second)
	most, samples := sampler.Stop()
	t.Logf("while stuck: at most %d Machines in %d samples", most, samples)
	g.Expect(most).To(Equal(3), "a Machine stuck deleting was replaced before it was gone")

	update(g, victim, func() { victim.Finalizers = nil })
	waitForRunning(g, ns, 3, time.Minute)
	for _, m := range machines(g, ns) {
		g.Expect(m.Name).NotTo(Equal(victim.Name))
	}
}

// TestUnreachableWorkloadMakesNoRunaway: while the workload cluster's API
// server refuses every connection (so the cluster cache's health probe
// fails), a MachineDeployment of 3 never has more than 4 Machines, sampled
// for a minute; once it answers, the 3 Machines become Running.
func TestUnreachableWorkloadMakesNoRunaway(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	c := newCluster(t, g, ns, "unreachable")
	proxy := throughProxy(t, g, ns, c.name)
	proxy.down() // refused before any Machine exists

	sampler := sampleMachines(ns)
	newMachineDeployment(g, c, "workers", 3, 1, 0)
	time.Sleep(faultWindow)
	most, samples := sampler.Stop()
	t.Logf("while unreachable: at most %d Machines in %d samples", most, samples)
	g.Expect(samples).To(BeNumerically(">", 100))
	g.Expect(most).To(BeNumerically("<=", 4), "more Machines than replicas plus surge")
	for _, m := range machines(g, ns) {
		g.Expect(m.Status.Phase).NotTo(Equal("Running"), "no Node can have been seen through the refusing proxy")
	}
	g.Expect(proxy.accepted()).To(BeZero())

	proxy.up(g)
	waitForRunning(g, ns, 3, 3*time.Minute)
	expectOneCloneEach(g, ns)
}

// expectOneCloneEach checks that the namespace holds exactly one
// KubeadmConfig and one KubernetesMachine per Machine, each controlled by it.
func expectOneCloneEach(g Gomega, ns string) {
	ctx := context.Background()
	ms := machines(g, ns)
	configs := &bootstrapv1.KubeadmConfigList{}
	g.Expect(env.Client.List(ctx, configs, client.InNamespace(ns))).To(Succeed())
	infra := &infrav1.KubernetesMachineList{}
	g.Expect(env.Client.List(ctx, infra, client.InNamespace(ns))).To(Succeed())
	g.Expect(configs.Items).To(HaveLen(len(ms)))
	g.Expect(infra.Items).To(HaveLen(len(ms)))
	uids := map[string]string{}
	for _, m := range ms {
		uids[m.Name] = string(m.UID)
	}
	for _, o := range append(metas(configs.Items), metas(infra.Items)...) {
		owner := metav1.GetControllerOf(o)
		g.Expect(owner).NotTo(BeNil(), o.GetName())
		g.Expect(owner.Kind).To(Equal("Machine"), o.GetName())
		g.Expect(uids).To(HaveKeyWithValue(o.GetName(), string(owner.UID)))
	}
}

// TestOrphanedClonesAreDeletedAfterRestart: clones that an older podcluster
// (which created them before their Machine) left when it stopped in between
// (owned by the MachineSet alone, no Machine of their name) are deleted once
// the controller starts again; the clones of real Machines stay.
func TestOrphanedClonesAreDeletedAfterRestart(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(t, g, ns, "orphans")
	newMachineDeployment(g, c, "workers", 2, 1, 0)
	waitForRunning(g, ns, 2, time.Minute)
	sets := &clusterv1.MachineSetList{}
	g.Expect(env.Client.List(ctx, sets, client.InNamespace(ns))).To(Succeed())
	g.Expect(sets.Items).To(HaveLen(1))
	ms := &sets.Items[0]

	// What a stop between the clones and the Machine left.
	stopCore()
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Namespace: ns, Name: name,
			Labels:          map[string]string{clusterv1.ClusterNameLabel: c.name, clusterv1.MachineSetNameLabel: ms.Name},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: clusterv1.GroupVersion.String(), Kind: "MachineSet", Name: ms.Name, UID: ms.UID}}}
	}
	orphanConfig := &bootstrapv1.KubeadmConfig{ObjectMeta: meta(ms.Name + "-orph1"), Spec: bootstrapv1.KubeadmConfigSpec{Format: bootstrapv1.CloudConfig}}
	orphanInfra := &infrav1.KubernetesMachine{ObjectMeta: meta(ms.Name + "-orph1")}
	loneConfig := &bootstrapv1.KubeadmConfig{ObjectMeta: meta(ms.Name + "-orph2"), Spec: bootstrapv1.KubeadmConfigSpec{Format: bootstrapv1.CloudConfig}}
	for _, o := range []client.Object{orphanConfig, orphanInfra, loneConfig} {
		g.Expect(env.Client.Create(ctx, o)).To(Succeed())
	}
	g.Expect(startCore()).To(Succeed())

	g.Eventually(func(g Gomega) {
		for _, o := range []client.Object{orphanConfig, orphanInfra, loneConfig} {
			err := env.Client.Get(ctx, client.ObjectKeyFromObject(o), o)
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "%T %s is still there", o, o.GetName())
		}
	}, time.Minute, 200*time.Millisecond).Should(Succeed())
	waitForRunning(g, ns, 2, time.Minute)
	expectOneCloneEach(g, ns)
}
