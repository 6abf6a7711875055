package v1beta2

// Condition reasons of the core kinds. Every reason a core controller sets is
// declared here, named <Kind><Condition><Why>Reason, with upstream Cluster API
// v1beta2's string value wherever upstream defines that reason, so tools that
// match on reasons behave the same against podcluster. A comment that says
// "podcluster's own" marks a reason upstream does not define.
//
// The Paused and Deleting conditions name their negative reasons
// <Kind>NotPausedReason and <Kind>NotDeletingReason, as upstream and the
// infrastructure provider's constants do.

// Reasons shared by several kinds, with upstream's values. The per-kind
// constants below alias them; controllers use the per-kind names.
const (
	// AvailableReason is used when an object meets its availability criteria.
	AvailableReason = "Available"
	// NotAvailableReason is used when an object does not meet its availability criteria.
	NotAvailableReason = "NotAvailable"
	// ReadyReason is used when an object meets its readiness criteria.
	ReadyReason = "Ready"
	// NotReadyReason is used when an object does not meet its readiness criteria.
	NotReadyReason = "NotReady"
	// UpToDateReason is used when an object matches its owner's spec.
	UpToDateReason = "UpToDate"
	// NotUpToDateReason is used when an object does not match its owner's spec.
	NotUpToDateReason = "NotUpToDate"
	// RollingOutReason is used while Machines of older revisions are being replaced.
	RollingOutReason = "RollingOut"
	// NotRollingOutReason is used when no Machine of an older revision is left.
	NotRollingOutReason = "NotRollingOut"
	// ScalingUpReason is used while an object has fewer replicas than it wants.
	ScalingUpReason = "ScalingUp"
	// NotScalingUpReason is used when an object has at least the replicas it wants.
	NotScalingUpReason = "NotScalingUp"
	// ScalingDownReason is used while an object has more replicas than it wants.
	ScalingDownReason = "ScalingDown"
	// NotScalingDownReason is used when an object has at most the replicas it wants.
	NotScalingDownReason = "NotScalingDown"
	// RemediatingReason is used while Machines marked for remediation are being replaced.
	RemediatingReason = "Remediating"
	// NotRemediatingReason is used when no Machine is being remediated.
	NotRemediatingReason = "NotRemediating"
	// ObjectDoesNotExistReason is used when a referenced object does not exist (yet).
	ObjectDoesNotExistReason = "ObjectDoesNotExist"
	// ObjectDeletedReason is used when a referenced object existed and was deleted.
	ObjectDeletedReason = "ObjectDeleted"
	// InspectionFailedReason is used when the object a condition reports on could not be read.
	InspectionFailedReason = "InspectionFailed"
)

// Cluster's Paused condition.
const (
	// ClusterPausedReason is used while the Cluster is paused.
	ClusterPausedReason = PausedReason
	// ClusterNotPausedReason is used while the Cluster is not paused.
	ClusterNotPausedReason = NotPausedReason
)

// Cluster's InfrastructureReady condition. When the infrastructure object
// reports a Ready condition, the Cluster mirrors its reason instead.
const (
	// ClusterInfrastructureReadyReason is used when the infrastructure object
	// reports no Ready condition but status.initialization.provisioned is true
	// (the contract's fallback). Upstream's ClusterInfrastructureReadyReason.
	ClusterInfrastructureReadyReason = ReadyReason
	// ClusterInfrastructureReadyNoInfrastructureReason is used when the Cluster has
	// no infrastructureRef, so there is nothing to wait for. podcluster's own.
	ClusterInfrastructureReadyNoInfrastructureReason = "NoInfrastructure"
	// ClusterInfrastructureReadyDoesNotExistReason is used when the referenced
	// infrastructure object does not exist. Upstream's ClusterInfrastructureDoesNotExistReason.
	ClusterInfrastructureReadyDoesNotExistReason = ObjectDoesNotExistReason
	// ClusterInfrastructureReadyNotReadyReason is used while the infrastructure object
	// reports neither a Ready condition nor status.initialization.provisioned.
	ClusterInfrastructureReadyNotReadyReason = NotReadyReason
)

