package kubernetescluster

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
	"github.com/podcluster/podcluster/internal/conditions"
)

// setStatus computes the KubernetesCluster's status from what the reconcile
// observed. It makes no API calls and is table-tested.
func setStatus(s *scope) {
	kc := s.kc
	gen := kc.Generation
	kc.Status.ObservedGeneration = gen

	conditions.Set(&kc.Status.Conditions, gen, pausedCondition(s.paused))
	if s.paused {
		return // a paused KubernetesCluster reports nothing else new
	}
	deleting := !kc.DeletionTimestamp.IsZero()
	if s.observed || deleting {
		conditions.Set(&kc.Status.Conditions, gen, serviceReadyCondition(s))
		conditions.Set(&kc.Status.Conditions, gen, readyCondition(kc))
	}
	if s.observed {
		kc.Status.FailureDomains = s.failureDomains
	}
	ep := kc.Spec.ControlPlaneEndpoint
	if s.service != nil && ep.Host != "" && ep.Port != 0 && !provisioned(kc) {
		t := true
		kc.Status.Initialization.Provisioned = &t
	}
	kc.Status.Phase = phaseOf(kc)
}

func pausedCondition(paused bool) metav1.Condition {
	if paused {
		return conditions.True(infrav1.KubernetesClusterPausedCondition, infrav1.KubernetesClusterPausedReason, "reconciliation is paused")
	}
	return conditions.False(infrav1.KubernetesClusterPausedCondition, infrav1.KubernetesClusterNotPausedReason, "")
}

func serviceReadyCondition(s *scope) metav1.Condition {
	const t = infrav1.KubernetesClusterServiceReadyCondition
	switch {
	case !s.kc.DeletionTimestamp.IsZero():
		msg := s.deleteWait
		if msg == "" {
			msg = "the Service is deleted"
		}
		return conditions.False(t, infrav1.KubernetesClusterServiceReadyDeletingReason, msg)
	case s.serviceError != "":
		return conditions.False(t, infrav1.KubernetesClusterServiceReadyFailedReason, s.serviceError)
	case s.serviceWait != "":
		return conditions.False(t, infrav1.KubernetesClusterServiceReadyNoEndpointReason, s.serviceWait)
	case s.service == nil:
		return conditions.False(t, infrav1.KubernetesClusterServiceReadyNoEndpointReason,
			fmt.Sprintf("waiting for Service %s to be created", ServiceName(s.clusterName)))
	case s.noEndpoint != "":
		return conditions.False(t, infrav1.KubernetesClusterServiceReadyNoEndpointReason, s.noEndpoint)
	case s.mismatch != "":
		return conditions.False(t, infrav1.KubernetesClusterServiceReadyEndpointMismatchReason, s.mismatch)
	}
	return conditions.True(t, infrav1.KubernetesClusterServiceReadyReason, "")
}

// readyCondition summarises: the Service provides the endpoint, and the
// endpoint is known.
func readyCondition(kc *infrav1.KubernetesCluster) metav1.Condition {
	const t = infrav1.KubernetesClusterReadyCondition
	if !kc.DeletionTimestamp.IsZero() {
		return conditions.False(t, infrav1.KubernetesClusterReadyDeletingReason, "the KubernetesCluster is being deleted")
	}
	svc := conditions.Get(kc.Status.Conditions, infrav1.KubernetesClusterServiceReadyCondition)
	ep := kc.Spec.ControlPlaneEndpoint
	switch {
	case svc == nil || svc.Status != metav1.ConditionTrue:
		msg := "ServiceReady is not True"
		if svc != nil && svc.Message != "" {
			msg = "ServiceReady: " + svc.Message
		}
		return conditions.False(t, infrav1.KubernetesClusterReadyWaitingForServiceReason, msg)
	case ep.Host == "" || ep.Port == 0:
		return conditions.False(t, infrav1.KubernetesClusterReadyWaitingForServiceReason, "controlPlaneEndpoint is not set yet")
	}
	return conditions.True(t, infrav1.KubernetesClusterReadyReason, "")
}

func phaseOf(kc *infrav1.KubernetesCluster) infrav1.KubernetesClusterPhase {
	switch {
	case !kc.DeletionTimestamp.IsZero():
		return infrav1.KubernetesClusterPhaseDeleting
	case provisioned(kc):
		return infrav1.KubernetesClusterPhaseProvisioned
	}
	return infrav1.KubernetesClusterPhaseProvisioning
}
