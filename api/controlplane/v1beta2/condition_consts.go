package v1beta2

import clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"

// These are the conditions and reasons of upstream's KubeadmControlPlane, with
// upstream's values. A few the controller does not set yet (CertificatesAvailable,
// the HealthUnknown and InternalError reasons of some conditions) are kept,
// unlike unused reasons elsewhere, because tools that read a
// KubeadmControlPlane's conditions already match on these strings.

// KubeadmControlPlane's Available condition and its reasons. The Cluster mirrors it as
// ControlPlaneAvailable.
const (
	// KubeadmControlPlaneAvailableCondition is True when the control plane can serve
	// requests: it is initialized, etcd has quorum and enough control-plane components are healthy.
	KubeadmControlPlaneAvailableCondition = clusterv1.AvailableCondition

	// KubeadmControlPlaneAvailableReason is used when the control plane is available.
	KubeadmControlPlaneAvailableReason = "Available"
	// KubeadmControlPlaneNotAvailableReason is used when the control plane is not available.
	KubeadmControlPlaneNotAvailableReason = "NotAvailable"
	// KubeadmControlPlaneAvailableInspectionFailedReason is used when the workload cluster
	// could not be inspected.
	KubeadmControlPlaneAvailableInspectionFailedReason = "InspectionFailed"
	// KubeadmControlPlaneAvailableInternalErrorReason is used when availability could not
	// be computed because of an unexpected error.
	KubeadmControlPlaneAvailableInternalErrorReason = clusterv1.InternalErrorReason
)

// KubeadmControlPlane's Initialized condition and its reasons.
const (
	// KubeadmControlPlaneInitializedCondition is True once the first control-plane Machine
	// has run kubeadm init and the API server answers. It never goes back to False.
	KubeadmControlPlaneInitializedCondition = "Initialized"

	// KubeadmControlPlaneInitializedReason is used when the control plane is initialized.
	KubeadmControlPlaneInitializedReason = "Initialized"
	// KubeadmControlPlaneNotInitializedReason is used while the control plane is not initialized.
	KubeadmControlPlaneNotInitializedReason = "NotInitialized"
)

// KubeadmControlPlane's CertificatesAvailable condition and its reasons.
const (
	// KubeadmControlPlaneCertificatesAvailableCondition is True once the cluster certificates
	// and the kubeconfig Secret exist (found or generated).
	KubeadmControlPlaneCertificatesAvailableCondition = "CertificatesAvailable"

	// KubeadmControlPlaneCertificatesAvailableReason is used when the certificates exist.
	KubeadmControlPlaneCertificatesAvailableReason = "Available"
	// KubeadmControlPlaneCertificatesNotAvailableReason is used when some certificates are
	// missing and cannot be generated.
	KubeadmControlPlaneCertificatesNotAvailableReason = "NotAvailable"
	// KubeadmControlPlaneCertificatesAvailableInternalErrorReason is used when the
	// certificates could not be read or generated because of an unexpected error.
	KubeadmControlPlaneCertificatesAvailableInternalErrorReason = clusterv1.InternalErrorReason
)

// KubeadmControlPlane's EtcdClusterHealthy condition and its reasons.
const (
	// KubeadmControlPlaneEtcdClusterHealthyCondition is True when every etcd member is
	// healthy and matches a control-plane Machine. It is only set when etcd is local.
	KubeadmControlPlaneEtcdClusterHealthyCondition = "EtcdClusterHealthy"

	// KubeadmControlPlaneEtcdClusterHealthyReason is used when the etcd cluster is healthy.
	KubeadmControlPlaneEtcdClusterHealthyReason = "Healthy"
	// KubeadmControlPlaneEtcdClusterNotHealthyReason is used when some etcd member is not healthy.
	KubeadmControlPlaneEtcdClusterNotHealthyReason = "NotHealthy"
	// KubeadmControlPlaneEtcdClusterHealthUnknownReason is used when the health of some
	// etcd member cannot be determined.
	KubeadmControlPlaneEtcdClusterHealthUnknownReason = "HealthUnknown"
	// KubeadmControlPlaneEtcdClusterInspectionFailedReason is used when etcd could not be inspected.
	KubeadmControlPlaneEtcdClusterInspectionFailedReason = "InspectionFailed"
)

