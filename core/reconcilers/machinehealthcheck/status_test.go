package machinehealthcheck

import (
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

func TestSetStatus(t *testing.T) {
	targets := func(names ...string) []target {
		var ts []target
		for _, n := range names {
			ts = append(ts, target{machine: &clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Name: n}}})
		}
		return ts
	}
	i32 := func(n int32) *int32 { return &n }
	cases := []struct {
		name     string
		scope    scope
		previous clusterv1.MachineHealthCheckStatus
		want     clusterv1.MachineHealthCheckStatus
		conds    map[string]metav1.Condition // type -> status and reason
	}{
		{
			name:  "all healthy",
			scope: scope{observed: true, targets: targets("a", "b", "c"), allowance: allowance{allowed: true, remaining: 3}},
			want:  clusterv1.MachineHealthCheckStatus{ExpectedMachines: i32(3), CurrentHealthy: i32(3), RemediationsAllowed: i32(3), Targets: []string{"a", "b", "c"}},
			conds: map[string]metav1.Condition{
				clusterv1.PausedCondition:                               {Status: metav1.ConditionFalse, Reason: clusterv1.MachineHealthCheckNotPausedReason},
				clusterv1.MachineHealthCheckRemediationAllowedCondition: {Status: metav1.ConditionTrue, Reason: clusterv1.MachineHealthCheckRemediationAllowedReason},
			},
		},
		{
			name: "short-circuited",
			scope: scope{observed: true, targets: targets("a", "b", "c"), unhealthy: 2, allowance: allowance{
				reason: clusterv1.MachineHealthCheckRemediationAllowedTooManyUnhealthyReason, message: "too many"}},
			want: clusterv1.MachineHealthCheckStatus{ExpectedMachines: i32(3), CurrentHealthy: i32(1), RemediationsAllowed: i32(0), Targets: []string{"a", "b", "c"}},
			conds: map[string]metav1.Condition{
				clusterv1.MachineHealthCheckRemediationAllowedCondition: {Status: metav1.ConditionFalse, Reason: clusterv1.MachineHealthCheckRemediationAllowedTooManyUnhealthyReason, Message: "too many"},
			},
		},
		{
			name:  "no targets",
			scope: scope{observed: true, allowance: allowance{allowed: true}},
			want:  clusterv1.MachineHealthCheckStatus{ExpectedMachines: i32(0), CurrentHealthy: i32(0), RemediationsAllowed: i32(0)},
			conds: map[string]metav1.Condition{
				clusterv1.MachineHealthCheckRemediationAllowedCondition: {Status: metav1.ConditionTrue, Reason: clusterv1.MachineHealthCheckRemediationAllowedReason},
			},
		},
		{
			name:     "not observed keeps the last counts",
			scope:    scope{},
			previous: clusterv1.MachineHealthCheckStatus{ExpectedMachines: i32(2), CurrentHealthy: i32(1), Targets: []string{"a", "b"}},
			want:     clusterv1.MachineHealthCheckStatus{ExpectedMachines: i32(2), CurrentHealthy: i32(1), Targets: []string{"a", "b"}},
			conds: map[string]metav1.Condition{
				clusterv1.PausedCondition: {Status: metav1.ConditionFalse, Reason: clusterv1.MachineHealthCheckNotPausedReason},
			},
		},
		{
			name:     "paused",
			scope:    scope{paused: true},
			previous: clusterv1.MachineHealthCheckStatus{ExpectedMachines: i32(2)},
			want:     clusterv1.MachineHealthCheckStatus{ExpectedMachines: i32(2)},
			conds: map[string]metav1.Condition{
				clusterv1.PausedCondition: {Status: metav1.ConditionTrue, Reason: clusterv1.MachineHealthCheckPausedReason},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			mhc := &clusterv1.MachineHealthCheck{ObjectMeta: metav1.ObjectMeta{Generation: 4}, Status: tc.previous}
			s := tc.scope
			s.mhc = mhc
			setStatus(&s)
			st := mhc.Status
			g.Expect(st.ObservedGeneration).To(BeEquivalentTo(4))
			g.Expect(st.ExpectedMachines).To(Equal(tc.want.ExpectedMachines))
			g.Expect(st.CurrentHealthy).To(Equal(tc.want.CurrentHealthy))
			g.Expect(st.RemediationsAllowed).To(Equal(tc.want.RemediationsAllowed))
			g.Expect(st.Targets).To(Equal(tc.want.Targets))
			for typ, want := range tc.conds {
				c := condition(st.Conditions, typ)
				g.Expect(c).NotTo(BeNil(), typ)
				g.Expect(c.Status).To(Equal(want.Status), typ)
				g.Expect(c.Reason).To(Equal(want.Reason), typ)
				g.Expect(c.ObservedGeneration).To(BeEquivalentTo(4), typ)
				if want.Message != "" {
					g.Expect(c.Message).To(Equal(want.Message), typ)
				}
			}
			if s.paused || !s.observed {
				g.Expect(condition(st.Conditions, clusterv1.MachineHealthCheckRemediationAllowedCondition)).To(BeNil())
			}
		})
	}
}

