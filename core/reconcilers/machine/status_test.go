package machine

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

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
		{"deleting", scope{}, func(m *clusterv1.Machine) { m.DeletionTimestamp = &now }, clusterv1.MachinePhaseDeleting},
		{"unreachable keeps Running", scope{observed: true, nodeReadError: "timeout"}, func(m *clusterv1.Machine) {
			m.Status.Phase = "Running"
			m.Spec.Bootstrap.DataSecretName = nil
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

func TestReadyAndAvailable(t *testing.T) {
	set := func(m *clusterv1.Machine, typ string, status metav1.ConditionStatus, since time.Duration) {
		m.Status.Conditions = append(m.Status.Conditions, metav1.Condition{Type: typ, Status: status, Reason: "R",
			LastTransitionTime: metav1.NewTime(time.Now().Add(-since))})
	}
	healthy := func() *clusterv1.Machine {
		m := &clusterv1.Machine{}
		set(m, clusterv1.MachineBootstrapConfigReadyCondition, metav1.ConditionTrue, 0)
		set(m, clusterv1.MachineInfrastructureReadyCondition, metav1.ConditionTrue, 0)
		set(m, clusterv1.MachineNodeHealthyCondition, metav1.ConditionTrue, 0)
		set(m, clusterv1.DeletingCondition, metav1.ConditionFalse, 0)
		return m
	}
	g := NewWithT(t)
	m := healthy()
	g.Expect(readyCondition(m).Status).To(Equal(metav1.ConditionTrue))

	m = healthy()
	m.Spec.ReadinessGates = []clusterv1.MachineReadinessGate{{ConditionType: "example.com/Gate"}}
	r := readyCondition(m)
	g.Expect(r.Status).To(Equal(metav1.ConditionFalse))
	g.Expect(r.Message).To(ContainSubstring("example.com/Gate"))

	m = healthy()
	m.Spec.ReadinessGates = []clusterv1.MachineReadinessGate{{ConditionType: "Degraded", Polarity: clusterv1.NegativePolarityCondition}}
	set(m, "Degraded", metav1.ConditionFalse, 0)
	g.Expect(readyCondition(m).Status).To(Equal(metav1.ConditionTrue), "a negative gate is good when False")

	m = healthy()
	set(m, clusterv1.MachineHealthCheckSucceededCondition, metav1.ConditionFalse, 0)
	g.Expect(readyCondition(m).Status).To(Equal(metav1.ConditionFalse))

	// Available after minReadySeconds of Ready.
	m = &clusterv1.Machine{}
	ten := int32(10)
	m.Spec.MinReadySeconds = &ten
	set(m, clusterv1.ReadyCondition, metav1.ConditionTrue, 4*time.Second)
	a, wait := availableCondition(m, time.Now())
	g.Expect(a.Status).To(Equal(metav1.ConditionFalse))
	g.Expect(a.Reason).To(Equal(ReasonWaitingForMinReadySeconds))
	g.Expect(wait).To(BeNumerically("~", 6*time.Second, time.Second))
	a, wait = availableCondition(m, time.Now().Add(7*time.Second))
	g.Expect(a.Status).To(Equal(metav1.ConditionTrue))
	g.Expect(wait).To(BeZero())
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
