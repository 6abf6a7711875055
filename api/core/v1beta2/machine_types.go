package v1beta2

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MachineFinalizer is the finalizer the Machine controller uses to drain and clean up.
const MachineFinalizer = "machine.cluster.x-k8s.io"

// Machine conditions.
const (
	MachineBootstrapConfigReadyCondition = "BootstrapConfigReady"
	MachineInfrastructureReadyCondition  = "InfrastructureReady"
	MachineNodeReadyCondition            = "NodeReady"
	MachineNodeHealthyCondition          = "NodeHealthy"
	MachineReadyCondition                = ReadyCondition
	MachineAvailableCondition            = AvailableCondition
	MachineUpToDateCondition             = UpToDateCondition
	MachineDeletingCondition             = DeletingCondition
	MachinePausedCondition               = PausedCondition
	MachineHealthCheckSucceededCondition = "HealthCheckSucceeded"
	MachineOwnerRemediatedCondition      = "OwnerRemediated"
	MachineExternallyRemediatedCondition = "ExternallyRemediated"
)

// MachinePhase is the coarse lifecycle state of a Machine.
type MachinePhase string

// Machine phases.
const (
	MachinePhasePending      MachinePhase = "Pending"
	MachinePhaseProvisioning MachinePhase = "Provisioning"
	MachinePhaseProvisioned  MachinePhase = "Provisioned"
	MachinePhaseRunning      MachinePhase = "Running"
	MachinePhaseUpdating     MachinePhase = "Updating"
	MachinePhaseDeleting     MachinePhase = "Deleting"
	MachinePhaseDeleted      MachinePhase = "Deleted"
	MachinePhaseFailed       MachinePhase = "Failed"
	MachinePhaseUnknown      MachinePhase = "Unknown"
)

// MachineSpec is the desired state of a Machine. Templates of MachineSets and
// MachineDeployments embed it too.
type MachineSpec struct {
	// clusterName is the name of the Cluster this Machine belongs to.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	ClusterName string `json:"clusterName"`

	// bootstrap says where the Machine's bootstrap data comes from.
	// +required
	Bootstrap Bootstrap `json:"bootstrap,omitempty,omitzero"`

	// infrastructureRef refers to the provider object that holds the Machine's
	// infrastructure, for example a KubernetesMachine.
	// +required
	InfrastructureRef ContractVersionedObjectReference `json:"infrastructureRef,omitempty,omitzero"`

	// version is the Kubernetes version of the node, for example v1.37.2.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Version string `json:"version,omitempty"`

	// providerID identifies the Machine's node at the infrastructure provider. It is
	// copied from the infrastructure machine and must equal the Node's spec.providerID.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	ProviderID string `json:"providerID,omitempty"`

	// failureDomain is the failure domain the Machine should be placed in.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	FailureDomain string `json:"failureDomain,omitempty"`

	// minReadySeconds is how long the Node must be Ready before the Machine counts as Available.
	// +optional
	// +kubebuilder:validation:Minimum=0
	MinReadySeconds *int32 `json:"minReadySeconds,omitempty"`

	// readinessGates are extra conditions that must be good before the Machine is Ready.
	// +optional
	// +listType=map
	// +listMapKey=conditionType
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	ReadinessGates []MachineReadinessGate `json:"readinessGates,omitempty"`

	// deletion holds the timeouts of the Machine's deletion.
	// +optional
	Deletion MachineDeletionSpec `json:"deletion,omitempty,omitzero"`

	// taints are put on the Machine's Node. An Always taint is kept there, and
	// taken off the Node when it is removed from this list; an OnInitialization
	// taint is put there once, when the Node is first synced, and left to the
	// Node's owners afterwards. Taints that others put on the Node are not touched.
	// +optional
	// +listType=map
	// +listMapKey=key
	// +listMapKey=effect
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	Taints []MachineTaint `json:"taints,omitempty"`
}

