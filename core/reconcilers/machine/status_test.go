package machine

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/conditions/conditionstest"
)

// Builders for what a Machine reconcile observes.

var (
	bootstrapRef = clusterv1.ContractVersionedObjectReference{APIGroup: "bootstrap.cluster.x-k8s.io", Kind: "KubeadmConfig", Name: "m1"}
	infraRef     = clusterv1.ContractVersionedObjectReference{APIGroup: "infrastructure.cluster.x-k8s.io", Kind: "KubernetesMachine", Name: "m1"}
)

// providerObject is a bootstrap config or infrastructure machine reporting conds.
func providerObject(kind string, conds ...metav1.Condition) *unstructured.Unstructured {
	var list []any
	for _, c := range conds {
		list = append(list, map[string]any{"type": c.Type, "status": string(c.Status), "reason": c.Reason, "message": c.Message,
			"lastTransitionTime": "2026-01-01T00:00:00Z"})
	}
	u := &unstructured.Unstructured{Object: map[string]any{"status": map[string]any{"conditions": list}}}
	u.SetKind(kind)
	u.SetName("m1")
	return u
}

func nodeWith(conds ...corev1.NodeCondition) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: corev1.NodeStatus{Conditions: conds}}
}

func nodeCond(t corev1.NodeConditionType, status corev1.ConditionStatus, reason string) corev1.NodeCondition {
	return corev1.NodeCondition{Type: t, Status: status, Reason: reason}
}

// since is a condition that has held its status for d.
func since(t string, status metav1.ConditionStatus, d time.Duration) metav1.Condition {
	return metav1.Condition{Type: t, Status: status, Reason: "R", LastTransitionTime: metav1.NewTime(time.Now().Add(-d))}
}

