package kubernetesmachine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
	"github.com/podcluster/podcluster/infrastructure/kubernetes/bootscript"
	"github.com/podcluster/podcluster/infrastructure/kubernetes/nodepod"
	"github.com/podcluster/podcluster/internal/remote"
	"github.com/podcluster/podcluster/internal/util"
)

// Keys of the bootstrap data Secret (the bootstrap contract).
const (
	dataValueKey  = "value"
	dataFormatKey = "format"
	// cloudConfigFormat is the only format the boot script can be made from.
	cloudConfigFormat = "cloud-config"
)

// scope carries what one reconcile observed. Status setters read only this.
type scope struct {
	km *infrav1.KubernetesMachine
	// machine and cluster are nil when they are gone (only possible while deleting).
	machine *clusterv1.Machine
	cluster *clusterv1.Cluster
	paused  bool
	// observed is set once the Pod phase ran.
	observed bool

	// Set by reconcilePod before the Pod exists.
	waitingForInfra    bool   // the Cluster's infrastructure is not provisioned
	waitingForData     string // why the bootstrap data is not there yet
	bootstrapDataError string // the bootstrap data cannot be turned into a script
	specError          string // the node Pod cannot be built from the spec
	podError           string // a name the node Pod needs is held by an object that is not ours

	// Set by reconcilePod.
	pod       *corev1.Pod // the node Pod, nil when there is none
	podLost   bool        // the Pod is gone after provisioning or failure: terminal
	recreated bool        // the Pod was lost before provisioning and created again
	zone      string      // the zone of the management Node the Pod runs on

	// Set by reconcileWorkloadNode.
	nodeWait        string // why the workload Node does not carry the providerID yet
	nodeProviderSet bool   // the workload Node carries spec.providerID

	// Set by reconcileDelete.
	deleteWait string
}

// ProviderID is the providerID of the node Pod name in namespace.
func ProviderID(namespace, podName string) string {
	return infrav1.ProviderIDPrefix + namespace + "/" + podName
}

// reconcilePod finds the node Pod, or creates it (with its boot Secret and
// claims) when the machine has none and may have one.
func (r *Reconciler) reconcilePod(ctx context.Context, s *scope) (ctrl.Result, error) {
	km := s.km
	pod, err := r.getPod(ctx, km)
	if err != nil {
		return ctrl.Result{}, err
	}
	if pod != nil {
		if !ownedBy(pod, km) {
			s.podError = foreignMessage("Pod", pod.Name)
			return ctrl.Result{RequeueAfter: waitForForeignObject}, nil
		}
		s.pod = pod
		if km.Spec.ProviderID != "" {
			// Without the providerID this is a snapshot from before the
			// patch that created the Pod wrote both (a cache behind): a
			// finalizer patch from it would only conflict. observePod adds
			// it with the providerID should that patch have failed.
			ensureFinalizer(ctx, km)
		}
		return ctrl.Result{}, r.observePod(ctx, s)
	}
	if isProvisioned(km) || km.Status.Phase == infrav1.KubernetesMachinePhaseFailed || bootstrapSucceededBefore(km) {
		// Never a second Pod, and never a second bootstrap: a node that
		// bootstrapped (or failed to) is gone for good.
		if !s.podLostBefore() {
			ctrl.LoggerFrom(ctx).Info("The node Pod is gone; the machine has failed", "pod", km.Name)
		}
		s.podLost = true
		return ctrl.Result{}, nil
	}
	// A Pod that existed before provisioning is re-created; the status says
	// so (it went to Provisioning when the Pod was first created).
	s.recreated = km.Status.Phase == infrav1.KubernetesMachinePhaseProvisioning
	return r.createPod(ctx, s)
}

// podLostBefore reports whether an earlier reconcile already found the Pod lost.
func (s *scope) podLostBefore() bool {
	c := conditionOf(s.km, infrav1.KubernetesMachinePodReadyCondition)
	return c != nil && c.Reason == infrav1.KubernetesMachinePodReadyPodLostReason
}

