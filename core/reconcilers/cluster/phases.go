package cluster

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/contract"
	"github.com/podcluster/podcluster/internal/kubeconfig"
	"github.com/podcluster/podcluster/internal/pki"
	"github.com/podcluster/podcluster/internal/remote"
	"github.com/podcluster/podcluster/internal/util"
)

// isTrue reads the contract's optional booleans: unset means not yet.
var isTrue = func(b *bool) bool { return b != nil && *b }

// adopt makes the Cluster the controller owner of a provider object, so that
// the object's events requeue the Cluster and garbage collection follows it.
func (r *Reconciler) adopt(ctx context.Context, s *scope, obj *unstructured.Unstructured) error {
	return util.Adopt(ctx, r.Client, obj, s.cluster, clusterv1.GroupVersion.WithKind("Cluster"), s.cluster.Name)
}

// reconcileInfrastructure follows the infrastructure cluster: provisioned,
// endpoint and failure domains.
func (r *Reconciler) reconcileInfrastructure(ctx context.Context, s *scope) (ctrl.Result, error) {
	c := s.cluster
	if !c.Spec.InfrastructureRef.IsDefined() {
		return ctrl.Result{}, nil
	}
	obj, err := r.getExternal(ctx, c.Spec.InfrastructureRef, c.Namespace)
	if apierrors.IsNotFound(err) {
		// Often just not created yet (one apply of many objects): reported in
		// the status rather than returned, so it does not back off.
		s.infraMissing = true
		return ctrl.Result{}, nil
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	s.infra = obj
	if err := r.adopt(ctx, s, obj); err != nil {
		return ctrl.Result{}, err
	}
	provisioned, err := contract.InfraClusterProvisioned(obj)
	if err != nil {
		return ctrl.Result{}, err
	}
	// Provisioned only ever turns true: the contract says a provider that
	// reports it once has done its job, whatever it reports afterwards.
	if provisioned {
		t := true
		c.Status.Initialization.InfrastructureProvisioned = &t
	}
	// The endpoint is copied once; a user-set endpoint wins over the
	// provider's, and a copied one never changes under running Machines.
	if !c.Spec.ControlPlaneEndpoint.IsValid() {
		ep, err := contract.ControlPlaneEndpoint(obj)
		if err != nil {
			return ctrl.Result{}, err
		}
		if ep.IsValid() {
			ctrl.LoggerFrom(ctx).Info("Copying control plane endpoint from the infrastructure", "host", ep.Host, "port", ep.Port)
			c.Spec.ControlPlaneEndpoint = ep
		}
	}
	fds, err := contract.FailureDomains(obj)
	if err != nil {
		return ctrl.Result{}, err
	}
	// Sorted and nil when empty, so that an unchanged list never shows up
	// as a diff in the status patch.
	sort.Slice(fds, func(i, j int) bool { return fds[i].Name < fds[j].Name })
	if len(fds) == 0 {
		fds = nil
	}
	c.Status.FailureDomains = fds
	return ctrl.Result{}, nil
}

// reconcileControlPlane follows the control-plane object, or, without one, the
// control-plane Machines.
func (r *Reconciler) reconcileControlPlane(ctx context.Context, s *scope) (ctrl.Result, error) {
	c := s.cluster
	if !c.Spec.ControlPlaneRef.IsDefined() {
		// Without a provider, the first control-plane Machine with a Node
		// proves that an API server answered the kubelet.
		for _, m := range s.controlPlaneMachines() {
			if m.Status.NodeRef.Name != "" {
				t := true
				c.Status.Initialization.ControlPlaneInitialized = &t
				break
			}
		}
		return ctrl.Result{}, nil
	}
	obj, err := r.getExternal(ctx, c.Spec.ControlPlaneRef, c.Namespace)
	if apierrors.IsNotFound(err) {
		// As for the infrastructure: reported, not returned as an error.
		s.controlPlaneMissing = true
		return ctrl.Result{}, nil
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	s.controlPlane = obj
	if err := r.adopt(ctx, s, obj); err != nil {
		return ctrl.Result{}, err
	}
	initialized, err := contract.ControlPlaneInitialized(obj)
	if err != nil {
		return ctrl.Result{}, err
	}
	// Like InfrastructureProvisioned, initialization never goes back: the
	// cluster's workers may already have joined.
	if initialized {
		t := true
		c.Status.Initialization.ControlPlaneInitialized = &t
	}
	return ctrl.Result{}, nil
}

// controlPlaneMachines are the Cluster's Machines with the control-plane
// label. The label, not an owner, decides: stand-alone control-plane Machines
// have no owner but the Cluster.
func (s *scope) controlPlaneMachines() []*clusterv1.Machine {
	var out []*clusterv1.Machine
	for _, m := range s.machines {
		if _, ok := m.Labels[clusterv1.MachineControlPlaneLabel]; ok {
			out = append(out, m)
		}
	}
	return out
}

// workerMachines are all the other Machines of the Cluster.
func (s *scope) workerMachines() []*clusterv1.Machine {
	var out []*clusterv1.Machine
	for _, m := range s.machines {
		if _, ok := m.Labels[clusterv1.MachineControlPlaneLabel]; !ok {
			out = append(out, m)
		}
	}
	return out
}

// reconcileKubeconfig writes "<cluster>-kubeconfig" from the cluster CA when
// no control-plane provider does: an admin kubeconfig for the endpoint.
func (r *Reconciler) reconcileKubeconfig(ctx context.Context, s *scope) (ctrl.Result, error) {
	c := s.cluster
	// A control-plane provider writes its own kubeconfig, with its own
	// rotation rules; a second writer would fight it.
	if c.Spec.ControlPlaneRef.IsDefined() {
		return ctrl.Result{}, nil
	}
	// The endpoint is the kubeconfig's server: without it there is nothing to write.
	if !c.Spec.ControlPlaneEndpoint.IsValid() {
		s.kubeconfigMessage = "waiting for the control plane endpoint"
		return ctrl.Result{}, nil
	}
	existing := &corev1.Secret{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: c.Namespace, Name: remote.KubeconfigSecretName(c.Name)}, existing)
	if err == nil {
		// Written once and never rewritten: users and tools may hold the
		// file, and the CA it is signed by does not change.
		return ctrl.Result{}, nil
	}
	if !apierrors.IsNotFound(err) {
		return ctrl.Result{}, err
	}
	caSecret := &corev1.Secret{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: c.Namespace, Name: c.Name + "-ca"}, caSecret); err != nil {
		if apierrors.IsNotFound(err) {
			// The CA comes from a bootstrap provider whose Secrets we do not
			// watch, so polling is the only way to notice it.
			s.kubeconfigMessage = fmt.Sprintf("waiting for the cluster CA Secret %s-ca", c.Name)
			return ctrl.Result{RequeueAfter: waitForCA}, nil
		}
		return ctrl.Result{}, err
	}
	ca, err := pki.ParseKeyPair(caSecret.Data[corev1.TLSCertKey], caSecret.Data[corev1.TLSPrivateKeyKey])
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("reading the cluster CA from Secret %s-ca: %w", c.Name, err)
	}
	server := fmt.Sprintf("https://%s", netJoin(c.Spec.ControlPlaneEndpoint.Host, c.Spec.ControlPlaneEndpoint.Port))
	data, err := kubeconfig.NewAdmin(c.Name, server, ca)
	if err != nil {
		return ctrl.Result{}, err
	}
	// Owned by the Cluster as controller, so that garbage collection removes
	// it with the Cluster and no other controller adopts it.
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:            remote.KubeconfigSecretName(c.Name),
			Namespace:       c.Namespace,
			Labels:          map[string]string{clusterv1.ClusterNameLabel: c.Name},
			OwnerReferences: []metav1.OwnerReference{util.OwnerRef(c, clusterv1.GroupVersion.WithKind("Cluster"), true)},
		},
		Type: clusterv1.ClusterSecretType,
		Data: map[string][]byte{"value": data},
	}
	ctrl.LoggerFrom(ctx).Info("Writing the cluster's kubeconfig Secret", "secret", secret.Name)
	// AlreadyExists means a concurrent writer (or a stale cache) got there
	// first; its Secret is as good as ours.
	if err := r.Client.Create(ctx, secret); err != nil && !apierrors.IsAlreadyExists(err) {
		return ctrl.Result{}, fmt.Errorf("creating Secret %s: %w", secret.Name, err)
	}
	return ctrl.Result{}, nil
}

