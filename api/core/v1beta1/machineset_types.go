package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// MachineSetSpec is the desired state of a MachineSet.
type MachineSetSpec struct {
	// clusterName is the name of the Cluster this MachineSet belongs to.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	ClusterName string `json:"clusterName"`

	// replicas is how many Machines to keep.
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// minReadySeconds is how long a new Machine must be Ready to count as available.
	// +optional
	MinReadySeconds int32 `json:"minReadySeconds,omitempty"`

	// deletePolicy picks the Machines to delete when scaling down: Random, Newest or Oldest.
	// +optional
	// +kubebuilder:validation:Enum=Random;Newest;Oldest
	DeletePolicy string `json:"deletePolicy,omitempty"`

	// selector selects the Machines of this MachineSet.
	// +required
	Selector metav1.LabelSelector `json:"selector"`

	// template describes the Machines to create.
	// +optional
	Template MachineTemplateSpec `json:"template,omitempty"`

	// machineNamingStrategy says how Machines are named.
	// +optional
	MachineNamingStrategy *MachineNamingStrategy `json:"machineNamingStrategy,omitempty"`
}

// MachineNamingStrategy says how Machines are named.
type MachineNamingStrategy struct {
	// template is the name template, for example "{{ .machineSet.name }}-{{ .random }}".
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Template *string `json:"template,omitempty"`
}

// MachineSetStatus is the observed state of a MachineSet.
type MachineSetStatus struct {
	// selector is the label selector in string form, for the scale subresource.
	// +optional
	Selector string `json:"selector,omitempty"`
	// replicas is how many Machines exist.
	// +optional
	Replicas int32 `json:"replicas"`
	// fullyLabeledReplicas is how many Machines carry the template's labels.
	// +optional
	FullyLabeledReplicas int32 `json:"fullyLabeledReplicas,omitempty"`
	// readyReplicas is how many Machines have a Ready node, in the v1beta1 sense.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`
	// availableReplicas is how many Machines are available, in the v1beta1 sense.
	// +optional
	AvailableReplicas int32 `json:"availableReplicas,omitempty"`
	// observedGeneration is the generation the controller last acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// failureReason is a terminal problem, deprecated.
	// +optional
	FailureReason *string `json:"failureReason,omitempty"`
	// failureMessage explains failureReason, deprecated.
	// +optional
	FailureMessage *string `json:"failureMessage,omitempty"`
	// conditions are the MachineSet's conditions in the v1beta1 shape.
	// +optional
	Conditions clusterv1.Conditions `json:"conditions,omitempty"`
	// v1beta2 holds the status in the v1beta2 shape.
	// +optional
	V1Beta2 *ReplicasV1Beta2Status `json:"v1beta2,omitempty"`
}

// ReplicasV1Beta2Status is the v1beta2 status of a MachineSet or MachineDeployment.
type ReplicasV1Beta2Status struct {
	// conditions are the object's conditions in the metav1.Condition shape.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=32
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// readyReplicas is how many Machines have Ready true.
	// +optional
	ReadyReplicas *int32 `json:"readyReplicas,omitempty"`
	// availableReplicas is how many Machines have Available true.
	// +optional
	AvailableReplicas *int32 `json:"availableReplicas,omitempty"`
	// upToDateReplicas is how many Machines have UpToDate true.
	// +optional
	UpToDateReplicas *int32 `json:"upToDateReplicas,omitempty"`
}

// MachineSet keeps a number of identical Machines, in the v1beta1 shape.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=machinesets,shortName=ms,scope=Namespaced,categories=cluster-api
// +kubebuilder:unservedversion
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.replicas,statuspath=.status.replicas,selectorpath=.status.selector
// +kubebuilder:deprecatedversion
// +kubebuilder:printcolumn:name="Cluster",type="string",JSONPath=".spec.clusterName",description="Cluster"
// +kubebuilder:printcolumn:name="Replicas",type="integer",JSONPath=".status.replicas",description="Total number of machines"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time duration since creation of MachineSet"
type MachineSet struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired state of the MachineSet.
	// +optional
	Spec MachineSetSpec `json:"spec,omitempty"`
	// status is the observed state of the MachineSet.
	// +optional
	Status MachineSetStatus `json:"status,omitempty,omitzero"`
}

// MachineSetList is a list of MachineSets.
//
// +kubebuilder:object:root=true
type MachineSetList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MachineSet `json:"items"`
}