// getPod reads the node Pod from the cache. When a Pod was created, as the
// machine says (a status past Pending, or the providerID that goes out with
// the Pod's creation) or as this process remembers, a cache miss is confirmed
// with a live read: a Pod created moments ago may not be in the cache yet, and
// must be neither taken for lost nor created again.
func (r *Reconciler) getPod(ctx context.Context, km *infrav1.KubernetesMachine) (*corev1.Pod, error) {
	key := client.ObjectKeyFromObject(km)
	pod := &corev1.Pod{}
	err := r.Client.Get(ctx, key, pod)
	if err == nil {
		r.created.Observed(key.String(), createdName(pod))
		return pod, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("reading Pod %s: %w", key, err)
	}
	pending := km.Status.Phase == "" || km.Status.Phase == infrav1.KubernetesMachinePhasePending
	if pending && km.Spec.ProviderID == "" && !r.created.Pending(key.String(), "Pod/"+key.Name) {
		return nil, nil // no Pod was created yet
	}
	if err := r.APIReader.Get(ctx, key, pod); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading Pod %s: %w", key, err)
	}
	return pod, nil
}

// createPod makes the boot Secret, the claims and the node Pod, each complete
// in one request and under a name derived from the machine's, so that a crash
// between two steps duplicates nothing.
func (r *Reconciler) createPod(ctx context.Context, s *scope) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	km, m, cluster := s.km, s.machine, s.cluster
	if !ptrTrue(cluster.Status.Initialization.InfrastructureProvisioned) {
		s.waitingForInfra = true
		return ctrl.Result{RequeueAfter: waitForClusterInfrastructure}, nil
	}
	if m.Spec.Bootstrap.DataSecretName == nil || *m.Spec.Bootstrap.DataSecretName == "" {
		s.waitingForData = fmt.Sprintf("waiting for Machine %s to name its bootstrap data Secret", m.Name)
		return ctrl.Result{}, nil // the Machine changing is an event
	}
	data, res, err := r.bootstrapData(ctx, s, *m.Spec.Bootstrap.DataSecretName)
	if err != nil || data == nil {
		return res, err
	}
	image, err := r.image(ctx, km, m.Spec.Version)
	if err != nil {
		s.specError = err.Error()
		return ctrl.Result{}, reconcile.TerminalError(err)
	}
	in := nodepod.Input{
		Machine:       km,
		ClusterName:   m.Spec.ClusterName,
		ControlPlane:  isControlPlane(m),
		FailureDomain: m.Spec.FailureDomain,
		APIServerPort: cluster.Spec.ClusterNetwork.APIServerPort,
		Image:         image,
	}
	pod, err := nodepod.Build(in)
	if err != nil {
		s.specError = err.Error()
		return ctrl.Result{}, reconcile.TerminalError(err)
	}
	// Converted for this Pod: a Jinja-templated cloud-config gets the Pod's
	// hostname, name and zone as its instance data (docs/decisions.md).
	script, err := bootscript.ConvertFor(data, bootscript.InstanceDataOf(pod))
	if err != nil {
		s.bootstrapDataError = fmt.Sprintf("converting the cloud-config of Secret %s into a boot script: %v", *m.Spec.Bootstrap.DataSecretName, err)
		return ctrl.Result{}, reconcile.TerminalError(errors.New(s.bootstrapDataError))
	}
	owner := util.OwnerRef(km, infrav1.GroupVersion.WithKind("KubernetesMachine"), true)
	ensureFinalizer(ctx, km)

	// The Pod mounts the boot Secret and the claims by name, and runs the
	// Secret's script as root: a name someone else took first stops the
	// machine here, before there is a Pod to mount it.
	secret := bootSecret(km, m.Spec.ClusterName, script)
	if size := secretSize(secret); size > corev1.MaxSecretSize {
		// The API server would refuse it at every retry; only smaller data helps.
		s.bootstrapDataError = fmt.Sprintf("the boot Secret %s would be %d bytes (the script converted from the cloud-config of Secret %s is %d), "+
			"more than the %d bytes a Secret can carry: make the bootstrap config's files or commands smaller",
			secret.Name, size, *m.Spec.Bootstrap.DataSecretName, len(script), corev1.MaxSecretSize)
		return ctrl.Result{}, reconcile.TerminalError(errors.New(s.bootstrapDataError))
	}
	secret.OwnerReferences = []metav1.OwnerReference{owner}
	children := []client.Object{secret}
	for _, pvc := range nodepod.PVCs(in) {
		pvc.OwnerReferences = []metav1.OwnerReference{owner}
		children = append(children, &pvc)
	}
	for _, obj := range children {
		foreign, err := r.create(ctx, km, obj)
		if err != nil {
			return ctrl.Result{}, err
		}
		if foreign {
			s.podError = foreignMessage(kindOf(obj), obj.GetName())
			return ctrl.Result{RequeueAfter: waitForForeignObject}, nil
		}
	}
	pod.OwnerReferences = []metav1.OwnerReference{owner}
	// The providerID names the Pod, so it is known now: it goes out in the
	// same spec patch as the finalizer rather than in one of its own later.
	if km.Spec.ProviderID == "" {
		km.Spec.ProviderID = ProviderID(pod.Namespace, pod.Name)
		log.Info("Setting the providerID", "providerID", km.Spec.ProviderID)
	}
	if s.recreated {
		log.Info("Re-creating the node Pod, lost before bootstrap finished", "pod", pod.Name, "image", pod.Spec.Containers[0].Image)
	} else {
		log.Info("Creating the node Pod", "pod", pod.Name, "image", pod.Spec.Containers[0].Image)
	}
	err = r.Client.Create(ctx, pod)
	if err == nil || apierrors.IsAlreadyExists(err) {
		r.created.Expect(client.ObjectKeyFromObject(km).String(), createdName(pod))
	}
	if err != nil {
		if !apierrors.IsAlreadyExists(err) {
			return ctrl.Result{}, fmt.Errorf("creating Pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
		// Created earlier and not in the cache yet: read it.
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(pod), pod); err != nil {
			return ctrl.Result{}, fmt.Errorf("reading Pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
		if !ownedBy(pod, km) {
			s.podError = foreignMessage("Pod", pod.Name)
			return ctrl.Result{RequeueAfter: waitForForeignObject}, nil
		}
	}
	s.pod = pod
	return ctrl.Result{}, nil
}

// ensureFinalizer adds the finalizer once the machine has children (or is
// about to create them), so that deletion removes them first.
func ensureFinalizer(ctx context.Context, km *infrav1.KubernetesMachine) {
	if controllerutil.AddFinalizer(km, infrav1.MachineFinalizer) {
		ctrl.LoggerFrom(ctx).V(1).Info("Adding finalizer")
	}
}

// create creates a child of the machine. One that exists already is fine when
// km controls it (for example the boot Secret of a re-created Pod); one that
// km does not control is foreign: it is neither used nor changed.
func (r *Reconciler) create(ctx context.Context, km *infrav1.KubernetesMachine, obj client.Object) (foreign bool, err error) {
	kind := kindOf(obj)
	existing, ok := obj.DeepCopyObject().(client.Object)
	if !ok {
		return false, fmt.Errorf("copying %s %s", kind, obj.GetName())
	}
	key := client.ObjectKeyFromObject(obj)
	owner, name := client.ObjectKeyFromObject(km).String(), createdName(obj)
	if r.Client.Get(ctx, key, existing) == nil {
		r.created.Observed(owner, name)
		return !ownedBy(existing, km), nil
	}
	if r.created.Pending(owner, name) {
		// Created by this process moments ago; the cache is behind.
		switch err := r.APIReader.Get(ctx, key, existing); {
		case err == nil:
			return !ownedBy(existing, km), nil
		case !apierrors.IsNotFound(err):
			return false, fmt.Errorf("reading %s %s: %w", kind, key, err)
		}
	}
	ctrl.LoggerFrom(ctx).Info("Creating "+kind, "name", obj.GetName())
	err = r.Client.Create(ctx, obj)
	if err == nil || apierrors.IsAlreadyExists(err) {
		r.created.Expect(owner, name)
	}
	switch {
	case err == nil:
		return false, nil
	case !apierrors.IsAlreadyExists(err):
		return false, fmt.Errorf("creating %s %s: %w", kind, key, err)
	}
	// Not in the cache yet: ours from a moment ago, or someone else's.
	if err := r.APIReader.Get(ctx, key, existing); err != nil {
		return false, fmt.Errorf("reading %s %s: %w", kind, key, err)
	}
	return !ownedBy(existing, km), nil
}

// createdName names a child of a machine in r.created: its kind and name
// ("Pod/<name>" for the node Pod).
func createdName(obj client.Object) string { return kindOf(obj) + "/" + obj.GetName() }

// foreignMessage says that a name the node Pod needs is held by an object
// that the KubernetesMachine did not create.
func foreignMessage(kind, name string) string {
	return fmt.Sprintf("%s %s exists and is not controlled by this KubernetesMachine; it is not used, and the node Pod "+
		"is not created until it is deleted", kind, name)
}

// bootstrapData reads the cloud-config from the Machine's data Secret. It
// returns nil data while the machine has to wait.
func (r *Reconciler) bootstrapData(ctx context.Context, s *scope, name string) ([]byte, ctrl.Result, error) {
	secret := &corev1.Secret{}
	key := client.ObjectKey{Namespace: s.km.Namespace, Name: name}
	if err := r.Client.Get(ctx, key, secret); err != nil {
		if apierrors.IsNotFound(err) {
			s.waitingForData = fmt.Sprintf("waiting for the bootstrap data Secret %s", name)
			return nil, ctrl.Result{RequeueAfter: waitForDataSecret}, nil
		}
		return nil, ctrl.Result{}, fmt.Errorf("reading bootstrap data Secret %s: %w", key, err)
	}
	if format := string(secret.Data[dataFormatKey]); format != "" && format != cloudConfigFormat {
		s.bootstrapDataError = fmt.Sprintf("bootstrap data Secret %s has format %q; only %s is supported", name, format, cloudConfigFormat)
		return nil, ctrl.Result{}, reconcile.TerminalError(errors.New(s.bootstrapDataError))
	}
	data := secret.Data[dataValueKey]
	if len(data) == 0 {
		s.bootstrapDataError = fmt.Sprintf("bootstrap data Secret %s has no key %q", name, dataValueKey)
		return nil, ctrl.Result{}, reconcile.TerminalError(errors.New(s.bootstrapDataError))
	}
	return data, ctrl.Result{}, nil
}

// image is spec.image, or else the node image for version. The ConfigMap
// nodepod.ImagesConfigMapName in the KubernetesMachine's namespace adds to or
// overrides the built-in table; each namespace (usually one per team or
// cluster) can pin its own images. It is read only when a Pod is created.
func (r *Reconciler) image(ctx context.Context, km *infrav1.KubernetesMachine, version string) (string, error) {
	if km.Spec.Image != "" {
		return km.Spec.Image, nil
	}
	cm := &corev1.ConfigMap{}
	key := client.ObjectKey{Namespace: km.Namespace, Name: nodepod.ImagesConfigMapName}
	var overrides map[string]string
	switch err := r.APIReader.Get(ctx, key, cm); {
	case err == nil:
		overrides = cm.Data
	case !apierrors.IsNotFound(err):
		return "", fmt.Errorf("reading ConfigMap %s: %w", key, err)
	}
	return nodepod.ImageFor(version, overrides)
}

// secretSize is what the API server counts against a Secret's limit: the
// values, not the keys.
func secretSize(secret *corev1.Secret) int {
	n := 0
	for _, v := range secret.Data {
		n += len(v)
	}
	return n
}

// bootSecret holds the boot script and the node's boot files. It is
// immutable: nothing rewrites it, and its script, run as root in a privileged
// Pod, cannot be edited in place by anyone who may update Secrets.
func bootSecret(km *infrav1.KubernetesMachine, clusterName string, script []byte) *corev1.Secret {
	data := map[string][]byte{nodepod.BootstrapScriptKey: script}
	for k, v := range nodepod.BootFiles() {
		data[k] = []byte(v)
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: km.Namespace,
			Name:      nodepod.BootstrapSecretName(km.Name),
			Labels:    map[string]string{clusterv1.ClusterNameLabel: clusterName},
		},
		Type:      clusterv1.ClusterSecretType,
		Data:      data,
		Immutable: ptr.To(true),
	}
}

// observePod reads what the Pod tells: its providerID once it has an IP, and
// the zone of the management Node it runs on.
func (r *Reconciler) observePod(ctx context.Context, s *scope) error {
	km, pod := s.km, s.pod
	if pod.Status.PodIP != "" && km.Spec.ProviderID == "" {
		ensureFinalizer(ctx, km)
		km.Spec.ProviderID = ProviderID(pod.Namespace, pod.Name)
		ctrl.LoggerFrom(ctx).Info("Setting the providerID", "providerID", km.Spec.ProviderID)
	}
	if pod.Spec.NodeName == "" || km.Status.FailureDomain != "" {
		return nil
	}
	node := &corev1.Node{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: pod.Spec.NodeName}, node); err != nil {
		if apierrors.IsNotFound(err) {
			return nil // no zone to report
		}
		return fmt.Errorf("reading management Node %s: %w", pod.Spec.NodeName, err)
	}
	s.zone = node.Labels[corev1.LabelTopologyZone]
	return nil
}