// Cluster's ControlPlaneInitialized condition.
const (
	// ClusterControlPlaneInitializedReason is used once the control plane accepts requests.
	ClusterControlPlaneInitializedReason = "Initialized"
	// ClusterControlPlaneInitializedNotInitializedReason is used until then.
	// Upstream's ClusterControlPlaneNotInitializedReason.
	ClusterControlPlaneInitializedNotInitializedReason = "NotInitialized"
)

// Cluster's ControlPlaneAvailable condition. When the control-plane object
// reports an Available condition, the Cluster mirrors its reason instead.
const (
	// ClusterControlPlaneAvailableReason is used when a control-plane Machine is
	// Available (clusters without a control-plane provider), or when the
	// control-plane object reports no Available condition but
	// status.initialization.controlPlaneInitialized is true (the contract's fallback).
	ClusterControlPlaneAvailableReason = AvailableReason
	// ClusterControlPlaneAvailableNotAvailableReason is used while the control plane is
	// not Available, or its object reports neither an Available condition nor
	// status.initialization.controlPlaneInitialized.
	ClusterControlPlaneAvailableNotAvailableReason = NotAvailableReason
	// ClusterControlPlaneAvailableDoesNotExistReason is used when the referenced
	// control-plane object does not exist. Upstream's ClusterControlPlaneDoesNotExistReason.
	ClusterControlPlaneAvailableDoesNotExistReason = ObjectDoesNotExistReason
	// ClusterControlPlaneAvailableNoControlPlaneMachinesReason is used when a Cluster
	// without a control-plane provider has no control-plane Machine. podcluster's own.
	ClusterControlPlaneAvailableNoControlPlaneMachinesReason = "NoControlPlaneMachines"
)

// Cluster's WorkersAvailable condition.
const (
	// ClusterWorkersAvailableReason is used when every MachineDeployment is Available.
	ClusterWorkersAvailableReason = AvailableReason
	// ClusterWorkersAvailableNotAvailableReason is used when a MachineDeployment is not
	// Available. Upstream's ClusterWorkersNotAvailableReason.
	ClusterWorkersAvailableNotAvailableReason = NotAvailableReason
	// ClusterWorkersAvailableNoWorkersReason is used when the Cluster has no MachineDeployment.
	ClusterWorkersAvailableNoWorkersReason = "NoWorkers"
)

// Cluster's Available condition.
const (
	// ClusterAvailableReason is used when every availability criterion is met.
	ClusterAvailableReason = AvailableReason
	// ClusterAvailableNotAvailableReason is used when one is not.
	// Upstream's ClusterNotAvailableReason.
	ClusterAvailableNotAvailableReason = NotAvailableReason
)

// Cluster's Deleting condition.
const (
	// ClusterNotDeletingReason is used while the Cluster has no deletionTimestamp.
	ClusterNotDeletingReason = NotDeletingReason
	// ClusterDeletingReason is used while the Cluster is deleted and no step waits.
	ClusterDeletingReason = DeletingReason
	// ClusterDeletingWaitingForWorkersDeletionReason is used while MachineDeployments,
	// MachineSets and worker Machines are being deleted.
	ClusterDeletingWaitingForWorkersDeletionReason = "WaitingForWorkersDeletion"
	// ClusterDeletingWaitingForControlPlaneDeletionReason is used while the control-plane
	// object, or the control-plane Machines when there is none, are being deleted.
	ClusterDeletingWaitingForControlPlaneDeletionReason = "WaitingForControlPlaneDeletion"
	// ClusterDeletingWaitingForInfrastructureDeletionReason is used while the
	// infrastructure object is being deleted.
	ClusterDeletingWaitingForInfrastructureDeletionReason = "WaitingForInfrastructureDeletion"
)

// Machine's Paused condition.
const (
	// MachinePausedReason is used while the Machine or its Cluster is paused.
	MachinePausedReason = PausedReason
	// MachineNotPausedReason is used while neither is paused.
	MachineNotPausedReason = NotPausedReason
)

// Machine's BootstrapConfigReady condition. When the bootstrap config reports
// a Ready condition, the Machine mirrors its reason instead.
const (
	// MachineBootstrapConfigReadyDataSecretProvidedReason is used when the Machine names
	// its bootstrap data Secret directly, or its bootstrap config went away after
	// providing it. Upstream's MachineBootstrapDataSecretProvidedReason.
	MachineBootstrapConfigReadyDataSecretProvidedReason = "DataSecretProvided"
	// MachineBootstrapConfigReadyBootstrapConfigDoesNotExistReason is used when the
	// referenced bootstrap config does not exist. Upstream's MachineBootstrapConfigDoesNotExistReason.
	MachineBootstrapConfigReadyBootstrapConfigDoesNotExistReason = ObjectDoesNotExistReason
	// MachineBootstrapConfigReadyNotReadyReason is used while the bootstrap config reports
	// no Ready condition yet.
	MachineBootstrapConfigReadyNotReadyReason = NotReadyReason
)

