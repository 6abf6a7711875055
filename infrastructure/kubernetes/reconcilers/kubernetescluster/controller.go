// Package kubernetescluster is the KubernetesCluster controller of the
// infrastructure provider. A KubernetesCluster is the management-cluster side of
// one workload cluster: the Service "<cluster>-apiserver" in front of the
// control-plane node Pods, and the zones its node Pods may be spread over.
//
// The Service selects the cluster's control-plane node Pods (labels
// cluster.x-k8s.io/cluster-name and cluster.x-k8s.io/control-plane) and targets
// their named API-server port. It sets publishNotReadyAddresses: a control-plane
// node Pod only becomes Ready after its bootstrap finished (its readiness probe
// runs after the startup probe, which waits for the bootstrap sentinel), but
// kubeadm init and join, and the kubelet they start, talk to the control-plane
// endpoint during bootstrap. Without it the first control plane could never
// reach itself through the endpoint and would never become Ready.
//
// controlPlaneEndpoint comes from the Service: the cluster IP (ClusterIP), the
// first load-balancer ingress, hostname or IP (LoadBalancer), or a management
// Node's address and the node port (NodePort). Once set it never changes, so
// the controller keeps the Service in line with it: it repairs out-of-band
// changes to the fields it owns, re-creates a deleted Service asking for the
// same cluster IP or node port, and reports in the ServiceReady condition when
// the Service no longer provides the endpoint (a lost load-balancer address, a
// re-created Service with another address, a NodePort endpoint whose Node is
// gone). A user may pre-set the endpoint; one whose host is a DNS name is not
// compared with the Service, one whose host is an IP address must be the
// Service's.
//
// Failure domains are the zones (topology.kubernetes.io/zone) of the management
// cluster's Nodes. Deleting a KubernetesCluster deletes the Service and waits
// until it is gone.
package kubernetescluster

import (
	"context"
	"reflect"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
	"github.com/podcluster/podcluster/internal/patch"
	"github.com/podcluster/podcluster/internal/phase"
	"github.com/podcluster/podcluster/internal/util"
)

// Requeue intervals.
const (
	// nodeBatchDelay merges bursts of management Node events into one reconcile
	// of each KubernetesCluster.
	nodeBatchDelay = time.Second
	// waitForCache is how soon a Service that exists but is not in the cache
	// yet is looked at again (its creation event usually comes first).
	waitForCache = 2 * time.Second
	// waitForForeignService is how soon a Service name held by an object that
	// is not ours is looked at again: deleting it is not an event we watch.
	waitForForeignService = time.Minute
)

// Reconciler reconciles KubernetesClusters.
type Reconciler struct {
	Client client.Client
	// WatchFilter, when set, limits the controller to objects labelled
	// cluster.x-k8s.io/watch-filter=<WatchFilter>.
	WatchFilter string
}

// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=kubernetesclusters,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=kubernetesclusters/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=kubernetesclusters/finalizers,verbs=update
// +kubebuilder:rbac:groups=cluster.x-k8s.io,resources=clusters,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;update;delete
// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list;watch

// SetupWithManager registers the controller.
func (r *Reconciler) SetupWithManager(_ context.Context, mgr ctrl.Manager, options controller.Options) error {
	filter := util.WatchFilterPredicate(r.WatchFilter)
	return ctrl.NewControllerManagedBy(mgr).
		For(&infrav1.KubernetesCluster{}, builder.WithPredicates(filter)).
		Owns(&corev1.Service{}).
		Watches(&clusterv1.Cluster{}, handler.EnqueueRequestsFromMapFunc(clusterToKubernetesCluster),
			builder.WithPredicates(filter, predicate.GenerationChangedPredicate{})).
		Watches(&corev1.Node{}, util.EnqueueAfter(nodeBatchDelay, r.nodeToKubernetesClusters),
			builder.WithPredicates(nodeChangedPredicate())).
		WithOptions(options).
		Named("kubernetescluster").
		Complete(r)
}