// reconcileWorkloadNode sets the providerID on the workload Node once
// bootstrap succeeded. That is the last step of provisioning.
func (r *Reconciler) reconcileWorkloadNode(ctx context.Context, s *scope) (ctrl.Result, error) {
	km := s.km
	if isProvisioned(km) || s.pod == nil || km.Spec.ProviderID == "" || !bootstrapSucceeded(s) || failed(s) {
		return ctrl.Result{}, nil
	}
	clusterName := s.machine.Spec.ClusterName
	wc, err := r.ClusterCache.Client(ctx, remote.ClusterKey(km.Namespace, clusterName))
	if err != nil {
		if errors.Is(err, remote.ErrClusterNotConnected) {
			s.nodeWait = fmt.Sprintf("waiting for the workload cluster: %v", err)
			return ctrl.Result{RequeueAfter: waitForWorkloadNode}, nil
		}
		return ctrl.Result{}, err
	}
	nodeName := nodeNameOf(s.pod)
	node := &corev1.Node{}
	if err := wc.Get(ctx, client.ObjectKey{Name: nodeName}, node); err != nil {
		if apierrors.IsNotFound(err) {
			s.nodeWait = fmt.Sprintf("waiting for Node %s to register in the workload cluster", nodeName)
			return ctrl.Result{RequeueAfter: waitForWorkloadNode}, nil // its creation is also an event
		}
		s.nodeWait = fmt.Sprintf("reading Node %s of the workload cluster: %v", nodeName, err)
		return ctrl.Result{RequeueAfter: waitForWorkloadNode}, nil
	}
	switch node.Spec.ProviderID {
	case km.Spec.ProviderID:
	case "":
		before := node.DeepCopy()
		node.Spec.ProviderID = km.Spec.ProviderID
		ctrl.LoggerFrom(ctx).Info("Setting the providerID on the workload Node", "node", nodeName, "providerID", km.Spec.ProviderID)
		if err := wc.Patch(ctx, node, client.MergeFrom(before)); err != nil {
			return ctrl.Result{}, fmt.Errorf("setting providerID on Node %s of cluster %s: %w", nodeName, clusterName, err)
		}
	default:
		s.nodeWait = fmt.Sprintf("Node %s of the workload cluster has providerID %s, not %s", nodeName, node.Spec.ProviderID, km.Spec.ProviderID)
		return ctrl.Result{}, reconcile.TerminalError(errors.New(s.nodeWait))
	}
	s.nodeProviderSet = true
	return ctrl.Result{}, nil
}

