package machine

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/core/drain"
	"github.com/podcluster/podcluster/internal/remote"
)

// reconcileDelete takes the Machine apart in order. Each step returns early
// while it waits; the next reconcile continues where it left off.
func (r *Reconciler) reconcileDelete(ctx context.Context, s *scope) (ctrl.Result, error) {
	m := s.machine
	log := ctrl.LoggerFrom(ctx)
	if m.Status.Deletion == nil {
		m.Status.Deletion = &clusterv1.MachineDeletionStatus{}
	}
	// The start times are written once, on the first reconcile that waits,
	// so that they tell the user how long each step has been blocking.
	now := metav1.NewTime(s.now)

	// Pre-drain hooks run first: their owners (for example a control-plane
	// provider removing an etcd member) need the Node still serving.
	if hooks := hooksWithPrefix(m, clusterv1.PreDrainDeleteHookAnnotationPrefix); len(hooks) > 0 {
		if m.Status.Deletion.WaitForPreDrainHookStartTime.IsZero() {
			m.Status.Deletion.WaitForPreDrainHookStartTime = now
		}
		s.deletingReason, s.deletingMessage = clusterv1.MachineDeletingWaitingForPreDrainHookReason, "waiting for pre-drain hooks: "+strings.Join(hooks, ", ")
		return ctrl.Result{}, nil // removing the annotation is an event
	}

	// A Cluster going away takes its Nodes with it: no drain, no Node deletion.
	clusterGoing := s.cluster == nil || !s.cluster.DeletionTimestamp.IsZero()
	if m.Status.NodeRef.Name != "" && !clusterGoing {
		res, done, err := r.drain(ctx, s)
		if err != nil || !done {
			return res, err
		}
	}

	// Pre-terminate hooks run after the drain and before the infrastructure
	// goes: the workloads are off, but the machine still exists.
	if hooks := hooksWithPrefix(m, clusterv1.PreTerminateDeleteHookAnnotationPrefix); len(hooks) > 0 {
		if m.Status.Deletion.WaitForPreTerminateHookStartTime.IsZero() {
			m.Status.Deletion.WaitForPreTerminateHookStartTime = now
		}
		s.deletingReason, s.deletingMessage = clusterv1.MachineDeletingWaitingForPreTerminateHookReason, "waiting for pre-terminate hooks: "+strings.Join(hooks, ", ")
		return ctrl.Result{}, nil // as above, the annotation's removal is an event
	}

	gone, err := r.deleteProviderObjects(ctx, s)
	if err != nil {
		return ctrl.Result{}, err
	}
	if !gone {
		s.deletingReason, s.deletingMessage = clusterv1.MachineDeletingWaitingForInfrastructureDeletionReason, "waiting for the infrastructure and bootstrap objects to be deleted"
		return ctrl.Result{}, nil // their deletion is an event
	}

	// The Node goes last: while the infrastructure machine still ran, its
	// kubelet would have registered the Node again.
	if m.Status.NodeRef.Name != "" && !clusterGoing {
		if res, err := r.deleteNode(ctx, s); err != nil || res.RequeueAfter > 0 {
			return res, err
		}
	}
	log.Info("Machine deleted; removing finalizer")
	controllerutil.RemoveFinalizer(m, clusterv1.MachineFinalizer)
	return ctrl.Result{}, nil
}

// hooksWithPrefix lists the hook annotations of one kind, sorted so that the
// Deleting message does not change from one reconcile to the next.
func hooksWithPrefix(m *clusterv1.Machine, prefix string) []string {
	var hooks []string
	for k := range m.Annotations {
		if strings.HasPrefix(k, prefix+"/") {
			hooks = append(hooks, k)
		}
	}
	sort.Strings(hooks)
	return hooks
}

