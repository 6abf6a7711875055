package mdutil

import (
	"testing"

	. "github.com/onsi/gomega"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// TestDefaultReplicas: replicas default to the autoscaler's min-size only
// where the autoscaler would take the object as a node group.
func TestDefaultReplicas(t *testing.T) {
	const minKey, maxKey = clusterv1.AutoscalerMinSizeAnnotation, clusterv1.AutoscalerMaxSizeAnnotation
	cases := []struct {
		name        string
		annotations map[string]string
		want        int32
	}{
		{"no annotations", nil, 1},
		{"min and max", map[string]string{minKey: "2", maxKey: "5"}, 2},
		{"min zero: scale from zero starts empty", map[string]string{minKey: "0", maxKey: "5"}, 0},
		{"min equal to max", map[string]string{minKey: "3", maxKey: "3"}, 3},
		{"min without max is no node group", map[string]string{minKey: "2"}, 1},
		{"max without min", map[string]string{maxKey: "5"}, 1},
		{"min above max", map[string]string{minKey: "6", maxKey: "5"}, 1},
		{"negative min", map[string]string{minKey: "-1", maxKey: "5"}, 1},
		{"min not a number", map[string]string{minKey: "two", maxKey: "5"}, 1},
		{"max not a number", map[string]string{minKey: "2", maxKey: "5.0"}, 1},
		{"min beyond int32", map[string]string{minKey: "4294967296", maxKey: "4294967297"}, 1},
		{"other annotations", map[string]string{"example.com/min-size": "4"}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(DefaultReplicas(tc.annotations)).To(Equal(tc.want))
		})
	}
}
