// Package mdutil holds MachineDeployment rules that several controllers share:
// the template revision hash and the rolling-update arithmetic.
package mdutil

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/rand"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// TemplateHash is the revision of md's Machine template: a hash of the
// template's rollout fields (see RolloutFields), salted with
// spec.rollout.after once that time has passed, so that passing it starts a
// rollout of every Machine made before.
func TemplateHash(md *clusterv1.MachineDeployment, now time.Time) string {
	data, err := json.Marshal(RolloutFields(&md.Spec.Template))
	if err != nil {
		panic(err) // a MachineTemplateSpec always marshals
	}
	h := fnv.New32a()
	_, _ = h.Write(data)
	if after := md.Spec.Rollout.After; !after.IsZero() && !now.Before(after.Time) {
		_, _ = fmt.Fprintf(h, "rollout.after=%s", after.UTC().Format(time.RFC3339))
	}
	return rand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}

// RolloutFields copies a Machine template without the fields that change
// existing Machines in place, as upstream propagates them: the labels and
// annotations, and the Node drain, volume detach and deletion timeouts. What
// is left is what only new Machines can take, so a change there is a new
// revision and a change elsewhere is not.
func RolloutFields(tmpl *clusterv1.MachineTemplateSpec) *clusterv1.MachineTemplateSpec {
	out := tmpl.DeepCopy()
	out.ObjectMeta = clusterv1.ObjectMeta{}
	out.Spec.Deletion.NodeDrainTimeoutSeconds = nil
	out.Spec.Deletion.NodeVolumeDetachTimeoutSeconds = nil
	out.Spec.Deletion.NodeDeletionTimeoutSeconds = nil
	return out
}

// Replicas returns spec.replicas, defaulting to 1.
func Replicas(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}

// SurgeAndUnavailable resolves maxSurge (rounded up) and maxUnavailable
// (rounded down) against replicas. Unset means maxSurge 1 and maxUnavailable
// 0; both zero would block a rollout, so maxSurge becomes 1.
func SurgeAndUnavailable(md *clusterv1.MachineDeployment) (surge, unavailable int32, err error) {
	replicas := int(Replicas(md.Spec.Replicas))
	ru := md.Spec.Rollout.Strategy.RollingUpdate
	surgeVal := intstr.FromInt32(1)
	if ru.MaxSurge != nil {
		surgeVal = *ru.MaxSurge
	}
	unavailableVal := intstr.FromInt32(0)
	if ru.MaxUnavailable != nil {
		unavailableVal = *ru.MaxUnavailable
	}
	s, err := intstr.GetScaledValueFromIntOrPercent(&surgeVal, replicas, true)
	if err != nil {
		return 0, 0, fmt.Errorf("spec.rollout.strategy.rollingUpdate.maxSurge: %w", err)
	}
	u, err := intstr.GetScaledValueFromIntOrPercent(&unavailableVal, replicas, false)
	if err != nil {
		return 0, 0, fmt.Errorf("spec.rollout.strategy.rollingUpdate.maxUnavailable: %w", err)
	}
	if u > replicas {
		u = replicas
	}
	if s == 0 && u == 0 {
		s = 1
	}
	return clamp(s), clamp(u), nil
}

func clamp(v int) int32 {
	if v > math.MaxInt32 {
		return math.MaxInt32
	}
	return int32(v) //nolint:gosec // bounded above
}