// drain cordons the Node and evicts its Pods through the eviction API, which
// respects PodDisruptionBudgets. It reports done once no evictable Pod is
// left, when the drain timeout passed, or when draining is excluded. The
// mechanism is core/drain; this is the policy: when to give up and what the
// Deleting condition tells the user meanwhile.
func (r *Reconciler) drain(ctx context.Context, s *scope) (ctrl.Result, bool, error) {
	m := s.machine
	log := ctrl.LoggerFrom(ctx).WithValues("node", m.Status.NodeRef.Name)
	// The annotation's value does not matter, as upstream: present means skip.
	if _, ok := m.Annotations[clusterv1.ExcludeNodeDrainingAnnotation]; ok {
		return ctrl.Result{}, true, nil
	}
	if m.Status.Deletion.NodeDrainStartTime.IsZero() {
		m.Status.Deletion.NodeDrainStartTime = metav1.NewTime(s.now)
	}
	elapsed := s.now.Sub(m.Status.Deletion.NodeDrainStartTime.Time)
	timeout := drainTimeout(m)
	if timeout > 0 && elapsed >= timeout {
		log.Info("Drain timeout passed; deleting the Machine without a complete drain", "timeout", timeout)
		return ctrl.Result{}, true, nil
	}

	key := remote.ClusterKey(m.Namespace, m.Spec.ClusterName)
	wc, err := r.ClusterCache.Client(ctx, key)
	if err != nil {
		// Any error here means we cannot reach the Node; the timeout policy
		// for that lives in drainUnreachable.
		return r.drainUnreachable(ctx, s, timeout, elapsed, err)
	}
	cfg, err := r.ClusterCache.RESTConfig(ctx, key)
	if err != nil {
		return ctrl.Result{}, false, err
	}
	// One clientset per drain pass, not per evicted Pod.
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return ctrl.Result{}, false, err
	}
	// Each pass evicts what it can and reports the rest; nothing blocks
	// the worker while Pods terminate.
	policy, err := r.drainPolicy(ctx, s)
	if err != nil {
		return ctrl.Result{}, false, err
	}
	result, err := drain.Node(ctx, wc, cs, m.Status.NodeRef.Name, policy)
	if err != nil {
		return ctrl.Result{}, false, err
	}
	if result.Done() {
		log.Info("Node drained")
		return ctrl.Result{}, true, nil
	}
	s.deletingReason = clusterv1.MachineDeletingDrainingNodeReason
	s.deletingMessage = drainMessage(m.Status.NodeRef.Name, result, timeout, elapsed)
	// Polled: Pods leaving a workload Node raise no event on the Machine.
	return ctrl.Result{RequeueAfter: drainRetry}, false, nil
}

// drainTimeout is spec.deletion.nodeDrainTimeoutSeconds; zero means no limit.
func drainTimeout(m *clusterv1.Machine) time.Duration {
	if t := m.Spec.Deletion.NodeDrainTimeoutSeconds; t != nil && *t > 0 {
		return time.Duration(*t) * time.Second
	}
	return 0
}

// drainUnreachable waits for an unreachable workload cluster, but not
// forever: a cluster that is gone for good must not keep its Machines. The
// limit is the drain timeout, or unreachableDrainTimeout when there is none.
func (r *Reconciler) drainUnreachable(ctx context.Context, s *scope, timeout, elapsed time.Duration, cause error) (ctrl.Result, bool, error) {
	m := s.machine
	limit := timeout
	if limit == 0 {
		limit = unreachableDrainTimeout
	}
	s.deletingReason = clusterv1.MachineDeletingDrainingNodeReason
	if elapsed >= limit {
		ctrl.LoggerFrom(ctx).Info("Workload cluster unreachable; skipping the drain", "node", m.Status.NodeRef.Name, "after", limit)
		s.deletingMessage = fmt.Sprintf("drain skipped: the workload cluster was unreachable for %s", limit.Round(time.Second))
		return ctrl.Result{}, true, nil
	}
	s.deletingMessage = fmt.Sprintf("waiting for the workload cluster to drain Node %s (the drain is skipped after %s): %v",
		m.Status.NodeRef.Name, limit.Round(time.Second), cause)
	return ctrl.Result{RequeueAfter: waitForWorkloadCluster}, false, nil
}

