package machineset

import (
	"fmt"
	"strings"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/core/machinecount"
	"github.com/podcluster/podcluster/core/mdutil"
	"github.com/podcluster/podcluster/internal/conditions"
)

// setStatus computes the MachineSet's status from its Machines. Pure.
func setStatus(s *scope) {
	ms := s.ms
	gen := ms.Generation
	st := &ms.Status
	st.ObservedGeneration = gen
	if sel, err := selectorOf(ms); err == nil {
		st.Selector = sel.String()
	}
	counts := machinecount.Count(s.machines)
	st.Replicas = &counts.Replicas
	st.ReadyReplicas = &counts.Ready
	st.AvailableReplicas = &counts.Available
	st.UpToDateReplicas = &counts.UpToDate
	st.Versions = counts.Versions
	if st.Deprecated == nil {
		st.Deprecated = &clusterv1.MachineSetDeprecatedStatus{}
	}
	if st.Deprecated.V1Beta1 == nil {
		st.Deprecated.V1Beta1 = &clusterv1.MachineSetV1Beta1DeprecatedStatus{}
	}
	st.Deprecated.V1Beta1.FullyLabeledReplicas = counts.Replicas
	st.Deprecated.V1Beta1.ReadyReplicas = counts.Ready
	st.Deprecated.V1Beta1.AvailableReplicas = counts.Available

	if s.paused {
		conditions.Set(&st.Conditions, gen, conditions.True(clusterv1.PausedCondition, clusterv1.PausedReason, "reconciliation is paused"))
		return
	}
	conditions.Set(&st.Conditions, gen, conditions.False(clusterv1.PausedCondition, clusterv1.NotPausedReason, ""))

	want := mdutil.Replicas(ms.Spec.Replicas)
	switch {
	case s.templateErr != "":
		conditions.Set(&st.Conditions, gen, conditions.False(clusterv1.ScalingUpCondition, "InvalidTemplate", s.templateErr))
	case counts.Active < want:
		msg := s.scaleMessage
		if msg == "" {
			msg = fmt.Sprintf("scaling up from %d to %d replicas", counts.Active, want)
		}
		conditions.Set(&st.Conditions, gen, conditions.True(clusterv1.ScalingUpCondition, "ScalingUp", msg))
	default:
		conditions.Set(&st.Conditions, gen, conditions.False(clusterv1.ScalingUpCondition, "NotScalingUp", ""))
	}
	if counts.Replicas > want {
		conditions.Set(&st.Conditions, gen, conditions.True(clusterv1.ScalingDownCondition, "ScalingDown",
			fmt.Sprintf("scaling down from %d to %d replicas", counts.Replicas, want)))
	} else {
		conditions.Set(&st.Conditions, gen, conditions.False(clusterv1.ScalingDownCondition, "NotScalingDown", ""))
	}
	conditions.Set(&st.Conditions, gen, machinecount.Aggregate(s.machines, clusterv1.ReadyCondition, clusterv1.MachineSetMachinesReadyCondition, "Ready", "NotReady"))
	conditions.Set(&st.Conditions, gen, machinecount.Aggregate(s.machines, clusterv1.UpToDateCondition, clusterv1.MachineSetMachinesUpToDateCondition, "UpToDate", "NotUpToDate"))
	if len(s.remediating) > 0 {
		conditions.Set(&st.Conditions, gen, conditions.True(clusterv1.RemediatingCondition, "Remediating",
			"deleting Machines marked for remediation: "+strings.Join(s.remediating, ", ")))
	} else {
		conditions.Set(&st.Conditions, gen, conditions.False(clusterv1.RemediatingCondition, "NotRemediating", ""))
	}
	if ms.DeletionTimestamp.IsZero() {
		conditions.Set(&st.Conditions, gen, conditions.False(clusterv1.DeletingCondition, clusterv1.NotDeletingReason, ""))
	} else {
		conditions.Set(&st.Conditions, gen, conditions.True(clusterv1.DeletingCondition, clusterv1.DeletingReason,
			fmt.Sprintf("deleting %d Machines", counts.Replicas)))
	}
}
