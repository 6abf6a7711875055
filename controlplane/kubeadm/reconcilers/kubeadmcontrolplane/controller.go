// Package kubeadmcontrolplane is the KubeadmControlPlane controller of the
// kubeadm control-plane provider. It keeps spec.replicas control-plane
// Machines: it creates each Machine with a KubeadmConfig built from
// spec.kubeadmConfigSpec and an infrastructure machine cloned from
// spec.machineTemplate, one at a time (the first runs kubeadm init, the
// others join once the control plane is initialized and every Machine is
// Ready), removes one at a time when scaling down, writes the cluster's
// kubeconfig Secret, and reports the counters and conditions of upstream's
// v1beta2 KubeadmControlPlane.
//
// As the MachineSet does, each Machine is created first, complete with its
// finalizer, labels and owner reference, and its clones are created with the
// Machine as their controller: one request per object and no adoption.
package kubeadmcontrolplane

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	controlplanev1 "github.com/podcluster/podcluster/api/controlplane/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/contract"
	"github.com/podcluster/podcluster/internal/expectations"
	"github.com/podcluster/podcluster/internal/external"
	"github.com/podcluster/podcluster/internal/patch"
	"github.com/podcluster/podcluster/internal/phase"
	"github.com/podcluster/podcluster/internal/remote"
	"github.com/podcluster/podcluster/internal/util"
)

// Requeues on purpose.
const (
	// waitForCache is how soon the controller looks again while its cache has
	// not shown its own creates and deletes yet.
	waitForCache = time.Second
	// waitForCA is how often the kubeconfig step looks for the cluster CA
	// when it is missing: reconcileCertificates creates it, but the cache
	// may not show it yet.
	waitForCA = 5 * time.Second
	// waitForWorkers is how often a deleted control plane looks at the
	// Cluster's workers it waits for.
	waitForWorkers = 5 * time.Second
)

// Reconciler reconciles KubeadmControlPlanes.
type Reconciler struct {
	Client client.Client
	// APIReader reads around the cache where a lagging read would be
	// wrong: a certificate Secret someone else just created. Client if nil.
	APIReader   client.Reader
	Resolver    *contract.Resolver
	WatchFilter string
	// EtcdClient connects to a workload cluster's etcd; etcd.New if nil.
	EtcdClient EtcdClientFunc
	// ClusterCache reaches workload clusters, where the control plane's
	// static Pods are read; without it their health is not inspected and
	// ControlPlaneComponentsHealthy is not set.
	ClusterCache *remote.ClusterCache

	expectations *expectations.Expectations
}

// SetupWithManager registers the controller.
func (r *Reconciler) SetupWithManager(_ context.Context, mgr ctrl.Manager, options controller.Options) error {
	r.expectations = expectations.New()
	filter := util.WatchFilterPredicate(r.WatchFilter)
	return ctrl.NewControllerManagedBy(mgr).
		For(&controlplanev1.KubeadmControlPlane{}, builder.WithPredicates(filter)).
		Owns(&clusterv1.Machine{}, builder.WithPredicates(filter)).
		// The kubeconfig Secret it controls: a change is checked for renewal.
		Owns(&corev1.Secret{}).
		// The Cluster's infrastructure, endpoint, failure domains, pause and
		// initialization all gate this controller's steps.
		Watches(&clusterv1.Cluster{}, handler.EnqueueRequestsFromMapFunc(r.clusterToKubeadmControlPlane), builder.WithPredicates(filter)).
		WithOptions(options).
		Named("kubeadmcontrolplane").
		Complete(r)
}

// clusterToKubeadmControlPlane requeues the Cluster's control plane when it is
// a KubeadmControlPlane.
func (r *Reconciler) clusterToKubeadmControlPlane(_ context.Context, o client.Object) []reconcile.Request {
	c, ok := o.(*clusterv1.Cluster)
	if !ok {
		return nil
	}
	ref := c.Spec.ControlPlaneRef
	if !ref.IsDefined() || ref.APIGroup != controlplanev1.GroupVersion.Group || ref.Kind != "KubeadmControlPlane" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: c.Namespace, Name: ref.Name}}}
}

