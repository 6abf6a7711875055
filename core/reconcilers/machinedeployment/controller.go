// Package machinedeployment is the MachineDeployment controller of the core
// provider. A MachineDeployment keeps one MachineSet per revision of its
// Machine template, named "<deployment>-<template hash>", and moves replicas
// from old revisions to the newest one with the RollingUpdate (maxSurge,
// maxUnavailable) or OnDelete strategy.
//
// The rollout never trusts a lagging cache in the unsafe direction: a
// MachineSet counts as many Machines as it has or will have (the larger of
// spec and status replicas) and as available as the smaller of its available
// Machines and its spec.replicas, so neither maxSurge nor maxUnavailable is
// exceeded while MachineSet statuses catch up.
package machinedeployment

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	"github.com/podcluster/podcluster/internal/patch"
	"github.com/podcluster/podcluster/internal/phase"
	"github.com/podcluster/podcluster/internal/util"
)

// waitForMachineSets is how soon a rollout looks again while MachineSet
// statuses lag behind their specs.
const waitForMachineSets = time.Second

// Reconciler reconciles MachineDeployments.
type Reconciler struct {
	Client      client.Client
	WatchFilter string

	settler *patch.Settler
}

// counterSettle is how long a change of the replica counters alone is held
// back: while Machines come and go in a burst, the deployment writes its
// counters once per counterSettle rather than once per Machine. A change of
// phase, of a condition's truth or of the observed generation goes at once.
// Nothing decides on a deployment's counters (its MachineSets' are read for
// rollouts), so only what users see lags, by at most this much.
const counterSettle = 5 * time.Second

// counterFields are the status fields that counterSettle holds back.
var counterFields = []string{"replicas", "readyReplicas", "availableReplicas", "upToDateReplicas", "versions", "deprecated"}

// SetupWithManager registers the controller.
func (r *Reconciler) SetupWithManager(_ context.Context, mgr ctrl.Manager, options controller.Options) error {
	r.settler = &patch.Settler{Period: counterSettle, Minor: counterFields}
	filter := util.WatchFilterPredicate(r.WatchFilter)
	return ctrl.NewControllerManagedBy(mgr).
		For(&clusterv1.MachineDeployment{}, builder.WithPredicates(filter)).
		Owns(&clusterv1.MachineSet{}, builder.WithPredicates(filter)).
		Watches(&clusterv1.Cluster{}, handler.EnqueueRequestsFromMapFunc(util.ClusterToObjects(r.Client, func() client.ObjectList { return &clusterv1.MachineDeploymentList{} })), builder.WithPredicates(filter, predicate.GenerationChangedPredicate{})).
		// Machine counts in the status follow the Machines, a burst at a time.
		Watches(&clusterv1.Machine{}, util.EnqueueAfter(time.Second, machineToMachineDeployment), builder.WithPredicates(filter)).
		WithOptions(options).
		Named("machinedeployment").
		Complete(r)
}

// scope carries what one reconcile observed.
type scope struct {
	md      *clusterv1.MachineDeployment
	cluster *clusterv1.Cluster
	now     time.Time
	paused  bool

	// hash is the current template revision, set by Reconcile.
	hash string
	// newMS and oldMSs are the current and older revisions, set by getMachineSets.
	newMS  *clusterv1.MachineSet
	oldMSs []*clusterv1.MachineSet
	// machines are the deployment's Machines, for conditions, set by getMachines.
	machines []*clusterv1.Machine
	// strategyErr is a problem with spec.rollout, set by rollout.
	strategyErr string
	// clusterMissing: the Cluster spec.clusterName names does not exist.
	clusterMissing bool
}

