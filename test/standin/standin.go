// Package standin plays the bootstrap and infrastructure providers in core
// tests, following the contract with the least possible work: a KubeadmConfig
// gets a data Secret at once, a KubernetesCluster reports a given endpoint,
// and a KubernetesMachine whose Machine has bootstrap data gets a providerID
// and a Ready Node in the workload cluster (for a control-plane Machine also
// the running mirror Pods of kubeadm's API server, controller-manager and
// scheduler static Pods). It stands in for the real
// providers so that the core controllers can be tested and measured alone.
package standin

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
	"github.com/podcluster/podcluster/internal/remote"
	"github.com/podcluster/podcluster/test/testenv"
	"github.com/podcluster/podcluster/test/testmanager"
)

// Providers are the stand-in bootstrap and infrastructure providers.
type Providers struct {
	// Workload is a client of the (single) workload cluster every test cluster uses.
	Workload client.Client
	// Endpoint is what KubernetesClusters report as controlPlaneEndpoint.
	Endpoint clusterv1.APIEndpoint
}

// Setup registers the stand-in controllers with mgr.
func (p *Providers) Setup(mgr ctrl.Manager) error {
	c := mgr.GetClient()
	opts := controller.Options{MaxConcurrentReconciles: 10}
	if err := ctrl.NewControllerManagedBy(mgr).For(&bootstrapv1.KubeadmConfig{}).WithOptions(opts).Named("standin-bootstrap").
		Complete(reconcile.Func(func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
			return reconcile.Result{}, bootstrap(ctx, c, req)
		})); err != nil {
		return err
	}
	if err := ctrl.NewControllerManagedBy(mgr).For(&infrav1.KubernetesCluster{}).WithOptions(opts).Named("standin-infracluster").
		Complete(reconcile.Func(func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
			return reconcile.Result{}, p.infraCluster(ctx, c, req)
		})); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).For(&infrav1.KubernetesMachine{}).WithOptions(opts).Named("standin-inframachine").
		Watches(&clusterv1.Machine{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			m := o.(*clusterv1.Machine)
			return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: m.Namespace, Name: m.Spec.InfrastructureRef.Name}}}
		})).
		Complete(reconcile.Func(func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
			return reconcile.Result{}, p.infraMachine(ctx, c, req)
		}))
}

func ready() metav1.Condition {
	return metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue, Reason: clusterv1.ReadyReason, LastTransitionTime: metav1.Now()}
}

func bootstrap(ctx context.Context, c client.Client, req reconcile.Request) error {
	kc := &bootstrapv1.KubeadmConfig{}
	if err := c.Get(ctx, req.NamespacedName, kc); err != nil {
		return client.IgnoreNotFound(err)
	}
	if kc.Status.Initialization.DataSecretCreated != nil || metav1.GetControllerOf(kc) == nil || !kc.DeletionTimestamp.IsZero() {
		return nil
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: kc.Name, Namespace: kc.Namespace, Labels: map[string]string{clusterv1.ClusterNameLabel: kc.Labels[clusterv1.ClusterNameLabel]},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: bootstrapv1.GroupVersion.String(), Kind: "KubeadmConfig", Name: kc.Name, UID: kc.UID}}},
		Type: clusterv1.ClusterSecretType,
		Data: map[string][]byte{"value": []byte("#cloud-config\n"), "format": []byte("cloud-config")},
	}
	if err := c.Create(ctx, secret); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	before := kc.DeepCopy()
	t := true
	kc.Status.Initialization.DataSecretCreated = &t
	kc.Status.DataSecretName = kc.Name
	meta.SetStatusCondition(&kc.Status.Conditions, ready())
	return c.Status().Patch(ctx, kc, client.MergeFrom(before))
}

func (p *Providers) infraCluster(ctx context.Context, c client.Client, req reconcile.Request) error {
	kcl := &infrav1.KubernetesCluster{}
	if err := c.Get(ctx, req.NamespacedName, kcl); err != nil {
		return client.IgnoreNotFound(err)
	}
	if kcl.Status.Initialization.Provisioned != nil {
		return nil
	}
	before := kcl.DeepCopy()
	kcl.Spec.ControlPlaneEndpoint = p.Endpoint
	if err := c.Patch(ctx, kcl, client.MergeFrom(before)); err != nil {
		return err
	}
	before = kcl.DeepCopy()
	t := true
	kcl.Status.Initialization.Provisioned = &t
	meta.SetStatusCondition(&kcl.Status.Conditions, ready())
	return c.Status().Patch(ctx, kcl, client.MergeFrom(before))
}

// NoNodeAnnotation on a KubernetesMachine makes the stand-in provision it
// without a Node, as a machine whose kubelet never registers.
const NoNodeAnnotation = "standin.podcluster.io/no-node"

// NodeName is the workload Node of a KubernetesMachine: Nodes are cluster-wide,
// so the namespace is part of the name.
func NodeName(namespace, name string) string { return namespace + "-" + name }

