package v1beta2

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PodDrainLabel on a workload-cluster Pod says how a drain treats it, before
// any MachineDrainRule: "skip" or "wait-completed".
const PodDrainLabel = "cluster.x-k8s.io/drain"

// MachineDrainRuleDrainBehavior says what a drain does with a Pod.
// +kubebuilder:validation:Enum=Drain;Skip;WaitCompleted
type MachineDrainRuleDrainBehavior string

// Drain behaviors.
const (
	// MachineDrainRuleDrainBehaviorDrain evicts the Pod, in the order of its group.
	MachineDrainRuleDrainBehaviorDrain MachineDrainRuleDrainBehavior = "Drain"
	// MachineDrainRuleDrainBehaviorSkip leaves the Pod alone.
	MachineDrainRuleDrainBehaviorSkip MachineDrainRuleDrainBehavior = "Skip"
	// MachineDrainRuleDrainBehaviorWaitCompleted never evicts the Pod, and the
	// drain waits until it has completed.
	MachineDrainRuleDrainBehaviorWaitCompleted MachineDrainRuleDrainBehavior = "WaitCompleted"
)

// MachineDrainRuleSpec says which Pods of which Machines a drain treats how.
type MachineDrainRuleSpec struct {
	// drain says whether and in which order the selected Pods are drained.
	// +required
	Drain MachineDrainRuleDrainConfig `json:"drain,omitempty,omitzero"`

	// machines selects the Machines, in the rule's namespace, whose drains
	// the rule applies to; any of the entries. Unset: every Machine.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:XValidation:rule="self.all(x, self.exists_one(y, x == y))",message="entries in machines must be unique"
	Machines []MachineDrainRuleMachineSelector `json:"machines,omitempty"`

	// pods selects the workload-cluster Pods the rule applies to; any of the
	// entries. Unset: every Pod.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:XValidation:rule="self.all(x, self.exists_one(y, x == y))",message="entries in pods must be unique"
	Pods []MachineDrainRulePodSelector `json:"pods,omitempty"`
}

// MachineDrainRuleDrainConfig says whether and in which order Pods are drained.
// +kubebuilder:validation:XValidation:rule="!has(self.order) || self.behavior == 'Drain'",message="order can only be set if behavior is Drain"
type MachineDrainRuleDrainConfig struct {
	// behavior is Drain, Skip or WaitCompleted. With Drain, the Pods of a Node
	// are evicted by groups of the same order, lowest first; a group starts
	// once the Pods of the groups before it are gone.
	// +required
	Behavior MachineDrainRuleDrainBehavior `json:"behavior"`

	// order of the selected Pods' group, with behavior Drain; 0 when unset.
	// +optional
	Order *int32 `json:"order,omitempty"`
}

// MachineDrainRuleMachineSelector selects Machines by their labels and their Cluster's.
// +kubebuilder:validation:MinProperties=1
type MachineDrainRuleMachineSelector struct {
	// selector matches the Machine's labels; unset or empty matches all.
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`

	// clusterSelector matches the labels of the Machine's Cluster; unset or empty matches all.
	// +optional
	ClusterSelector *metav1.LabelSelector `json:"clusterSelector,omitempty"`
}

// MachineDrainRulePodSelector selects Pods by their labels and their Namespace's.
// +kubebuilder:validation:MinProperties=1
type MachineDrainRulePodSelector struct {
	// selector matches the Pod's labels; unset or empty matches all.
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`

	// namespaceSelector matches the labels of the Pod's Namespace; unset or empty matches all.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
}

// MachineDrainRule says how the drain of a Machine's Node treats some of its
// Pods: skip them, wait for them to complete, or evict them in an order.
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=machinedrainrules,scope=Namespaced,categories=cluster-api
// +kubebuilder:storageversion
// +kubebuilder:printcolumn:name="Behavior",type="string",JSONPath=".spec.drain.behavior",description="Drain behavior"
// +kubebuilder:printcolumn:name="Order",type="string",JSONPath=".spec.drain.order",description="Drain order"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time duration since creation of the MachineDrainRule"
type MachineDrainRule struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec says how the drain treats the selected Pods.
	// +required
	Spec MachineDrainRuleSpec `json:"spec,omitempty,omitzero"`
}

// MachineDrainRuleList is a list of MachineDrainRules.
// +kubebuilder:object:root=true
type MachineDrainRuleList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the MachineDrainRules.
	Items []MachineDrainRule `json:"items"`
}

func init() {
	registerTypes(&MachineDrainRule{}, &MachineDrainRuleList{})
}