func TestSetStatus(t *testing.T) {
	tr := true
	now := metav1.Now()
	secret := "m1-bootstrap"
	readyNode := nodeWith(nodeCond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady"))
	readyProvider := func(kind string) *unstructured.Unstructured {
		return providerObject(kind, metav1.Condition{Type: clusterv1.ReadyCondition, Status: metav1.ConditionTrue, Reason: "Ready"})
	}
	// provisioned is a Machine whose bootstrap and infrastructure are done and
	// that has been Ready for an hour.
	provisioned := func(m *clusterv1.Machine) {
		m.Spec.Bootstrap.DataSecretName = &secret
		m.Spec.ProviderID = "kubernetes://ns/m1"
		m.Status.Initialization.InfrastructureProvisioned = &tr
		m.Status.NodeRef.Name = "n1"
		m.Status.Phase = string(clusterv1.MachinePhaseRunning)
		m.Status.Conditions = []metav1.Condition{since(clusterv1.ReadyCondition, metav1.ConditionTrue, time.Hour)}
	}
	healthy := scope{observed: true, upToDate: true, bootstrap: readyProvider("KubeadmConfig"), infra: readyProvider("KubernetesMachine"), node: readyNode}

	type want = conditionstest.Want
	tests := []struct {
		name    string
		machine func(*clusterv1.Machine)
		scope   scope
		phase   clusterv1.MachinePhase
		// conds are the expected conditions by type; types not listed are not checked.
		conds map[string]want
		// msgs are substrings of the condition messages, by type.
		msgs map[string]string
		// requeue says whether the status asks for another look.
		requeue bool
		// failureReason is the deprecated v1beta1 failure reason, "" for none.
		failureReason string
	}{
		{
			name:  "paused reports only Paused",
			scope: scope{paused: true},
			conds: map[string]want{
				clusterv1.PausedCondition:                      {Status: metav1.ConditionTrue, Reason: clusterv1.MachinePausedReason},
				clusterv1.MachineBootstrapConfigReadyCondition: {},
				clusterv1.ReadyCondition:                       {},
			},
		},
		{
			name:  "referenced objects do not exist yet",
			scope: scope{observed: true, upToDate: true, bootstrapMissing: true, infraMissing: true},
			phase: clusterv1.MachinePhasePending,
			conds: map[string]want{
				clusterv1.PausedCondition:                      {Status: metav1.ConditionFalse, Reason: clusterv1.MachineNotPausedReason},
				clusterv1.MachineBootstrapConfigReadyCondition: {Status: metav1.ConditionFalse, Reason: clusterv1.MachineBootstrapConfigReadyBootstrapConfigDoesNotExistReason},
				clusterv1.MachineInfrastructureReadyCondition:  {Status: metav1.ConditionFalse, Reason: clusterv1.MachineInfrastructureReadyDoesNotExistReason},
				clusterv1.MachineNodeReadyCondition:            {Status: metav1.ConditionUnknown, Reason: clusterv1.MachineNodeWaitingForProviderIDReason},
				clusterv1.MachineNodeHealthyCondition:          {Status: metav1.ConditionUnknown, Reason: clusterv1.MachineNodeWaitingForProviderIDReason},
				clusterv1.MachineUpToDateCondition:             {Status: metav1.ConditionTrue, Reason: clusterv1.MachineUpToDateReason},
				clusterv1.DeletingCondition:                    {Status: metav1.ConditionFalse, Reason: clusterv1.MachineNotDeletingReason},
				clusterv1.ReadyCondition:                       {Status: metav1.ConditionFalse, Reason: clusterv1.MachineReadyNotReadyReason},
				clusterv1.AvailableCondition:                   {Status: metav1.ConditionFalse, Reason: clusterv1.MachineAvailableNotReadyReason},
			},
			msgs: map[string]string{
				clusterv1.MachineBootstrapConfigReadyCondition: "KubeadmConfig m1 does not exist",
				clusterv1.MachineInfrastructureReadyCondition:  "KubernetesMachine m1 does not exist",
				clusterv1.ReadyCondition:                       "BootstrapConfigReady: KubeadmConfig m1 does not exist",
			},
		},
		{
			name:  "provider objects without conditions yet",
			scope: scope{observed: true, upToDate: true, bootstrap: providerObject("KubeadmConfig"), infra: providerObject("KubernetesMachine")},
			phase: clusterv1.MachinePhasePending,
			conds: map[string]want{
				clusterv1.MachineBootstrapConfigReadyCondition: {Status: metav1.ConditionUnknown, Reason: clusterv1.MachineBootstrapConfigReadyNotReadyReason},
				clusterv1.MachineInfrastructureReadyCondition:  {Status: metav1.ConditionUnknown, Reason: clusterv1.MachineInfrastructureReadyNotReadyReason},
			},
		},
		{
			name:    "bootstrapped, the infrastructure provisioning",
			machine: func(m *clusterv1.Machine) { m.Spec.Bootstrap.DataSecretName = &secret },
			scope: scope{observed: true, upToDate: true, bootstrap: readyProvider("KubeadmConfig"), infra: providerObject("KubernetesMachine",
				metav1.Condition{Type: clusterv1.ReadyCondition, Status: metav1.ConditionFalse, Reason: "PodProvisioning", Message: "pulling image"})},
			phase: clusterv1.MachinePhaseProvisioning,
			conds: map[string]want{
				clusterv1.MachineBootstrapConfigReadyCondition: {Status: metav1.ConditionTrue, Reason: clusterv1.ReadyReason},
				clusterv1.MachineInfrastructureReadyCondition:  {Status: metav1.ConditionFalse, Reason: "PodProvisioning"},
			},
			msgs: map[string]string{clusterv1.MachineInfrastructureReadyCondition: "pulling image"},
		},
		{
			name: "provisioned, no Node with the providerID yet",
			machine: func(m *clusterv1.Machine) {
				provisioned(m)
				m.Status.NodeRef.Name = ""
				m.Status.Conditions = nil
			},
			scope: scope{observed: true, upToDate: true, bootstrap: readyProvider("KubeadmConfig"), infra: readyProvider("KubernetesMachine")},
			phase: clusterv1.MachinePhaseProvisioned,
			conds: map[string]want{
				clusterv1.MachineNodeReadyCondition:   {Status: metav1.ConditionUnknown, Reason: clusterv1.MachineNodeDoesNotExistReason},
				clusterv1.MachineNodeHealthyCondition: {Status: metav1.ConditionUnknown, Reason: clusterv1.MachineNodeDoesNotExistReason},
				clusterv1.ReadyCondition:              {Status: metav1.ConditionFalse, Reason: clusterv1.MachineReadyNotReadyReason},
			},
			msgs: map[string]string{clusterv1.MachineNodeReadyCondition: "no Node with providerID kubernetes://ns/m1"},
		},
		{
			name:    "running and healthy",
			machine: provisioned,
			scope:   healthy,
			phase:   clusterv1.MachinePhaseRunning,
			conds: map[string]want{
				clusterv1.MachineNodeReadyCondition:   {Status: metav1.ConditionTrue, Reason: "KubeletReady"},
				clusterv1.MachineNodeHealthyCondition: {Status: metav1.ConditionTrue, Reason: clusterv1.MachineNodeHealthyReason},
				clusterv1.ReadyCondition:              {Status: metav1.ConditionTrue, Reason: clusterv1.MachineReadyReason},
				clusterv1.AvailableCondition:          {Status: metav1.ConditionTrue, Reason: clusterv1.MachineAvailableReason},
			},
		},
		{
			name: "Ready for less than minReadySeconds",
			machine: func(m *clusterv1.Machine) {
				provisioned(m)
				minReady := int32(7200) // two hours; Ready for one
				m.Spec.MinReadySeconds = &minReady
			},
			scope:   healthy,
			phase:   clusterv1.MachinePhaseRunning,
			requeue: true,
			conds: map[string]want{
				clusterv1.ReadyCondition:     {Status: metav1.ConditionTrue, Reason: clusterv1.MachineReadyReason},
				clusterv1.AvailableCondition: {Status: metav1.ConditionFalse, Reason: clusterv1.MachineAvailableWaitingForMinReadySecondsReason},
			},
		},
		{
			// Still Running, as upstream: the Node's loss shows in the
			// conditions (and to MachineHealthChecks), not in the phase.
			name:    "the Node was deleted",
			machine: provisioned,
			scope:   scope{observed: true, upToDate: true, bootstrap: readyProvider("KubeadmConfig"), infra: readyProvider("KubernetesMachine"), nodeMissing: true},
			phase:   clusterv1.MachinePhaseRunning,
			conds: map[string]want{
				clusterv1.MachineNodeReadyCondition:   {Status: metav1.ConditionFalse, Reason: clusterv1.MachineNodeDeletedReason},
				clusterv1.MachineNodeHealthyCondition: {Status: metav1.ConditionFalse, Reason: clusterv1.MachineNodeDeletedReason},
				clusterv1.ReadyCondition:              {Status: metav1.ConditionFalse, Reason: clusterv1.MachineReadyNotReadyReason},
				clusterv1.AvailableCondition:          {Status: metav1.ConditionFalse, Reason: clusterv1.MachineAvailableNotReadyReason},
			},
			msgs: map[string]string{clusterv1.MachineNodeHealthyCondition: "Node n1 was deleted"},
		},
		{
			name:    "the workload cluster is unreachable: Running stays",
			machine: provisioned,
			scope: scope{observed: true, upToDate: true, bootstrap: readyProvider("KubeadmConfig"), infra: readyProvider("KubernetesMachine"),
				nodeReadError: "cluster ns/c1 is not connected"},
			phase: clusterv1.MachinePhaseRunning,
			conds: map[string]want{
				clusterv1.MachineNodeReadyCondition:   {Status: metav1.ConditionUnknown, Reason: clusterv1.MachineNodeInspectionFailedReason},
				clusterv1.MachineNodeHealthyCondition: {Status: metav1.ConditionUnknown, Reason: clusterv1.MachineNodeInspectionFailedReason},
			},
			msgs: map[string]string{clusterv1.MachineNodeReadyCondition: "not connected"},
		},
		{
			name:    "infrastructure deleted after provisioning: Failed",
			machine: provisioned,
			scope:   scope{observed: true, upToDate: true, bootstrap: readyProvider("KubeadmConfig"), infraDeleted: true, node: readyNode},
			phase:   clusterv1.MachinePhaseFailed,
			conds: map[string]want{
				clusterv1.MachineInfrastructureReadyCondition: {Status: metav1.ConditionFalse, Reason: clusterv1.MachineInfrastructureReadyDeletedReason},
				clusterv1.ReadyCondition:                      {Status: metav1.ConditionFalse, Reason: clusterv1.MachineReadyNotReadyReason},
			},
			msgs:          map[string]string{clusterv1.MachineInfrastructureReadyCondition: "must be replaced"},
			failureReason: clusterv1.MachineInvalidConfigurationFailureReason,
		},
		{
			name:    "a newer template revision",
			machine: provisioned,
			scope: scope{observed: true, bootstrap: readyProvider("KubeadmConfig"), infra: readyProvider("KubernetesMachine"), node: readyNode,
				upToDateReason: clusterv1.MachineUpToDateNotUpToDateReason, upToDateMessage: "MachineDeployment md has a newer template"},
			phase: clusterv1.MachinePhaseRunning,
			conds: map[string]want{
				clusterv1.MachineUpToDateCondition: {Status: metav1.ConditionFalse, Reason: clusterv1.MachineUpToDateNotUpToDateReason},
				// UpToDate is not part of Ready.
				clusterv1.ReadyCondition: {Status: metav1.ConditionTrue, Reason: clusterv1.MachineReadyReason},
			},
			msgs: map[string]string{clusterv1.MachineUpToDateCondition: "newer template"},
		},
		{
			name: "deleting: the step that waits names the reason, provider conditions stay",
			machine: func(m *clusterv1.Machine) {
				provisioned(m)
				m.DeletionTimestamp = &now
			},
			scope: scope{deletingReason: clusterv1.MachineDeletingDrainingNodeReason, deletingMessage: "draining Node n1: 3 Pods left"},
			phase: clusterv1.MachinePhaseDeleting,
			conds: map[string]want{
				clusterv1.DeletingCondition:                    {Status: metav1.ConditionTrue, Reason: clusterv1.MachineDeletingDrainingNodeReason},
				clusterv1.MachineBootstrapConfigReadyCondition: {},
				clusterv1.ReadyCondition:                       {Status: metav1.ConditionFalse, Reason: clusterv1.MachineReadyNotReadyReason},
				clusterv1.AvailableCondition:                   {Status: metav1.ConditionFalse, Reason: clusterv1.MachineAvailableNotReadyReason},
			},
			msgs: map[string]string{clusterv1.DeletingCondition: "3 Pods left"},
		},
		{
			name: "deleting with nothing left to wait for",
			machine: func(m *clusterv1.Machine) {
				m.DeletionTimestamp = &now
			},
			phase: clusterv1.MachinePhaseDeleting,
			conds: map[string]want{clusterv1.DeletingCondition: {Status: metav1.ConditionTrue, Reason: clusterv1.MachineDeletingReason}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			m := &clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "m1", Generation: 2},
				Spec: clusterv1.MachineSpec{Bootstrap: clusterv1.Bootstrap{ConfigRef: bootstrapRef}, InfrastructureRef: infraRef}}
			if tt.machine != nil {
				tt.machine(m)
			}
			s := tt.scope
			s.machine = m
			s.now = time.Now()
			setStatus(&s)

			g.Expect(m.Status.ObservedGeneration).To(Equal(int64(2)))
			g.Expect(m.Status.Phase).To(Equal(string(tt.phase)))
			g.Expect(s.requeueAfter > 0).To(Equal(tt.requeue), "requeueAfter %s", s.requeueAfter)
			conditionstest.Expect(g, m.Status.Conditions, tt.conds, tt.msgs)
			if tt.failureReason == "" {
				g.Expect(m.Status.Deprecated == nil || m.Status.Deprecated.V1Beta1 == nil || m.Status.Deprecated.V1Beta1.FailureReason == nil).To(BeTrue())
			} else {
				g.Expect(m.Status.Deprecated.V1Beta1.FailureReason).To(HaveValue(Equal(tt.failureReason)))
				g.Expect(m.Status.Deprecated.V1Beta1.FailureMessage).NotTo(BeNil())
			}
		})
	}
}