// netJoin is net.JoinHostPort for an int32 port: IPv6 literals need brackets
// in a URL.
func netJoin(host string, port int32) string {
	for _, ch := range host {
		if ch == ':' { // IPv6 literal
			return fmt.Sprintf("[%s]:%d", host, port)
		}
	}
	return fmt.Sprintf("%s:%d", host, port)
}

// reconcileDelete tears the cluster down in order: MachineDeployments,
// MachineSets and worker Machines; then the control plane (and, without a
// control-plane provider, the control-plane Machines); then the
// infrastructure. Each step waits until the previous one is gone.
func (r *Reconciler) reconcileDelete(ctx context.Context, s *scope) (ctrl.Result, error) {
	c := s.cluster
	log := ctrl.LoggerFrom(ctx)
	// deleteAll skips objects already going, so that each reconcile while a
	// step waits costs reads, not repeated deletes.
	deleteAll := func(objs []client.Object) error {
		for _, o := range objs {
			if o.GetDeletionTimestamp().IsZero() {
				log.Info("Deleting", "kind", fmt.Sprintf("%T", o), "name", o.GetName())
				if err := r.Client.Delete(ctx, o); client.IgnoreNotFound(err) != nil {
					return fmt.Errorf("deleting %s: %w", o.GetName(), err)
				}
			}
		}
		return nil
	}

	// 1. Workers: everything not owned by a MachineDeployment or MachineSet
	// that is going anyway is deleted directly. Workers go first so that
	// they drain against a control plane that still answers.
	var workers []client.Object
	for _, md := range s.machineDeployments {
		workers = append(workers, md)
	}
	for _, ms := range s.machineSets {
		if owner := util.ControllerOf(ms); owner == nil || owner.Kind != "MachineDeployment" {
			workers = append(workers, ms)
		}
	}
	var cpMachines []client.Object
	for _, m := range s.machines {
		owner := util.ControllerOf(m)
		_, isCP := m.Labels[clusterv1.MachineControlPlaneLabel]
		switch {
		case owner != nil && owner.Kind == "MachineSet":
			// Its MachineSet deletes it.
		case isCP && c.Spec.ControlPlaneRef.IsDefined():
			// The control-plane provider deletes its Machines.
		case isCP:
			cpMachines = append(cpMachines, m)
		default:
			workers = append(workers, m)
		}
	}
	// Owned worker Machines still count: the step waits until their owners
	// have deleted them, not just until the owners are asked to.
	if len(workers) > 0 || len(s.workerMachines()) > 0 {
		s.deletingReason = clusterv1.ClusterDeletingWaitingForWorkersDeletionReason
		s.deletingMessage = fmt.Sprintf("waiting for %d MachineDeployments, %d MachineSets and %d worker Machines to be deleted",
			len(s.machineDeployments), len(s.machineSets), len(s.workerMachines()))
		return ctrl.Result{}, deleteAll(workers)
	}

	// 2. The control plane, once nothing needs its API server any more.
	if c.Spec.ControlPlaneRef.IsDefined() {
		obj, err := r.getExternal(ctx, c.Spec.ControlPlaneRef, c.Namespace)
		if err == nil {
			s.deletingReason = clusterv1.ClusterDeletingWaitingForControlPlaneDeletionReason
			s.deletingMessage = fmt.Sprintf("waiting for %s %s to be deleted", obj.GetKind(), obj.GetName())
			return ctrl.Result{}, deleteAll([]client.Object{obj})
		}
		if !apierrors.IsNotFound(err) {
			return ctrl.Result{}, err
		}
	}
	// Control-plane Machines a provider owns are counted too: the provider
	// may still be deleting them after its own object is gone.
	if len(cpMachines) > 0 || len(s.controlPlaneMachines()) > 0 {
		s.deletingReason = clusterv1.ClusterDeletingWaitingForControlPlaneDeletionReason
		s.deletingMessage = fmt.Sprintf("waiting for %d control-plane Machines to be deleted", len(s.controlPlaneMachines()))
		return ctrl.Result{}, deleteAll(cpMachines)
	}

	// 3. The infrastructure last: it carries the endpoint (and, for the
	// Kubernetes provider, the Service) everything above talked through.
	if c.Spec.InfrastructureRef.IsDefined() {
		obj, err := r.getExternal(ctx, c.Spec.InfrastructureRef, c.Namespace)
		if err == nil {
			s.deletingReason = clusterv1.ClusterDeletingWaitingForInfrastructureDeletionReason
			s.deletingMessage = fmt.Sprintf("waiting for %s %s to be deleted", obj.GetKind(), obj.GetName())
			return ctrl.Result{}, deleteAll([]client.Object{obj})
		}
		if !apierrors.IsNotFound(err) {
			return ctrl.Result{}, err
		}
	}

	log.Info("Cluster deleted; removing finalizer")
	// Drop the cached client now: its kubeconfig Secret goes with the Cluster
	// and a later Cluster of the same name must not reuse the connection.
	r.ClusterCache.Drop(client.ObjectKeyFromObject(c))
	controllerutil.RemoveFinalizer(c, clusterv1.ClusterFinalizer)
	return ctrl.Result{}, nil
}
