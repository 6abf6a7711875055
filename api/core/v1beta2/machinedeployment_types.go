package v1beta2

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// MachineDeploymentFinalizer is the finalizer the MachineDeployment controller uses to delete its MachineSets first.
const MachineDeploymentFinalizer = "cluster.x-k8s.io/machinedeployment"

// MachineDeployment conditions.
const (
	MachineDeploymentAvailableCondition        = AvailableCondition
	MachineDeploymentMachinesReadyCondition    = "MachinesReady"
	MachineDeploymentMachinesUpToDateCondition = "MachinesUpToDate"
	MachineDeploymentRollingOutCondition       = RollingOutCondition
	MachineDeploymentScalingUpCondition        = ScalingUpCondition
	MachineDeploymentScalingDownCondition      = ScalingDownCondition
	MachineDeploymentRemediatingCondition      = RemediatingCondition
	MachineDeploymentDeletingCondition         = DeletingCondition
	MachineDeploymentPausedCondition           = PausedCondition
)

// MachineDeploymentPhase is the coarse state of a MachineDeployment.
type MachineDeploymentPhase string

// MachineDeployment phases.
const (
	MachineDeploymentPhaseScalingUp   MachineDeploymentPhase = "ScalingUp"
	MachineDeploymentPhaseScalingDown MachineDeploymentPhase = "ScalingDown"
	MachineDeploymentPhaseRunning     MachineDeploymentPhase = "Running"
	MachineDeploymentPhaseFailed      MachineDeploymentPhase = "Failed"
	MachineDeploymentPhaseUnknown     MachineDeploymentPhase = "Unknown"
)

// MachineDeploymentRolloutStrategyType is how a MachineDeployment replaces Machines.
// +kubebuilder:validation:Enum=RollingUpdate;OnDelete
type MachineDeploymentRolloutStrategyType string

const (
	// RollingUpdateMachineDeploymentStrategyType replaces Machines a few at a time,
	// within maxSurge and maxUnavailable.
	RollingUpdateMachineDeploymentStrategyType MachineDeploymentRolloutStrategyType = "RollingUpdate"
	// OnDeleteMachineDeploymentStrategyType replaces a Machine only after the user deletes it.
	OnDeleteMachineDeploymentStrategyType MachineDeploymentRolloutStrategyType = "OnDelete"
)

// MachineDeploymentSpec is the desired state of a MachineDeployment.
// +kubebuilder:validation:XValidation:rule="self.template.spec.clusterName == self.clusterName",message="spec.template.spec.clusterName must equal spec.clusterName"
// +kubebuilder:validation:XValidation:rule="!has(self.selector.matchLabels) || self.selector.matchLabels.all(k, has(self.template.metadata) && has(self.template.metadata.labels) && k in self.template.metadata.labels && self.template.metadata.labels[k] == self.selector.matchLabels[k])",message="spec.selector.matchLabels must match spec.template.metadata.labels"
type MachineDeploymentSpec struct {
	// clusterName is the name of the Cluster this MachineDeployment belongs to. It is immutable.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.clusterName is immutable"
	ClusterName string `json:"clusterName"`

	// replicas is the number of Machines wanted. When unset it defaults to the
	// autoscaler's min-size annotation if present, otherwise to 1.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Replicas *int32 `json:"replicas,omitempty"`

	// rollout says when and how Machines are replaced after a template change.
	// +optional
	Rollout MachineDeploymentRolloutSpec `json:"rollout,omitempty,omitzero"`

	// selector selects the Machines this MachineDeployment owns. It must match the template's labels.
	// +required
	Selector LabelSelector `json:"selector"`

	// template is the Machine the MachineDeployment creates. Any change to it starts a rollout.
	// +required
	Template MachineTemplateSpec `json:"template,omitempty,omitzero"`

	// machineNaming says how the MachineDeployment's MachineSets name their Machines.
	// +optional
	MachineNaming MachineNamingSpec `json:"machineNaming,omitempty,omitzero"`

	// remediation limits how many unhealthy Machines are replaced at once.
	// +optional
	Remediation MachineDeploymentRemediationSpec `json:"remediation,omitempty,omitzero"`

	// deletion says which Machines go first when scaling down.
	// +optional
	Deletion MachineDeploymentDeletionSpec `json:"deletion,omitempty,omitzero"`

	// paused stops the MachineDeployment from rolling out or scaling until unset.
	// +optional
	Paused *bool `json:"paused,omitempty"`
}

