package machineset

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/core/mdutil"
	"github.com/podcluster/podcluster/internal/conditions"
	"github.com/podcluster/podcluster/internal/machinecount"
)

// setStatus computes the MachineSet's status from its Machines. Pure.
func setStatus(s *scope) {
	ms := s.ms
	gen := ms.Generation
	st := &ms.Status
	st.ObservedGeneration = gen
	// The scale subresource reads the selector from here (labelSelectorPath),
	// for kubectl scale and autoscalers.
	if sel, err := selectorOf(ms); err == nil {
		st.Selector = sel.String()
	}
	// Counters are written even while paused: they describe Machines that
	// exist, not decisions the controller made.
	counts := machinecount.Count(s.machines)
	setReplicas(st, counts)

	if s.paused {
		conditions.Set(&st.Conditions, gen, conditions.True(clusterv1.PausedCondition, clusterv1.MachineSetPausedReason, "reconciliation is paused"))
		return
	}
	conditions.Set(&st.Conditions, gen, conditions.False(clusterv1.PausedCondition, clusterv1.MachineSetNotPausedReason, ""))

	want := mdutil.Replicas(ms.Spec.Replicas)
	conditions.Set(&st.Conditions, gen, scalingUpCondition(s, counts, want))
	conditions.Set(&st.Conditions, gen, scalingDownCondition(counts, want))
	conditions.Set(&st.Conditions, gen, machinecount.Aggregate(s.machines, clusterv1.ReadyCondition, clusterv1.MachineSetMachinesReadyCondition,
		clusterv1.MachineSetMachinesReadyReason, clusterv1.MachineSetMachinesReadyNotReadyReason))
	conditions.Set(&st.Conditions, gen, machinecount.Aggregate(s.machines, clusterv1.UpToDateCondition, clusterv1.MachineSetMachinesUpToDateCondition,
		clusterv1.MachineSetMachinesUpToDateReason, clusterv1.MachineSetMachinesUpToDateNotUpToDateReason))
	conditions.Set(&st.Conditions, gen, remediatingCondition(s.remediating))
	conditions.Set(&st.Conditions, gen, deletingCondition(ms, counts))
}

// setReplicas writes the counters, and their v1beta1 copies that older
// clients still read.
func setReplicas(st *clusterv1.MachineSetStatus, counts machinecount.Counts) {
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
	// Every owned Machine carries the template's labels, so all of them
	// count as fully labeled.
	st.Deprecated.V1Beta1.FullyLabeledReplicas = counts.Replicas
	st.Deprecated.V1Beta1.ReadyReplicas = counts.Ready
	st.Deprecated.V1Beta1.AvailableReplicas = counts.Available
}

// scalingUpCondition compares the Machines not being deleted with
// spec.replicas: a Machine on its way out is not one the set still has.
func scalingUpCondition(s *scope, counts machinecount.Counts, want int32) metav1.Condition {
	switch {
	case s.templateErr != "":
		// Checked first: while the template is broken, scaling up cannot
		// happen however many Machines are missing.
		return conditions.False(clusterv1.ScalingUpCondition, clusterv1.MachineSetScalingUpInvalidTemplateReason, s.templateErr)
	case counts.Active < want:
		// scale's own message is preferred: it also covers the OnDelete case
		// where the set deliberately does not grow.
		msg := s.scaleMessage
		if msg == "" {
			msg = fmt.Sprintf("scaling up from %d to %d replicas", counts.Active, want)
		}
		return conditions.True(clusterv1.ScalingUpCondition, clusterv1.MachineSetScalingUpReason, msg)
	}
	return conditions.False(clusterv1.ScalingUpCondition, clusterv1.MachineSetScalingUpNotScalingUpReason, "")
}

// scalingDownCondition compares all Machines, including those being
// deleted, with spec.replicas: scaling down ends when they are gone.
func scalingDownCondition(counts machinecount.Counts, want int32) metav1.Condition {
	if counts.Replicas > want {
		return conditions.True(clusterv1.ScalingDownCondition, clusterv1.MachineSetScalingDownReason,
			fmt.Sprintf("scaling down from %d to %d replicas", counts.Replicas, want))
	}
	return conditions.False(clusterv1.ScalingDownCondition, clusterv1.MachineSetScalingDownNotScalingDownReason, "")
}

// remediatingCondition names the Machines this reconcile deleted for
// remediation. It is True only on that reconcile: the next one skips
// Machines already being deleted, and scaling takes over from there.
func remediatingCondition(remediating []string) metav1.Condition {
	if len(remediating) > 0 {
		return conditions.True(clusterv1.RemediatingCondition, clusterv1.MachineSetRemediatingReason,
			"deleting Machines marked for remediation: "+strings.Join(remediating, ", "))
	}
	return conditions.False(clusterv1.RemediatingCondition, clusterv1.MachineSetRemediatingNotRemediatingReason, "")
}

// deletingCondition counts the Machines a deleted MachineSet still waits for.
func deletingCondition(ms *clusterv1.MachineSet, counts machinecount.Counts) metav1.Condition {
	if ms.DeletionTimestamp.IsZero() {
		return conditions.False(clusterv1.DeletingCondition, clusterv1.MachineSetNotDeletingReason, "")
	}
	return conditions.True(clusterv1.DeletingCondition, clusterv1.MachineSetDeletingReason,
		fmt.Sprintf("deleting %d Machines", counts.Replicas))
}