// KubeadmControlPlane's ControlPlaneComponentsHealthy condition and its reasons.
const (
	// KubeadmControlPlaneControlPlaneComponentsHealthyCondition is True when the static Pods
	// of the control plane (kube-apiserver, kube-controller-manager, kube-scheduler and,
	// with local etcd, etcd) are healthy on every control-plane Machine.
	KubeadmControlPlaneControlPlaneComponentsHealthyCondition = "ControlPlaneComponentsHealthy"

	// KubeadmControlPlaneControlPlaneComponentsHealthyReason is used when every component is healthy.
	KubeadmControlPlaneControlPlaneComponentsHealthyReason = "Healthy"
	// KubeadmControlPlaneControlPlaneComponentsNotHealthyReason is used when some component is not healthy.
	KubeadmControlPlaneControlPlaneComponentsNotHealthyReason = "NotHealthy"
	// KubeadmControlPlaneControlPlaneComponentsHealthUnknownReason is used when the health
	// of some component cannot be determined.
	KubeadmControlPlaneControlPlaneComponentsHealthUnknownReason = "HealthUnknown"
	// KubeadmControlPlaneControlPlaneComponentsInspectionFailedReason is used when the
	// components could not be inspected.
	KubeadmControlPlaneControlPlaneComponentsInspectionFailedReason = "InspectionFailed"
	// KubeadmControlPlaneControlPlaneComponentsConnectionDownReason is used when the
	// workload cluster cannot be reached to inspect the components.
	KubeadmControlPlaneControlPlaneComponentsConnectionDownReason = "ConnectionDown"
)

// Conditions the KubeadmControlPlane sets on its Machines, one per control-plane component.
// They feed ControlPlaneComponentsHealthy and EtcdClusterHealthy.
const (
	// KubeadmControlPlaneMachineAPIServerPodHealthyCondition is True when the Machine's
	// kube-apiserver Pod is running and ready.
	KubeadmControlPlaneMachineAPIServerPodHealthyCondition = "APIServerPodHealthy"
	// KubeadmControlPlaneMachineControllerManagerPodHealthyCondition is True when the
	// Machine's kube-controller-manager Pod is running and ready.
	KubeadmControlPlaneMachineControllerManagerPodHealthyCondition = "ControllerManagerPodHealthy"
	// KubeadmControlPlaneMachineSchedulerPodHealthyCondition is True when the Machine's
	// kube-scheduler Pod is running and ready.
	KubeadmControlPlaneMachineSchedulerPodHealthyCondition = "SchedulerPodHealthy"
	// KubeadmControlPlaneMachineEtcdPodHealthyCondition is True when the Machine's etcd Pod
	// is running and ready.
	KubeadmControlPlaneMachineEtcdPodHealthyCondition = "EtcdPodHealthy"
	// KubeadmControlPlaneMachineEtcdMemberHealthyCondition is True when the Machine's etcd
	// member is healthy and part of the cluster.
	KubeadmControlPlaneMachineEtcdMemberHealthyCondition = "EtcdMemberHealthy"

	// KubeadmControlPlaneMachinePodRunningReason is used when a component Pod is running and ready.
	KubeadmControlPlaneMachinePodRunningReason = "Running"
	// KubeadmControlPlaneMachinePodProvisioningReason is used while a component Pod is starting.
	KubeadmControlPlaneMachinePodProvisioningReason = "Provisioning"
	// KubeadmControlPlaneMachinePodFailedReason is used when a component Pod has failed.
	KubeadmControlPlaneMachinePodFailedReason = "Failed"
	// KubeadmControlPlaneMachinePodDoesNotExistReason is used when a component Pod is missing.
	KubeadmControlPlaneMachinePodDoesNotExistReason = "DoesNotExist"
	// KubeadmControlPlaneMachinePodInspectionFailedReason is used when a component Pod
	// could not be inspected, for example because its Node is unreachable.
	KubeadmControlPlaneMachinePodInspectionFailedReason = "InspectionFailed"
	// KubeadmControlPlaneMachinePodConnectionDownReason is used when the workload
	// cluster cannot be reached to inspect a component Pod.
	KubeadmControlPlaneMachinePodConnectionDownReason = "ConnectionDown"
	// KubeadmControlPlaneMachineEtcdMemberHealthyReason is used when the etcd member is healthy.
	KubeadmControlPlaneMachineEtcdMemberHealthyReason = "Healthy"
	// KubeadmControlPlaneMachineEtcdMemberNotHealthyReason is used when the etcd member is not healthy.
	KubeadmControlPlaneMachineEtcdMemberNotHealthyReason = "NotHealthy"
	// KubeadmControlPlaneMachineEtcdMemberInspectionFailedReason is used when the etcd
	// member could not be inspected.
	KubeadmControlPlaneMachineEtcdMemberInspectionFailedReason = "InspectionFailed"
)

