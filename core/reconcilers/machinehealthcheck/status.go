package machinehealthcheck

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/conditions"
)

// setStatus computes the MachineHealthCheck's status from the scope. Pure.
func setStatus(s *scope) {
	mhc := s.mhc
	gen := mhc.Generation
	st := &mhc.Status
	st.ObservedGeneration = gen
	if s.paused {
		// The counters keep describing the last Machines observed.
		conditions.Set(&st.Conditions, gen, conditions.True(clusterv1.PausedCondition, clusterv1.MachineHealthCheckPausedReason, "reconciliation is paused"))
		return
	}
	conditions.Set(&st.Conditions, gen, conditions.False(clusterv1.PausedCondition, clusterv1.MachineHealthCheckNotPausedReason, ""))
	if !s.observed {
		// The Machines or their Nodes could not be read: keep the last counts
		// rather than report zeros that are not true.
		return
	}
	expected := int32(len(s.targets))        //nolint:gosec // bounded by the number of Machines
	healthy := expected - int32(s.unhealthy) //nolint:gosec // at most len(s.targets)
	st.ExpectedMachines = &expected
	st.CurrentHealthy = &healthy
	remaining := s.allowance.remaining
	st.RemediationsAllowed = &remaining
	st.Targets = nil
	for _, t := range s.targets {
		st.Targets = append(st.Targets, t.machine.Name)
	}
	conditions.Set(&st.Conditions, gen, remediationAllowedCondition(s))
}

// remediationAllowedCondition says whether unhealthy Machines are handed on
// for remediation, and when not, why.
func remediationAllowedCondition(s *scope) metav1.Condition {
	if !s.allowance.allowed {
		return conditions.False(clusterv1.MachineHealthCheckRemediationAllowedCondition, s.allowance.reason, s.allowance.message)
	}
	return conditions.True(clusterv1.MachineHealthCheckRemediationAllowedCondition, clusterv1.MachineHealthCheckRemediationAllowedReason, "")
}

// healthCondition is a Machine's HealthCheckSucceeded condition for a verdict.
func healthCondition(h health) metav1.Condition {
	if h.healthy {
		return conditions.True(clusterv1.MachineHealthCheckSucceededCondition, clusterv1.MachineHealthCheckSucceededReason, "")
	}
	return conditions.False(clusterv1.MachineHealthCheckSucceededCondition, h.reason, "Health check failed: "+h.message)
}
