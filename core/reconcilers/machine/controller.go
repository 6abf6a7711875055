// Package machine is the Machine controller of the core provider. A Machine
// ties a bootstrap config and an infrastructure machine to a Node of the
// workload cluster. The controller owns the two provider objects, copies the
// bootstrap data Secret name and the providerID into the Machine, finds the
// Node by providerID, keeps Node labels, annotations and taints in sync, and
// reports phase and conditions. On deletion it runs the pre-drain hooks,
// cordons and drains the Node through the eviction API, runs the
// pre-terminate hooks, deletes the provider objects and the Node, and only
// then lets the Machine go.
package machine

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/contract"
	"github.com/podcluster/podcluster/internal/external"
	"github.com/podcluster/podcluster/internal/patch"
	"github.com/podcluster/podcluster/internal/phase"
	"github.com/podcluster/podcluster/internal/remote"
	"github.com/podcluster/podcluster/internal/util"
)

// Requeue intervals.
const (
	// waitForWorkloadCluster is how soon a Machine looks again for a workload
	// cluster that is not reachable yet.
	waitForWorkloadCluster = 10 * time.Second
	// statusSettle is how long a minor status change (a condition's reason
	// or message while its truth stays) must last before it is written:
	// provisioning steps that pass faster are never written on their own.
	statusSettle = 5 * time.Second
	// drainRetry is how soon a drain blocked by a PodDisruptionBudget retries.
	drainRetry = 5 * time.Second
	// defaultNodeDeletionTimeout bounds retries of the Node's deletion.
	defaultNodeDeletionTimeout = 10 * time.Second
	// unreachableDrainTimeout is how long deletion waits for an unreachable
	// workload cluster before skipping the drain when no drain timeout is set.
	unreachableDrainTimeout = 5 * time.Minute
)

// Reconciler reconciles Machines.
type Reconciler struct {
	Client       client.Client
	APIReader    client.Reader
	ClusterCache *remote.ClusterCache
	Resolver     *contract.Resolver
	// WatchFilter, when set, limits the controller to objects labelled
	// cluster.x-k8s.io/watch-filter=<WatchFilter>.
	WatchFilter string

	external   *external.Tracker
	nodeEvents chan event.GenericEvent
	settler    *patch.Settler
}

// providerIDField indexes Machines in the cache by spec.providerID, so that
// a Node event finds its Machine without listing every Machine of the cluster.
const providerIDField = "machine.spec.providerID"

// SetupWithManager registers the controller.
func (r *Reconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, options controller.Options) error {
	r.nodeEvents = make(chan event.GenericEvent, 1024)
	// Addresses arrive from the infrastructure machine while it provisions;
	// a Machine whose steps on its way (Pending, Provisioning, Provisioned)
	// come within statusSettle of each other writes its status once, where
	// it arrived, rather than at each step; one that stops at a step for
	// statusSettle writes where it stopped, and one that keeps moving
	// writes its progress at least once per patch.ProgressMaxHold. Readers
	// that must know at once whether the infrastructure provisioned use
	// spec.providerID as well (util.InfrastructureProvisioned).
	r.settler = &patch.Settler{Period: statusSettle, Minor: []string{"addresses"}, HoldOnItsWay: true, MaxHold: patch.ProgressMaxHold}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &clusterv1.Machine{}, providerIDField, indexProviderID); err != nil {
		return fmt.Errorf("indexing Machines by providerID: %w", err)
	}
	filter := util.WatchFilterPredicate(r.WatchFilter)
	c, err := ctrl.NewControllerManagedBy(mgr).
		For(&clusterv1.Machine{}, builder.WithPredicates(filter)).
		Watches(&clusterv1.Cluster{}, handler.EnqueueRequestsFromMapFunc(r.clusterToMachines), builder.WithPredicates(filter, predicate.GenerationChangedPredicate{})).
		Watches(&clusterv1.MachineDeployment{}, handler.EnqueueRequestsFromMapFunc(r.machineDeploymentToMachines), builder.WithPredicates(filter, predicate.GenerationChangedPredicate{})).
		WatchesRawSource(source.Channel(r.nodeEvents, &handler.EnqueueRequestForObject{})).
		WithOptions(options).
		Named("machine").
		Build(r)
	if err != nil {
		return err
	}
	r.external = &external.Tracker{
		Controller: c,
		Cache:      mgr.GetCache(),
		Handler:    handler.EnqueueRequestForOwner(mgr.GetScheme(), mgr.GetRESTMapper(), &clusterv1.Machine{}, handler.OnlyControllerOwner()),
	}
	r.ClusterCache.AddNodeHandler(r.nodeToMachines(ctx))
	r.ClusterCache.AddDisconnectHandler(r.clusterLostToMachines(ctx))
	return nil
}

// clusterLostToMachines requeues every Machine of a workload cluster whose
// connection was dropped, so that their NodeHealthy says the cluster cannot
// be reached rather than what it last said.
func (r *Reconciler) clusterLostToMachines(ctx context.Context) remote.DisconnectHandler {
	return func(cluster client.ObjectKey) {
		list := &clusterv1.MachineList{}
		if err := r.Client.List(ctx, list, client.InNamespace(cluster.Namespace),
			client.MatchingLabels{clusterv1.ClusterNameLabel: cluster.Name}); err != nil {
			return
		}
		for i := range list.Items {
			select {
			case r.nodeEvents <- event.GenericEvent{Object: &list.Items[i]}:
			case <-ctx.Done():
				return
			}
		}
	}
}

