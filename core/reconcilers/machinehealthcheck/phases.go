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
	if needsOwnerRemediation(m, h, s.allowance.allowed, s.mhc.Spec.Remediation.TemplateRef) {
		ctrl.LoggerFrom(ctx).Info("Marking unhealthy Machine for remediation by its owner", "machine", m.Name, "reason", h.reason, "message", h.message)
		conditions.Set(&m.Status.Conditions, m.Generation, conditions.False(clusterv1.MachineOwnerRemediatedCondition,
			clusterv1.MachineOwnerRemediatedWaitingForRemediationReason, "Waiting for remediation: "+h.message))
	}
	if err := helper.Patch(ctx, m); err != nil {
		return fmt.Errorf("marking Machine %s: %w", m.Name, err)
	}
	return nil
}

// needsOwnerRemediation says whether an unhealthy Machine is handed to its
// owner now. The owner owns OwnerRemediated once it exists, so it is set only
// once. Machines that opt out (skip-remediation, paused) are only reported.
func needsOwnerRemediation(m *clusterv1.Machine, h health, allowed bool, templateRef clusterv1.MachineHealthCheckRemediationTemplateReference) bool {
	if h.healthy || !allowed || templateRef.Kind != "" {
		return false
	}
	if _, ok := m.Annotations[clusterv1.MachineSkipRemediationAnnotation]; ok {
		return false
	}
	if _, ok := m.Annotations[clusterv1.PausedAnnotation]; ok {
		return false
	}
	return conditions.Get(m.Status.Conditions, clusterv1.MachineOwnerRemediatedCondition) == nil
}
