package sim

import (
	"context"
	"net/netip"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func newService(g Gomega, ns, name string, t corev1.ServiceType) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{
			Type:  t,
			Ports: []corev1.ServicePort{{Name: "apiserver", Port: 6443, TargetPort: intstr.FromInt32(6443)}},
		},
	}
	g.Expect(env.Client.Create(context.Background(), svc)).To(Succeed())
	return svc
}

// addressOf waits for the Service's LoadBalancer address.
func addressOf(g Gomega, svc *corev1.Service) string {
	var ip string
	g.Eventually(func(g Gomega) {
		got := &corev1.Service{}
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(svc), got)).To(Succeed())
		g.Expect(got.Status.LoadBalancer.Ingress).To(HaveLen(1))
		ip = got.Status.LoadBalancer.Ingress[0].IP
	}, timeout, interval).Should(Succeed())
	return ip
}

func TestLoadBalancerGivesDistinctLoopbackAddresses(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	a := newService(g, ns, "a", corev1.ServiceTypeLoadBalancer)
	b := newService(g, ns, "b", corev1.ServiceTypeLoadBalancer)
	ipA, ipB := addressOf(g, a), addressOf(g, b)
	g.Expect(ipA).NotTo(Equal(ipB))
	for _, ip := range []string{ipA, ipB} {
		addr := netip.MustParseAddr(ip)
		g.Expect(addr.IsLoopback()).To(BeTrue(), ip)
		g.Expect(addr.Compare(DefaultLoopbackBase)).To(BeNumerically(">=", 0), ip)
	}
}

func TestLoadBalancerKeepsAnAddress(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	ctx := context.Background()

	// An address it gave survives later reconciles.
	own := newService(g, ns, "own", corev1.ServiceTypeLoadBalancer)
	ip := addressOf(g, own)
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(own), own)).To(Succeed())
	own.Annotations = map[string]string{"touched": "yes"}
	g.Expect(env.Client.Update(ctx, own)).To(Succeed())
	g.Consistently(func() string { return addressOf(g, own) }, time.Second, interval).Should(Equal(ip))
}

func TestLoadBalancerIgnoresOtherServices(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	ctx := context.Background()
	plain := newService(g, ns, "plain", corev1.ServiceTypeClusterIP)
	classed := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "classed"},
		Spec: corev1.ServiceSpec{
			Type:              corev1.ServiceTypeLoadBalancer,
			LoadBalancerClass: ptrTo("example.com/other"),
			Ports:             []corev1.ServicePort{{Port: 6443}},
		},
	}
	g.Expect(env.Client.Create(ctx, classed)).To(Succeed())
	g.Consistently(func(g Gomega) {
		for _, svc := range []*corev1.Service{plain, classed} {
			got := &corev1.Service{}
			g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(svc), got)).To(Succeed())
			g.Expect(got.Status.LoadBalancer.Ingress).To(BeEmpty(), svc.Name)
		}
	}, time.Second, interval).Should(Succeed())
}

func TestAllocatorSkipsTakenAndEdgeAddresses(t *testing.T) {
	g := NewWithT(t)
	a := newAllocator(netip.MustParseAddr("127.1.0.254"))
	used := map[netip.Addr]bool{netip.MustParseAddr("127.1.1.1"): true}
	first, err := a.allocate("x", used)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(first.String()).To(Equal("127.1.0.254"))
	second, err := a.allocate("y", used)
	g.Expect(err).NotTo(HaveOccurred())
	// 127.1.0.255 and 127.1.1.0 are skipped, 127.1.1.1 is used.
	g.Expect(second.String()).To(Equal("127.1.1.2"))
	again, err := a.allocate("x", used)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(again).To(Equal(first), "an owner keeps its address")
	a.release("x")
	third, err := a.allocate("z", used)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(third).To(Equal(first), "a released address is free again")
}
