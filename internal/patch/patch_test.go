package patch

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/test/testenv"
)

var env *testenv.Environment

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &env)) }

func newMachine(ns string) *clusterv1.Machine {
	return &clusterv1.Machine{
		ObjectMeta: metav1.ObjectMeta{Name: "m", Namespace: ns},
		Spec: clusterv1.MachineSpec{
			ClusterName:       "c",
			Bootstrap:         clusterv1.Bootstrap{DataSecretName: ptr("data")},
			InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: "infrastructure.cluster.x-k8s.io", Kind: "KubernetesMachine", Name: "m"},
		},
	}
}

func ptr[T any](v T) *T { return &v }

func TestPatchSendsOnlyWhatChanged(t *testing.T) {
	g := NewWithT(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := env.NewNamespace(t)
	cfg, counter := testenv.Counting(env.Config)
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	g.Expect(err).NotTo(HaveOccurred())

	m := newMachine(ns)
	g.Expect(c.Create(ctx, m)).To(Succeed())

	// Nothing changed: nothing is sent.
	h, err := NewHelper(m, c)
	g.Expect(err).NotTo(HaveOccurred())
	counter.Reset()
	g.Expect(h.Patch(ctx, m)).To(Succeed())
	g.Expect(counter.Writes()).To(Equal(0))

	// A label and a condition: one patch each for the object and its status.
	m.Labels = map[string]string{"a": "b"}
	meta.SetStatusCondition(&m.Status.Conditions, metav1.Condition{Type: "Ready", Status: metav1.ConditionFalse, Reason: "Waiting"})
	m.Status.Phase = string(clusterv1.MachinePhasePending)
	g.Expect(h.Patch(ctx, m)).To(Succeed())
	g.Expect(counter.Get("PATCH")).To(Equal(2))

	// Patching again without changes sends nothing.
	counter.Reset()
	g.Expect(h.Patch(ctx, m)).To(Succeed())
	g.Expect(counter.Writes()).To(Equal(0))

	got := &clusterv1.Machine{}
	g.Expect(c.Get(ctx, client.ObjectKeyFromObject(m), got)).To(Succeed())
	g.Expect(got.Labels).To(HaveKeyWithValue("a", "b"))
	g.Expect(got.Status.Phase).To(Equal("Pending"))
	g.Expect(meta.IsStatusConditionFalse(got.Status.Conditions, "Ready")).To(BeTrue())
}

// TestPatchDoesNotConflict: another writer changes the object between our read
// and our patch; a status or label change still goes through, without a 409.
func TestPatchDoesNotConflict(t *testing.T) {
	g := NewWithT(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := env.NewNamespace(t)
	m := newMachine(ns)
	g.Expect(env.Client.Create(ctx, m)).To(Succeed())
	h, err := NewHelper(m, env.Client)
	g.Expect(err).NotTo(HaveOccurred())

	other := m.DeepCopy()
	other.Annotations = map[string]string{"other": "writer"}
	g.Expect(env.Client.Update(ctx, other)).To(Succeed())

	m.Labels = map[string]string{"mine": "yes"}
	m.Status.Phase = "Provisioning"
	g.Expect(h.Patch(ctx, m)).To(Succeed())

	got := &clusterv1.Machine{}
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(m), got)).To(Succeed())
	g.Expect(got.Annotations).To(HaveKeyWithValue("other", "writer"))
	g.Expect(got.Labels).To(HaveKeyWithValue("mine", "yes"))
	g.Expect(got.Status.Phase).To(Equal("Provisioning"))
}

// TestFinalizerChangesAreLocked: a finalizer list computed from a stale read
// must not overwrite another writer's finalizer.
func TestFinalizerChangesAreLocked(t *testing.T) {
	g := NewWithT(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := env.NewNamespace(t)
	m := newMachine(ns)
	g.Expect(env.Client.Create(ctx, m)).To(Succeed())
	h, err := NewHelper(m, env.Client)
	g.Expect(err).NotTo(HaveOccurred())

	other := m.DeepCopy()
	other.Finalizers = []string{"example.com/other"}
	g.Expect(env.Client.Update(ctx, other)).To(Succeed())

	m.Finalizers = []string{clusterv1.MachineFinalizer}
	err = h.Patch(ctx, m)
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("the object has been modified"))

	got := &clusterv1.Machine{}
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(m), got)).To(Succeed())
	g.Expect(got.Finalizers).To(ConsistOf("example.com/other"))
}

