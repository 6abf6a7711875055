package v1beta1

import (
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/conversion"
	"sigs.k8s.io/randfill"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
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
		{"KubeadmConfig", &KubeadmConfig{}, &bootstrapv1.KubeadmConfig{}},
		{"KubeadmConfigTemplate", &KubeadmConfigTemplate{}, &bootstrapv1.KubeadmConfigTemplate{}},
	}
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			roundtrip.Test(t, tc.spoke, tc.hub, GroupVersion.WithKind(tc.kind), bootstrapv1.GroupVersion.WithKind(tc.kind),
				func(d *Duration, c randfill.Continue) { *d = Duration(roundtrip.Duration(c)) })
		})
	}
}
