package cluster

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/core/machinecount"
	"github.com/podcluster/podcluster/core/mdutil"
	"github.com/podcluster/podcluster/internal/conditions"
	"github.com/podcluster/podcluster/internal/contract"
)

// setStatus computes the Cluster's status from what the reconcile observed. Pure.
func setStatus(s *scope) {
	c := s.cluster
	gen := c.Generation
	st := &c.Status
	st.ObservedGeneration = gen
	if s.paused {
		conditions.Set(&st.Conditions, gen, conditions.True(clusterv1.PausedCondition, clusterv1.PausedReason, "reconciliation is paused"))
		return
	}
	conditions.Set(&st.Conditions, gen, conditions.False(clusterv1.PausedCondition, clusterv1.NotPausedReason, ""))

	setReplicas(s)
	conditions.Set(&st.Conditions, gen, infrastructureReady(s))
	if isTrue(st.Initialization.ControlPlaneInitialized) {
		conditions.Set(&st.Conditions, gen, conditions.True(clusterv1.ClusterControlPlaneInitializedCondition, "Initialized", ""))
	} else {
		msg := "waiting for the first control-plane Machine to get a Node"
		if c.Spec.ControlPlaneRef.IsDefined() {
			msg = fmt.Sprintf("waiting for %s %s to report status.initialization.controlPlaneInitialized", c.Spec.ControlPlaneRef.Kind, c.Spec.ControlPlaneRef.Name)
		}
		conditions.Set(&st.Conditions, gen, conditions.False(clusterv1.ClusterControlPlaneInitializedCondition, "NotInitialized", msg))
	}
	conditions.Set(&st.Conditions, gen, controlPlaneAvailable(s))
	conditions.Set(&st.Conditions, gen, workersAvailable(s))
	if c.DeletionTimestamp.IsZero() {
		conditions.Set(&st.Conditions, gen, conditions.False(clusterv1.DeletingCondition, clusterv1.NotDeletingReason, ""))
	} else {
		conditions.Set(&st.Conditions, gen, conditions.True(clusterv1.DeletingCondition, clusterv1.DeletingReason, s.deletingMessage))
	}
	conditions.Set(&st.Conditions, gen, available(c))
	st.Phase = string(phaseOf(s))
}

func infrastructureReady(s *scope) metav1.Condition {
	c := s.cluster
	switch {
	case !c.Spec.InfrastructureRef.IsDefined():
		return conditions.True(clusterv1.ClusterInfrastructureReadyCondition, "NoInfrastructure", "")
	case s.infraMissing:
		return conditions.False(clusterv1.ClusterInfrastructureReadyCondition, "InfrastructureDoesNotExist",
			fmt.Sprintf("%s %s does not exist", c.Spec.InfrastructureRef.Kind, c.Spec.InfrastructureRef.Name))
	}
	return conditions.Mirror(s.infra, clusterv1.ReadyCondition, clusterv1.ClusterInfrastructureReadyCondition, "NotReady",
		fmt.Sprintf("%s %s does not report a Ready condition yet", c.Spec.InfrastructureRef.Kind, c.Spec.InfrastructureRef.Name))
}

func controlPlaneAvailable(s *scope) metav1.Condition {
	c := s.cluster
	if c.Spec.ControlPlaneRef.IsDefined() {
		if s.controlPlaneMissing {
			return conditions.False(clusterv1.ClusterControlPlaneAvailableCondition, "ControlPlaneDoesNotExist",
				fmt.Sprintf("%s %s does not exist", c.Spec.ControlPlaneRef.Kind, c.Spec.ControlPlaneRef.Name))
		}
		return conditions.Mirror(s.controlPlane, clusterv1.AvailableCondition, clusterv1.ClusterControlPlaneAvailableCondition, "NotAvailable",
			fmt.Sprintf("%s %s does not report an Available condition yet", c.Spec.ControlPlaneRef.Kind, c.Spec.ControlPlaneRef.Name))
	}
	cp := s.controlPlaneMachines()
	for _, m := range cp {
		if conditions.IsTrue(m.Status.Conditions, clusterv1.AvailableCondition) {
			return conditions.True(clusterv1.ClusterControlPlaneAvailableCondition, "Available", "")
		}
	}
	if len(cp) == 0 {
		return conditions.False(clusterv1.ClusterControlPlaneAvailableCondition, "NoControlPlaneMachines", "the cluster has no control-plane Machine")
	}
	return conditions.False(clusterv1.ClusterControlPlaneAvailableCondition, "NotAvailable", "no control-plane Machine is Available yet")
}

