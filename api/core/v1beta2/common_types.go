package v1beta2

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels that tie objects to a cluster and to their owners.
const (
	// ClusterNameLabel is set on every object that belongs to a cluster.
	ClusterNameLabel = "cluster.x-k8s.io/cluster-name"
	// MachineControlPlaneLabel (value "") marks control-plane Machines and their node Pods.
	MachineControlPlaneLabel = "cluster.x-k8s.io/control-plane"
	// MachineControlPlaneNameLabel names the KubeadmControlPlane that owns a Machine.
	MachineControlPlaneNameLabel = "cluster.x-k8s.io/control-plane-name"
	// MachineDeploymentNameLabel names the MachineDeployment that owns a MachineSet or Machine.
	MachineDeploymentNameLabel = "cluster.x-k8s.io/deployment-name"
	// MachineSetNameLabel names the MachineSet that owns a Machine.
	MachineSetNameLabel = "cluster.x-k8s.io/set-name"
	// MachineDeploymentUniqueLabel carries the template hash of a MachineDeployment revision.
	MachineDeploymentUniqueLabel = "machine-template-hash"
	// WatchLabel lets several manager instances split the objects they reconcile.
	WatchLabel = "cluster.x-k8s.io/watch-filter"
	// InterruptibleLabel (value "") is set on Nodes whose InfraMachine reports status.interruptible.
	InterruptibleLabel = "cluster.x-k8s.io/interruptible"
	// ProviderNameLabel is the clusterctl label naming the provider that installed a CRD.
	ProviderNameLabel = "cluster.x-k8s.io/provider"
)

// Annotations of the Cluster API contract.
const (
	// PausedAnnotation (any value) pauses reconciliation of the annotated object.
	PausedAnnotation = "cluster.x-k8s.io/paused"
	// DeleteMachineAnnotation marks a Machine to be deleted first when scaling down.
	DeleteMachineAnnotation = "cluster.x-k8s.io/delete-machine"
	// TemplateClonedFromNameAnnotation names the template an object was cloned from.
	TemplateClonedFromNameAnnotation = "cluster.x-k8s.io/cloned-from-name"
	// TemplateClonedFromGroupKindAnnotation is the group and kind of the template an object was cloned from.
	TemplateClonedFromGroupKindAnnotation = "cluster.x-k8s.io/cloned-from-groupkind"
	// ManagedByAnnotation on an InfraCluster means its infrastructure is managed by someone else.
	ManagedByAnnotation = "cluster.x-k8s.io/managed-by"
	// ExcludeNodeDrainingAnnotation on a Machine skips the drain on delete.
	ExcludeNodeDrainingAnnotation = "machine.cluster.x-k8s.io/exclude-node-draining"
	// ExcludeWaitForNodeVolumeDetachAnnotation on a Machine skips waiting for volume detach on delete.
	ExcludeWaitForNodeVolumeDetachAnnotation = "machine.cluster.x-k8s.io/exclude-wait-for-node-volume-detach"
	// PreDrainDeleteHookAnnotationPrefix prefixes annotations that hold a Machine before drain.
	PreDrainDeleteHookAnnotationPrefix = "pre-drain.delete.hook.machine.cluster.x-k8s.io"
	// PreTerminateDeleteHookAnnotationPrefix prefixes annotations that hold a Machine before its infrastructure is deleted.
	PreTerminateDeleteHookAnnotationPrefix = "pre-terminate.delete.hook.machine.cluster.x-k8s.io"
	// RemediateMachineAnnotation asks for manual remediation of a Machine.
	RemediateMachineAnnotation = "cluster.x-k8s.io/remediate-machine"
	// MachineSkipRemediationAnnotation makes MachineHealthChecks ignore a Machine.
	MachineSkipRemediationAnnotation = "cluster.x-k8s.io/skip-remediation"
	// RevisionAnnotation is the revision of a MachineSet within its MachineDeployment.
	RevisionAnnotation = "machinedeployment.clusters.x-k8s.io/revision"
	// DesiredReplicasAnnotation is the MachineDeployment's desired replicas, kept on its MachineSets.
	DesiredReplicasAnnotation = "machinedeployment.clusters.x-k8s.io/desired-replicas"
	// MaxReplicasAnnotation is desired replicas plus maxSurge, kept on a MachineDeployment's MachineSets.
	MaxReplicasAnnotation = "machinedeployment.clusters.x-k8s.io/max-replicas"
	// AutoscalerMinSizeAnnotation is the cluster autoscaler's lower bound on a MachineSet or MachineDeployment.
	AutoscalerMinSizeAnnotation = "cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size"
	// AutoscalerMaxSizeAnnotation is the cluster autoscaler's upper bound on a MachineSet or MachineDeployment.
	AutoscalerMaxSizeAnnotation = "cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size"
	// ClusterNameAnnotation, on a workload Node, names the Cluster of its Machine.
	ClusterNameAnnotation = "cluster.x-k8s.io/cluster-name"
	// ClusterNamespaceAnnotation, on a workload Node, is the namespace of its Machine.
	ClusterNamespaceAnnotation = "cluster.x-k8s.io/cluster-namespace"
	// MachineAnnotation, on a workload Node, names its Machine.
	MachineAnnotation = "cluster.x-k8s.io/machine"
	// OwnerKindAnnotation, on a workload Node, is the kind of its Machine's owner.
	OwnerKindAnnotation = "cluster.x-k8s.io/owner-kind"
	// OwnerNameAnnotation, on a workload Node, is the name of its Machine's owner.
	OwnerNameAnnotation = "cluster.x-k8s.io/owner-name"
	// LabelsFromMachineAnnotation, on a workload Node, lists the labels that came from the Machine.
	LabelsFromMachineAnnotation = "cluster.x-k8s.io/labels-from-machine"
	// AnnotationsFromMachineAnnotation, on a workload Node, lists the annotations that came from the Machine.
	AnnotationsFromMachineAnnotation = "cluster.x-k8s.io/annotations-from-machine"
	// TaintsFromMachineAnnotation, on a workload Node, lists the taints that came from the Machine.
	TaintsFromMachineAnnotation = "cluster.x-k8s.io/taints-from-machine"
)

