package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// KubernetesMachineTemplateSpec is the desired state of a KubernetesMachineTemplate.
// +kubebuilder:validation:XValidation:rule="!has(self.template.spec.providerID)",message="template.spec.providerID must not be set: it is set per machine"
type KubernetesMachineTemplateSpec struct {
	// template is stamped out into every KubernetesMachine made from this template.
	// +required
	Template KubernetesMachineTemplateResource `json:"template"`
}

// KubernetesMachineTemplateResource is the part of a KubernetesMachineTemplate that is
// copied into each KubernetesMachine.
type KubernetesMachineTemplateResource struct {
	// metadata holds labels and annotations put on each KubernetesMachine.
	// +optional
	Metadata clusterv1.ObjectMeta `json:"metadata,omitempty,omitzero"`

	// spec is the spec of each KubernetesMachine. It cannot change: existing machines
	// would not pick up the change, so a new template is needed to roll one out.
	// +required
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="template.spec is immutable: create a new KubernetesMachineTemplate to roll out a change"
	Spec KubernetesMachineSpec `json:"spec"`
}

// NodeInfo describes the Nodes a template makes, for the cluster autoscaler's
// scale-from-zero.
// +kubebuilder:validation:MinProperties=1
type NodeInfo struct {
	// operatingSystem of the Nodes: linux or windows. Node images are Linux.
	// +optional
	// +kubebuilder:validation:Enum=linux;windows
	OperatingSystem string `json:"operatingSystem,omitempty"`

	// architecture of the Nodes: amd64, arm64, s390x or ppc64le.
	// +optional
	// +kubebuilder:validation:Enum=amd64;arm64;s390x;ppc64le
	Architecture string `json:"architecture,omitempty"`
}

// KubernetesMachineTemplateStatus is the observed state of a KubernetesMachineTemplate.
type KubernetesMachineTemplateStatus struct {
	// capacity is what a Node made from this template offers (cpu, memory, pods),
	// derived from the template's resources. The cluster autoscaler reads it to scale a
	// node group up from zero.
	// +optional
	Capacity corev1.ResourceList `json:"capacity,omitempty"`

	// nodeInfo describes the operating system and architecture of the Nodes.
	// +optional
	NodeInfo *NodeInfo `json:"nodeInfo,omitempty"`
}

// KubernetesMachineTemplate is a template for KubernetesMachines, used by
// KubeadmControlPlanes, MachineDeployments and MachineSets.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=kubernetesmachinetemplates,scope=Namespaced,categories=cluster-api,shortName=kmt
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:metadata:labels="cluster.x-k8s.io/v1beta2=v1alpha1"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time since creation"
type KubernetesMachineTemplate struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired state of the KubernetesMachineTemplate.
	// +required
	Spec KubernetesMachineTemplateSpec `json:"spec"`

	// status is the observed state of the KubernetesMachineTemplate.
	// +optional
	Status KubernetesMachineTemplateStatus `json:"status,omitempty,omitzero"`
}

// KubernetesMachineTemplateList is a list of KubernetesMachineTemplates.
//
// +kubebuilder:object:root=true
type KubernetesMachineTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// items are the KubernetesMachineTemplates.
	Items []KubernetesMachineTemplate `json:"items"`
}

func init() {
	registerTypes(&KubernetesMachineTemplate{}, &KubernetesMachineTemplateList{})
}
