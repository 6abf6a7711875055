// Package kubeadmconfig is the KubeadmConfig controller of the kubeadm
// bootstrap provider. It turns a Machine into a Node: once the cluster's
// infrastructure is provisioned it picks the Machine's role (kubeadm init for
// the first control-plane Machine, control-plane join or worker join once the
// control plane is initialized), makes sure the cluster certificates exist,
// creates a bootstrap token in the workload cluster for joins, and writes the
// cloud-config that package bootstrapdata renders into the data Secret.
//
// Only one Machine of a cluster ever runs kubeadm init: the one holding the
// cluster's init lock (package initlock). The lock is released once the
// control plane is initialized.
//
// Data is generated once. A KubeadmConfig is immutable once used, as upstream
// treats it: later spec changes are reported in the DataSecretAvailable
// condition, never silently applied.
package kubeadmconfig

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/bootstrap/kubeadm/initlock"
	"github.com/podcluster/podcluster/internal/patch"
	"github.com/podcluster/podcluster/internal/phase"
	"github.com/podcluster/podcluster/internal/remote"
	"github.com/podcluster/podcluster/internal/util"
)

// DefaultTokenTTL is how long a join token lives without a refresh: long
// enough for a slow machine to boot, short enough that a leaked token soon
// stops working.
const DefaultTokenTTL = 15 * time.Minute

// Requeue intervals, for what no watch reports. Watches on the config, its
// Machine, its Cluster and its data Secret wake the controller for the rest.
const (
	// waitForLock is how soon a control-plane Machine that lost the init race
	// looks again (the winner's progress also wakes it through the Cluster).
	waitForLock = 10 * time.Second
	// waitForSecret is how soon a config looks again for a Secret its files
	// or users refer to: those Secrets are not watched.
	waitForSecret = 10 * time.Second
	// waitForCertificates is how soon a join looks again for the cluster
	// certificates that the init Machine's reconcile creates.
	waitForCertificates = 10 * time.Second
	// waitForWorkload is how soon a join looks again for an unreachable workload cluster.
	waitForWorkload = 10 * time.Second
)

// Reconciler reconciles KubeadmConfigs.
type Reconciler struct {
	// Client reads from the manager's cache and writes to the API server.
	Client client.Client
	// APIReader reads without the cache where a stale read could break the
	// init lock or duplicate certificates.
	APIReader client.Reader
	// ClusterCache reaches workload clusters, where join tokens live.
	ClusterCache *remote.ClusterCache
	// WatchFilter, when set, limits the controller to objects labelled
	// cluster.x-k8s.io/watch-filter=<WatchFilter>.
	WatchFilter string
	// TokenTTL is the lifetime of join tokens; DefaultTokenTTL when zero.
	TokenTTL time.Duration

	// initLocks remembers the clusters whose init lock is released.
	initLocks initlock.Releaser
	// settler holds back a first status that only says the config waits:
	// most configs have their data within a second, and then the first
	// status written is the one with it.
	settler *patch.Settler
}

// statusSettle is how long a config's waiting first status is held back.
const statusSettle = 5 * time.Second

// SetupWithManager registers the controller.
func (r *Reconciler) SetupWithManager(_ context.Context, mgr ctrl.Manager, options controller.Options) error {
	if r.TokenTTL == 0 {
		r.TokenTTL = DefaultTokenTTL
	}
	r.settler = &patch.Settler{Period: statusSettle, HoldOnItsWay: true, MaxHold: patch.ProgressMaxHold}
	filter := util.WatchFilterPredicate(r.WatchFilter)
	// The Machine decides a config's role and when its token may expire (its
	// nodeRef); the Cluster is what a config without data waits for (its
	// infrastructure, endpoint and control-plane initialization).
	return ctrl.NewControllerManagedBy(mgr).
		For(&bootstrapv1.KubeadmConfig{}, builder.WithPredicates(filter)).
		Owns(&corev1.Secret{}, builder.WithPredicates(filter)).
		Watches(&clusterv1.Machine{}, handler.EnqueueRequestsFromMapFunc(machineToConfig), builder.WithPredicates(filter)).
		Watches(&clusterv1.Cluster{}, handler.EnqueueRequestsFromMapFunc(r.clusterToConfigs), builder.WithPredicates(filter)).
		WithOptions(options).
		Named("kubeadmconfig").
		Complete(r)
}

// machineToConfig wakes the config a Machine names as its bootstrap config.
// Machines bootstrapped by another provider name no KubeadmConfig: skip them.
func machineToConfig(_ context.Context, o client.Object) []reconcile.Request {
	m, ok := o.(*clusterv1.Machine)
	if !ok {
		return nil
	}
	ref := m.Spec.Bootstrap.ConfigRef
	if ref.Kind != "KubeadmConfig" || ref.APIGroup != bootstrapv1.GroupVersion.Group {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: m.Namespace, Name: ref.Name}}}
}

