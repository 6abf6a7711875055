package v1beta2

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ResourceBinding is what one resource of a set did to the binding's Cluster.
type ResourceBinding struct {
	ResourceRef `json:",inline"`

	// hash is "sha256:" and the hex digest of the resource's data, by sorted
	// key, when it was last applied. The Reconcile strategy applies the
	// resource again when it changes.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Hash string `json:"hash,omitempty"`

	// lastAppliedTime is when the resource was last applied to the Cluster.
	// +optional
	LastAppliedTime metav1.Time `json:"lastAppliedTime,omitempty,omitzero"`

	// applied says whether the resource is applied to the Cluster.
	// +required
	Applied bool `json:"applied"`
}

// ResourceSetBinding records the resources of one set applied to the Cluster.
type ResourceSetBinding struct {
	// clusterResourceSetName is the name of the set.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	ClusterResourceSetName string `json:"clusterResourceSetName"`

	// resources of the set, as applied to the Cluster.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=100
	Resources []ResourceBinding `json:"resources,omitempty"`
}

// ClusterResourceSetBindingSpec lists the sets applied to one Cluster.
type ClusterResourceSetBindingSpec struct {
	// bindings are the sets that match the Cluster, with their resources.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=100
	Bindings []ResourceSetBinding `json:"bindings,omitempty"`

	// clusterName is the name of the Cluster the binding is for.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	ClusterName string `json:"clusterName"`
}

// ClusterResourceSetBinding records, for one Cluster (whose name it has),
// which resources of which ClusterResourceSets were applied to it and when.
// It is deleted with its Cluster.
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=clusterresourcesetbindings,scope=Namespaced,categories=cluster-api
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time duration since creation of ClusterResourceSetBinding"
type ClusterResourceSetBinding struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the state of the binding.
	// +required
	Spec ClusterResourceSetBindingSpec `json:"spec,omitempty,omitzero"`
}

// ClusterResourceSetBindingList is a list of ClusterResourceSetBindings.
// +kubebuilder:object:root=true
type ClusterResourceSetBindingList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the ClusterResourceSetBindings.
	Items []ClusterResourceSetBinding `json:"items"`
}

// Binding returns the entry of the named set, or nil.
func (b *ClusterResourceSetBinding) Binding(set string) *ResourceSetBinding {
	for i := range b.Spec.Bindings {
		if b.Spec.Bindings[i].ClusterResourceSetName == set {
			return &b.Spec.Bindings[i]
		}
	}
	return nil
}

// Resource returns the record of a resource, or nil.
func (r *ResourceSetBinding) Resource(ref ResourceRef) *ResourceBinding {
	for i := range r.Resources {
		if r.Resources[i].ResourceRef == ref {
			return &r.Resources[i]
		}
	}
	return nil
}

func init() {
	registerTypes(&ClusterResourceSetBinding{}, &ClusterResourceSetBindingList{})
}
