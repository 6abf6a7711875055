package machinehealthcheck

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

// machine builds a Machine created at t0, with a nodeRef when node is set.
func machine(node string, opts ...func(*clusterv1.Machine)) *clusterv1.Machine {
	m := &clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Name: "m", CreationTimestamp: metav1.NewTime(t0)}}
	m.Status.NodeRef.Name = node
	for _, o := range opts {
		o(m)
	}
	return m
}

// failedWith reports a terminal failure on the Machine, as the Machine
// controller copies it from its infrastructure.
func failedWith(reason, message string) func(*clusterv1.Machine) {
	return func(m *clusterv1.Machine) {
		m.Status.Deprecated = &clusterv1.MachineDeprecatedStatus{V1Beta1: &clusterv1.MachineV1Beta1DeprecatedStatus{FailureReason: &reason, FailureMessage: &message}}
	}
}

// nodeWith builds a Node with the given conditions.
func nodeWith(conds ...corev1.NodeCondition) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Status: corev1.NodeStatus{Conditions: conds}}
}

func nodeCond(t corev1.NodeConditionType, s corev1.ConditionStatus, since time.Duration) corev1.NodeCondition {
	return corev1.NodeCondition{Type: t, Status: s, LastTransitionTime: metav1.NewTime(t0.Add(since))}
}

