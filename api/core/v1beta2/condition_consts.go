package v1beta2

// Condition reasons of the core kinds. Every reason a core controller sets is
// declared here, named <Kind><Condition><Why>Reason, with upstream Cluster API
// v1beta2's string value wherever upstream defines that reason, so tools that
// match on reasons behave the same against podcluster.

// Machine's Deleting condition.
const (
	// MachineDeletingWaitingForPreDrainHookReason: a pre-drain hook annotation holds the deletion.
	MachineDeletingWaitingForPreDrainHookReason = "WaitingForPreDrainHook"
	// MachineDeletingDrainingNodeReason: the Node is being drained.
	MachineDeletingDrainingNodeReason = "DrainingNode"
	// MachineDeletingWaitingForPreTerminateHookReason: a pre-terminate hook annotation holds the deletion.
	MachineDeletingWaitingForPreTerminateHookReason = "WaitingForPreTerminateHook"
	// MachineDeletingWaitingForInfrastructureDeletionReason: the infrastructure machine is being deleted.
	MachineDeletingWaitingForInfrastructureDeletionReason = "WaitingForInfrastructureDeletion"
	// MachineDeletingDeletingNodeReason: the Node is being deleted from the workload cluster.
	MachineDeletingDeletingNodeReason = "DeletingNode"
)
