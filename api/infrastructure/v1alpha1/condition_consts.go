package v1alpha1

import clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"

// Finalizers.
const (
	// ClusterFinalizer lets the KubernetesCluster controller delete the control-plane
	// Service before the KubernetesCluster goes away.
	ClusterFinalizer = "kubernetescluster.infrastructure.cluster.x-k8s.io"

	// MachineFinalizer lets the KubernetesMachine controller delete the node Pod and its
	// volume claims before the KubernetesMachine goes away.
	MachineFinalizer = "kubernetesmachine.infrastructure.cluster.x-k8s.io"
)

// Node Pod facts shared by the controller and its users.
const (
	// ProviderIDPrefix starts every providerID: kubernetes://<namespace>/<pod name>.
	ProviderIDPrefix = "kubernetes://"

	// VarLibEtcdVolume is the volumeClaimTemplates name of the volume mounted at
	// VarLibEtcdMountPath. It keeps etcd's data on control-plane machines.
	VarLibEtcdVolume = "var-lib-etcd"
	// VarLibEtcdMountPath is where VarLibEtcdVolume is mounted in the node container.
	VarLibEtcdMountPath = "/var/lib/etcd"

	// VarLibContainerdVolume is the volumeClaimTemplates name of the volume mounted at
	// VarLibContainerdMountPath. It keeps the node's images and containers.
	VarLibContainerdVolume = "var-lib-containerd"
	// VarLibContainerdMountPath is where VarLibContainerdVolume is mounted in the node container.
	VarLibContainerdMountPath = "/var/lib/containerd"
)

// KubernetesCluster conditions and reasons.
const (
	// KubernetesClusterReadyCondition summarises the KubernetesCluster. The Cluster
	// mirrors it as InfrastructureReady.
	KubernetesClusterReadyCondition = clusterv1.ReadyCondition
	// KubernetesClusterReadyReason is used when the control-plane endpoint is known.
	KubernetesClusterReadyReason = "Ready"
	// KubernetesClusterReadyWaitingForServiceReason is used while ServiceReady is not True.
	KubernetesClusterReadyWaitingForServiceReason = "WaitingForService"
	// KubernetesClusterReadyDeletingReason is used while the KubernetesCluster is being deleted.
	KubernetesClusterReadyDeletingReason = clusterv1.DeletingReason

	// KubernetesClusterServiceReadyCondition is True once the control-plane Service
	// exists and has an address that can be the control-plane endpoint.
	KubernetesClusterServiceReadyCondition = "ServiceReady"
	// KubernetesClusterServiceReadyReason is used when the Service has an endpoint.
	KubernetesClusterServiceReadyReason = "ServiceReady"
	// KubernetesClusterServiceReadyNoEndpointReason is used while the Service has no
	// usable address yet, for example a LoadBalancer without ingress.
	KubernetesClusterServiceReadyNoEndpointReason = "NoEndpoint"

	// KubernetesClusterServiceReadyEndpointMismatchReason is used when the Service
	// provides another address than controlPlaneEndpoint, which cannot change.
	KubernetesClusterServiceReadyEndpointMismatchReason = "EndpointMismatch"
	// KubernetesClusterServiceReadyFailedReason is used when the Service could not be
	// created or updated; the message says why.
	KubernetesClusterServiceReadyFailedReason = "ServiceFailed"
	// KubernetesClusterServiceReadyDeletingReason is used while the Service is being deleted.
	KubernetesClusterServiceReadyDeletingReason = clusterv1.DeletingReason

	// KubernetesClusterPausedCondition is True while the KubernetesCluster or its Cluster is paused.
	KubernetesClusterPausedCondition = clusterv1.PausedCondition
	// KubernetesClusterPausedReason is used while reconciliation is paused.
	KubernetesClusterPausedReason = clusterv1.PausedReason
	// KubernetesClusterNotPausedReason is used while reconciliation is not paused.
	KubernetesClusterNotPausedReason = clusterv1.NotPausedReason
)

