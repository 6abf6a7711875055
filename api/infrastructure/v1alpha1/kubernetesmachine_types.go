package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// KubernetesMachineSpec is the desired state of a KubernetesMachine: how to run the
// privileged Pod that is the workload cluster's Node.
//
// There is deliberately no failureDomain field. The controller places the node Pod in
// the Machine's spec.failureDomain, which is where the v1beta2 contract puts it. The
// core copies a set InfraMachine spec.failureDomain back into the Machine (the
// deprecated v1beta1 path), so a second field here could only disagree with it.
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.providerID) || has(self.providerID)",message="providerID is immutable once set"
type KubernetesMachineSpec struct {
	// providerID identifies the workload Node, in the form
	// kubernetes://<namespace>/<pod name>, where namespace and pod name are those of the
	// node Pod in the management cluster. The controller sets it; it equals the Node's
	// spec.providerID and stays the same when the Pod is re-created.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="providerID is immutable once set"
	ProviderID string `json:"providerID,omitempty"`

	// image is the node image the Pod runs, overriding the kind node image that the
	// controller otherwise chooses from the Machine's spec.version.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	Image string `json:"image,omitempty"`

	// resources are the requests and limits of the node container. The node's kubelet
	// reports a capacity that matches them. cpu and memory must not be negative.
	// +optional
	// +kubebuilder:validation:XValidation:rule="!has(self.requests) || ['cpu', 'memory'].all(r, !(r in self.requests) || !quantity(string(self.requests[r])).isLessThan(quantity('0')))",message="resources.requests cpu and memory must not be negative"
	// +kubebuilder:validation:XValidation:rule="!has(self.limits) || ['cpu', 'memory'].all(r, !(r in self.limits) || !quantity(string(self.limits[r])).isLessThan(quantity('0')))",message="resources.limits cpu and memory must not be negative"
	Resources corev1.ResourceRequirements `json:"resources,omitempty,omitzero"`

	// nodeSelector constrains the management Nodes the node Pod may run on.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// tolerations let the node Pod run on tainted management Nodes.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`

	// affinity holds the node Pod's scheduling constraints, for example anti-affinity
	// that spreads control-plane node Pods over management Nodes.
	// +optional
	Affinity *corev1.Affinity `json:"affinity,omitempty"`

	// priorityClassName is the PriorityClass of the node Pod.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	PriorityClassName string `json:"priorityClassName,omitempty"`

	// runtimeClassName is the RuntimeClass the node Pod runs with.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	RuntimeClassName *string `json:"runtimeClassName,omitempty"`

	// volumeClaimTemplates are PersistentVolumeClaims created for the node Pod, so that
	// its data survives Pod re-creation. Each template's metadata.name names the volume
	// and picks where it is mounted: var-lib-etcd is mounted at /var/lib/etcd (used on
	// control-plane machines) and var-lib-containerd at /var/lib/containerd. Without a
	// template those directories live on an emptyDir and are lost with the Pod.
	// +optional
	// +kubebuilder:validation:MaxItems=8
	// +kubebuilder:validation:XValidation:rule="self.all(x, self.exists_one(y, x.metadata.name == y.metadata.name))",message="volumeClaimTemplates names must be unique"
	// +kubebuilder:validation:XValidation:rule="self.all(v, v.metadata.name in ['var-lib-etcd', 'var-lib-containerd'])",message="volumeClaimTemplates[].metadata.name must be var-lib-etcd or var-lib-containerd"
	VolumeClaimTemplates []VolumeClaimTemplate `json:"volumeClaimTemplates,omitempty"`
}

// VolumeClaimTemplate describes a PersistentVolumeClaim made for a node Pod. It has the
// JSON shape of a PersistentVolumeClaim without status: metadata.name, labels and
// annotations, and a spec.
type VolumeClaimTemplate struct {
	// metadata names the volume and carries labels and annotations for the claim.
	// +required
	Metadata VolumeClaimTemplateMetadata `json:"metadata"`

	// spec is the spec of the PersistentVolumeClaim, for example its storageClassName,
	// accessModes and resources.requests.storage.
	// +required
	Spec corev1.PersistentVolumeClaimSpec `json:"spec"`
}

