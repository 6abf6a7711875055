package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// ClusterSpec is the desired state of a Cluster.
type ClusterSpec struct {
	// paused stops the controllers from reconciling this Cluster and its objects.
	// +optional
	Paused bool `json:"paused,omitempty"`

	// clusterNetwork holds the cluster's network ranges.
	// +optional
	ClusterNetwork *clusterv1.ClusterNetwork `json:"clusterNetwork,omitempty"`

	// controlPlaneEndpoint is the address of the control plane's API server.
	// +optional
	ControlPlaneEndpoint clusterv1.APIEndpoint `json:"controlPlaneEndpoint,omitempty,omitzero"`

	// controlPlaneRef points to the control plane provider's object.
	// +optional
	ControlPlaneRef *corev1.ObjectReference `json:"controlPlaneRef,omitempty"`

	// infrastructureRef points to the infrastructure provider's cluster object.
	// +optional
	InfrastructureRef *corev1.ObjectReference `json:"infrastructureRef,omitempty"`

	// topology names the ClusterClass and version of a managed topology.
	// +optional
	Topology *Topology `json:"topology,omitempty"`

	// availabilityGates are extra conditions the Cluster's Available condition requires.
	// +optional
	// +listType=map
	// +listMapKey=conditionType
	// +kubebuilder:validation:MaxItems=32
	AvailabilityGates []clusterv1.ClusterAvailabilityGate `json:"availabilityGates,omitempty"`
}

// Topology is a managed topology: a ClusterClass and a version.
type Topology struct {
	// class is the name of the ClusterClass.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Class string `json:"class"`

	// classNamespace is the namespace of the ClusterClass; empty means the Cluster's.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	ClassNamespace string `json:"classNamespace,omitempty"`

	// version is the Kubernetes version of the cluster.
	// +required
	// +kubebuilder:validation:MaxLength=256
	Version string `json:"version"`
}

// FailureDomainSpec describes one failure domain.
type FailureDomainSpec struct {
	// controlPlane says whether control plane Machines may be placed here.
	// +optional
	ControlPlane bool `json:"controlPlane,omitempty"`

	// attributes are free-form properties of the failure domain.
	// +optional
	Attributes map[string]string `json:"attributes,omitempty"`
}

// ClusterStatus is the observed state of a Cluster.
type ClusterStatus struct {
	// failureDomains are the failure domains Machines may be spread over, by name.
	// +optional
	FailureDomains map[string]FailureDomainSpec `json:"failureDomains,omitempty"`

	// failureReason is a terminal problem, deprecated.
	// +optional
	FailureReason *string `json:"failureReason,omitempty"`

	// failureMessage explains failureReason, deprecated.
	// +optional
	FailureMessage *string `json:"failureMessage,omitempty"`

	// phase is the Cluster's phase: Pending, Provisioning, Provisioned, Deleting, Failed or Unknown.
	// +optional
	Phase string `json:"phase,omitempty"`

	// infrastructureReady says whether the infrastructure is ready.
	// +optional
	InfrastructureReady bool `json:"infrastructureReady"`

	// controlPlaneReady says whether the control plane is initialized.
	// +optional
	ControlPlaneReady bool `json:"controlPlaneReady"`

	// conditions are the Cluster's conditions in the v1beta1 shape.
	// +optional
	Conditions clusterv1.Conditions `json:"conditions,omitempty"`

	// observedGeneration is the generation the controller last acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// v1beta2 holds the status in the v1beta2 shape.
	// +optional
	V1Beta2 *ClusterV1Beta2Status `json:"v1beta2,omitempty"`
}

// ClusterV1Beta2Status is the Cluster's status in the v1beta2 shape.
type ClusterV1Beta2Status struct {
	// conditions are the Cluster's conditions in the metav1.Condition shape.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=32
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// controlPlane counts the control plane's Machines.
	// +optional
	ControlPlane *ReplicaCounts `json:"controlPlane,omitempty"`

	// workers counts the worker Machines.
	// +optional
	Workers *ReplicaCounts `json:"workers,omitempty"`
}

// ReplicaCounts counts a group of Machines.
type ReplicaCounts struct {
	// desiredReplicas is how many Machines are wanted.
	// +optional
	DesiredReplicas *int32 `json:"desiredReplicas,omitempty"`
	// replicas is how many Machines exist.
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`
	// upToDateReplicas is how many Machines have UpToDate true.
	// +optional
	UpToDateReplicas *int32 `json:"upToDateReplicas,omitempty"`
	// readyReplicas is how many Machines have Ready true.
	// +optional
	ReadyReplicas *int32 `json:"readyReplicas,omitempty"`
	// availableReplicas is how many Machines have Available true.
	// +optional
	AvailableReplicas *int32 `json:"availableReplicas,omitempty"`
}

// Cluster is a Kubernetes cluster, in the v1beta1 shape.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=clusters,shortName=cl,scope=Namespaced,categories=cluster-api
// +kubebuilder:unservedversion
// +kubebuilder:subresource:status
// +kubebuilder:deprecatedversion
// +kubebuilder:printcolumn:name="Phase",type="string",JSONPath=".status.phase",description="Cluster status such as Pending/Provisioning/Provisioned/Deleting/Failed"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time duration since creation of Cluster"
// +kubebuilder:printcolumn:name="Version",type="string",JSONPath=".spec.topology.version",description="Kubernetes version associated with this Cluster"
type Cluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired state of the Cluster.
	// +optional
	Spec ClusterSpec `json:"spec,omitempty,omitzero"`
	// status is the observed state of the Cluster.
	// +optional
	Status ClusterStatus `json:"status,omitempty,omitzero"`
}

// ClusterList is a list of Clusters.
//
// +kubebuilder:object:root=true
type ClusterList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Cluster `json:"items"`
}
