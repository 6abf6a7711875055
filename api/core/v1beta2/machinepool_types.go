package v1beta2

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MachinePoolPhase is the coarse state of a MachinePool, for people and kubectl
// columns. Controllers decide on conditions, never on the phase.
// +kubebuilder:validation:Enum=Pending;Provisioning;Provisioned;Running;ScalingUp;ScalingDown;Scaling;Deleting;Failed;Unknown
type MachinePoolPhase string

// MachinePool phases, with upstream's values.
const (
	MachinePoolPhasePending      MachinePoolPhase = "Pending"
	MachinePoolPhaseProvisioning MachinePoolPhase = "Provisioning"
	MachinePoolPhaseProvisioned  MachinePoolPhase = "Provisioned"
	MachinePoolPhaseRunning      MachinePoolPhase = "Running"
	MachinePoolPhaseScalingUp    MachinePoolPhase = "ScalingUp"
	MachinePoolPhaseScalingDown  MachinePoolPhase = "ScalingDown"
	// MachinePoolPhaseScaling is used while an external autoscaler changes the pool.
	MachinePoolPhaseScaling  MachinePoolPhase = "Scaling"
	MachinePoolPhaseDeleting MachinePoolPhase = "Deleting"
	// MachinePoolPhaseFailed is kept for objects converted from v1beta1 only.
	MachinePoolPhaseFailed  MachinePoolPhase = "Failed"
	MachinePoolPhaseUnknown MachinePoolPhase = "Unknown"
)

// MachinePoolSpec is the desired state of a MachinePool: a group of machines
// that one infrastructure object (a cloud's scale set, say) provides as a whole.
// +kubebuilder:validation:XValidation:rule="self.template.spec.clusterName == self.clusterName",message="spec.template.spec.clusterName must equal spec.clusterName"
type MachinePoolSpec struct {
	// clusterName is the name of the Cluster this MachinePool belongs to. It is immutable.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.clusterName is immutable"
	ClusterName string `json:"clusterName"`

	// replicas is the number of machines wanted; 1 when unset.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Replicas *int32 `json:"replicas,omitempty"`

	// template describes the machines of the pool: its spec.infrastructureRef
	// names the pool's infrastructure object and spec.bootstrap its bootstrap
	// config. Machine settings such as minReadySeconds live in template.spec.
	// +required
	Template MachineTemplateSpec `json:"template,omitempty,omitzero"`

	// providerIDList are the provider IDs of the pool's machine instances, as the
	// infrastructure provider reports them; each equals the spec.providerID of
	// the instance's Node.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=10000
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=512
	ProviderIDList []string `json:"providerIDList,omitempty"`

	// failureDomains are the failure domains the pool's machines may be placed in.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	FailureDomains []string `json:"failureDomains,omitempty"`
}

// MachinePoolStatus is the observed state of a MachinePool.
// +kubebuilder:validation:MinProperties=1
type MachinePoolStatus struct {
	// conditions are the current observations of the MachinePool. Upstream's
	// types are Available, BootstrapConfigReady, InfrastructureReady,
	// MachinesReady, MachinesUpToDate, ScalingUp, ScalingDown, Remediating,
	// Deleting and Paused.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=32
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// initialization reports the steps of the first provisioning, which the
	// contract between providers relies on.
	// +optional
	Initialization MachinePoolInitializationStatus `json:"initialization,omitempty,omitzero"`

	// nodeRefs are the Nodes of the pool's machine instances.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=10000
	NodeRefs []corev1.ObjectReference `json:"nodeRefs,omitempty"`

	// replicas is the number of machine instances that exist.
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// readyReplicas is the number of machines whose Ready condition is True.
	// +optional
	ReadyReplicas *int32 `json:"readyReplicas,omitempty"`

	// availableReplicas is the number of machines whose Available condition is True.
	// +optional
	AvailableReplicas *int32 `json:"availableReplicas,omitempty"`

	// upToDateReplicas is the number of machines whose UpToDate condition is True.
	// +optional
	UpToDateReplicas *int32 `json:"upToDateReplicas,omitempty"`

	// versions counts the pool's machines per Kubernetes version.
	// +optional
	// +listType=map
	// +listMapKey=version
	// +kubebuilder:validation:MaxItems=100
	Versions []StatusVersion `json:"versions,omitempty"`

	// phase is the coarse state of the pool (Pending, Provisioning, Provisioned,
	// Running, ScalingUp, ScalingDown, Scaling, Deleting, Failed or Unknown).
	// +optional
	Phase MachinePoolPhase `json:"phase,omitempty"`

	// observedGeneration is the generation the status was computed from.
	// +optional
	// +kubebuilder:validation:Minimum=1
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// deprecated holds v1beta1 compatibility data.
	// +optional
	Deprecated *MachinePoolDeprecatedStatus `json:"deprecated,omitempty"`
}

