package v1beta1

import (
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"

	"sigs.k8s.io/controller-runtime/pkg/conversion"
	"sigs.k8s.io/randfill"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	conv "github.com/podcluster/podcluster/internal/conversion"
	"github.com/podcluster/podcluster/internal/conversion/roundtrip"
)

// TestRoundTrip converts random objects of every kind v1beta1 -> v1beta2 ->
// v1beta1 and v1beta2 -> v1beta1 -> v1beta2; nothing may change.
func TestRoundTrip(t *testing.T) {
	cases := []struct {
		kind  string
		spoke conversion.Convertible
		hub   conversion.Hub
	}{
		{"Cluster", &Cluster{}, &clusterv1.Cluster{}},
		{"Machine", &Machine{}, &clusterv1.Machine{}},
		{"MachineSet", &MachineSet{}, &clusterv1.MachineSet{}},
		{"MachineDeployment", &MachineDeployment{}, &clusterv1.MachineDeployment{}},
		{"MachineHealthCheck", &MachineHealthCheck{}, &clusterv1.MachineHealthCheck{}},
		{"MachinePool", &MachinePool{}, &clusterv1.MachinePool{}},
		{"MachineDrainRule", &MachineDrainRule{}, &clusterv1.MachineDrainRule{}},
	}
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			roundtrip.Test(t, tc.spoke, tc.hub, GroupVersion.WithKind(tc.kind), clusterv1.GroupVersion.WithKind(tc.kind),
				func(d *Duration, c randfill.Continue) { *d = Duration(roundtrip.Duration(c)) })
		})
	}
}

// TestKeptFieldsYieldToLaterChanges: a v1beta1 field kept in the annotation is
// restored only while the v1beta2 field it came from is unchanged; a change
// made through v1beta2 meanwhile wins over the stale copy.
func TestKeptFieldsYieldToLaterChanges(t *testing.T) {
	cases := []struct {
		name    string
		seconds int32
		want    Duration
	}{
		{"unchanged: as written in v1beta1", 60, "1m"},
		{"changed through v1beta2: the new value", 120, "2m0s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			spoke := &Machine{Spec: MachineSpec{ClusterName: "c", NodeDrainTimeout: ptr.To(Duration("1m"))}}
			hub := &clusterv1.Machine{}
			g.Expect(spoke.ConvertTo(hub)).To(Succeed())
			g.Expect(hub.Spec.Deletion.NodeDrainTimeoutSeconds).To(Equal(ptr.To[int32](60)))
			g.Expect(hub.Annotations).To(HaveKey(conv.DataAnnotation))

			hub.Spec.Deletion.NodeDrainTimeoutSeconds = ptr.To(tc.seconds)
			back := &Machine{}
			g.Expect(back.ConvertFrom(hub)).To(Succeed())
			g.Expect(back.Spec.NodeDrainTimeout).To(Equal(ptr.To(tc.want)))
			g.Expect(back.Annotations).NotTo(HaveKey(conv.DataAnnotation))
		})
	}
}
