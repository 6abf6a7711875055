package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// MachinePoolSpec is the desired state of a MachinePool.
type MachinePoolSpec struct {
	// clusterName is the name of the Cluster this MachinePool belongs to.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	ClusterName string `json:"clusterName"`

	// replicas is how many machines the pool should have.
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// template describes the pool's machines.
	// +required
	Template MachineTemplateSpec `json:"template"`

	// minReadySeconds is how long a new machine must be Ready to count as available.
	// +optional
	MinReadySeconds *int32 `json:"minReadySeconds,omitempty"`

	// providerIDList are the provider IDs of the pool's machines.
	// +optional
	// +kubebuilder:validation:MaxItems=10000
	// +kubebuilder:validation:items:MaxLength=512
	ProviderIDList []string `json:"providerIDList,omitempty"`

	// failureDomains are the failure domains the pool's machines may be placed in.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MaxLength=256
	FailureDomains []string `json:"failureDomains,omitempty"`
}

// MachinePoolStatus is the observed state of a MachinePool.
type MachinePoolStatus struct {
	// nodeRefs point to the pool's Nodes.
	// +optional
	// +kubebuilder:validation:MaxItems=10000
	NodeRefs []corev1.ObjectReference `json:"nodeRefs,omitempty"`
	// replicas is how many machines the pool has.
	// +optional
	Replicas int32 `json:"replicas,omitempty"`
	// readyReplicas is how many are ready, in the v1beta1 sense.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`
	// availableReplicas is how many are available, in the v1beta1 sense.
	// +optional
	AvailableReplicas int32 `json:"availableReplicas,omitempty"`
	// unavailableReplicas is how many are not available yet.
	// +optional
	UnavailableReplicas int32 `json:"unavailableReplicas,omitempty"`
	// failureReason is a terminal problem, deprecated.
	// +optional
	FailureReason *string `json:"failureReason,omitempty"`
	// failureMessage explains failureReason, deprecated.
	// +optional
	FailureMessage *string `json:"failureMessage,omitempty"`
	// phase is the pool's phase.
	// +optional
	Phase string `json:"phase,omitempty"`
	// bootstrapReady says whether the bootstrap data is ready.
	// +optional
	BootstrapReady bool `json:"bootstrapReady"`
	// infrastructureReady says whether the infrastructure is ready.
	// +optional
	InfrastructureReady bool `json:"infrastructureReady"`
	// observedGeneration is the generation the controller last acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// conditions are the pool's conditions in the v1beta1 shape.
	// +optional
	Conditions clusterv1.Conditions `json:"conditions,omitempty"`
	// v1beta2 holds the status in the v1beta2 shape.
	// +optional
	V1Beta2 *ReplicasV1Beta2Status `json:"v1beta2,omitempty"`
}

// MachinePool is a group of machines an infrastructure provider scales as one, in the v1beta1 shape.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=machinepools,shortName=mp,scope=Namespaced,categories=cluster-api
// +kubebuilder:unservedversion
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.replicas,statuspath=.status.replicas
// +kubebuilder:deprecatedversion
// +kubebuilder:printcolumn:name="Cluster",type="string",JSONPath=".spec.clusterName",description="Cluster"
// +kubebuilder:printcolumn:name="Replicas",type="string",JSONPath=".status.replicas",description="MachinePool replicas count"
// +kubebuilder:printcolumn:name="Phase",type="string",JSONPath=".status.phase",description="MachinePool status such as Terminating/Pending/Provisioning/Running/Failed etc"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time duration since creation of MachinePool"
// +kubebuilder:printcolumn:name="Version",type="string",JSONPath=".spec.template.spec.version",description="Kubernetes version associated with this MachinePool"
type MachinePool struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired state of the MachinePool.
	// +optional
	Spec MachinePoolSpec `json:"spec,omitempty"`
	// status is the observed state of the MachinePool.
	// +optional
	Status MachinePoolStatus `json:"status,omitempty,omitzero"`
}

// MachinePoolList is a list of MachinePools.
//
// +kubebuilder:object:root=true
type MachinePoolList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MachinePool `json:"items"`
}

// MachineDrainRule says how to drain the Pods of some Nodes, in the v1beta1
// shape, which is the v1beta2 shape.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=machinedrainrules,scope=Namespaced,categories=cluster-api
// +kubebuilder:unservedversion
// +kubebuilder:deprecatedversion
// +kubebuilder:printcolumn:name="Behavior",type="string",JSONPath=".spec.drain.behavior",description="Drain behavior"
// +kubebuilder:printcolumn:name="Order",type="string",JSONPath=".spec.drain.order",description="Drain order"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time duration since creation of the MachineDrainRule"
type MachineDrainRule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the drain rule.
	// +required
	Spec clusterv1.MachineDrainRuleSpec `json:"spec,omitempty,omitzero"`
}

// MachineDrainRuleList is a list of MachineDrainRules.
//
// +kubebuilder:object:root=true
type MachineDrainRuleList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MachineDrainRule `json:"items"`
}
