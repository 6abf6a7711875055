package kubeadmcontrolplane

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	controlplanev1 "github.com/podcluster/podcluster/api/controlplane/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/conditions"
	"github.com/podcluster/podcluster/internal/machinecount"
)

// setStatus computes the KubeadmControlPlane's status from the scope. Pure.
func setStatus(s *scope) {
	kcp := s.kcp
	gen := kcp.Generation
	st := &kcp.Status
	st.ObservedGeneration = gen
	if s.cluster != nil {
		// The scale subresource reads the selector from here.
		st.Selector = selectorFor(s.cluster.Name)
	}
	// Counters are written even while paused: they describe Machines that
	// exist, not decisions the controller made.
	c := machinecount.Count(s.machines)
	setReplicas(st, c)

	if s.paused {
		conditions.Set(&st.Conditions, gen, conditions.True(controlplanev1.KubeadmControlPlanePausedCondition, controlplanev1.KubeadmControlPlanePausedReason, "reconciliation is paused"))
		return
	}
	conditions.Set(&st.Conditions, gen, conditions.False(controlplanev1.KubeadmControlPlanePausedCondition, controlplanev1.KubeadmControlPlaneNotPausedReason, ""))

	want := desiredReplicas(kcp)
	conditions.Set(&st.Conditions, gen, initializedCondition(s))
	conditions.Set(&st.Conditions, gen, availableCondition(s, c))
	conditions.Set(&st.Conditions, gen, machinesCondition(s.machines, clusterv1.ReadyCondition, controlplanev1.KubeadmControlPlaneMachinesReadyCondition,
		controlplanev1.KubeadmControlPlaneMachinesReadyReason, controlplanev1.KubeadmControlPlaneMachinesNotReadyReason, controlplanev1.KubeadmControlPlaneMachinesReadyNoReplicasReason))
	conditions.Set(&st.Conditions, gen, machinesCondition(s.machines, clusterv1.UpToDateCondition, controlplanev1.KubeadmControlPlaneMachinesUpToDateCondition,
		controlplanev1.KubeadmControlPlaneMachinesUpToDateReason, controlplanev1.KubeadmControlPlaneMachinesNotUpToDateReason, controlplanev1.KubeadmControlPlaneMachinesUpToDateNoReplicasReason))
	conditions.Set(&st.Conditions, gen, scalingUpCondition(s, c, want))
	conditions.Set(&st.Conditions, gen, scalingDownCondition(s, c, want))
	conditions.Set(&st.Conditions, gen, rollingOutCondition(s))
	conditions.Set(&st.Conditions, gen, remediatingCondition(s))
	if s.etcd != nil {
		cond, _ := etcdConditions(s.machines, s.etcd)
		conditions.Set(&st.Conditions, gen, cond)
	}
	conditions.Set(&st.Conditions, gen, deletingCondition(s, c))
}

// setReplicas writes the counters, the versions and their v1beta1 copies.
func setReplicas(st *controlplanev1.KubeadmControlPlaneStatus, c machinecount.Counts) {
	st.Replicas = &c.Replicas
	st.ReadyReplicas = &c.Ready
	st.AvailableReplicas = &c.Available
	st.UpToDateReplicas = &c.UpToDate
	st.Versions = c.Versions
	// The deprecated field is still written: older clients read it.
	st.Version = "" //nolint:staticcheck // written for older clients, as upstream does
	if len(c.Versions) > 0 {
		st.Version = c.Versions[0].Version //nolint:staticcheck // as above
	}
	if st.Deprecated == nil {
		st.Deprecated = &controlplanev1.KubeadmControlPlaneDeprecatedStatus{}
	}
	if st.Deprecated.V1Beta1 == nil {
		st.Deprecated.V1Beta1 = &controlplanev1.KubeadmControlPlaneV1Beta1DeprecatedStatus{}
	}
	st.Deprecated.V1Beta1.ReadyReplicas = c.Ready
	st.Deprecated.V1Beta1.UpdatedReplicas = c.UpToDate
	st.Deprecated.V1Beta1.UnavailableReplicas = max(c.Replicas-c.Available, 0)
}

func initializedCondition(s *scope) metav1.Condition {
	if initialized(s.kcp) {
		return conditions.True(controlplanev1.KubeadmControlPlaneInitializedCondition, controlplanev1.KubeadmControlPlaneInitializedReason, "")
	}
	msg := "waiting for the first control-plane Machine to register its Node"
	if s.infraWaiting != "" {
		msg = s.infraWaiting
	}
	return conditions.False(controlplanev1.KubeadmControlPlaneInitializedCondition, controlplanev1.KubeadmControlPlaneNotInitializedReason, msg)
}

