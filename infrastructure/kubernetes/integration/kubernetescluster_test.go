package integration

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
)

func getService(g Gomega, ns, cluster string) *corev1.Service {
	svc := &corev1.Service{}
	g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: cluster + "-apiserver"}, svc)).To(Succeed())
	return svc
}

// TestClusterIPService: the Service selects the control-plane node Pods on the
// Cluster's API-server port, publishes not-ready addresses, and its cluster IP
// becomes the endpoint. Out-of-band changes are repaired, a deleted Service
// comes back with the same IP, and deletion waits for the Service to go.
func TestClusterIPService(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(g, ns, "alpha", 7443)
	kc := newKubernetesCluster(g, c, infrav1.KubernetesClusterSpec{})

	var svc *corev1.Service
	g.Eventually(func(g Gomega) {
		svc = getService(g, ns, "alpha")
	}, timeout, interval).Should(Succeed())
	g.Expect(svc.Spec.Type).To(Equal(corev1.ServiceTypeClusterIP))
	g.Expect(svc.Spec.Selector).To(Equal(map[string]string{clusterv1.ClusterNameLabel: "alpha", clusterv1.MachineControlPlaneLabel: ""}))
	g.Expect(svc.Spec.PublishNotReadyAddresses).To(BeTrue())
	g.Expect(svc.Spec.Ports).To(ConsistOf(And(
		HaveField("Port", int32(7443)), HaveField("TargetPort", intstr.FromString("apiserver")), HaveField("Protocol", corev1.ProtocolTCP))))
	g.Expect(metav1.GetControllerOf(svc).UID).To(Equal(kc.UID))
	g.Expect(svc.Labels).To(HaveKeyWithValue(clusterv1.ClusterNameLabel, "alpha"))

	g.Eventually(func(g Gomega) {
		got := getKC(g, kc)
		g.Expect(got.Spec.ControlPlaneEndpoint).To(Equal(clusterv1.APIEndpoint{Host: svc.Spec.ClusterIP, Port: 7443}))
		g.Expect(got.Status.Initialization.Provisioned).To(HaveValue(BeTrue()))
		g.Expect(got.Status.Phase).To(Equal(infrav1.KubernetesClusterPhaseProvisioned))
		g.Expect(got.Status.Conditions).To(haveCondition(infrav1.KubernetesClusterReadyCondition, metav1.ConditionTrue, infrav1.KubernetesClusterReadyReason))
		g.Expect(got.Status.Conditions).To(haveCondition(infrav1.KubernetesClusterServiceReadyCondition, metav1.ConditionTrue, infrav1.KubernetesClusterServiceReadyReason))
		g.Expect(got.Status.Conditions).To(haveCondition(infrav1.KubernetesClusterPausedCondition, metav1.ConditionFalse, infrav1.KubernetesClusterNotPausedReason))
		g.Expect(got.Finalizers).To(ContainElement(infrav1.ClusterFinalizer))
	}, timeout, interval).Should(Succeed())

	// Someone edits the selector and drops publishNotReadyAddresses: repaired.
	svc.Spec.Selector = map[string]string{"app": "other"}
	svc.Spec.PublishNotReadyAddresses = false
	g.Expect(env.Client.Update(ctx, svc)).To(Succeed())
	g.Eventually(func(g Gomega) {
		got := getService(g, ns, "alpha")
		g.Expect(got.Spec.Selector).To(HaveKeyWithValue(clusterv1.MachineControlPlaneLabel, ""))
		g.Expect(got.Spec.PublishNotReadyAddresses).To(BeTrue())
	}, timeout, interval).Should(Succeed())

	// Someone deletes the Service: it comes back with the endpoint's IP.
	ip := svc.Spec.ClusterIP
	oldUID := svc.UID
	g.Expect(env.Client.Delete(ctx, svc)).To(Succeed())
	g.Eventually(func(g Gomega) {
		got := getService(g, ns, "alpha")
		g.Expect(got.UID).NotTo(Equal(oldUID))
		g.Expect(got.Spec.ClusterIP).To(Equal(ip))
	}, timeout, interval).Should(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(getKC(g, kc).Status.Conditions).To(haveCondition(infrav1.KubernetesClusterReadyCondition, metav1.ConditionTrue, infrav1.KubernetesClusterReadyReason))
	}, timeout, interval).Should(Succeed())

	// Deletion takes the Service with it, then lets the KubernetesCluster go.
	g.Expect(env.Client.Delete(ctx, kc)).To(Succeed())
	g.Eventually(func() bool {
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(kc), &infrav1.KubernetesCluster{})
		return apierrors.IsNotFound(err)
	}, timeout, interval).Should(BeTrue())
	err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "alpha-apiserver"}, &corev1.Service{})
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "Service left behind: %v", err)
}

