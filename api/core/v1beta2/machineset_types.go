package v1beta2

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MachineSetFinalizer is the finalizer the MachineSet controller uses to delete its Machines first.
const MachineSetFinalizer = "cluster.x-k8s.io/machineset"

// MachineSet conditions.
const (
	MachineSetMachinesReadyCondition    = "MachinesReady"
	MachineSetMachinesUpToDateCondition = "MachinesUpToDate"
	MachineSetScalingUpCondition        = ScalingUpCondition
	MachineSetScalingDownCondition      = ScalingDownCondition
	MachineSetRemediatingCondition      = RemediatingCondition
	MachineSetDeletingCondition         = DeletingCondition
	MachineSetPausedCondition           = PausedCondition
)

// MachineSetDeletionOrder picks which Machines go first when a MachineSet scales down.
// +kubebuilder:validation:Enum=Random;Newest;Oldest
type MachineSetDeletionOrder string

// Deletion orders.
const (
	// RandomMachineSetDeletionOrder deletes Machines in no particular order (after the
	// ones marked for deletion and the unhealthy ones).
	RandomMachineSetDeletionOrder MachineSetDeletionOrder = "Random"
	// NewestMachineSetDeletionOrder deletes the newest Machines first.
	NewestMachineSetDeletionOrder MachineSetDeletionOrder = "Newest"
	// OldestMachineSetDeletionOrder deletes the oldest Machines first.
	OldestMachineSetDeletionOrder MachineSetDeletionOrder = "Oldest"
)

// MachineSetSpec is the desired state of a MachineSet.
// +kubebuilder:validation:XValidation:rule="self.template.spec.clusterName == self.clusterName",message="spec.template.spec.clusterName must equal spec.clusterName"
// +kubebuilder:validation:XValidation:rule="!has(self.selector.matchLabels) || self.selector.matchLabels.all(k, has(self.template.metadata) && has(self.template.metadata.labels) && k in self.template.metadata.labels && self.template.metadata.labels[k] == self.selector.matchLabels[k])",message="spec.selector.matchLabels must match spec.template.metadata.labels"
type MachineSetSpec struct {
	// clusterName is the name of the Cluster this MachineSet belongs to. It is immutable.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.clusterName is immutable"
	ClusterName string `json:"clusterName"`

	// replicas is the number of Machines wanted. When unset it defaults to the
	// autoscaler's min-size annotation if present, otherwise to 1.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Replicas *int32 `json:"replicas,omitempty"`

	// selector selects the Machines this MachineSet owns. It must match the template's labels.
	// +required
	Selector LabelSelector `json:"selector"`

	// template is the Machine the MachineSet creates.
	// +required
	Template MachineTemplateSpec `json:"template,omitempty,omitzero"`

	// machineNaming says how the MachineSet names its Machines.
	// +optional
	MachineNaming MachineNamingSpec `json:"machineNaming,omitempty,omitzero"`

	// deletion says which Machines go first when scaling down.
	// +optional
	Deletion MachineSetDeletionSpec `json:"deletion,omitempty,omitzero"`
}

// MachineNamingSpec says how Machines are named.
// +kubebuilder:validation:MinProperties=1
type MachineNamingSpec struct {
	// template is a Go text/template for Machine names. It may use {{ .cluster.name }},
	// {{ .machineSet.name }} (or {{ .kubeadmControlPlane.name }}) and must use
	// {{ .random }}. The default is "{{ .machineSet.name }}-{{ .random }}".
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Template string `json:"template,omitempty"`
}

// MachineSetDeletionSpec says which Machines go first when scaling down.
// +kubebuilder:validation:MinProperties=1
type MachineSetDeletionSpec struct {
	// order is Random (the default), Newest or Oldest. Machines annotated with
	// cluster.x-k8s.io/delete-machine go first, then unhealthy ones, whatever the order.
	// +optional
	Order MachineSetDeletionOrder `json:"order,omitempty"`
}

