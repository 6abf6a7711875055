// Package util holds small helpers every podcluster controller uses: finding
// an object's Cluster, the paused rule, owner references and label values.
package util

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// GetCluster reads the Cluster named name in namespace.
func GetCluster(ctx context.Context, c client.Reader, namespace, name string) (*clusterv1.Cluster, error) {
	cluster := &clusterv1.Cluster{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, cluster); err != nil {
		return nil, err
	}
	return cluster, nil
}

// IsPaused applies the contract's rule: an object is paused when its Cluster
// has spec.paused or the object has the paused annotation.
func IsPaused(cluster *clusterv1.Cluster, obj metav1.Object) bool {
	if cluster != nil && cluster.Spec.Paused != nil && *cluster.Spec.Paused {
		return true
	}
	_, ok := obj.GetAnnotations()[clusterv1.PausedAnnotation]
	return ok
}

// OwnerRef returns an owner reference to owner; controller makes it the controlling one.
func OwnerRef(owner client.Object, gvk schema.GroupVersionKind, controller bool) metav1.OwnerReference {
	ref := metav1.OwnerReference{
		APIVersion: gvk.GroupVersion().String(),
		Kind:       gvk.Kind,
		Name:       owner.GetName(),
		UID:        owner.GetUID(),
	}
	if controller {
		t := true
		ref.Controller = &t
		ref.BlockOwnerDeletion = &t
	}
	return ref
}

// EnsureOwnerRef adds ref to obj unless an owner reference with the same kind
// and name is there; it reports whether obj changed. A reference to the same
// owner with another UID (a re-created owner) is replaced.
func EnsureOwnerRef(obj metav1.Object, ref metav1.OwnerReference) bool {
	refs := obj.GetOwnerReferences()
	for i, r := range refs {
		if r.Kind == ref.Kind && r.Name == ref.Name && groupOf(r.APIVersion) == groupOf(ref.APIVersion) {
			if r.UID == ref.UID && r.APIVersion == ref.APIVersion && boolEq(r.Controller, ref.Controller) {
				return false
			}
			refs[i] = ref
			obj.SetOwnerReferences(refs)
			return true
		}
	}
	obj.SetOwnerReferences(append(refs, ref))
	return true
}

// ControllerOf returns the controlling owner reference of obj, or nil.
func ControllerOf(obj metav1.Object) *metav1.OwnerReference {
	return metav1.GetControllerOf(obj)
}

// HasOwner reports whether obj has an owner of the given kind and name.
func HasOwner(obj metav1.Object, kind, name string) bool {
	for _, r := range obj.GetOwnerReferences() {
		if r.Kind == kind && r.Name == name {
			return true
		}
	}
	return false
}

func groupOf(apiVersion string) string {
	if i := strings.Index(apiVersion, "/"); i >= 0 {
		return apiVersion[:i]
	}
	return ""
}

func boolEq(a, b *bool) bool {
	return (a != nil && *a) == (b != nil && *b)
}

// LabelValue returns name when it is a valid label value, otherwise the
// contract's hashed form "hash_<base64url(sha256(name))>_z".
func LabelValue(name string) string {
	if len(validation.IsValidLabelValue(name)) == 0 {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return fmt.Sprintf("hash_%s_z", base64.RawURLEncoding.EncodeToString(sum[:])[:30])
}

// SetLabel sets a label on obj and reports whether it changed.
func SetLabel(obj metav1.Object, key, value string) bool {
	labels := obj.GetLabels()
	if v, ok := labels[key]; ok && v == value {
		return false
	}
	if labels == nil {
		labels = map[string]string{}
	}
	labels[key] = value
	obj.SetLabels(labels)
	return true
}

// NotOnlyStatusChanged passes every event except an update that leaves the
// object's generation (its spec), labels, annotations, finalizers, owner
// references and deletion timestamp as they were: a status write. A
// controller that writes its object's status watches the object with it, so
// that its own status patch does not wake it for a reconcile with nothing new
// to do. A watch that batches child events relies on this, or each status
// write would trigger the next reconcile at once.
func NotOnlyStatusChanged() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		o, n := e.ObjectOld, e.ObjectNew
		if o == nil || n == nil {
			return true
		}
		return o.GetGeneration() != n.GetGeneration() ||
			!reflect.DeepEqual(o.GetLabels(), n.GetLabels()) ||
			!reflect.DeepEqual(o.GetAnnotations(), n.GetAnnotations()) ||
			!reflect.DeepEqual(o.GetFinalizers(), n.GetFinalizers()) ||
			!reflect.DeepEqual(o.GetOwnerReferences(), n.GetOwnerReferences()) ||
			!reflect.DeepEqual(o.GetDeletionTimestamp(), n.GetDeletionTimestamp())
	}}
}

// WatchFilterPredicate passes only objects labelled
// cluster.x-k8s.io/watch-filter=<value>; an empty value passes everything.
func WatchFilterPredicate(value string) predicate.Predicate {
	return predicate.NewPredicateFuncs(func(o client.Object) bool {
		return value == "" || o.GetLabels()[clusterv1.WatchLabel] == value
	})
}

// EnqueueAfter maps an event's object to requests and queues them after
// delay. Queued requests are merged, so a burst of child events (a hundred
// Machines changing at once) becomes one reconcile of the parent per delay,
// and one status write instead of a hundred.
func EnqueueAfter(delay time.Duration, fn handler.MapFunc) handler.EventHandler {
	add := func(ctx context.Context, o client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		for _, req := range fn(ctx, o) {
			q.AddAfter(req, delay)
		}
	}
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, e.Object, q)
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, e.ObjectNew, q)
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, e.Object, q)
		},
		GenericFunc: func(ctx context.Context, e event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, e.Object, q)
		},
	}
}

