package v1beta2

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

const (
	// KubeadmControlPlaneFinalizer lets the controller delete the control-plane Machines
	// before the KubeadmControlPlane goes away.
	KubeadmControlPlaneFinalizer = "kubeadm.controlplane.cluster.x-k8s.io"

	// PreTerminateHookCleanupAnnotation is the pre-terminate hook the controller puts on its
	// Machines, so that it can remove the etcd member of a Machine before the Machine's
	// infrastructure is deleted.
	PreTerminateHookCleanupAnnotation = clusterv1.PreTerminateDeleteHookAnnotationPrefix + "/kcp-cleanup"

	// RemediationInProgressAnnotation is on a KubeadmControlPlane between the
	// deletion of an unhealthy Machine and the creation of its replacement:
	// JSON of a RemediationData.
	RemediationInProgressAnnotation = "controlplane.cluster.x-k8s.io/remediation-in-progress"
	// RemediationForAnnotation is on a Machine created to replace an unhealthy
	// one: JSON of the RemediationData of that remediation, so that a
	// replacement that fails in turn counts as a retry.
	RemediationForAnnotation = "controlplane.cluster.x-k8s.io/remediation-for"
)

// KubeadmControlPlaneRolloutStrategyType is the kind of a rollout strategy.
// +kubebuilder:validation:Enum=RollingUpdate
type KubeadmControlPlaneRolloutStrategyType string

const (
	// RollingUpdateStrategyType replaces old Machines one at a time: it creates a new
	// Machine, then deletes an old one.
	RollingUpdateStrategyType KubeadmControlPlaneRolloutStrategyType = "RollingUpdate"
)

// KubeadmControlPlaneSpec is the desired state of a KubeadmControlPlane.
// +kubebuilder:validation:XValidation:rule="!has(self.replicas) || self.replicas >= 1",message="replicas must be at least 1"
// +kubebuilder:validation:XValidation:rule="!has(self.replicas) || self.replicas % 2 == 1 || (has(self.kubeadmConfigSpec) && has(self.kubeadmConfigSpec.clusterConfiguration) && has(self.kubeadmConfigSpec.clusterConfiguration.etcd) && has(self.kubeadmConfigSpec.clusterConfiguration.etcd.external))",message="replicas must be an odd number when etcd is local (stacked)"
type KubeadmControlPlaneSpec struct {
	// replicas is the desired number of control-plane Machines. It must be odd when
	// etcd is local (stacked), so that etcd keeps its quorum. The default is 1.
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// version is the Kubernetes version of the control plane, for example v1.37.2.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Version string `json:"version"`

	// machineTemplate describes the control-plane Machines.
	// +required
	MachineTemplate KubeadmControlPlaneMachineTemplate `json:"machineTemplate,omitempty,omitzero"`

	// kubeadmConfigSpec is the kubeadm bootstrap configuration of the control-plane Machines.
	// +optional
	KubeadmConfigSpec bootstrapv1.KubeadmConfigSpec `json:"kubeadmConfigSpec,omitempty,omitzero"`

	// rollout says when and how the control-plane Machines are replaced.
	// +optional
	Rollout KubeadmControlPlaneRolloutSpec `json:"rollout,omitempty,omitzero"`

	// remediation says how unhealthy control-plane Machines are replaced.
	// +optional
	Remediation KubeadmControlPlaneRemediationSpec `json:"remediation,omitempty,omitzero"`

	// machineNaming says how the control-plane Machines are named.
	// +optional
	MachineNaming MachineNamingSpec `json:"machineNaming,omitempty,omitzero"`
}

// KubeadmControlPlaneMachineTemplate describes the control-plane Machines.
type KubeadmControlPlaneMachineTemplate struct {
	// metadata holds the labels and annotations put on each control-plane Machine
	// (and on its infrastructure machine and KubeadmConfig).
	// +optional
	ObjectMeta clusterv1.ObjectMeta `json:"metadata,omitempty,omitzero"`

	// spec describes the Machines themselves.
	// +required
	Spec KubeadmControlPlaneMachineTemplateSpec `json:"spec,omitempty,omitzero"`
}

