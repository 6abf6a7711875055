package machine

import (
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/core/drain"
)

func TestDrainPolicyOf(t *testing.T) {
	g := NewWithT(t)
	sel := func(kv ...string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchLabels: map[string]string{kv[0]: kv[1]}}
	}
	order := func(n int32) *int32 { return &n }
	rule := func(name string, b clusterv1.MachineDrainRuleDrainBehavior, o *int32, machines []clusterv1.MachineDrainRuleMachineSelector, pods []clusterv1.MachineDrainRulePodSelector) clusterv1.MachineDrainRule {
		return clusterv1.MachineDrainRule{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: clusterv1.MachineDrainRuleSpec{Drain: clusterv1.MachineDrainRuleDrainConfig{Behavior: b, Order: o}, Machines: machines, Pods: pods}}
	}
	rules := []clusterv1.MachineDrainRule{
		// Listed out of order: the name decides.
		rule("z-late", clusterv1.MachineDrainRuleDrainBehaviorDrain, order(5), nil, []clusterv1.MachineDrainRulePodSelector{{Selector: sel("app", "db")}}),
		rule("a-first", clusterv1.MachineDrainRuleDrainBehaviorSkip, nil, nil, []clusterv1.MachineDrainRulePodSelector{{Selector: sel("app", "db"), NamespaceSelector: sel("team", "infra")}}),
		rule("m-cp", clusterv1.MachineDrainRuleDrainBehaviorWaitCompleted, nil,
			[]clusterv1.MachineDrainRuleMachineSelector{{Selector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: clusterv1.MachineControlPlaneLabel, Operator: metav1.LabelSelectorOpExists}}}}},
			nil),
		rule("n-prod", clusterv1.MachineDrainRuleDrainBehaviorDrain, order(-3), []clusterv1.MachineDrainRuleMachineSelector{{ClusterSelector: sel("stage", "prod")}},
			[]clusterv1.MachineDrainRulePodSelector{{Selector: sel("app", "cache")}}),
		rule("bad", clusterv1.MachineDrainRuleDrainBehaviorSkip, nil, nil, []clusterv1.MachineDrainRulePodSelector{{Selector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "x", Operator: "Sometimes"}}}}}),
	}
	worker := &clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"pool": "a"}}}
	cp := &clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{clusterv1.MachineControlPlaneLabel: ""}}}
	prod := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"stage": "prod"}}}
	pod := func(app string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}}}
	}
	infra := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"team": "infra"}}}
	apps := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"team": "apps"}}}

	policy, invalid := drainPolicyOf(rules, worker, prod)
	g.Expect(invalid).To(ConsistOf(ContainSubstring("MachineDrainRule bad: pods[].selector")))
	g.Expect(policy(pod("db"), infra)).To(Equal(drain.Decision{Behavior: clusterv1.MachineDrainRuleDrainBehaviorSkip}), "a-first wins by name")
	g.Expect(policy(pod("db"), apps)).To(Equal(drain.Decision{Behavior: clusterv1.MachineDrainRuleDrainBehaviorDrain, Order: 5}), "namespace selector ANDed")
	g.Expect(policy(pod("db"), nil)).To(Equal(drain.Decision{Behavior: clusterv1.MachineDrainRuleDrainBehaviorDrain, Order: 5}), "unknown namespace: no namespace selector matches")
	g.Expect(policy(pod("cache"), apps)).To(Equal(drain.Decision{Behavior: clusterv1.MachineDrainRuleDrainBehaviorDrain, Order: -3}), "cluster selector")
	g.Expect(policy(pod("web"), apps)).To(Equal(drain.Decision{Behavior: clusterv1.MachineDrainRuleDrainBehaviorDrain}), "no rule: drained in group 0")

	policy, _ = drainPolicyOf(rules, worker, nil)
	g.Expect(policy(pod("cache"), apps)).To(Equal(drain.Decision{Behavior: clusterv1.MachineDrainRuleDrainBehaviorDrain}), "no Cluster labels: the cluster selector does not match")

	policy, _ = drainPolicyOf(rules, cp, prod)
	g.Expect(policy(pod("web"), apps)).To(Equal(drain.Decision{Behavior: clusterv1.MachineDrainRuleDrainBehaviorWaitCompleted}), "machine selector")
}