// VolumeClaimTemplateMetadata is the metadata of a volume claim template.
type VolumeClaimTemplateMetadata struct {
	// name of the volume: var-lib-etcd or var-lib-containerd. The claim itself is named
	// after the node Pod and this name.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// labels are put on the PersistentVolumeClaim.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// annotations are put on the PersistentVolumeClaim.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// KubernetesMachinePhase is a short summary of where a KubernetesMachine is in its
// lifecycle, for kubectl columns. Conditions carry the details.
// +kubebuilder:validation:Enum=Pending;Provisioning;Running;Deleting;Failed
type KubernetesMachinePhase string

// KubernetesMachine phases.
const (
	// KubernetesMachinePhasePending means the node Pod waits for the cluster
	// infrastructure or the bootstrap data.
	KubernetesMachinePhasePending KubernetesMachinePhase = "Pending"
	// KubernetesMachinePhaseProvisioning means the node Pod exists and is booting or bootstrapping.
	KubernetesMachinePhaseProvisioning KubernetesMachinePhase = "Provisioning"
	// KubernetesMachinePhaseRunning means the node Pod runs and bootstrap succeeded.
	KubernetesMachinePhaseRunning KubernetesMachinePhase = "Running"
	// KubernetesMachinePhaseDeleting means the KubernetesMachine is being deleted.
	KubernetesMachinePhaseDeleting KubernetesMachinePhase = "Deleting"
	// KubernetesMachinePhaseFailed means bootstrap or the Pod failed in a way retrying cannot fix.
	KubernetesMachinePhaseFailed KubernetesMachinePhase = "Failed"
)

// KubernetesMachineStatus is the observed state of a KubernetesMachine.
type KubernetesMachineStatus struct {
	// conditions describe the KubernetesMachine: Ready, PodReady, BootstrapSucceeded
	// and Paused.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=32
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// initialization reports the provisioning milestones of the Cluster API contract.
	// +optional
	Initialization KubernetesMachineInitializationStatus `json:"initialization,omitempty,omitzero"`

	// addresses are the addresses of the node Pod: its IP as InternalIP and its
	// hostname as Hostname.
	// +optional
	Addresses clusterv1.MachineAddresses `json:"addresses,omitempty"`

	// failureDomain is the zone of the management Node the node Pod runs on. The
	// Machine copies it into its status.failureDomain.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	FailureDomain string `json:"failureDomain,omitempty"`

	// phase is a short summary of the KubernetesMachine's lifecycle, for kubectl columns.
	// +optional
	Phase KubernetesMachinePhase `json:"phase,omitempty"`

	// version is the Kubernetes version of the node image, copied from the Machine's
	// spec.version by the controller.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Version string `json:"version,omitempty"`

	// observedGeneration is the metadata.generation this status was computed for.
	// +optional
	// +kubebuilder:validation:Minimum=1
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// deprecated holds the terminal failure in the shape of the deprecated
	// v1beta1 contract (status.deprecated.v1beta1.failureReason and
	// failureMessage), which the core reads to mark the Machine Failed.
	// +optional
	Deprecated *KubernetesMachineDeprecatedStatus `json:"deprecated,omitempty"`
}

// KubernetesMachineDeprecatedStatus holds fields of older contracts.
type KubernetesMachineDeprecatedStatus struct {
	// v1beta1 holds the fields of the v1beta1 contract.
	// +optional
	V1Beta1 *KubernetesMachineV1Beta1DeprecatedStatus `json:"v1beta1,omitempty"`
}

// KubernetesMachineV1Beta1DeprecatedStatus is a terminal failure: the node Pod
// failed or was lost, or bootstrap failed, and retrying cannot fix it.
type KubernetesMachineV1Beta1DeprecatedStatus struct {
	// failureReason is a terse reason for the failure: PodFailed, PodLost or BootstrapFailed.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	FailureReason *string `json:"failureReason,omitempty"`

	// failureMessage explains the failure.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=10240
	FailureMessage *string `json:"failureMessage,omitempty"`
}

// KubernetesMachineInitializationStatus reports the provisioning milestones of a
// KubernetesMachine.
// +kubebuilder:validation:MinProperties=1
type KubernetesMachineInitializationStatus struct {
	// provisioned is true once the node Pod is running and bootstrap succeeded.
	// +optional
	Provisioned *bool `json:"provisioned,omitempty"`
}

// KubernetesMachine is the infrastructure of one workload-cluster Node: a privileged
// Pod in the management cluster that runs a kind node image.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=kubernetesmachines,scope=Namespaced,categories=cluster-api,shortName=kma
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:metadata:labels="cluster.x-k8s.io/v1beta2=v1alpha1"
// +kubebuilder:printcolumn:name="Cluster",type="string",JSONPath=".metadata.labels['cluster\\.x-k8s\\.io/cluster-name']",description="Cluster this KubernetesMachine belongs to"
// +kubebuilder:printcolumn:name="Machine",type="string",JSONPath=".metadata.ownerReferences[?(@.kind==\"Machine\")].name",description="Machine that owns this KubernetesMachine"
// +kubebuilder:printcolumn:name="Provider-ID",type="string",JSONPath=".spec.providerID",description="Provider ID of the node"
// +kubebuilder:printcolumn:name="Phase",type="string",JSONPath=".status.phase",description="KubernetesMachine phase"
// +kubebuilder:printcolumn:name="Version",type="string",JSONPath=".status.version",description="Kubernetes version of the node"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time since creation"
type KubernetesMachine struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired state of the KubernetesMachine.
	// +optional
	Spec KubernetesMachineSpec `json:"spec,omitempty,omitzero"`

	// status is the observed state of the KubernetesMachine.
	// +optional
	Status KubernetesMachineStatus `json:"status,omitempty,omitzero"`
}

// GetConditions returns the conditions of the KubernetesMachine.
func (m *KubernetesMachine) GetConditions() []metav1.Condition {
	return m.Status.Conditions
}

// SetConditions sets the conditions of the KubernetesMachine.
func (m *KubernetesMachine) SetConditions(conditions []metav1.Condition) {
	m.Status.Conditions = conditions
}

// KubernetesMachineList is a list of KubernetesMachines.
//
// +kubebuilder:object:root=true
type KubernetesMachineList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// items are the KubernetesMachines.
	Items []KubernetesMachine `json:"items"`
}

func init() {
	registerTypes(&KubernetesMachine{}, &KubernetesMachineList{})
}