// TestStatusIsNotResentFromTheSameSnapshot: a reconcile that starts again from
// the snapshot a status was written from (a cache that has not shown the
// write yet) and computes the same status sends nothing, even when its
// conditions and phase transition again later; a different status, or a newer snapshot,
// is sent as usual.
func TestStatusIsNotResentFromTheSameSnapshot(t *testing.T) {
	g := NewWithT(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := env.NewNamespace(t)
	cfg, counter := testenv.Counting(env.Config)
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	m := newMachine(ns)
	g.Expect(c.Create(ctx, m)).To(Succeed())
	stale := m.DeepCopy()

	// reconcile starts from a copy of the stale snapshot and sets the status.
	reconcile := func(phase string, transition time.Time) {
		obj := stale.DeepCopy()
		h, err := NewHelper(obj, c)
		g.Expect(err).NotTo(HaveOccurred())
		obj.Status.Phase = phase
		obj.Status.LastUpdated = metav1.NewTime(transition)
		obj.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: metav1.ConditionFalse, Reason: "Waiting",
			LastTransitionTime: metav1.NewTime(transition)}}
		g.Expect(h.Patch(ctx, obj)).To(Succeed())
	}
	first := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	counter.Reset()
	reconcile("Pending", first)
	g.Expect(counter.Get("PATCH")).To(Equal(1))
	reconcile("Pending", first.Add(time.Minute))
	g.Expect(counter.Get("PATCH")).To(Equal(1), "the same status from the same snapshot is not sent again")
	reconcile("Provisioning", first)
	g.Expect(counter.Get("PATCH")).To(Equal(2), "a different status is sent")

	got := &clusterv1.Machine{}
	g.Expect(c.Get(ctx, client.ObjectKeyFromObject(m), got)).To(Succeed())
	g.Expect(got.Status.Phase).To(Equal("Provisioning"))
	g.Expect(got.Status.Conditions[0].LastTransitionTime.Time).To(BeTemporally("==", first))

	// From the fresh snapshot, a status that differs from the server's is sent.
	h, err := NewHelper(got, c)
	g.Expect(err).NotTo(HaveOccurred())
	got.Status.Phase = "Pending"
	g.Expect(h.Patch(ctx, got)).To(Succeed())
	g.Expect(counter.Get("PATCH")).To(Equal(3))
}

