package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// KubeadmConfigSpec is the desired state of a KubeadmConfig.
type KubeadmConfigSpec struct {
	// clusterConfiguration is kubeadm's ClusterConfiguration.
	// +optional
	ClusterConfiguration *ClusterConfiguration `json:"clusterConfiguration,omitempty"`
	// initConfiguration is kubeadm's InitConfiguration.
	// +optional
	InitConfiguration *InitConfiguration `json:"initConfiguration,omitempty"`
	// joinConfiguration is kubeadm's JoinConfiguration.
	// +optional
	JoinConfiguration *JoinConfiguration `json:"joinConfiguration,omitempty"`
	// files are written to the node.
	// +optional
	// +kubebuilder:validation:MaxItems=200
	Files []bootstrapv1.File `json:"files,omitempty"`
	// diskSetup partitions and formats disks.
	// +optional
	DiskSetup *bootstrapv1.DiskSetup `json:"diskSetup,omitempty"`
	// mounts are mount points to create.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	Mounts []bootstrapv1.MountPoints `json:"mounts,omitempty"`
	// bootCommands run very early in boot.
	// +optional
	// +kubebuilder:validation:MaxItems=1000
	// +kubebuilder:validation:items:MaxLength=10240
	BootCommands []string `json:"bootCommands,omitempty"`
	// preKubeadmCommands run before kubeadm.
	// +optional
	// +kubebuilder:validation:MaxItems=1000
	// +kubebuilder:validation:items:MaxLength=10240
	PreKubeadmCommands []string `json:"preKubeadmCommands,omitempty"`
	// postKubeadmCommands run after kubeadm.
	// +optional
	// +kubebuilder:validation:MaxItems=1000
	// +kubebuilder:validation:items:MaxLength=10240
	PostKubeadmCommands []string `json:"postKubeadmCommands,omitempty"`
	// users are created on the node.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	Users []bootstrapv1.User `json:"users,omitempty"`
	// ntp configures time synchronisation.
	// +optional
	NTP *bootstrapv1.NTP `json:"ntp,omitempty"`
	// format is the bootstrap data format: cloud-config or ignition.
	// +optional
	Format bootstrapv1.Format `json:"format,omitempty"`
	// verbosity is kubeadm's log verbosity.
	// +optional
	Verbosity *int32 `json:"verbosity,omitempty"`
	// useExperimentalRetryJoin retried kubeadm join; podcluster does not use it.
	// +optional
	UseExperimentalRetryJoin bool `json:"useExperimentalRetryJoin,omitempty"`
	// ignition configures Ignition bootstrap data.
	// +optional
	Ignition *bootstrapv1.IgnitionSpec `json:"ignition,omitempty"`
}

// KubeadmConfigStatus is the observed state of a KubeadmConfig.
type KubeadmConfigStatus struct {
	// ready says whether the bootstrap data Secret exists.
	// +optional
	Ready bool `json:"ready"`
	// dataSecretName names the Secret with the bootstrap data.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	DataSecretName *string `json:"dataSecretName,omitempty"`
	// failureReason is a terminal problem, deprecated.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	FailureReason string `json:"failureReason,omitempty"`
	// failureMessage explains failureReason, deprecated.
	// +optional
	// +kubebuilder:validation:MaxLength=10240
	FailureMessage string `json:"failureMessage,omitempty"`
	// observedGeneration is the generation the controller last acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// conditions are the KubeadmConfig's conditions in the v1beta1 shape.
	// +optional
	Conditions clusterv1.Conditions `json:"conditions,omitempty"`
	// v1beta2 holds the status in the v1beta2 shape.
	// +optional
	V1Beta2 *KubeadmConfigV1Beta2Status `json:"v1beta2,omitempty"`
}

// KubeadmConfigV1Beta2Status is the KubeadmConfig's status in the v1beta2 shape.
type KubeadmConfigV1Beta2Status struct {
	// conditions are the KubeadmConfig's conditions in the metav1.Condition shape.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=32
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// KubeadmConfig is the kubeadm bootstrap configuration of one machine, in the v1beta1 shape.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=kubeadmconfigs,scope=Namespaced,categories=cluster-api
// +kubebuilder:unservedversion
// +kubebuilder:subresource:status
// +kubebuilder:deprecatedversion
// +kubebuilder:printcolumn:name="Cluster",type="string",JSONPath=`.metadata.labels['cluster\.x-k8s\.io/cluster-name']`,description="Cluster"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time since creation"
type KubeadmConfig struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired state of the KubeadmConfig.
	// +optional
	Spec KubeadmConfigSpec `json:"spec,omitempty,omitzero"`
	// status is the observed state of the KubeadmConfig.
	// +optional
	Status KubeadmConfigStatus `json:"status,omitempty,omitzero"`
}

// KubeadmConfigList is a list of KubeadmConfigs.
//
// +kubebuilder:object:root=true
type KubeadmConfigList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []KubeadmConfig `json:"items"`
}

// KubeadmConfigTemplateSpec is the desired state of a KubeadmConfigTemplate.
type KubeadmConfigTemplateSpec struct {
	// template is the KubeadmConfig stamped out for each machine.
	// +required
	Template KubeadmConfigTemplateResource `json:"template"`
}

// KubeadmConfigTemplateResource is the KubeadmConfig a template stamps out.
type KubeadmConfigTemplateResource struct {
	// metadata holds the labels and annotations of each KubeadmConfig.
	// +optional
	ObjectMeta clusterv1.ObjectMeta `json:"metadata,omitempty,omitzero"`
	// spec is the spec of each KubeadmConfig.
	// +optional
	Spec KubeadmConfigSpec `json:"spec,omitempty,omitzero"`
}

// KubeadmConfigTemplate is a template for KubeadmConfigs, in the v1beta1 shape.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=kubeadmconfigtemplates,scope=Namespaced,categories=cluster-api
// +kubebuilder:unservedversion
// +kubebuilder:deprecatedversion
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time since creation"
type KubeadmConfigTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired state of the KubeadmConfigTemplate.
	// +optional
	Spec KubeadmConfigTemplateSpec `json:"spec,omitempty"`
}

// KubeadmConfigTemplateList is a list of KubeadmConfigTemplates.
//
// +kubebuilder:object:root=true
type KubeadmConfigTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []KubeadmConfigTemplate `json:"items"`
}
