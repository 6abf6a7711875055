// Package kubernetesmachine is the KubernetesMachine controller of the
// infrastructure provider. A KubernetesMachine is one workload-cluster Node,
// run as a privileged Pod (package nodepod) in the management cluster.
//
// Once the Machine's bootstrap data exists the controller
//
//  1. converts the cloud-config into a boot script (package bootscript) and
//     stores it, with the node's boot files, in the immutable Secret
//     "<name>-bootstrap", controlled by the KubernetesMachine;
//  2. creates the PersistentVolumeClaims of spec.volumeClaimTemplates and the
//     node Pod, named after the KubernetesMachine. The image is spec.image, or
//     the node image for Machine.spec.version; the ConfigMap
//     podcluster-node-images in the KubernetesMachine's namespace can map
//     versions to other images (a missing ConfigMap maps nothing);
//  3. lets the node run the script itself: a systemd path unit in the node
//     starts it once containerd is up. The controller never execs into Pods;
//  4. reads the result from the Pod's status, as the kubelet reports it: the
//     node container's startup probe looks for the bootstrap sentinel, so
//     containerStatuses[].started means bootstrap succeeded, and a failed
//     bootstrap terminates the container with a termination message that
//     holds the failing step and the tail of its output;
//  5. sets spec.providerID to kubernetes://<namespace>/<pod name> and the
//     addresses (Pod IP, hostname) once the Pod has an IP, and sets the same
//     providerID on the workload Node (named after the Pod's hostname, the
//     KubernetesMachine's name) through the workload cluster's API. The
//     machine is provisioned once bootstrap succeeded and the Node has it.
//
// The boot Secret, the claims and the Pod are used only when the
// KubernetesMachine controls them (by UID): an object someone else created
// under one of those names first is neither used nor changed, no node Pod is
// created, and PodReady names the object until it is gone.
//
// A node Pod is never created twice once the machine was provisioned or
// failed: a Pod that is lost or terminates then is a terminal failure (phase
// Failed), for remediation to replace the Machine. A Pod lost before that,
// while bootstrap had not finished, is re-created under the same name.
//
// Deleting a KubernetesMachine deletes the Pod, the boot Secret and the claims
// it created, and waits until they are gone.
package kubernetesmachine

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
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
	"github.com/podcluster/podcluster/internal/expectations"
	"github.com/podcluster/podcluster/internal/patch"
	"github.com/podcluster/podcluster/internal/phase"
	"github.com/podcluster/podcluster/internal/remote"
	"github.com/podcluster/podcluster/internal/util"
)

// Requeue intervals. Watches wake the controller for everything else.
const (
	// waitForClusterInfrastructure is how soon a machine looks again for its
	// Cluster's infrastructure: Cluster status changes are not watched.
	waitForClusterInfrastructure = 10 * time.Second
	// waitForDataSecret is how soon a machine looks again for a bootstrap data
	// Secret that its Machine names but that does not exist (yet).
	waitForDataSecret = 10 * time.Second
	// waitForWorkloadNode is how soon a machine looks again for its workload
	// Node or an unreachable workload cluster. Node events usually come first.
	waitForWorkloadNode = 10 * time.Second
	// statusSettle is how long a minor status change (a condition's reason
	// or message while its truth stays) must last before it is written.
	statusSettle = 5 * time.Second
	// waitForForeignObject is how soon a name held by an object that is not
	// ours is looked at again.
	waitForForeignObject = time.Minute
)

// Reconciler reconciles KubernetesMachines.
type Reconciler struct {
	Client client.Client
	// APIReader reads around the cache: a node Pod missing from the cache must
	// really be gone before the machine fails or the Pod is re-created, and the
	// images ConfigMap is read once per Pod rather than cached cluster-wide.
	APIReader    client.Reader
	ClusterCache *remote.ClusterCache
	// WatchFilter, when set, limits the controller to objects labelled
	// cluster.x-k8s.io/watch-filter=<WatchFilter>.
	WatchFilter string

	nodeEvents chan event.GenericEvent
	settler    *patch.Settler
	// created holds the children this process created that its cache may not
	// show yet, by machine: a miss for one of them is read through the API
	// server before anything is created again (which would only fail with
	// AlreadyExists, a 409).
	created expectations.Expectations
}

// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=kubernetesmachines,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=kubernetesmachines/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=kubernetesmachines/finalizers,verbs=update
// +kubebuilder:rbac:groups=cluster.x-k8s.io,resources=clusters;machines,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get
// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list;watch

// SetupWithManager registers the controller.
func (r *Reconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, options controller.Options) error {
	r.nodeEvents = make(chan event.GenericEvent, 1024)
	r.settler = &patch.Settler{Period: statusSettle, Minor: []string{"addresses"}, HoldOnItsWay: true, MaxHold: patch.ProgressMaxHold}
	filter := util.WatchFilterPredicate(r.WatchFilter)
	err := ctrl.NewControllerManagedBy(mgr).
		For(&infrav1.KubernetesMachine{}, builder.WithPredicates(filter)).
		Owns(&corev1.Pod{}).
		Owns(&corev1.Secret{}).
		Owns(&corev1.PersistentVolumeClaim{}).
		// What the machine reads from its Machine is spec (bootstrap data
		// name, version, failure domain) and labels (the control-plane role);
		// the core's frequent status writes are of no interest.
		Watches(&clusterv1.Machine{}, handler.EnqueueRequestsFromMapFunc(machineToKubernetesMachine),
			builder.WithPredicates(filter, predicate.Or(predicate.GenerationChangedPredicate{}, predicate.LabelChangedPredicate{}))).
		Watches(&clusterv1.Cluster{}, handler.EnqueueRequestsFromMapFunc(util.ClusterToObjects(r.Client, func() client.ObjectList { return &infrav1.KubernetesMachineList{} })),
			builder.WithPredicates(filter, predicate.GenerationChangedPredicate{})).
		WatchesRawSource(source.Channel(r.nodeEvents, &handler.EnqueueRequestForObject{})).
		WithOptions(options).
		Named("kubernetesmachine").
		Complete(r)
	if err != nil {
		return err
	}
	if r.ClusterCache != nil {
		r.ClusterCache.AddNodeHandler(r.workloadNodeToKubernetesMachine(ctx))
	}
	return nil
}

