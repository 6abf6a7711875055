// Package machinecount counts and summarises groups of Machines. The
// MachineSet, MachineDeployment, Cluster and KubeadmControlPlane controllers
// all report replica counters and aggregated conditions of the Machines they
// own, and they must agree on what counts as ready, available and up to
// date, so the rules live here once, shared by the core and the control-plane
// provider.
package machinecount

import (
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/version"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/conditions"
)

// Counts are the replica counters of a group of Machines.
type Counts struct {
	Replicas, Active, Ready, Available, UpToDate int32
	Versions                                     []clusterv1.StatusVersion
}

// Count counts Machines by their conditions and versions.
func Count(machines []*clusterv1.Machine) Counts {
	var c Counts
	versions := map[string]int32{}
	for _, m := range machines {
		// Replicas counts Machines being deleted too: they still exist, and
		// scaling down is not over until they are gone.
		c.Replicas++
		if m.DeletionTimestamp.IsZero() {
			c.Active++
		}
		if conditions.IsTrue(m.Status.Conditions, clusterv1.ReadyCondition) {
			c.Ready++
		}
		if conditions.IsTrue(m.Status.Conditions, clusterv1.AvailableCondition) {
			c.Available++
		}
		if conditions.IsTrue(m.Status.Conditions, clusterv1.UpToDateCondition) {
			c.UpToDate++
		}
		if m.Spec.Version != "" {
			versions[m.Spec.Version]++
		}
	}
	// Sorted so that an unchanged set of Machines gives an unchanged status
	// and no patch; map order would shuffle it. Oldest version first, as the
	// contract asks; an unparsable version sorts by its text after the
	// parsable ones.
	for v, n := range versions {
		c.Versions = append(c.Versions, clusterv1.StatusVersion{Version: v, Replicas: n})
	}
	sort.Slice(c.Versions, func(i, j int) bool {
		a, errA := version.ParseGeneric(c.Versions[i].Version)
		b, errB := version.ParseGeneric(c.Versions[j].Version)
		switch {
		case errA == nil && errB == nil && !a.EqualTo(b):
			return a.LessThan(b)
		case (errA == nil) != (errB == nil):
			return errA == nil
		}
		return c.Versions[i].Version < c.Versions[j].Version
	})
	return c
}

// Aggregate summarises one condition over Machines: True when all are True
// (also when there are none: nothing is wrong), otherwise False naming the
// Machines that are not. A missing condition counts as not True.
func Aggregate(machines []*clusterv1.Machine, from, to, goodReason, badReason string) metav1.Condition {
	var bad []string
	for _, m := range machines {
		if !conditions.IsTrue(m.Status.Conditions, from) {
			bad = append(bad, m.Name)
		}
	}
	if len(bad) == 0 {
		return conditions.True(to, goodReason, "")
	}
	// Sorted and capped at five names, so that the message stays short and
	// stable for large groups.
	sort.Strings(bad)
	if len(bad) > 5 {
		bad = append(bad[:5], fmt.Sprintf("and %d more", len(bad)-5))
	}
	return conditions.False(to, badReason, fmt.Sprintf("%s is not True on %s", from, strings.Join(bad, ", ")))
}
