package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// MachineHealthCheckSpec is the desired state of a MachineHealthCheck.
type MachineHealthCheckSpec struct {
	// clusterName is the name of the Cluster this check belongs to.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	ClusterName string `json:"clusterName"`

	// selector selects the Machines to check.
	// +required
	Selector metav1.LabelSelector `json:"selector"`

	// unhealthyConditions are Node conditions that make a Machine unhealthy once they last long enough.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	UnhealthyConditions []UnhealthyCondition `json:"unhealthyConditions,omitempty"`

	// unhealthyMachineConditions are Machine conditions that make a Machine unhealthy once they last long enough.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	UnhealthyMachineConditions []UnhealthyMachineCondition `json:"unhealthyMachineConditions,omitempty"`

	// maxUnhealthy stops remediation when more Machines than this are unhealthy.
	// +optional
	MaxUnhealthy *intstr.IntOrString `json:"maxUnhealthy,omitempty"`

	// unhealthyRange allows remediation only while the number of unhealthy Machines is in this range, like "[3-5]".
	// +optional
	// +kubebuilder:validation:MaxLength=32
	UnhealthyRange *string `json:"unhealthyRange,omitempty"`

	// nodeStartupTimeout is how long a Machine may take to get a Node.
	// +optional
	NodeStartupTimeout *Duration `json:"nodeStartupTimeout,omitempty"`

	// remediationTemplate points to an external remediation template.
	// +optional
	RemediationTemplate *corev1.ObjectReference `json:"remediationTemplate,omitempty"`
}

// UnhealthyCondition is a Node condition that makes a Machine unhealthy.
type UnhealthyCondition struct {
	// type is the Node condition type.
	// +required
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=316
	Type corev1.NodeConditionType `json:"type"`
	// status is the condition status: True, False or Unknown.
	// +required
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Enum=True;False;Unknown
	Status corev1.ConditionStatus `json:"status"`
	// timeout is how long the condition must last.
	// +required
	Timeout Duration `json:"timeout"`
}

// UnhealthyMachineCondition is a Machine condition that makes a Machine unhealthy.
type UnhealthyMachineCondition struct {
	// type is the Machine condition type.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=316
	Type string `json:"type"`
	// status is the condition status: True, False or Unknown.
	// +required
	Status metav1.ConditionStatus `json:"status"`
	// timeout is how long the condition must last.
	// +required
	Timeout Duration `json:"timeout"`
}

// MachineHealthCheckStatus is the observed state of a MachineHealthCheck.
type MachineHealthCheckStatus struct {
	// expectedMachines is how many Machines the check selects.
	// +optional
	ExpectedMachines int32 `json:"expectedMachines,omitempty"`
	// currentHealthy is how many of them are healthy.
	// +optional
	CurrentHealthy int32 `json:"currentHealthy,omitempty"`
	// remediationsAllowed is how many more Machines may be remediated.
	// +optional
	RemediationsAllowed int32 `json:"remediationsAllowed,omitempty"`
	// observedGeneration is the generation the controller last acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// targets are the names of the checked Machines.
	// +optional
	// +kubebuilder:validation:MaxItems=10000
	Targets []string `json:"targets,omitempty"`
	// conditions are the check's conditions in the v1beta1 shape.
	// +optional
	Conditions clusterv1.Conditions `json:"conditions,omitempty"`
	// v1beta2 holds the status in the v1beta2 shape.
	// +optional
	V1Beta2 *V1Beta2Conditions `json:"v1beta2,omitempty"`
}

// MachineHealthCheck remediates unhealthy Machines, in the v1beta1 shape.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=machinehealthchecks,shortName=mhc;mhcs,scope=Namespaced,categories=cluster-api
// +kubebuilder:unservedversion
// +kubebuilder:subresource:status
// +kubebuilder:deprecatedversion
// +kubebuilder:printcolumn:name="Cluster",type="string",JSONPath=".spec.clusterName",description="Cluster"
// +kubebuilder:printcolumn:name="MaxUnhealthy",type="string",JSONPath=".spec.maxUnhealthy",description="Maximum number of unhealthy machines allowed"
// +kubebuilder:printcolumn:name="ExpectedMachines",type="integer",JSONPath=".status.expectedMachines",description="Number of machines currently monitored"
// +kubebuilder:printcolumn:name="CurrentHealthy",type="integer",JSONPath=".status.currentHealthy",description="Current observed healthy machines"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time duration since creation of MachineHealthCheck"
type MachineHealthCheck struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired state of the MachineHealthCheck.
	// +optional
	Spec MachineHealthCheckSpec `json:"spec,omitempty"`
	// status is the observed state of the MachineHealthCheck.
	// +optional
	Status MachineHealthCheckStatus `json:"status,omitempty,omitzero"`
}

// MachineHealthCheckList is a list of MachineHealthChecks.
//
// +kubebuilder:object:root=true
type MachineHealthCheckList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MachineHealthCheck `json:"items"`
}
