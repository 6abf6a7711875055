package machinedeployment

import (
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/core/mdutil"
	"github.com/podcluster/podcluster/internal/conditions"
	"github.com/podcluster/podcluster/internal/machinecount"
)

// setStatus computes the MachineDeployment's status from its MachineSets and
// Machines. Pure. Unlike the other kinds, a paused MachineDeployment keeps
// reporting every condition: spec.paused stops rollouts, not observation.
func setStatus(s *scope) {
	md := s.md
	gen := md.Generation
	st := &md.Status
	st.ObservedGeneration = gen
	// The scale subresource reads the selector from here (labelSelectorPath).
	if sel, err := metav1.LabelSelectorAsSelector(md.Spec.Selector.ToMetav1()); err == nil {
		st.Selector = sel.String()
	}
	// Counted from the Machines themselves, not summed from MachineSet
	// statuses, which lag behind during a rollout.
	counts := machinecount.Count(s.machines)
	desired := mdutil.Replicas(md.Spec.Replicas)
	setReplicas(st, counts, desired)
	st.Phase = string(phaseOf(counts, desired))

	conditions.Set(&st.Conditions, gen, pausedCondition(s))
	conditions.Set(&st.Conditions, gen, availableCondition(s, counts, desired))
	// RollingOut and ScalingDown share the list of old revisions: removing
	// old Machines is rolling out, not scaling down.
	old := oldRevisions(s)
	conditions.Set(&st.Conditions, gen, rollingOutCondition(old))
	conditions.Set(&st.Conditions, gen, scalingUpCondition(counts, desired))
	conditions.Set(&st.Conditions, gen, scalingDownCondition(counts, desired, len(old) > 0))
	conditions.Set(&st.Conditions, gen, machinecount.Aggregate(s.machines, clusterv1.ReadyCondition, clusterv1.MachineDeploymentMachinesReadyCondition,
		clusterv1.MachineDeploymentMachinesReadyReason, clusterv1.MachineDeploymentMachinesReadyNotReadyReason))
	conditions.Set(&st.Conditions, gen, machinecount.Aggregate(s.machines, clusterv1.UpToDateCondition, clusterv1.MachineDeploymentMachinesUpToDateCondition,
		clusterv1.MachineDeploymentMachinesUpToDateReason, clusterv1.MachineDeploymentMachinesUpToDateNotUpToDateReason))
	conditions.Set(&st.Conditions, gen, deletingCondition(s))
}

// setReplicas writes the counters, and their v1beta1 copies that older
// clients still read.
func setReplicas(st *clusterv1.MachineDeploymentStatus, counts machinecount.Counts, desired int32) {
	st.Replicas = &counts.Replicas
	st.ReadyReplicas = &counts.Ready
	st.AvailableReplicas = &counts.Available
	st.UpToDateReplicas = &counts.UpToDate
	st.Versions = counts.Versions
	if st.Deprecated == nil {
		st.Deprecated = &clusterv1.MachineDeploymentDeprecatedStatus{}
	}
	if st.Deprecated.V1Beta1 == nil {
		st.Deprecated.V1Beta1 = &clusterv1.MachineDeploymentV1Beta1DeprecatedStatus{}
	}
	v1 := st.Deprecated.V1Beta1
	v1.UpdatedReplicas, v1.ReadyReplicas, v1.AvailableReplicas = counts.UpToDate, counts.Ready, counts.Available
	// Clamped at zero: during a surge more Machines can be available than
	// desired.
	v1.UnavailableReplicas = max(0, desired-counts.Available)
}

// phaseOf is v1beta1's phase. It compares all Machines, including those
// being deleted, so a scale-down reads ScalingDown until they are gone.
func phaseOf(counts machinecount.Counts, desired int32) clusterv1.MachineDeploymentPhase {
	switch {
	case counts.Replicas < desired:
		return clusterv1.MachineDeploymentPhaseScalingUp
	case counts.Replicas > desired:
		return clusterv1.MachineDeploymentPhaseScalingDown
	}
	return clusterv1.MachineDeploymentPhaseRunning
}

// pausedCondition is True for spec.paused as well as for the annotation or a
// paused Cluster: to a user, all three mean nothing rolls out.
func pausedCondition(s *scope) metav1.Condition {
	if s.paused || (s.md.Spec.Paused != nil && *s.md.Spec.Paused) {
		return conditions.True(clusterv1.PausedCondition, clusterv1.MachineDeploymentPausedReason, "reconciliation is paused")
	}
	return conditions.False(clusterv1.PausedCondition, clusterv1.MachineDeploymentNotPausedReason, "")
}