// KubeadmControlPlane's MachinesReady condition and its reasons.
const (
	// KubeadmControlPlaneMachinesReadyCondition summarizes the Ready conditions of the
	// control-plane Machines.
	KubeadmControlPlaneMachinesReadyCondition = "MachinesReady"

	// KubeadmControlPlaneMachinesReadyReason is used when every Machine is ready.
	KubeadmControlPlaneMachinesReadyReason = "Ready"
	// KubeadmControlPlaneMachinesNotReadyReason is used when some Machine is not ready.
	KubeadmControlPlaneMachinesNotReadyReason = "NotReady"
	// KubeadmControlPlaneMachinesReadyUnknownReason is used when the readiness of some
	// Machine is unknown.
	KubeadmControlPlaneMachinesReadyUnknownReason = "ReadyUnknown"
	// KubeadmControlPlaneMachinesReadyNoReplicasReason is used when there are no Machines.
	KubeadmControlPlaneMachinesReadyNoReplicasReason = "NoReplicas"
)

// KubeadmControlPlane's MachinesUpToDate condition and its reasons.
const (
	// KubeadmControlPlaneMachinesUpToDateCondition summarizes the UpToDate conditions of
	// the control-plane Machines.
	KubeadmControlPlaneMachinesUpToDateCondition = "MachinesUpToDate"

	// KubeadmControlPlaneMachinesUpToDateReason is used when every Machine is up to date.
	KubeadmControlPlaneMachinesUpToDateReason = "UpToDate"
	// KubeadmControlPlaneMachinesNotUpToDateReason is used when some Machine is not up to date.
	KubeadmControlPlaneMachinesNotUpToDateReason = "NotUpToDate"
	// KubeadmControlPlaneMachinesUpToDateUnknownReason is used when it is unknown whether
	// some Machine is up to date.
	KubeadmControlPlaneMachinesUpToDateUnknownReason = "UpToDateUnknown"
	// KubeadmControlPlaneMachinesUpToDateNoReplicasReason is used when there are no Machines.
	KubeadmControlPlaneMachinesUpToDateNoReplicasReason = "NoReplicas"
)

// KubeadmControlPlane's RollingOut condition and its reasons. The Cluster reads it.
const (
	// KubeadmControlPlaneRollingOutCondition is True while outdated Machines are being replaced.
	KubeadmControlPlaneRollingOutCondition = clusterv1.RollingOutCondition

	// KubeadmControlPlaneRollingOutReason is used while Machines are being replaced.
	KubeadmControlPlaneRollingOutReason = "RollingOut"
	// KubeadmControlPlaneNotRollingOutReason is used when every Machine is up to date.
	KubeadmControlPlaneNotRollingOutReason = "NotRollingOut"
)

// KubeadmControlPlane's ScalingUp condition and its reasons. The Cluster reads it.
const (
	// KubeadmControlPlaneScalingUpCondition is True while Machines are being added.
	KubeadmControlPlaneScalingUpCondition = clusterv1.ScalingUpCondition

	// KubeadmControlPlaneScalingUpReason is used while Machines are being added.
	KubeadmControlPlaneScalingUpReason = "ScalingUp"
	// KubeadmControlPlaneNotScalingUpReason is used when no Machine needs to be added.
	KubeadmControlPlaneNotScalingUpReason = "NotScalingUp"
	// KubeadmControlPlaneScalingUpWaitingForReplicasSetReason is used while spec.replicas is unset.
	KubeadmControlPlaneScalingUpWaitingForReplicasSetReason = "WaitingForReplicasSet"
)

// KubeadmControlPlane's ScalingDown condition and its reasons. The Cluster reads it.
const (
	// KubeadmControlPlaneScalingDownCondition is True while Machines are being removed.
	KubeadmControlPlaneScalingDownCondition = clusterv1.ScalingDownCondition

	// KubeadmControlPlaneScalingDownReason is used while Machines are being removed.
	KubeadmControlPlaneScalingDownReason = "ScalingDown"
	// KubeadmControlPlaneNotScalingDownReason is used when no Machine needs to be removed.
	KubeadmControlPlaneNotScalingDownReason = "NotScalingDown"
	// KubeadmControlPlaneScalingDownWaitingForReplicasSetReason is used while spec.replicas is unset.
	KubeadmControlPlaneScalingDownWaitingForReplicasSetReason = "WaitingForReplicasSet"
)

