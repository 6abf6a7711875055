package cluster

import (
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/conditions"
	"github.com/podcluster/podcluster/internal/conditions/conditionstest"
)

// Builders for the objects a Cluster reconcile observes.

func providerObject(kind string, fields map[string]any, conds ...metav1.Condition) *unstructured.Unstructured {
	var list []any
	for _, c := range conds {
		list = append(list, map[string]any{"type": c.Type, "status": string(c.Status), "reason": c.Reason, "message": c.Message,
			"lastTransitionTime": "2026-01-01T00:00:00Z"})
	}
	status := map[string]any{"conditions": list}
	u := &unstructured.Unstructured{Object: map[string]any{"status": status}}
	for k, v := range fields {
		status[k] = v
	}
	u.SetKind(kind)
	u.SetName("c1")
	return u
}

func cond(t string, status metav1.ConditionStatus, reason string) metav1.Condition {
	return metav1.Condition{Type: t, Status: status, Reason: reason}
}

func controlledBy(kind, name string) []metav1.OwnerReference {
	t := true
	return []metav1.OwnerReference{{Kind: kind, Name: name, Controller: &t}}
}

func newMachine(name string, controlPlane bool, owners []metav1.OwnerReference, conds ...metav1.Condition) *clusterv1.Machine {
	m := &clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Name: name, OwnerReferences: owners}, Status: clusterv1.MachineStatus{Conditions: conds}}
	if controlPlane {
		m.Labels = map[string]string{clusterv1.MachineControlPlaneLabel: ""}
	}
	return m
}

func newMachineDeployment(name string, replicas int32, available bool) *clusterv1.MachineDeployment {
	status := metav1.ConditionFalse
	if available {
		status = metav1.ConditionTrue
	}
	return &clusterv1.MachineDeployment{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:   clusterv1.MachineDeploymentSpec{Replicas: &replicas},
		Status: clusterv1.MachineDeploymentStatus{Conditions: []metav1.Condition{cond(clusterv1.AvailableCondition, status, "R")}}}
}

var (
	infraRef = clusterv1.ContractVersionedObjectReference{APIGroup: "infrastructure.cluster.x-k8s.io", Kind: "KubernetesCluster", Name: "c1"}
	cpRef    = clusterv1.ContractVersionedObjectReference{APIGroup: "controlplane.cluster.x-k8s.io", Kind: "KubeadmControlPlane", Name: "c1"}
)