// Bootstrap says where a Machine's bootstrap data comes from: a bootstrap
// provider object, or a Secret given directly.
// +kubebuilder:validation:XValidation:rule="has(self.configRef) || has(self.dataSecretName)",message="bootstrap needs configRef or dataSecretName"
type Bootstrap struct {
	// configRef refers to the bootstrap provider object that generates the data, for example a KubeadmConfig.
	// +optional
	ConfigRef ContractVersionedObjectReference `json:"configRef,omitempty,omitzero"`

	// dataSecretName is the name of the Secret that holds the bootstrap data. It is
	// copied from the bootstrap object, or set by the user when there is none.
	// +optional
	// +kubebuilder:validation:MinLength=0
	// +kubebuilder:validation:MaxLength=253
	DataSecretName *string `json:"dataSecretName,omitempty"`
}

// MachineStatus is the observed state of a Machine.
// +kubebuilder:validation:MinProperties=1
type MachineStatus struct {
	// conditions are the current observations of the Machine: BootstrapConfigReady,
	// InfrastructureReady, NodeReady, NodeHealthy, Ready, Available, UpToDate,
	// Deleting and Paused among them.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=32
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// initialization tracks the one-time provisioning milestones of the Machine.
	// +optional
	Initialization MachineInitializationStatus `json:"initialization,omitempty,omitzero"`

	// nodeRef names the Node of this Machine in the workload cluster.
	// +optional
	NodeRef MachineNodeReference `json:"nodeRef,omitempty,omitzero"`

	// nodeInfo is the system information the Node reports.
	// +optional
	NodeInfo *corev1.NodeSystemInfo `json:"nodeInfo,omitempty"`

	// lastUpdated is when the phase last changed.
	// +optional
	LastUpdated metav1.Time `json:"lastUpdated,omitempty,omitzero"`

	// addresses of the Machine, copied from the infrastructure machine.
	// +optional
	Addresses MachineAddresses `json:"addresses,omitempty"`

	// failureDomain is the failure domain the Machine landed in, copied from the infrastructure machine.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	FailureDomain string `json:"failureDomain,omitempty"`

	// phase is the coarse lifecycle state of the Machine, for kubectl columns.
	// +optional
	// +kubebuilder:validation:Enum=Pending;Provisioning;Provisioned;Running;Updating;Deleting;Deleted;Failed;Unknown
	Phase string `json:"phase,omitempty"`

	// certificatesExpiryDate is when the Machine's control-plane certificates expire.
	// +optional
	CertificatesExpiryDate metav1.Time `json:"certificatesExpiryDate,omitempty,omitzero"`

	// observedGeneration is the generation the status was computed from.
	// +optional
	// +kubebuilder:validation:Minimum=1
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// deletion tracks the steps of the Machine's deletion.
	// +optional
	Deletion *MachineDeletionStatus `json:"deletion,omitempty"`

	// deprecated holds v1beta1 compatibility data.
	// +optional
	Deprecated *MachineDeprecatedStatus `json:"deprecated,omitempty"`
}

// MachineInitializationStatus tracks the one-time provisioning milestones of a Machine.
// +kubebuilder:validation:MinProperties=1
type MachineInitializationStatus struct {
	// infrastructureProvisioned is true once the infrastructure machine is provisioned. It never goes back to false.
	// +optional
	InfrastructureProvisioned *bool `json:"infrastructureProvisioned,omitempty"`

	// bootstrapDataSecretCreated is true once the bootstrap data Secret exists. It never goes back to false.
	// +optional
	BootstrapDataSecretCreated *bool `json:"bootstrapDataSecretCreated,omitempty"`
}

// MachineNodeReference names a Node in the workload cluster.
type MachineNodeReference struct {
	// name of the Node.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
}

// MachineDeletionStatus records when each step of a Machine's deletion started.
type MachineDeletionStatus struct {
	// nodeDrainStartTime is when the drain of the Node started.
	// +optional
	NodeDrainStartTime metav1.Time `json:"nodeDrainStartTime,omitempty,omitzero"`

	// waitForNodeVolumeDetachStartTime is when waiting for volume detach started.
	// +optional
	WaitForNodeVolumeDetachStartTime metav1.Time `json:"waitForNodeVolumeDetachStartTime,omitempty,omitzero"`

	// waitForPreDrainHookStartTime is when waiting for pre-drain hooks started.
	// +optional
	WaitForPreDrainHookStartTime metav1.Time `json:"waitForPreDrainHookStartTime,omitempty,omitzero"`

	// waitForPreTerminateHookStartTime is when waiting for pre-terminate hooks started.
	// +optional
	WaitForPreTerminateHookStartTime metav1.Time `json:"waitForPreTerminateHookStartTime,omitempty,omitzero"`
}

