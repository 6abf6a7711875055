// Package machinehealthcheck is the MachineHealthCheck controller of the core
// provider. It checks the Machines of a Cluster that its selector matches
// against their Nodes (a Node that never came, went away, or held an
// unhealthy condition for its timeout) and against their own conditions, and
// reports the verdict on each Machine as HealthCheckSucceeded. When few enough
// Machines are unhealthy (spec.remediation.triggerIf), it marks the unhealthy
// ones OwnerRemediated=False, and their owner (a MachineSet, a control plane)
// replaces them. The controller itself deletes nothing.
package machinehealthcheck

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/patch"
	"github.com/podcluster/podcluster/internal/phase"
	"github.com/podcluster/podcluster/internal/remote"
	"github.com/podcluster/podcluster/internal/util"
)

// Requeue intervals.
const (
	// waitForWorkloadCluster is how soon a MachineHealthCheck looks again at a
	// workload cluster that is not reachable yet.
	waitForWorkloadCluster = 10 * time.Second
	// nodeEventDelay batches Node events: a burst of Node changes in one
	// cluster becomes one reconcile of each of its MachineHealthChecks.
	nodeEventDelay = time.Second
)

// Reconciler reconciles MachineHealthChecks.
type Reconciler struct {
	Client client.Client
	// APIReader reads remediation templates uncached.
	APIReader    client.Reader
	ClusterCache *remote.ClusterCache
	// WatchFilter, when set, limits the controller to objects labelled
	// cluster.x-k8s.io/watch-filter=<WatchFilter>.
	WatchFilter string

	nodeEvents chan event.GenericEvent
}

// +kubebuilder:rbac:groups=cluster.x-k8s.io,resources=machinehealthchecks,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=cluster.x-k8s.io,resources=machinehealthchecks/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=cluster.x-k8s.io,resources=machines;clusters,verbs=get;list;watch
// +kubebuilder:rbac:groups=cluster.x-k8s.io,resources=machines/status,verbs=get;update;patch

// External remediation templates and requests are of kinds this provider does
// not know. Like upstream, their provider grants access to them by shipping a
// ClusterRole labelled cluster.x-k8s.io/aggregate-to-manager: "true" (see
// docs/decisions.md).

// SetupWithManager registers the controller.
func (r *Reconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, options controller.Options) error {
	r.nodeEvents = make(chan event.GenericEvent, 1024)
	filter := util.WatchFilterPredicate(r.WatchFilter)
	err := ctrl.NewControllerManagedBy(mgr).
		For(&clusterv1.MachineHealthCheck{}, builder.WithPredicates(filter)).
		Watches(&clusterv1.Machine{}, handler.EnqueueRequestsFromMapFunc(r.machineToMachineHealthChecks), builder.WithPredicates(filter)).
		Watches(&clusterv1.Cluster{}, handler.EnqueueRequestsFromMapFunc(r.clusterToMachineHealthChecks), builder.WithPredicates(filter)).
		WatchesRawSource(source.Channel(r.nodeEvents, util.EnqueueAfter(nodeEventDelay, func(_ context.Context, o client.Object) []reconcile.Request {
			return []reconcile.Request{{NamespacedName: client.ObjectKeyFromObject(o)}}
		}))).
		WithOptions(options).
		Named("machinehealthcheck").
		Complete(r)
	if err != nil {
		return err
	}
	r.ClusterCache.AddNodeHandler(r.nodeToMachineHealthChecks(ctx))
	return nil
}

// Reconcile checks the Machines of one MachineHealthCheck.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	mhc := &clusterv1.MachineHealthCheck{}
	if err := r.Client.Get(ctx, req.NamespacedName, mhc); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	// No finalizer: a MachineHealthCheck owns nothing that needs cleaning up,
	// and the conditions it left on Machines stay true until their owner acts.
	cluster, err := util.GetCluster(ctx, r.Client, mhc.Namespace, mhc.Spec.ClusterName)
	switch {
	case apierrors.IsNotFound(err):
		return ctrl.Result{}, nil // the Cluster's creation requeues it
	case err != nil:
		return ctrl.Result{}, err
	}
	s := &scope{mhc: mhc, cluster: cluster, now: time.Now()}

	helper, err := patch.NewHelper(mhc, r.Client)
	if err != nil {
		return ctrl.Result{}, err
	}
	defer helper.PatchWithStatus(ctx, mhc, func() { setStatus(s) }, &retErr)

	if s.paused = util.IsPaused(cluster, mhc); s.paused {
		return ctrl.Result{}, nil
	}
	if !mhc.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	util.SetLabel(mhc, clusterv1.ClusterNameLabel, mhc.Spec.ClusterName)
	util.EnsureOwnerRef(mhc, util.OwnerRef(cluster, clusterv1.GroupVersion.WithKind("Cluster"), false))

	// Dependent steps: the Machines, their Nodes, the verdicts, then the marks.
	res, err = phase.Sequence(ctx, s,
		r.getTargets,
		r.getNodes,
		r.markMachines,
	)
	if err != nil || res.RequeueAfter > 0 {
		return res, err
	}
	return ctrl.Result{RequeueAfter: s.requeueAfter}, nil
}

// machineToMachineHealthChecks requeues the MachineHealthChecks of a Machine's Cluster.
func (r *Reconciler) machineToMachineHealthChecks(ctx context.Context, o client.Object) []reconcile.Request {
	m, ok := o.(*clusterv1.Machine)
	if !ok {
		return nil
	}
	return r.requestsForCluster(ctx, m.Namespace, m.Spec.ClusterName)
}

// clusterToMachineHealthChecks requeues the MachineHealthChecks of a Cluster,
// so that they follow its pause and its readiness.
func (r *Reconciler) clusterToMachineHealthChecks(ctx context.Context, o client.Object) []reconcile.Request {
	return r.requestsForCluster(ctx, o.GetNamespace(), o.GetName())
}

// requestsForCluster lists by spec.clusterName, not by label: a new
// MachineHealthCheck has no label until its first reconcile.
func (r *Reconciler) requestsForCluster(ctx context.Context, ns, clusterName string) []reconcile.Request {
	list := &clusterv1.MachineHealthCheckList{}
	if err := r.Client.List(ctx, list, client.InNamespace(ns)); err != nil {
		return nil
	}
	var reqs []reconcile.Request
	for i := range list.Items {
		if list.Items[i].Spec.ClusterName == clusterName {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
	}
	return reqs
}

// nodeToMachineHealthChecks turns a workload Node event into a requeue of the
// MachineHealthChecks of that cluster: a Node turning unhealthy starts a
// timeout, and one turning healthy again ends it.
func (r *Reconciler) nodeToMachineHealthChecks(ctx context.Context) remote.NodeHandler {
	return func(cluster client.ObjectKey, _ *corev1.Node) {
		for _, req := range r.requestsForCluster(ctx, cluster.Namespace, cluster.Name) {
			mhc := &clusterv1.MachineHealthCheck{}
			mhc.Namespace, mhc.Name = req.Namespace, req.Name
			select {
			case r.nodeEvents <- event.GenericEvent{Object: mhc}:
			case <-ctx.Done():
				return
			}
		}
	}
}