func TestBootstrapCondition(t *testing.T) {
	secret := "m1-bootstrap"
	tests := []struct {
		name    string
		ref     clusterv1.ContractVersionedObjectReference
		secret  *string
		scope   scope
		status  metav1.ConditionStatus
		reason  string
		message string
	}{
		{"data Secret named directly", clusterv1.ContractVersionedObjectReference{}, &secret, scope{},
			metav1.ConditionTrue, clusterv1.MachineBootstrapConfigReadyDataSecretProvidedReason, ""},
		{"config gone after providing the data", bootstrapRef, &secret, scope{bootstrapMissing: true},
			metav1.ConditionTrue, clusterv1.MachineBootstrapConfigReadyDataSecretProvidedReason, ""},
		{"config does not exist", bootstrapRef, nil, scope{bootstrapMissing: true},
			metav1.ConditionFalse, clusterv1.MachineBootstrapConfigReadyBootstrapConfigDoesNotExistReason, "KubeadmConfig m1 does not exist"},
		{"config reports no Ready yet", bootstrapRef, nil, scope{bootstrap: providerObject("KubeadmConfig")},
			metav1.ConditionUnknown, clusterv1.MachineBootstrapConfigReadyNotReadyReason, "KubeadmConfig m1 does not report a Ready condition yet"},
		{"config's Ready is mirrored", bootstrapRef, nil, scope{bootstrap: providerObject("KubeadmConfig",
			metav1.Condition{Type: clusterv1.ReadyCondition, Status: metav1.ConditionFalse, Reason: "WaitingForControlPlane", Message: "waiting"})},
			metav1.ConditionFalse, "WaitingForControlPlane", "waiting"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			s := tt.scope
			s.machine = &clusterv1.Machine{Spec: clusterv1.MachineSpec{Bootstrap: clusterv1.Bootstrap{ConfigRef: tt.ref, DataSecretName: tt.secret}}}
			got := bootstrapCondition(&s)
			g.Expect(got.Type).To(Equal(clusterv1.MachineBootstrapConfigReadyCondition))
			g.Expect(got.Status).To(Equal(tt.status))
			g.Expect(got.Reason).To(Equal(tt.reason))
			g.Expect(got.Message).To(Equal(tt.message))
		})
	}
}

