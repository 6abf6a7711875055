// Package clusterresourceset is the ClusterResourceSet controller of the core
// provider. A ClusterResourceSet names Secrets and ConfigMaps whose data holds
// Kubernetes manifests; the controller applies them to every Cluster of its
// namespace that the set's selector matches, once the Cluster's control plane
// is initialized, and records what it applied in the Cluster's
// ClusterResourceSetBinding (named after the Cluster, deleted with it).
//
// With the ApplyOnce strategy a resource is applied once per Cluster: objects
// are created, and one that already exists counts as applied. With Reconcile
// it is applied again, by server-side apply, whenever the hash of its data
// changes. Objects are never deleted from the workload cluster, neither when
// a resource changes nor when the set or its binding goes.
package clusterresourceset

import (
	"cmp"
	"context"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	addonsv1 "github.com/podcluster/podcluster/api/addons/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/patch"
	"github.com/podcluster/podcluster/internal/phase"
	"github.com/podcluster/podcluster/internal/remote"
	"github.com/podcluster/podcluster/internal/util"
)

// Requeue intervals.
const (
	// waitForWorkloadCluster is how soon a set tries again a Cluster whose
	// API server cannot be reached yet.
	waitForWorkloadCluster = 10 * time.Second
	// retryApply is how soon a failed apply is tried again.
	retryApply = 5 * time.Second
)

// Reconciler reconciles ClusterResourceSets.
type Reconciler struct {
	Client       client.Client
	ClusterCache *remote.ClusterCache
	// WatchFilter, when set, limits the controller to objects labelled
	// cluster.x-k8s.io/watch-filter=<WatchFilter>.
	WatchFilter string
}

// +kubebuilder:rbac:groups=addons.cluster.x-k8s.io,resources=clusterresourcesets,verbs=get;list;watch;patch;update
// +kubebuilder:rbac:groups=addons.cluster.x-k8s.io,resources=clusterresourcesets/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=addons.cluster.x-k8s.io,resources=clusterresourcesetbindings,verbs=get;list;watch;create;patch;update;delete
// +kubebuilder:rbac:groups=cluster.x-k8s.io,resources=clusters,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets;configmaps,verbs=get;list;watch

// SetupWithManager registers the controller.
func (r *Reconciler) SetupWithManager(_ context.Context, mgr ctrl.Manager, options controller.Options) error {
	filter := util.WatchFilterPredicate(r.WatchFilter)
	return ctrl.NewControllerManagedBy(mgr).
		For(&addonsv1.ClusterResourceSet{}, builder.WithPredicates(filter)).
		Watches(&clusterv1.Cluster{}, handler.EnqueueRequestsFromMapFunc(r.clusterToSets),
			builder.WithPredicates(filter, clusterChanged())).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.resourceToSets(addonsv1.SecretKind))).
		Watches(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(r.resourceToSets(addonsv1.ConfigMapKind))).
		WithOptions(options).
		Named("clusterresourceset").
		Complete(r)
}

// Reconcile applies one ClusterResourceSet to its Clusters.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	set := &addonsv1.ClusterResourceSet{}
	if err := r.Client.Get(ctx, req.NamespacedName, set); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	s := &scope{set: set}
	helper, err := patch.NewHelper(set, r.Client)
	if err != nil {
		return ctrl.Result{}, err
	}
	defer helper.PatchWithStatus(ctx, set, func() { setStatus(s) }, &retErr)

	if !set.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.reconcileDelete(ctx, s)
	}
	if s.paused = util.IsPaused(nil, set); s.paused {
		return ctrl.Result{}, nil
	}
	controllerutil.AddFinalizer(set, addonsv1.ClusterResourceSetFinalizer)

	clusters, err := r.matchingClusters(ctx, set)
	if err != nil {
		s.internalError = err
		return ctrl.Result{}, err
	}
	for i := range clusters {
		cluster := &clusters[i]
		if !cluster.DeletionTimestamp.IsZero() || !util.ControlPlaneInitialized(cluster) {
			// Its Cluster watch brings the set back once it is initialized.
			continue
		}
		result := r.applyToCluster(ctx, s, cluster)
		s.results = append(s.results, result)
		switch {
		case result.unreachable:
			res = phase.Soonest(res, ctrl.Result{RequeueAfter: waitForWorkloadCluster})
		case result.retry:
			res = phase.Soonest(res, ctrl.Result{RequeueAfter: retryApply})
		}
	}
	return res, nil
}