// Machine's InfrastructureReady condition. When the infrastructure machine
// reports a Ready condition, the Machine mirrors its reason instead.
const (
	// MachineInfrastructureReadyDoesNotExistReason is used when the referenced
	// infrastructure machine does not exist. Upstream's MachineInfrastructureDoesNotExistReason.
	MachineInfrastructureReadyDoesNotExistReason = ObjectDoesNotExistReason
	// MachineInfrastructureReadyDeletedReason is used when the infrastructure machine
	// was deleted after it had been provisioned: the Machine cannot recover.
	// Upstream's MachineInfrastructureDeletedReason.
	MachineInfrastructureReadyDeletedReason = ObjectDeletedReason
	// MachineInfrastructureReadyNotReadyReason is used while the infrastructure machine
	// reports no Ready condition yet.
	MachineInfrastructureReadyNotReadyReason = NotReadyReason
)

// Machine's NodeReady and NodeHealthy conditions. While the Node cannot be
// looked at, both carry the same reason.
const (
	// MachineNodeReadyReason is used when the Node is Ready and gives no reason of its
	// own (a Node's own reason, such as KubeletReady, is passed through).
	MachineNodeReadyReason = "NodeReady"
	// MachineNodeReadyNotReadyReason is used when the Node is not Ready and gives no
	// reason of its own. Upstream's MachineNodeNotReadyReason.
	MachineNodeReadyNotReadyReason = "NodeNotReady"
	// MachineNodeReadyUnknownReason is used when the Node reports no Ready condition,
	// or an Unknown one without a reason.
	MachineNodeReadyUnknownReason = "NodeReadyUnknown"
	// MachineNodeHealthyReason is used when the Node is Ready and reports no pressure.
	MachineNodeHealthyReason = "NodeHealthy"
	// MachineNodeHealthyNotHealthyReason is used when the Node is not Ready or reports
	// memory, disk or PID pressure. Upstream's MachineNodeNotHealthyReason.
	MachineNodeHealthyNotHealthyReason = "NodeNotHealthy"
	// MachineNodeWaitingForProviderIDReason is used before the infrastructure reports
	// spec.providerID, without which no Node can be matched. Upstream reports
	// InspectionFailed here (with a message saying it waits for the
	// providerID), so tools that match on it see the same value.
	MachineNodeWaitingForProviderIDReason = MachineNodeInspectionFailedReason
	// MachineNodeDoesNotExistReason is used while no Node has the Machine's providerID.
	MachineNodeDoesNotExistReason = "NodeDoesNotExist"
	// MachineNodeDeletedReason is used when the Machine's Node existed and was deleted.
	MachineNodeDeletedReason = "NodeDeleted"
	// MachineNodeInspectionFailedReason is used when the workload cluster could not be
	// read, for example while it is unreachable.
	MachineNodeInspectionFailedReason = InspectionFailedReason
)

// Machine's UpToDate condition.
const (
	// MachineUpToDateReason is used when the Machine matches its owner's current template.
	MachineUpToDateReason = UpToDateReason
	// MachineUpToDateNotUpToDateReason is used when its MachineDeployment has a newer
	// template revision. Upstream's MachineNotUpToDateReason.
	MachineUpToDateNotUpToDateReason = NotUpToDateReason
)

// Machine's Ready condition.
const (
	// MachineReadyReason is used when every readiness criterion is met.
	MachineReadyReason = ReadyReason
	// MachineReadyNotReadyReason is used when one is not. Upstream's MachineNotReadyReason.
	MachineReadyNotReadyReason = NotReadyReason
)