func TestHealthCondition(t *testing.T) {
	g := NewWithT(t)
	c := healthCondition(health{healthy: true, reason: clusterv1.MachineHealthCheckSucceededReason})
	g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
	g.Expect(c.Reason).To(Equal(clusterv1.MachineHealthCheckSucceededReason))
	c = healthCondition(unhealthy(clusterv1.MachineHealthCheckSucceededNodeDeletedReason, "Node n was deleted"))
	g.Expect(c.Type).To(Equal(clusterv1.MachineHealthCheckSucceededCondition))
	g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
	g.Expect(c.Reason).To(Equal(clusterv1.MachineHealthCheckSucceededNodeDeletedReason))
	g.Expect(c.Message).To(Equal("Health check failed: Node n was deleted"))
}

func TestRemediationAction(t *testing.T) {
	sick := unhealthy(clusterv1.MachineHealthCheckSucceededUnhealthyNodeReason, "x")
	well := health{healthy: true}
	annotated := func(key string) *clusterv1.Machine {
		return &clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{key: ""}}}
	}
	with := func(conds ...metav1.Condition) *clusterv1.Machine {
		return &clusterv1.Machine{Status: clusterv1.MachineStatus{Conditions: conds}}
	}
	owner := func(status metav1.ConditionStatus, reason string) metav1.Condition {
		return metav1.Condition{Type: clusterv1.MachineOwnerRemediatedCondition, Status: status, Reason: reason}
	}
	ext := func(status metav1.ConditionStatus, reason string) metav1.Condition {
		return metav1.Condition{Type: clusterv1.MachineExternallyRemediatedCondition, Status: status, Reason: reason}
	}
	const (
		waiting  = clusterv1.MachineOwnerRemediatedWaitingForRemediationReason
		notFound = clusterv1.MachineExternallyRemediatedRemediationTemplateNotFoundReason
		failed   = clusterv1.MachineExternallyRemediatedRemediationRequestCreationFailedReason
	)
	cases := []struct {
		name     string
		m        *clusterv1.Machine
		h        health
		allowed  bool
		external bool
		want     action
	}{
		{name: "unhealthy and allowed", m: &clusterv1.Machine{}, h: sick, allowed: true, want: action{markOwner: true}},
		{name: "healthy", m: &clusterv1.Machine{}, h: well, allowed: true},
		{name: "short-circuited", m: &clusterv1.Machine{}, h: sick},
		{name: "short-circuited, external", m: &clusterv1.Machine{}, h: sick, external: true},
		{name: "skip-remediation", m: annotated(clusterv1.MachineSkipRemediationAnnotation), h: sick, allowed: true},
		{name: "skip-remediation, external", m: annotated(clusterv1.MachineSkipRemediationAnnotation), h: sick, allowed: true, external: true},
		{name: "paused Machine", m: annotated(clusterv1.PausedAnnotation), h: sick, allowed: true},
		{name: "already handed to its owner", m: with(owner(metav1.ConditionFalse, waiting)), h: sick, allowed: true},
		{name: "owner set its own mark", m: with(owner(metav1.ConditionTrue, "Remediated")), h: sick, allowed: true},
		{name: "recovered before the owner acted", m: with(owner(metav1.ConditionFalse, waiting)), h: well, allowed: true,
			want: action{clearOwner: true}},
		{name: "recovered while short-circuited", m: with(owner(metav1.ConditionFalse, waiting)), h: well,
			want: action{clearOwner: true}},
		{name: "recovered after the owner acted", m: with(owner(metav1.ConditionFalse, "Remediating")), h: well, allowed: true},
		{name: "external: first request", m: &clusterv1.Machine{}, h: sick, allowed: true, external: true, want: action{request: true}},
		{name: "external: request exists", m: with(ext(metav1.ConditionFalse, waiting)), h: sick, allowed: true, external: true},
		{name: "external: template was missing, retry", m: with(ext(metav1.ConditionFalse, notFound)), h: sick, allowed: true, external: true,
			want: action{request: true}},
		{name: "external: creation failed, retry", m: with(ext(metav1.ConditionFalse, failed)), h: sick, allowed: true, external: true,
			want: action{request: true}},
		{name: "external: the remediator took over", m: with(ext(metav1.ConditionFalse, "Remediating")), h: sick, allowed: true, external: true},
		{name: "external: never the owner's", m: &clusterv1.Machine{}, h: sick, allowed: true, external: true, want: action{request: true}},
		{name: "external: recovered, withdraw", m: with(ext(metav1.ConditionFalse, waiting)), h: well, allowed: true, external: true,
			want: action{withdraw: true}},
		{name: "external: recovered after a failed attempt", m: with(ext(metav1.ConditionFalse, failed)), h: well, external: true,
			want: action{withdraw: true}},
		{name: "external: recovered, remediator's mark stays", m: with(ext(metav1.ConditionTrue, "Remediated")), h: well, external: true},
		{name: "template removed since: old request still withdrawn", m: with(ext(metav1.ConditionFalse, waiting)), h: well, allowed: true,
			want: action{withdraw: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(remediationAction(tc.m, tc.h, tc.allowed, tc.external)).To(Equal(tc.want))
		})
	}
}

func condition(conds []metav1.Condition, t string) *metav1.Condition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}