// MachineDeploymentRolloutSpec says when and how Machines are replaced.
// +kubebuilder:validation:MinProperties=1
type MachineDeploymentRolloutSpec struct {
	// after starts a rollout of all Machines created before this time, once the time has passed.
	// +optional
	After metav1.Time `json:"after,omitempty,omitzero"`

	// strategy is how Machines are replaced.
	// +optional
	Strategy MachineDeploymentRolloutStrategy `json:"strategy,omitempty,omitzero"`
}

// MachineDeploymentRolloutStrategy is how Machines are replaced.
// +kubebuilder:validation:MinProperties=1
// +kubebuilder:validation:XValidation:rule="self.type == 'RollingUpdate' || !has(self.rollingUpdate)",message="rollout.strategy.rollingUpdate may only be set when rollout.strategy.type is RollingUpdate"
type MachineDeploymentRolloutStrategy struct {
	// type is RollingUpdate (the default) or OnDelete.
	// +required
	Type MachineDeploymentRolloutStrategyType `json:"type"`

	// rollingUpdate tunes the RollingUpdate strategy.
	// +optional
	RollingUpdate MachineDeploymentRolloutStrategyRollingUpdate `json:"rollingUpdate,omitempty,omitzero"`
}

// MachineDeploymentRolloutStrategyRollingUpdate tunes a rolling update.
// +kubebuilder:validation:MinProperties=1
type MachineDeploymentRolloutStrategyRollingUpdate struct {
	// maxUnavailable is how many Machines (a number, or a percentage of replicas,
	// rounded down) may be unavailable during the rollout. Default 0.
	// +optional
	// +kubebuilder:validation:XValidation:rule="type(self) == int ? self >= 0 : self.matches('^[0-9]+%$')",message="maxUnavailable must be a non-negative number or a percentage such as 25%"
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`

	// maxSurge is how many Machines (a number, or a percentage of replicas, rounded
	// up) may exist above replicas during the rollout. Default 1.
	// +optional
	// +kubebuilder:validation:XValidation:rule="type(self) == int ? self >= 0 : self.matches('^[0-9]+%$')",message="maxSurge must be a non-negative number or a percentage such as 25%"
	MaxSurge *intstr.IntOrString `json:"maxSurge,omitempty"`
}

// MachineDeploymentRemediationSpec limits concurrent remediation.
// +kubebuilder:validation:MinProperties=1
type MachineDeploymentRemediationSpec struct {
	// maxInFlight is how many unhealthy Machines (a number or a percentage of
	// replicas) may be replaced at the same time. Unset means no limit.
	// +optional
	// +kubebuilder:validation:XValidation:rule="type(self) == int ? self >= 0 : self.matches('^[0-9]+%$')",message="maxInFlight must be a non-negative number or a percentage such as 25%"
	MaxInFlight *intstr.IntOrString `json:"maxInFlight,omitempty"`
}

// MachineDeploymentDeletionSpec says which Machines go first when scaling down.
// +kubebuilder:validation:MinProperties=1
type MachineDeploymentDeletionSpec struct {
	// order is Random (the default), Newest or Oldest.
	// +optional
	Order MachineSetDeletionOrder `json:"order,omitempty"`
}

// MachineDeploymentStatus is the observed state of a MachineDeployment.
// +kubebuilder:validation:MinProperties=1
type MachineDeploymentStatus struct {
	// conditions are the current observations of the MachineDeployment.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=32
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// observedGeneration is the generation the status was computed from.
	// +optional
	// +kubebuilder:validation:Minimum=1
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// selector is the label selector of the Machines, in string form, for the scale subresource.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Selector string `json:"selector,omitempty"`

	// replicas is the number of Machines that exist.
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// readyReplicas is the number of Machines whose Ready condition is True.
	// +optional
	ReadyReplicas *int32 `json:"readyReplicas,omitempty"`

	// availableReplicas is the number of Machines whose Available condition is True.
	// +optional
	AvailableReplicas *int32 `json:"availableReplicas,omitempty"`

	// upToDateReplicas is the number of Machines whose UpToDate condition is True.
	// +optional
	UpToDateReplicas *int32 `json:"upToDateReplicas,omitempty"`

	// versions counts the Machines per Kubernetes version.
	// +optional
	// +listType=map
	// +listMapKey=version
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	Versions []StatusVersion `json:"versions,omitempty"`

	// phase is ScalingUp, ScalingDown, Running, Failed or Unknown.
	// +optional
	// +kubebuilder:validation:Enum=ScalingUp;ScalingDown;Running;Failed;Unknown
	Phase string `json:"phase,omitempty"`

	// deprecated holds v1beta1 compatibility data.
	// +optional
	Deprecated *MachineDeploymentDeprecatedStatus `json:"deprecated,omitempty"`
}

// MachineDeploymentDeprecatedStatus holds compatibility data for older clients.
type MachineDeploymentDeprecatedStatus struct {
	// v1beta1 holds the status fields of the v1beta1 API.
	// +optional
	V1Beta1 *MachineDeploymentV1Beta1DeprecatedStatus `json:"v1beta1,omitempty"`
}

// MachineDeploymentV1Beta1DeprecatedStatus holds the v1beta1 status fields of a MachineDeployment.
type MachineDeploymentV1Beta1DeprecatedStatus struct {
	// conditions in the v1beta1 shape.
	// +optional
	Conditions Conditions `json:"conditions,omitempty"`

	// updatedReplicas is the number of Machines on the current template.
	// +optional
	UpdatedReplicas int32 `json:"updatedReplicas"`

	// readyReplicas is the number of Machines whose Node is Ready.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas"`

	// availableReplicas is the number of Machines available for at least minReadySeconds.
	// +optional
	AvailableReplicas int32 `json:"availableReplicas"`

	// unavailableReplicas is the number of Machines still needed to reach replicas available Machines.
	// +optional
	UnavailableReplicas int32 `json:"unavailableReplicas"`
}