// Reconcile brings one MachineDeployment closer to its desired state.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	md := &clusterv1.MachineDeployment{}
	if err := r.Client.Get(ctx, req.NamespacedName, md); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	s := &scope{md: md, now: time.Now()}
	cluster, err := util.GetCluster(ctx, r.Client, md.Namespace, md.Spec.ClusterName)
	switch {
	case apierrors.IsNotFound(err):
		// Without its Cluster a deployment waits (the Cluster's creation
		// requeues it) and says so in its conditions; a deleted one still
		// cleans up.
		s.clusterMissing = true
	case err != nil:
		return ctrl.Result{}, err
	default:
		s.cluster = cluster
	}
	// replicas is defaulted before anything else reads it, and only once:
	// from then on it belongs to whoever scales (a user, or the autoscaler).
	if md.Spec.Replicas == nil && md.DeletionTimestamp.IsZero() && !util.IsPaused(cluster, md) {
		if err := r.defaultReplicas(ctx, md); apierrors.IsConflict(err) {
			// Someone wrote first, a scale most likely; the watch brings
			// their version.
			return ctrl.Result{}, nil
		} else if err != nil {
			return ctrl.Result{}, err
		}
	}
	helper, err := patch.NewHelper(md, r.Client)
	if err != nil {
		return ctrl.Result{}, err
	}
	// The hash includes rollout.after once it has passed, so one clock
	// reading (s.now) decides the revision for the whole reconcile.
	s.hash = mdutil.TemplateHash(md, s.now)
	// Both lists come before the status is deferred: a failed list must
	// leave the last counters rather than patch zeros.
	if err := r.getMachineSets(ctx, s); err != nil {
		return ctrl.Result{}, err
	}
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
	defer helper.PatchWithStatus(ctx, md, func() { setStatus(s) }, &retErr)

	if s.paused = util.IsPaused(cluster, md); s.paused {
		return ctrl.Result{}, nil
	}
	if !md.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, s)
	}
	if s.clusterMissing {
		return ctrl.Result{}, nil
	}
	controllerutil.AddFinalizer(md, clusterv1.MachineDeploymentFinalizer)
	util.SetLabel(md, clusterv1.ClusterNameLabel, md.Spec.ClusterName)
	// A plain owner reference, not a controller one: the Cluster does not
	// reconcile the deployment, it only takes it along when deleted.
	if cluster != nil {
		util.EnsureOwnerRef(md, util.OwnerRef(cluster, clusterv1.GroupVersion.WithKind("Cluster"), false))
	}
	if md.Spec.Paused != nil && *md.Spec.Paused {
		return ctrl.Result{}, nil // spec.paused: report, do not roll out or scale
	}
	if after := md.Spec.Rollout.After; !after.IsZero() && s.now.Before(after.Time) {
		// Come back when rollout.after passes: the hash changes then.
		res.RequeueAfter = after.Sub(s.now)
	}
	rolloutRes, err := r.rollout(ctx, s)
	if err != nil {
		return rolloutRes, err
	}
	// Cleanup runs last: a set the rollout just scaled to zero still reports
	// its Machines in status, so it goes on a later reconcile, once they have.
	return phase.Soonest(res, rolloutRes), r.cleanup(ctx, s)
}

// defaultReplicas sets spec.replicas of a deployment created without it (see
// mdutil.DefaultReplicas) in a patch of its own, locked on the version read,
// so that it never overwrites a scale that came first. md takes the server's
// answer, so the rest of the reconcile starts from the defaulted object.
func (r *Reconciler) defaultReplicas(ctx context.Context, md *clusterv1.MachineDeployment) error {
	base := md.DeepCopy()
	replicas := mdutil.DefaultReplicas(md.Annotations)
	md.Spec.Replicas = &replicas
	ctrl.LoggerFrom(ctx).Info("Defaulting spec.replicas", "replicas", replicas)
	if err := r.Client.Patch(ctx, md, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("defaulting spec.replicas of MachineDeployment %s: %w", md.Name, err)
	}
	return nil
}