func TestInfrastructureCondition(t *testing.T) {
	tests := []struct {
		name    string
		scope   scope
		status  metav1.ConditionStatus
		reason  string
		message string
	}{
		{"infrastructure machine does not exist", scope{infraMissing: true},
			metav1.ConditionFalse, clusterv1.MachineInfrastructureReadyDoesNotExistReason, "KubernetesMachine m1 does not exist"},
		{"deleted after provisioning wins over missing", scope{infraMissing: true, infraDeleted: true},
			metav1.ConditionFalse, clusterv1.MachineInfrastructureReadyDeletedReason, "KubernetesMachine m1 was deleted after it had been provisioned"},
		{"reports no Ready yet", scope{infra: providerObject("KubernetesMachine")},
			metav1.ConditionUnknown, clusterv1.MachineInfrastructureReadyNotReadyReason, "KubernetesMachine m1 does not report a Ready condition yet"},
		{"Ready is mirrored", scope{infra: providerObject("KubernetesMachine",
			metav1.Condition{Type: clusterv1.ReadyCondition, Status: metav1.ConditionTrue, Reason: "Ready"})},
			metav1.ConditionTrue, "Ready", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			s := tt.scope
			s.machine = &clusterv1.Machine{Spec: clusterv1.MachineSpec{InfrastructureRef: infraRef}}
			got := infrastructureCondition(&s)
			g.Expect(got.Type).To(Equal(clusterv1.MachineInfrastructureReadyCondition))
			g.Expect(got.Status).To(Equal(tt.status))
			g.Expect(got.Reason).To(Equal(tt.reason))
			g.Expect(got.Message).To(ContainSubstring(tt.message))
		})
	}
}

