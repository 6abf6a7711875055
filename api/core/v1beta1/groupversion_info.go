// Package v1beta1 contains the cluster.x-k8s.io/v1beta1 API types: Cluster,
// Machine, MachineSet, MachineDeployment, MachineHealthCheck, MachinePool and
// MachineDrainRule in the wire
// format of upstream Cluster API v1beta1. podcluster serves this version for
// manifests and tools written against it and stores v1beta2: every type here
// converts to and from its v1beta2 hub (see conversion.go), and fields that
// only one version has are kept in the cluster.x-k8s.io/conversion-data
// annotation.
//
// Structures whose JSON is the same in both versions are reused from v1beta2.
//
// +kubebuilder:object:generate=true
// +groupName=cluster.x-k8s.io
package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of every type in this package.
	GroupVersion = schema.GroupVersion{Group: "cluster.x-k8s.io", Version: "v1beta1"}

	// schemeBuilder registers the types of this package with a scheme.
	schemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the types of this package to a scheme.
	AddToScheme = schemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&Cluster{}, &ClusterList{},
		&Machine{}, &MachineList{},
		&MachineSet{}, &MachineSetList{},
		&MachineDeployment{}, &MachineDeploymentList{},
		&MachineHealthCheck{}, &MachineHealthCheckList{},
		&MachinePool{}, &MachinePoolList{},
		&MachineDrainRule{}, &MachineDrainRuleList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