// machineToMachineDeployment requeues a Machine's deployment by its label;
// Machines are owned by MachineSets, so Owns cannot see them.
func machineToMachineDeployment(_ context.Context, o client.Object) []reconcile.Request {
	name, ok := o.GetLabels()[clusterv1.MachineDeploymentNameLabel]
	if !ok {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: o.GetNamespace(), Name: name}}}
}

// getMachineSets splits the deployment's MachineSets into the current revision
// and the older ones, oldest first.
func (r *Reconciler) getMachineSets(ctx context.Context, s *scope) error {
	list := &clusterv1.MachineSetList{}
	if err := r.Client.List(ctx, list, client.InNamespace(s.md.Namespace),
		client.MatchingLabels{clusterv1.MachineDeploymentNameLabel: util.LabelValue(s.md.Name)}); err != nil {
		return fmt.Errorf("listing MachineSets: %w", err)
	}
	for i := range list.Items {
		ms := &list.Items[i]
		// The label can be forged or stale; the controller UID cannot.
		if owner := util.ControllerOf(ms); owner == nil || owner.UID != s.md.UID {
			continue
		}
		// A current-revision set being deleted counts as old: it can take no
		// replicas, and its replacement (same name) is created once it is gone.
		if ms.Labels[clusterv1.MachineDeploymentUniqueLabel] == s.hash && ms.DeletionTimestamp.IsZero() {
			s.newMS = ms
		} else {
			s.oldMSs = append(s.oldMSs, ms)
		}
	}
	// Oldest first: the rolling update scales down the oldest revisions
	// before newer ones.
	sort.Slice(s.oldMSs, func(i, j int) bool { return revision(s.oldMSs[i]) < revision(s.oldMSs[j]) })
	return nil
}

// getMachines lists the deployment's Machines by label, for the status, for
// the availability a rolling update keeps (see available) and for OnDelete,
// which needs to see Machines the user deleted.
func (r *Reconciler) getMachines(ctx context.Context, s *scope) error {
	list := &clusterv1.MachineList{}
	if err := r.Client.List(ctx, list, client.InNamespace(s.md.Namespace),
		client.MatchingLabels{clusterv1.MachineDeploymentNameLabel: util.LabelValue(s.md.Name)}); err != nil {
		return fmt.Errorf("listing Machines: %w", err)
	}
	for i := range list.Items {
		s.machines = append(s.machines, &list.Items[i])
	}
	return nil
}

// revision reads the revision annotation; a missing or mangled one sorts as
// revision 0, the oldest, which is the safe side to scale down first.
func revision(ms *clusterv1.MachineSet) int64 {
	v, _ := strconv.ParseInt(ms.Annotations[clusterv1.RevisionAnnotation], 10, 64)
	return v
}

// reconcileDelete deletes the MachineSets and waits until they are gone.
func (r *Reconciler) reconcileDelete(ctx context.Context, s *scope) (ctrl.Result, error) {
	all := s.oldMSs
	if s.newMS != nil {
		all = append(all, s.newMS)
	}
	// All at once: each MachineSet deletes its own Machines, and nothing
	// is gained by deleting revisions one after another.
	var errs []error
	for _, ms := range all {
		if ms.DeletionTimestamp.IsZero() {
			ctrl.LoggerFrom(ctx).Info("Deleting MachineSet of a deleted MachineDeployment", "machineSet", ms.Name)
			if err := r.Client.Delete(ctx, ms); client.IgnoreNotFound(err) != nil {
				errs = append(errs, err)
			}
		}
	}
	// The finalizer goes only once the cache shows no MachineSet left, so
	// no MachineSet is orphaned by the deployment's deletion.
	if len(all) == 0 {
		controllerutil.RemoveFinalizer(s.md, clusterv1.MachineDeploymentFinalizer)
	}
	return ctrl.Result{}, kerrors.NewAggregate(errs)
}