// MachineDeprecatedStatus holds compatibility data for older clients.
type MachineDeprecatedStatus struct {
	// v1beta1 holds the status fields of the v1beta1 API.
	// +optional
	V1Beta1 *MachineV1Beta1DeprecatedStatus `json:"v1beta1,omitempty"`
}

// MachineV1Beta1DeprecatedStatus holds the v1beta1 status fields of a Machine.
type MachineV1Beta1DeprecatedStatus struct {
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

// MachineTemplateSpec is the template MachineSets and MachineDeployments create Machines from.
type MachineTemplateSpec struct {
	// metadata holds the labels and annotations of the created Machines.
	// +optional
	ObjectMeta ObjectMeta `json:"metadata,omitempty,omitzero"`

	// spec is the spec of the created Machines.
	// +required
	Spec MachineSpec `json:"spec,omitempty,omitzero"`
}

// Machine is one node of a workload cluster: its bootstrap data, its infrastructure and its Node.
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=machines,shortName=ma,scope=Namespaced,categories=cluster-api
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Cluster",type="string",JSONPath=".spec.clusterName",description="Cluster"
// +kubebuilder:printcolumn:name="Node Name",type="string",JSONPath=".status.nodeRef.name",description="Node name associated with this machine"
// +kubebuilder:printcolumn:name="Provider ID",type="string",JSONPath=".spec.providerID",description="Provider ID",priority=10
// +kubebuilder:printcolumn:name="Failure Domain",type="string",JSONPath=".status.failureDomain",description="Failure domain the machine is placed in"
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=`.status.conditions[?(@.type=="Ready")].status`,description="Machine pass all readiness checks"
// +kubebuilder:printcolumn:name="Available",type="string",JSONPath=`.status.conditions[?(@.type=="Available")].status`,description="Machine is Ready for at least MinReadySeconds"
// +kubebuilder:printcolumn:name="Up-to-date",type="string",JSONPath=`.status.conditions[?(@.type=="UpToDate")].status`,description="Machine spec matches the spec of the Machine's owner resource"
// +kubebuilder:printcolumn:name="Internal-IP",type="string",JSONPath=`.status.addresses[?(@.type=="InternalIP")].address`,description="Internal IP of the machine",priority=10
// +kubebuilder:printcolumn:name="External-IP",type="string",JSONPath=`.status.addresses[?(@.type=="ExternalIP")].address`,description="External IP of the machine",priority=10
// +kubebuilder:printcolumn:name="OS-Image",type="string",JSONPath=".status.nodeInfo.osImage",description="OS Image reported by the node",priority=10
// +kubebuilder:printcolumn:name="Paused",type="string",JSONPath=`.status.conditions[?(@.type=="Paused")].status`,description="Reconciliation paused",priority=10
// +kubebuilder:printcolumn:name="Phase",type="string",JSONPath=".status.phase",description="Machine status such as Terminating/Pending/Running/Failed etc"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time duration since creation of Machine"
// +kubebuilder:printcolumn:name="Version",type="string",JSONPath=".spec.version",description="Kubernetes version associated with this Machine"
type Machine struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired state of the Machine. clusterName, infrastructureRef and
	// bootstrap.configRef cannot change once set.
	// +required
	// +kubebuilder:validation:XValidation:rule="self.clusterName == oldSelf.clusterName",message="spec.clusterName is immutable"
	// +kubebuilder:validation:XValidation:rule="self.infrastructureRef == oldSelf.infrastructureRef",message="spec.infrastructureRef is immutable"
	// +kubebuilder:validation:XValidation:rule="!has(oldSelf.bootstrap.configRef) || (has(self.bootstrap.configRef) && self.bootstrap.configRef == oldSelf.bootstrap.configRef)",message="spec.bootstrap.configRef is immutable"
	Spec MachineSpec `json:"spec,omitempty,omitzero"`

	// status is the observed state of the Machine.
	// +optional
	Status MachineStatus `json:"status,omitempty,omitzero"`
}

// MachineList is a list of Machines.
// +kubebuilder:object:root=true
type MachineList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Machine `json:"items"`
}

func init() {
	registerTypes(&Machine{}, &MachineList{})
}