func TestSetStatus(t *testing.T) {
	tr := true
	now := metav1.Now()
	withRefs := func(c *clusterv1.Cluster) {
		c.Spec.InfrastructureRef = infraRef
		c.Spec.ControlPlaneRef = cpRef
	}
	provisioned := func(c *clusterv1.Cluster) {
		withRefs(c)
		c.Spec.ControlPlaneEndpoint = clusterv1.APIEndpoint{Host: "10.0.0.1", Port: 6443}
		c.Status.Initialization.InfrastructureProvisioned = &tr
		c.Status.Initialization.ControlPlaneInitialized = &tr
	}
	readyInfra := providerObject("KubernetesCluster", nil, cond(clusterv1.ReadyCondition, metav1.ConditionTrue, "Ready"))
	availableCP := providerObject("KubeadmControlPlane", nil, cond(clusterv1.AvailableCondition, metav1.ConditionTrue, "Available"))
	healthy := scope{infra: readyInfra, controlPlane: availableCP,
		machineDeployments: []*clusterv1.MachineDeployment{newMachineDeployment("md", 1, true)}}
	availableMachine := cond(clusterv1.AvailableCondition, metav1.ConditionTrue, clusterv1.MachineAvailableReason)

	type want = conditionstest.Want
	tests := []struct {
		name    string
		cluster func(*clusterv1.Cluster)
		scope   scope
		phase   clusterv1.ClusterPhase
		// conds are the expected conditions by type; types not listed are not checked.
		conds map[string]want
		// msgs are substrings of the condition messages, by type.
		msgs map[string]string
	}{
		{
			name:  "paused reports only Paused",
			scope: scope{paused: true},
			conds: map[string]want{
				clusterv1.PausedCondition:                     {Status: metav1.ConditionTrue, Reason: clusterv1.ClusterPausedReason},
				clusterv1.ClusterInfrastructureReadyCondition: {},
				clusterv1.AvailableCondition:                  {},
			},
		},
		{
			name:  "no references and no Machines",
			phase: clusterv1.ClusterPhasePending,
			conds: map[string]want{
				clusterv1.PausedCondition:                         {Status: metav1.ConditionFalse, Reason: clusterv1.ClusterNotPausedReason},
				clusterv1.ClusterInfrastructureReadyCondition:     {Status: metav1.ConditionTrue, Reason: clusterv1.ClusterInfrastructureReadyNoInfrastructureReason},
				clusterv1.ClusterControlPlaneInitializedCondition: {Status: metav1.ConditionFalse, Reason: clusterv1.ClusterControlPlaneInitializedNotInitializedReason},
				clusterv1.ClusterControlPlaneAvailableCondition:   {Status: metav1.ConditionFalse, Reason: clusterv1.ClusterControlPlaneAvailableNoControlPlaneMachinesReason},
				clusterv1.ClusterWorkersAvailableCondition:        {Status: metav1.ConditionTrue, Reason: clusterv1.ClusterWorkersAvailableNoWorkersReason},
				clusterv1.DeletingCondition:                       {Status: metav1.ConditionFalse, Reason: clusterv1.ClusterNotDeletingReason},
				clusterv1.AvailableCondition:                      {Status: metav1.ConditionFalse, Reason: clusterv1.ClusterAvailableNotAvailableReason},
			},
			msgs: map[string]string{
				clusterv1.ClusterControlPlaneInitializedCondition: "first control-plane Machine to get a Node",
				clusterv1.AvailableCondition:                      "ControlPlaneAvailable: the cluster has no control-plane Machine",
			},
		},
		{
			name:    "referenced objects do not exist",
			cluster: withRefs,
			scope:   scope{infraMissing: true, controlPlaneMissing: true},
			phase:   clusterv1.ClusterPhaseProvisioning,
			conds: map[string]want{
				clusterv1.ClusterInfrastructureReadyCondition:     {Status: metav1.ConditionFalse, Reason: clusterv1.ClusterInfrastructureReadyDoesNotExistReason},
				clusterv1.ClusterControlPlaneAvailableCondition:   {Status: metav1.ConditionFalse, Reason: clusterv1.ClusterControlPlaneAvailableDoesNotExistReason},
				clusterv1.ClusterControlPlaneInitializedCondition: {Status: metav1.ConditionFalse, Reason: clusterv1.ClusterControlPlaneInitializedNotInitializedReason},
				clusterv1.AvailableCondition:                      {Status: metav1.ConditionFalse, Reason: clusterv1.ClusterAvailableNotAvailableReason},
			},
			msgs: map[string]string{
				clusterv1.ClusterInfrastructureReadyCondition:     "KubernetesCluster c1 does not exist",
				clusterv1.ClusterControlPlaneAvailableCondition:   "KubeadmControlPlane c1 does not exist",
				clusterv1.ClusterControlPlaneInitializedCondition: "KubeadmControlPlane c1 to report",
			},
		},
		{
			name:    "referenced objects not read yet: Unknown, not the fallbacks",
			cluster: withRefs,
			phase:   clusterv1.ClusterPhaseProvisioning,
			conds: map[string]want{
				clusterv1.ClusterInfrastructureReadyCondition:   {Status: metav1.ConditionUnknown, Reason: clusterv1.ClusterInfrastructureReadyNotReadyReason},
				clusterv1.ClusterControlPlaneAvailableCondition: {Status: metav1.ConditionUnknown, Reason: clusterv1.ClusterControlPlaneAvailableNotAvailableReason},
			},
			msgs: map[string]string{
				clusterv1.ClusterInfrastructureReadyCondition:   "KubernetesCluster c1 does not report a Ready condition yet",
				clusterv1.ClusterControlPlaneAvailableCondition: "KubeadmControlPlane c1 does not report an Available condition yet",
			},
		},
		{
			name:    "referenced objects report no conditions: the contract's fallbacks, not provisioned yet",
			cluster: withRefs,
			scope:   scope{infra: providerObject("KubernetesCluster", nil), controlPlane: providerObject("KubeadmControlPlane", nil)},
			phase:   clusterv1.ClusterPhaseProvisioning,
			conds: map[string]want{
				clusterv1.ClusterInfrastructureReadyCondition:   {Status: metav1.ConditionFalse, Reason: clusterv1.ClusterInfrastructureReadyNotReadyReason},
				clusterv1.ClusterControlPlaneAvailableCondition: {Status: metav1.ConditionFalse, Reason: clusterv1.ClusterControlPlaneAvailableNotAvailableReason},
				clusterv1.AvailableCondition:                    {Status: metav1.ConditionFalse, Reason: clusterv1.ClusterAvailableNotAvailableReason},
			},
			msgs: map[string]string{
				clusterv1.ClusterInfrastructureReadyCondition:   "waiting for KubernetesCluster c1 to report status.initialization.provisioned (it reports no Ready condition)",
				clusterv1.ClusterControlPlaneAvailableCondition: "waiting for KubeadmControlPlane c1 to report status.initialization.controlPlaneInitialized (it reports no Available condition)",
			},
		},
		{
			name:    "referenced objects report no conditions: provisioned and initialized make the Cluster Available",
			cluster: provisioned,
			scope: scope{infra: providerObject("DevCluster", map[string]any{"initialization": map[string]any{"provisioned": true}}),
				controlPlane: providerObject("KubeadmControlPlane", map[string]any{"initialization": map[string]any{"controlPlaneInitialized": true}})},
			phase: clusterv1.ClusterPhaseProvisioned,
			conds: map[string]want{
				clusterv1.ClusterInfrastructureReadyCondition:   {Status: metav1.ConditionTrue, Reason: clusterv1.ClusterInfrastructureReadyReason},
				clusterv1.ClusterControlPlaneAvailableCondition: {Status: metav1.ConditionTrue, Reason: clusterv1.ClusterControlPlaneAvailableReason},
				clusterv1.AvailableCondition:                    {Status: metav1.ConditionTrue, Reason: clusterv1.ClusterAvailableReason},
			},
		},
		{
			name:    "other conditions but no Ready or Available: still the fallbacks",
			cluster: provisioned,
			scope: scope{infra: providerObject("DevCluster", nil, cond(clusterv1.PausedCondition, metav1.ConditionFalse, "NotPaused")),
				controlPlane: providerObject("KubeadmControlPlane", nil, cond(clusterv1.ReadyCondition, metav1.ConditionFalse, "NotReady"))},
			phase: clusterv1.ClusterPhaseProvisioned,
			conds: map[string]want{
				clusterv1.ClusterInfrastructureReadyCondition:   {Status: metav1.ConditionTrue, Reason: clusterv1.ClusterInfrastructureReadyReason},
				clusterv1.ClusterControlPlaneAvailableCondition: {Status: metav1.ConditionTrue, Reason: clusterv1.ClusterControlPlaneAvailableReason},
			},
		},
		{
			name:    "a Ready condition wins over the fallback",
			cluster: provisioned,
			scope: scope{infra: providerObject("DevCluster", map[string]any{"initialization": map[string]any{"provisioned": true}},
				cond(clusterv1.ReadyCondition, metav1.ConditionFalse, "LoadBalancerGone")), controlPlane: availableCP},
			phase: clusterv1.ClusterPhaseProvisioned,
			conds: map[string]want{
				clusterv1.ClusterInfrastructureReadyCondition: {Status: metav1.ConditionFalse, Reason: "LoadBalancerGone"},
				clusterv1.AvailableCondition:                  {Status: metav1.ConditionFalse, Reason: clusterv1.ClusterAvailableNotAvailableReason},
			},
		},
		{
			name:    "conditions that do not parse are Unknown, not a fallback",
			cluster: provisioned,
			scope: scope{infra: providerObject("DevCluster", map[string]any{"conditions": "Ready"}),
				controlPlane: providerObject("KubeadmControlPlane", map[string]any{"conditions": []any{"Available"}})},
			phase: clusterv1.ClusterPhaseProvisioned,
			conds: map[string]want{
				clusterv1.ClusterInfrastructureReadyCondition:   {Status: metav1.ConditionUnknown, Reason: clusterv1.ClusterInfrastructureReadyNotReadyReason},
				clusterv1.ClusterControlPlaneAvailableCondition: {Status: metav1.ConditionUnknown, Reason: clusterv1.ClusterControlPlaneAvailableNotAvailableReason},
			},
		},
		{
			name:    "provider conditions are mirrored with their reasons",
			cluster: withRefs,
			scope: scope{
				infra:        providerObject("KubernetesCluster", nil, cond(clusterv1.ReadyCondition, metav1.ConditionFalse, "WaitingForService")),
				controlPlane: providerObject("KubeadmControlPlane", nil, cond(clusterv1.AvailableCondition, metav1.ConditionFalse, "EtcdNotHealthy")),
			},
			phase: clusterv1.ClusterPhaseProvisioning,
			conds: map[string]want{
				clusterv1.ClusterInfrastructureReadyCondition:   {Status: metav1.ConditionFalse, Reason: "WaitingForService"},
				clusterv1.ClusterControlPlaneAvailableCondition: {Status: metav1.ConditionFalse, Reason: "EtcdNotHealthy"},
			},
		},
		{
			name:    "healthy and provisioned",
			cluster: provisioned,
			scope:   healthy,
			phase:   clusterv1.ClusterPhaseProvisioned,
			conds: map[string]want{
				clusterv1.ClusterInfrastructureReadyCondition:     {Status: metav1.ConditionTrue, Reason: clusterv1.ReadyReason},
				clusterv1.ClusterControlPlaneInitializedCondition: {Status: metav1.ConditionTrue, Reason: clusterv1.ClusterControlPlaneInitializedReason},
				clusterv1.ClusterControlPlaneAvailableCondition:   {Status: metav1.ConditionTrue, Reason: clusterv1.AvailableReason},
				clusterv1.ClusterWorkersAvailableCondition:        {Status: metav1.ConditionTrue, Reason: clusterv1.ClusterWorkersAvailableReason},
				clusterv1.DeletingCondition:                       {Status: metav1.ConditionFalse, Reason: clusterv1.ClusterNotDeletingReason},
				clusterv1.AvailableCondition:                      {Status: metav1.ConditionTrue, Reason: clusterv1.ClusterAvailableReason},
			},
		},
		{
			name: "provisioned without an endpoint is still Provisioning",
			cluster: func(c *clusterv1.Cluster) {
				provisioned(c)
				c.Spec.ControlPlaneEndpoint = clusterv1.APIEndpoint{}
			},
			scope: healthy,
			phase: clusterv1.ClusterPhaseProvisioning,
		},
		{
			name:    "a MachineDeployment that is not Available",
			cluster: provisioned,
			scope: scope{infra: readyInfra, controlPlane: availableCP, machineDeployments: []*clusterv1.MachineDeployment{
				newMachineDeployment("md-a", 1, true), newMachineDeployment("md-b", 1, false)}},
			phase: clusterv1.ClusterPhaseProvisioned,
			conds: map[string]want{
				clusterv1.ClusterWorkersAvailableCondition: {Status: metav1.ConditionFalse, Reason: clusterv1.ClusterWorkersAvailableNotAvailableReason},
				clusterv1.AvailableCondition:               {Status: metav1.ConditionFalse, Reason: clusterv1.ClusterAvailableNotAvailableReason},
			},
			msgs: map[string]string{
				clusterv1.ClusterWorkersAvailableCondition: "MachineDeployment md-b not Available",
				clusterv1.AvailableCondition:               "WorkersAvailable: MachineDeployment md-b",
			},
		},
		{
			name: "stand-alone control plane: one Available Machine is enough",
			cluster: func(c *clusterv1.Cluster) {
				c.Status.Initialization.ControlPlaneInitialized = &tr
			},
			scope: scope{machines: []*clusterv1.Machine{
				newMachine("cp-0", true, nil), newMachine("cp-1", true, nil, availableMachine)}},
			phase: clusterv1.ClusterPhasePending,
			conds: map[string]want{
				clusterv1.ClusterControlPlaneInitializedCondition: {Status: metav1.ConditionTrue, Reason: clusterv1.ClusterControlPlaneInitializedReason},
				clusterv1.ClusterControlPlaneAvailableCondition:   {Status: metav1.ConditionTrue, Reason: clusterv1.ClusterControlPlaneAvailableReason},
				clusterv1.AvailableCondition:                      {Status: metav1.ConditionTrue, Reason: clusterv1.ClusterAvailableReason},
			},
		},
		{
			name:  "stand-alone control plane with no Available Machine",
			scope: scope{machines: []*clusterv1.Machine{newMachine("cp-0", true, nil), newMachine("w-0", false, nil, availableMachine)}},
			phase: clusterv1.ClusterPhasePending,
			conds: map[string]want{
				clusterv1.ClusterControlPlaneAvailableCondition: {Status: metav1.ConditionFalse, Reason: clusterv1.ClusterControlPlaneAvailableNotAvailableReason},
			},
			msgs: map[string]string{clusterv1.ClusterControlPlaneAvailableCondition: "no control-plane Machine is Available yet"},
		},
		{
			name: "an availability gate nobody reports holds Available back",
			cluster: func(c *clusterv1.Cluster) {
				provisioned(c)
				c.Spec.AvailabilityGates = []clusterv1.ClusterAvailabilityGate{{ConditionType: "example.com/Gate"}}
			},
			scope: healthy,
			phase: clusterv1.ClusterPhaseProvisioned,
			conds: map[string]want{clusterv1.AvailableCondition: {Status: metav1.ConditionFalse, Reason: clusterv1.ClusterAvailableNotAvailableReason}},
			msgs:  map[string]string{clusterv1.AvailableCondition: "example.com/Gate is not True"},
		},
		{
			name: "a negative availability gate is good when False",
			cluster: func(c *clusterv1.Cluster) {
				provisioned(c)
				c.Spec.AvailabilityGates = []clusterv1.ClusterAvailabilityGate{{ConditionType: "Degraded", Polarity: clusterv1.NegativePolarityCondition}}
				conditions.Set(&c.Status.Conditions, 1, conditions.False("Degraded", "NotDegraded", ""))
			},
			scope: healthy,
			phase: clusterv1.ClusterPhaseProvisioned,
			conds: map[string]want{clusterv1.AvailableCondition: {Status: metav1.ConditionTrue, Reason: clusterv1.ClusterAvailableReason}},
		},
		{
			name: "deleting: the step that waits names the reason",
			cluster: func(c *clusterv1.Cluster) {
				provisioned(c)
				c.DeletionTimestamp = &now
			},
			scope: scope{infra: readyInfra, controlPlane: availableCP,
				deletingReason:  clusterv1.ClusterDeletingWaitingForWorkersDeletionReason,
				deletingMessage: "waiting for 1 MachineDeployments, 0 MachineSets and 0 worker Machines to be deleted"},
			phase: clusterv1.ClusterPhaseDeleting,
			conds: map[string]want{
				clusterv1.DeletingCondition:  {Status: metav1.ConditionTrue, Reason: clusterv1.ClusterDeletingWaitingForWorkersDeletionReason},
				clusterv1.AvailableCondition: {Status: metav1.ConditionFalse, Reason: clusterv1.ClusterAvailableNotAvailableReason},
			},
			msgs: map[string]string{
				clusterv1.DeletingCondition:  "waiting for 1 MachineDeployments",
				clusterv1.AvailableCondition: "Deleting: waiting for 1 MachineDeployments",
			},
		},
		{
			name: "deleting with nothing left to wait for",
			cluster: func(c *clusterv1.Cluster) {
				c.DeletionTimestamp = &now
			},
			phase: clusterv1.ClusterPhaseDeleting,
			conds: map[string]want{clusterv1.DeletingCondition: {Status: metav1.ConditionTrue, Reason: clusterv1.ClusterDeletingReason}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			c := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c1", Generation: 2}}
			if tt.cluster != nil {
				tt.cluster(c)
			}
			s := tt.scope
			s.cluster = c
			setStatus(&s)

			g.Expect(c.Status.ObservedGeneration).To(Equal(int64(2)))
			g.Expect(c.Status.Phase).To(Equal(string(tt.phase)))
			conditionstest.Expect(g, c.Status.Conditions, tt.conds, tt.msgs)
		})
	}
}