// nodeNameOf is the Node name kubeadm registers: the Pod's hostname.
func nodeNameOf(pod *corev1.Pod) string {
	if pod.Spec.Hostname != "" {
		return pod.Spec.Hostname
	}
	return pod.Name
}

// reconcileDelete deletes the Pod, the boot Secret and the claims, and lets
// the KubernetesMachine go once they are all gone.
func (r *Reconciler) reconcileDelete(ctx context.Context, s *scope) (ctrl.Result, error) {
	km := s.km
	var children []client.Object
	for _, obj := range []client.Object{
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: km.Namespace, Name: km.Name}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: km.Namespace, Name: nodepod.BootstrapSecretName(km.Name)}},
	} {
		if err := r.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return ctrl.Result{}, fmt.Errorf("reading %s: %w", obj.GetName(), err)
		}
		if ownedBy(obj, km) {
			children = append(children, obj)
		}
	}
	pvcs := &corev1.PersistentVolumeClaimList{}
	if err := r.Client.List(ctx, pvcs, client.InNamespace(km.Namespace)); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing PersistentVolumeClaims: %w", err)
	}
	for i := range pvcs.Items {
		if ownedBy(&pvcs.Items[i], km) {
			children = append(children, &pvcs.Items[i])
		}
	}

	var waiting []string
	for _, obj := range children {
		kind := kindOf(obj)
		waiting = append(waiting, kind+" "+obj.GetName())
		if !obj.GetDeletionTimestamp().IsZero() {
			continue
		}
		ctrl.LoggerFrom(ctx).Info("Deleting "+kind, "name", obj.GetName())
		if err := r.Client.Delete(ctx, obj); client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, fmt.Errorf("deleting %s %s: %w", kind, obj.GetName(), err)
		}
	}
	if len(waiting) > 0 {
		s.deleteWait = "waiting for " + strings.Join(waiting, ", ") + " to be deleted"
		return ctrl.Result{}, nil // their deletion is an event
	}
	controllerutil.RemoveFinalizer(km, infrav1.MachineFinalizer)
	return ctrl.Result{}, nil
}

func kindOf(obj client.Object) string {
	switch obj.(type) {
	case *corev1.Pod:
		return "Pod"
	case *corev1.Secret:
		return "Secret"
	case *corev1.PersistentVolumeClaim:
		return "PersistentVolumeClaim"
	}
	return fmt.Sprintf("%T", obj)
}

// ownedBy reports whether km is the controller of obj.
func ownedBy(obj metav1.Object, km *infrav1.KubernetesMachine) bool {
	ref := metav1.GetControllerOf(obj)
	return ref != nil && ref.UID == km.UID
}

func isControlPlane(m *clusterv1.Machine) bool {
	_, ok := m.Labels[clusterv1.MachineControlPlaneLabel]
	return ok
}

func isProvisioned(km *infrav1.KubernetesMachine) bool {
	return ptrTrue(km.Status.Initialization.Provisioned)
}

func ptrTrue(b *bool) bool { return b != nil && *b }

func groupOf(apiVersion string) string {
	group, _, found := strings.Cut(apiVersion, "/")
	if !found {
		return ""
	}
	return group
}