// cleanup deletes old MachineSets that reached zero Machines.
func (r *Reconciler) cleanup(ctx context.Context, s *scope) error {
	for _, ms := range s.oldMSs {
		// Both spec and status must be zero, so that a set is removed only
		// once it has no Machines left to account for.
		if !ms.DeletionTimestamp.IsZero() || mdutil.Replicas(ms.Spec.Replicas) != 0 || statusReplicas(ms) != 0 {
			continue
		}
		ctrl.LoggerFrom(ctx).Info("Deleting old MachineSet", "machineSet", ms.Name)
		if err := r.Client.Delete(ctx, ms); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting old MachineSet %s: %w", ms.Name, err)
		}
	}
	return nil
}

// statusReplicas reads status.replicas; unset (a set never reconciled) is
// zero Machines.
func statusReplicas(ms *clusterv1.MachineSet) int32 {
	if ms.Status.Replicas == nil {
		return 0
	}
	return *ms.Status.Replicas
}

// newMachineSet builds the MachineSet of the current revision.
func newMachineSet(s *scope, replicas int32, surge int32) *clusterv1.MachineSet {
	md := s.md
	tmpl := *md.Spec.Template.DeepCopy()
	tmpl.ObjectMeta.Labels = templateLabels(md, s.hash)
	sel := *md.Spec.Selector.DeepCopy()
	if sel.MatchLabels == nil {
		sel.MatchLabels = map[string]clusterv1.LabelValue{}
	}
	sel.MatchLabels[clusterv1.MachineDeploymentUniqueLabel] = clusterv1.LabelValue(s.hash)

	// One past the highest revision: revision order is creation order,
	// which the rollout's oldest-first scale-down relies on.
	var rev int64
	for _, old := range s.oldMSs {
		rev = max(rev, revision(old))
	}
	desired := mdutil.Replicas(md.Spec.Replicas)
	// Deterministic, so that a crash after Create never makes a second set
	// for one revision; truncated to 63 characters, keeping the hash.
	name := md.Name + "-" + s.hash
	if len(name) > 63 {
		name = md.Name[:63-len(s.hash)-1] + "-" + s.hash
	}
	return &clusterv1.MachineSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: md.Namespace,
			Labels: map[string]string{
				clusterv1.ClusterNameLabel:             md.Spec.ClusterName,
				clusterv1.MachineDeploymentNameLabel:   util.LabelValue(md.Name),
				clusterv1.MachineDeploymentUniqueLabel: s.hash,
			},
			Annotations: map[string]string{
				clusterv1.RevisionAnnotation:        strconv.FormatInt(rev+1, 10),
				clusterv1.DesiredReplicasAnnotation: strconv.Itoa(int(desired)),
				clusterv1.MaxReplicasAnnotation:     strconv.Itoa(int(desired + surge)),
			},
			OwnerReferences: []metav1.OwnerReference{util.OwnerRef(md, clusterv1.GroupVersion.WithKind("MachineDeployment"), true)},
		},
		Spec: clusterv1.MachineSetSpec{
			ClusterName:   md.Spec.ClusterName,
			Replicas:      &replicas,
			Selector:      sel,
			Template:      tmpl,
			MachineNaming: md.Spec.MachineNaming,
			Deletion:      clusterv1.MachineSetDeletionSpec{Order: md.Spec.Deletion.Order},
		},
	}
}

// templateLabels are the labels of the template of md's MachineSet of
// revision hash. The hash label goes on the template and into the selector,
// so that each revision's MachineSet selects only its own Machines.
func templateLabels(md *clusterv1.MachineDeployment, hash string) map[string]string {
	l := make(map[string]string, len(md.Spec.Template.ObjectMeta.Labels)+3)
	for k, v := range md.Spec.Template.ObjectMeta.Labels {
		l[k] = v
	}
	l[clusterv1.MachineDeploymentUniqueLabel] = hash
	l[clusterv1.MachineDeploymentNameLabel] = util.LabelValue(md.Name)
	l[clusterv1.ClusterNameLabel] = md.Spec.ClusterName
	return l
}