// KubeadmControlPlane's Remediating condition and its reasons.
const (
	// KubeadmControlPlaneRemediatingCondition is True while unhealthy Machines are being replaced.
	KubeadmControlPlaneRemediatingCondition = clusterv1.RemediatingCondition

	// KubeadmControlPlaneRemediatingReason is used while a Machine is being remediated.
	KubeadmControlPlaneRemediatingReason = "Remediating"
	// KubeadmControlPlaneNotRemediatingReason is used when no Machine needs remediation.
	KubeadmControlPlaneNotRemediatingReason = "NotRemediating"
	// KubeadmControlPlaneRemediatingRemediationNotAllowedReason is used when a Machine needs
	// remediation but it is not allowed now, for example because it would break etcd quorum
	// or maxRetry has been reached.
	KubeadmControlPlaneRemediatingRemediationNotAllowedReason = "RemediationNotAllowed"
	// KubeadmControlPlaneRemediatingInternalErrorReason is used when remediation could not
	// be computed because of an unexpected error.
	KubeadmControlPlaneRemediatingInternalErrorReason = clusterv1.InternalErrorReason
)

// KubeadmControlPlane's Deleting condition and its reasons.
const (
	// KubeadmControlPlaneDeletingCondition is True while the KubeadmControlPlane is being deleted.
	KubeadmControlPlaneDeletingCondition = clusterv1.DeletingCondition

	// KubeadmControlPlaneDeletingReason is used while the KubeadmControlPlane is being deleted.
	KubeadmControlPlaneDeletingReason = clusterv1.DeletingReason
	// KubeadmControlPlaneNotDeletingReason is used when the KubeadmControlPlane is not being deleted.
	KubeadmControlPlaneNotDeletingReason = clusterv1.NotDeletingReason
	// KubeadmControlPlaneDeletingWaitingForWorkersDeletionReason is used while the deletion
	// waits for the Cluster's worker Machines to go away first.
	KubeadmControlPlaneDeletingWaitingForWorkersDeletionReason = "WaitingForWorkersDeletion"
	// KubeadmControlPlaneDeletingWaitingForMachineDeletionReason is used while the deletion
	// waits for the control-plane Machines to go away.
	KubeadmControlPlaneDeletingWaitingForMachineDeletionReason = "WaitingForMachineDeletion"
	// KubeadmControlPlaneDeletingDeletionCompletedReason is used once every Machine is gone.
	KubeadmControlPlaneDeletingDeletionCompletedReason = "DeletionCompleted"
)

// KubeadmControlPlane's Paused condition and its reasons.
const (
	// KubeadmControlPlanePausedCondition is True while reconciliation of the
	// KubeadmControlPlane is paused, by its Cluster's spec.paused or by the paused annotation.
	KubeadmControlPlanePausedCondition = clusterv1.PausedCondition

	// KubeadmControlPlanePausedReason is used when the KubeadmControlPlane is paused.
	KubeadmControlPlanePausedReason = clusterv1.PausedReason
	// KubeadmControlPlaneNotPausedReason is used when the KubeadmControlPlane is not paused.
	KubeadmControlPlaneNotPausedReason = clusterv1.NotPausedReason
)

// Reasons of the OwnerRemediated condition that a KubeadmControlPlane sets on
// a control-plane Machine a MachineHealthCheck marked, with upstream's values.
const (
	// KubeadmControlPlaneMachineCannotBeRemediatedReason: remediating the Machine
	// is refused (etcd quorum, the last Machine, retries used up); the message says why.
	KubeadmControlPlaneMachineCannotBeRemediatedReason = "CannotBeRemediated"
	// KubeadmControlPlaneMachineRemediationDeferredReason: the Machine is
	// remediated later (another Machine is on its way in or out, the retry period).
	KubeadmControlPlaneMachineRemediationDeferredReason = "RemediationDeferred"
	// KubeadmControlPlaneMachineRemediationMachineDeletingReason: the Machine was
	// deleted; a replacement follows.
	KubeadmControlPlaneMachineRemediationMachineDeletingReason = "MachineDeleting"
)
