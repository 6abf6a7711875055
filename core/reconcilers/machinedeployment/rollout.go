package machinedeployment

import (
	"context"
	"fmt"
	"maps"
	"strconv"

	"k8s.io/apimachinery/pkg/api/equality"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/core/mdutil"
	"github.com/podcluster/podcluster/internal/conditions"
	"github.com/podcluster/podcluster/internal/util"
)

// rollout creates the current revision's MachineSet when missing and moves
// replicas to it according to the strategy.
func (r *Reconciler) rollout(ctx context.Context, s *scope) (ctrl.Result, error) {
	md := s.md
	desired := mdutil.Replicas(md.Spec.Replicas)
	onDelete := md.Spec.Rollout.Strategy.Type == clusterv1.OnDeleteMachineDeploymentStrategyType
	// OnDelete never surges nor takes Machines away, so its limits stay zero.
	var surge, unavailable int32
	if !onDelete {
		var err error
		if surge, unavailable, err = mdutil.SurgeAndUnavailable(md); err != nil {
			s.strategyErr = err.Error()
			return ctrl.Result{}, nil // the user must fix the spec; its change is an event
		}
	}
	// Decide only on MachineSet statuses that reflect their current specs.
	for _, ms := range s.all() {
		if ms.Status.ObservedGeneration < ms.Generation {
			return ctrl.Result{RequeueAfter: waitForMachineSets}, nil
		}
	}

	old := s.activeOld()
	if s.newMS == nil {
		// The first revision starts at full size: there is nothing to keep
		// available while it grows.
		initial := desired
		if len(old) > 0 {
			initial = 0 // RollingUpdate scales it up within maxSurge below
			if onDelete {
				initial = max(0, desired-sumSpec(old))
			}
		}
		ms := newMachineSet(s, initial, surge)
		// Only the create this reconcile: the scaling below must not count
		// from a cache that has not seen the new set yet.
		ctrl.LoggerFrom(ctx).Info("Creating MachineSet for the new template revision", "machineSet", ms.Name, "replicas", initial)
		if err := r.Client.Create(ctx, ms); err != nil {
			return ctrl.Result{}, fmt.Errorf("creating MachineSet %s: %w", ms.Name, err)
		}
		s.newMS = ms
		return ctrl.Result{}, nil // its status is an event
	}
	// Synced on every reconcile, not only at creation: these fields change
	// without making a new revision.
	if err := r.syncNewMachineSet(ctx, s, desired, surge, onDelete); err != nil {
		return ctrl.Result{}, err
	}
	if onDelete {
		return ctrl.Result{}, r.rolloutOnDelete(ctx, s, desired)
	}
	return ctrl.Result{}, r.rolloutRolling(ctx, s, desired, surge, unavailable)
}

// all are every revision's MachineSets, the new one last.
func (s *scope) all() []*clusterv1.MachineSet {
	out := append([]*clusterv1.MachineSet(nil), s.oldMSs...)
	if s.newMS != nil {
		out = append(out, s.newMS)
	}
	return out
}

// activeOld are the old revisions not being deleted: the ones the rollout
// can still scale.
func (s *scope) activeOld() []*clusterv1.MachineSet {
	var out []*clusterv1.MachineSet
	for _, ms := range s.oldMSs {
		if ms.DeletionTimestamp.IsZero() {
			out = append(out, ms)
		}
	}
	return out
}

// sumSpec adds up spec.replicas: what the sets are asked for, whatever they
// have yet.
func sumSpec(sets []*clusterv1.MachineSet) int32 {
	var n int32
	for _, ms := range sets {
		n += mdutil.Replicas(ms.Spec.Replicas)
	}
	return n
}

// size is how many Machines a MachineSet has or is about to have.
func size(ms *clusterv1.MachineSet) int32 {
	return max(mdutil.Replicas(ms.Spec.Replicas), statusReplicas(ms))
}