// Contract facts shared by every provider.
const (
	// ContractLabelKey is the label a provider CRD carries to declare the API versions it serves for the v1beta2 contract.
	ContractLabelKey = "cluster.x-k8s.io/v1beta2"
	// ClusterSecretType is the type of every Secret Cluster API writes.
	ClusterSecretType corev1.SecretType = "cluster.x-k8s.io/secret" //nolint:gosec // a type name, not a credential
	// NodeUninitializedTaintKey is the taint a bootstrap provider may put on new workers until labels are synced.
	NodeUninitializedTaintKey = "node.cluster.x-k8s.io/uninitialized"
)

// ObjectMeta is the metadata a template stamps onto the objects it creates:
// only labels and annotations.
// +kubebuilder:validation:MinProperties=1
type ObjectMeta struct {
	// labels is a map of string keys and values to put on the created object.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// annotations is a map of string keys and values to put on the created object.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// ContractVersionedObjectReference refers to an object of a provider in the
// same namespace. The version is not part of the reference: it is read from
// the contract label of the provider's CRD.
type ContractVersionedObjectReference struct {
	// kind of the referenced object, for example KubernetesMachine.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$`
	Kind string `json:"kind"`

	// name of the referenced object, in the namespace of the referring object.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`

	// apiGroup of the referenced object, for example infrastructure.cluster.x-k8s.io.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	APIGroup string `json:"apiGroup"`
}

// IsDefined reports whether the reference names an object.
func (r ContractVersionedObjectReference) IsDefined() bool {
	return r.Kind != "" || r.Name != "" || r.APIGroup != ""
}

// GroupKind returns the group and kind of the reference as "Kind.group".
func (r ContractVersionedObjectReference) GroupKind() string {
	return r.Kind + "." + r.APIGroup
}

// APIEndpoint is the address of a Kubernetes API server.
// +kubebuilder:validation:MinProperties=1
type APIEndpoint struct {
	// host is the hostname or IP address on which the API server is serving.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	Host string `json:"host,omitempty"`

	// port is the port on which the API server is serving.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port,omitempty"`
}

// IsValid reports whether both host and port are set.
func (e APIEndpoint) IsValid() bool {
	return e.Host != "" && e.Port != 0
}

// ConditionPolarity says whether a condition is good when True (Positive) or when False (Negative).
// +kubebuilder:validation:Enum=Positive;Negative
type ConditionPolarity string

const (
	// PositivePolarityCondition is good when True.
	PositivePolarityCondition ConditionPolarity = "Positive"
	// NegativePolarityCondition is good when False.
	NegativePolarityCondition ConditionPolarity = "Negative"
)

// StatusVersion counts the replicas that run one version.
type StatusVersion struct {
	// version is a Kubernetes version, for example v1.37.2.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Version string `json:"version"`

	// replicas is the number of replicas at this version.
	// +required
	// +kubebuilder:validation:Minimum=1
	Replicas int32 `json:"replicas"`
}

// StatusUpgradePlanVersion is one step of a planned upgrade.
type StatusUpgradePlanVersion struct {
	// version is a Kubernetes version the upgrade passes through.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Version string `json:"version"`
}

// FailureDomain is a zone or other fault domain machines can be spread over.
type FailureDomain struct {
	// name of the failure domain, for example a zone.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Name string `json:"name"`

	// controlPlane says whether control-plane machines may be placed in this failure domain.
	// +optional
	ControlPlane *bool `json:"controlPlane,omitempty"`

	// attributes are free-form provider data about the failure domain.
	// +optional
	Attributes map[string]string `json:"attributes,omitempty"`
}

// MachineAddressType is the kind of a machine address.
// +kubebuilder:validation:Enum=Hostname;ExternalIP;InternalIP;ExternalDNS;InternalDNS
type MachineAddressType string

// Machine address types.
const (
	MachineHostName    MachineAddressType = "Hostname"
	MachineExternalIP  MachineAddressType = "ExternalIP"
	MachineInternalIP  MachineAddressType = "InternalIP"
	MachineExternalDNS MachineAddressType = "ExternalDNS"
	MachineInternalDNS MachineAddressType = "InternalDNS"
)

// MachineAddress is one address of a machine.
type MachineAddress struct {
	// type of the address: Hostname, ExternalIP, InternalIP, ExternalDNS or InternalDNS.
	// +required
	Type MachineAddressType `json:"type"`

	// address is the address itself.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Address string `json:"address"`
}

// MachineAddresses is a list of machine addresses.
// +kubebuilder:validation:MaxItems=256
type MachineAddresses []MachineAddress

// ConditionSeverity is the severity of a v1beta1 condition that is not True.
// +kubebuilder:validation:MaxLength=32
type ConditionSeverity string

// ConditionType is the type of a v1beta1 condition.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=256
type ConditionType string

// Condition is the v1beta1 shape of a condition, kept under status.deprecated.v1beta1
// for clients that still read it.
type Condition struct {
	// type of the condition, in CamelCase.
	// +required
	Type ConditionType `json:"type"`

	// status of the condition: True, False or Unknown.
	// +required
	Status corev1.ConditionStatus `json:"status"`

	// severity explains how bad a condition that is not True is: Error, Warning or Info.
	// +optional
	Severity ConditionSeverity `json:"severity,omitempty"`

	// lastTransitionTime is when the condition last changed status.
	// +required
	LastTransitionTime metav1.Time `json:"lastTransitionTime"`

	// reason is a CamelCase word for the last transition.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Reason string `json:"reason,omitempty"`

	// message is a human-readable explanation of the last transition.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=10240
	Message string `json:"message,omitempty"`
}

// Conditions is a list of v1beta1 conditions.
type Conditions []Condition

// Condition types and reasons shared by several kinds.
const (
	// ReadyCondition is the summary condition of most kinds.
	ReadyCondition = "Ready"
	// AvailableCondition says whether an object is available to do its job.
	AvailableCondition = "Available"
	// UpToDateCondition says whether a Machine matches its owner's desired spec.
	UpToDateCondition = "UpToDate"
	// PausedCondition is True while reconciliation of an object is paused.
	PausedCondition = "Paused"
	// DeletingCondition is True while an object is being deleted.
	DeletingCondition = "Deleting"
	// ScalingUpCondition is True while an object adds replicas.
	ScalingUpCondition = "ScalingUp"
	// ScalingDownCondition is True while an object removes replicas.
	ScalingDownCondition = "ScalingDown"
	// RollingOutCondition is True while an object replaces outdated replicas.
	RollingOutCondition = "RollingOut"
	// RemediatingCondition is True while an object replaces unhealthy replicas.
	RemediatingCondition = "Remediating"

	// PausedReason is used when an object is paused.
	PausedReason = "Paused"
	// NotPausedReason is used when an object is not paused.
	NotPausedReason = "NotPaused"
	// DeletingReason is used while an object is being deleted.
	DeletingReason = "Deleting"
	// NotDeletingReason is used when an object is not being deleted.
	NotDeletingReason = "NotDeleting"
	// InternalErrorReason is used when a condition could not be computed.
	InternalErrorReason = "InternalError"
)

// MachineReadinessGate names an extra condition that must be met before a Machine is Ready.
type MachineReadinessGate struct {
	// conditionType is the type of a condition in the Machine's status.conditions
	// that must be good before the Machine is considered Ready.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=316
	// +kubebuilder:validation:Pattern=`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$`
	ConditionType string `json:"conditionType"`

	// polarity of the condition: Positive (good when True, the default) or Negative (good when False).
	// +optional
	Polarity ConditionPolarity `json:"polarity,omitempty"`
}

// MachineTaintPropagation says when a Machine taint is put on its Node.
// +kubebuilder:validation:Enum=Always;OnInitialization
type MachineTaintPropagation string

const (
	// MachineTaintPropagationAlways keeps the taint on the Node for the Machine's whole life.
	MachineTaintPropagationAlways MachineTaintPropagation = "Always"
	// MachineTaintPropagationOnInitialization puts the taint on the Node once, when it joins.
	MachineTaintPropagationOnInitialization MachineTaintPropagation = "OnInitialization"
)

// MachineTaint is a taint the Machine controller puts on the Machine's Node.
type MachineTaint struct {
	// key of the taint.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=317
	// +kubebuilder:validation:Pattern=`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`
	Key string `json:"key"`

	// value of the taint.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`
	Value string `json:"value,omitempty"`

	// effect of the taint: NoSchedule, PreferNoSchedule or NoExecute.
	// +required
	// +kubebuilder:validation:Enum=NoSchedule;PreferNoSchedule;NoExecute
	Effect corev1.TaintEffect `json:"effect"`

	// propagation says when the taint is put on the Node: Always or OnInitialization.
	// +required
	Propagation MachineTaintPropagation `json:"propagation"`
}

// MachineDeletionSpec holds the deletion timeouts of a Machine.
// +kubebuilder:validation:MinProperties=1
type MachineDeletionSpec struct {
	// nodeDrainTimeoutSeconds is how long the controller tries to drain the Node
	// before it deletes the Machine anyway. Unset or 0 means no limit.
	// +optional
	// +kubebuilder:validation:Minimum=0
	NodeDrainTimeoutSeconds *int32 `json:"nodeDrainTimeoutSeconds,omitempty"`

	// nodeVolumeDetachTimeoutSeconds is how long the controller waits for the Node's
	// volumes to detach. Unset or 0 means no limit.
	// +optional
	// +kubebuilder:validation:Minimum=0
	NodeVolumeDetachTimeoutSeconds *int32 `json:"nodeVolumeDetachTimeoutSeconds,omitempty"`

	// nodeDeletionTimeoutSeconds is how long the controller retries deleting the Node
	// once the infrastructure is gone. Unset means 10 seconds; 0 means retry forever.
	// +optional
	// +kubebuilder:validation:Minimum=0
	NodeDeletionTimeoutSeconds *int32 `json:"nodeDeletionTimeoutSeconds,omitempty"`
}

// LabelValue is a label value: at most 63 characters, the longest a label value can be in Kubernetes.
// +kubebuilder:validation:MaxLength=63
type LabelValue string

// LabelSelector selects objects by label. It has the JSON shape of
// metav1.LabelSelector, with bounds that let the API server check with CEL that
// a MachineSet's or MachineDeployment's selector matches its template: CEL rules
// over an unbounded map exceed the API server's cost budget.
type LabelSelector struct {
	// matchLabels selects objects that have all of these labels with these values.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	MatchLabels map[string]LabelValue `json:"matchLabels,omitempty"`

	// matchExpressions selects objects that satisfy all of these requirements.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	MatchExpressions []metav1.LabelSelectorRequirement `json:"matchExpressions,omitempty"`
}

// ToMetav1 returns the selector as a metav1.LabelSelector, for the label helpers of apimachinery.
func (s LabelSelector) ToMetav1() *metav1.LabelSelector {
	out := &metav1.LabelSelector{MatchExpressions: s.MatchExpressions}
	if s.MatchLabels != nil {
		out.MatchLabels = make(map[string]string, len(s.MatchLabels))
		for k, v := range s.MatchLabels {
			out.MatchLabels[k] = string(v)
		}
	}
	return out
}
