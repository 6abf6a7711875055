package machinehealthcheck

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/conditions"
	"github.com/podcluster/podcluster/internal/patch"
	"github.com/podcluster/podcluster/internal/remote"
)

// scope carries what one reconcile observed.
type scope struct {
	mhc     *clusterv1.MachineHealthCheck
	cluster *clusterv1.Cluster
	now     time.Time
	paused  bool

	// observed is set by getTargets once the Machines were listed; the status
	// counters are written only then.
	observed bool
	// targets are the Machines the selector matches, set by getTargets and
	// given their Nodes by getNodes.
	targets []target
	// unhealthy counts the targets that failed a check, set by markMachines.
	unhealthy int
	// allowance is triggerIf applied to the counts, set by markMachines.
	allowance allowance
	// requeueAfter is when the earliest pending timeout expires, set by markMachines.
	requeueAfter time.Duration
}

// getTargets lists the Machines of the Cluster that the selector matches.
// Machines being deleted are no longer targets: their replacement is.
func (r *Reconciler) getTargets(ctx context.Context, s *scope) (ctrl.Result, error) {
	sel, err := metav1.LabelSelectorAsSelector(&s.mhc.Spec.Selector)
	if err != nil {
		// Retrying cannot fix a selector, only an edit, which is an event.
		return ctrl.Result{}, reconcile.TerminalError(fmt.Errorf("spec.selector: %w", err))
	}
	list := &clusterv1.MachineList{}
	if err := r.Client.List(ctx, list, client.InNamespace(s.mhc.Namespace),
		client.MatchingLabels{clusterv1.ClusterNameLabel: s.mhc.Spec.ClusterName}); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing Machines of Cluster %s: %w", s.mhc.Spec.ClusterName, err)
	}
	s.targets = nil
	for i := range list.Items {
		m := &list.Items[i]
		if m.Spec.ClusterName != s.mhc.Spec.ClusterName || !m.DeletionTimestamp.IsZero() || !sel.Matches(labels.Set(m.Labels)) {
			continue
		}
		s.targets = append(s.targets, target{machine: m, startedAt: startedAt(s.cluster, m)})
	}
	sort.Slice(s.targets, func(i, j int) bool { return s.targets[i].machine.Name < s.targets[j].machine.Name })
	s.observed = true
	return ctrl.Result{}, nil
}

// getNodes finds each target's Node by providerID in the workload cluster.
// Node reads come from the cluster cache's informer, so one list serves all.
func (r *Reconciler) getNodes(ctx context.Context, s *scope) (ctrl.Result, error) {
	need := false
	for _, t := range s.targets {
		need = need || t.machine.Spec.ProviderID != "" || t.machine.Status.NodeRef.Name != ""
	}
	if !need {
		return ctrl.Result{}, nil // no Machine has a Node to look for yet
	}
	wc, err := r.ClusterCache.Client(ctx, remote.ClusterKey(s.mhc.Namespace, s.mhc.Spec.ClusterName))
	if errors.Is(err, remote.ErrClusterNotConnected) {
		// Without the Nodes no verdict is safe: a Node that cannot be seen
		// is not a deleted Node. Machines keep their conditions meanwhile.
		ctrl.LoggerFrom(ctx).V(1).Info("Workload cluster not reachable, waiting")
		s.targets, s.observed = nil, false
		return ctrl.Result{RequeueAfter: waitForWorkloadCluster}, nil
	}
	if err != nil {
		s.targets, s.observed = nil, false
		return ctrl.Result{}, fmt.Errorf("connecting to workload cluster %s: %w", s.mhc.Spec.ClusterName, err)
	}
	nodes := &corev1.NodeList{}
	if err := wc.List(ctx, nodes); err != nil {
		s.targets, s.observed = nil, false
		return ctrl.Result{}, fmt.Errorf("listing Nodes of workload cluster %s: %w", s.mhc.Spec.ClusterName, err)
	}
	byProviderID := make(map[string]*corev1.Node, len(nodes.Items))
	for i := range nodes.Items {
		if id := nodes.Items[i].Spec.ProviderID; id != "" {
			byProviderID[id] = &nodes.Items[i]
		}
	}
	for i := range s.targets {
		if id := s.targets[i].machine.Spec.ProviderID; id != "" {
			s.targets[i].node = byProviderID[id]
		}
	}
	return ctrl.Result{}, nil
}

// markMachines checks every target, applies triggerIf to the counts and
// writes the verdicts to the Machines: HealthCheckSucceeded on each, and
// OwnerRemediated=False on the unhealthy ones when remediation is allowed.
// Each Machine gets one status merge patch, and only when something changed.
func (r *Reconciler) markMachines(ctx context.Context, s *scope) (ctrl.Result, error) {
	verdicts := make([]health, len(s.targets))
	var next time.Time
	for i, t := range s.targets {
		verdicts[i] = checkHealth(s.mhc.Spec.Checks, t, s.now)
		if !verdicts[i].healthy {
			s.unhealthy++
		}
		next = earliest(next, verdicts[i].nextCheck)
	}
	if !next.IsZero() {
		s.requeueAfter = max(next.Sub(s.now), time.Second)
	}
	s.allowance = remediationAllowance(s.mhc.Spec.Remediation.TriggerIf, len(s.targets), s.unhealthy)

	var errs []error
	for i, t := range s.targets {
		if err := r.markMachine(ctx, s, t.machine, verdicts[i]); err != nil {
			errs = append(errs, err)
		}
	}
	return ctrl.Result{}, errors.Join(errs...)
}