func TestCheckHealth(t *testing.T) {
	readyFalse5s := clusterv1.MachineHealthCheckChecks{UnhealthyNodeConditions: []clusterv1.UnhealthyNodeCondition{
		{Type: corev1.NodeReady, Status: corev1.ConditionFalse, TimeoutSeconds: ptr[int32](5)},
		{Type: corev1.NodeReady, Status: corev1.ConditionUnknown, TimeoutSeconds: ptr[int32](10)},
	}}
	cases := []struct {
		name      string
		checks    clusterv1.MachineHealthCheckChecks
		machine   *clusterv1.Machine
		node      *corev1.Node
		startedAt time.Time // t0 when zero
		now       time.Duration
		healthy   bool
		reason    string
		message   string
		nextCheck time.Duration // from t0; -1 for none
	}{
		{
			name: "healthy Node", checks: readyFalse5s, machine: machine("n"),
			node: nodeWith(nodeCond(corev1.NodeReady, corev1.ConditionTrue, 0)), now: time.Hour,
			healthy: true, reason: clusterv1.MachineHealthCheckSucceededReason, nextCheck: -1,
		},
		{
			name: "Ready=False within its timeout is pending", checks: readyFalse5s, machine: machine("n"),
			node: nodeWith(nodeCond(corev1.NodeReady, corev1.ConditionFalse, 10*time.Second)), now: 14 * time.Second,
			healthy: true, reason: clusterv1.MachineHealthCheckSucceededReason, nextCheck: 15 * time.Second,
		},
		{
			name: "Ready=False exactly at its timeout is unhealthy", checks: readyFalse5s, machine: machine("n"),
			node: nodeWith(nodeCond(corev1.NodeReady, corev1.ConditionFalse, 10*time.Second)), now: 15 * time.Second,
			reason: clusterv1.MachineHealthCheckSucceededUnhealthyNodeReason, message: "Node condition Ready is False for more than 5s", nextCheck: -1,
		},
		{
			name: "Ready=Unknown uses its own timeout", checks: readyFalse5s, machine: machine("n"),
			node: nodeWith(nodeCond(corev1.NodeReady, corev1.ConditionUnknown, 0)), now: 9 * time.Second,
			healthy: true, reason: clusterv1.MachineHealthCheckSucceededReason, nextCheck: 10 * time.Second,
		},
		{
			name: "Ready=Unknown past its timeout", checks: readyFalse5s, machine: machine("n"),
			node: nodeWith(nodeCond(corev1.NodeReady, corev1.ConditionUnknown, 0)), now: 11 * time.Second,
			reason: clusterv1.MachineHealthCheckSucceededUnhealthyNodeReason, message: "Node condition Ready is Unknown for more than 10s", nextCheck: -1,
		},
		{
			name: "a zero timeout fails at once", machine: machine("n"),
			checks: clusterv1.MachineHealthCheckChecks{UnhealthyNodeConditions: []clusterv1.UnhealthyNodeCondition{
				{Type: corev1.NodeDiskPressure, Status: corev1.ConditionTrue, TimeoutSeconds: ptr[int32](0)}}},
			node:   nodeWith(nodeCond(corev1.NodeDiskPressure, corev1.ConditionTrue, 0)),
			reason: clusterv1.MachineHealthCheckSucceededUnhealthyNodeReason, message: "Node condition DiskPressure is True for more than 0s", nextCheck: -1,
		},
		{
			name: "a condition the Node does not report is no failure", checks: readyFalse5s, machine: machine("n"),
			node: nodeWith(), now: time.Hour, healthy: true, reason: clusterv1.MachineHealthCheckSucceededReason, nextCheck: -1,
		},
		{
			name: "every failed check is named", machine: machine("n"),
			checks: clusterv1.MachineHealthCheckChecks{UnhealthyNodeConditions: []clusterv1.UnhealthyNodeCondition{
				{Type: corev1.NodeReady, Status: corev1.ConditionFalse, TimeoutSeconds: ptr[int32](1)},
				{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionTrue, TimeoutSeconds: ptr[int32](1)}}},
			node: nodeWith(nodeCond(corev1.NodeReady, corev1.ConditionFalse, 0), nodeCond(corev1.NodeMemoryPressure, corev1.ConditionTrue, 0)),
			now:  time.Minute, reason: clusterv1.MachineHealthCheckSucceededUnhealthyNodeReason,
			message: "Node condition Ready is False for more than 1s; Node condition MemoryPressure is True for more than 1s", nextCheck: -1,
		},
		{
			name: "the earliest pending timeout is the next check", machine: machine("n"),
			checks: clusterv1.MachineHealthCheckChecks{UnhealthyNodeConditions: []clusterv1.UnhealthyNodeCondition{
				{Type: corev1.NodeReady, Status: corev1.ConditionFalse, TimeoutSeconds: ptr[int32](60)},
				{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionTrue, TimeoutSeconds: ptr[int32](30)}}},
			node:    nodeWith(nodeCond(corev1.NodeReady, corev1.ConditionFalse, 0), nodeCond(corev1.NodeMemoryPressure, corev1.ConditionTrue, 0)),
			now:     time.Second,
			healthy: true, reason: clusterv1.MachineHealthCheckSucceededReason, nextCheck: 30 * time.Second,
		},
		{
			name: "a deleted Node", checks: readyFalse5s, machine: machine("n"),
			reason: clusterv1.MachineHealthCheckSucceededNodeDeletedReason, message: "Node n was deleted", nextCheck: -1,
		},
		{
			name: "no Node yet, within the default startup timeout", checks: readyFalse5s, machine: machine(""),
			now: 599 * time.Second, healthy: true, reason: clusterv1.MachineHealthCheckSucceededReason, nextCheck: 600 * time.Second,
		},
		{
			name: "no Node after the default startup timeout", checks: readyFalse5s, machine: machine(""),
			now: 600 * time.Second, reason: clusterv1.MachineHealthCheckSucceededNodeStartupTimeoutReason,
			message: "Node failed to report startup in 10m0s", nextCheck: -1,
		},
		{
			name: "the startup clock starts at startedAt", machine: machine(""),
			checks:    clusterv1.MachineHealthCheckChecks{NodeStartupTimeoutSeconds: ptr[int32](30)},
			startedAt: t0.Add(time.Minute), now: 80 * time.Second,
			healthy: true, reason: clusterv1.MachineHealthCheckSucceededReason, nextCheck: 90 * time.Second,
		},
		{
			name: "provisioned but not written yet: the clock waits for the status", machine: provisionedUnwritten(),
			checks: clusterv1.MachineHealthCheckChecks{NodeStartupTimeoutSeconds: ptr[int32](30)},
			now:    time.Hour, healthy: true, reason: clusterv1.MachineHealthCheckSucceededReason, nextCheck: time.Hour + time.Second,
		},
		{
			name: "provisioned and written: the clock runs", machine: provisionedWritten(),
			checks: clusterv1.MachineHealthCheckChecks{NodeStartupTimeoutSeconds: ptr[int32](30)},
			now:    time.Hour, reason: clusterv1.MachineHealthCheckSucceededNodeStartupTimeoutReason,
			message: "Node failed to report startup in 30s", nextCheck: -1,
		},
		{
			name: "a zero startup timeout disables the check", machine: machine(""),
			checks: clusterv1.MachineHealthCheckChecks{NodeStartupTimeoutSeconds: ptr[int32](0)},
			now:    24 * time.Hour, healthy: true, reason: clusterv1.MachineHealthCheckSucceededReason, nextCheck: -1,
		},
		{
			name: "a Node found before the nodeRef is set is checked", checks: readyFalse5s, machine: machine(""),
			node: nodeWith(nodeCond(corev1.NodeReady, corev1.ConditionTrue, 0)), now: time.Hour,
			healthy: true, reason: clusterv1.MachineHealthCheckSucceededReason, nextCheck: -1,
		},
		{
			name: "the remediate-machine annotation wins over a healthy Node", checks: readyFalse5s,
			machine: machine("n", func(m *clusterv1.Machine) {
				m.Annotations = map[string]string{clusterv1.RemediateMachineAnnotation: ""}
			}),
			node:   nodeWith(nodeCond(corev1.NodeReady, corev1.ConditionTrue, 0)),
			reason: clusterv1.MachineHealthCheckSucceededHasRemediateAnnotationReason, message: "remediate-machine annotation", nextCheck: -1,
		},
		{
			name: "a terminal infrastructure failure is unhealthy at once, whatever the Node says", checks: readyFalse5s,
			machine: machine("n", failedWith("PodFailed", "KubernetesMachine m failed: node Pod m failed: kernel panic")),
			node:    nodeWith(nodeCond(corev1.NodeReady, corev1.ConditionTrue, 0)),
			reason:  clusterv1.MachineHealthCheckSucceededUnhealthyMachineReason,
			message: "Machine has failed: PodFailed: KubernetesMachine m failed: node Pod m failed: kernel panic", nextCheck: -1,
		},
		{
			name: "a terminal failure before any Node came", checks: readyFalse5s,
			machine: machine("", failedWith("BootstrapFailed", "kubeadm join failed")),
			reason:  clusterv1.MachineHealthCheckSucceededUnhealthyMachineReason, message: "Machine has failed: BootstrapFailed: kubeadm join failed", nextCheck: -1,
		},
		{
			name: "the failure fields cleared are no failure", checks: readyFalse5s,
			machine: machine("n", func(m *clusterv1.Machine) {
				m.Status.Deprecated = &clusterv1.MachineDeprecatedStatus{V1Beta1: &clusterv1.MachineV1Beta1DeprecatedStatus{}}
			}),
			node:    nodeWith(nodeCond(corev1.NodeReady, corev1.ConditionTrue, 0)),
			healthy: true, reason: clusterv1.MachineHealthCheckSucceededReason, nextCheck: -1,
		},
		{
			name: "a Machine condition held past its timeout", machine: machine("n", func(m *clusterv1.Machine) {
				m.Status.Conditions = []metav1.Condition{{Type: "Custom", Status: metav1.ConditionFalse, LastTransitionTime: metav1.NewTime(t0)}}
			}),
			checks: clusterv1.MachineHealthCheckChecks{UnhealthyMachineConditions: []clusterv1.UnhealthyMachineCondition{
				{Type: "Custom", Status: metav1.ConditionFalse, TimeoutSeconds: ptr[int32](5)}}},
			node: nodeWith(), now: 5 * time.Second,
			reason: clusterv1.MachineHealthCheckSucceededUnhealthyMachineReason, message: "Machine condition Custom is False for more than 5s", nextCheck: -1,
		},
		{
			name: "a Machine condition within its timeout", machine: machine("n", func(m *clusterv1.Machine) {
				m.Status.Conditions = []metav1.Condition{{Type: "Custom", Status: metav1.ConditionFalse, LastTransitionTime: metav1.NewTime(t0)}}
			}),
			checks: clusterv1.MachineHealthCheckChecks{UnhealthyMachineConditions: []clusterv1.UnhealthyMachineCondition{
				{Type: "Custom", Status: metav1.ConditionFalse, TimeoutSeconds: ptr[int32](5)}}},
			node: nodeWith(), now: 4 * time.Second,
			healthy: true, reason: clusterv1.MachineHealthCheckSucceededReason, nextCheck: 5 * time.Second,
		},
		{
			name: "Node and Machine failures together report the Node", machine: machine("n", func(m *clusterv1.Machine) {
				m.Status.Conditions = []metav1.Condition{{Type: "Custom", Status: metav1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0)}}
			}),
			checks: clusterv1.MachineHealthCheckChecks{
				UnhealthyNodeConditions:    []clusterv1.UnhealthyNodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionFalse, TimeoutSeconds: ptr[int32](1)}},
				UnhealthyMachineConditions: []clusterv1.UnhealthyMachineCondition{{Type: "Custom", Status: metav1.ConditionTrue, TimeoutSeconds: ptr[int32](1)}},
			},
			node: nodeWith(nodeCond(corev1.NodeReady, corev1.ConditionFalse, 0)), now: time.Minute,
			reason: clusterv1.MachineHealthCheckSucceededUnhealthyNodeReason, message: "Node condition Ready is False for more than 1s; Machine condition Custom is True", nextCheck: -1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			started := tc.startedAt
			if started.IsZero() {
				started = t0
			}
			h := checkHealth(tc.checks, target{machine: tc.machine, node: tc.node, startedAt: started}, t0.Add(tc.now))
			g.Expect(h.healthy).To(Equal(tc.healthy))
			g.Expect(h.reason).To(Equal(tc.reason))
			g.Expect(h.message).To(ContainSubstring(tc.message))
			if tc.nextCheck < 0 {
				g.Expect(h.nextCheck.IsZero()).To(BeTrue(), "next check %s", h.nextCheck)
			} else {
				g.Expect(h.nextCheck).To(Equal(t0.Add(tc.nextCheck)))
			}
		})
	}
}