// availableCondition is True while at least replicas-maxUnavailable Machines
// are Available, the guarantee a RollingUpdate keeps.
func availableCondition(s *scope, counts machinecount.Counts, desired int32) metav1.Condition {
	md := s.md
	// Resolved here as well as in rollout: rollout does not run while
	// paused, yet a bad strategy must still show.
	_, unavailable, err := mdutil.SurgeAndUnavailable(md)
	// OnDelete makes no availability promise, so every Machine is needed.
	if md.Spec.Rollout.Strategy.Type == clusterv1.OnDeleteMachineDeploymentStrategyType {
		unavailable = 0
	}
	switch {
	case s.clusterMissing:
		return conditions.False(clusterv1.AvailableCondition, clusterv1.MachineDeploymentAvailableNotAvailableReason,
			fmt.Sprintf("Cluster missing: spec.clusterName names Cluster %q, which does not exist in namespace %s; no Machine is made until it does",
				md.Spec.ClusterName, md.Namespace))
	case s.strategyErr != "" || err != nil:
		msg := s.strategyErr
		if msg == "" {
			msg = err.Error()
		}
		return conditions.False(clusterv1.AvailableCondition, clusterv1.MachineDeploymentAvailableInvalidStrategyReason, msg)
	case counts.Available >= desired-unavailable:
		return conditions.True(clusterv1.AvailableCondition, clusterv1.MachineDeploymentAvailableReason, "")
	}
	return conditions.False(clusterv1.AvailableCondition, clusterv1.MachineDeploymentAvailableNotAvailableReason,
		fmt.Sprintf("%d of %d Machines are available; at least %d are needed", counts.Available, desired, desired-unavailable))
}

// oldRevisions describes the MachineSets of older revisions that still have
// or will have Machines, as "name (size)", sorted so the message is stable.
func oldRevisions(s *scope) []string {
	var old []string
	for _, ms := range s.activeOld() {
		if size(ms) > 0 {
			old = append(old, fmt.Sprintf("%s (%d)", ms.Name, size(ms)))
		}
	}
	sort.Strings(old)
	return old
}

// rollingOutCondition is True while old revisions have Machines. It looks at
// MachineSets rather than Machines' UpToDate, so an OnDelete rollout waiting
// for the user to delete Machines reads as rolling out too.
func rollingOutCondition(old []string) metav1.Condition {
	if len(old) > 0 {
		return conditions.True(clusterv1.RollingOutCondition, clusterv1.MachineDeploymentRollingOutReason,
			"replacing Machines of older revisions: "+strings.Join(old, ", "))
	}
	return conditions.False(clusterv1.RollingOutCondition, clusterv1.MachineDeploymentRollingOutNotRollingOutReason, "")
}

// scalingUpCondition compares the Machines not being deleted with
// spec.replicas, so a Machine on its way out already counts as missing.
func scalingUpCondition(counts machinecount.Counts, desired int32) metav1.Condition {
	if counts.Active < desired {
		return conditions.True(clusterv1.ScalingUpCondition, clusterv1.MachineDeploymentScalingUpReason,
			fmt.Sprintf("scaling up from %d to %d replicas", counts.Active, desired))
	}
	return conditions.False(clusterv1.ScalingUpCondition, clusterv1.MachineDeploymentScalingUpNotScalingUpReason, "")
}

// scalingDownCondition is True when there are more Machines than wanted and
// no rollout explains it: maxSurge Machines during a rollout are expected.
func scalingDownCondition(counts machinecount.Counts, desired int32, rollingOut bool) metav1.Condition {
	if counts.Replicas > desired && !rollingOut {
		return conditions.True(clusterv1.ScalingDownCondition, clusterv1.MachineDeploymentScalingDownReason,
			fmt.Sprintf("scaling down from %d to %d replicas", counts.Replicas, desired))
	}
	return conditions.False(clusterv1.ScalingDownCondition, clusterv1.MachineDeploymentScalingDownNotScalingDownReason, "")
}

// deletingCondition counts the MachineSets a deleted MachineDeployment
// still waits for; their Machines are the MachineSets' to count.
func deletingCondition(s *scope) metav1.Condition {
	if s.md.DeletionTimestamp.IsZero() {
		return conditions.False(clusterv1.DeletingCondition, clusterv1.MachineDeploymentNotDeletingReason, "")
	}
	return conditions.True(clusterv1.DeletingCondition, clusterv1.MachineDeploymentDeletingReason,
		fmt.Sprintf("deleting %d MachineSets", len(s.all())))
}