func TestNodeConditions(t *testing.T) {
	type cond = conditionstest.Want
	const providerID = "kubernetes://ns/m1"
	tests := []struct {
		name       string
		providerID string
		nodeRef    string
		scope      scope
		ready      cond
		healthy    cond
		// healthyMsg is a substring of NodeHealthy's message.
		healthyMsg string
	}{
		{
			name:    "no providerID yet",
			ready:   cond{Status: metav1.ConditionUnknown, Reason: clusterv1.MachineNodeWaitingForProviderIDReason},
			healthy: cond{Status: metav1.ConditionUnknown, Reason: clusterv1.MachineNodeWaitingForProviderIDReason},
		},
		{
			name:       "the workload cluster cannot be read, whatever else is known",
			providerID: providerID, nodeRef: "n1",
			scope:   scope{nodeReadError: "timeout", nodeMissing: true},
			ready:   cond{Status: metav1.ConditionUnknown, Reason: clusterv1.MachineNodeInspectionFailedReason},
			healthy: cond{Status: metav1.ConditionUnknown, Reason: clusterv1.MachineNodeInspectionFailedReason},
		},
		{
			name:       "no Node with the providerID yet",
			providerID: providerID,
			scope:      scope{nodeMissing: true},
			ready:      cond{Status: metav1.ConditionUnknown, Reason: clusterv1.MachineNodeDoesNotExistReason},
			healthy:    cond{Status: metav1.ConditionUnknown, Reason: clusterv1.MachineNodeDoesNotExistReason},
		},
		{
			name:       "the Node was deleted",
			providerID: providerID, nodeRef: "n1",
			scope:   scope{nodeMissing: true},
			ready:   cond{Status: metav1.ConditionFalse, Reason: clusterv1.MachineNodeDeletedReason},
			healthy: cond{Status: metav1.ConditionFalse, Reason: clusterv1.MachineNodeDeletedReason},
		},
		{
			name:       "Ready with the kubelet's reason",
			providerID: providerID,
			scope:      scope{node: nodeWith(nodeCond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady"))},
			ready:      cond{Status: metav1.ConditionTrue, Reason: "KubeletReady"},
			healthy:    cond{Status: metav1.ConditionTrue, Reason: clusterv1.MachineNodeHealthyReason},
		},
		{
			name:       "Ready without a reason",
			providerID: providerID,
			scope:      scope{node: nodeWith(nodeCond(corev1.NodeReady, corev1.ConditionTrue, ""))},
			ready:      cond{Status: metav1.ConditionTrue, Reason: clusterv1.MachineNodeReadyReason},
			healthy:    cond{Status: metav1.ConditionTrue, Reason: clusterv1.MachineNodeHealthyReason},
		},
		{
			name:       "not Ready without a reason",
			providerID: providerID,
			scope:      scope{node: nodeWith(nodeCond(corev1.NodeReady, corev1.ConditionFalse, ""))},
			ready:      cond{Status: metav1.ConditionFalse, Reason: clusterv1.MachineNodeReadyNotReadyReason},
			healthy:    cond{Status: metav1.ConditionFalse, Reason: clusterv1.MachineNodeHealthyNotHealthyReason},
			healthyMsg: "Node is not Ready",
		},
		{
			name:       "Ready Unknown without a reason",
			providerID: providerID,
			scope:      scope{node: nodeWith(nodeCond(corev1.NodeReady, corev1.ConditionUnknown, ""))},
			ready:      cond{Status: metav1.ConditionUnknown, Reason: clusterv1.MachineNodeReadyUnknownReason},
			healthy:    cond{Status: metav1.ConditionFalse, Reason: clusterv1.MachineNodeHealthyNotHealthyReason},
		},
		{
			name:       "no Ready condition posted yet",
			providerID: providerID,
			scope:      scope{node: nodeWith()},
			ready:      cond{Status: metav1.ConditionUnknown, Reason: clusterv1.MachineNodeReadyUnknownReason},
			healthy:    cond{Status: metav1.ConditionFalse, Reason: clusterv1.MachineNodeHealthyNotHealthyReason},
		},
		{
			name:       "Ready under pressure",
			providerID: providerID,
			scope: scope{node: nodeWith(nodeCond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady"),
				nodeCond(corev1.NodeMemoryPressure, corev1.ConditionTrue, ""), nodeCond(corev1.NodeDiskPressure, corev1.ConditionFalse, ""),
				nodeCond(corev1.NodePIDPressure, corev1.ConditionTrue, ""))},
			ready:      cond{Status: metav1.ConditionTrue, Reason: "KubeletReady"},
			healthy:    cond{Status: metav1.ConditionFalse, Reason: clusterv1.MachineNodeHealthyNotHealthyReason},
			healthyMsg: "Node has MemoryPressure, PIDPressure",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			s := tt.scope
			s.machine = &clusterv1.Machine{Spec: clusterv1.MachineSpec{ProviderID: tt.providerID},
				Status: clusterv1.MachineStatus{NodeRef: clusterv1.MachineNodeReference{Name: tt.nodeRef}}}
			ready, healthy := nodeConditions(&s)
			g.Expect(ready.Type).To(Equal(clusterv1.MachineNodeReadyCondition))
			g.Expect(healthy.Type).To(Equal(clusterv1.MachineNodeHealthyCondition))
			g.Expect(cond{Status: ready.Status, Reason: ready.Reason}).To(Equal(tt.ready), "NodeReady: %s", ready.Message)
			g.Expect(cond{Status: healthy.Status, Reason: healthy.Reason}).To(Equal(tt.healthy), "NodeHealthy: %s", healthy.Message)
			g.Expect(healthy.Message).To(ContainSubstring(tt.healthyMsg))
		})
	}
}

func TestPhaseOf(t *testing.T) {
	now := metav1.Now()
	tr := true
	secret := "data"
	cases := []struct {
		name  string
		s     scope
		mod   func(m *clusterv1.Machine)
		phase clusterv1.MachinePhase
	}{
		{"new", scope{observed: true}, nil, clusterv1.MachinePhasePending},
		{"bootstrap data", scope{observed: true}, func(m *clusterv1.Machine) { m.Spec.Bootstrap.DataSecretName = &secret }, clusterv1.MachinePhaseProvisioning},
		{"infrastructure provisioned", scope{observed: true}, func(m *clusterv1.Machine) {
			m.Spec.Bootstrap.DataSecretName = &secret
			m.Status.Initialization.InfrastructureProvisioned = &tr
		}, clusterv1.MachinePhaseProvisioned},
		{"node", scope{observed: true, node: &corev1.Node{}}, func(m *clusterv1.Machine) { m.Status.NodeRef.Name = "n" }, clusterv1.MachinePhaseRunning},
		{"infrastructure lost", scope{observed: true, infraDeleted: true}, nil, clusterv1.MachinePhaseFailed},
		{"infrastructure failed", scope{observed: true, node: &corev1.Node{}, infraFailure: "PodFailed"}, func(m *clusterv1.Machine) {
			m.Status.NodeRef.Name = "n"
			m.Status.Initialization.InfrastructureProvisioned = &tr
		}, clusterv1.MachinePhaseFailed},
		{"deleting", scope{}, func(m *clusterv1.Machine) { m.DeletionTimestamp = &now }, clusterv1.MachinePhaseDeleting},
		// A Machine as the controllers make it: data, provisioned, a Node.
		{"unreachable workload cluster keeps Running", scope{observed: true, nodeReadError: "timeout"}, func(m *clusterv1.Machine) {
			m.Status.Phase = "Running"
			m.Spec.Bootstrap.DataSecretName = &secret
			m.Status.Initialization.InfrastructureProvisioned = &tr
			m.Status.NodeRef.Name = "n"
		}, clusterv1.MachinePhaseRunning},
		{"deleted Node keeps Running", scope{observed: true, nodeMissing: true}, func(m *clusterv1.Machine) {
			m.Status.Phase = "Running"
			m.Spec.Bootstrap.DataSecretName = &secret
			m.Status.Initialization.InfrastructureProvisioned = &tr
			m.Status.NodeRef.Name = "n"
		}, clusterv1.MachinePhaseRunning},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := &clusterv1.Machine{}
			if tc.mod != nil {
				tc.mod(m)
			}
			tc.s.machine = m
			NewWithT(t).Expect(phaseOf(&tc.s)).To(Equal(tc.phase))
		})
	}
}