func (p *Providers) infraMachine(ctx context.Context, c client.Client, req reconcile.Request) error {
	km := &infrav1.KubernetesMachine{}
	if err := c.Get(ctx, req.NamespacedName, km); err != nil {
		return client.IgnoreNotFound(err)
	}
	owner := metav1.GetControllerOf(km)
	if km.Status.Initialization.Provisioned != nil || owner == nil || owner.Kind != "Machine" || !km.DeletionTimestamp.IsZero() {
		return nil
	}
	m := &clusterv1.Machine{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: km.Namespace, Name: owner.Name}, m); err != nil {
		return client.IgnoreNotFound(err)
	}
	if m.Spec.Bootstrap.DataSecretName == nil {
		return nil // wait for bootstrap data, as the real provider does
	}
	providerID := fmt.Sprintf("kubernetes://%s/%s", km.Namespace, km.Name)
	if _, ok := km.Annotations[NoNodeAnnotation]; !ok {
		if err := p.registerNode(ctx, km, m, providerID); err != nil {
			return err
		}
	}
	before := km.DeepCopy()
	km.Spec.ProviderID = providerID
	if err := c.Patch(ctx, km, client.MergeFrom(before)); err != nil {
		return err
	}
	before = km.DeepCopy()
	t := true
	km.Status.Initialization.Provisioned = &t
	km.Status.Addresses = []clusterv1.MachineAddress{{Type: clusterv1.MachineHostName, Address: km.Name}}
	meta.SetStatusCondition(&km.Status.Conditions, ready())
	return c.Status().Patch(ctx, km, client.MergeFrom(before))
}

// registerNode plays the kubelet: a Ready Node with the machine's providerID.
// A worker registers with the uninitialized taint, as kubeadm join does with
// the kubeadm bootstrap provider's configuration.
func (p *Providers) registerNode(ctx context.Context, km *infrav1.KubernetesMachine, m *clusterv1.Machine, providerID string) error {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: NodeName(km.Namespace, km.Name)}, Spec: corev1.NodeSpec{ProviderID: providerID}}
	if _, controlPlane := m.Labels[clusterv1.MachineControlPlaneLabel]; !controlPlane {
		node.Spec.Taints = []corev1.Taint{{Key: clusterv1.NodeUninitializedTaintKey, Effect: corev1.TaintEffectNoSchedule}}
	}
	if err := p.Workload.Create(ctx, node); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating Node: %w", err)
	}
	node.Status = corev1.NodeStatus{
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}},
		NodeInfo:   corev1.NodeSystemInfo{KubeletVersion: m.Spec.Version, OSImage: "standin", Architecture: "amd64", OperatingSystem: "linux"},
	}
	if err := p.Workload.Status().Update(ctx, node); err != nil && !apierrors.IsConflict(err) {
		return fmt.Errorf("setting Node status: %w", err)
	}
	if _, controlPlane := m.Labels[clusterv1.MachineControlPlaneLabel]; controlPlane {
		return p.runStaticPods(ctx, node)
	}
	return nil
}

// runStaticPods plays a control-plane node's kubelet for kubeadm's static
// Pods (external etcd: no etcd Pod): their mirror Pods in kube-system,
// running and ready.
func (p *Providers) runStaticPods(ctx context.Context, node *corev1.Node) error {
	for _, component := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler"} {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{
				Name: component + "-" + node.Name, Namespace: metav1.NamespaceSystem,
				Labels: map[string]string{"component": component, "tier": "control-plane"},
				// A mirror Pod: the service account admission leaves it alone.
				Annotations: map[string]string{"kubernetes.io/config.mirror": "standin"},
			},
			Spec: corev1.PodSpec{NodeName: node.Name, HostNetwork: true, Containers: []corev1.Container{{Name: component, Image: component}}},
		}
		if err := p.Workload.Create(ctx, pod); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating the mirror Pod %s: %w", pod.Name, err)
		}
		if err := p.Workload.Get(ctx, client.ObjectKeyFromObject(pod), pod); err != nil {
			return fmt.Errorf("reading the mirror Pod %s: %w", pod.Name, err)
		}
		if pod.Status.Phase == corev1.PodRunning {
			continue
		}
		now := metav1.Now()
		pod.Status = corev1.PodStatus{
			Phase: corev1.PodRunning,
			Conditions: []corev1.PodCondition{
				{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
				{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
				{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
				{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
			},
			ContainerStatuses: []corev1.ContainerStatus{{Name: component, Image: component, Ready: true,
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}}},
		}
		if err := p.Workload.Status().Update(ctx, pod); err != nil {
			return fmt.Errorf("reporting the mirror Pod %s running: %w", pod.Name, err)
		}
	}
	return nil
}

// Start runs the stand-in providers in a manager of their own against the
// management cluster at cfg, with workload standing in for every Cluster's
// workload cluster. It returns the function that stops them.
func Start(cfg *rest.Config, workload *testenv.Environment) (func(), error) {
	u, err := url.Parse(workload.Config.Host)
	if err != nil {
		return nil, err
	}
	port, err := strconv.ParseInt(u.Port(), 10, 32)
	if err != nil {
		return nil, fmt.Errorf("the workload API server's port: %w", err)
	}
	p := &Providers{Workload: workload.Client, Endpoint: clusterv1.APIEndpoint{Host: u.Hostname(), Port: int32(port)}}
	m := &testmanager.Manager{
		Config: cfg,
		Setup:  func(_ context.Context, mgr ctrl.Manager, _ *remote.ClusterCache) error { return p.Setup(mgr) },
	}
	return m.Stop, m.Start()
}