// Machine's Available condition.
const (
	// MachineAvailableReason is used once the Machine has been Ready for minReadySeconds.
	MachineAvailableReason = AvailableReason
	// MachineAvailableNotReadyReason is used while the Machine is not Ready. Upstream
	// uses MachineNotReadyReason for this too.
	MachineAvailableNotReadyReason = NotReadyReason
	// MachineAvailableWaitingForMinReadySecondsReason is used while the Machine is Ready
	// but not yet for minReadySeconds. Upstream's MachineWaitingForMinReadySecondsReason.
	MachineAvailableWaitingForMinReadySecondsReason = "WaitingForMinReadySeconds"
)

// Machine's Deleting condition.
const (
	// MachineNotDeletingReason is used while the Machine has no deletionTimestamp.
	MachineNotDeletingReason = NotDeletingReason
	// MachineDeletingReason is used while the Machine is deleted and no step waits.
	MachineDeletingReason = DeletingReason
	// MachineDeletingWaitingForPreDrainHookReason is used while a pre-drain hook annotation holds the deletion.
	MachineDeletingWaitingForPreDrainHookReason = "WaitingForPreDrainHook"
	// MachineDeletingDrainingNodeReason is used while the Node is being drained.
	MachineDeletingDrainingNodeReason = "DrainingNode"
	// MachineDeletingWaitingForPreTerminateHookReason is used while a pre-terminate hook annotation holds the deletion.
	MachineDeletingWaitingForPreTerminateHookReason = "WaitingForPreTerminateHook"
	// MachineDeletingWaitingForInfrastructureDeletionReason is used while the infrastructure
	// machine and the bootstrap config are being deleted.
	MachineDeletingWaitingForInfrastructureDeletionReason = "WaitingForInfrastructureDeletion"
	// MachineDeletingDeletingNodeReason is used while the Node is being deleted from the workload cluster.
	MachineDeletingDeletingNodeReason = "DeletingNode"
)

// Machine's deprecated v1beta1 status.failureReason, kept for older clients.
const (
	// MachineInvalidConfigurationFailureReason is written when the infrastructure machine
	// was deleted after provisioning. Upstream's v1beta1 InvalidConfigurationMachineError.
	MachineInvalidConfigurationFailureReason = "InvalidConfiguration"
)

// MachineSet's Paused condition.
const (
	// MachineSetPausedReason is used while the MachineSet or its Cluster is paused.
	MachineSetPausedReason = PausedReason
	// MachineSetNotPausedReason is used while neither is paused.
	MachineSetNotPausedReason = NotPausedReason
)

// MachineSet's ScalingUp condition.
const (
	// MachineSetScalingUpReason is used while the set has fewer Machines than spec.replicas.
	MachineSetScalingUpReason = ScalingUpReason
	// MachineSetScalingUpNotScalingUpReason is used otherwise. Upstream's MachineSetNotScalingUpReason.
	MachineSetScalingUpNotScalingUpReason = NotScalingUpReason
	// MachineSetScalingUpInvalidTemplateReason is used when no Machine can be made from
	// the template (a bad machine naming template, an unreadable provider template).
	// podcluster's own.
	MachineSetScalingUpInvalidTemplateReason = "InvalidTemplate"
)

// MachineSet's ScalingDown condition.
const (
	// MachineSetScalingDownReason is used while the set has more Machines than spec.replicas.
	MachineSetScalingDownReason = ScalingDownReason
	// MachineSetScalingDownNotScalingDownReason is used otherwise. Upstream's MachineSetNotScalingDownReason.
	MachineSetScalingDownNotScalingDownReason = NotScalingDownReason
)

// MachineSet's MachinesReady condition.
const (
	// MachineSetMachinesReadyReason is used when every Machine of the set is Ready.
	MachineSetMachinesReadyReason = ReadyReason
	// MachineSetMachinesReadyNotReadyReason is used when one is not. Upstream's MachineSetMachinesNotReadyReason.
	MachineSetMachinesReadyNotReadyReason = NotReadyReason
)

// MachineSet's MachinesUpToDate condition.
const (
	// MachineSetMachinesUpToDateReason is used when every Machine of the set is UpToDate.
	MachineSetMachinesUpToDateReason = UpToDateReason
	// MachineSetMachinesUpToDateNotUpToDateReason is used when one is not.
	// Upstream's MachineSetMachinesNotUpToDateReason.
	MachineSetMachinesUpToDateNotUpToDateReason = NotUpToDateReason
)

