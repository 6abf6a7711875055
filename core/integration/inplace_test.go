package integration

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
)

// TestTemplateMetadataPropagatesInPlace: a label, an annotation and a drain
// timeout added to a MachineDeployment's template reach its MachineSet, every
// Machine, and each Machine's KubeadmConfig and KubernetesMachine (the
// timeout the Machines only), without a new MachineSet and without replacing
// any Machine. A version change then still rolls every Machine out.
func TestTemplateMetadataPropagatesInPlace(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(t, g, ns, "inplace")
	md := newMachineDeployment(g, c, "workers", 3, 1, 0)
	waitForRunning(g, ns, 3, time.Minute)

	original := map[string]types.UID{}
	for _, m := range machines(g, ns) {
		original[m.Name] = m.UID
	}
	sets := &clusterv1.MachineSetList{}
	g.Expect(env.Client.List(ctx, sets, client.InNamespace(ns))).To(Succeed())
	g.Expect(sets.Items).To(HaveLen(1))
	set := sets.Items[0]

	sampler := sampleMachines(ns)
	drain := int32(42)
	update(g, md, func() {
		md.Spec.Template.ObjectMeta.Labels["tier"] = "gold"
		md.Spec.Template.ObjectMeta.Annotations = map[string]string{"example.com/note": "in place"}
		md.Spec.Template.Spec.Deletion.NodeDrainTimeoutSeconds = &drain
	})
	g.Eventually(func(g Gomega) {
		ms := machines(g, ns)
		g.Expect(ms).To(HaveLen(3))
		for _, m := range ms {
			g.Expect(original).To(HaveKeyWithValue(m.Name, m.UID), "Machine %s was replaced", m.Name)
			g.Expect(m.Labels).To(HaveKeyWithValue("tier", "gold"), m.Name)
			g.Expect(m.Annotations).To(HaveKeyWithValue("example.com/note", "in place"), m.Name)
			g.Expect(m.Spec.Deletion.NodeDrainTimeoutSeconds).To(HaveValue(BeEquivalentTo(42)), m.Name)

			kc := &bootstrapv1.KubeadmConfig{}
			g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: m.Spec.Bootstrap.ConfigRef.Name}, kc)).To(Succeed())
			g.Expect(kc.Labels).To(HaveKeyWithValue("tier", "gold"), kc.Name)
			g.Expect(kc.Annotations).To(HaveKeyWithValue("example.com/note", "in place"), kc.Name)
			km := &infrav1.KubernetesMachine{}
			g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: m.Spec.InfrastructureRef.Name}, km)).To(Succeed())
			g.Expect(km.Labels).To(HaveKeyWithValue("tier", "gold"), km.Name)
			g.Expect(km.Annotations).To(HaveKeyWithValue("example.com/note", "in place"), km.Name)
		}
		got := &clusterv1.MachineSetList{}
		g.Expect(env.Client.List(ctx, got, client.InNamespace(ns))).To(Succeed())
		g.Expect(got.Items).To(HaveLen(1))
		g.Expect(got.Items[0].UID).To(Equal(set.UID), "no new MachineSet")
		g.Expect(got.Items[0].Spec.Template.ObjectMeta.Labels).To(HaveKeyWithValue("tier", "gold"))
	}, time.Minute, 200*time.Millisecond).Should(Succeed())
	most, _ := sampler.Stop()
	g.Expect(most).To(Equal(3), "no Machine was added on the way")

	// The version is no in-place field: it rolls out.
	update(g, md, func() { md.Spec.Template.Spec.Version = "v1.37.3" })
	g.Eventually(func(g Gomega) {
		ms := machines(g, ns)
		g.Expect(ms).To(HaveLen(3))
		for _, m := range ms {
			g.Expect(original).NotTo(HaveKey(m.Name), "Machine %s was not rolled out", m.Name)
			g.Expect(m.Spec.Version).To(Equal("v1.37.3"))
			g.Expect(m.Labels).To(HaveKeyWithValue("tier", "gold"))
			g.Expect(m.Status.Phase).To(Equal("Running"), m.Name)
		}
		got := &clusterv1.MachineSetList{}
		g.Expect(env.Client.List(ctx, got, client.InNamespace(ns))).To(Succeed())
		g.Expect(got.Items).To(HaveLen(1))
		g.Expect(got.Items[0].UID).NotTo(Equal(set.UID), "a new MachineSet")
	}, 2*time.Minute, 200*time.Millisecond).Should(Succeed())
}