// matchingClusters lists the Clusters of the set's namespace that its
// selector matches, by name. An empty selector matches none, as upstream's.
func (r *Reconciler) matchingClusters(ctx context.Context, set *addonsv1.ClusterResourceSet) ([]clusterv1.Cluster, error) {
	selector, err := metav1.LabelSelectorAsSelector(&set.Spec.ClusterSelector)
	if err != nil || selector.Empty() {
		return nil, err
	}
	list := &clusterv1.ClusterList{}
	if err := r.Client.List(ctx, list, client.InNamespace(set.Namespace), client.MatchingLabelsSelector{Selector: selector}); err != nil {
		return nil, err
	}
	slices.SortFunc(list.Items, func(a, b clusterv1.Cluster) int { return cmp.Compare(a.Name, b.Name) })
	return list.Items, nil
}

// reconcileDelete takes the set out of every binding of its namespace; a
// binding left with no set is deleted. The applied objects stay in the
// workload clusters.
func (r *Reconciler) reconcileDelete(ctx context.Context, s *scope) error {
	list := &addonsv1.ClusterResourceSetBindingList{}
	if err := r.Client.List(ctx, list, client.InNamespace(s.set.Namespace)); err != nil {
		return err
	}
	for i := range list.Items {
		b := &list.Items[i]
		if b.Binding(s.set.Name) == nil && !util.HasOwner(b, "ClusterResourceSet", s.set.Name) {
			continue
		}
		before := b.DeepCopy()
		b.Spec.Bindings = slices.DeleteFunc(b.Spec.Bindings, func(e addonsv1.ResourceSetBinding) bool {
			return e.ClusterResourceSetName == s.set.Name
		})
		b.OwnerReferences = slices.DeleteFunc(b.OwnerReferences, func(o metav1.OwnerReference) bool {
			return o.Kind == "ClusterResourceSet" && o.Name == s.set.Name
		})
		var err error
		if len(b.Spec.Bindings) == 0 {
			err = client.IgnoreNotFound(r.Client.Delete(ctx, b))
		} else {
			err = client.IgnoreNotFound(r.Client.Patch(ctx, b, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})))
		}
		if err != nil {
			return err
		}
	}
	controllerutil.RemoveFinalizer(s.set, addonsv1.ClusterResourceSetFinalizer)
	return nil
}

// clusterToSets requeues the sets of a Cluster's namespace that select it.
func (r *Reconciler) clusterToSets(ctx context.Context, o client.Object) []reconcile.Request {
	sets := &addonsv1.ClusterResourceSetList{}
	if err := r.Client.List(ctx, sets, client.InNamespace(o.GetNamespace())); err != nil {
		return nil
	}
	var reqs []reconcile.Request
	for _, set := range sets.Items {
		selector, err := metav1.LabelSelectorAsSelector(&set.Spec.ClusterSelector)
		if err != nil || selector.Empty() || !selector.Matches(labels.Set(o.GetLabels())) {
			continue
		}
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&set)})
	}
	return reqs
}

// resourceToSets requeues the sets of a namespace that name a Secret or
// ConfigMap, so that a resource created late is applied, and a changed one is
// applied again under the Reconcile strategy.
func (r *Reconciler) resourceToSets(kind string) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		sets := &addonsv1.ClusterResourceSetList{}
		if err := r.Client.List(ctx, sets, client.InNamespace(o.GetNamespace())); err != nil {
			return nil
		}
		var reqs []reconcile.Request
		for _, set := range sets.Items {
			if slices.Contains(set.Spec.Resources, addonsv1.ResourceRef{Kind: kind, Name: o.GetName()}) {
				reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&set)})
			}
		}
		return reqs
	}
}

// clusterChanged lets through the Cluster events a set acts on: a new or
// deleted Cluster, a change of its labels, and its control plane becoming
// initialized. Every other status change of a Cluster is ignored.
func clusterChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			oldC, ok1 := e.ObjectOld.(*clusterv1.Cluster)
			newC, ok2 := e.ObjectNew.(*clusterv1.Cluster)
			if !ok1 || !ok2 {
				return false
			}
			return !labels.Equals(oldC.Labels, newC.Labels) || util.ControlPlaneInitialized(oldC) != util.ControlPlaneInitialized(newC)
		},
	}
}
