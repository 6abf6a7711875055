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

// TestClusterOwnsMachineTemplates: the templates a MachineDeployment's sets
// use get the Cluster as an owner (not the controller), so the garbage
// collector deletes them with the Cluster; a template shared with another
// Cluster gets both owners. envtest runs no garbage collector: the e2e test
// TestErrorLogIsQuiet sees the templates go.
func TestClusterOwnsMachineTemplates(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(t, g, ns, "owner")
	newMachineDeployment(g, c, "workers", 1, 1, 0)
	other := newCluster(t, g, ns, "other")
	// A stand-alone set of the other Cluster uses the same templates.
	one := int32(0)
	ms := &clusterv1.MachineSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shared"},
		Spec: clusterv1.MachineSetSpec{
			ClusterName: other.name, Replicas: &one,
			Selector: clusterv1.LabelSelector{MatchLabels: map[string]clusterv1.LabelValue{"pool": "shared"}},
			Template: machineTemplate(other, "workers", map[string]string{"pool": "shared"}),
		},
	}
	g.Expect(env.Client.Create(ctx, ms)).To(Succeed())

	uid := func(name string) string {
		cl := &clusterv1.Cluster{}
		g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, cl)).To(Succeed())
		return string(cl.UID)
	}
	ownerUID, otherUID := uid("owner"), uid("other")
	clusterOwner := func(uid string) OmegaMatcher {
		return And(HaveField("APIVersion", clusterv1.GroupVersion.String()), HaveField("Kind", "Cluster"),
			HaveField("UID", BeEquivalentTo(uid)), HaveField("Controller", BeNil()))
	}
	for _, tmpl := range []client.Object{&bootstrapv1.KubeadmConfigTemplate{}, &infrav1.KubernetesMachineTemplate{}} {
		g.Eventually(func(g Gomega) {
			g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "workers"}, tmpl)).To(Succeed())
			g.Expect(tmpl.GetOwnerReferences()).To(ConsistOf(clusterOwner(ownerUID), clusterOwner(otherUID)))
		}, 30*time.Second, 200*time.Millisecond).Should(Succeed(), "%T", tmpl)
	}
}