// Reconcile brings one KubeadmControlPlane closer to its desired state.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	kcp := &controlplanev1.KubeadmControlPlane{}
	if err := r.Client.Get(ctx, req.NamespacedName, kcp); err != nil {
		if apierrors.IsNotFound(err) {
			r.expectations.Forget(req.String())
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	s := &scope{kcp: kcp, key: req.String(), now: time.Now()}
	cluster, err := r.getCluster(ctx, kcp)
	switch {
	case apierrors.IsNotFound(err) || (err == nil && cluster == nil):
		// The Cluster adopts its control plane (owner reference and label);
		// until then there is nothing to do, and the adoption is an event.
		// A deleted control plane still cleans up.
		if kcp.DeletionTimestamp.IsZero() {
			return ctrl.Result{}, nil
		}
	case err != nil:
		return ctrl.Result{}, err
	default:
		s.cluster = cluster
	}

	helper, err := patch.NewHelper(kcp, r.Client)
	if err != nil {
		return ctrl.Result{}, err
	}
	// Listed before the deferred status, so that a failed list patches no
	// zero counters, and before the pause check, so that a paused control
	// plane still reports the Machines it has.
	if err := r.getMachines(ctx, s); err != nil {
		return ctrl.Result{}, err
	}
	defer helper.PatchWithStatus(ctx, kcp, func() { setStatus(s) }, &retErr)
	if s.paused = util.IsPaused(cluster, kcp); s.paused {
		return ctrl.Result{}, nil
	}
	if !kcp.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, s)
	}
	controllerutil.AddFinalizer(kcp, controlplanev1.KubeadmControlPlaneFinalizer)
	// The Cluster controller sets both when it adopts the control plane;
	// setting the same values here changes nothing then, and covers a
	// control plane found by its label alone.
	util.SetLabel(kcp, clusterv1.ClusterNameLabel, cluster.Name)
	util.EnsureOwnerRef(kcp, util.OwnerRef(cluster, clusterv1.GroupVersion.WithKind("Cluster"), true))
	// The Cluster owns the infrastructure template, so that deleting it
	// removes the template too, as upstream.
	if err := external.EnsureClusterOwnsTemplates(ctx, r.Client, r.Resolver, cluster, kcp.Namespace, kcp.Spec.MachineTemplate.Spec.InfrastructureRef); err != nil {
		return ctrl.Result{}, err
	}

	// Dependent steps: the certificates come before anything that could use
	// them; nothing else happens before the infrastructure is there;
	// initialization is observed before scaling, which depends on it.
	res, err = phase.Sequence(ctx, s,
		r.reconcileCertificates,
		r.waitForInfrastructure,
		r.reconcileInitialized,
	)
	if err != nil || res.RequeueAfter > 0 || s.infraWaiting != "" {
		return res, err
	}
	// The kubeconfig and the Machines are independent: the first Machine
	// must be created before the CA the kubeconfig needs exists at all.
	// etcd and the components are observed first: the Machine steps
	// (remediation) and the status read what they saw.
	res, err = phase.All(ctx, s,
		r.reconcileEtcd,
		r.reconcileComponents,
		r.reconcileKubeconfig,
		r.reconcilePreTerminateHooks,
		r.reconcileMachines,
	)
	// Each Machine's condition changes of this reconcile go in one patch.
	err = errors.Join(err, r.writeMachineConditions(ctx, s, nil))
	return phase.Soonest(res, ctrl.Result{RequeueAfter: s.requeueAfter}), err
}

// getCluster finds the Cluster of the control plane: by its Cluster owner
// reference, else by its cluster-name label. It returns nil without an error
// when the control plane names no Cluster yet.
func (r *Reconciler) getCluster(ctx context.Context, kcp *controlplanev1.KubeadmControlPlane) (*clusterv1.Cluster, error) {
	name := kcp.Labels[clusterv1.ClusterNameLabel]
	for _, ref := range kcp.OwnerReferences {
		if ref.Kind == "Cluster" && groupOf(ref.APIVersion) == clusterv1.GroupVersion.Group {
			name = ref.Name
			break
		}
	}
	if name == "" {
		return nil, nil
	}
	return util.GetCluster(ctx, r.Client, kcp.Namespace, name)
}

// reconcileDelete deletes the control-plane Machines once the Cluster's
// workers are gone, and drops the finalizer when no Machine is left.
func (r *Reconciler) reconcileDelete(ctx context.Context, s *scope) (ctrl.Result, error) {
	// Workers go first, as upstream orders it: their drain and Node
	// deletion need the API server the control plane serves.
	if s.cluster != nil {
		workers, err := r.countWorkers(ctx, s)
		if err != nil {
			return ctrl.Result{}, err
		}
		s.workersLeft = workers
		if workers > 0 {
			return ctrl.Result{RequeueAfter: waitForWorkers}, nil
		}
	}
	var errs []error
	for _, m := range s.machines {
		if !m.DeletionTimestamp.IsZero() {
			continue
		}
		ctrl.LoggerFrom(ctx).Info("Deleting control-plane Machine of a deleted KubeadmControlPlane", "machine", m.Name)
		if err := r.Client.Delete(ctx, m); client.IgnoreNotFound(err) != nil {
			errs = append(errs, fmt.Errorf("deleting Machine %s: %w", m.Name, err))
		}
	}
	// The Machines' hooks go too: their etcd goes with the control plane.
	if _, err := r.reconcilePreTerminateHooks(ctx, s); err != nil {
		errs = append(errs, err)
	}
	// The finalizer goes only when the cache shows no Machine left, so that
	// no Machine outlives its control plane.
	if len(s.machines) == 0 {
		controllerutil.RemoveFinalizer(s.kcp, controlplanev1.KubeadmControlPlaneFinalizer)
	}
	return ctrl.Result{}, kerrors.NewAggregate(errs)
}

// countWorkers counts the Cluster's Machines that are not control-plane
// Machines.
func (r *Reconciler) countWorkers(ctx context.Context, s *scope) (int, error) {
	list := &clusterv1.MachineList{}
	if err := r.Client.List(ctx, list, client.InNamespace(s.kcp.Namespace),
		client.MatchingLabels{clusterv1.ClusterNameLabel: s.cluster.Name}); err != nil {
		return 0, fmt.Errorf("listing the Machines of Cluster %s: %w", s.cluster.Name, err)
	}
	n := 0
	for i := range list.Items {
		if _, ok := list.Items[i].Labels[clusterv1.MachineControlPlaneLabel]; !ok {
			n++
		}
	}
	return n, nil
}
