package cluster

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/core/mdutil"
	"github.com/podcluster/podcluster/internal/conditions"
	"github.com/podcluster/podcluster/internal/contract"
	"github.com/podcluster/podcluster/internal/machinecount"
)

// setStatus computes the Cluster's status from what the reconcile observed. Pure.
func setStatus(s *scope) {
	c := s.cluster
	gen := c.Generation
	st := &c.Status
	st.ObservedGeneration = gen
	if s.paused {
		// A paused reconcile observed nothing: every other condition keeps
		// what the last unpaused reconcile reported.
		conditions.Set(&st.Conditions, gen, conditions.True(clusterv1.PausedCondition, clusterv1.ClusterPausedReason, "reconciliation is paused"))
		return
	}
	conditions.Set(&st.Conditions, gen, conditions.False(clusterv1.PausedCondition, clusterv1.ClusterNotPausedReason, ""))

	setReplicas(s)
	conditions.Set(&st.Conditions, gen, infrastructureReady(s))
	conditions.Set(&st.Conditions, gen, controlPlaneInitialized(c))
	conditions.Set(&st.Conditions, gen, controlPlaneAvailable(s))
	conditions.Set(&st.Conditions, gen, workersAvailable(s))
	conditions.Set(&st.Conditions, gen, deleting(s))
	// Available reads the conditions above from the status, so it comes last.
	conditions.Set(&st.Conditions, gen, available(c))
	st.Phase = string(phaseOf(s))
}

// infrastructureReady mirrors the infrastructure object's Ready condition.
// An object that reports no Ready condition at all (the contract makes it
// optional; upstream's in-memory provider has none) is followed by
// status.initialization.provisioned instead, as upstream's core does.
func infrastructureReady(s *scope) metav1.Condition {
	c := s.cluster
	ref := c.Spec.InfrastructureRef
	switch {
	case !ref.IsDefined():
		// Nothing to wait for: without this, such a Cluster could never be Available.
		return conditions.True(clusterv1.ClusterInfrastructureReadyCondition, clusterv1.ClusterInfrastructureReadyNoInfrastructureReason, "")
	case s.infraMissing:
		return conditions.False(clusterv1.ClusterInfrastructureReadyCondition, clusterv1.ClusterInfrastructureReadyDoesNotExistReason,
			fmt.Sprintf("%s %s does not exist", ref.Kind, ref.Name))
	}
	return mirrorOrFollow(s.infra, ref, clusterv1.ReadyCondition, clusterv1.ClusterInfrastructureReadyCondition,
		c.Status.Initialization.InfrastructureProvisioned, "status.initialization.provisioned",
		clusterv1.ClusterInfrastructureReadyReason, clusterv1.ClusterInfrastructureReadyNotReadyReason)
}

// mirrorOrFollow mirrors condition from of a provider object as condition to
// of the Cluster. An object that reports no such condition at all is followed
// by the contract's boolean instead (done, at field): True with trueReason
// once it is true, else False with falseReason saying what is awaited. While
// the object cannot be read or its condition is unreadable the result is
// Unknown, not False: that is not the provider saying no.
func mirrorOrFollow(obj *unstructured.Unstructured, ref clusterv1.ContractVersionedObjectReference, from, to string,
	done *bool, field, trueReason, falseReason string) metav1.Condition {
	if reportsNo(obj, from) {
		if isTrue(done) {
			return conditions.True(to, trueReason, "")
		}
		return conditions.False(to, falseReason,
			fmt.Sprintf("waiting for %s %s to report %s (it reports no %s condition)", ref.Kind, ref.Name, field, from))
	}
	article := "a"
	if strings.ContainsAny(from[:1], "AEIOU") {
		article = "an"
	}
	return conditions.Mirror(obj, from, to, falseReason,
		fmt.Sprintf("%s %s does not report %s %s condition yet", ref.Kind, ref.Name, article, from))
}