func workersAvailable(s *scope) metav1.Condition {
	var bad []string
	for _, md := range s.machineDeployments {
		if !conditions.IsTrue(md.Status.Conditions, clusterv1.AvailableCondition) {
			bad = append(bad, "MachineDeployment "+md.Name)
		}
	}
	if len(bad) > 0 {
		return conditions.False(clusterv1.ClusterWorkersAvailableCondition, "NotAvailable", strings.Join(bad, ", ")+" not Available")
	}
	if len(s.machineDeployments) == 0 {
		return conditions.True(clusterv1.ClusterWorkersAvailableCondition, "NoWorkers", "")
	}
	return conditions.True(clusterv1.ClusterWorkersAvailableCondition, "Available", "")
}

// available summarises infrastructure, control plane, workers, deletion and
// the availability gates.
func available(c *clusterv1.Cluster) metav1.Condition {
	var bad []string
	check := func(t string, want metav1.ConditionStatus) {
		cond := conditions.Get(c.Status.Conditions, t)
		if cond == nil || cond.Status != want {
			msg := t + " is not " + string(want)
			if cond != nil && cond.Message != "" {
				msg = fmt.Sprintf("%s: %s", t, cond.Message)
			}
			bad = append(bad, msg)
		}
	}
	check(clusterv1.ClusterInfrastructureReadyCondition, metav1.ConditionTrue)
	check(clusterv1.ClusterControlPlaneAvailableCondition, metav1.ConditionTrue)
	check(clusterv1.ClusterWorkersAvailableCondition, metav1.ConditionTrue)
	check(clusterv1.DeletingCondition, metav1.ConditionFalse)
	for _, gate := range c.Spec.AvailabilityGates {
		want := metav1.ConditionTrue
		if gate.Polarity == clusterv1.NegativePolarityCondition {
			want = metav1.ConditionFalse
		}
		check(gate.ConditionType, want)
	}
	if len(bad) == 0 {
		return conditions.True(clusterv1.AvailableCondition, "Available", "")
	}
	return conditions.False(clusterv1.AvailableCondition, "NotAvailable", strings.Join(bad, "; "))
}

func phaseOf(s *scope) clusterv1.ClusterPhase {
	c := s.cluster
	switch {
	case !c.DeletionTimestamp.IsZero():
		return clusterv1.ClusterPhaseDeleting
	case isTrue(c.Status.Initialization.InfrastructureProvisioned) && c.Spec.ControlPlaneEndpoint.IsValid():
		return clusterv1.ClusterPhaseProvisioned
	case c.Spec.InfrastructureRef.IsDefined() || c.Spec.ControlPlaneRef.IsDefined():
		return clusterv1.ClusterPhaseProvisioning
	}
	return clusterv1.ClusterPhasePending
}

// setReplicas aggregates control-plane and worker replica counts.
func setReplicas(s *scope) {
	c := s.cluster
	cp := &clusterv1.ClusterControlPlaneStatus{}
	if s.controlPlane != nil {
		if r, err := contract.ReplicasOf(s.controlPlane); err == nil {
			cp.DesiredReplicas, cp.Replicas, cp.ReadyReplicas, cp.AvailableReplicas, cp.UpToDateReplicas =
				r.Desired, r.Current, r.Ready, r.Available, r.UpToDate
		}
		if v, err := contract.Versions(s.controlPlane); err == nil && len(v) > 0 {
			cp.Versions = v
		}
	} else if !c.Spec.ControlPlaneRef.IsDefined() {
		counts := machinecount.Count(s.controlPlaneMachines())
		cp.DesiredReplicas = &counts.Replicas
		cp.Replicas, cp.ReadyReplicas, cp.AvailableReplicas, cp.UpToDateReplicas = &counts.Replicas, &counts.Ready, &counts.Available, &counts.UpToDate
		cp.Versions = counts.Versions
	}
	c.Status.ControlPlane = cp

	var desired int32
	for _, md := range s.machineDeployments {
		desired += mdutil.Replicas(md.Spec.Replicas)
	}
	for _, ms := range s.machineSets {
		if owner := metav1.GetControllerOf(ms); owner == nil || owner.Kind != "MachineDeployment" {
			desired += mdutil.Replicas(ms.Spec.Replicas)
		}
	}
	workers := s.workerMachines()
	for _, m := range workers {
		if metav1.GetControllerOf(m) == nil {
			desired++ // a stand-alone worker Machine counts as wanted
		}
	}
	counts := machinecount.Count(workers)
	c.Status.Workers = &clusterv1.WorkersStatus{ReplicaCounts: clusterv1.ReplicaCounts{
		DesiredReplicas: &desired, Replicas: &counts.Replicas, ReadyReplicas: &counts.Ready,
		AvailableReplicas: &counts.Available, UpToDateReplicas: &counts.UpToDate, Versions: counts.Versions,
	}}
}