// MachineSet's Remediating condition.
const (
	// MachineSetRemediatingReason is used while Machines marked for remediation are deleted.
	MachineSetRemediatingReason = RemediatingReason
	// MachineSetRemediatingNotRemediatingReason is used otherwise. Upstream's MachineSetNotRemediatingReason.
	MachineSetRemediatingNotRemediatingReason = NotRemediatingReason
)

// MachineSet's Deleting condition.
const (
	// MachineSetNotDeletingReason is used while the MachineSet has no deletionTimestamp.
	MachineSetNotDeletingReason = NotDeletingReason
	// MachineSetDeletingReason is used while the MachineSet's Machines are being deleted.
	MachineSetDeletingReason = DeletingReason
)

// MachineDeployment's Paused condition.
const (
	// MachineDeploymentPausedReason is used while the MachineDeployment (spec.paused or
	// the annotation) or its Cluster is paused.
	MachineDeploymentPausedReason = PausedReason
	// MachineDeploymentNotPausedReason is used while none is paused.
	MachineDeploymentNotPausedReason = NotPausedReason
)

// MachineDeployment's Available condition.
const (
	// MachineDeploymentAvailableReason is used when at least replicas-maxUnavailable
	// Machines are Available.
	MachineDeploymentAvailableReason = AvailableReason
	// MachineDeploymentAvailableNotAvailableReason is used when fewer are.
	// Upstream's MachineDeploymentNotAvailableReason.
	MachineDeploymentAvailableNotAvailableReason = NotAvailableReason
	// MachineDeploymentAvailableInvalidStrategyReason is used when spec.rollout.strategy
	// cannot be applied (for example maxSurge and maxUnavailable both zero). podcluster's own.
	MachineDeploymentAvailableInvalidStrategyReason = "InvalidStrategy"
)

// MachineDeployment's RollingOut condition.
const (
	// MachineDeploymentRollingOutReason is used while MachineSets of older revisions have Machines.
	MachineDeploymentRollingOutReason = RollingOutReason
	// MachineDeploymentRollingOutNotRollingOutReason is used otherwise.
	// Upstream's MachineDeploymentNotRollingOutReason.
	MachineDeploymentRollingOutNotRollingOutReason = NotRollingOutReason
)

// MachineDeployment's ScalingUp condition.
const (
	// MachineDeploymentScalingUpReason is used while fewer Machines exist than spec.replicas.
	MachineDeploymentScalingUpReason = ScalingUpReason
	// MachineDeploymentScalingUpNotScalingUpReason is used otherwise.
	// Upstream's MachineDeploymentNotScalingUpReason.
	MachineDeploymentScalingUpNotScalingUpReason = NotScalingUpReason
)

// MachineDeployment's ScalingDown condition.
const (
	// MachineDeploymentScalingDownReason is used while more Machines exist than
	// spec.replicas outside a rollout.
	MachineDeploymentScalingDownReason = ScalingDownReason
	// MachineDeploymentScalingDownNotScalingDownReason is used otherwise.
	// Upstream's MachineDeploymentNotScalingDownReason.
	MachineDeploymentScalingDownNotScalingDownReason = NotScalingDownReason
)

// MachineDeployment's MachinesReady condition.
const (
	// MachineDeploymentMachinesReadyReason is used when every Machine of the deployment is Ready.
	MachineDeploymentMachinesReadyReason = ReadyReason
	// MachineDeploymentMachinesReadyNotReadyReason is used when one is not.
	// Upstream's MachineDeploymentMachinesNotReadyReason.
	MachineDeploymentMachinesReadyNotReadyReason = NotReadyReason
)

// MachineDeployment's MachinesUpToDate condition.
const (
	// MachineDeploymentMachinesUpToDateReason is used when every Machine of the deployment is UpToDate.
	MachineDeploymentMachinesUpToDateReason = UpToDateReason
	// MachineDeploymentMachinesUpToDateNotUpToDateReason is used when one is not.
	// Upstream's MachineDeploymentMachinesNotUpToDateReason.
	MachineDeploymentMachinesUpToDateNotUpToDateReason = NotUpToDateReason
)

// MachineDeployment's Deleting condition.
const (
	// MachineDeploymentNotDeletingReason is used while the MachineDeployment has no deletionTimestamp.
	MachineDeploymentNotDeletingReason = NotDeletingReason
	// MachineDeploymentDeletingReason is used while its MachineSets are being deleted.
	MachineDeploymentDeletingReason = DeletingReason
)