// TestStatusIsNotResentFromTheVersionOfOurSpecPatch: a reconcile that sent a
// spec patch and then a status patch is woken by the spec patch's event; a
// snapshot at that version, with the same status computed, sends nothing.
func TestStatusIsNotResentFromTheVersionOfOurSpecPatch(t *testing.T) {
	g := NewWithT(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := env.NewNamespace(t)
	cfg, counter := testenv.Counting(env.Config)
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: env.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	m := newMachine(ns)
	g.Expect(c.Create(ctx, m)).To(Succeed())
	// The watch sees each version, as an informer does.
	w, err := c.Watch(ctx, &clusterv1.MachineList{}, client.InNamespace(ns))
	g.Expect(err).NotTo(HaveOccurred())
	defer w.Stop()

	setStatus := func(obj *clusterv1.Machine) { obj.Status.Phase = "Provisioning" }
	h, err := NewHelper(m, c)
	g.Expect(err).NotTo(HaveOccurred())
	m.Labels = map[string]string{"a": "b"}
	setStatus(m)
	counter.Reset()
	g.Expect(h.Patch(ctx, m)).To(Succeed())
	g.Expect(counter.Get("PATCH")).To(Equal(2))

	// The version between the two patches: the label, not the status.
	var between *clusterv1.Machine
	for between == nil {
		ev := <-w.ResultChan()
		if got, ok := ev.Object.(*clusterv1.Machine); ok && got.Labels["a"] == "b" {
			between = got
		}
	}
	g.Expect(between.Status.Phase).To(BeEmpty())
	h, err = NewHelper(between, c)
	g.Expect(err).NotTo(HaveOccurred())
	setStatus(between)
	g.Expect(h.Patch(ctx, between)).To(Succeed())
	g.Expect(counter.Get("PATCH")).To(Equal(2), "the status is not sent again")
}

// TestSettledStatusIsHeldBackThenSent: with a Settler, a status step that
// only changes a condition's reason is not sent until it has lasted the
// period, and a condition turning True goes at once.
func TestSettledStatusIsHeldBackThenSent(t *testing.T) {
	g := NewWithT(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := env.NewNamespace(t)
	cfg, counter := testenv.Counting(env.Config)
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	now := time.Now()
	settler := &Settler{Period: 5 * time.Second, now: func() time.Time { return now }}

	m := newMachine(ns)
	g.Expect(c.Create(ctx, m)).To(Succeed())
	m.Status.Phase = string(clusterv1.MachinePhaseProvisioning)
	meta.SetStatusCondition(&m.Status.Conditions, metav1.Condition{Type: "Ready", Status: metav1.ConditionFalse, Reason: "Waiting"})
	g.Expect(c.Status().Update(ctx, m)).To(Succeed())

	// Each reconcile starts from a fresh read, as from the cache.
	patchWith := func(reason string, status metav1.ConditionStatus) *Helper {
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(m), m)).To(Succeed())
		h, err := NewHelper(m, c)
		g.Expect(err).NotTo(HaveOccurred())
		h.Settle(settler)
		meta.SetStatusCondition(&m.Status.Conditions, metav1.Condition{Type: "Ready", Status: status, Reason: reason})
		counter.Reset()
		g.Expect(h.Patch(ctx, m)).To(Succeed())
		return h
	}
	readyReason := func() string {
		got := &clusterv1.Machine{}
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(m), got)).To(Succeed())
		return meta.FindStatusCondition(got.Status.Conditions, "Ready").Reason
	}

	// A new reason: held back, and the reconcile is told when it is due.
	h := patchWith("Booting", metav1.ConditionFalse)
	g.Expect(counter.Writes()).To(Equal(0))
	g.Expect(h.HeldFor()).To(Equal(5 * time.Second))
	g.Expect(readyReason()).To(Equal("Waiting"))

	// Still there once the period is over: sent.
	now = now.Add(5 * time.Second)
	h = patchWith("Booting", metav1.ConditionFalse)
	g.Expect(counter.Get("PATCH")).To(Equal(1))
	g.Expect(h.HeldFor()).To(BeZero())
	g.Expect(readyReason()).To(Equal("Booting"))

	// A minor step of a reconcile that ends in an error goes at once: a
	// terminal error is never retried, and the error is what must show.
	g.Expect(c.Get(ctx, client.ObjectKeyFromObject(m), m)).To(Succeed())
	h, err = NewHelper(m, c)
	g.Expect(err).NotTo(HaveOccurred())
	h.Settle(settler)
	counter.Reset()
	retErr := errors.New("the bootstrap data cannot be used")
	h.PatchWithStatus(ctx, m, func() {
		meta.SetStatusCondition(&m.Status.Conditions, metav1.Condition{Type: "Ready", Status: metav1.ConditionFalse, Reason: "Refused"})
	}, &retErr)
	g.Expect(counter.Get("PATCH")).To(Equal(1))
	g.Expect(h.HeldFor()).To(BeZero())
	g.Expect(readyReason()).To(Equal("Refused"))

	// Ready turning True goes at once.
	h = patchWith("Ready", metav1.ConditionTrue)
	g.Expect(counter.Get("PATCH")).To(Equal(1))
	g.Expect(h.HeldFor()).To(BeZero())
	g.Expect(readyReason()).To(Equal("Ready"))
}

