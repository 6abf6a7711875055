package machine

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/core/drain"
)

// drainPolicy reads the MachineDrainRules of the Machine's namespace and
// returns the drain policy of its Node.
func (r *Reconciler) drainPolicy(ctx context.Context, s *scope) (drain.Policy, error) {
	list := &clusterv1.MachineDrainRuleList{}
	if err := r.Client.List(ctx, list, client.InNamespace(s.machine.Namespace)); err != nil {
		return nil, fmt.Errorf("listing MachineDrainRules: %w", err)
	}
	policy, invalid := drainPolicyOf(list.Items, s.machine, s.cluster)
	for _, msg := range invalid {
		ctrl.LoggerFrom(ctx).Info("Ignoring a MachineDrainRule with an invalid selector", "problem", msg)
	}
	return policy, nil
}

// drainPolicyOf is the drain policy the rules give for the Machine's Pods:
// the first rule by name that selects both the Machine and the Pod decides,
// as upstream orders them; a Pod no rule selects is drained in group 0. A rule
// with a selector that does not parse is left out and named in invalid. Pure.
func drainPolicyOf(rules []clusterv1.MachineDrainRule, m *clusterv1.Machine, cluster *clusterv1.Cluster) (policy drain.Policy, invalid []string) {
	type podRule struct {
		decision drain.Decision
		pods     []clusterv1.MachineDrainRulePodSelector
	}
	sorted := slices.Clone(rules)
	slices.SortFunc(sorted, func(a, b clusterv1.MachineDrainRule) int { return strings.Compare(a.Name, b.Name) })
	var clusterLabels labels.Set
	if cluster != nil {
		clusterLabels = cluster.Labels
	}
	var applying []podRule
	for _, rule := range sorted {
		ok, err := machineSelected(rule.Spec.Machines, m.Labels, clusterLabels)
		if err == nil {
			_, err = podSelected(rule.Spec.Pods, nil, nil) // checks the Pod selectors parse
		}
		if err != nil {
			invalid = append(invalid, fmt.Sprintf("MachineDrainRule %s: %v", rule.Name, err))
			continue
		}
		if !ok {
			continue
		}
		d := drain.Decision{Behavior: rule.Spec.Drain.Behavior}
		if d.Behavior == clusterv1.MachineDrainRuleDrainBehaviorDrain && rule.Spec.Drain.Order != nil {
			d.Order = *rule.Spec.Drain.Order
		}
		applying = append(applying, podRule{decision: d, pods: rule.Spec.Pods})
	}
	return func(pod *corev1.Pod, ns *corev1.Namespace) drain.Decision {
		var nsLabels labels.Set
		if ns != nil {
			nsLabels = ns.Labels
		}
		for _, r := range applying {
			if ok, _ := podSelected(r.pods, pod.Labels, nsLabels); ok {
				return r.decision
			}
		}
		return drain.Decision{Behavior: clusterv1.MachineDrainRuleDrainBehaviorDrain}
	}, invalid
}

// machineSelected: no entries select every Machine; otherwise any entry
// whose selector matches the Machine and clusterSelector its Cluster.
func machineSelected(entries []clusterv1.MachineDrainRuleMachineSelector, machine, cluster labels.Set) (bool, error) {
	pairs := make([][2]*metav1.LabelSelector, len(entries))
	for i, e := range entries {
		pairs[i] = [2]*metav1.LabelSelector{e.Selector, e.ClusterSelector}
	}
	return anyPairMatches(pairs, machine, cluster, "machines[].selector", "machines[].clusterSelector")
}

// podSelected: no entries select every Pod; otherwise any entry whose
// selector matches the Pod and namespaceSelector its Namespace.
func podSelected(entries []clusterv1.MachineDrainRulePodSelector, pod, namespace labels.Set) (bool, error) {
	pairs := make([][2]*metav1.LabelSelector, len(entries))
	for i, e := range entries {
		pairs[i] = [2]*metav1.LabelSelector{e.Selector, e.NamespaceSelector}
	}
	return anyPairMatches(pairs, pod, namespace, "pods[].selector", "pods[].namespaceSelector")
}

// anyPairMatches: no pairs match everything; otherwise a pair matches when
// its first selector matches own and its second matches parent. Every
// selector is parsed, so a bad one is an error naming its field.
func anyPairMatches(pairs [][2]*metav1.LabelSelector, own, parent labels.Set, ownField, parentField string) (bool, error) {
	if len(pairs) == 0 {
		return true, nil
	}
	selected := false
	for _, p := range pairs {
		a, err := matches(p[0], own)
		if err != nil {
			return false, fmt.Errorf("%s: %w", ownField, err)
		}
		b, err := matches(p[1], parent)
		if err != nil {
			return false, fmt.Errorf("%s: %w", parentField, err)
		}
		selected = selected || (a && b)
	}
	return selected, nil
}

// matches applies a label selector; nil or empty matches everything.
func matches(sel *metav1.LabelSelector, set labels.Set) (bool, error) {
	if sel == nil {
		return true, nil
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false, err
	}
	return s.Matches(set), nil
}