// MachineHealthCheck's Paused condition.
const (
	// MachineHealthCheckPausedReason is used while the MachineHealthCheck or its Cluster is paused.
	MachineHealthCheckPausedReason = PausedReason
	// MachineHealthCheckNotPausedReason is used while neither is paused.
	MachineHealthCheckNotPausedReason = NotPausedReason
)

// MachineHealthCheck's RemediationAllowed condition.
const (
	// MachineHealthCheckRemediationAllowedReason is used while the number of unhealthy
	// Machines is within spec.remediation.triggerIf.
	MachineHealthCheckRemediationAllowedReason = "RemediationAllowed"
	// MachineHealthCheckRemediationAllowedTooManyUnhealthyReason is used while it is not,
	// so no Machine is marked for remediation. Upstream's MachineHealthCheckTooManyUnhealthyReason.
	MachineHealthCheckRemediationAllowedTooManyUnhealthyReason = "TooManyUnhealthy"
	// MachineHealthCheckRemediationAllowedInvalidTriggerIfReason is used when
	// spec.remediation.triggerIf cannot be evaluated, for example the range "[5-3]".
	// podcluster's own.
	MachineHealthCheckRemediationAllowedInvalidTriggerIfReason = "InvalidTriggerIf"
)

// Machine's HealthCheckSucceeded condition, set by MachineHealthChecks.
const (
	// MachineHealthCheckSucceededReason is used when the Machine passes every check.
	MachineHealthCheckSucceededReason = "HealthCheckSucceeded"
	// MachineHealthCheckSucceededUnhealthyNodeReason is used when a Node condition held
	// an unhealthy status for its timeout. Upstream's MachineHealthCheckUnhealthyNodeReason.
	MachineHealthCheckSucceededUnhealthyNodeReason = "UnhealthyNode"
	// MachineHealthCheckSucceededUnhealthyMachineReason is used when a Machine condition
	// held an unhealthy status for its timeout. Upstream's MachineHealthCheckUnhealthyMachineReason.
	MachineHealthCheckSucceededUnhealthyMachineReason = "UnhealthyMachine"
	// MachineHealthCheckSucceededNodeStartupTimeoutReason is used when no Node appeared
	// within nodeStartupTimeoutSeconds. Upstream's MachineHealthCheckNodeStartupTimeoutReason.
	MachineHealthCheckSucceededNodeStartupTimeoutReason = "NodeStartupTimeout"
	// MachineHealthCheckSucceededNodeDeletedReason is used when the Machine's Node existed
	// and was deleted. Upstream's MachineHealthCheckNodeDeletedReason.
	MachineHealthCheckSucceededNodeDeletedReason = "NodeDeleted"
	// MachineHealthCheckSucceededHasRemediateAnnotationReason is used when the Machine
	// carries the remediate-machine annotation. Upstream's MachineHealthCheckHasRemediateAnnotationReason.
	MachineHealthCheckSucceededHasRemediateAnnotationReason = "HasRemediateAnnotation"
)

// Machine's OwnerRemediated condition, set by MachineHealthChecks and then
// owned by the Machine's owner.
const (
	// MachineOwnerRemediatedWaitingForRemediationReason is used when a MachineHealthCheck
	// found the Machine unhealthy and asks its owner to remediate it.
	MachineOwnerRemediatedWaitingForRemediationReason = "WaitingForRemediation"
)

// Machine's ExternallyRemediated condition, set by MachineHealthChecks with a
// spec.remediation.templateRef and then owned by the external remediation
// controller that acts on the request object.
const (
	// MachineExternallyRemediatedWaitingForRemediationReason is used once the
	// remediation request object exists and the external controller has not acted yet.
	MachineExternallyRemediatedWaitingForRemediationReason = "WaitingForRemediation"
	// MachineExternallyRemediatedRemediationTemplateNotFoundReason is used when the
	// MachineHealthCheck's remediation template cannot be read.
	MachineExternallyRemediatedRemediationTemplateNotFoundReason = "RemediationTemplateNotFound"
	// MachineExternallyRemediatedRemediationRequestCreationFailedReason is used when the
	// remediation request object cannot be created.
	MachineExternallyRemediatedRemediationRequestCreationFailedReason = "RemediationRequestCreationFailed"
)
