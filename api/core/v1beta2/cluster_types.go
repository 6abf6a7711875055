package v1beta2

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ClusterFinalizer is the finalizer the Cluster controller uses to tear a cluster down in order.
const ClusterFinalizer = "cluster.cluster.x-k8s.io"

// Cluster conditions and reasons.
const (
	ClusterInfrastructureReadyCondition     = "InfrastructureReady"
	ClusterControlPlaneInitializedCondition = "ControlPlaneInitialized"
	ClusterControlPlaneAvailableCondition   = "ControlPlaneAvailable"
	ClusterWorkersAvailableCondition        = "WorkersAvailable"
	ClusterAvailableCondition               = AvailableCondition
	ClusterRemoteConnectionProbeCondition   = "RemoteConnectionProbe"
	ClusterDeletingCondition                = DeletingCondition
	ClusterPausedCondition                  = PausedCondition
)

// ClusterPhase is the coarse lifecycle state of a Cluster.
type ClusterPhase string

// Cluster phases.
const (
	ClusterPhasePending      ClusterPhase = "Pending"
	ClusterPhaseProvisioning ClusterPhase = "Provisioning"
	ClusterPhaseProvisioned  ClusterPhase = "Provisioned"
	ClusterPhaseDeleting     ClusterPhase = "Deleting"
	ClusterPhaseFailed       ClusterPhase = "Failed"
	ClusterPhaseUnknown      ClusterPhase = "Unknown"
)

// ClusterSpec is the desired state of a Cluster.
// +kubebuilder:validation:MinProperties=1
// +kubebuilder:validation:XValidation:rule="!has(self.topology)",message="spec.topology (ClusterClass) is not supported by podcluster yet"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.infrastructureRef) || (has(self.infrastructureRef) && self.infrastructureRef == oldSelf.infrastructureRef)",message="spec.infrastructureRef is immutable once set"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.controlPlaneRef) || (has(self.controlPlaneRef) && self.controlPlaneRef == oldSelf.controlPlaneRef)",message="spec.controlPlaneRef is immutable once set"
type ClusterSpec struct {
	// paused stops all controllers from reconciling this Cluster and the objects that belong to it.
	// +optional
	Paused *bool `json:"paused,omitempty"`

	// clusterNetwork is the network configuration of the workload cluster.
	// +optional
	ClusterNetwork ClusterNetwork `json:"clusterNetwork,omitempty,omitzero"`

	// controlPlaneEndpoint is the address of the workload cluster's API server. The
	// Cluster controller copies it from the infrastructure cluster unless both host
	// and port are already set here.
	// +optional
	ControlPlaneEndpoint APIEndpoint `json:"controlPlaneEndpoint,omitempty,omitzero"`

	// controlPlaneRef refers to the provider object that manages the control plane,
	// for example a KubeadmControlPlane. Without it, control-plane Machines are
	// created directly and the Cluster controller tracks them itself.
	// +optional
	ControlPlaneRef ContractVersionedObjectReference `json:"controlPlaneRef,omitempty,omitzero"`

	// infrastructureRef refers to the provider object that holds the cluster's
	// infrastructure, for example a KubernetesCluster.
	// +optional
	InfrastructureRef ContractVersionedObjectReference `json:"infrastructureRef,omitempty,omitzero"`

	// topology describes a cluster built from a ClusterClass. It is not supported
	// by podcluster yet and is rejected when set.
	// +optional
	Topology Topology `json:"topology,omitempty,omitzero"`

	// availabilityGates are extra conditions of the Cluster that must be good before
	// the Cluster is Available.
	// +optional
	// +listType=map
	// +listMapKey=conditionType
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	AvailabilityGates []ClusterAvailabilityGate `json:"availabilityGates,omitempty"`
}

// Topology is the ClusterClass form of a cluster. Only the fields that printer
// columns read are modelled; podcluster rejects a set topology for now.
// +kubebuilder:validation:MinProperties=1
type Topology struct {
	// classRef names the ClusterClass the cluster is built from.
	// +optional
	ClassRef ClusterClassRef `json:"classRef,omitempty,omitzero"`

	// version is the Kubernetes version of the cluster.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Version string `json:"version,omitempty"`
}

// ClusterClassRef names a ClusterClass.
type ClusterClassRef struct {
	// name of the ClusterClass.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// namespace of the ClusterClass; defaults to the Cluster's namespace.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`
}

