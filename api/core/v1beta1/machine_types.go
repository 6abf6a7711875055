package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// MachineSpec is the desired state of a Machine.
type MachineSpec struct {
	// clusterName is the name of the Cluster this Machine belongs to.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	ClusterName string `json:"clusterName"`

	// bootstrap says where the Machine's bootstrap data comes from.
	// +required
	Bootstrap Bootstrap `json:"bootstrap"`

	// infrastructureRef points to the infrastructure provider's machine object.
	// +required
	InfrastructureRef corev1.ObjectReference `json:"infrastructureRef"`

	// version is the Kubernetes version of the Machine's node.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Version *string `json:"version,omitempty"`

	// providerID is the infrastructure provider's ID of the node.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	ProviderID *string `json:"providerID,omitempty"`

	// failureDomain is the failure domain the Machine should be placed in.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	FailureDomain *string `json:"failureDomain,omitempty"`

	// readinessGates are extra conditions the Machine's Ready condition requires.
	// +optional
	// +listType=map
	// +listMapKey=conditionType
	// +kubebuilder:validation:MaxItems=32
	ReadinessGates []clusterv1.MachineReadinessGate `json:"readinessGates,omitempty"`

	// nodeDrainTimeout is how long draining the node may take; unset or 0 waits forever.
	// +optional
	NodeDrainTimeout *Duration `json:"nodeDrainTimeout,omitempty"`

	// nodeVolumeDetachTimeout is how long waiting for volumes to detach may take; unset or 0 waits forever.
	// +optional
	NodeVolumeDetachTimeout *Duration `json:"nodeVolumeDetachTimeout,omitempty"`

	// nodeDeletionTimeout is how long deleting the Node may be retried; 0 retries forever.
	// +optional
	NodeDeletionTimeout *Duration `json:"nodeDeletionTimeout,omitempty"`
}

// Bootstrap says where a Machine's bootstrap data comes from.
type Bootstrap struct {
	// configRef points to the bootstrap provider's config object.
	// +optional
	ConfigRef *corev1.ObjectReference `json:"configRef,omitempty"`

	// dataSecretName names a Secret that already holds the bootstrap data.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	DataSecretName *string `json:"dataSecretName,omitempty"`
}

// MachineStatus is the observed state of a Machine.
type MachineStatus struct {
	// nodeRef points to the Machine's Node.
	// +optional
	NodeRef *corev1.ObjectReference `json:"nodeRef,omitempty"`

	// nodeInfo is the Node's system information.
	// +optional
	NodeInfo *corev1.NodeSystemInfo `json:"nodeInfo,omitempty"`

	// lastUpdated is when the phase last changed.
	// +optional
	LastUpdated *metav1.Time `json:"lastUpdated,omitempty"`

	// failureReason is a terminal problem, deprecated.
	// +optional
	FailureReason *string `json:"failureReason,omitempty"`

	// failureMessage explains failureReason, deprecated.
	// +optional
	FailureMessage *string `json:"failureMessage,omitempty"`

	// addresses are the Machine's addresses.
	// +optional
	Addresses clusterv1.MachineAddresses `json:"addresses,omitempty"`

	// phase is the Machine's phase.
	// +optional
	Phase string `json:"phase,omitempty"`

	// certificatesExpiryDate is when the Machine's certificates expire.
	// +optional
	CertificatesExpiryDate *metav1.Time `json:"certificatesExpiryDate,omitempty"`

	// bootstrapReady says whether the bootstrap data is ready.
	// +optional
	BootstrapReady bool `json:"bootstrapReady"`

	// infrastructureReady says whether the infrastructure is ready.
	// +optional
	InfrastructureReady bool `json:"infrastructureReady"`

	// observedGeneration is the generation the controller last acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions are the Machine's conditions in the v1beta1 shape.
	// +optional
	Conditions clusterv1.Conditions `json:"conditions,omitempty"`

	// deletion records when the steps of deleting the Machine started.
	// +optional
	Deletion *MachineDeletionStatus `json:"deletion,omitempty"`

	// v1beta2 holds the status in the v1beta2 shape.
	// +optional
	V1Beta2 *V1Beta2Conditions `json:"v1beta2,omitempty"`
}

// MachineDeletionStatus records when the steps of deleting a Machine started.
type MachineDeletionStatus struct {
	// nodeDrainStartTime is when draining the node started.
	// +optional
	NodeDrainStartTime *metav1.Time `json:"nodeDrainStartTime,omitempty"`

	// waitForNodeVolumeDetachStartTime is when waiting for volumes to detach started.
	// +optional
	WaitForNodeVolumeDetachStartTime *metav1.Time `json:"waitForNodeVolumeDetachStartTime,omitempty"`
}

// V1Beta2Conditions holds conditions in the metav1.Condition shape.
type V1Beta2Conditions struct {
	// conditions are the object's conditions in the metav1.Condition shape.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=32
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// MachineTemplateSpec describes the Machines to create.
type MachineTemplateSpec struct {
	// metadata are the labels and annotations of the Machines.
	// +optional
	ObjectMeta clusterv1.ObjectMeta `json:"metadata,omitempty,omitzero"`

	// spec is the Machines' spec.
	// +optional
	Spec MachineSpec `json:"spec,omitempty"`
}

// Machine is one node of a cluster, in the v1beta1 shape.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=machines,shortName=ma,scope=Namespaced,categories=cluster-api
// +kubebuilder:unservedversion
// +kubebuilder:subresource:status
// +kubebuilder:deprecatedversion
// +kubebuilder:printcolumn:name="Cluster",type="string",JSONPath=".spec.clusterName",description="Cluster"
// +kubebuilder:printcolumn:name="NodeName",type="string",JSONPath=".status.nodeRef.name",description="Node name associated with this machine"
// +kubebuilder:printcolumn:name="ProviderID",type="string",JSONPath=".spec.providerID",description="Provider ID"
// +kubebuilder:printcolumn:name="Phase",type="string",JSONPath=".status.phase",description="Machine status such as Terminating/Pending/Running/Failed etc"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time duration since creation of Machine"
// +kubebuilder:printcolumn:name="Version",type="string",JSONPath=".spec.version",description="Kubernetes version associated with this Machine"
type Machine struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired state of the Machine.
	// +optional
	Spec MachineSpec `json:"spec,omitempty"`
	// status is the observed state of the Machine.
	// +optional
	Status MachineStatus `json:"status,omitempty,omitzero"`
}

// MachineList is a list of Machines.
//
// +kubebuilder:object:root=true
type MachineList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Machine `json:"items"`
}
