// Package drain cordons a workload-cluster Node and evicts its Pods through
// the eviction API. It is the mechanism only: when to drain, how long to wait
// and what to tell the user is the Machine controller's policy. Keeping it
// apart lets the Machine controller (and later the control plane provider)
// drain a Node without importing each other.
package drain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// Result is what one drain pass saw.
type Result struct {
	// NodeGone is true when the Node no longer exists: nothing is left to drain.
	NodeGone bool
	// Pending lists namespace/name of the Pods still to go, including those
	// already terminating, those whose eviction was refused, those of later
	// drain groups and those the drain waits to complete.
	Pending []string
	// Blocked lists the Pods whose eviction a PodDisruptionBudget refused,
	// each with the API server's reason.
	Blocked []string
	// WaitingCompletion lists the Pods the drain does not evict but waits to
	// complete (behavior WaitCompleted).
	WaitingCompletion []string
	// Order is the drain group being evicted, when Pods are left.
	Order int32
}

// Done reports whether the Node is drained.
func (r Result) Done() bool { return r.NodeGone || len(r.Pending) == 0 }

// Decision is what a drain does with one Pod.
type Decision struct {
	Behavior clusterv1.MachineDrainRuleDrainBehavior
	// Order is the Pod's drain group; only for Drain.
	Order int32
}

// Policy decides, for each Pod, how the drain treats it; ns is the Pod's
// Namespace in the workload cluster (nil when it could not be read). Nil
// evicts every Pod in one group.
type Policy func(pod *corev1.Pod, ns *corev1.Namespace) Decision

// decide applies the Pod's own label (skip, wait-completed), which wins over
// the policy, as upstream's cluster.x-k8s.io/drain label does.
func decide(pod *corev1.Pod, ns *corev1.Namespace, policy Policy) Decision {
	switch pod.Labels[clusterv1.PodDrainLabel] {
	case "skip":
		return Decision{Behavior: clusterv1.MachineDrainRuleDrainBehaviorSkip}
	case "wait-completed":
		return Decision{Behavior: clusterv1.MachineDrainRuleDrainBehaviorWaitCompleted}
	}
	if policy == nil {
		return Decision{Behavior: clusterv1.MachineDrainRuleDrainBehaviorDrain}
	}
	return policy(pod, ns)
}

// Node makes one drain pass over the named Node: it cordons it when needed,
// sorts its Pods by the policy, and asks for the eviction of the Pods of the
// lowest drain group that still has Pods; later groups wait for it. Skipped
// Pods are left alone, and WaitCompleted Pods are waited for, never evicted.
// A pass never waits; the caller calls again until the Result is Done. wc
// reads and patches (a cached client is fine); cs posts evictions, which
// controller-runtime's client cannot do without retries.
func Node(ctx context.Context, wc client.Client, cs kubernetes.Interface, nodeName string, policy Policy) (Result, error) {
	log := ctrl.LoggerFrom(ctx).WithValues("node", nodeName)
	node := &corev1.Node{}
	if err := wc.Get(ctx, client.ObjectKey{Name: nodeName}, node); err != nil {
		if apierrors.IsNotFound(err) {
			return Result{NodeGone: true}, nil
		}
		return Result{}, fmt.Errorf("reading Node %s: %w", nodeName, err)
	}
	if !node.Spec.Unschedulable {
		log.Info("Cordoning Node")
		before := node.DeepCopy()
		node.Spec.Unschedulable = true
		if err := wc.Patch(ctx, node, client.MergeFrom(before)); err != nil {
			return Result{}, fmt.Errorf("cordoning Node %s: %w", node.Name, err)
		}
	}

	pods := &corev1.PodList{}
	if err := wc.List(ctx, pods, client.MatchingFields{"spec.nodeName": node.Name}); err != nil {
		return Result{}, fmt.Errorf("listing Pods of Node %s: %w", node.Name, err)
	}
	namespaces := map[string]*corev1.Namespace{}
	namespaceOf := func(name string) *corev1.Namespace {
		if ns, ok := namespaces[name]; ok {
			return ns
		}
		ns := &corev1.Namespace{}
		if err := wc.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
			ns = nil // a rule with a namespace selector then does not match
		}
		namespaces[name] = ns
		return ns
	}
	var res Result
	groups := map[int32][]*corev1.Pod{}
	for i := range pods.Items {
		pod := &pods.Items[i]
		if !Evictable(pod) {
			continue
		}
		key := pod.Namespace + "/" + pod.Name
		switch d := decide(pod, namespaceOf(pod.Namespace), policy); d.Behavior {
		case clusterv1.MachineDrainRuleDrainBehaviorSkip:
		case clusterv1.MachineDrainRuleDrainBehaviorWaitCompleted:
			res.WaitingCompletion = append(res.WaitingCompletion, key)
			res.Pending = append(res.Pending, key)
		default:
			groups[d.Order] = append(groups[d.Order], pod)
			res.Pending = append(res.Pending, key)
		}
	}
	if len(groups) == 0 {
		return res, nil
	}
	// Only the lowest group is evicted in this pass.
	res.Order = slices.Min(slices.Collect(maps.Keys(groups)))
	for _, pod := range groups[res.Order] {
		key := pod.Namespace + "/" + pod.Name
		// A terminating Pod has been evicted already; asking again would
		// only cost a request.
		if !pod.DeletionTimestamp.IsZero() {
			continue
		}
		log.Info("Evicting Pod", "pod", key, "order", res.Order)
		err := Evict(ctx, cs, pod)
		switch {
		case err == nil, apierrors.IsNotFound(err):
		case apierrors.IsTooManyRequests(err):
			// 429 is how the eviction API says a PodDisruptionBudget forbids
			// it now; the next pass asks again.
			res.Blocked = append(res.Blocked, fmt.Sprintf("%s (%s)", key, apiMessage(err)))
		default:
			return Result{}, fmt.Errorf("evicting Pod %s: %w", key, err)
		}
	}
	return res, nil
}

// Evict asks the eviction API to remove a Pod. Retries are off: client-go
// would otherwise wait out the Retry-After of every refusal by a
// PodDisruptionBudget, and the refusal is what the caller reports.
func Evict(ctx context.Context, cs kubernetes.Interface, pod *corev1.Pod) error {
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

// Evictable leaves out what a drain never evicts: mirror (static) Pods,
// DaemonSet Pods and Pods that already finished.
func Evictable(pod *corev1.Pod) bool {
	if _, mirror := pod.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		return false
	}
	if owner := metav1.GetControllerOf(pod); owner != nil && owner.Kind == "DaemonSet" {
		return false
	}
	return pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed
}

// apiMessage is the API server's own words for a refusal, which name the
// PodDisruptionBudget; the wrapped error text would add noise.
func apiMessage(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return status.Status().Message
	}
	return err.Error()
}