// Reconcile brings one KubernetesMachine closer to its desired state.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	km := &infrav1.KubernetesMachine{}
	if err := r.Client.Get(ctx, req.NamespacedName, km); err != nil {
		if apierrors.IsNotFound(err) {
			r.created.Forget(req.String())
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	// Events of owned objects and workload Nodes reach us whatever the filter.
	if r.WatchFilter != "" && km.Labels[clusterv1.WatchLabel] != r.WatchFilter {
		return ctrl.Result{}, nil
	}
	s := &scope{km: km}
	if err := r.getOwners(ctx, s); err != nil {
		return ctrl.Result{}, err
	}
	deleting := !km.DeletionTimestamp.IsZero()
	if (s.machine == nil || s.cluster == nil) && !deleting {
		// The owner reference, the Machine or the Cluster appearing is an event.
		return ctrl.Result{}, nil
	}

	helper, err := patch.NewHelper(km, r.Client)
	if err != nil {
		return ctrl.Result{}, err
	}
	// A minor status change is held back until it lasts (see patch.Settler);
	// the requeue writes it then. Deferred calls run last-in first-out.
	helper.Settle(r.settler)
	defer func() {
		if retErr == nil {
			res = phase.Soonest(res, ctrl.Result{RequeueAfter: helper.HeldFor()})
		}
	}()
	defer helper.PatchWithStatus(ctx, km, func() { setStatus(s) }, &retErr)

	if s.paused = util.IsPaused(s.cluster, km); s.paused {
		return ctrl.Result{}, nil
	}
	if deleting {
		return r.reconcileDelete(ctx, s)
	}
	// The finalizer is added with the first child (see ensureFinalizer): a
	// machine still waiting has nothing to clean up, and its spec is then
	// written once, with the providerID.
	util.SetLabel(km, clusterv1.ClusterNameLabel, s.machine.Spec.ClusterName)

	// Dependent steps: the Pod, then the workload Node it registers.
	s.observed = true
	return phase.Sequence(ctx, s,
		r.reconcilePod,
		r.reconcileWorkloadNode,
	)
}

// getOwners finds the Machine that controls the KubernetesMachine and its
// Cluster. A missing owner leaves the scope's field nil.
func (r *Reconciler) getOwners(ctx context.Context, s *scope) error {
	km := s.km
	clusterName := km.Labels[clusterv1.ClusterNameLabel]
	if name := machineOwner(km); name != "" {
		m := &clusterv1.Machine{}
		err := r.Client.Get(ctx, client.ObjectKey{Namespace: km.Namespace, Name: name}, m)
		switch {
		case err == nil:
			s.machine = m
			clusterName = m.Spec.ClusterName
		case !apierrors.IsNotFound(err):
			return err
		}
	}
	if clusterName == "" {
		return nil
	}
	cluster, err := util.GetCluster(ctx, r.Client, km.Namespace, clusterName)
	switch {
	case err == nil:
		s.cluster = cluster
	case !apierrors.IsNotFound(err):
		return err
	}
	return nil
}

// machineOwner is the name of the Machine that controls km, or "".
func machineOwner(km *infrav1.KubernetesMachine) string {
	ref := util.ControllerOf(km)
	if ref == nil || ref.Kind != "Machine" || groupOf(ref.APIVersion) != clusterv1.GroupVersion.Group {
		return ""
	}
	return ref.Name
}

// machineToKubernetesMachine requeues a Machine's KubernetesMachine, for
// example when its bootstrap data Secret name appears.
func machineToKubernetesMachine(_ context.Context, o client.Object) []reconcile.Request {
	m, ok := o.(*clusterv1.Machine)
	if !ok {
		return nil
	}
	ref := m.Spec.InfrastructureRef
	if ref.Kind != "KubernetesMachine" || ref.APIGroup != infrav1.GroupVersion.Group {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: m.Namespace, Name: ref.Name}}}
}

// workloadNodeToKubernetesMachine wakes the KubernetesMachine of a workload
// Node that has no providerID yet: the Node registering is what a
// bootstrapped machine waits for. The Node is named after the machine.
func (r *Reconciler) workloadNodeToKubernetesMachine(ctx context.Context) remote.NodeHandler {
	return func(cluster client.ObjectKey, node *corev1.Node) {
		if node.Spec.ProviderID != "" {
			return
		}
		km := &infrav1.KubernetesMachine{}
		if err := r.Client.Get(ctx, client.ObjectKey{Namespace: cluster.Namespace, Name: node.Name}, km); err != nil {
			return
		}
		if km.Labels[clusterv1.ClusterNameLabel] != cluster.Name {
			return
		}
		select {
		case r.nodeEvents <- event.GenericEvent{Object: km}:
		case <-ctx.Done():
		}
	}
}
