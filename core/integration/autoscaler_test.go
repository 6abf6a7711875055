package integration

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// nodeGroup is the pair of annotations that makes a MachineDeployment or
// MachineSet a node group of the cluster autoscaler.
func nodeGroup(minSize, maxSize string) map[string]string {
	return map[string]string{clusterv1.AutoscalerMinSizeAnnotation: minSize, clusterv1.AutoscalerMaxSizeAnnotation: maxSize}
}

// specReplicas reads spec.replicas of obj from the API server; -1 when unset.
func specReplicas(g Gomega, obj client.Object) int32 {
	g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)).To(Succeed())
	var r *int32
	switch o := obj.(type) {
	case *clusterv1.MachineDeployment:
		r = o.Spec.Replicas
	case *clusterv1.MachineSet:
		r = o.Spec.Replicas
	}
	if r == nil {
		return -1
	}
	return *r
}

// TestReplicasDefaultFromAutoscalerMinSize: a MachineDeployment created
// without replicas that is an autoscaler node group starts at its min-size,
// and the value is written once: a scale through /scale, as the autoscaler
// sends it, is kept. Without the annotations the default is 1, and a
// stand-alone MachineSet whose min-size is 0 starts empty.
func TestReplicasDefaultFromAutoscalerMinSize(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(t, g, ns, "autoscaled")

	newTemplates(g, ns, "pool")
	md := &clusterv1.MachineDeployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pool", Annotations: nodeGroup("2", "5")},
		Spec: clusterv1.MachineDeploymentSpec{
			ClusterName: c.name,
			Selector:    clusterv1.LabelSelector{MatchLabels: map[string]clusterv1.LabelValue{"pool": "pool"}},
			Template:    machineTemplate(c, "pool", map[string]string{"pool": "pool"}),
		},
	}
	g.Expect(env.Client.Create(ctx, md)).To(Succeed())
	g.Eventually(func(g Gomega) int32 { return specReplicas(g, md) }, 30*time.Second, 200*time.Millisecond).Should(BeEquivalentTo(2))
	waitForRunning(g, ns, 2, time.Minute)

	// The autoscaler scales through the scale subresource with a merge patch.
	scale := &autoscalingv1.Scale{}
	g.Expect(env.Client.SubResource("scale").Patch(ctx, md, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"replicas":3}}`)),
		client.WithSubResourceBody(scale))).To(Succeed())
	g.Expect(scale.Spec.Replicas).To(BeEquivalentTo(3))
	waitForRunning(g, ns, 3, time.Minute)
	g.Consistently(func(g Gomega) int32 { return specReplicas(g, md) }, 2*time.Second, 200*time.Millisecond).Should(BeEquivalentTo(3))

	// Not a node group: 1, as before.
	newTemplates(g, ns, "plain")
	plain := &clusterv1.MachineDeployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "plain"},
		Spec: clusterv1.MachineDeploymentSpec{
			ClusterName: c.name,
			Selector:    clusterv1.LabelSelector{MatchLabels: map[string]clusterv1.LabelValue{"pool": "plain"}},
			Template:    machineTemplate(c, "plain", map[string]string{"pool": "plain"}),
		},
	}
	g.Expect(env.Client.Create(ctx, plain)).To(Succeed())
	g.Eventually(func(g Gomega) int32 { return specReplicas(g, plain) }, 30*time.Second, 200*time.Millisecond).Should(BeEquivalentTo(1))

	// A stand-alone MachineSet that may scale to zero starts at zero.
	newTemplates(g, ns, "zero")
	ms := &clusterv1.MachineSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "zero", Annotations: nodeGroup("0", "3")},
		Spec: clusterv1.MachineSetSpec{
			ClusterName: c.name,
			Selector:    clusterv1.LabelSelector{MatchLabels: map[string]clusterv1.LabelValue{"pool": "zero"}},
			Template:    machineTemplate(c, "zero", map[string]string{"pool": "zero"}),
		},
	}
	g.Expect(env.Client.Create(ctx, ms)).To(Succeed())
	g.Eventually(func(g Gomega) int32 { return specReplicas(g, ms) }, 30*time.Second, 200*time.Millisecond).Should(BeEquivalentTo(0))
	waitForRunning(g, ns, 4, time.Minute) // pool's 3 and plain's 1; none of zero
	g.Consistently(func(g Gomega) []clusterv1.Machine {
		list := &clusterv1.MachineList{}
		g.Expect(env.Client.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{"pool": "zero"})).To(Succeed())
		return list.Items
	}, 2*time.Second, 200*time.Millisecond).Should(BeEmpty())
}