// ClusterAvailabilityGate names an extra condition for the Cluster's Available condition.
type ClusterAvailabilityGate struct {
	// conditionType is the type of a condition in the Cluster's status.conditions
	// that must be good before the Cluster is Available.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=316
	// +kubebuilder:validation:Pattern=`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$`
	ConditionType string `json:"conditionType"`

	// polarity of the condition: Positive (good when True, the default) or Negative (good when False).
	// +optional
	Polarity ConditionPolarity `json:"polarity,omitempty"`
}

// ClusterNetwork is the network configuration of a workload cluster.
// +kubebuilder:validation:MinProperties=1
type ClusterNetwork struct {
	// apiServerPort is the port the API server binds to on each control-plane node.
	// Defaults to 6443.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	APIServerPort int32 `json:"apiServerPort,omitempty"`

	// services holds the CIDR blocks Service IPs are allocated from.
	// +optional
	Services NetworkRanges `json:"services,omitempty,omitzero"`

	// pods holds the CIDR blocks Pod IPs are allocated from.
	// +optional
	Pods NetworkRanges `json:"pods,omitempty,omitzero"`

	// serviceDomain is the DNS domain of Services, for example cluster.local.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	ServiceDomain string `json:"serviceDomain,omitempty"`
}

// NetworkRanges is a list of CIDR blocks.
type NetworkRanges struct {
	// cidrBlocks is a list of CIDR blocks, for example 10.96.0.0/12.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=43
	// +kubebuilder:validation:XValidation:rule="self.all(c, isCIDR(c))",message="cidrBlocks must contain only valid CIDRs, for example 10.96.0.0/12"
	CIDRBlocks []string `json:"cidrBlocks,omitempty"`
}

// ClusterStatus is the observed state of a Cluster.
// +kubebuilder:validation:MinProperties=1
type ClusterStatus struct {
	// conditions are the current observations of the Cluster: InfrastructureReady,
	// ControlPlaneInitialized, ControlPlaneAvailable, WorkersAvailable, Available,
	// Deleting and Paused among them.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=32
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// initialization tracks the one-time provisioning milestones of the Cluster.
	// +optional
	Initialization ClusterInitializationStatus `json:"initialization,omitempty,omitzero"`

	// controlPlane aggregates the replica counts of the control plane.
	// +optional
	ControlPlane *ClusterControlPlaneStatus `json:"controlPlane,omitempty"`

	// workers aggregates the replica counts of the worker Machines.
	// +optional
	Workers *WorkersStatus `json:"workers,omitempty"`

	// failureDomains are the failure domains the infrastructure offers, copied from it.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	FailureDomains []FailureDomain `json:"failureDomains,omitempty"`

	// phase is the coarse lifecycle state of the Cluster, for kubectl columns.
	// +optional
	// +kubebuilder:validation:Enum=Pending;Provisioning;Provisioned;Deleting;Failed;Unknown
	Phase string `json:"phase,omitempty"`

	// observedGeneration is the generation the status was computed from.
	// +optional
	// +kubebuilder:validation:Minimum=1
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// deprecated holds v1beta1 compatibility data.
	// +optional
	Deprecated *ClusterDeprecatedStatus `json:"deprecated,omitempty"`
}

// ClusterInitializationStatus tracks the one-time provisioning milestones of a Cluster.
// +kubebuilder:validation:MinProperties=1
type ClusterInitializationStatus struct {
	// infrastructureProvisioned is true once the infrastructure cluster is provisioned. It never goes back to false.
	// +optional
	InfrastructureProvisioned *bool `json:"infrastructureProvisioned,omitempty"`

	// controlPlaneInitialized is true once the control plane answers API requests. It never goes back to false.
	// +optional
	ControlPlaneInitialized *bool `json:"controlPlaneInitialized,omitempty"`
}

// ReplicaCounts are the replica counters shared by the control-plane and workers status.
type ReplicaCounts struct {
	// desiredReplicas is the number of replicas asked for.
	// +optional
	DesiredReplicas *int32 `json:"desiredReplicas,omitempty"`

	// replicas is the number of replicas that exist.
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// upToDateReplicas is the number of replicas whose UpToDate condition is True.
	// +optional
	UpToDateReplicas *int32 `json:"upToDateReplicas,omitempty"`

	// readyReplicas is the number of replicas whose Ready condition is True.
	// +optional
	ReadyReplicas *int32 `json:"readyReplicas,omitempty"`

	// availableReplicas is the number of replicas whose Available condition is True.
	// +optional
	AvailableReplicas *int32 `json:"availableReplicas,omitempty"`

	// versions counts the replicas per Kubernetes version.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	Versions []StatusVersion `json:"versions,omitempty"`

	// upgradePlan lists the versions an upgrade still passes through.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	UpgradePlan []StatusUpgradePlanVersion `json:"upgradePlan,omitempty"`
}