// TestLoadBalancerService: annotations and loadBalancerClass reach the
// Service; the endpoint waits for the load balancer's address, and a lost
// address shows up in the conditions while the endpoint stays.
func TestLoadBalancerService(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(g, ns, "beta", 0)
	class := "example.test/lb"
	kc := newKubernetesCluster(g, c, infrav1.KubernetesClusterSpec{
		ControlPlaneServiceType: infrav1.ServiceTypeLoadBalancer,
		ControlPlaneService: infrav1.ControlPlaneServiceSpec{
			Annotations:       map[string]string{"lb.example.test/internal": "true"},
			LoadBalancerClass: &class,
		},
	})

	var svc *corev1.Service
	g.Eventually(func(g Gomega) {
		svc = getService(g, ns, "beta")
	}, timeout, interval).Should(Succeed())
	g.Expect(svc.Spec.Type).To(Equal(corev1.ServiceTypeLoadBalancer))
	g.Expect(svc.Spec.LoadBalancerClass).To(HaveValue(Equal(class)))
	g.Expect(svc.Annotations).To(HaveKeyWithValue("lb.example.test/internal", "true"))
	g.Expect(svc.Spec.Ports[0].Port).To(Equal(int32(6443)))

	g.Eventually(func(g Gomega) {
		got := getKC(g, kc)
		g.Expect(got.Status.Conditions).To(haveCondition(infrav1.KubernetesClusterServiceReadyCondition, metav1.ConditionFalse, infrav1.KubernetesClusterServiceReadyNoEndpointReason))
		g.Expect(got.Status.Conditions).To(haveCondition(infrav1.KubernetesClusterReadyCondition, metav1.ConditionFalse, infrav1.KubernetesClusterReadyWaitingForServiceReason))
		g.Expect(got.Status.Phase).To(Equal(infrav1.KubernetesClusterPhaseProvisioning))
		g.Expect(got.Spec.ControlPlaneEndpoint.Host).To(BeEmpty())
	}, timeout, interval).Should(Succeed())

	// The load-balancer controller reports a hostname.
	setIngress(g, svc, []corev1.LoadBalancerIngress{{Hostname: "lb-1.example.test"}})
	g.Eventually(func(g Gomega) {
		got := getKC(g, kc)
		g.Expect(got.Spec.ControlPlaneEndpoint).To(Equal(clusterv1.APIEndpoint{Host: "lb-1.example.test", Port: 6443}))
		g.Expect(got.Status.Initialization.Provisioned).To(HaveValue(BeTrue()))
		g.Expect(got.Status.Conditions).To(haveCondition(infrav1.KubernetesClusterReadyCondition, metav1.ConditionTrue, infrav1.KubernetesClusterReadyReason))
	}, timeout, interval).Should(Succeed())

	// The address is lost: a condition says so; the endpoint stays.
	setIngress(g, svc, nil)
	g.Eventually(func(g Gomega) {
		got := getKC(g, kc)
		sr := condition(got.Status.Conditions, infrav1.KubernetesClusterServiceReadyCondition)
		g.Expect(sr.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(sr.Reason).To(Equal(infrav1.KubernetesClusterServiceReadyNoEndpointReason))
		g.Expect(sr.Message).To(ContainSubstring("lost its load-balancer address"))
		g.Expect(got.Status.Conditions).To(haveCondition(infrav1.KubernetesClusterReadyCondition, metav1.ConditionFalse, infrav1.KubernetesClusterReadyWaitingForServiceReason))
		g.Expect(got.Spec.ControlPlaneEndpoint).To(Equal(clusterv1.APIEndpoint{Host: "lb-1.example.test", Port: 6443}))
	}, timeout, interval).Should(Succeed())

	// An IP instead: the endpoint is a DNS name, which is not compared, so
	// the Service is ready again.
	setIngress(g, svc, []corev1.LoadBalancerIngress{{IP: "203.0.113.10"}})
	g.Eventually(func(g Gomega) {
		g.Expect(getKC(g, kc).Status.Conditions).To(haveCondition(infrav1.KubernetesClusterReadyCondition, metav1.ConditionTrue, infrav1.KubernetesClusterReadyReason))
	}, timeout, interval).Should(Succeed())

	// A user strips our annotation: it comes back, theirs stays.
	svc = getService(g, ns, "beta")
	svc.Annotations = map[string]string{"someone.example.test/note": "x"}
	g.Expect(env.Client.Update(ctx, svc)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(getService(g, ns, "beta").Annotations).To(And(
			HaveKeyWithValue("lb.example.test/internal", "true"), HaveKeyWithValue("someone.example.test/note", "x")))
	}, timeout, interval).Should(Succeed())
}