// drainMessage tells the user what a drain in progress waits for: how many
// Pods, which PodDisruptionBudgets refuse, and when the drain gives up.
func drainMessage(node string, result drain.Result, timeout, elapsed time.Duration) string {
	msg := fmt.Sprintf("draining Node %s: %d Pods left", node, len(result.Pending))
	if result.Order != 0 {
		msg += fmt.Sprintf(" (evicting drain order %d)", result.Order)
	}
	if len(result.WaitingCompletion) > 0 {
		msg += "; waiting for Pods to complete: " + strings.Join(result.WaitingCompletion, ", ")
	}
	if len(result.Blocked) > 0 {
		msg += "; evictions blocked by PodDisruptionBudgets: " + strings.Join(result.Blocked, ", ")
	}
	if timeout > 0 {
		msg += fmt.Sprintf("; the drain gives up after %s", (timeout - elapsed).Round(time.Second))
	}
	return msg
}

// deleteProviderObjects deletes the infrastructure machine and the bootstrap
// config and reports whether both are gone.
func (r *Reconciler) deleteProviderObjects(ctx context.Context, s *scope) (bool, error) {
	m := s.machine
	refs := []clusterv1.ContractVersionedObjectReference{m.Spec.InfrastructureRef}
	if m.Spec.Bootstrap.ConfigRef.IsDefined() {
		refs = append(refs, m.Spec.Bootstrap.ConfigRef)
	}
	// Both are deleted at once: neither depends on the other, and waiting
	// for one before the other would only slow deletion down.
	gone := true
	for _, ref := range refs {
		obj, err := r.getExternal(ctx, ref, m.Namespace)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return false, err
		}
		gone = false
		// Already going: its provider's finalizer decides when, we only wait.
		if obj.GetDeletionTimestamp().IsZero() {
			ctrl.LoggerFrom(ctx).Info("Deleting provider object", "kind", ref.Kind, "name", ref.Name)
			if err := r.Client.Delete(ctx, obj); client.IgnoreNotFound(err) != nil {
				return false, fmt.Errorf("deleting %s %s: %w", ref.Kind, ref.Name, err)
			}
		}
	}
	return gone, nil
}

// deleteNode removes the Node from the workload cluster, retrying for
// nodeDeletionTimeoutSeconds (default 10s; 0 retries forever).
func (r *Reconciler) deleteNode(ctx context.Context, s *scope) (ctrl.Result, error) {
	m := s.machine
	timeout := defaultNodeDeletionTimeout
	if t := m.Spec.Deletion.NodeDeletionTimeoutSeconds; t != nil {
		timeout = time.Duration(*t) * time.Second
	}
	// An unreachable cluster and a failed delete are treated alike: both
	// retry until the timeout, then give up.
	var err error
	if wc, cerr := r.ClusterCache.Client(ctx, remote.ClusterKey(m.Namespace, m.Spec.ClusterName)); cerr == nil {
		ctrl.LoggerFrom(ctx).Info("Deleting Node", "node", m.Status.NodeRef.Name)
		err = client.IgnoreNotFound(wc.Delete(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: m.Status.NodeRef.Name}}))
	} else {
		err = cerr
	}
	if err == nil {
		return ctrl.Result{}, nil
	}
	// Measured from the Machine's deletion, as upstream does: a Node that
	// cannot be deleted must not keep the Machine forever.
	if timeout > 0 && s.now.Sub(m.DeletionTimestamp.Time) > timeout {
		ctrl.LoggerFrom(ctx).Info("Giving up deleting the Node", "node", m.Status.NodeRef.Name, "error", err.Error())
		return ctrl.Result{}, nil
	}
	s.deletingReason, s.deletingMessage = clusterv1.MachineDeletingDeletingNodeReason, fmt.Sprintf("deleting Node %s: %v", m.Status.NodeRef.Name, err)
	return ctrl.Result{RequeueAfter: waitForWorkloadCluster}, nil
}