// Reconcile brings one KubernetesCluster closer to its desired state.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	kc := &infrav1.KubernetesCluster{}
	if err := r.Client.Get(ctx, req.NamespacedName, kc); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	// Events of owned Services reach us whatever the filter: check it here.
	if r.WatchFilter != "" && kc.Labels[clusterv1.WatchLabel] != r.WatchFilter {
		return ctrl.Result{}, nil
	}
	deleting := !kc.DeletionTimestamp.IsZero()
	if _, managed := kc.Annotations[clusterv1.ManagedByAnnotation]; managed &&
		(!deleting || !controllerutil.ContainsFinalizer(kc, infrav1.ClusterFinalizer)) {
		// Someone else provides this cluster's infrastructure.
		return ctrl.Result{}, nil
	}

	s := &scope{kc: kc}
	owner := clusterOwner(kc)
	if owner == "" && !deleting {
		// The Cluster adopting us is an event.
		return ctrl.Result{}, nil
	}
	s.clusterName = owner
	if owner != "" {
		cluster, err := util.GetCluster(ctx, r.Client, kc.Namespace, owner)
		switch {
		case apierrors.IsNotFound(err):
			if !deleting {
				return ctrl.Result{}, nil // the Cluster's creation is an event
			}
		case err != nil:
			return ctrl.Result{}, err
		default:
			s.cluster = cluster
		}
	}

	helper, err := patch.NewHelper(kc, r.Client)
	if err != nil {
		return ctrl.Result{}, err
	}
	defer helper.PatchWithStatus(ctx, kc, func() { setStatus(s) }, &retErr)

	if s.paused = util.IsPaused(s.cluster, kc); s.paused {
		return ctrl.Result{}, nil
	}
	if deleting {
		return r.reconcileDelete(ctx, s)
	}
	if controllerutil.AddFinalizer(kc, infrav1.ClusterFinalizer) {
		ctrl.LoggerFrom(ctx).V(1).Info("Adding finalizer")
	}
	util.SetLabel(kc, clusterv1.ClusterNameLabel, s.clusterName)

	// The Nodes feed both the failure domains and a NodePort endpoint; the
	// endpoint depends on the Service.
	s.observed = true
	if err := r.reconcileNodes(ctx, s); err != nil {
		return ctrl.Result{}, err
	}
	return phase.Sequence(ctx, s,
		r.reconcileService,
		r.reconcileEndpoint,
	)
}

// clusterOwner returns the name of the Cluster that owns kc, or "".
func clusterOwner(kc *infrav1.KubernetesCluster) string {
	for _, ref := range kc.OwnerReferences {
		if ref.Kind == "Cluster" && groupOf(ref.APIVersion) == clusterv1.GroupVersion.Group {
			return ref.Name
		}
	}
	return ""
}

func groupOf(apiVersion string) string {
	group, _, found := strings.Cut(apiVersion, "/")
	if !found {
		return ""
	}
	return group
}

// clusterToKubernetesCluster requeues a Cluster's KubernetesCluster, for
// example when its apiServerPort or paused changes.
func clusterToKubernetesCluster(_ context.Context, o client.Object) []reconcile.Request {
	c, ok := o.(*clusterv1.Cluster)
	if !ok {
		return nil
	}
	ref := c.Spec.InfrastructureRef
	if ref.Kind != "KubernetesCluster" || ref.APIGroup != infrav1.GroupVersion.Group {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: c.Namespace, Name: ref.Name}}}
}

// nodeToKubernetesClusters requeues every KubernetesCluster: a management
// Node's zone or addresses feed their failure domains and NodePort endpoints.
func (r *Reconciler) nodeToKubernetesClusters(ctx context.Context, _ client.Object) []reconcile.Request {
	list := &infrav1.KubernetesClusterList{}
	var opts []client.ListOption
	if r.WatchFilter != "" {
		opts = append(opts, client.MatchingLabels{clusterv1.WatchLabel: r.WatchFilter})
	}
	if err := r.Client.List(ctx, list, opts...); err != nil {
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return reqs
}

// nodeChangedPredicate passes Node creations and deletions, and updates that
// change what a KubernetesCluster reads: the zone label, the addresses or
// readiness. Status heartbeats pass nothing.
func nodeChangedPredicate() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			oldNode, ok1 := e.ObjectOld.(*corev1.Node)
			newNode, ok2 := e.ObjectNew.(*corev1.Node)
			if !ok1 || !ok2 {
				return true
			}
			return oldNode.Labels[corev1.LabelTopologyZone] != newNode.Labels[corev1.LabelTopologyZone] ||
				!reflect.DeepEqual(oldNode.Status.Addresses, newNode.Status.Addresses) ||
				nodeReady(oldNode) != nodeReady(newNode)
		},
	}
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
