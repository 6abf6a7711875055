package clusterresourceset

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	addonsv1 "github.com/podcluster/podcluster/api/addons/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/conditions"
)

// scope is what one reconcile of a set found.
type scope struct {
	set    *addonsv1.ClusterResourceSet
	paused bool
	// results, one per matching Cluster with an initialized control plane.
	results       []clusterResult
	internalError error
}

// setStatus writes the set's conditions from what the reconcile found.
func setStatus(s *scope) {
	set := s.set
	gen := set.Generation
	if s.paused {
		conditions.Set(&set.Status.Conditions, gen, conditions.True(addonsv1.ClusterResourceSetPausedCondition, clusterv1.PausedReason, ""))
		return
	}
	conditions.Set(&set.Status.Conditions, gen, conditions.False(addonsv1.ClusterResourceSetPausedCondition, clusterv1.NotPausedReason, ""))
	if !set.DeletionTimestamp.IsZero() {
		return
	}
	if c, ok := resourcesApplied(s.results, s.internalError); ok {
		conditions.Set(&set.Status.Conditions, gen, c)
	}
	set.Status.ObservedGeneration = gen
}

// resourcesApplied is the ResourcesApplied condition for the results of one
// reconcile. With no Cluster to apply to (none matches, or none has an
// initialized control plane yet) it has nothing to say: ok is false and the
// condition stays as it was.
func resourcesApplied(results []clusterResult, internalError error) (c metav1.Condition, ok bool) {
	if internalError != nil {
		return conditions.False(addonsv1.ResourcesAppliedCondition, addonsv1.ResourcesInternalErrorReason,
			fmt.Sprintf("Listing the matching Clusters failed: %v", internalError)), true
	}
	if len(results) == 0 {
		return c, false
	}
	var lines []string
	wrongType := false
	for _, r := range results {
		for _, f := range r.failures {
			lines = append(lines, fmt.Sprintf("Cluster %s: %s", r.cluster, f))
		}
		wrongType = wrongType || r.wrongSecretType
	}
	if len(lines) == 0 {
		return conditions.True(addonsv1.ResourcesAppliedCondition, addonsv1.ResourcesAppliedReason, ""), true
	}
	reason := addonsv1.ResourcesNotAppliedReason
	if wrongType {
		reason = addonsv1.ResourcesWrongSecretTypeReason
	}
	const maxLines = 10
	if len(lines) > maxLines {
		lines = append(lines[:maxLines], fmt.Sprintf("... and %d more", len(lines)-maxLines))
	}
	return conditions.False(addonsv1.ResourcesAppliedCondition, reason, strings.Join(lines, "\n")), true
}
