// Package cluster is the Cluster controller of the core provider. It owns the
// Cluster's infrastructure and control-plane objects, copies the API endpoint
// and failure domains from the infrastructure, tracks control-plane
// initialization (itself when there is no control-plane provider: the first
// control-plane Machine with a Node), writes "<cluster>-kubeconfig" when no
// control-plane provider does, aggregates replica counts, and deletes a
// cluster in order: workers first, then the control plane, then the
// infrastructure.
package cluster

import (
	"context"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/contract"
	"github.com/podcluster/podcluster/internal/external"
	"github.com/podcluster/podcluster/internal/patch"
	"github.com/podcluster/podcluster/internal/phase"
	"github.com/podcluster/podcluster/internal/remote"
	"github.com/podcluster/podcluster/internal/util"
)

// waitForCA is how soon the controller looks again for the cluster CA Secret
// it needs to write the kubeconfig.
const waitForCA = 5 * time.Second

// statusBatchDelay merges bursts of child events into one reconcile.
const statusBatchDelay = time.Second

// Reconciler reconciles Clusters.
type Reconciler struct {
	Client       client.Client
	Resolver     *contract.Resolver
	ClusterCache *remote.ClusterCache
	WatchFilter  string

	external *external.Tracker
	settler  *patch.Settler
}

// counterSettle is how long a change of the control-plane and worker
// counters alone is held back (see machinedeployment's counterSettle): a
// change of phase, of a condition's truth or of initialization goes at once.
const counterSettle = 5 * time.Second

// SetupWithManager registers the controller.
func (r *Reconciler) SetupWithManager(_ context.Context, mgr ctrl.Manager, options controller.Options) error {
	r.settler = &patch.Settler{Period: counterSettle, Minor: []string{"controlPlane", "workers"}}
	filter := util.WatchFilterPredicate(r.WatchFilter)
	// Children change in bursts; their counts reach the Cluster once per
	// second. The Cluster's own status writes must not wake it: each would
	// start the next reconcile at once and undo the batching.
	toCluster := util.EnqueueAfter(statusBatchDelay, objectToCluster)
	c, err := ctrl.NewControllerManagedBy(mgr).
		For(&clusterv1.Cluster{}, builder.WithPredicates(filter, util.NotOnlyStatusChanged())).
		Watches(&clusterv1.Machine{}, toCluster, builder.WithPredicates(filter)).
		Watches(&clusterv1.MachineSet{}, toCluster, builder.WithPredicates(filter)).
		Watches(&clusterv1.MachineDeployment{}, toCluster, builder.WithPredicates(filter)).
		WithOptions(options).
		Named("cluster").
		Build(r)
	if err != nil {
		return err
	}
	r.external = &external.Tracker{
		Controller: c,
		Cache:      mgr.GetCache(),
		Handler:    handler.EnqueueRequestForOwner(mgr.GetScheme(), mgr.GetRESTMapper(), &clusterv1.Cluster{}, handler.OnlyControllerOwner()),
	}
	return nil
}

// objectToCluster requeues the Cluster named by an object's cluster-name label.
func objectToCluster(_ context.Context, o client.Object) []reconcile.Request {
	name, ok := o.GetLabels()[clusterv1.ClusterNameLabel]
	if !ok {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: o.GetNamespace(), Name: name}}}
}

// scope carries what one reconcile observed. setStatus reads only this, so
// the status is a pure function of one reconcile's observations.
type scope struct {
	cluster *clusterv1.Cluster
	now     time.Time
	paused  bool

	// Set by reconcileInfrastructure.
	infra        *unstructured.Unstructured
	infraMissing bool
	// Set by reconcileControlPlane.
	controlPlane        *unstructured.Unstructured
	controlPlaneMissing bool
	// Set by getDescendants.
	machineDeployments []*clusterv1.MachineDeployment
	machineSets        []*clusterv1.MachineSet
	machines           []*clusterv1.Machine
	// kubeconfigMessage explains why the kubeconfig is not written yet, set
	// by reconcileKubeconfig.
	kubeconfigMessage string
	// deletingReason and deletingMessage say which deletion step waits and
	// for what, set by reconcileDelete.
	deletingReason, deletingMessage string
}

// Reconcile brings one Cluster closer to its desired state.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	cluster := &clusterv1.Cluster{}
	if err := r.Client.Get(ctx, req.NamespacedName, cluster); err != nil {
		if apierrors.IsNotFound(err) {
			// Also reached when the Cluster went without our reconcileDelete
			// (its finalizer removed by hand): no connection may linger.
			r.ClusterCache.Drop(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	s := &scope{cluster: cluster, now: time.Now()}
	helper, err := patch.NewHelper(cluster, r.Client)
	if err != nil {
		return ctrl.Result{}, err
	}
	// Listed before the status is deferred: replica counts and deletion read
	// them, and a failed list must leave the last counts, not patch zeros.
	if err := r.getDescendants(ctx, s); err != nil {
		return ctrl.Result{}, err
	}
	helper.Settle(r.settler)
	// Deferred calls run last-in first-out: the status is patched first,
	// then a held-back status asks for its requeue.
	defer func() {
		if retErr == nil {
			res = phase.Soonest(res, ctrl.Result{RequeueAfter: helper.HeldFor()})
		}
	}()
	defer helper.PatchWithStatus(ctx, cluster, func() { setStatus(s) }, &retErr)

	if s.paused = util.IsPaused(cluster, cluster); s.paused {
		return ctrl.Result{}, nil
	}
	if !cluster.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, s)
	}
	// Persisted by the deferred patch; from then on a deletion waits for
	// reconcileDelete's ordered teardown.
	controllerutil.AddFinalizer(cluster, clusterv1.ClusterFinalizer)

	// Independent: a missing control plane must not hide what the
	// infrastructure reports, and the reverse.
	return phase.All(ctx, s,
		r.reconcileInfrastructure,
		r.reconcileControlPlane,
		r.reconcileKubeconfig,
	)
}

// getDescendants lists the cluster's MachineDeployments, MachineSets and
// Machines by the cluster-name label, from the cache: every controller of
// the core provider sets that label on what it creates.
func (r *Reconciler) getDescendants(ctx context.Context, s *scope) error {
	c := s.cluster
	sel := []client.ListOption{client.InNamespace(c.Namespace), client.MatchingLabels{clusterv1.ClusterNameLabel: c.Name}}
	mds := &clusterv1.MachineDeploymentList{}
	if err := r.Client.List(ctx, mds, sel...); err != nil {
		return err
	}
	for i := range mds.Items {
		s.machineDeployments = append(s.machineDeployments, &mds.Items[i])
	}
	mss := &clusterv1.MachineSetList{}
	if err := r.Client.List(ctx, mss, sel...); err != nil {
		return err
	}
	for i := range mss.Items {
		s.machineSets = append(s.machineSets, &mss.Items[i])
	}
	ms := &clusterv1.MachineList{}
	if err := r.Client.List(ctx, ms, sel...); err != nil {
		return err
	}
	for i := range ms.Items {
		s.machines = append(s.machines, &ms.Items[i])
	}
	return nil
}

// getExternal reads a provider object and starts watching its kind: the
// kinds are known only from the references, not when the controller starts.
func (r *Reconciler) getExternal(ctx context.Context, ref clusterv1.ContractVersionedObjectReference, ns string) (*unstructured.Unstructured, error) {
	return r.external.Get(ctx, r.Resolver, r.Client, ref, ns)
}
