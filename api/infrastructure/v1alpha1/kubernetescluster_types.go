package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// ServiceType is the type of the Service that exposes a workload cluster's API servers.
// +kubebuilder:validation:Enum=ClusterIP;NodePort;LoadBalancer
type ServiceType string

const (
	// ServiceTypeClusterIP exposes the API servers on a cluster IP, reachable only from
	// inside the management cluster.
	ServiceTypeClusterIP ServiceType = "ClusterIP"
	// ServiceTypeNodePort exposes the API servers on a port of every management Node.
	ServiceTypeNodePort ServiceType = "NodePort"
	// ServiceTypeLoadBalancer exposes the API servers through a load balancer of the
	// management cluster.
	ServiceTypeLoadBalancer ServiceType = "LoadBalancer"
)

// KubernetesClusterSpec is the desired state of a KubernetesCluster.
// +kubebuilder:validation:XValidation:rule="!has(self.controlPlaneService) || !has(self.controlPlaneService.loadBalancerClass) || (has(self.controlPlaneServiceType) && self.controlPlaneServiceType == 'LoadBalancer')",message="controlPlaneService.loadBalancerClass requires controlPlaneServiceType LoadBalancer"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.controlPlaneEndpoint) || !has(oldSelf.controlPlaneEndpoint.host) || !has(oldSelf.controlPlaneEndpoint.port) || has(self.controlPlaneEndpoint)",message="controlPlaneEndpoint is immutable once set"
type KubernetesClusterSpec struct {
	// controlPlaneServiceType is the type of the management-cluster Service in front of
	// the workload cluster's API servers: ClusterIP, NodePort or LoadBalancer. It
	// decides the address that becomes controlPlaneEndpoint, so it cannot change
	// afterwards. Defaults to ClusterIP.
	// +optional
	// +kubebuilder:default=ClusterIP
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="controlPlaneServiceType is immutable"
	ControlPlaneServiceType ServiceType `json:"controlPlaneServiceType,omitempty"`

	// controlPlaneEndpoint is the address of the workload cluster's API servers. The
	// controller sets it from the control-plane Service; a user may set it in advance
	// (for example to a DNS name that points at the Service). Once both host and port
	// are set it cannot change, because the Cluster copies it and the API server
	// certificates are issued for it.
	// +optional
	// +kubebuilder:validation:XValidation:rule="!has(oldSelf.host) || !has(oldSelf.port) || self == oldSelf",message="controlPlaneEndpoint is immutable once set"
	ControlPlaneEndpoint clusterv1.APIEndpoint `json:"controlPlaneEndpoint,omitempty,omitzero"`

	// controlPlaneService holds optional extras for the control-plane Service.
	// +optional
	ControlPlaneService ControlPlaneServiceSpec `json:"controlPlaneService,omitempty,omitzero"`
}

// ControlPlaneServiceSpec holds optional extras for the Service in front of the
// workload cluster's API servers.
// +kubebuilder:validation:MinProperties=1
type ControlPlaneServiceSpec struct {
	// annotations are put on the control-plane Service, for example to configure a
	// cloud load balancer.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// loadBalancerClass is the Service's spec.loadBalancerClass. It may only be set when
	// controlPlaneServiceType is LoadBalancer, and it cannot change once set, just like
	// the Service field it is copied into.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="controlPlaneService.loadBalancerClass is immutable"
	LoadBalancerClass *string `json:"loadBalancerClass,omitempty"`
}

// KubernetesClusterPhase is a short summary of where a KubernetesCluster is in its
// lifecycle, for kubectl columns. Conditions carry the details.
// +kubebuilder:validation:Enum=Provisioning;Provisioned;Deleting;Failed
type KubernetesClusterPhase string

