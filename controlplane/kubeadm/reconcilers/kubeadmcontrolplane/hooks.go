package kubeadmcontrolplane

import (
	"context"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/podcluster/podcluster/api/controlplane/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// reconcilePreTerminateHooks lets go of the control plane's pre-terminate
// hook on its Machines being deleted, as upstream's control plane does. A
// Machine that reached the hook (drained, its infrastructure still there)
// first loses its etcd member, the leadership moved off it if it leads; a
// Machine the control plane deleted itself has lost it already, one deleted
// by hand has not, and without the hook its member would outlive it and count
// against quorum. When the whole control plane goes, its etcd goes with it:
// the hooks are dropped without touching etcd. One Machine per reconcile, the
// oldest first: each removal changes the quorum the next one is decided on.
func (r *Reconciler) reconcilePreTerminateHooks(ctx context.Context, s *scope) (ctrl.Result, error) {
	m, forgetMember := nextPreTerminateHook(s.kcp, s.machines)
	if m == nil {
		return ctrl.Result{}, nil
	}
	if forgetMember {
		if err := r.forgetEtcdMember(ctx, s, m); err != nil {
			return ctrl.Result{}, err
		}
	}
	before := m.DeepCopy()
	delete(m.Annotations, controlplanev1.PreTerminateHookCleanupAnnotation)
	ctrl.LoggerFrom(ctx).Info("Removing the control plane's pre-terminate hook", "machine", m.Name)
	if err := r.Client.Patch(ctx, m, client.MergeFrom(before)); client.IgnoreNotFound(err) != nil {
		return ctrl.Result{}, fmt.Errorf("removing the pre-terminate hook of Machine %s: %w", m.Name, err)
	}
	// The annotation's removal is an event: the next Machine, if any, then.
	return ctrl.Result{}, nil
}

// nextPreTerminateHook picks the Machine whose hook goes next, the oldest of
// those being deleted that reached it, and whether its etcd member must go
// first: not when the whole control plane goes, nor when no Machine stays
// (a last member cannot be removed, and nothing is left to keep quorum for).
// machines are oldest first. Pure.
func nextPreTerminateHook(kcp *controlplanev1.KubeadmControlPlane, machines []*clusterv1.Machine) (*clusterv1.Machine, bool) {
	staying := 0
	for _, m := range machines {
		if m.DeletionTimestamp.IsZero() {
			staying++
		}
	}
	for _, m := range machines {
		if !m.DeletionTimestamp.IsZero() && hasCleanupHook(m) && atPreTerminateHook(m) {
			return m, kcp.DeletionTimestamp.IsZero() && staying > 0
		}
	}
	return nil, false
}

func hasCleanupHook(m *clusterv1.Machine) bool {
	_, ok := m.Annotations[controlplanev1.PreTerminateHookCleanupAnnotation]
	return ok
}

// atPreTerminateHook says whether the Machine controller has got to the
// pre-terminate hooks of a Machine being deleted: its drain is done.
func atPreTerminateHook(m *clusterv1.Machine) bool {
	return m.Status.Deletion != nil && !m.Status.Deletion.WaitForPreTerminateHookStartTime.IsZero()
}