func TestReadyCondition(t *testing.T) {
	// healthy are the conditions Ready summarises, all good.
	healthy := func() []metav1.Condition {
		return []metav1.Condition{
			since(clusterv1.MachineBootstrapConfigReadyCondition, metav1.ConditionTrue, 0),
			since(clusterv1.MachineInfrastructureReadyCondition, metav1.ConditionTrue, 0),
			since(clusterv1.MachineNodeHealthyCondition, metav1.ConditionTrue, 0),
			since(clusterv1.DeletingCondition, metav1.ConditionFalse, 0),
		}
	}
	tests := []struct {
		name   string
		gates  []clusterv1.MachineReadinessGate
		extra  []metav1.Condition
		drop   string
		status metav1.ConditionStatus
		reason string
		// message is a substring of Ready's message.
		message string
	}{
		{name: "all good", status: metav1.ConditionTrue, reason: clusterv1.MachineReadyReason},
		{name: "a missing summarised condition", drop: clusterv1.MachineNodeHealthyCondition,
			status: metav1.ConditionFalse, reason: clusterv1.MachineReadyNotReadyReason, message: "NodeHealthy is not True"},
		{name: "a readiness gate nobody reports", gates: []clusterv1.MachineReadinessGate{{ConditionType: "example.com/Gate"}},
			status: metav1.ConditionFalse, reason: clusterv1.MachineReadyNotReadyReason, message: "example.com/Gate"},
		{name: "a negative readiness gate is good when False",
			gates: []clusterv1.MachineReadinessGate{{ConditionType: "Degraded", Polarity: clusterv1.NegativePolarityCondition}},
			extra: []metav1.Condition{since("Degraded", metav1.ConditionFalse, 0)}, status: metav1.ConditionTrue, reason: clusterv1.MachineReadyReason},
		{name: "a failed health check", extra: []metav1.Condition{since(clusterv1.MachineHealthCheckSucceededCondition, metav1.ConditionFalse, 0)},
			status: metav1.ConditionFalse, reason: clusterv1.MachineReadyNotReadyReason, message: "HealthCheckSucceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			m := &clusterv1.Machine{Spec: clusterv1.MachineSpec{ReadinessGates: tt.gates}}
			for _, c := range append(healthy(), tt.extra...) {
				if c.Type != tt.drop {
					m.Status.Conditions = append(m.Status.Conditions, c)
				}
			}
			got := readyCondition(m)
			g.Expect(got.Status).To(Equal(tt.status))
			g.Expect(got.Reason).To(Equal(tt.reason))
			g.Expect(got.Message).To(ContainSubstring(tt.message))
		})
	}
}

