package machine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/remote"
)

// Deleting reasons.
const (
	ReasonWaitingForPreDrainHook     = "WaitingForPreDrainHook"
	ReasonDrainingNode               = "DrainingNode"
	ReasonWaitingForPreTerminateHook = "WaitingForPreTerminateHook"
	ReasonWaitingForInfraDeletion    = "WaitingForInfrastructureDeletion"
	ReasonDeletingNode               = "DeletingNode"
)

// reconcileDelete takes the Machine apart in order. Each step returns early
// while it waits; the next reconcile continues where it left off.
func (r *Reconciler) reconcileDelete(ctx context.Context, s *scope) (ctrl.Result, error) {
	m := s.machine
	log := ctrl.LoggerFrom(ctx)
	if m.Status.Deletion == nil {
		m.Status.Deletion = &clusterv1.MachineDeletionStatus{}
	}
	now := metav1.NewTime(s.now)

	if hooks := hooksWithPrefix(m, clusterv1.PreDrainDeleteHookAnnotationPrefix); len(hooks) > 0 {
		if m.Status.Deletion.WaitForPreDrainHookStartTime.IsZero() {
			m.Status.Deletion.WaitForPreDrainHookStartTime = now
		}
		s.deletingReason, s.deletingMessage = ReasonWaitingForPreDrainHook, "waiting for pre-drain hooks: "+strings.Join(hooks, ", ")
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

	if hooks := hooksWithPrefix(m, clusterv1.PreTerminateDeleteHookAnnotationPrefix); len(hooks) > 0 {
		if m.Status.Deletion.WaitForPreTerminateHookStartTime.IsZero() {
			m.Status.Deletion.WaitForPreTerminateHookStartTime = now
		}
		s.deletingReason, s.deletingMessage = ReasonWaitingForPreTerminateHook, "waiting for pre-terminate hooks: "+strings.Join(hooks, ", ")
		return ctrl.Result{}, nil
	}

	gone, err := r.deleteProviderObjects(ctx, s)
	if err != nil {
		return ctrl.Result{}, err
	}
	if !gone {
		s.deletingReason, s.deletingMessage = ReasonWaitingForInfraDeletion, "waiting for the infrastructure and bootstrap objects to be deleted"
		return ctrl.Result{}, nil // their deletion is an event
	}

	if m.Status.NodeRef.Name != "" && !clusterGoing {
		if res, err := r.deleteNode(ctx, s); err != nil || res.RequeueAfter > 0 {
			return res, err
		}
	}
	log.Info("Machine deleted; removing finalizer")
	controllerutil.RemoveFinalizer(m, clusterv1.MachineFinalizer)
	return ctrl.Result{}, nil
}

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
// left, when the drain timeout passed, or when draining is excluded.
func (r *Reconciler) drain(ctx context.Context, s *scope) (ctrl.Result, bool, error) {
	m := s.machine
	log := ctrl.LoggerFrom(ctx).WithValues("node", m.Status.NodeRef.Name)
	if _, ok := m.Annotations[clusterv1.ExcludeNodeDrainingAnnotation]; ok {
		return ctrl.Result{}, true, nil
	}
	if m.Status.Deletion.NodeDrainStartTime.IsZero() {
		m.Status.Deletion.NodeDrainStartTime = metav1.NewTime(s.now)
	}
	elapsed := s.now.Sub(m.Status.Deletion.NodeDrainStartTime.Time)
	var timeout time.Duration
	if t := m.Spec.Deletion.NodeDrainTimeoutSeconds; t != nil && *t > 0 {
		timeout = time.Duration(*t) * time.Second
	}
	if timeout > 0 && elapsed >= timeout {
		log.Info("Drain timeout passed; deleting the Machine without a complete drain", "timeout", timeout)
		return ctrl.Result{}, true, nil
	}

	wc, err := r.ClusterCache.Client(ctx, remote.ClusterKey(m.Namespace, m.Spec.ClusterName))
	if err != nil {
		limit := timeout
		if limit == 0 {
			limit = unreachableDrainTimeout
		}
		if elapsed >= limit {
			log.Info("Workload cluster unreachable; skipping the drain", "after", limit)
			s.deletingReason, s.deletingMessage = ReasonDrainingNode, fmt.Sprintf("drain skipped: the workload cluster was unreachable for %s", limit.Round(time.Second))
			return ctrl.Result{}, true, nil
		}
		s.deletingReason = ReasonDrainingNode
		s.deletingMessage = fmt.Sprintf("waiting for the workload cluster to drain Node %s (the drain is skipped after %s): %v",
			m.Status.NodeRef.Name, limit.Round(time.Second), err)
		return ctrl.Result{RequeueAfter: waitForWorkloadCluster}, false, nil
	}

	cfg, err := r.ClusterCache.RESTConfig(ctx, remote.ClusterKey(m.Namespace, m.Spec.ClusterName))
	if err != nil {
		return ctrl.Result{}, false, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return ctrl.Result{}, false, err
	}
	node := &corev1.Node{}
	if err := wc.Get(ctx, client.ObjectKey{Name: m.Status.NodeRef.Name}, node); err != nil {
		if apierrors.IsNotFound(err) {
			return ctrl.Result{}, true, nil
		}
		return ctrl.Result{}, false, fmt.Errorf("reading Node %s: %w", m.Status.NodeRef.Name, err)
	}
	if !node.Spec.Unschedulable {
		log.Info("Cordoning Node")
		before := node.DeepCopy()
		node.Spec.Unschedulable = true
		if err := wc.Patch(ctx, node, client.MergeFrom(before)); err != nil {
			return ctrl.Result{}, false, fmt.Errorf("cordoning Node %s: %w", node.Name, err)
		}
	}

	pods := &corev1.PodList{}
	if err := wc.List(ctx, pods, client.MatchingFields{"spec.nodeName": node.Name}); err != nil {
		return ctrl.Result{}, false, fmt.Errorf("listing Pods of Node %s: %w", node.Name, err)
	}
	var pending, blocked []string
	for i := range pods.Items {
		pod := &pods.Items[i]
		if !evictable(pod) {
			continue
		}
		if !pod.DeletionTimestamp.IsZero() {
			pending = append(pending, pod.Namespace+"/"+pod.Name)
			continue
		}
		log.Info("Evicting Pod", "pod", client.ObjectKeyFromObject(pod).String())
		err := evict(ctx, cs, pod)
		switch {
		case err == nil, apierrors.IsNotFound(err):
		case apierrors.IsTooManyRequests(err):
			blocked = append(blocked, fmt.Sprintf("%s/%s (%s)", pod.Namespace, pod.Name, apiMessage(err)))
		default:
			return ctrl.Result{}, false, fmt.Errorf("evicting Pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
		pending = append(pending, pod.Namespace+"/"+pod.Name)
	}
	if len(pending) == 0 {
		log.Info("Node drained")
		return ctrl.Result{}, true, nil
	}
	msg := fmt.Sprintf("draining Node %s: %d Pods left", node.Name, len(pending))
	if len(blocked) > 0 {
		msg += "; evictions blocked by PodDisruptionBudgets: " + strings.Join(blocked, ", ")
	}
	if timeout > 0 {
		msg += fmt.Sprintf("; the drain gives up after %s", (timeout - elapsed).Round(time.Second))
	}
	s.deletingReason, s.deletingMessage = ReasonDrainingNode, msg
	return ctrl.Result{RequeueAfter: drainRetry}, false, nil
}

// evict asks the eviction API to remove a Pod. Retries are off: client-go
// would otherwise wait out the Retry-After of every refusal by a
// PodDisruptionBudget, and the refusal is what the caller reports.
func evict(ctx context.Context, cs kubernetes.Interface, pod *corev1.Pod) error {
	eviction := &policyv1.Eviction{
		TypeMeta:   metav1.TypeMeta{APIVersion: policyv1.SchemeGroupVersion.String(), Kind: "Eviction"},
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace},
	}
	body, err := json.Marshal(eviction)
	if err != nil {
		return err
	}
	return cs.CoreV1().RESTClient().Post().Namespace(pod.Namespace).Resource("pods").Name(pod.Name).
		SubResource("eviction").Body(body).SetHeader("Content-Type", "application/json").MaxRetries(0).Do(ctx).Error()
}

// evictable leaves out what a drain never evicts: mirror (static) Pods,
// DaemonSet Pods and Pods that already finished.
func evictable(pod *corev1.Pod) bool {
	if _, mirror := pod.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		return false
	}
	if owner := metav1.GetControllerOf(pod); owner != nil && owner.Kind == "DaemonSet" {
		return false
	}
	return pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed
}

func apiMessage(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return status.Status().Message
	}
	return err.Error()
}

// deleteProviderObjects deletes the infrastructure machine and the bootstrap
// config and reports whether both are gone.
func (r *Reconciler) deleteProviderObjects(ctx context.Context, s *scope) (bool, error) {
	m := s.machine
	refs := []clusterv1.ContractVersionedObjectReference{m.Spec.InfrastructureRef}
	if m.Spec.Bootstrap.ConfigRef.IsDefined() {
		refs = append(refs, m.Spec.Bootstrap.ConfigRef)
	}
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
	if timeout > 0 && s.now.Sub(m.DeletionTimestamp.Time) > timeout {
		ctrl.LoggerFrom(ctx).Info("Giving up deleting the Node", "node", m.Status.NodeRef.Name, "error", err.Error())
		return ctrl.Result{}, nil
	}
	s.deletingReason, s.deletingMessage = ReasonDeletingNode, fmt.Sprintf("deleting Node %s: %v", m.Status.NodeRef.Name, err)
	return ctrl.Result{RequeueAfter: waitForWorkloadCluster}, nil
}
