package machineset

import (
	"context"
	"errors"
	"fmt"
	"maps"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// syncMachines propagates, as upstream does, the template fields that change
// in place to the set's Machines: the labels, the annotations and the Node
// drain, volume detach and deletion timeouts; and the labels and annotations
// on to each Machine's bootstrap and infrastructure objects. A Machine being
// deleted takes the timeouts only: they still govern its way out. Every
// other template field reaches new Machines only (see mdutil.RolloutFields).
//
// Labels and annotations are added and updated, never removed: a key that
// left the template may have been put there by someone else since.
func (r *Reconciler) syncMachines(ctx context.Context, s *scope) (ctrl.Result, error) {
	var errs []error
	for _, m := range s.machines {
		if err := r.syncMachine(ctx, s, m); err != nil {
			errs = append(errs, err)
			continue
		}
		if !m.DeletionTimestamp.IsZero() {
			continue
		}
		refs := []clusterv1.ContractVersionedObjectReference{m.Spec.InfrastructureRef}
		if m.Spec.Bootstrap.ConfigRef.IsDefined() {
			refs = append(refs, m.Spec.Bootstrap.ConfigRef)
		}
		for _, ref := range refs {
			if err := r.syncProviderObject(ctx, s, m, ref); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return ctrl.Result{}, errors.Join(errs...)
}

// syncMachine patches one Machine when it differs from desiredInPlace.
func (r *Reconciler) syncMachine(ctx context.Context, s *scope, m *clusterv1.Machine) error {
	want := desiredInPlace(s.ms, m)
	if want == nil {
		return nil
	}
	ctrl.LoggerFrom(ctx).Info("Propagating template metadata and timeouts to Machine", "machine", m.Name)
	if err := r.Client.Patch(ctx, want, client.MergeFrom(m)); err != nil {
		return fmt.Errorf("propagating the template to Machine %s: %w", m.Name, err)
	}
	*m = *want
	return nil
}

// desiredInPlace returns m with the set's in-place fields, or nil when m has
// them already. Pure.
func desiredInPlace(ms *clusterv1.MachineSet, m *clusterv1.Machine) *clusterv1.Machine {
	want := m.DeepCopy()
	tmpl := ms.Spec.Template
	want.Spec.Deletion = clusterv1.MachineDeletionSpec{
		NodeDrainTimeoutSeconds:        tmpl.Spec.Deletion.NodeDrainTimeoutSeconds,
		NodeVolumeDetachTimeoutSeconds: tmpl.Spec.Deletion.NodeVolumeDetachTimeoutSeconds,
		NodeDeletionTimeoutSeconds:     tmpl.Spec.Deletion.NodeDeletionTimeoutSeconds,
	}
	changed := !ptr.Equal(m.Spec.Deletion.NodeDrainTimeoutSeconds, want.Spec.Deletion.NodeDrainTimeoutSeconds) ||
		!ptr.Equal(m.Spec.Deletion.NodeVolumeDetachTimeoutSeconds, want.Spec.Deletion.NodeVolumeDetachTimeoutSeconds) ||
		!ptr.Equal(m.Spec.Deletion.NodeDeletionTimeoutSeconds, want.Spec.Deletion.NodeDeletionTimeoutSeconds)
	if m.DeletionTimestamp.IsZero() {
		var l, a bool
		want.Labels, l = withEntries(want.Labels, machineLabels(ms))
		want.Annotations, a = withEntries(want.Annotations, tmpl.ObjectMeta.Annotations)
		changed = changed || l || a
	}
	if !changed {
		return nil
	}
	return want
}

// withEntries returns into with every entry of from, and whether that
// changed anything. into is copied before a change.
func withEntries(into, from map[string]string) (map[string]string, bool) {
	var out map[string]string
	for k, v := range from {
		if cur, ok := into[k]; ok && cur == v {
			continue
		}
		if out == nil {
			out = make(map[string]string, len(into)+len(from))
			maps.Copy(out, into)
		}
		out[k] = v
	}
	if out == nil {
		return into, false
	}
	return out, true
}

// syncProviderObject puts the set's template labels (with the labels the
// core provider finds objects by) and annotations on one of a Machine's
// provider objects, read from the cache (peekProvider). A missing object is
// the Machine's to report, not an error here.
func (r *Reconciler) syncProviderObject(ctx context.Context, s *scope, m *clusterv1.Machine, ref clusterv1.ContractVersionedObjectReference) error {
	obj, err := r.peekProvider(ctx, s, ref)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !obj.GetDeletionTimestamp().IsZero() {
		return nil
	}
	// obj is the cache's: withEntries copies before it changes anything.
	labels, l := withEntries(obj.GetLabels(), machineLabels(s.ms))
	annotations, a := withEntries(obj.GetAnnotations(), s.ms.Spec.Template.ObjectMeta.Annotations)
	if !l && !a {
		return nil
	}
	want := obj.DeepCopy()
	want.SetLabels(labels)
	want.SetAnnotations(annotations)
	ctrl.LoggerFrom(ctx).Info("Propagating template metadata", "kind", ref.Kind, "name", ref.Name)
	if err := r.Client.Patch(ctx, want, client.MergeFrom(obj)); err != nil {
		return fmt.Errorf("propagating the template's metadata to %s %s: %w", ref.Kind, ref.Name, err)
	}
	return nil
}