// EnqueueUpdatesAfter maps an event's object to requests: those of a
// creation, a deletion or an update that starts a deletion or changes the
// controller are queued at once, those of any other update after delay,
// merged as EnqueueAfter merges them. A parent that counts its children
// learns of a new or vanished child at once, and of a burst of child status
// changes once per delay. An update maps both the old and the new object, so
// that a child that changes parents reaches both.
func EnqueueUpdatesAfter(delay time.Duration, fn handler.MapFunc) handler.EventHandler {
	add := func(ctx context.Context, o client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request], delay time.Duration) {
		for _, req := range fn(ctx, o) {
			if delay == 0 {
				q.Add(req)
			} else {
				q.AddAfter(req, delay)
			}
		}
	}
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, e.Object, q, 0)
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			d := delay
			if e.ObjectOld == nil || e.ObjectNew == nil ||
				e.ObjectOld.GetDeletionTimestamp().IsZero() != e.ObjectNew.GetDeletionTimestamp().IsZero() ||
				!reflect.DeepEqual(ControllerOf(e.ObjectOld), ControllerOf(e.ObjectNew)) {
				d = 0
			}
			if e.ObjectOld != nil {
				add(ctx, e.ObjectOld, q, d)
			}
			if e.ObjectNew != nil {
				add(ctx, e.ObjectNew, q, d)
			}
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, e.Object, q, 0)
		},
		GenericFunc: func(ctx context.Context, e event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, e.Object, q, 0)
		},
	}
}

// Adopt makes owner the controller of a provider object and labels the object
// with its cluster name, with one patch and only when something is missing.
// Objects created complete (clones of a MachineSet) cost nothing.
func Adopt(ctx context.Context, c client.Client, obj *unstructured.Unstructured, owner client.Object, ownerGVK schema.GroupVersionKind, clusterName string) error {
	before := obj.DeepCopy()
	changed := EnsureOwnerRef(obj, OwnerRef(owner, ownerGVK, true))
	changed = SetLabel(obj, clusterv1.ClusterNameLabel, clusterName) || changed
	if !changed {
		return nil
	}
	ctrl.LoggerFrom(ctx).Info("Adopting provider object", "kind", obj.GetKind(), "name", obj.GetName())
	if err := c.Patch(ctx, obj, client.MergeFrom(before)); err != nil {
		return fmt.Errorf("adopting %s %s: %w", obj.GetKind(), obj.GetName(), err)
	}
	return nil
}

// RequestsForLabel lists the objects of newList's kind in ns labelled
// key=value and returns a request for each, for map functions.
func RequestsForLabel(ctx context.Context, c client.Client, newList func() client.ObjectList, ns, key, value string) []reconcile.Request {
	list := newList()
	if err := c.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{key: value}); err != nil {
		return nil
	}
	items, err := apimeta.ExtractList(list)
	if err != nil {
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(items))
	for _, item := range items {
		if obj, ok := item.(client.Object); ok {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(obj)})
		}
	}
	return reqs
}

// ClusterToObjects is a map function that requeues every object of
// newList's kind that carries the Cluster's cluster-name label.
func ClusterToObjects(c client.Client, newList func() client.ObjectList) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		return RequestsForLabel(ctx, c, newList, o.GetNamespace(), clusterv1.ClusterNameLabel, o.GetName())
	}
}

// InfrastructureProvisioned says whether a Machine's infrastructure has
// provisioned. spec.providerID is copied in the same reconcile that sets
// status.initialization.infrastructureProvisioned, and is written at once,
// while the status of a Machine on its way may be held back for a few seconds
// (patch.Settler's HoldOnItsWay): either one is enough.
func InfrastructureProvisioned(m *clusterv1.Machine) bool {
	return m.Spec.ProviderID != "" ||
		(m.Status.Initialization.InfrastructureProvisioned != nil && *m.Status.Initialization.InfrastructureProvisioned)
}

// ControlPlaneInitialized says whether the Cluster's control plane is
// initialized (status.initialization.controlPlaneInitialized): kubeadm init
// has run, and it never goes back.
func ControlPlaneInitialized(c *clusterv1.Cluster) bool {
	return c.Status.Initialization.ControlPlaneInitialized != nil && *c.Status.Initialization.ControlPlaneInitialized
}

// LoadBalancerIP is a Service's first LoadBalancer ingress IP, if any: the
// address a LoadBalancer controller assigned it.
func LoadBalancerIP(svc *corev1.Service) (netip.Addr, bool) {
	for _, ing := range svc.Status.LoadBalancer.Ingress {
		if ip, err := netip.ParseAddr(ing.IP); err == nil {
			return ip, true
		}
	}
	return netip.Addr{}, false
}

// UsedLoadBalancerIPs lists the LoadBalancer addresses every Service of the
// cluster holds, for a LoadBalancer controller to pick a free one.
func UsedLoadBalancerIPs(ctx context.Context, c client.Reader) (map[netip.Addr]bool, error) {
	services := &corev1.ServiceList{}
	if err := c.List(ctx, services); err != nil {
		return nil, fmt.Errorf("listing Services: %w", err)
	}
	used := map[netip.Addr]bool{}
	for i := range services.Items {
		if ip, ok := LoadBalancerIP(&services.Items[i]); ok {
			used[ip] = true
		}
	}
	return used, nil
}
