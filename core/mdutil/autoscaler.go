package mdutil

import (
	"strconv"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// DefaultReplicas is the spec.replicas a MachineDeployment or MachineSet
// created without one gets: the cluster autoscaler's min-size annotation when
// the object is a node group the autoscaler accepts (min-size and max-size
// both whole numbers, 0 <= min <= max), else 1. A min-size without a valid
// max-size is ignored, as the autoscaler ignores such a group: defaulting to
// it would size the pool by a bound nobody enforces.
func DefaultReplicas(annotations map[string]string) int32 {
	lo, okLo := sizeAnnotation(annotations, clusterv1.AutoscalerMinSizeAnnotation)
	hi, okHi := sizeAnnotation(annotations, clusterv1.AutoscalerMaxSizeAnnotation)
	if okLo && okHi && lo <= hi {
		return lo
	}
	return 1
}

// sizeAnnotation reads a non-negative whole number that fits spec.replicas.
func sizeAnnotation(annotations map[string]string, key string) (int32, bool) {
	v, ok := annotations[key]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil || n < 0 {
		return 0, false
	}
	return int32(n), true
}
