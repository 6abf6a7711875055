package util

import (
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

func TestNotOnlyStatusChanged(t *testing.T) {
	base := func() *clusterv1.Cluster {
		return &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{
			Name: "c", Generation: 2, ResourceVersion: "10",
			Labels: map[string]string{"a": "b"}, Annotations: map[string]string{"x": "y"}, Finalizers: []string{"f"},
		}}
	}
	now := metav1.Now()
	cases := []struct {
		name   string
		change func(c *clusterv1.Cluster)
		want   bool
	}{
		{"status and resourceVersion only", func(c *clusterv1.Cluster) {
			c.ResourceVersion = "11"
			c.Status.Phase = "Provisioned"
		}, false},
		{"generation (spec)", func(c *clusterv1.Cluster) { c.Generation = 3 }, true},
		{"label", func(c *clusterv1.Cluster) { c.Labels["a"] = "c" }, true},
		{"annotation (paused)", func(c *clusterv1.Cluster) { c.Annotations[clusterv1.PausedAnnotation] = "" }, true},
		{"finalizer", func(c *clusterv1.Cluster) { c.Finalizers = nil }, true},
		{"owner reference", func(c *clusterv1.Cluster) { c.OwnerReferences = []metav1.OwnerReference{{Name: "o"}} }, true},
		{"deletion", func(c *clusterv1.Cluster) { c.DeletionTimestamp = &now }, true},
	}
	p := NotOnlyStatusChanged()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			n := base()
			tc.change(n)
			g.Expect(p.Update(event.UpdateEvent{ObjectOld: base(), ObjectNew: n})).To(Equal(tc.want))
		})
	}
	g := NewWithT(t)
	g.Expect(p.Create(event.CreateEvent{Object: base()})).To(BeTrue())
	g.Expect(p.Delete(event.DeleteEvent{Object: base()})).To(BeTrue())
}