// available is how many of a MachineSet's Machines surely stay available:
// those Available and not being deleted, counted from the Machines in the
// cache rather than read from the set's status. The status lags behind the
// Machines (a set writes its counters once per burst of Machine changes), and
// a count that lags low would have the rollout take available Machines for
// unavailable ones, which cost nothing to remove.
func (s *scope) available(ms *clusterv1.MachineSet) int32 {
	var a int32
	for _, m := range s.machines {
		if m.Labels[clusterv1.MachineSetNameLabel] == util.LabelValue(ms.Name) && m.DeletionTimestamp.IsZero() &&
			conditions.IsTrue(m.Status.Conditions, clusterv1.AvailableCondition) {
			a++
		}
	}
	return min(a, mdutil.Replicas(ms.Spec.Replicas))
}

// rolloutRolling: scale the new MachineSet up while the total stays within
// replicas+maxSurge, and old ones down while availability stays at least
// replicas-maxUnavailable.
func (r *Reconciler) rolloutRolling(ctx context.Context, s *scope, desired, surge, unavailable int32) error {
	old := s.activeOld()
	newReplicas := mdutil.Replicas(s.newMS.Spec.Replicas)
	// No rollout in progress: a plain scale of the one set, which needs
	// neither limit.
	if len(old) == 0 {
		if newReplicas != desired {
			return r.scaleMachineSet(ctx, s.newMS, desired)
		}
		return nil
	}
	// size counts Machines a set has or is about to have, so a set the
	// cache shows as shrunk but still has Machines does not free surge room.
	var total int32
	for _, ms := range s.all() {
		total += size(ms)
	}
	switch {
	case newReplicas < desired:
		if up := min(desired+surge-total, desired-newReplicas); up > 0 {
			if err := r.scaleMachineSet(ctx, s.newMS, newReplicas+up); err != nil {
				return err
			}
		}
	case newReplicas > desired:
		// The deployment was scaled down mid-rollout: the new set never
		// needs more than spec.replicas, whatever the old ones hold.
		if err := r.scaleMachineSet(ctx, s.newMS, desired); err != nil {
			return err
		}
	}

	var avail int32
	for _, ms := range s.all() {
		avail += s.available(ms)
	}
	// budget is how many available Machines may go while at least
	// desired-maxUnavailable stay.
	budget := avail - (desired - unavailable)
	for _, ms := range old {
		replicas := mdutil.Replicas(ms.Spec.Replicas)
		// Machines that are not available cost no availability to remove.
		notAvailable := replicas - s.available(ms)
		take := min(max(budget, 0), replicas-notAvailable)
		budget -= take
		if remove := notAvailable + take; remove > 0 {
			if err := r.scaleMachineSet(ctx, ms, replicas-remove); err != nil {
				return err
			}
		}
	}
	return nil
}

// rolloutOnDelete: old MachineSets shrink as the user deletes their Machines,
// and the new one grows into the room left.
func (r *Reconciler) rolloutOnDelete(ctx context.Context, s *scope, desired int32) error {
	var oldTotal int32
	for _, ms := range s.activeOld() {
		replicas := mdutil.Replicas(ms.Spec.Replicas)
		// Counted from the Machines, not the set's status, so a deletion the
		// user just made is seen before the set reports it.
		var alive, deleting int32
		for _, m := range s.machines {
			if m.Labels[clusterv1.MachineSetNameLabel] != util.LabelValue(ms.Name) {
				continue
			}
			if m.DeletionTimestamp.IsZero() {
				alive++
			} else {
				deleting++
			}
		}
		// Shrinking the old set stops it from replacing the deleted Machine
		// with another of the old revision.
		if alive < replicas {
			if err := r.scaleMachineSet(ctx, ms, alive); err != nil {
				return err
			}
			replicas = alive
		}
		// A Machine still being deleted holds its room until it is gone,
		// as the MachineSet counts it: one that never finishes going must
		// not be replaced.
		oldTotal += max(replicas, alive+deleting)
	}
	// The new set takes exactly the room the old ones left, so the total
	// never exceeds spec.replicas.
	if target := max(0, desired-oldTotal); mdutil.Replicas(s.newMS.Spec.Replicas) != target {
		return r.scaleMachineSet(ctx, s.newMS, target)
	}
	return nil
}