// controlPlaneInitialized follows status.initialization.controlPlaneInitialized,
// which reconcileControlPlane only ever sets to true.
func controlPlaneInitialized(c *clusterv1.Cluster) metav1.Condition {
	if isTrue(c.Status.Initialization.ControlPlaneInitialized) {
		return conditions.True(clusterv1.ClusterControlPlaneInitializedCondition, clusterv1.ClusterControlPlaneInitializedReason, "")
	}
	// The message names whoever the Cluster waits for, so a user knows where to look.
	msg := "waiting for the first control-plane Machine to get a Node"
	if ref := c.Spec.ControlPlaneRef; ref.IsDefined() {
		msg = fmt.Sprintf("waiting for %s %s to report status.initialization.controlPlaneInitialized", ref.Kind, ref.Name)
	}
	return conditions.False(clusterv1.ClusterControlPlaneInitializedCondition, clusterv1.ClusterControlPlaneInitializedNotInitializedReason, msg)
}

// controlPlaneAvailable mirrors the control-plane object's Available
// condition or, when the object reports none, follows its
// status.initialization.controlPlaneInitialized (the contract's fallback, as
// for the infrastructure). Without a control-plane provider it asks whether
// any control-plane Machine is Available.
func controlPlaneAvailable(s *scope) metav1.Condition {
	c := s.cluster
	if ref := c.Spec.ControlPlaneRef; ref.IsDefined() {
		if s.controlPlaneMissing {
			return conditions.False(clusterv1.ClusterControlPlaneAvailableCondition, clusterv1.ClusterControlPlaneAvailableDoesNotExistReason,
				fmt.Sprintf("%s %s does not exist", ref.Kind, ref.Name))
		}
		return mirrorOrFollow(s.controlPlane, ref, clusterv1.AvailableCondition, clusterv1.ClusterControlPlaneAvailableCondition,
			c.Status.Initialization.ControlPlaneInitialized, "status.initialization.controlPlaneInitialized",
			clusterv1.ClusterControlPlaneAvailableReason, clusterv1.ClusterControlPlaneAvailableNotAvailableReason)
	}
	// One Available Machine is enough: stand-alone control planes have no
	// quorum rule the core provider could know about.
	cp := s.controlPlaneMachines()
	for _, m := range cp {
		if conditions.IsTrue(m.Status.Conditions, clusterv1.AvailableCondition) {
			return conditions.True(clusterv1.ClusterControlPlaneAvailableCondition, clusterv1.ClusterControlPlaneAvailableReason, "")
		}
	}
	if len(cp) == 0 {
		return conditions.False(clusterv1.ClusterControlPlaneAvailableCondition, clusterv1.ClusterControlPlaneAvailableNoControlPlaneMachinesReason,
			"the cluster has no control-plane Machine")
	}
	return conditions.False(clusterv1.ClusterControlPlaneAvailableCondition, clusterv1.ClusterControlPlaneAvailableNotAvailableReason,
		"no control-plane Machine is Available yet")
}

// reportsNo says whether a provider object was read and has a readable list of
// conditions without one of that type: the case the contract's fallbacks are
// for. An object that could not be read, or whose conditions do not parse,
// is not such a case.
func reportsNo(u *unstructured.Unstructured, conditionType string) bool {
	if u == nil {
		return false
	}
	c, err := contract.Condition(u, conditionType)
	return err == nil && c == nil
}

// workersAvailable summarises the MachineDeployments' Available conditions.
// Stand-alone MachineSets and Machines are left out, as upstream does: they
// have no availability rule of their own.
func workersAvailable(s *scope) metav1.Condition {
	var bad []string
	for _, md := range s.machineDeployments {
		if !conditions.IsTrue(md.Status.Conditions, clusterv1.AvailableCondition) {
			bad = append(bad, "MachineDeployment "+md.Name)
		}
	}
	if len(bad) > 0 {
		return conditions.False(clusterv1.ClusterWorkersAvailableCondition, clusterv1.ClusterWorkersAvailableNotAvailableReason,
			strings.Join(bad, ", ")+" not Available")
	}
	// A cluster without workers is a valid (control-plane only) cluster.
	if len(s.machineDeployments) == 0 {
		return conditions.True(clusterv1.ClusterWorkersAvailableCondition, clusterv1.ClusterWorkersAvailableNoWorkersReason, "")
	}
	return conditions.True(clusterv1.ClusterWorkersAvailableCondition, clusterv1.ClusterWorkersAvailableReason, "")
}