// MachineSetStatus is the observed state of a MachineSet.
// +kubebuilder:validation:MinProperties=1
type MachineSetStatus struct {
	// conditions are the current observations of the MachineSet.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=32
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// selector is the label selector of the Machines, in string form, for the scale subresource.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Selector string `json:"selector,omitempty"`

	// replicas is the number of Machines that exist.
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// readyReplicas is the number of Machines whose Ready condition is True.
	// +optional
	ReadyReplicas *int32 `json:"readyReplicas,omitempty"`

	// availableReplicas is the number of Machines whose Available condition is True.
	// +optional
	AvailableReplicas *int32 `json:"availableReplicas,omitempty"`

	// upToDateReplicas is the number of Machines whose UpToDate condition is True.
	// +optional
	UpToDateReplicas *int32 `json:"upToDateReplicas,omitempty"`

	// versions counts the Machines per Kubernetes version.
	// +optional
	// +listType=map
	// +listMapKey=version
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	Versions []StatusVersion `json:"versions,omitempty"`

	// observedGeneration is the generation the status was computed from.
	// +optional
	// +kubebuilder:validation:Minimum=1
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// deprecated holds v1beta1 compatibility data.
	// +optional
	Deprecated *MachineSetDeprecatedStatus `json:"deprecated,omitempty"`
}

// MachineSetDeprecatedStatus holds compatibility data for older clients.
type MachineSetDeprecatedStatus struct {
	// v1beta1 holds the status fields of the v1beta1 API.
	// +optional
	V1Beta1 *MachineSetV1Beta1DeprecatedStatus `json:"v1beta1,omitempty"`
}

// MachineSetV1Beta1DeprecatedStatus holds the v1beta1 status fields of a MachineSet.
type MachineSetV1Beta1DeprecatedStatus struct {
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

	// fullyLabeledReplicas is the number of Machines whose labels match the template's.
	// +optional
	FullyLabeledReplicas int32 `json:"fullyLabeledReplicas"`

	// readyReplicas is the number of Machines whose Node is Ready.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas"`

	// availableReplicas is the number of Machines available for at least minReadySeconds.
	// +optional
	AvailableReplicas int32 `json:"availableReplicas"`
}

// MachineSet keeps a number of identical Machines.
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=machinesets,shortName=ms,scope=Namespaced,categories=cluster-api
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.replicas,statuspath=.status.replicas,selectorpath=.status.selector
// +kubebuilder:printcolumn:name="Cluster",type="string",JSONPath=".spec.clusterName",description="Cluster"
// +kubebuilder:printcolumn:name="Desired",type=integer,JSONPath=".spec.replicas",description="The desired number of machines"
// +kubebuilder:printcolumn:name="Current",type="integer",JSONPath=".status.replicas",description="The number of machines"
// +kubebuilder:printcolumn:name="Ready",type="integer",JSONPath=".status.readyReplicas",description="The number of machines with Ready condition true"
// +kubebuilder:printcolumn:name="Available",type=integer,JSONPath=".status.availableReplicas",description="The number of machines with Available condition true"
// +kubebuilder:printcolumn:name="Up-to-date",type=integer,JSONPath=".status.upToDateReplicas",description="The number of machines with UpToDate condition true"
// +kubebuilder:printcolumn:name="Paused",type="string",JSONPath=`.status.conditions[?(@.type=="Paused")].status`,description="Reconciliation paused",priority=10
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time duration since creation of MachineSet"
// +kubebuilder:printcolumn:name="Version",type="string",JSONPath=".spec.template.spec.version",description="Kubernetes version associated with this MachineSet"
type MachineSet struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired state of the MachineSet.
	// +required
	Spec MachineSetSpec `json:"spec,omitempty,omitzero"`

	// status is the observed state of the MachineSet.
	// +optional
	Status MachineSetStatus `json:"status,omitempty,omitzero"`
}

// MachineSetList is a list of MachineSets.
// +kubebuilder:object:root=true
type MachineSetList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MachineSet `json:"items"`
}

func init() {
	registerTypes(&MachineSet{}, &MachineSetList{})
}