// syncNewMachineSet keeps the fields of the new MachineSet that do not change
// the template hash in step with the deployment: among them the template's
// labels, annotations and Node timeouts, which the MachineSet propagates to
// its Machines in place (see mdutil.RolloutFields).
func (r *Reconciler) syncNewMachineSet(ctx context.Context, s *scope, desired, surge int32, onDelete bool) error {
	ms := s.newMS
	before := ms.DeepCopy()
	ms.Spec.Deletion.Order = s.md.Spec.Deletion.Order
	ms.Spec.MachineNaming = s.md.Spec.MachineNaming
	ms.Spec.Template.ObjectMeta.Labels = templateLabels(s.md, s.hash)
	ms.Spec.Template.ObjectMeta.Annotations = maps.Clone(s.md.Spec.Template.ObjectMeta.Annotations)
	ms.Spec.Template.Spec.Deletion = s.md.Spec.Template.Spec.Deletion
	if ms.Annotations == nil {
		ms.Annotations = map[string]string{}
	}
	ms.Annotations[clusterv1.DesiredReplicasAnnotation] = strconv.Itoa(int(desired))
	ms.Annotations[clusterv1.MaxReplicasAnnotation] = strconv.Itoa(int(desired + surge))
	// A plain scale (one revision, RollingUpdate) goes in the same patch as
	// the annotations that announce it, as upstream sends them: one write
	// instead of two; rolloutRolling then finds nothing left to do.
	if from := mdutil.Replicas(ms.Spec.Replicas); !onDelete && len(s.activeOld()) == 0 && from != desired {
		ctrl.LoggerFrom(ctx).Info("Scaling MachineSet", "machineSet", ms.Name, "from", from, "to", desired)
		ms.Spec.Replicas = &desired
	}
	// Most reconciles change nothing here; an empty patch would still
	// cost a request.
	if equalSync(before, ms) {
		return nil
	}
	if err := r.Client.Patch(ctx, ms, client.MergeFrom(before)); err != nil {
		return fmt.Errorf("updating MachineSet %s: %w", ms.Name, err)
	}
	return nil
}

// equalSync compares only the fields syncNewMachineSet writes.
func equalSync(a, b *clusterv1.MachineSet) bool {
	ta, tb := a.Spec.Template, b.Spec.Template
	return mdutil.Replicas(a.Spec.Replicas) == mdutil.Replicas(b.Spec.Replicas) &&
		a.Spec.Deletion == b.Spec.Deletion && a.Spec.MachineNaming == b.Spec.MachineNaming &&
		maps.Equal(ta.ObjectMeta.Labels, tb.ObjectMeta.Labels) && maps.Equal(ta.ObjectMeta.Annotations, tb.ObjectMeta.Annotations) &&
		equality.Semantic.DeepEqual(ta.Spec.Deletion, tb.Spec.Deletion) &&
		a.Annotations[clusterv1.DesiredReplicasAnnotation] == b.Annotations[clusterv1.DesiredReplicasAnnotation] &&
		a.Annotations[clusterv1.MaxReplicasAnnotation] == b.Annotations[clusterv1.MaxReplicasAnnotation]
}

// scaleMachineSet patches spec.replicas only, and changes ms in place so
// that the rest of this reconcile sees the new size.
func (r *Reconciler) scaleMachineSet(ctx context.Context, ms *clusterv1.MachineSet, replicas int32) error {
	if mdutil.Replicas(ms.Spec.Replicas) == replicas {
		return nil
	}
	ctrl.LoggerFrom(ctx).Info("Scaling MachineSet", "machineSet", ms.Name, "from", mdutil.Replicas(ms.Spec.Replicas), "to", replicas)
	before := ms.DeepCopy()
	ms.Spec.Replicas = &replicas
	if err := r.Client.Patch(ctx, ms, client.MergeFrom(before)); err != nil {
		return fmt.Errorf("scaling MachineSet %s to %d: %w", ms.Name, replicas, err)
	}
	return nil
}