// availableCondition: the control plane serves once it is initialized and a
// Machine not being deleted is Ready. With etcd membership this will also
// require etcd quorum, as upstream does.
func availableCondition(s *scope, c machinecount.Counts) metav1.Condition {
	if s.kcp.DeletionTimestamp != nil {
		return conditions.False(controlplanev1.KubeadmControlPlaneAvailableCondition, controlplanev1.KubeadmControlPlaneNotAvailableReason, "the control plane is being deleted")
	}
	if !initialized(s.kcp) {
		return conditions.False(controlplanev1.KubeadmControlPlaneAvailableCondition, controlplanev1.KubeadmControlPlaneNotAvailableReason, "the control plane is not initialized")
	}
	for _, m := range s.machines {
		if m.DeletionTimestamp.IsZero() && conditions.IsTrue(m.Status.Conditions, clusterv1.ReadyCondition) {
			return conditions.True(controlplanev1.KubeadmControlPlaneAvailableCondition, controlplanev1.KubeadmControlPlaneAvailableReason, "")
		}
	}
	return conditions.False(controlplanev1.KubeadmControlPlaneAvailableCondition, controlplanev1.KubeadmControlPlaneNotAvailableReason,
		fmt.Sprintf("none of the %d control-plane Machines is Ready", c.Active))
}

// machinesCondition summarises one condition over the Machines, with
// noneReason when there are none (nothing is wrong), otherwise as
// machinecount.Aggregate does for every owner of Machines.
func machinesCondition(machines []*clusterv1.Machine, from, to, goodReason, badReason, noneReason string) metav1.Condition {
	if len(machines) == 0 {
		return conditions.True(to, noneReason, "")
	}
	return machinecount.Aggregate(machines, from, to, goodReason, badReason)
}

// scalingUpCondition compares the Machines not being deleted with
// spec.replicas, and says what the next Machine waits for.
func scalingUpCondition(s *scope, c machinecount.Counts, want int32) metav1.Condition {
	if c.Active >= want {
		return conditions.False(controlplanev1.KubeadmControlPlaneScalingUpCondition, controlplanev1.KubeadmControlPlaneNotScalingUpReason, "")
	}
	msg := fmt.Sprintf("scaling up from %d to %d replicas", c.Active, want)
	for _, why := range []string{s.templateErr, s.infraWaiting, s.scaleUpWaiting} {
		if why != "" {
			msg += "; " + why
			break
		}
	}
	return conditions.True(controlplanev1.KubeadmControlPlaneScalingUpCondition, controlplanev1.KubeadmControlPlaneScalingUpReason, msg)
}

// scalingDownCondition compares all Machines, including those being deleted,
// with spec.replicas: scaling down ends when they are gone.
func scalingDownCondition(s *scope, c machinecount.Counts, want int32) metav1.Condition {
	if s.kcp.DeletionTimestamp != nil || c.Replicas <= want {
		return conditions.False(controlplanev1.KubeadmControlPlaneScalingDownCondition, controlplanev1.KubeadmControlPlaneNotScalingDownReason, "")
	}
	msg := fmt.Sprintf("scaling down from %d to %d replicas", c.Replicas, want)
	if s.scaleDownWaiting != "" {
		msg += "; " + s.scaleDownWaiting
	}
	return conditions.True(controlplanev1.KubeadmControlPlaneScalingDownCondition, controlplanev1.KubeadmControlPlaneScalingDownReason, msg)
}

// deletingCondition says what a deleted control plane waits for.
func deletingCondition(s *scope, c machinecount.Counts) metav1.Condition {
	switch {
	case s.kcp.DeletionTimestamp.IsZero():
		return conditions.False(controlplanev1.KubeadmControlPlaneDeletingCondition, controlplanev1.KubeadmControlPlaneNotDeletingReason, "")
	case s.workersLeft > 0:
		return conditions.True(controlplanev1.KubeadmControlPlaneDeletingCondition, controlplanev1.KubeadmControlPlaneDeletingWaitingForWorkersDeletionReason,
			fmt.Sprintf("waiting for %d worker Machines to be deleted", s.workersLeft))
	case c.Replicas > 0:
		return conditions.True(controlplanev1.KubeadmControlPlaneDeletingCondition, controlplanev1.KubeadmControlPlaneDeletingWaitingForMachineDeletionReason,
			fmt.Sprintf("deleting %d control-plane Machines", c.Replicas))
	}
	return conditions.True(controlplanev1.KubeadmControlPlaneDeletingCondition, controlplanev1.KubeadmControlPlaneDeletingDeletionCompletedReason, "")
}