// Reconcile brings one Machine closer to its desired state.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	m := &clusterv1.Machine{}
	if err := r.Client.Get(ctx, req.NamespacedName, m); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	s := &scope{machine: m, now: time.Now()}
	cluster, err := util.GetCluster(ctx, r.Client, m.Namespace, m.Spec.ClusterName)
	switch {
	case apierrors.IsNotFound(err):
		if m.DeletionTimestamp.IsZero() {
			// A Machine without its Cluster waits; the Cluster's creation requeues it.
			return ctrl.Result{}, nil
		}
	case err != nil:
		return ctrl.Result{}, err
	default:
		s.cluster = cluster
	}

	helper, err := patch.NewHelper(m, r.Client)
	if err != nil {
		return ctrl.Result{}, err
	}
	helper.Settle(r.settler)
	// Deferred calls run last-in first-out: the status (which may ask for a
	// requeue through s.requeueAfter, for example to time out a drain, or
	// hold a minor change back) is computed and patched first, then its
	// requeue joins the result.
	defer func() {
		if retErr == nil {
			res = phase.Soonest(phase.Soonest(res, ctrl.Result{RequeueAfter: s.requeueAfter}), ctrl.Result{RequeueAfter: helper.HeldFor()})
		}
	}()
	defer helper.PatchWithStatus(ctx, m, func() { setStatus(s) }, &retErr)

	if s.paused = util.IsPaused(cluster, m); s.paused {
		return ctrl.Result{}, nil
	}
	if !m.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, s)
	}
	if controllerutil.AddFinalizer(m, clusterv1.MachineFinalizer) {
		// Patched together with everything else this reconcile changes.
		ctrl.LoggerFrom(ctx).V(1).Info("Adding finalizer")
	}
	// The label is how the Cluster controller lists a cluster's Machines.
	util.SetLabel(m, clusterv1.ClusterNameLabel, m.Spec.ClusterName)
	// A stand-alone Machine gets its Cluster as a plain owner, so that it is
	// garbage collected with it; an owned Machine has its controller already.
	if util.ControllerOf(m) == nil && cluster != nil {
		util.EnsureOwnerRef(m, util.OwnerRef(cluster, clusterv1.GroupVersion.WithKind("Cluster"), false))
	}

	// Independent observations: run them all, then aggregate errors.
	s.observed = true
	return phase.All(ctx, s,
		r.reconcileBootstrap,
		r.reconcileInfrastructure,
		r.reconcileNode,
	)
}

// clusterToMachines requeues every Machine of a Cluster.
func (r *Reconciler) clusterToMachines(ctx context.Context, o client.Object) []reconcile.Request {
	return r.machinesWithLabel(ctx, o.GetNamespace(), clusterv1.ClusterNameLabel, o.GetName())
}

// machineDeploymentToMachines requeues the Machines of a MachineDeployment whose
// template changed, so their UpToDate condition follows.
func (r *Reconciler) machineDeploymentToMachines(ctx context.Context, o client.Object) []reconcile.Request {
	return r.machinesWithLabel(ctx, o.GetNamespace(), clusterv1.MachineDeploymentNameLabel, util.LabelValue(o.GetName()))
}

func (r *Reconciler) machinesWithLabel(ctx context.Context, ns, key, value string) []reconcile.Request {
	return util.RequestsForLabel(ctx, r.Client, func() client.ObjectList { return &clusterv1.MachineList{} }, ns, key, value)
}

func indexProviderID(o client.Object) []string {
	m, ok := o.(*clusterv1.Machine)
	if !ok || m.Spec.ProviderID == "" {
		return nil
	}
	return []string{m.Spec.ProviderID}
}

// nodeToMachines turns a workload Node event into a requeue of the Machine
// whose providerID matches. The lookup is by index: every Node heartbeat
// comes through here, and a list of the cluster's Machines per heartbeat
// grows with the square of the cluster's size.
func (r *Reconciler) nodeToMachines(ctx context.Context) remote.NodeHandler {
	return func(cluster client.ObjectKey, node *corev1.Node) {
		if node.Spec.ProviderID == "" {
			return
		}
		list := &clusterv1.MachineList{}
		if err := r.Client.List(ctx, list, client.InNamespace(cluster.Namespace),
			client.MatchingFields{providerIDField: node.Spec.ProviderID}); err != nil {
			return
		}
		for i := range list.Items {
			if list.Items[i].Spec.ClusterName != cluster.Name {
				continue
			}
			select {
			case r.nodeEvents <- event.GenericEvent{Object: &list.Items[i]}:
			case <-ctx.Done():
			}
			return
		}
	}
}

// getExternal reads a provider object and starts watching its kind.
func (r *Reconciler) getExternal(ctx context.Context, ref clusterv1.ContractVersionedObjectReference, ns string) (*unstructured.Unstructured, error) {
	return r.external.Get(ctx, r.Resolver, r.Client, ref, ns)
}

var errNotConnected = remote.ErrClusterNotConnected

func isNotConnected(err error) bool { return errors.Is(err, errNotConnected) }