// KubeadmControlPlaneMachineTemplateSpec describes the control-plane Machines.
type KubeadmControlPlaneMachineTemplateSpec struct {
	// infrastructureRef points to the infrastructure machine template each control-plane
	// Machine's infrastructure machine is cloned from. It may be changed to point to a
	// new template, which rolls out the control plane.
	// +required
	InfrastructureRef clusterv1.ContractVersionedObjectReference `json:"infrastructureRef,omitempty,omitzero"`

	// readinessGates are extra conditions that must be good before a control-plane
	// Machine is considered Ready.
	// +optional
	// +listType=map
	// +listMapKey=conditionType
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	ReadinessGates []clusterv1.MachineReadinessGate `json:"readinessGates,omitempty"`

	// deletion holds the deletion timeouts of the control-plane Machines.
	// +optional
	Deletion KubeadmControlPlaneMachineTemplateDeletionSpec `json:"deletion,omitempty,omitzero"`

	// taints are put on the Nodes of the control-plane Machines.
	// +optional
	// +listType=map
	// +listMapKey=key
	// +listMapKey=effect
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	Taints []clusterv1.MachineTaint `json:"taints,omitempty"`
}

// KubeadmControlPlaneMachineTemplateDeletionSpec holds the deletion timeouts of the
// control-plane Machines.
// +kubebuilder:validation:MinProperties=1
type KubeadmControlPlaneMachineTemplateDeletionSpec struct {
	// nodeDrainTimeoutSeconds is how long the controller tries to drain a Node before it
	// deletes the Machine anyway. Unset or 0 means no limit.
	// +optional
	// +kubebuilder:validation:Minimum=0
	NodeDrainTimeoutSeconds *int32 `json:"nodeDrainTimeoutSeconds,omitempty"`

	// nodeVolumeDetachTimeoutSeconds is how long the controller waits for a Node's
	// volumes to detach. Unset or 0 means no limit.
	// +optional
	// +kubebuilder:validation:Minimum=0
	NodeVolumeDetachTimeoutSeconds *int32 `json:"nodeVolumeDetachTimeoutSeconds,omitempty"`

	// nodeDeletionTimeoutSeconds is how long the controller retries deleting a Node once
	// the infrastructure is gone. Unset means 10 seconds; 0 means retry forever.
	// +optional
	// +kubebuilder:validation:Minimum=0
	NodeDeletionTimeoutSeconds *int32 `json:"nodeDeletionTimeoutSeconds,omitempty"`
}

// KubeadmControlPlaneRolloutSpec says when and how the control-plane Machines are replaced.
// +kubebuilder:validation:MinProperties=1
type KubeadmControlPlaneRolloutSpec struct {
	// before lists conditions that make a Machine be replaced before they happen.
	// +optional
	Before KubeadmControlPlaneRolloutBeforeSpec `json:"before,omitempty,omitzero"`

	// after makes every Machine created before this time be replaced once the time has passed.
	// +optional
	After metav1.Time `json:"after,omitempty,omitzero"`

	// strategy says how Machines are replaced.
	// +optional
	Strategy KubeadmControlPlaneRolloutStrategy `json:"strategy,omitempty,omitzero"`
}

// KubeadmControlPlaneRolloutBeforeSpec lists conditions that make a Machine be replaced
// before they happen.
// +kubebuilder:validation:MinProperties=1
type KubeadmControlPlaneRolloutBeforeSpec struct {
	// certificatesExpiryDays replaces a Machine when its certificates expire within this
	// many days. It is at least 7.
	// +optional
	// +kubebuilder:validation:Minimum=7
	CertificatesExpiryDays int32 `json:"certificatesExpiryDays,omitempty"`
}

// KubeadmControlPlaneRolloutStrategy says how control-plane Machines are replaced.
// +kubebuilder:validation:MinProperties=1
type KubeadmControlPlaneRolloutStrategy struct {
	// type of the strategy. Only RollingUpdate is supported.
	// +required
	Type KubeadmControlPlaneRolloutStrategyType `json:"type"`

	// rollingUpdate holds the settings of the RollingUpdate strategy.
	// +optional
	RollingUpdate KubeadmControlPlaneRolloutStrategyRollingUpdate `json:"rollingUpdate,omitempty,omitzero"`
}

// KubeadmControlPlaneRolloutStrategyRollingUpdate holds the settings of a rolling update.
// +kubebuilder:validation:MinProperties=1
type KubeadmControlPlaneRolloutStrategyRollingUpdate struct {
	// maxSurge is how many Machines may exist above the desired replicas during a rollout,
	// as a number or a percentage of replicas rounded up. It must come to 0 or 1. The
	// default is 1; 0 (delete an old Machine first, then create a new one) needs at least
	// 3 replicas.
	// +optional
	MaxSurge *intstr.IntOrString `json:"maxSurge,omitempty"`
}