// TestFinalizerFromASnapshotOlderThanOurStatusWrite: a reconcile wrote the
// status; the next one starts from the snapshot before that write (a cache
// behind it) and adds a finalizer. The lock is on the version our status write
// made, so there is no conflict, and the finalizer is there.
func TestFinalizerFromASnapshotOlderThanOurStatusWrite(t *testing.T) {
	g := NewWithT(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := env.NewNamespace(t)
	m := newMachine(ns)
	g.Expect(env.Client.Create(ctx, m)).To(Succeed())
	stale := m.DeepCopy()

	obj := stale.DeepCopy()
	h, err := NewHelper(obj, env.Client)
	g.Expect(err).NotTo(HaveOccurred())
	obj.Status.Phase = "Pending"
	g.Expect(h.Patch(ctx, obj)).To(Succeed())

	obj = stale.DeepCopy()
	h, err = NewHelper(obj, env.Client)
	g.Expect(err).NotTo(HaveOccurred())
	obj.Status.Phase = "Pending"
	obj.Finalizers = []string{clusterv1.MachineFinalizer}
	g.Expect(h.Patch(ctx, obj)).To(Succeed(), "no conflict with our own write")

	got := &clusterv1.Machine{}
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(m), got)).To(Succeed())
	g.Expect(got.Finalizers).To(ConsistOf(clusterv1.MachineFinalizer))
	g.Expect(got.Status.Phase).To(Equal("Pending"))

	// Another writer after ours is still a conflict.
	obj = stale.DeepCopy()
	h, err = NewHelper(obj, env.Client)
	g.Expect(err).NotTo(HaveOccurred())
	obj.Status.Phase = "Provisioning"
	g.Expect(h.Patch(ctx, obj)).To(Succeed())
	other := got.DeepCopy()
	other.Finalizers = append(other.Finalizers, "example.com/other")
	g.Expect(env.Client.Update(ctx, other)).To(HaveOccurred(), "the update carries the version before our status write")
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(m), other)).To(Succeed())
	other.Finalizers = append(other.Finalizers, "example.com/other")
	g.Expect(env.Client.Update(ctx, other)).To(Succeed())
	obj = stale.DeepCopy()
	h, err = NewHelper(obj, env.Client)
	g.Expect(err).NotTo(HaveOccurred())
	obj.Status.Phase = "Provisioning"
	obj.Finalizers = []string{"example.com/mine"}
	err = h.Patch(ctx, obj)
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("the object has been modified"))
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(m), got)).To(Succeed())
	g.Expect(got.Finalizers).To(ConsistOf(clusterv1.MachineFinalizer, "example.com/other"))
}

// TestSpecNotResentFromAStaleSnapshot: a reconcile patched the spec (a new
// generation) and the status; the next one starts from the snapshot before
// both and arrives at the same: it sends nothing, and its status observes
// the generation our spec patch made rather than the stale one.
func TestSpecNotResentFromAStaleSnapshot(t *testing.T) {
	g := NewWithT(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := env.NewNamespace(t)
	cfg, counter := testenv.Counting(env.Config)
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	m := newMachine(ns)
	g.Expect(c.Create(ctx, m)).To(Succeed())
	stale := m.DeepCopy()

	reconcile := func() error {
		obj := stale.DeepCopy()
		h, err := NewHelper(obj, c)
		g.Expect(err).NotTo(HaveOccurred())
		obj.Finalizers = []string{clusterv1.MachineFinalizer}
		obj.Spec.ProviderID = "kubernetes://ns/m"
		setStatus := func() { obj.Status.ObservedGeneration = obj.Generation; obj.Status.Phase = "Provisioned" }
		setStatus()
		return h.Patch(ctx, obj, setStatus)
	}
	counter.Reset()
	g.Expect(reconcile()).To(Succeed())
	g.Expect(counter.Get("PATCH")).To(Equal(2))
	got := &clusterv1.Machine{}
	g.Expect(c.Get(ctx, client.ObjectKeyFromObject(m), got)).To(Succeed())
	g.Expect(got.Generation).To(Equal(stale.Generation + 1))
	g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))

	g.Expect(reconcile()).To(Succeed())
	g.Expect(counter.Get("PATCH")).To(Equal(2), "nothing is sent again")
	g.Expect(c.Get(ctx, client.ObjectKeyFromObject(m), got)).To(Succeed())
	g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
	g.Expect(got.Finalizers).To(ConsistOf(clusterv1.MachineFinalizer))
}
