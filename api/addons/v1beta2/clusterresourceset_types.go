package v1beta2

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// The ResourcesApplied condition of a ClusterResourceSet and its reasons,
// with upstream's values.
const (
	// ResourcesAppliedCondition is True when every resource of the set is
	// applied to every matching Cluster whose control plane is initialized.
	ResourcesAppliedCondition = "ResourcesApplied"
	// ResourcesAppliedReason: everything is applied.
	ResourcesAppliedReason = "Applied"
	// ResourcesNotAppliedReason: a resource is missing or failed to apply to
	// a Cluster; the message names both.
	ResourcesNotAppliedReason = "NotApplied"
	// ResourcesWrongSecretTypeReason: a Secret of the set is not of type
	// addons.cluster.x-k8s.io/resource-set.
	ResourcesWrongSecretTypeReason = "WrongSecretType"
	// ResourcesInternalErrorReason: the controller could not work out the state.
	ResourcesInternalErrorReason = clusterv1.InternalErrorReason

	// ClusterResourceSetPausedCondition is True while the set is not reconciled.
	ClusterResourceSetPausedCondition = clusterv1.PausedCondition
)

const (
	// ClusterResourceSetSecretType is the only type of Secret a set applies:
	// a Secret of another type is never read, so that a set cannot be used
	// to copy arbitrary credentials into workload clusters.
	ClusterResourceSetSecretType corev1.SecretType = "addons.cluster.x-k8s.io/resource-set" //nolint:gosec // a type name, not a credential

	// ClusterResourceSetFinalizer lets the controller remove a deleted set from
	// the bindings of its Clusters.
	ClusterResourceSetFinalizer = "addons.cluster.x-k8s.io"
)

// Strategies of a ClusterResourceSet.
const (
	// ApplyOnceStrategy applies each resource to a Cluster once; later changes
	// of the resource are not applied. The default.
	ApplyOnceStrategy = "ApplyOnce"
	// ReconcileStrategy applies a resource again whenever its content changes.
	ReconcileStrategy = "Reconcile"
)

// Kinds a ClusterResourceSet takes its resources from.
const (
	SecretKind    = "Secret"
	ConfigMapKind = "ConfigMap"
)

// ClusterResourceSetSpec is the desired state of a ClusterResourceSet.
type ClusterResourceSetSpec struct {
	// clusterSelector selects the Clusters, in the set's namespace, the
	// resources are applied to. An empty selector selects none. Immutable.
	// +required
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.clusterSelector is immutable"
	ClusterSelector metav1.LabelSelector `json:"clusterSelector,omitempty,omitzero"`

	// resources are the Secrets and ConfigMaps, in the set's namespace, whose
	// data holds the manifests to apply, in this order.
	// +required
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	Resources []ResourceRef `json:"resources,omitempty"`

	// strategy is ApplyOnce (the default) or Reconcile. Immutable.
	// +optional
	// +kubebuilder:validation:Enum=ApplyOnce;Reconcile
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.strategy is immutable"
	Strategy string `json:"strategy,omitempty"`
}

// ResourceRef names a Secret or ConfigMap in the set's namespace.
type ResourceRef struct {
	// name of the Secret or ConfigMap.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name,omitempty"`

	// kind is Secret or ConfigMap.
	// +required
	// +kubebuilder:validation:Enum=Secret;ConfigMap
	Kind string `json:"kind,omitempty"`
}

// ClusterResourceSetStatus is the observed state of a ClusterResourceSet.
// +kubebuilder:validation:MinProperties=1
type ClusterResourceSetStatus struct {
	// conditions of the set: ResourcesApplied and Paused.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=32
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// observedGeneration is the generation the status was computed from.
	// +optional
	// +kubebuilder:validation:Minimum=1
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// deprecated holds v1beta1 compatibility data.
	// +optional
	Deprecated *ClusterResourceSetDeprecatedStatus `json:"deprecated,omitempty"`
}

// ClusterResourceSetDeprecatedStatus holds compatibility data for older clients.
type ClusterResourceSetDeprecatedStatus struct {
	// v1beta1 holds the status fields of the v1beta1 API.
	// +optional
	V1Beta1 *ClusterResourceSetV1Beta1DeprecatedStatus `json:"v1beta1,omitempty"`
}

// ClusterResourceSetV1Beta1DeprecatedStatus holds the v1beta1 status fields.
type ClusterResourceSetV1Beta1DeprecatedStatus struct {
	// conditions in the v1beta1 shape.
	// +optional
	Conditions clusterv1.Conditions `json:"conditions,omitempty"`
}

// ClusterResourceSet applies the manifests held in Secrets and ConfigMaps to
// every Cluster its selector matches, once the Cluster's control plane is
// initialized: addons such as a CNI, installed without a hand step.
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=clusterresourcesets,scope=Namespaced,categories=cluster-api
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Applied",type="string",JSONPath=`.status.conditions[?(@.type=="ResourcesApplied")].status`,description="Resource applied"
// +kubebuilder:printcolumn:name="Paused",type="string",JSONPath=`.status.conditions[?(@.type=="Paused")].status`,description="Reconciliation paused",priority=10
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time duration since creation of ClusterResourceSet"
type ClusterResourceSet struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired state of the ClusterResourceSet.
	// +required
	Spec ClusterResourceSetSpec `json:"spec,omitempty,omitzero"`

	// status is the observed state of the ClusterResourceSet.
	// +optional
	Status ClusterResourceSetStatus `json:"status,omitempty,omitzero"`
}

// ClusterResourceSetList is a list of ClusterResourceSets.
// +kubebuilder:object:root=true
type ClusterResourceSetList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the ClusterResourceSets.
	Items []ClusterResourceSet `json:"items"`
}

// GetConditions returns the conditions of the set.
func (s *ClusterResourceSet) GetConditions() []metav1.Condition { return s.Status.Conditions }

// SetConditions replaces the conditions of the set.
func (s *ClusterResourceSet) SetConditions(c []metav1.Condition) { s.Status.Conditions = c }

// EffectiveStrategy is the set's strategy, ApplyOnce when unset.
func (s *ClusterResourceSet) EffectiveStrategy() string {
	if s.Spec.Strategy == "" {
		return ApplyOnceStrategy
	}
	return s.Spec.Strategy
}

func init() {
	registerTypes(&ClusterResourceSet{}, &ClusterResourceSetList{})
}
