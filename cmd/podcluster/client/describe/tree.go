// Package describe builds the tree `podcluster describe cluster` prints: a
// Cluster, its infrastructure, its control plane and its workers, each with the
// status of its summary conditions and the reasons of what is unhealthy. It is
// pure: objects in, a tree out.
package describe

import (
	"fmt"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// Roles of the nodes that group others.
const (
	RoleInfrastructure = "ClusterInfrastructure"
	RoleControlPlane   = "ControlPlane"
	RoleWorkers        = "Workers"
)

// Object is a provider object (the infrastructure cluster or the control
// plane) as the contract sees it, whatever its provider.
type Object struct {
	Kind string
	Name string
	// NotFound says the Cluster refers to an object that could not be read, and why.
	NotFound string
	// Conditions are the object's status.conditions.
	Conditions []metav1.Condition
	// Desired and Current are spec.replicas and status.replicas of a control
	// plane; nil for objects without replicas.
	Desired, Current *int32
}

// Input is everything the tree shows.
type Input struct {
	Cluster *clusterv1.Cluster
	// Infrastructure and ControlPlane are nil when the Cluster refers to none.
	Infrastructure *Object
	ControlPlane   *Object
	// MachineDeployments, MachineSets and Machines of the Cluster, in any order.
	MachineDeployments []clusterv1.MachineDeployment
	MachineSets        []clusterv1.MachineSet
	Machines           []clusterv1.Machine
	// MachineHealthChecks of the Cluster, in any order.
	MachineHealthChecks []clusterv1.MachineHealthCheck
}

// Node is one line of the tree.
type Node struct {
	// Role is set on nodes that stand for a part of the cluster: ClusterInfrastructure,
	// ControlPlane or Workers. A group without an object has a Role and no Kind.
	Role string `json:"role,omitempty"`
	Kind string `json:"kind,omitempty"`
	Name string `json:"name,omitempty"`
	// Replicas is "current/desired" for objects with replicas, and
	// "healthy/expected" Machines for a MachineHealthCheck.
	Replicas string `json:"replicas,omitempty"`
	// Health marks a Machine a MachineHealthCheck found unhealthy
	// ("Unhealthy"), and one handed on for remediation ("Unhealthy,
	// Remediating").
	Health string `json:"health,omitempty"`
	// Ready, Available and UpToDate are the statuses (True, False, Unknown) of the
	// object's conditions of those types, or "" when it has none. For groups of
	// machines without Ready or UpToDate, MachinesReady and MachinesUpToDate stand in.
	Ready     string `json:"ready,omitempty"`
	Available string `json:"available,omitempty"`
	UpToDate  string `json:"upToDate,omitempty"`
	// Problems are the conditions that are not healthy.
	Problems []Problem `json:"problems,omitempty"`
	Children []*Node   `json:"children,omitempty"`
}

// Problem is an unhealthy condition.
type Problem struct {
	Type    string `json:"type"`
	Status  string `json:"status"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// negativePolarity are the condition types that are healthy when False: they
// describe work in progress, which is not a problem by itself.
var negativePolarity = map[string]bool{
	clusterv1.PausedCondition:      true,
	clusterv1.DeletingCondition:    true,
	clusterv1.ScalingUpCondition:   true,
	clusterv1.ScalingDownCondition: true,
	clusterv1.RollingOutCondition:  true,
	clusterv1.RemediatingCondition: true,
	"Updating":                     true,
}

// Build returns the tree of a Cluster.
func Build(in Input) *Node {
	c := in.Cluster
	root := objectNode("Cluster", c.Name, c.Status.Conditions)

	if in.Infrastructure != nil {
		n := providerNode(in.Infrastructure)
		n.Role = RoleInfrastructure
		root.Children = append(root.Children, n)
	}

	var controlPlaneMachines, others []clusterv1.Machine
	for _, m := range sortedMachines(in.Machines) {
		if _, ok := m.Labels[clusterv1.MachineControlPlaneLabel]; ok {
			controlPlaneMachines = append(controlPlaneMachines, m)
		} else {
			others = append(others, m)
		}
	}
	switch {
	case in.ControlPlane != nil:
		n := providerNode(in.ControlPlane)
		n.Role = RoleControlPlane
		n.Children = machineNodes(controlPlaneMachines)
		root.Children = append(root.Children, n)
	case len(controlPlaneMachines) > 0:
		root.Children = append(root.Children, &Node{Role: RoleControlPlane, Children: machineNodes(controlPlaneMachines)})
	}

	if workers := workerNodes(in, others); len(workers) > 0 {
		root.Children = append(root.Children, &Node{Role: RoleWorkers, Children: workers})
	}
	mhcs := append([]clusterv1.MachineHealthCheck(nil), in.MachineHealthChecks...)
	sort.Slice(mhcs, func(i, j int) bool { return mhcs[i].Name < mhcs[j].Name })
	for _, mhc := range mhcs {
		n := objectNode("MachineHealthCheck", mhc.Name, mhc.Status.Conditions)
		n.Replicas = replicas(mhc.Status.CurrentHealthy, mhc.Status.ExpectedMachines)
		root.Children = append(root.Children, n)
	}
	return root
}

// workerNodes places MachineSets under their MachineDeployment and Machines
// under their MachineSet; whatever has no owner among them stands alone.
func workerNodes(in Input, machines []clusterv1.Machine) []*Node {
	setNodes := map[string]*Node{}
	var sets []clusterv1.MachineSet
	sets = append(sets, in.MachineSets...)
	sort.Slice(sets, func(i, j int) bool { return sets[i].Name < sets[j].Name })
	for _, ms := range sets {
		n := objectNode("MachineSet", ms.Name, ms.Status.Conditions)
		n.Replicas = replicas(ms.Status.Replicas, ms.Spec.Replicas)
		setNodes[ms.Name] = n
	}
	for _, m := range machines {
		if n := setNodes[owner(m.ObjectMeta, "MachineSet", clusterv1.MachineSetNameLabel)]; n != nil {
			n.Children = append(n.Children, machineNode(m))
		}
	}

	var out []*Node
	deployments := map[string]*Node{}
	var mds []clusterv1.MachineDeployment
	mds = append(mds, in.MachineDeployments...)
	sort.Slice(mds, func(i, j int) bool { return mds[i].Name < mds[j].Name })
	for _, md := range mds {
		n := objectNode("MachineDeployment", md.Name, md.Status.Conditions)
		n.Replicas = replicas(md.Status.Replicas, md.Spec.Replicas)
		deployments[md.Name] = n
		out = append(out, n)
	}
	for _, ms := range sets {
		if md := deployments[owner(ms.ObjectMeta, "MachineDeployment", clusterv1.MachineDeploymentNameLabel)]; md != nil {
			md.Children = append(md.Children, setNodes[ms.Name])
		} else {
			out = append(out, setNodes[ms.Name])
		}
	}
	for _, m := range machines {
		if setNodes[owner(m.ObjectMeta, "MachineSet", clusterv1.MachineSetNameLabel)] == nil {
			out = append(out, machineNode(m))
		}
	}
	return out
}

// owner returns the name of the object's controller of that kind, or else the
// value of the label that names it.
func owner(meta metav1.ObjectMeta, kind, label string) string {
	for _, ref := range meta.OwnerReferences {
		if ref.Kind == kind && ref.Controller != nil && *ref.Controller {
			return ref.Name
		}
	}
	return meta.Labels[label]
}

func sortedMachines(in []clusterv1.Machine) []clusterv1.Machine {
	out := append([]clusterv1.Machine(nil), in...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func machineNodes(machines []clusterv1.Machine) []*Node {
	var out []*Node
	for _, m := range machines {
		out = append(out, machineNode(m))
	}
	return out
}

func machineNode(m clusterv1.Machine) *Node {
	n := objectNode("Machine", m.Name, m.Status.Conditions)
	n.Health = machineHealth(m.Status.Conditions)
	return n
}

// machineHealth summarises what MachineHealthChecks said of a Machine: the
// verdict, and whether its owner or an external controller was asked to
// remediate it and has not finished.
func machineHealth(conditions []metav1.Condition) string {
	if status(conditions, clusterv1.MachineHealthCheckSucceededCondition) != string(metav1.ConditionFalse) {
		return ""
	}
	if status(conditions, clusterv1.MachineOwnerRemediatedCondition) == string(metav1.ConditionFalse) ||
		status(conditions, clusterv1.MachineExternallyRemediatedCondition) == string(metav1.ConditionFalse) {
		return "Unhealthy, Remediating"
	}
	return "Unhealthy"
}

func providerNode(o *Object) *Node {
	n := objectNode(o.Kind, o.Name, o.Conditions)
	if o.Desired != nil {
		n.Replicas = replicas(o.Current, o.Desired)
	}
	if o.NotFound != "" {
		n.Problems = append([]Problem{{Type: "Found", Status: string(metav1.ConditionFalse), Reason: "NotFound", Message: o.NotFound}}, n.Problems...)
	}
	return n
}

func objectNode(kind, name string, conditions []metav1.Condition) *Node {
	n := &Node{
		Kind:      kind,
		Name:      name,
		Ready:     status(conditions, clusterv1.ReadyCondition, "MachinesReady"),
		Available: status(conditions, clusterv1.AvailableCondition),
		UpToDate:  status(conditions, clusterv1.UpToDateCondition, "MachinesUpToDate"),
	}
	for _, c := range conditions {
		if negativePolarity[c.Type] || c.Status == metav1.ConditionTrue {
			continue
		}
		n.Problems = append(n.Problems, Problem{Type: c.Type, Status: string(c.Status), Reason: c.Reason, Message: c.Message})
	}
	return n
}

// status returns the status of the first of the condition types the object has.
func status(conditions []metav1.Condition, types ...string) string {
	for _, t := range types {
		for _, c := range conditions {
			if c.Type == t {
				return string(c.Status)
			}
		}
	}
	return ""
}

// replicas is "current/desired"; a status not written yet counts as zero, and
// an unset desired count (left to an autoscaler) shows as "-".
func replicas(current, desired *int32) string {
	var c int32
	if current != nil {
		c = *current
	}
	if desired == nil {
		return fmt.Sprintf("%d/-", c)
	}
	return fmt.Sprintf("%d/%d", c, *desired)
}