// MachinePoolInitializationStatus reports the steps of a MachinePool's first
// provisioning. Each field turns true once and is never reset.
// +kubebuilder:validation:MinProperties=1
type MachinePoolInitializationStatus struct {
	// infrastructureProvisioned is true once the infrastructure provider reports
	// the pool's infrastructure provisioned.
	// +optional
	InfrastructureProvisioned *bool `json:"infrastructureProvisioned,omitempty"`

	// bootstrapDataSecretCreated is true once the bootstrap provider reports the
	// pool's bootstrap data Secret created.
	// +optional
	BootstrapDataSecretCreated *bool `json:"bootstrapDataSecretCreated,omitempty"`
}

// MachinePoolDeprecatedStatus holds compatibility data for older clients.
type MachinePoolDeprecatedStatus struct {
	// v1beta1 holds the status fields of the v1beta1 API.
	// +optional
	V1Beta1 *MachinePoolV1Beta1DeprecatedStatus `json:"v1beta1,omitempty"`
}

// MachinePoolV1Beta1DeprecatedStatus holds the v1beta1 status fields of a MachinePool.
type MachinePoolV1Beta1DeprecatedStatus struct {
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

	// readyReplicas is the number of machines whose Node is Ready.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`

	// availableReplicas is the number of machines Ready for at least minReadySeconds.
	// +optional
	AvailableReplicas int32 `json:"availableReplicas,omitempty"`

	// unavailableReplicas is the number of machines still missing for the pool
	// to be fully available: not yet available, or not yet created.
	// +optional
	UnavailableReplicas int32 `json:"unavailableReplicas,omitempty"`
}

// MachinePool is a group of machines that one infrastructure object provides
// as a whole. podcluster serves the kind so that tools written for upstream
// Cluster API, which always installs it and lists it (clusterctl describe
// does), work; no podcluster controller acts on MachinePools yet (see
// docs/decisions.md).
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=machinepools,shortName=mp,scope=Namespaced,categories=cluster-api
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.replicas,statuspath=.status.replicas
// +kubebuilder:printcolumn:name="Cluster",type="string",JSONPath=".spec.clusterName",description="Cluster"
// +kubebuilder:printcolumn:name="Desired",type=integer,JSONPath=".spec.replicas",description="The desired number of machines"
// +kubebuilder:printcolumn:name="Current",type="integer",JSONPath=".status.replicas",description="The number of machines"
// +kubebuilder:printcolumn:name="Ready",type="integer",JSONPath=".status.readyReplicas",description="The number of machines with Ready condition true"
// +kubebuilder:printcolumn:name="Available",type=integer,JSONPath=".status.availableReplicas",description="The number of machines with Available condition true"
// +kubebuilder:printcolumn:name="Up-to-date",type=integer,JSONPath=".status.upToDateReplicas",description="The number of machines with UpToDate condition true"
// +kubebuilder:printcolumn:name="Paused",type="string",JSONPath=`.status.conditions[?(@.type=="Paused")].status`,description="Reconciliation paused",priority=10
// +kubebuilder:printcolumn:name="Phase",type="string",JSONPath=".status.phase",description="MachinePool status such as Pending/Provisioning/Running/Deleting"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time duration since creation of MachinePool"
// +kubebuilder:printcolumn:name="Version",type="string",JSONPath=".spec.template.spec.version",description="Kubernetes version associated with this MachinePool"
type MachinePool struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired state of the MachinePool.
	// +required
	Spec MachinePoolSpec `json:"spec,omitempty,omitzero"`

	// status is the observed state of the MachinePool.
	// +optional
	Status MachinePoolStatus `json:"status,omitempty,omitzero"`
}

// MachinePoolList is a list of MachinePools.
// +kubebuilder:object:root=true
type MachinePoolList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MachinePool `json:"items"`
}

func init() {
	registerTypes(&MachinePool{}, &MachinePoolList{})
}