// KubernetesCluster phases.
const (
	// KubernetesClusterPhaseProvisioning means the control-plane Service or its endpoint is not ready yet.
	KubernetesClusterPhaseProvisioning KubernetesClusterPhase = "Provisioning"
	// KubernetesClusterPhaseProvisioned means controlPlaneEndpoint is known.
	KubernetesClusterPhaseProvisioned KubernetesClusterPhase = "Provisioned"
	// KubernetesClusterPhaseDeleting means the KubernetesCluster is being deleted.
	KubernetesClusterPhaseDeleting KubernetesClusterPhase = "Deleting"
	// KubernetesClusterPhaseFailed means provisioning hit an error that retrying cannot fix.
	KubernetesClusterPhaseFailed KubernetesClusterPhase = "Failed"
)

// KubernetesClusterStatus is the observed state of a KubernetesCluster.
type KubernetesClusterStatus struct {
	// conditions describe the KubernetesCluster: Ready, ServiceReady and Paused.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=32
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// initialization reports the provisioning milestones of the Cluster API contract.
	// +optional
	Initialization KubernetesClusterInitializationStatus `json:"initialization,omitempty,omitzero"`

	// failureDomains are the zones of the management cluster's Nodes (their
	// topology.kubernetes.io/zone label). The Cluster copies them into its own status.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=100
	FailureDomains []clusterv1.FailureDomain `json:"failureDomains,omitempty"`

	// phase is a short summary of the KubernetesCluster's lifecycle, for kubectl columns.
	// +optional
	Phase KubernetesClusterPhase `json:"phase,omitempty"`

	// observedGeneration is the metadata.generation this status was computed for.
	// +optional
	// +kubebuilder:validation:Minimum=1
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// KubernetesClusterInitializationStatus reports the provisioning milestones of a
// KubernetesCluster.
// +kubebuilder:validation:MinProperties=1
type KubernetesClusterInitializationStatus struct {
	// provisioned is true once controlPlaneEndpoint is known. The Cluster then copies
	// the endpoint and starts creating the control plane.
	// +optional
	Provisioned *bool `json:"provisioned,omitempty"`
}

// KubernetesCluster is the infrastructure of one workload cluster inside a management
// cluster: the Service in front of its API servers, and the zones its node Pods may be
// spread over.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=kubernetesclusters,scope=Namespaced,categories=cluster-api,shortName=kcl
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:metadata:labels="cluster.x-k8s.io/v1beta2=v1alpha1"
// +kubebuilder:printcolumn:name="Cluster",type="string",JSONPath=".metadata.labels['cluster\\.x-k8s\\.io/cluster-name']",description="Cluster this KubernetesCluster belongs to"
// +kubebuilder:printcolumn:name="Phase",type="string",JSONPath=".status.phase",description="KubernetesCluster phase"
// +kubebuilder:printcolumn:name="Host",type="string",JSONPath=".spec.controlPlaneEndpoint.host",description="Host of the control-plane endpoint"
// +kubebuilder:printcolumn:name="Port",type="integer",JSONPath=".spec.controlPlaneEndpoint.port",description="Port of the control-plane endpoint"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time since creation"
type KubernetesCluster struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired state of the KubernetesCluster.
	// +optional
	// +kubebuilder:default={}
	Spec KubernetesClusterSpec `json:"spec,omitempty,omitzero"`

	// status is the observed state of the KubernetesCluster.
	// +optional
	Status KubernetesClusterStatus `json:"status,omitempty,omitzero"`
}

// GetConditions returns the conditions of the KubernetesCluster.
func (c *KubernetesCluster) GetConditions() []metav1.Condition {
	return c.Status.Conditions
}

// SetConditions sets the conditions of the KubernetesCluster.
func (c *KubernetesCluster) SetConditions(conditions []metav1.Condition) {
	c.Status.Conditions = conditions
}

// KubernetesClusterList is a list of KubernetesClusters.
//
// +kubebuilder:object:root=true
type KubernetesClusterList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// items are the KubernetesClusters.
	Items []KubernetesCluster `json:"items"`
}

func init() {
	registerTypes(&KubernetesCluster{}, &KubernetesClusterList{})
}