func TestAvailableCondition(t *testing.T) {
	ten := int32(10)
	tests := []struct {
		name     string
		ready    *metav1.Condition
		minReady *int32
		// later moves the clock on from the start.
		later  time.Duration
		status metav1.ConditionStatus
		reason string
		wait   time.Duration
	}{
		{name: "no Ready condition", status: metav1.ConditionFalse, reason: clusterv1.MachineAvailableNotReadyReason},
		{name: "not Ready", ready: &metav1.Condition{Type: clusterv1.ReadyCondition, Status: metav1.ConditionFalse},
			status: metav1.ConditionFalse, reason: clusterv1.MachineAvailableNotReadyReason},
		{name: "Ready without minReadySeconds", ready: &metav1.Condition{Type: clusterv1.ReadyCondition, Status: metav1.ConditionTrue},
			status: metav1.ConditionTrue, reason: clusterv1.MachineAvailableReason},
		// Set in the same reconcile: conditions take a clock reading later than the reconcile's.
		{name: "Ready just now without minReadySeconds", ready: &metav1.Condition{Type: clusterv1.ReadyCondition, Status: metav1.ConditionTrue},
			later: -time.Millisecond, status: metav1.ConditionTrue, reason: clusterv1.MachineAvailableReason},
		{name: "Ready for 4 of 10 seconds", ready: &metav1.Condition{Type: clusterv1.ReadyCondition, Status: metav1.ConditionTrue}, minReady: &ten,
			later: 4 * time.Second, status: metav1.ConditionFalse, reason: clusterv1.MachineAvailableWaitingForMinReadySecondsReason, wait: 6 * time.Second},
		{name: "Ready for 11 of 10 seconds", ready: &metav1.Condition{Type: clusterv1.ReadyCondition, Status: metav1.ConditionTrue}, minReady: &ten,
			later: 11 * time.Second, status: metav1.ConditionTrue, reason: clusterv1.MachineAvailableReason},
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			m := &clusterv1.Machine{Spec: clusterv1.MachineSpec{MinReadySeconds: tt.minReady}}
			if tt.ready != nil {
				c := *tt.ready
				c.Reason, c.LastTransitionTime = "R", metav1.NewTime(start)
				m.Status.Conditions = []metav1.Condition{c}
			}
			got, wait := availableCondition(m, start.Add(tt.later))
			g.Expect(got.Status).To(Equal(tt.status))
			g.Expect(got.Reason).To(Equal(tt.reason))
			g.Expect(wait).To(Equal(tt.wait))
		})
	}
}