// MachineDeployment keeps a number of Machines at the latest template, rolling
// out changes through one MachineSet per template revision.
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=machinedeployments,shortName=md,scope=Namespaced,categories=cluster-api
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.replicas,statuspath=.status.replicas,selectorpath=.status.selector
// +kubebuilder:printcolumn:name="Cluster",type="string",JSONPath=".spec.clusterName",description="Cluster"
// +kubebuilder:printcolumn:name="Available",type="string",JSONPath=`.status.conditions[?(@.type=="Available")].status`,description="MachineDeployment pass all availability checks"
// +kubebuilder:printcolumn:name="Desired",type=integer,JSONPath=".spec.replicas",description="The desired number of machines"
// +kubebuilder:printcolumn:name="Current",type="integer",JSONPath=".status.replicas",description="The number of machines"
// +kubebuilder:printcolumn:name="Ready",type="integer",JSONPath=".status.readyReplicas",description="The number of machines with Ready condition true"
// +kubebuilder:printcolumn:name="Available",type=integer,JSONPath=".status.availableReplicas",description="The number of machines with Available condition true"
// +kubebuilder:printcolumn:name="Up-to-date",type=integer,JSONPath=".status.upToDateReplicas",description="The number of machines with UpToDate condition true"
// +kubebuilder:printcolumn:name="Paused",type="string",JSONPath=`.status.conditions[?(@.type=="Paused")].status`,description="Reconciliation paused",priority=10
// +kubebuilder:printcolumn:name="Phase",type="string",JSONPath=".status.phase",description="MachineDeployment status such as ScalingUp/ScalingDown/Running/Failed/Unknown"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time duration since creation of MachineDeployment"
// +kubebuilder:printcolumn:name="Version",type="string",JSONPath=".spec.template.spec.version",description="Kubernetes version associated with this MachineDeployment"
type MachineDeployment struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired state of the MachineDeployment.
	// +required
	Spec MachineDeploymentSpec `json:"spec,omitempty,omitzero"`

	// status is the observed state of the MachineDeployment.
	// +optional
	Status MachineDeploymentStatus `json:"status,omitempty,omitzero"`
}

// MachineDeploymentList is a list of MachineDeployments.
// +kubebuilder:object:root=true
type MachineDeploymentList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MachineDeployment `json:"items"`
}

func init() {
	registerTypes(&MachineDeployment{}, &MachineDeploymentList{})
}