// clusterToConfigs wakes the configs of a cluster that still wait for data:
// the cluster's readiness is what they wait for.
func (r *Reconciler) clusterToConfigs(ctx context.Context, o client.Object) []reconcile.Request {
	list := &bootstrapv1.KubeadmConfigList{}
	// Read-only, and run on every Cluster status write: no copy of each config.
	if err := r.Client.List(ctx, list, client.InNamespace(o.GetNamespace()),
		client.MatchingLabels{clusterv1.ClusterNameLabel: o.GetName()}, client.UnsafeDisableDeepCopy); err != nil {
		return nil // a map function cannot retry; the next Cluster event will
	}
	// Any config's reconcile releases the init lock once the control plane
	// is initialized (see Reconcile). When none waits for data, one with
	// data is woken for it, so that the lock goes when initialization
	// happens, not when the first join comes.
	c, ok := o.(*clusterv1.Cluster)
	releaseDue := ok && util.ControlPlaneInitialized(c) && !r.initLocks.Released(c)
	var reqs []reconcile.Request
	var withData *bootstrapv1.KubeadmConfig
	for i := range list.Items {
		// Configs with data only refresh tokens on their own requeues:
		// waking them for every Cluster status write would be wasted work.
		if list.Items[i].Status.Initialization.DataSecretCreated == nil {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		} else if withData == nil {
			withData = &list.Items[i]
		}
	}
	if releaseDue && len(reqs) == 0 && withData != nil {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(withData)})
	}
	return reqs
}

// Reconcile brings one KubeadmConfig closer to having bootstrap data.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	config := &bootstrapv1.KubeadmConfig{}
	if err := r.Client.Get(ctx, req.NamespacedName, config); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	// One clock reading per reconcile, so that every token time agrees.
	s := &scope{config: config, now: time.Now()}
	helper, err := patch.NewHelper(config, r.Client)
	if err != nil {
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
	// The status comes from what this reconcile observed, even when it
	// failed half-way, and goes out in one patch with the label below.
	defer helper.PatchWithStatus(ctx, config, func() { setStatus(s) }, &retErr)

	if err := r.getOwners(ctx, s); err != nil {
		return ctrl.Result{}, err
	}
	if s.machine == nil || s.cluster == nil {
		return ctrl.Result{}, nil // the owner reference or the Cluster appearing is an event
	}
	// The label is how clusterToConfigs finds a cluster's configs.
	util.SetLabel(config, clusterv1.ClusterNameLabel, s.cluster.Name)
	if s.paused = util.IsPaused(s.cluster, config); s.paused {
		return ctrl.Result{}, nil
	}
	if !config.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil // no finalizer: the data Secret goes with its owner
	}
	// The init lock has done its job once the control plane is initialized.
	// The first config reconciled after that deletes it: the one that
	// initialized, which clusterToConfigs wakes for this, or the first join.
	// For the rest the releaser sends nothing.
	if util.ControlPlaneInitialized(s.cluster) {
		if err := r.initLocks.Release(ctx, r.Client, s.cluster); err != nil {
			return ctrl.Result{}, err
		}
	}
	// Data is made once; afterwards only its join token needs care.
	if config.Status.Initialization.DataSecretCreated != nil && *config.Status.Initialization.DataSecretCreated {
		return r.reconcileExisting(ctx, s)
	}
	return r.reconcileData(ctx, s)
}

// getOwners finds the Machine that owns the config and its Cluster. A missing
// one is a wait, not an error: owners are set and created after the config,
// and each of them appearing is an event that wakes the config.
func (r *Reconciler) getOwners(ctx context.Context, s *scope) error {
	owner := metav1.GetControllerOf(s.config)
	// Only a Machine gives the role (control-plane label), the version and
	// the Cluster; a config owned by anything else cannot make data.
	if owner == nil || owner.Kind != "Machine" {
		s.waiting = "waiting for a Machine to own this KubeadmConfig"
		return nil
	}
	m := &clusterv1.Machine{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: s.config.Namespace, Name: owner.Name}, m); err != nil {
		if apierrors.IsNotFound(err) {
			s.waiting = "waiting for Machine " + owner.Name
			return nil
		}
		return err
	}
	s.machine = m
	cluster, err := util.GetCluster(ctx, r.Client, m.Namespace, m.Spec.ClusterName)
	if err != nil {
		if apierrors.IsNotFound(err) {
			s.waiting = "waiting for Cluster " + m.Spec.ClusterName
			return nil
		}
		return err
	}
	s.cluster = cluster
	return nil
}