// setIngress plays the load-balancer controller.
func setIngress(g Gomega, svc *corev1.Service, ingress []corev1.LoadBalancerIngress) {
	ctx := context.Background()
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(svc), svc)).To(Succeed())
		svc.Status.LoadBalancer.Ingress = ingress
		g.Expect(env.Client.Status().Update(ctx, svc)).To(Succeed())
	}, timeout, interval).Should(Succeed())
}

// TestNodePortService: the endpoint is a management Node's address and the
// node port; the Nodes' zones are the failure domains; a deleted Service comes
// back with the same node port; and a NodePort endpoint whose Node is gone is
// reported.
func TestNodePortService(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	sfx := suffix(ns)
	node := newManagementNode(t, g, "mgmt-np-"+sfx, "10.99.7.1", "zone-np-"+sfx)
	c := newCluster(g, ns, "gamma", 0)
	kc := newKubernetesCluster(g, c, infrav1.KubernetesClusterSpec{ControlPlaneServiceType: infrav1.ServiceTypeNodePort})

	var svc *corev1.Service
	g.Eventually(func(g Gomega) {
		svc = getService(g, ns, "gamma")
		g.Expect(svc.Spec.Ports[0].NodePort).NotTo(BeZero())
	}, timeout, interval).Should(Succeed())
	g.Expect(svc.Spec.Type).To(Equal(corev1.ServiceTypeNodePort))
	nodePort := svc.Spec.Ports[0].NodePort

	tr := true
	g.Eventually(func(g Gomega) {
		got := getKC(g, kc)
		g.Expect(got.Spec.ControlPlaneEndpoint).To(Equal(clusterv1.APIEndpoint{Host: "10.99.7.1", Port: nodePort}))
		g.Expect(got.Status.Conditions).To(haveCondition(infrav1.KubernetesClusterReadyCondition, metav1.ConditionTrue, infrav1.KubernetesClusterReadyReason))
		g.Expect(got.Status.FailureDomains).To(ContainElement(clusterv1.FailureDomain{Name: "zone-np-" + sfx, ControlPlane: &tr}))
	}, timeout, interval).Should(Succeed())

	// A new zone appears with a new Node.
	newManagementNode(t, g, "mgmt-np2-"+sfx, "10.99.7.2", "zone-np2-"+sfx)
	g.Eventually(func(g Gomega) {
		g.Expect(getKC(g, kc).Status.FailureDomains).To(ContainElement(HaveField("Name", "zone-np2-"+sfx)))
	}, timeout, interval).Should(Succeed())

	// The Service is deleted: it comes back with the same node port.
	g.Expect(env.Client.Delete(ctx, svc)).To(Succeed())
	g.Eventually(func(g Gomega) {
		got := getService(g, ns, "gamma")
		g.Expect(got.UID).NotTo(Equal(svc.UID))
		g.Expect(got.Spec.Ports[0].NodePort).To(Equal(nodePort))
	}, timeout, interval).Should(Succeed())

	// The endpoint's Node goes: the endpoint cannot follow, a condition says so.
	g.Expect(env.Client.Delete(ctx, node)).To(Succeed())
	g.Eventually(func(g Gomega) {
		got := getKC(g, kc)
		g.Expect(got.Status.Conditions).To(haveCondition(infrav1.KubernetesClusterServiceReadyCondition, metav1.ConditionFalse, "EndpointMismatch"))
		g.Expect(got.Spec.ControlPlaneEndpoint.Host).To(Equal("10.99.7.1"))
		g.Expect(got.Status.FailureDomains).NotTo(ContainElement(HaveField("Name", "zone-np-"+sfx)))
	}, timeout, interval).Should(Succeed())
}

// TestManagedByIsSkipped: a KubernetesCluster managed by someone else gets no
// finalizer and no Service.
func TestManagedByIsSkipped(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(g, ns, "delta", 0)
	kc := &infrav1.KubernetesCluster{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: "delta",
			Annotations:     map[string]string{clusterv1.ManagedByAnnotation: "someone"},
			OwnerReferences: []metav1.OwnerReference{ownerRef(c, "Cluster")},
		},
	}
	g.Expect(env.Client.Create(ctx, kc)).To(Succeed())
	// A second, unmanaged cluster in the same namespace shows the controller
	// has had its turn.
	c2 := newCluster(g, ns, "epsilon", 0)
	newKubernetesCluster(g, c2, infrav1.KubernetesClusterSpec{})
	g.Eventually(func(g Gomega) { getService(g, ns, "epsilon") }, timeout, interval).Should(Succeed())
	g.Consistently(func(g Gomega) {
		g.Expect(getKC(g, kc).Finalizers).To(BeEmpty())
		err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "delta-apiserver"}, &corev1.Service{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue())
	}, "1s", interval).Should(Succeed())
}
