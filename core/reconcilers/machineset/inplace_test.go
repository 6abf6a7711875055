package machineset

import (
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

func TestDesiredInPlace(t *testing.T) {
	i32 := func(v int32) *int32 { return &v }
	ms := &clusterv1.MachineSet{
		ObjectMeta: metav1.ObjectMeta{Name: "ms", Labels: map[string]string{clusterv1.MachineDeploymentNameLabel: "md"}},
		Spec: clusterv1.MachineSetSpec{ClusterName: "c", Template: clusterv1.MachineTemplateSpec{
			ObjectMeta: clusterv1.ObjectMeta{Labels: map[string]string{"pool": "a", "tier": "gold"}, Annotations: map[string]string{"note": "x"}},
			Spec:       clusterv1.MachineSpec{Deletion: clusterv1.MachineDeletionSpec{NodeDrainTimeoutSeconds: i32(60)}},
		}},
	}
	upToDate := func() *clusterv1.Machine {
		return &clusterv1.Machine{
			ObjectMeta: metav1.ObjectMeta{Name: "m", Labels: machineLabels(ms), Annotations: map[string]string{"note": "x", "other": "kept"}},
			Spec:       clusterv1.MachineSpec{Deletion: clusterv1.MachineDeletionSpec{NodeDrainTimeoutSeconds: i32(60)}},
		}
	}
	now := metav1.Now()
	cases := []struct {
		name   string
		mutate func(*clusterv1.Machine)
		// check runs on the result; nil means no change is wanted.
		check func(Gomega, *clusterv1.Machine)
	}{
		{name: "up to date: no patch", mutate: func(*clusterv1.Machine) {}},
		{name: "a label missing", mutate: func(m *clusterv1.Machine) { delete(m.Labels, "tier") },
			check: func(g Gomega, m *clusterv1.Machine) { g.Expect(m.Labels).To(HaveKeyWithValue("tier", "gold")) }},
		{name: "a label changed", mutate: func(m *clusterv1.Machine) { m.Labels["pool"] = "b" },
			check: func(g Gomega, m *clusterv1.Machine) { g.Expect(m.Labels).To(HaveKeyWithValue("pool", "a")) }},
		{name: "labels of others stay", mutate: func(m *clusterv1.Machine) { m.Labels["theirs"] = "v"; delete(m.Labels, "tier") },
			check: func(g Gomega, m *clusterv1.Machine) { g.Expect(m.Labels).To(HaveKeyWithValue("theirs", "v")) }},
		{name: "an annotation missing", mutate: func(m *clusterv1.Machine) { m.Annotations = nil },
			check: func(g Gomega, m *clusterv1.Machine) {
				g.Expect(m.Annotations).To(Equal(map[string]string{"note": "x"}))
			}},
		{name: "the drain timeout changed", mutate: func(m *clusterv1.Machine) { m.Spec.Deletion.NodeDrainTimeoutSeconds = i32(5) },
			check: func(g Gomega, m *clusterv1.Machine) {
				g.Expect(*m.Spec.Deletion.NodeDrainTimeoutSeconds).To(BeEquivalentTo(60))
			}},
		{name: "a timeout the template does not set goes", mutate: func(m *clusterv1.Machine) { m.Spec.Deletion.NodeDeletionTimeoutSeconds = i32(5) },
			check: func(g Gomega, m *clusterv1.Machine) { g.Expect(m.Spec.Deletion.NodeDeletionTimeoutSeconds).To(BeNil()) }},
		{name: "deleting: labels are left alone", mutate: func(m *clusterv1.Machine) { m.DeletionTimestamp = &now; delete(m.Labels, "tier") }},
		{name: "deleting: timeouts still follow", mutate: func(m *clusterv1.Machine) { m.DeletionTimestamp = &now; m.Spec.Deletion.NodeDrainTimeoutSeconds = nil },
			check: func(g Gomega, m *clusterv1.Machine) {
				g.Expect(*m.Spec.Deletion.NodeDrainTimeoutSeconds).To(BeEquivalentTo(60))
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			m := upToDate()
			tc.mutate(m)
			before := m.DeepCopy()
			got := desiredInPlace(ms, m)
			g.Expect(m).To(Equal(before), "the input is not changed")
			if tc.check == nil {
				g.Expect(got).To(BeNil())
				return
			}
			g.Expect(got).NotTo(BeNil())
			tc.check(g, got)
			g.Expect(desiredInPlace(ms, got)).To(BeNil(), "one patch is enough")
		})
	}
}