// KubernetesMachine conditions and reasons.
const (
	// KubernetesMachineReadyCondition summarises the KubernetesMachine. The Machine
	// mirrors it as InfrastructureReady.
	KubernetesMachineReadyCondition = clusterv1.ReadyCondition
	// KubernetesMachineReadyReason is used when the node Pod runs and bootstrap succeeded.
	KubernetesMachineReadyReason = "Ready"
	// KubernetesMachineReadyNotReadyReason is used while PodReady or BootstrapSucceeded is not True.
	KubernetesMachineReadyNotReadyReason = "NotReady"
	// KubernetesMachineReadyDeletingReason is used while the KubernetesMachine is being deleted.
	KubernetesMachineReadyDeletingReason = clusterv1.DeletingReason

	// KubernetesMachinePodReadyCondition is True while the node Pod is running and ready.
	KubernetesMachinePodReadyCondition = "PodReady"
	// KubernetesMachinePodReadyReason is used while the node Pod is running and ready.
	KubernetesMachinePodReadyReason = "PodReady"
	// KubernetesMachinePodReadyWaitingForClusterInfrastructureReason is used before the
	// Cluster's infrastructure is provisioned.
	KubernetesMachinePodReadyWaitingForClusterInfrastructureReason = "WaitingForClusterInfrastructure"
	// KubernetesMachinePodReadyWaitingForBootstrapDataReason is used before the
	// Machine's bootstrap data Secret exists; the Pod needs it to start.
	KubernetesMachinePodReadyWaitingForBootstrapDataReason = "WaitingForBootstrapData"
	// KubernetesMachinePodReadyPodProvisioningReason is used while the node Pod is
	// scheduled, pulls its image or starts.
	KubernetesMachinePodReadyPodProvisioningReason = "PodProvisioning"
	// KubernetesMachinePodReadyPodUnschedulableReason is used while the scheduler cannot
	// place the node Pod; the message carries the scheduler's reason.
	KubernetesMachinePodReadyPodUnschedulableReason = "PodUnschedulable"
	// KubernetesMachinePodReadyPodLostReason is used when the node Pod disappeared after
	// it was created. The controller re-creates it under the same name.
	KubernetesMachinePodReadyPodLostReason = "PodLost"
	// KubernetesMachinePodReadyPodFailedReason is used when the node Pod or its container terminated.
	KubernetesMachinePodReadyPodFailedReason = "PodFailed"
	// KubernetesMachinePodReadyDeletingReason is used while the node Pod is being deleted.
	KubernetesMachinePodReadyDeletingReason = clusterv1.DeletingReason

	// KubernetesMachineBootstrapSucceededCondition is True once the node's bootstrap
	// data ran to completion (it wrote /run/cluster-api/bootstrap-success.complete).
	KubernetesMachineBootstrapSucceededCondition = "BootstrapSucceeded"
	// KubernetesMachineBootstrapSucceededReason is used once bootstrap succeeded.
	KubernetesMachineBootstrapSucceededReason = "BootstrapSucceeded"
	// KubernetesMachineBootstrapSucceededWaitingForBootstrapDataReason is used before
	// the Machine's bootstrap data Secret exists.
	KubernetesMachineBootstrapSucceededWaitingForBootstrapDataReason = "WaitingForBootstrapData"
	// KubernetesMachineBootstrapSucceededWaitingForPodReason is used before the node Pod runs.
	KubernetesMachineBootstrapSucceededWaitingForPodReason = "WaitingForPod"
	// KubernetesMachineBootstrapSucceededRunningReason is used while the bootstrap data runs.
	KubernetesMachineBootstrapSucceededRunningReason = "BootstrapRunning"
	// KubernetesMachineBootstrapSucceededFailedReason is used when bootstrap failed; the
	// message carries the failing step's output.
	KubernetesMachineBootstrapSucceededFailedReason = "BootstrapFailed"

	// KubernetesMachineBootstrapSucceededInvalidBootstrapDataReason is used when
	// the bootstrap data is not a cloud-config the boot script can be made from.
	KubernetesMachineBootstrapSucceededInvalidBootstrapDataReason = "InvalidBootstrapData"

	// KubernetesMachinePodReadyInvalidSpecReason is used when no node Pod can be
	// built from the spec (for example no image for the Machine's version).
	KubernetesMachinePodReadyInvalidSpecReason = "InvalidSpec"

	// KubernetesMachinePausedCondition is True while the KubernetesMachine or its Cluster is paused.
	KubernetesMachinePausedCondition = clusterv1.PausedCondition
	// KubernetesMachinePausedReason is used while reconciliation is paused.
	KubernetesMachinePausedReason = clusterv1.PausedReason
	// KubernetesMachineNotPausedReason is used while reconciliation is not paused.
	KubernetesMachineNotPausedReason = clusterv1.NotPausedReason
)
