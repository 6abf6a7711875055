package machinedeployment

import (
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/core/machinecount"
	"github.com/podcluster/podcluster/core/mdutil"
	"github.com/podcluster/podcluster/internal/conditions"
)

// setStatus computes the MachineDeployment's status from its MachineSets and
// Machines. Pure.
func setStatus(s *scope) {
	md := s.md
	gen := md.Generation
	st := &md.Status
	st.ObservedGeneration = gen
	if sel, err := metav1.LabelSelectorAsSelector(md.Spec.Selector.ToMetav1()); err == nil {
		st.Selector = sel.String()
	}
	counts := machinecount.Count(s.machines)
	st.Replicas = &counts.Replicas
	st.ReadyReplicas = &counts.Ready
	st.AvailableReplicas = &counts.Available
	st.UpToDateReplicas = &counts.UpToDate
	st.Versions = counts.Versions

	desired := mdutil.Replicas(md.Spec.Replicas)
	switch {
	case counts.Replicas < desired:
		st.Phase = string(clusterv1.MachineDeploymentPhaseScalingUp)
	case counts.Replicas > desired:
		st.Phase = string(clusterv1.MachineDeploymentPhaseScalingDown)
	default:
		st.Phase = string(clusterv1.MachineDeploymentPhaseRunning)
	}
	if st.Deprecated == nil {
		st.Deprecated = &clusterv1.MachineDeploymentDeprecatedStatus{}
	}
	if st.Deprecated.V1Beta1 == nil {
		st.Deprecated.V1Beta1 = &clusterv1.MachineDeploymentV1Beta1DeprecatedStatus{}
	}
	v1 := st.Deprecated.V1Beta1
	v1.UpdatedReplicas, v1.ReadyReplicas, v1.AvailableReplicas = counts.UpToDate, counts.Ready, counts.Available
	v1.UnavailableReplicas = max(0, desired-counts.Available)

	paused := s.paused || (md.Spec.Paused != nil && *md.Spec.Paused)
	if paused {
		conditions.Set(&st.Conditions, gen, conditions.True(clusterv1.PausedCondition, clusterv1.PausedReason, "reconciliation is paused"))
	} else {
		conditions.Set(&st.Conditions, gen, conditions.False(clusterv1.PausedCondition, clusterv1.NotPausedReason, ""))
	}

	_, unavailable, err := mdutil.SurgeAndUnavailable(md)
	if md.Spec.Rollout.Strategy.Type == clusterv1.OnDeleteMachineDeploymentStrategyType {
		unavailable = 0
	}
	switch {
	case s.strategyErr != "" || err != nil:
		msg := s.strategyErr
		if msg == "" {
			msg = err.Error()
		}
		conditions.Set(&st.Conditions, gen, conditions.False(clusterv1.AvailableCondition, "InvalidStrategy", msg))
	case counts.Available >= desired-unavailable:
		conditions.Set(&st.Conditions, gen, conditions.True(clusterv1.AvailableCondition, "Available", ""))
	default:
		conditions.Set(&st.Conditions, gen, conditions.False(clusterv1.AvailableCondition, "NotAvailable",
			fmt.Sprintf("%d of %d Machines are available; at least %d are needed", counts.Available, desired, desired-unavailable)))
	}

	var rolling []string
	for _, ms := range s.activeOld() {
		if size(ms) > 0 {
			rolling = append(rolling, fmt.Sprintf("%s (%d)", ms.Name, size(ms)))
		}
	}
	sort.Strings(rolling)
	if len(rolling) > 0 {
		conditions.Set(&st.Conditions, gen, conditions.True(clusterv1.RollingOutCondition, "RollingOut",
			"replacing Machines of older revisions: "+strings.Join(rolling, ", ")))
	} else {
		conditions.Set(&st.Conditions, gen, conditions.False(clusterv1.RollingOutCondition, "NotRollingOut", ""))
	}
	if counts.Active < desired {
		conditions.Set(&st.Conditions, gen, conditions.True(clusterv1.ScalingUpCondition, "ScalingUp",
			fmt.Sprintf("scaling up from %d to %d replicas", counts.Active, desired)))
	} else {
		conditions.Set(&st.Conditions, gen, conditions.False(clusterv1.ScalingUpCondition, "NotScalingUp", ""))
	}
	if counts.Replicas > desired && len(rolling) == 0 {
		conditions.Set(&st.Conditions, gen, conditions.True(clusterv1.ScalingDownCondition, "ScalingDown",
			fmt.Sprintf("scaling down from %d to %d replicas", counts.Replicas, desired)))
	} else {
		conditions.Set(&st.Conditions, gen, conditions.False(clusterv1.ScalingDownCondition, "NotScalingDown", ""))
	}
	conditions.Set(&st.Conditions, gen, machinecount.Aggregate(s.machines, clusterv1.ReadyCondition, clusterv1.MachineDeploymentMachinesReadyCondition, "Ready", "NotReady"))
	conditions.Set(&st.Conditions, gen, machinecount.Aggregate(s.machines, clusterv1.UpToDateCondition, clusterv1.MachineDeploymentMachinesUpToDateCondition, "UpToDate", "NotUpToDate"))
	if md.DeletionTimestamp.IsZero() {
		conditions.Set(&st.Conditions, gen, conditions.False(clusterv1.DeletingCondition, clusterv1.NotDeletingReason, ""))
	} else {
		conditions.Set(&st.Conditions, gen, conditions.True(clusterv1.DeletingCondition, clusterv1.DeletingReason,
			fmt.Sprintf("deleting %d MachineSets", len(s.all()))))
	}
}