func TestSyncedDomains(t *testing.T) {
	g := NewWithT(t)
	for key, want := range map[string]bool{
		"node-role.kubernetes.io/worker":        true,
		"node-restriction.kubernetes.io/x":      true,
		"team.node-restriction.kubernetes.io/x": true,
		"node.cluster.x-k8s.io/x":               true,
		"a.node.cluster.x-k8s.io/x":             true,
		"sub.node-role.kubernetes.io/x":         false,
		"example.com/x":                         false,
		"cluster.x-k8s.io/cluster-name":         false,
		"notnode.cluster.x-k8s.io/x":            false,
	} {
		g.Expect(syncedLabel(key)).To(Equal(want), key)
	}
	g.Expect(syncedAnnotation("node.cluster.x-k8s.io/a")).To(BeTrue())
	g.Expect(syncedAnnotation("x.node.cluster.x-k8s.io/a")).To(BeTrue())
	g.Expect(syncedAnnotation("example.com/a")).To(BeFalse())
}

func TestSetDeprecated(t *testing.T) {
	ref := clusterv1.ContractVersionedObjectReference{Kind: "KubernetesMachine", Name: "km"}
	failed := func(reason, msg string) *clusterv1.MachineDeprecatedStatus {
		return &clusterv1.MachineDeprecatedStatus{V1Beta1: &clusterv1.MachineV1Beta1DeprecatedStatus{FailureReason: &reason, FailureMessage: &msg}}
	}
	cases := []struct {
		name   string
		s      scope
		before *clusterv1.MachineDeprecatedStatus
		want   *clusterv1.MachineDeprecatedStatus
	}{
		{name: "healthy", s: scope{observed: true}},
		{name: "infrastructure failed", s: scope{observed: true, infraFailure: "PodFailed", infraFailureMessage: "node Pod km failed: OOMKilled"},
			want: failed("PodFailed", "KubernetesMachine km failed: node Pod km failed: OOMKilled")},
		{name: "infrastructure deleted", s: scope{observed: true, infraDeleted: true},
			want: failed(clusterv1.MachineInvalidConfigurationFailureReason, "KubernetesMachine km was deleted after the Machine was provisioned")},
		{name: "a failure no longer reported is cleared", s: scope{observed: true}, before: failed("PodFailed", "x"),
			want: &clusterv1.MachineDeprecatedStatus{V1Beta1: &clusterv1.MachineV1Beta1DeprecatedStatus{}}},
		{name: "not observed: what was reported stands", s: scope{}, before: failed("PodFailed", "x"), want: failed("PodFailed", "x")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.s.machine = &clusterv1.Machine{Spec: clusterv1.MachineSpec{InfrastructureRef: ref}, Status: clusterv1.MachineStatus{Deprecated: tc.before}}
			setDeprecated(&tc.s)
			NewWithT(t).Expect(tc.s.machine.Status.Deprecated).To(Equal(tc.want))
		})
	}
}

func TestInfraFailure(t *testing.T) {
	obj := func(status map[string]any) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"kind": "KubernetesMachine", "status": status}}
	}
	cases := []struct {
		name            string
		obj             *unstructured.Unstructured
		reason, message string
		err             bool
	}{
		{name: "none", obj: obj(map[string]any{})},
		{name: "v1beta2 contract", obj: obj(map[string]any{"deprecated": map[string]any{"v1beta1": map[string]any{"failureReason": "PodLost", "failureMessage": "gone"}}}),
			reason: "PodLost", message: "gone"},
		{name: "v1beta1 contract", obj: obj(map[string]any{"failureReason": "CreateError", "failureMessage": "quota"}), reason: "CreateError", message: "quota"},
		{name: "not a string", obj: obj(map[string]any{"failureReason": int64(3)}), err: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			reason, message, err := infraFailure(tc.obj)
			g.Expect(err != nil).To(Equal(tc.err), "%v", err)
			g.Expect(reason).To(Equal(tc.reason))
			g.Expect(message).To(Equal(tc.message))
		})
	}
}
