package machinedeployment

import (
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// TestEqualSync: every field syncNewMachineSet writes is compared, the
// in-place template fields among them, so that a change to any of them is
// patched and no change costs a request.
func TestEqualSync(t *testing.T) {
	i32 := func(v int32) *int32 { return &v }
	base := &clusterv1.MachineSet{
		ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{clusterv1.DesiredReplicasAnnotation: "3"}},
		Spec: clusterv1.MachineSetSpec{Template: clusterv1.MachineTemplateSpec{
			ObjectMeta: clusterv1.ObjectMeta{Labels: map[string]string{"pool": "a"}},
		}},
	}
	cases := []struct {
		name   string
		mutate func(*clusterv1.MachineSet)
		equal  bool
	}{
		{name: "unchanged", mutate: func(*clusterv1.MachineSet) {}, equal: true},
		{name: "empty and missing annotations are the same", mutate: func(ms *clusterv1.MachineSet) {
			ms.Spec.Template.ObjectMeta.Annotations = map[string]string{}
		}, equal: true},
		{name: "a template label", mutate: func(ms *clusterv1.MachineSet) { ms.Spec.Template.ObjectMeta.Labels["tier"] = "gold" }},
		{name: "a template annotation", mutate: func(ms *clusterv1.MachineSet) {
			ms.Spec.Template.ObjectMeta.Annotations = map[string]string{"note": "x"}
		}},
		{name: "a drain timeout", mutate: func(ms *clusterv1.MachineSet) { ms.Spec.Template.Spec.Deletion.NodeDrainTimeoutSeconds = i32(5) }},
		{name: "the desired replicas", mutate: func(ms *clusterv1.MachineSet) { ms.Annotations[clusterv1.DesiredReplicasAnnotation] = "4" }},
		{name: "spec.replicas, scaled in the same patch", mutate: func(ms *clusterv1.MachineSet) { ms.Spec.Replicas = i32(4) }},
		{name: "unset spec.replicas is 1", mutate: func(ms *clusterv1.MachineSet) { ms.Spec.Replicas = i32(1) }, equal: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			changed := base.DeepCopy()
			tc.mutate(changed)
			NewWithT(t).Expect(equalSync(base, changed)).To(Equal(tc.equal))
		})
	}
}

func TestTemplateLabels(t *testing.T) {
	g := NewWithT(t)
	md := &clusterv1.MachineDeployment{
		ObjectMeta: metav1.ObjectMeta{Name: "workers"},
		Spec: clusterv1.MachineDeploymentSpec{ClusterName: "c", Template: clusterv1.MachineTemplateSpec{
			ObjectMeta: clusterv1.ObjectMeta{Labels: map[string]string{"pool": "a", clusterv1.MachineDeploymentUniqueLabel: "forged"}},
		}},
	}
	got := templateLabels(md, "abc")
	g.Expect(got).To(Equal(map[string]string{
		"pool": "a", clusterv1.MachineDeploymentUniqueLabel: "abc",
		clusterv1.MachineDeploymentNameLabel: "workers", clusterv1.ClusterNameLabel: "c",
	}))
	g.Expect(md.Spec.Template.ObjectMeta.Labels).To(HaveKeyWithValue(clusterv1.MachineDeploymentUniqueLabel, "forged"), "the deployment is not changed")
}
