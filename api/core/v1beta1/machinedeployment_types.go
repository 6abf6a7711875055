package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// MachineDeploymentSpec is the desired state of a MachineDeployment.
type MachineDeploymentSpec struct {
	// clusterName is the name of the Cluster this MachineDeployment belongs to.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	ClusterName string `json:"clusterName"`

	// replicas is how many Machines to keep.
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// rolloutAfter replaces every Machine created before this time.
	// +optional
	RolloutAfter *metav1.Time `json:"rolloutAfter,omitempty"`

	// selector selects the Machines of this MachineDeployment.
	// +required
	Selector metav1.LabelSelector `json:"selector"`

	// template describes the Machines to create.
	// +required
	Template MachineTemplateSpec `json:"template"`

	// strategy is how Machines are replaced.
	// +optional
	Strategy *MachineDeploymentStrategy `json:"strategy,omitempty"`

	// machineNamingStrategy says how Machines are named.
	// +optional
	MachineNamingStrategy *MachineNamingStrategy `json:"machineNamingStrategy,omitempty"`

	// minReadySeconds is how long a new Machine must be Ready to count as available.
	// +optional
	MinReadySeconds *int32 `json:"minReadySeconds,omitempty"`

	// revisionHistoryLimit is how many old MachineSets to keep; podcluster does not use it.
	// +optional
	RevisionHistoryLimit *int32 `json:"revisionHistoryLimit,omitempty"`

	// paused stops the rollout of changes.
	// +optional
	Paused bool `json:"paused,omitempty"`

	// progressDeadlineSeconds is how long a rollout may take; podcluster does not use it.
	// +optional
	ProgressDeadlineSeconds *int32 `json:"progressDeadlineSeconds,omitempty"`
}

// MachineDeploymentStrategy is how Machines are replaced.
type MachineDeploymentStrategy struct {
	// type is RollingUpdate or OnDelete.
	// +optional
	// +kubebuilder:validation:Enum=RollingUpdate;OnDelete
	Type string `json:"type,omitempty"`

	// rollingUpdate tunes the RollingUpdate strategy.
	// +optional
	RollingUpdate *MachineRollingUpdateDeployment `json:"rollingUpdate,omitempty"`

	// remediation tunes how unhealthy Machines are replaced.
	// +optional
	Remediation *RemediationStrategy `json:"remediation,omitempty"`
}

// MachineRollingUpdateDeployment tunes a rolling update.
type MachineRollingUpdateDeployment struct {
	// maxUnavailable is how many Machines may be unavailable during the update.
	// +optional
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`

	// maxSurge is how many Machines may exist above replicas during the update.
	// +optional
	MaxSurge *intstr.IntOrString `json:"maxSurge,omitempty"`

	// deletePolicy picks the Machines to delete: Random, Newest or Oldest.
	// +optional
	// +kubebuilder:validation:Enum=Random;Newest;Oldest
	DeletePolicy *string `json:"deletePolicy,omitempty"`
}

// RemediationStrategy tunes how unhealthy Machines are replaced.
type RemediationStrategy struct {
	// maxInFlight is how many Machines may be remediated at once.
	// +optional
	MaxInFlight *intstr.IntOrString `json:"maxInFlight,omitempty"`
}

// MachineDeploymentStatus is the observed state of a MachineDeployment.
type MachineDeploymentStatus struct {
	// observedGeneration is the generation the controller last acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// selector is the label selector in string form, for the scale subresource.
	// +optional
	Selector string `json:"selector,omitempty"`
	// replicas is how many Machines exist.
	// +optional
	Replicas int32 `json:"replicas"`
	// updatedReplicas is how many Machines have the current template.
	// +optional
	UpdatedReplicas int32 `json:"updatedReplicas,omitempty"`
	// readyReplicas is how many Machines have a Ready node, in the v1beta1 sense.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`
	// availableReplicas is how many Machines are available, in the v1beta1 sense.
	// +optional
	AvailableReplicas int32 `json:"availableReplicas,omitempty"`
	// unavailableReplicas is how many Machines are not available yet.
	// +optional
	UnavailableReplicas int32 `json:"unavailableReplicas,omitempty"`
	// phase is the MachineDeployment's phase.
	// +optional
	Phase string `json:"phase,omitempty"`
	// conditions are the MachineDeployment's conditions in the v1beta1 shape.
	// +optional
	Conditions clusterv1.Conditions `json:"conditions,omitempty"`
	// v1beta2 holds the status in the v1beta2 shape.
	// +optional
	V1Beta2 *ReplicasV1Beta2Status `json:"v1beta2,omitempty"`
}

// MachineDeployment rolls out MachineSets, in the v1beta1 shape.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=machinedeployments,shortName=md,scope=Namespaced,categories=cluster-api
// +kubebuilder:unservedversion
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.replicas,statuspath=.status.replicas,selectorpath=.status.selector
// +kubebuilder:deprecatedversion
// +kubebuilder:printcolumn:name="Cluster",type="string",JSONPath=".spec.clusterName",description="Cluster"
// +kubebuilder:printcolumn:name="Replicas",type="integer",JSONPath=".status.replicas",description="Total number of machines"
// +kubebuilder:printcolumn:name="Phase",type="string",JSONPath=".status.phase",description="MachineDeployment status such as ScalingUp/ScalingDown/Running/Failed/Unknown"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time duration since creation of MachineDeployment"
// +kubebuilder:printcolumn:name="Version",type="string",JSONPath=".spec.template.spec.version",description="Kubernetes version associated with this MachineDeployment"
type MachineDeployment struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired state of the MachineDeployment.
	// +optional
	Spec MachineDeploymentSpec `json:"spec,omitempty"`
	// status is the observed state of the MachineDeployment.
	// +optional
	Status MachineDeploymentStatus `json:"status,omitempty,omitzero"`
}

// MachineDeploymentList is a list of MachineDeployments.
//
// +kubebuilder:object:root=true
type MachineDeploymentList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MachineDeployment `json:"items"`
}