func TestStartedAt(t *testing.T) {
	cond := func(typ string, s metav1.ConditionStatus, at time.Duration) metav1.Condition {
		return metav1.Condition{Type: typ, Status: s, LastTransitionTime: metav1.NewTime(t0.Add(at))}
	}
	cases := []struct {
		name    string
		cluster []metav1.Condition
		machine []metav1.Condition
		want    time.Duration
	}{
		{name: "creation when nothing is later", want: 0},
		{name: "the Cluster's infrastructure turned ready later", cluster: []metav1.Condition{cond(clusterv1.ClusterInfrastructureReadyCondition, metav1.ConditionTrue, time.Minute)}, want: time.Minute},
		{name: "the latest of several", want: 3 * time.Minute,
			cluster: []metav1.Condition{cond(clusterv1.ClusterInfrastructureReadyCondition, metav1.ConditionTrue, time.Minute), cond(clusterv1.ClusterControlPlaneInitializedCondition, metav1.ConditionTrue, 2*time.Minute)},
			machine: []metav1.Condition{cond(clusterv1.MachineInfrastructureReadyCondition, metav1.ConditionTrue, 3*time.Minute)}},
		{name: "a condition that is not True does not count", cluster: []metav1.Condition{cond(clusterv1.ClusterControlPlaneInitializedCondition, metav1.ConditionFalse, time.Hour)}, want: 0},
		{name: "an earlier transition does not move the clock back", machine: []metav1.Condition{cond(clusterv1.MachineInfrastructureReadyCondition, metav1.ConditionTrue, -time.Hour)}, want: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			cl := &clusterv1.Cluster{Status: clusterv1.ClusterStatus{Conditions: tc.cluster}}
			m := machine("", func(m *clusterv1.Machine) { m.Status.Conditions = tc.machine })
			g.Expect(startedAt(cl, m)).To(Equal(t0.Add(tc.want)))
		})
	}
	NewWithT(t).Expect(startedAt(nil, machine(""))).To(Equal(t0), "a missing Cluster adds nothing")
}