// ClusterControlPlaneStatus aggregates the replica counts of a control plane.
type ClusterControlPlaneStatus struct {
	ReplicaCounts `json:",inline"`
}

// WorkersStatus aggregates the replica counts of a cluster's worker Machines.
type WorkersStatus struct {
	ReplicaCounts `json:",inline"`
}

// ClusterDeprecatedStatus holds compatibility data for older clients.
type ClusterDeprecatedStatus struct {
	// v1beta1 holds the status fields of the v1beta1 API.
	// +optional
	V1Beta1 *ClusterV1Beta1DeprecatedStatus `json:"v1beta1,omitempty"`
}

// ClusterV1Beta1DeprecatedStatus holds the v1beta1 status fields of a Cluster.
type ClusterV1Beta1DeprecatedStatus struct {
	// conditions in the v1beta1 shape.
	// +optional
	Conditions Conditions `json:"conditions,omitempty"`

	// failureReason is a terse reason for a terminal failure.
	// +optional
	FailureReason *string `json:"failureReason,omitempty"`

	// failureMessage explains a terminal failure.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=10240
	FailureMessage *string `json:"failureMessage,omitempty"`
}

// Cluster is a Kubernetes cluster: its network, its infrastructure and its control plane.
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=clusters,shortName=cl,scope=Namespaced,categories=cluster-api
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="ClusterClass",type="string",JSONPath=".spec.topology.classRef.name",description="ClusterClass of this Cluster, empty if the Cluster does not use one"
// +kubebuilder:printcolumn:name="Available",type="string",JSONPath=`.status.conditions[?(@.type=="Available")].status`,description="Cluster pass all availability checks"
// +kubebuilder:printcolumn:name="CP Desired",type=integer,JSONPath=".status.controlPlane.desiredReplicas",description="The desired number of control plane machines"
// +kubebuilder:printcolumn:name="CP Current",type="integer",JSONPath=".status.controlPlane.replicas",description="The number of control plane machines",priority=10
// +kubebuilder:printcolumn:name="CP Ready",type="integer",JSONPath=".status.controlPlane.readyReplicas",description="The number of control plane machines with Ready condition true",priority=10
// +kubebuilder:printcolumn:name="CP Available",type=integer,JSONPath=".status.controlPlane.availableReplicas",description="The number of control plane machines with Available condition true"
// +kubebuilder:printcolumn:name="CP Up-to-date",type=integer,JSONPath=".status.controlPlane.upToDateReplicas",description="The number of control plane machines with UpToDate condition true"
// +kubebuilder:printcolumn:name="W Desired",type=integer,JSONPath=".status.workers.desiredReplicas",description="The desired number of worker machines"
// +kubebuilder:printcolumn:name="W Current",type="integer",JSONPath=".status.workers.replicas",description="The number of worker machines",priority=10
// +kubebuilder:printcolumn:name="W Ready",type="integer",JSONPath=".status.workers.readyReplicas",description="The number of worker machines with Ready condition true",priority=10
// +kubebuilder:printcolumn:name="W Available",type=integer,JSONPath=".status.workers.availableReplicas",description="The number of worker machines with Available condition true"
// +kubebuilder:printcolumn:name="W Up-to-date",type=integer,JSONPath=".status.workers.upToDateReplicas",description="The number of worker machines with UpToDate condition true"
// +kubebuilder:printcolumn:name="Paused",type="string",JSONPath=`.status.conditions[?(@.type=="Paused")].status`,description="Reconciliation paused",priority=10
// +kubebuilder:printcolumn:name="Phase",type="string",JSONPath=".status.phase",description="Cluster status such as Pending/Provisioning/Provisioned/Deleting/Failed"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time duration since creation of Cluster"
// +kubebuilder:printcolumn:name="Version",type="string",JSONPath=".spec.topology.version",description="Kubernetes version associated with this Cluster"
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 63",message="metadata.name must be at most 63 characters: a Cluster's name is the value of the cluster.x-k8s.io/cluster-name label on all its objects"
type Cluster struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired state of the Cluster.
	// +required
	Spec ClusterSpec `json:"spec,omitempty,omitzero"`

	// status is the observed state of the Cluster.
	// +optional
	Status ClusterStatus `json:"status,omitempty,omitzero"`
}

// ClusterList is a list of Clusters.
// +kubebuilder:object:root=true
type ClusterList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Cluster `json:"items"`
}

func init() {
	registerTypes(&Cluster{}, &ClusterList{})
}