// KubeadmControlPlaneRemediationSpec says how unhealthy control-plane Machines are replaced.
// +kubebuilder:validation:MinProperties=1
type KubeadmControlPlaneRemediationSpec struct {
	// maxRetry is how many times in a row a Machine that replaced an unhealthy Machine
	// may itself be remediated. Unset means no limit.
	// +optional
	MaxRetry *int32 `json:"maxRetry,omitempty"`

	// retryPeriodSeconds is how long to wait before remediating a Machine that replaced
	// an unhealthy Machine. The default is 0.
	// +optional
	// +kubebuilder:validation:Minimum=0
	RetryPeriodSeconds *int32 `json:"retryPeriodSeconds,omitempty"`

	// minHealthyPeriodSeconds is how long after the last remediation a new failure starts
	// a new count of retries. The default is 3600 (one hour).
	// +optional
	// +kubebuilder:validation:Minimum=0
	MinHealthyPeriodSeconds *int32 `json:"minHealthyPeriodSeconds,omitempty"`
}

// MachineNamingSpec says how the control-plane Machines are named.
// +kubebuilder:validation:MinProperties=1
type MachineNamingSpec struct {
	// template is a Go template for the Machine names. It may use {{ .kubeadmControlPlane.name }},
	// {{ .cluster.name }} and {{ .random }}; it should use {{ .random }} so that names are
	// unique. The default is "{{ .kubeadmControlPlane.name }}-{{ .random }}".
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Template string `json:"template,omitempty"`
}

// KubeadmControlPlaneStatus is the observed state of a KubeadmControlPlane.
// +kubebuilder:validation:MinProperties=1
type KubeadmControlPlaneStatus struct {
	// conditions describe the state of the KubeadmControlPlane. Known types are Available,
	// Initialized, CertificatesAvailable, EtcdClusterHealthy, ControlPlaneComponentsHealthy,
	// MachinesReady, MachinesUpToDate, RollingOut, ScalingUp, ScalingDown, Remediating,
	// Deleting and Paused.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=32
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// initialization reports the milestones of the control plane's first start.
	// +optional
	Initialization KubeadmControlPlaneInitializationStatus `json:"initialization,omitempty,omitzero"`

	// selector is the label selector of the control-plane Machines, in string form,
	// for the scale subresource.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Selector string `json:"selector,omitempty"`

	// replicas is the number of control-plane Machines that exist.
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// readyReplicas is the number of control-plane Machines whose Ready condition is True.
	// +optional
	ReadyReplicas *int32 `json:"readyReplicas,omitempty"`

	// availableReplicas is the number of control-plane Machines whose Available condition is True.
	// +optional
	AvailableReplicas *int32 `json:"availableReplicas,omitempty"`

	// upToDateReplicas is the number of control-plane Machines whose UpToDate condition is True.
	// +optional
	UpToDateReplicas *int32 `json:"upToDateReplicas,omitempty"`

	// versions counts the control-plane Machines per Kubernetes version, oldest version first.
	// +optional
	// +listType=map
	// +listMapKey=version
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	Versions []clusterv1.StatusVersion `json:"versions,omitempty"`

	// version is the oldest Kubernetes version among the control-plane Machines.
	//
	// Deprecated: use versions. It is still written for older clients.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Version string `json:"version,omitempty"`

	// observedGeneration is the generation of the spec last reconciled.
	// +optional
	// +kubebuilder:validation:Minimum=1
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// lastRemediation describes the last remediation of a control-plane Machine.
	// +optional
	LastRemediation LastRemediationStatus `json:"lastRemediation,omitempty,omitzero"`

	// deprecated holds status fields kept for clients of the v1beta1 API.
	// +optional
	Deprecated *KubeadmControlPlaneDeprecatedStatus `json:"deprecated,omitempty"`
}

// KubeadmControlPlaneInitializationStatus reports the milestones of a control plane's first start.
// +kubebuilder:validation:MinProperties=1
type KubeadmControlPlaneInitializationStatus struct {
	// controlPlaneInitialized is true once the first control-plane Machine has run kubeadm
	// init and the API server answers. It never goes back to false.
	// +optional
	ControlPlaneInitialized *bool `json:"controlPlaneInitialized,omitempty"`
}

// LastRemediationStatus describes the last remediation of a control-plane Machine.
type LastRemediationStatus struct {
	// machine is the name of the Machine that was remediated last.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Machine string `json:"machine"`

	// time is when the remediation started.
	// +required
	Time metav1.Time `json:"time,omitempty,omitzero"`

	// retryCount is how many times in a row the Machine's replacements have been remediated.
	// +required
	// +kubebuilder:validation:Minimum=0
	RetryCount *int32 `json:"retryCount"`
}