func TestSetReplicas(t *testing.T) {
	i32 := func(v int32) *int32 { return &v }
	ready := cond(clusterv1.ReadyCondition, metav1.ConditionTrue, clusterv1.MachineReadyReason)
	available := cond(clusterv1.AvailableCondition, metav1.ConditionTrue, clusterv1.MachineAvailableReason)
	ms := func(name string, replicas int32, owners []metav1.OwnerReference) *clusterv1.MachineSet {
		return &clusterv1.MachineSet{ObjectMeta: metav1.ObjectMeta{Name: name, OwnerReferences: owners},
			Spec: clusterv1.MachineSetSpec{Replicas: &replicas}}
	}
	tests := []struct {
		name         string
		cluster      func(*clusterv1.Cluster)
		scope        scope
		controlPlane clusterv1.ReplicaCounts
		workers      clusterv1.ReplicaCounts
	}{
		{
			name: "nothing yet",
			controlPlane: clusterv1.ReplicaCounts{DesiredReplicas: i32(0), Replicas: i32(0), ReadyReplicas: i32(0),
				AvailableReplicas: i32(0), UpToDateReplicas: i32(0)},
			workers: clusterv1.ReplicaCounts{DesiredReplicas: i32(0), Replicas: i32(0), ReadyReplicas: i32(0),
				AvailableReplicas: i32(0), UpToDateReplicas: i32(0)},
		},
		{
			name: "stand-alone Machines, a MachineDeployment and a stand-alone MachineSet",
			scope: scope{
				machineDeployments: []*clusterv1.MachineDeployment{newMachineDeployment("md", 3, true)},
				// The deployment's own MachineSet is not counted twice.
				machineSets: []*clusterv1.MachineSet{ms("md-abc", 3, controlledBy("MachineDeployment", "md")), ms("pool", 2, nil)},
				machines: []*clusterv1.Machine{
					newMachine("cp-0", true, nil, ready, available),
					newMachine("cp-1", true, nil),
					newMachine("md-abc-0", false, controlledBy("MachineSet", "md-abc"), ready),
					newMachine("lonely", false, nil, ready, available),
				},
			},
			controlPlane: clusterv1.ReplicaCounts{DesiredReplicas: i32(2), Replicas: i32(2), ReadyReplicas: i32(1),
				AvailableReplicas: i32(1), UpToDateReplicas: i32(0)},
			workers: clusterv1.ReplicaCounts{DesiredReplicas: i32(6), Replicas: i32(2), ReadyReplicas: i32(2),
				AvailableReplicas: i32(1), UpToDateReplicas: i32(0)},
		},
		{
			name:    "a control-plane object reports its own counters",
			cluster: func(c *clusterv1.Cluster) { c.Spec.ControlPlaneRef = cpRef },
			scope: scope{controlPlane: func() *unstructured.Unstructured {
				u := providerObject("KubeadmControlPlane", map[string]any{"replicas": int64(3), "readyReplicas": int64(2),
					"availableReplicas": int64(2), "upToDateReplicas": int64(3)})
				u.Object["spec"] = map[string]any{"replicas": int64(3)}
				return u
			}()},
			controlPlane: clusterv1.ReplicaCounts{DesiredReplicas: i32(3), Replicas: i32(3), ReadyReplicas: i32(2),
				AvailableReplicas: i32(2), UpToDateReplicas: i32(3)},
			workers: clusterv1.ReplicaCounts{DesiredReplicas: i32(0), Replicas: i32(0), ReadyReplicas: i32(0),
				AvailableReplicas: i32(0), UpToDateReplicas: i32(0)},
		},
		{
			name:    "a missing control-plane object reports no counters",
			cluster: func(c *clusterv1.Cluster) { c.Spec.ControlPlaneRef = cpRef },
			scope:   scope{controlPlaneMissing: true, machines: []*clusterv1.Machine{newMachine("cp-0", true, nil)}},
			workers: clusterv1.ReplicaCounts{DesiredReplicas: i32(0), Replicas: i32(0), ReadyReplicas: i32(0),
				AvailableReplicas: i32(0), UpToDateReplicas: i32(0)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			c := &clusterv1.Cluster{}
			if tt.cluster != nil {
				tt.cluster(c)
			}
			s := tt.scope
			s.cluster = c
			setReplicas(&s)
			g.Expect(c.Status.ControlPlane.ReplicaCounts).To(Equal(tt.controlPlane))
			g.Expect(c.Status.Workers.ReplicaCounts).To(Equal(tt.workers))
		})
	}
}