func TestRemediationAllowance(t *testing.T) {
	num := func(n int32) *intstr.IntOrString { v := intstr.FromInt32(n); return &v }
	pct := func(s string) *intstr.IntOrString { v := intstr.FromString(s); return &v }
	cases := []struct {
		name                string
		trigger             clusterv1.MachineHealthCheckRemediationTriggerIf
		expected, unhealthy int
		allowed             bool
		remaining           int32
		reason, message     string
	}{
		{name: "no triggerIf allows all", expected: 3, unhealthy: 3, allowed: true, remaining: 0},
		{name: "no triggerIf counts what is left", expected: 5, unhealthy: 1, allowed: true, remaining: 4},
		{name: "absolute, below", trigger: clusterv1.MachineHealthCheckRemediationTriggerIf{UnhealthyLessThanOrEqualTo: num(2)}, expected: 5, unhealthy: 1, allowed: true, remaining: 1},
		{name: "absolute, equal", trigger: clusterv1.MachineHealthCheckRemediationTriggerIf{UnhealthyLessThanOrEqualTo: num(1)}, expected: 3, unhealthy: 1, allowed: true, remaining: 0},
		{name: "absolute, above", trigger: clusterv1.MachineHealthCheckRemediationTriggerIf{UnhealthyLessThanOrEqualTo: num(1)}, expected: 3, unhealthy: 2,
			reason: clusterv1.MachineHealthCheckRemediationAllowedTooManyUnhealthyReason, message: "2 of 3 Machines are unhealthy, more than unhealthyLessThanOrEqualTo 1 (1)"},
		{name: "absolute zero allows only a healthy set", trigger: clusterv1.MachineHealthCheckRemediationTriggerIf{UnhealthyLessThanOrEqualTo: num(0)}, expected: 3, unhealthy: 1,
			reason: clusterv1.MachineHealthCheckRemediationAllowedTooManyUnhealthyReason},
		{name: "percentage rounds down", trigger: clusterv1.MachineHealthCheckRemediationTriggerIf{UnhealthyLessThanOrEqualTo: pct("40%")}, expected: 3, unhealthy: 1, allowed: true, remaining: 0},
		{name: "percentage rounds down to refuse", trigger: clusterv1.MachineHealthCheckRemediationTriggerIf{UnhealthyLessThanOrEqualTo: pct("40%")}, expected: 4, unhealthy: 2,
			reason: clusterv1.MachineHealthCheckRemediationAllowedTooManyUnhealthyReason, message: "40% (1)"},
		{name: "100% allows all", trigger: clusterv1.MachineHealthCheckRemediationTriggerIf{UnhealthyLessThanOrEqualTo: pct("100%")}, expected: 10, unhealthy: 10, allowed: true, remaining: 0},
		{name: "percentage of none", trigger: clusterv1.MachineHealthCheckRemediationTriggerIf{UnhealthyLessThanOrEqualTo: pct("50%")}, expected: 0, unhealthy: 0, allowed: true, remaining: 0},
		{name: "bad percentage", trigger: clusterv1.MachineHealthCheckRemediationTriggerIf{UnhealthyLessThanOrEqualTo: pct("lots")}, expected: 3, unhealthy: 1,
			reason: clusterv1.MachineHealthCheckRemediationAllowedInvalidTriggerIfReason, message: "unhealthyLessThanOrEqualTo"},
		{name: "negative number", trigger: clusterv1.MachineHealthCheckRemediationTriggerIf{UnhealthyLessThanOrEqualTo: num(-1)}, expected: 3, unhealthy: 0,
			reason: clusterv1.MachineHealthCheckRemediationAllowedInvalidTriggerIfReason, message: "must not be negative"},
		{name: "range, inside", trigger: clusterv1.MachineHealthCheckRemediationTriggerIf{UnhealthyInRange: "[1-3]"}, expected: 5, unhealthy: 2, allowed: true, remaining: 1},
		{name: "range, lower edge", trigger: clusterv1.MachineHealthCheckRemediationTriggerIf{UnhealthyInRange: "[2-3]"}, expected: 5, unhealthy: 2, allowed: true, remaining: 1},
		{name: "range, upper edge", trigger: clusterv1.MachineHealthCheckRemediationTriggerIf{UnhealthyInRange: "[2-3]"}, expected: 5, unhealthy: 3, allowed: true, remaining: 0},
		{name: "range, below", trigger: clusterv1.MachineHealthCheckRemediationTriggerIf{UnhealthyInRange: "[2-3]"}, expected: 5, unhealthy: 1,
			reason: clusterv1.MachineHealthCheckRemediationAllowedTooManyUnhealthyReason, message: "outside unhealthyInRange [2-3]"},
		{name: "range, above", trigger: clusterv1.MachineHealthCheckRemediationTriggerIf{UnhealthyInRange: "[2-3]"}, expected: 5, unhealthy: 4,
			reason: clusterv1.MachineHealthCheckRemediationAllowedTooManyUnhealthyReason, message: "4 of 5 Machines are unhealthy"},
		{name: "range of one value", trigger: clusterv1.MachineHealthCheckRemediationTriggerIf{UnhealthyInRange: "[0-0]"}, expected: 5, unhealthy: 0, allowed: true, remaining: 0},
	}
	for _, bad := range []string{"[3-1]", "1-3", "[1-3", "1-3]", "[1]", "[a-3]", "[1-b]", "[-1-3]", "[1-3-5]", "[]"} {
		cases = append(cases, struct {
			name                string
			trigger             clusterv1.MachineHealthCheckRemediationTriggerIf
			expected, unhealthy int
			allowed             bool
			remaining           int32
			reason, message     string
		}{name: "bad range " + bad, trigger: clusterv1.MachineHealthCheckRemediationTriggerIf{UnhealthyInRange: bad}, expected: 5, unhealthy: 1,
			reason: clusterv1.MachineHealthCheckRemediationAllowedInvalidTriggerIfReason, message: "unhealthyInRange must be"})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			a := remediationAllowance(tc.trigger, tc.expected, tc.unhealthy)
			g.Expect(a.allowed).To(Equal(tc.allowed))
			g.Expect(a.remaining).To(Equal(tc.remaining))
			g.Expect(a.reason).To(Equal(tc.reason))
			g.Expect(a.message).To(ContainSubstring(tc.message))
		})
	}
}

func TestParseRange(t *testing.T) {
	g := NewWithT(t)
	lo, hi, err := parseRange("[12-345]")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect([]int{lo, hi}).To(Equal([]int{12, 345}))
	_, _, err = parseRange("[5-3]")
	g.Expect(err).To(MatchError(errInvalidRange))
}

// provisionedUnwritten is a Machine whose infrastructure provisioned
// (spec.providerID) while its held status does not say so yet.
func provisionedUnwritten() *clusterv1.Machine {
	m := machine("")
	m.Spec.ProviderID = "kubernetes://ns/m"
	return m
}

// provisionedWritten is one whose status says so too, for good.
func provisionedWritten() *clusterv1.Machine {
	m := provisionedUnwritten()
	m.Status.Initialization.InfrastructureProvisioned = ptr(true)
	return m
}
