// Package machineset is the MachineSet controller of the core provider. It
// keeps spec.replicas Machines that match its template: it creates Machines
// together with their bootstrap and infrastructure objects cloned from
// templates, adopts orphans that match its selector, deletes surplus Machines
// in the configured order, replaces Machines a MachineHealthCheck marked for
// remediation, and propagates the template's labels, annotations and Node
// timeouts to its Machines in place.
//
// A set never holds more Machines than spec.replicas, whatever fails:
// Machines being deleted count until they are gone (see replicaChange), and
// a Machine whose clone the API server refused counts too: it waits for the
// clone, which is created again once the API server takes it
// (ensureProviderObjects). Each object is created complete, with its labels
// and owner: the Machine first, then its clones owned by it, one request per
// object and no adoption patch. Clones an older version left owned by the
// set alone are deleted by deleteOrphanedClones. A
// scale-up creates several Machines at once, in batches that grow from one
// (see slowStart).
package machineset

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/core/mdutil"
	"github.com/podcluster/podcluster/internal/contract"
	"github.com/podcluster/podcluster/internal/expectations"
	"github.com/podcluster/podcluster/internal/external"
	"github.com/podcluster/podcluster/internal/patch"
	"github.com/podcluster/podcluster/internal/phase"
	"github.com/podcluster/podcluster/internal/util"
)

// Reconciler reconciles MachineSets.
type Reconciler struct {
	Client      client.Client
	Resolver    *contract.Resolver
	WatchFilter string

	expectations *expectations.Expectations
	// apiReader reads around the cache, for what must not be missed.
	apiReader client.Reader
	// swept holds the keys of the sets deleteOrphanedClones has looked at
	// since the controller started.
	swept sync.Map
	// settler holds back rises of the counters, see counterSettle.
	settler *patch.Settler
}

// counterSettle is how long a rise of the replica counters alone is held
// back: while Machines come up in a burst, the set writes its counters once
// per counterSettle rather than once per Machine. A MachineDeployment's
// rollout decides on availableReplicas, and a value that lags behind a rise
// only makes it wait; a fall (a Machine lost or deleted), a phase, a
// condition's truth or a new observed generation is written at once.
const counterSettle = 2 * time.Second

// counterFields are the status fields whose rises counterSettle holds back.
var counterFields = []string{"replicas", "readyReplicas", "availableReplicas", "upToDateReplicas", "deprecated"}

// SetupWithManager registers the controller.
func (r *Reconciler) SetupWithManager(_ context.Context, mgr ctrl.Manager, options controller.Options) error {
	r.expectations = expectations.New()
	r.apiReader = mgr.GetAPIReader()
	r.settler = &patch.Settler{Period: counterSettle, MinorRises: counterFields}
	filter := util.WatchFilterPredicate(r.WatchFilter)
	return ctrl.NewControllerManagedBy(mgr).
		For(&clusterv1.MachineSet{}, builder.WithPredicates(filter)).
		Watches(&clusterv1.Machine{}, util.EnqueueUpdatesAfter(machineEventDelay, r.machineToMachineSets), builder.WithPredicates(filter)).
		Watches(&clusterv1.Cluster{}, handler.EnqueueRequestsFromMapFunc(util.ClusterToObjects(r.Client, func() client.ObjectList { return &clusterv1.MachineSetList{} })), builder.WithPredicates(filter, predicate.GenerationChangedPredicate{})).
		WithOptions(options).
		Named("machineset").
		Complete(r)
}

// Reconcile brings one MachineSet closer to its desired state.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	ms := &clusterv1.MachineSet{}
	if err := r.Client.Get(ctx, req.NamespacedName, ms); err != nil {
		if apierrors.IsNotFound(err) {
			r.expectations.Forget(req.String())
			r.swept.Delete(req.String())
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	s := &scope{ms: ms, key: req.String(), now: time.Now()}
	cluster, err := util.GetCluster(ctx, r.Client, ms.Namespace, ms.Spec.ClusterName)
	switch {
	case apierrors.IsNotFound(err):
		// Without its Cluster a set waits (the Cluster's creation requeues
		// it); a deleted set still cleans up.
		if ms.DeletionTimestamp.IsZero() {
			return ctrl.Result{}, nil
		}
	case err != nil:
		return ctrl.Result{}, err
	default:
		s.cluster = cluster
	}
	// replicas is defaulted before anything else reads it, and only once:
	// from then on it belongs to whoever scales (a user, a MachineDeployment,
	// or the autoscaler).
	if ms.Spec.Replicas == nil && ms.DeletionTimestamp.IsZero() && !util.IsPaused(cluster, ms) {
		if err := r.defaultReplicas(ctx, ms); apierrors.IsConflict(err) {
			// Someone wrote first, a scale most likely; the watch brings
			// their version.
			return ctrl.Result{}, nil
		} else if err != nil {
			return ctrl.Result{}, err
		}
	}

	helper, err := patch.NewHelper(ms, r.Client)
	if err != nil {
		return ctrl.Result{}, err
	}
	// Listed before the deferred status, so a failed list patches no zero
	// counters, and before the pause check, so a paused set still reports
	// the counters of the Machines it has.
	if err := r.getMachines(ctx, s); err != nil {
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
	defer helper.PatchWithStatus(ctx, ms, func() { setStatus(s) }, &retErr)
	if s.paused = util.IsPaused(cluster, ms); s.paused {
		return ctrl.Result{}, nil
	}
	if !ms.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, s)
	}
	controllerutil.AddFinalizer(ms, clusterv1.MachineSetFinalizer)
	util.SetLabel(ms, clusterv1.ClusterNameLabel, ms.Spec.ClusterName)
	// Only a stand-alone set gets the Cluster as owner; a deployment's set
	// has its MachineDeployment as controller.
	if util.ControllerOf(ms) == nil && cluster != nil {
		util.EnsureOwnerRef(ms, util.OwnerRef(cluster, clusterv1.GroupVersion.WithKind("Cluster"), false))
	}

	// The Cluster owns the templates, so that deleting it removes them.
	tmpl := ms.Spec.Template.Spec
	if err := external.EnsureClusterOwnsTemplates(ctx, r.Client, r.Resolver, cluster, ms.Namespace, tmpl.InfrastructureRef, tmpl.Bootstrap.ConfigRef); err != nil {
		return ctrl.Result{}, err
	}

	// Dependent steps: adopt, repair, remediate, then scale. Scaling counts
	// the Machines the earlier steps settled.
	res, err = phase.Sequence(ctx, s,
		r.adoptOrphans,
		r.deleteOrphanedClones,
		r.ensureProviderObjects,
		r.remediate,
		r.scale,
	)
	// In-place propagation is independent of scaling: it runs whatever
	// scaling met, and its failure does not stop a scale.
	_, syncErr := r.syncMachines(ctx, s)
	err = errors.Join(err, syncErr)
	// A phase's own requeue (the cache not caught up) comes first; the
	// clones window is a later, softer deadline.
	if err != nil || res.RequeueAfter > 0 {
		return res, err
	}
	return ctrl.Result{RequeueAfter: s.requeueAfter}, nil
}