func (r *Reconciler) markMachine(ctx context.Context, s *scope, m *clusterv1.Machine, h health) error {
	helper, err := patch.NewHelper(m, r.Client)
	if err != nil {
		return err
	}
	conditions.Set(&m.Status.Conditions, m.Generation, healthCondition(h))
	ref := s.mhc.Spec.Remediation.TemplateRef
	act := remediationAction(m, h, s.allowance.allowed, ref.Kind != "")
	var errs []error
	if act.withdraw {
		// Without a templateRef (removed since) the request's kind is not
		// known; the request goes with the Machine, which owns it.
		if err := r.deleteRemediationRequest(ctx, ref, m); err != nil {
			errs = append(errs, err)
		} else {
			conditions.Delete(&m.Status.Conditions, clusterv1.MachineExternallyRemediatedCondition)
		}
	}
	if act.clearOwner {
		conditions.Delete(&m.Status.Conditions, clusterv1.MachineOwnerRemediatedCondition)
	}
	if act.request {
		c, err := r.requestRemediation(ctx, s.mhc, m, h)
		conditions.Set(&m.Status.Conditions, m.Generation, c)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if act.markOwner {
		ctrl.LoggerFrom(ctx).Info("Marking unhealthy Machine for remediation by its owner", "machine", m.Name, "reason", h.reason, "message", h.message)
		conditions.Set(&m.Status.Conditions, m.Generation, conditions.False(clusterv1.MachineOwnerRemediatedCondition,
			clusterv1.MachineOwnerRemediatedWaitingForRemediationReason, "Waiting for remediation: "+h.message))
	}
	if err := helper.Patch(ctx, m); err != nil {
		errs = append(errs, fmt.Errorf("marking Machine %s: %w", m.Name, err))
	}
	return errors.Join(errs...)
}

// action is what a MachineHealthCheck does about one Machine's remediation.
type action struct {
	// markOwner sets OwnerRemediated=False: the owner replaces the Machine.
	markOwner bool
	// clearOwner removes an OwnerRemediated mark nobody acted on yet.
	clearOwner bool
	// request creates the external remediation request and sets ExternallyRemediated.
	request bool
	// withdraw deletes the external remediation request and the ExternallyRemediated mark.
	withdraw bool
}

// remediationAction decides what to do about a Machine from its verdict,
// whether triggerIf allows remediation, and whether an external remediation
// template is set. Pure.
//
// A Machine that recovered before anything acted on it is no longer handed
// on: the request object goes, and so do the marks this controller made, but
// never a mark an owner or an external controller has since changed. An
// unhealthy Machine is handed on once; only a failed attempt at the external
// request is retried. Machines that opt out (skip-remediation, paused) are
// only reported.
func remediationAction(m *clusterv1.Machine, h health, allowed, external bool) action {
	if h.healthy {
		return action{
			withdraw:   markedExternally(m),
			clearOwner: waitingForRemediation(m, clusterv1.MachineOwnerRemediatedCondition),
		}
	}
	if !allowed {
		return action{}
	}
	if _, ok := m.Annotations[clusterv1.MachineSkipRemediationAnnotation]; ok {
		return action{}
	}
	if _, ok := m.Annotations[clusterv1.PausedAnnotation]; ok {
		return action{}
	}
	if external {
		c := conditions.Get(m.Status.Conditions, clusterv1.MachineExternallyRemediatedCondition)
		return action{request: c == nil || (markedExternally(m) && c.Reason != clusterv1.MachineExternallyRemediatedWaitingForRemediationReason)}
	}
	return action{markOwner: conditions.Get(m.Status.Conditions, clusterv1.MachineOwnerRemediatedCondition) == nil}
}

// waitingForRemediation says whether the condition is still the mark a
// MachineHealthCheck left: False, WaitingForRemediation.
func waitingForRemediation(m *clusterv1.Machine, conditionType string) bool {
	c := conditions.Get(m.Status.Conditions, conditionType)
	// Both conditions use the same reason value for the mark.
	return c != nil && c.Status == metav1.ConditionFalse && c.Reason == clusterv1.MachineOwnerRemediatedWaitingForRemediationReason
}

// markedExternally says whether ExternallyRemediated is still what a
// MachineHealthCheck set: waiting for the external controller, or a failed
// attempt at the request.
func markedExternally(m *clusterv1.Machine) bool {
	c := conditions.Get(m.Status.Conditions, clusterv1.MachineExternallyRemediatedCondition)
	if c == nil || c.Status != metav1.ConditionFalse {
		return false
	}
	switch c.Reason {
	case clusterv1.MachineExternallyRemediatedWaitingForRemediationReason,
		clusterv1.MachineExternallyRemediatedRemediationTemplateNotFoundReason,
		clusterv1.MachineExternallyRemediatedRemediationRequestCreationFailedReason:
		return true
	}
	return false
}