// deleting reports which deletion step the Cluster waits for.
func deleting(s *scope) metav1.Condition {
	if s.cluster.DeletionTimestamp.IsZero() {
		return conditions.False(clusterv1.DeletingCondition, clusterv1.ClusterNotDeletingReason, "")
	}
	// No step set a reason on the reconcile that removes the finalizer.
	reason := s.deletingReason
	if reason == "" {
		reason = clusterv1.ClusterDeletingReason
	}
	return conditions.True(clusterv1.DeletingCondition, reason, s.deletingMessage)
}

// available summarises infrastructure, control plane, workers, deletion and
// the availability gates.
func available(c *clusterv1.Cluster) metav1.Condition {
	var bad []string
	// A condition that is missing counts as bad: a gate nobody reports on
	// must hold the Cluster back rather than be skipped.
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
		return conditions.True(clusterv1.AvailableCondition, clusterv1.ClusterAvailableReason, "")
	}
	return conditions.False(clusterv1.AvailableCondition, clusterv1.ClusterAvailableNotAvailableReason, strings.Join(bad, "; "))
}

// phaseOf follows upstream's Cluster phases. Provisioned needs the endpoint
// too: Machines cannot join a cluster they cannot reach.
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
	s.cluster.Status.ControlPlane = controlPlaneReplicas(s)
	s.cluster.Status.Workers = workerReplicas(s)
}

// controlPlaneReplicas copies the control-plane object's counters, or counts
// the control-plane Machines when there is no control-plane provider.
func controlPlaneReplicas(s *scope) *clusterv1.ClusterControlPlaneStatus {
	cp := &clusterv1.ClusterControlPlaneStatus{}
	switch {
	case s.controlPlane != nil:
		// The contract makes these fields optional: a provider without a
		// notion of replicas leaves the counters empty rather than zero.
		if r, err := contract.ReplicasOf(s.controlPlane); err == nil {
			cp.DesiredReplicas, cp.Replicas, cp.ReadyReplicas, cp.AvailableReplicas, cp.UpToDateReplicas =
				r.Desired, r.Current, r.Ready, r.Available, r.UpToDate
		}
		if v, err := contract.Versions(s.controlPlane); err == nil && len(v) > 0 {
			cp.Versions = v
		}
	case !s.cluster.Spec.ControlPlaneRef.IsDefined():
		// Each stand-alone control-plane Machine is one wanted replica.
		counts := machinecount.Count(s.controlPlaneMachines())
		cp.DesiredReplicas = &counts.Replicas
		cp.Replicas, cp.ReadyReplicas, cp.AvailableReplicas, cp.UpToDateReplicas = &counts.Replicas, &counts.Ready, &counts.Available, &counts.UpToDate
		cp.Versions = counts.Versions
	}
	// A referenced but missing control-plane object reports no counters at all.
	return cp
}

// workerReplicas adds up what the worker owners want and counts the worker
// Machines that exist.
func workerReplicas(s *scope) *clusterv1.WorkersStatus {
	var desired int32
	for _, md := range s.machineDeployments {
		desired += mdutil.Replicas(md.Spec.Replicas)
	}
	// A MachineDeployment's MachineSets are counted through the deployment;
	// counting them too would count each worker twice.
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
	return &clusterv1.WorkersStatus{ReplicaCounts: clusterv1.ReplicaCounts{
		DesiredReplicas: &desired, Replicas: &counts.Replicas, ReadyReplicas: &counts.Ready,
		AvailableReplicas: &counts.Available, UpToDateReplicas: &counts.UpToDate, Versions: counts.Versions,
	}}
}