// defaultReplicas sets spec.replicas of a set created without it (see
// mdutil.DefaultReplicas) in a patch of its own, locked on the version read,
// so that it never overwrites a scale that came first. ms takes the server's
// answer, so the rest of the reconcile starts from the defaulted object.
func (r *Reconciler) defaultReplicas(ctx context.Context, ms *clusterv1.MachineSet) error {
	base := ms.DeepCopy()
	replicas := mdutil.DefaultReplicas(ms.Annotations)
	ms.Spec.Replicas = &replicas
	ctrl.LoggerFrom(ctx).Info("Defaulting spec.replicas", "replicas", replicas)
	if err := r.Client.Patch(ctx, ms, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("defaulting spec.replicas of MachineSet %s: %w", ms.Name, err)
	}
	return nil
}

// machineEventDelay batches the updates of a set's Machines. A set reacts at
// once to a Machine created, deleted or being deleted, and once per delay to
// the status changes of its Machines: without it, while a thousand Machines
// come up, each of their status writes would start a reconcile that reads
// every Machine of the set and its provider objects.
const machineEventDelay = time.Second

// machineToMachineSets requeues a Machine's controlling MachineSet, or for an
// orphaned Machine, the MachineSets whose selector matches it, so they can
// adopt it.
func (r *Reconciler) machineToMachineSets(ctx context.Context, o client.Object) []reconcile.Request {
	m, ok := o.(*clusterv1.Machine)
	if !ok {
		return nil
	}
	if owner := util.ControllerOf(m); owner != nil {
		if owner.Kind != "MachineSet" || !isCoreGroup(owner.APIVersion) {
			return nil
		}
		return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: m.Namespace, Name: owner.Name}}}
	}
	list := &clusterv1.MachineSetList{}
	if err := r.Client.List(ctx, list, client.InNamespace(m.Namespace)); err != nil {
		return nil
	}
	var reqs []reconcile.Request
	for i := range list.Items {
		if sel, err := selectorOf(&list.Items[i]); err == nil && sel.Matches(labelSet(m.Labels)) {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
	}
	return reqs
}

// isCoreGroup says whether an owner reference's apiVersion is of the
// cluster.x-k8s.io group, whatever its version.
func isCoreGroup(apiVersion string) bool {
	gv, err := schema.ParseGroupVersion(apiVersion)
	return err == nil && gv.Group == clusterv1.GroupVersion.Group
}

// reconcileDelete deletes every Machine of the set and waits until they are gone.
func (r *Reconciler) reconcileDelete(ctx context.Context, s *scope) (ctrl.Result, error) {
	// Every Machine is asked to go at once: each drains on its own, and
	// the set's deletion waits for the slowest anyway.
	var errs []error
	for _, m := range s.machines {
		if !m.DeletionTimestamp.IsZero() {
			continue
		}
		ctrl.LoggerFrom(ctx).Info("Deleting Machine of a deleted MachineSet", "machine", m.Name)
		if err := r.Client.Delete(ctx, m); client.IgnoreNotFound(err) != nil {
			errs = append(errs, fmt.Errorf("deleting Machine %s: %w", m.Name, err))
		}
	}
	// The finalizer goes only when the cache shows no Machine left, so a
	// Machine is never orphaned by its set's deletion.
	if len(s.machines) == 0 {
		controllerutil.RemoveFinalizer(s.ms, clusterv1.MachineSetFinalizer)
	}
	return ctrl.Result{}, kerrors.NewAggregate(errs)
}