// KubeadmControlPlaneDeprecatedStatus holds status fields of older API versions.
type KubeadmControlPlaneDeprecatedStatus struct {
	// v1beta1 holds the status fields of the v1beta1 API.
	// +optional
	V1Beta1 *KubeadmControlPlaneV1Beta1DeprecatedStatus `json:"v1beta1,omitempty"`
}

// KubeadmControlPlaneV1Beta1DeprecatedStatus holds the v1beta1 status fields that v1beta2 replaced.
type KubeadmControlPlaneV1Beta1DeprecatedStatus struct {
	// conditions are the conditions in their v1beta1 shape.
	// +optional
	Conditions clusterv1.Conditions `json:"conditions,omitempty"`

	// failureReason is a short code for a terminal failure, in the v1beta1 style.
	// +optional
	FailureReason string `json:"failureReason,omitempty"`

	// failureMessage explains a terminal failure, in the v1beta1 style.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=10240
	FailureMessage *string `json:"failureMessage,omitempty"`

	// updatedReplicas is the number of Machines that match the desired spec, in the v1beta1 sense.
	// +optional
	UpdatedReplicas int32 `json:"updatedReplicas,omitempty"`

	// readyReplicas is the number of Machines whose Node is ready, in the v1beta1 sense.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`

	// unavailableReplicas is the number of Machines that are not yet available, in the v1beta1 sense.
	// +optional
	UnavailableReplicas int32 `json:"unavailableReplicas,omitempty"`
}

// KubeadmControlPlane runs a Kubernetes control plane on Machines bootstrapped with kubeadm:
// it initializes the first one, joins the others, keeps etcd healthy, and rolls out and
// remediates its Machines.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=kubeadmcontrolplanes,shortName=kcp,scope=Namespaced,categories=cluster-api
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.replicas,statuspath=.status.replicas,selectorpath=.status.selector
// +kubebuilder:metadata:labels="cluster.x-k8s.io/v1beta2=v1beta2"
// +kubebuilder:printcolumn:name="Cluster",type="string",JSONPath=`.metadata.labels['cluster\.x-k8s\.io/cluster-name']`,description="Cluster"
// +kubebuilder:printcolumn:name="Available",type="string",JSONPath=`.status.conditions[?(@.type=="Available")].status`,description="Control plane passes all availability checks"
// +kubebuilder:printcolumn:name="Desired",type="integer",JSONPath=".spec.replicas",description="The desired number of Machines"
// +kubebuilder:printcolumn:name="Current",type="integer",JSONPath=".status.replicas",description="The number of Machines"
// +kubebuilder:printcolumn:name="Ready",type="integer",JSONPath=".status.readyReplicas",description="The number of Machines with Ready condition true"
// +kubebuilder:printcolumn:name="Available",type="integer",JSONPath=".status.availableReplicas",description="The number of Machines with Available condition true"
// +kubebuilder:printcolumn:name="Up-to-date",type="integer",JSONPath=".status.upToDateReplicas",description="The number of Machines with UpToDate condition true"
// +kubebuilder:printcolumn:name="Paused",type="string",JSONPath=`.status.conditions[?(@.type=="Paused")].status`,description="Reconciliation paused",priority=10
// +kubebuilder:printcolumn:name="Initialized",type="boolean",JSONPath=".status.initialization.controlPlaneInitialized",description="Whether the control plane has been initialized"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time since creation"
// +kubebuilder:printcolumn:name="Version",type="string",JSONPath=".spec.version",description="Kubernetes version of the control plane"
type KubeadmControlPlane struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired state of the control plane.
	// +required
	Spec KubeadmControlPlaneSpec `json:"spec,omitempty,omitzero"`

	// status is the observed state of the control plane.
	// +optional
	Status KubeadmControlPlaneStatus `json:"status,omitempty,omitzero"`
}

// GetConditions returns the conditions of the KubeadmControlPlane.
func (k *KubeadmControlPlane) GetConditions() []metav1.Condition {
	return k.Status.Conditions
}

// SetConditions replaces the conditions of the KubeadmControlPlane.
func (k *KubeadmControlPlane) SetConditions(conditions []metav1.Condition) {
	k.Status.Conditions = conditions
}

// KubeadmControlPlaneList is a list of KubeadmControlPlanes.
//
// +kubebuilder:object:root=true
type KubeadmControlPlaneList struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// items are the KubeadmControlPlanes.
	Items []KubeadmControlPlane `json:"items"`
}

func init() {
	registerTypes(&KubeadmControlPlane{}, &KubeadmControlPlaneList{})
}
