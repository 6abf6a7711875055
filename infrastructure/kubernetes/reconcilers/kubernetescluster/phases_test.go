package kubernetescluster

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
)

func node(name string, ready bool, zone string, addrs ...corev1.NodeAddress) corev1.Node {
	n := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}}}
	if zone != "" {
		n.Labels[corev1.LabelTopologyZone] = zone
	}
	n.Status.Addresses = addrs
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: status}}
	return n
}

func internal(ip string) corev1.NodeAddress {
	return corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ip}
}

func service(t corev1.ServiceType, mutate func(*corev1.Service)) *corev1.Service {
	kc := &infrav1.KubernetesCluster{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c", UID: "uid"}}
	kc.Spec.ControlPlaneServiceType = infrav1.ServiceType(t)
	svc := desiredService(kc, "c", 6443)
	if mutate != nil {
		mutate(svc)
	}
	return svc
}

func TestServiceEndpoint(t *testing.T) {
	nodes := []corev1.Node{
		node("b", true, "z1", internal("10.1.0.2")),
		node("a", false, "z1", internal("10.1.0.1")),
		node("c", true, "z2", corev1.NodeAddress{Type: corev1.NodeExternalIP, Address: "203.0.113.3"}, internal("10.1.0.3")),
	}
	tests := []struct {
		name    string
		svc     *corev1.Service
		nodes   []corev1.Node
		current clusterv1.APIEndpoint
		want    clusterv1.APIEndpoint
		why     string
	}{
		{
			name: "ClusterIP: the cluster IP and the Service port",
			svc:  service(corev1.ServiceTypeClusterIP, func(s *corev1.Service) { s.Spec.ClusterIP = "10.96.0.10" }),
			want: clusterv1.APIEndpoint{Host: "10.96.0.10", Port: 6443},
		},
		{
			name: "ClusterIP without IP yet",
			svc:  service(corev1.ServiceTypeClusterIP, nil),
			why:  "no cluster IP",
		},
		{
			name: "LoadBalancer: the first ingress, IP",
			svc: service(corev1.ServiceTypeLoadBalancer, func(s *corev1.Service) {
				s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "203.0.113.7"}, {Hostname: "lb.example.test"}}
			}),
			want: clusterv1.APIEndpoint{Host: "203.0.113.7", Port: 6443},
		},
		{
			name: "LoadBalancer: the first ingress, hostname",
			svc: service(corev1.ServiceTypeLoadBalancer, func(s *corev1.Service) {
				s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{Hostname: "lb.example.test"}}
			}),
			want: clusterv1.APIEndpoint{Host: "lb.example.test", Port: 6443},
		},
		{
			name: "LoadBalancer without ingress",
			svc:  service(corev1.ServiceTypeLoadBalancer, nil),
			why:  "waiting for a load balancer",
		},
		{
			name:  "NodePort: the first Ready Node by name, its InternalIP, and the node port",
			svc:   service(corev1.ServiceTypeNodePort, func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 30443 }),
			nodes: nodes,
			want:  clusterv1.APIEndpoint{Host: "10.1.0.2", Port: 30443},
		},
		{
			name:    "NodePort: the current Node stays while it has the address",
			svc:     service(corev1.ServiceTypeNodePort, func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 30443 }),
			nodes:   nodes,
			current: clusterv1.APIEndpoint{Host: "10.1.0.3", Port: 30443},
			want:    clusterv1.APIEndpoint{Host: "10.1.0.3", Port: 30443},
		},
		{
			name:  "NodePort without Nodes",
			svc:   service(corev1.ServiceTypeNodePort, func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 30443 }),
			why:   "no management Node",
			nodes: nil,
		},
		{
			name: "NodePort without node port yet",
			svc:  service(corev1.ServiceTypeNodePort, nil),
			why:  "no node port",
		},
		{
			name: "a Service without our port",
			svc:  service(corev1.ServiceTypeClusterIP, func(s *corev1.Service) { s.Spec.Ports[0].Name = "other" }),
			why:  "no port named apiserver",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got, why := serviceEndpoint(tt.svc, tt.nodes, tt.current)
			g.Expect(got).To(Equal(tt.want))
			if tt.why == "" {
				g.Expect(why).To(BeEmpty())
			} else {
				g.Expect(why).To(ContainSubstring(tt.why))
			}
		})
	}
}

func TestDesiredService(t *testing.T) {
	g := NewWithT(t)
	class := "example.test/lb"
	kc := &infrav1.KubernetesCluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "kc", UID: "uid"},
		Spec: infrav1.KubernetesClusterSpec{
			ControlPlaneServiceType: infrav1.ServiceTypeLoadBalancer,
			ControlPlaneService:     infrav1.ControlPlaneServiceSpec{Annotations: map[string]string{"a": "b"}, LoadBalancerClass: &class},
		},
	}
	svc := desiredService(kc, "prod", 7443)
	g.Expect(svc.Name).To(Equal("prod-apiserver"))
	g.Expect(svc.Namespace).To(Equal("ns"))
	g.Expect(svc.Spec.Type).To(Equal(corev1.ServiceTypeLoadBalancer))
	g.Expect(svc.Spec.LoadBalancerClass).To(HaveValue(Equal(class)))
	g.Expect(svc.Annotations).To(Equal(map[string]string{"a": "b"}))
	g.Expect(svc.Spec.PublishNotReadyAddresses).To(BeTrue())
	g.Expect(svc.Spec.Selector).To(Equal(map[string]string{clusterv1.ClusterNameLabel: "prod", clusterv1.MachineControlPlaneLabel: ""}))
	g.Expect(svc.Spec.Ports).To(Equal([]corev1.ServicePort{{Name: "apiserver", Protocol: corev1.ProtocolTCP, Port: 7443,
		TargetPort: intstr.FromString("apiserver")}}))
	g.Expect(metav1.GetControllerOf(svc).Name).To(Equal("kc"))

	// The default type is ClusterIP.
	svc = desiredService(&infrav1.KubernetesCluster{}, "prod", 6443)
	g.Expect(svc.Spec.Type).To(Equal(corev1.ServiceTypeClusterIP))
	g.Expect(svc.Spec.LoadBalancerClass).To(BeNil())
}

func TestRepairService(t *testing.T) {
	tests := []struct {
		name     string
		mutate   func(*corev1.Service)
		changed  []string
		recreate bool
		check    func(Gomega, *corev1.Service)
	}{
		{name: "unchanged", mutate: func(*corev1.Service) {}},
		{
			name: "server defaults and others' annotations are kept",
			mutate: func(s *corev1.Service) {
				s.Spec.SessionAffinity = corev1.ServiceAffinityNone
				s.Spec.Ports[0].NodePort = 31000
				s.Annotations = map[string]string{"a": "b", "theirs": "x"}
			},
			check: func(g Gomega, s *corev1.Service) {
				g.Expect(s.Spec.Ports[0].NodePort).To(Equal(int32(31000)))
				g.Expect(s.Annotations).To(HaveKey("theirs"))
			},
		},
		{
			name: "selector, publishNotReadyAddresses, ports and annotations are restored",
			mutate: func(s *corev1.Service) {
				s.Spec.Selector = map[string]string{"x": "y"}
				s.Spec.PublishNotReadyAddresses = false
				s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "extra", Port: 80})
				s.Spec.Ports[0].Port = 1234
				s.Annotations = nil
			},
			changed: []string{"annotations", "selector", "publishNotReadyAddresses", "ports"},
			check: func(g Gomega, s *corev1.Service) {
				g.Expect(s.Spec.Ports).To(HaveLen(1))
				g.Expect(s.Spec.Ports[0].Port).To(Equal(int32(6443)))
				g.Expect(s.Annotations).To(HaveKeyWithValue("a", "b"))
			},
		},
		{
			name:     "a changed type means re-creation",
			mutate:   func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeClusterIP },
			changed:  []string{"type"},
			recreate: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			kc := &infrav1.KubernetesCluster{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c", UID: "uid"},
				Spec: infrav1.KubernetesClusterSpec{ControlPlaneServiceType: infrav1.ServiceTypeNodePort,
					ControlPlaneService: infrav1.ControlPlaneServiceSpec{Annotations: map[string]string{"a": "b"}}}}
			desired := desiredService(kc, "c", 6443)
			existing := desired.DeepCopy()
			tt.mutate(existing)
			changed, recreate := repairService(existing, desired)
			g.Expect(changed).To(Equal(tt.changed))
			g.Expect(recreate).To(Equal(tt.recreate))
			if tt.check != nil {
				tt.check(g, existing)
			}
			if !recreate {
				again, _ := repairService(existing, desired)
				g.Expect(again).To(BeEmpty(), "a repaired Service needs no second repair")
			}
		})
	}
}

func TestPinEndpoint(t *testing.T) {
	g := NewWithT(t)
	svc := service(corev1.ServiceTypeClusterIP, nil)
	g.Expect(pinEndpoint(svc, clusterv1.APIEndpoint{Host: "10.96.0.10", Port: 6443})).To(BeTrue())
	g.Expect(svc.Spec.ClusterIP).To(Equal("10.96.0.10"))

	svc = service(corev1.ServiceTypeClusterIP, nil)
	g.Expect(pinEndpoint(svc, clusterv1.APIEndpoint{Host: "api.example.test", Port: 6443})).To(BeFalse())
	g.Expect(svc.Spec.ClusterIP).To(BeEmpty())

	svc = service(corev1.ServiceTypeNodePort, nil)
	g.Expect(pinEndpoint(svc, clusterv1.APIEndpoint{Host: "10.1.0.1", Port: 30443})).To(BeTrue())
	g.Expect(svc.Spec.Ports[0].NodePort).To(Equal(int32(30443)))

	svc = service(corev1.ServiceTypeLoadBalancer, nil)
	g.Expect(pinEndpoint(svc, clusterv1.APIEndpoint{Host: "203.0.113.1", Port: 6443})).To(BeFalse())
}

func TestEndpointMismatch(t *testing.T) {
	clusterIP := service(corev1.ServiceTypeClusterIP, nil)
	nodePort := service(corev1.ServiceTypeNodePort, nil)
	tests := []struct {
		name      string
		spec, svc clusterv1.APIEndpoint
		service   *corev1.Service
		want      string
	}{
		{"equal", clusterv1.APIEndpoint{Host: "10.0.0.1", Port: 6443}, clusterv1.APIEndpoint{Host: "10.0.0.1", Port: 6443}, clusterIP, ""},
		{"a DNS name is never compared", clusterv1.APIEndpoint{Host: "api.example.test", Port: 443}, clusterv1.APIEndpoint{Host: "10.0.0.1", Port: 6443}, clusterIP, ""},
		{"another IP", clusterv1.APIEndpoint{Host: "10.0.0.1", Port: 6443}, clusterv1.APIEndpoint{Host: "10.0.0.2", Port: 6443}, clusterIP, "now provides 10.0.0.2:6443"},
		{"a NodePort's Node is gone", clusterv1.APIEndpoint{Host: "10.1.0.1", Port: 30443}, clusterv1.APIEndpoint{Host: "10.1.0.2", Port: 30443}, nodePort, "no management Node has the address 10.1.0.1"},
		{"endpoint not set", clusterv1.APIEndpoint{}, clusterv1.APIEndpoint{Host: "10.0.0.2", Port: 6443}, clusterIP, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got := endpointMismatch(tt.spec, tt.svc, tt.service)
			if tt.want == "" {
				g.Expect(got).To(BeEmpty())
			} else {
				g.Expect(got).To(ContainSubstring(tt.want))
			}
		})
	}
}

func TestFailureDomains(t *testing.T) {
	g := NewWithT(t)
	tr := true
	got := failureDomains([]corev1.Node{node("a", true, "z2"), node("b", true, "z1"), node("c", true, "z2"), node("d", true, "")})
	g.Expect(got).To(Equal([]clusterv1.FailureDomain{{Name: "z1", ControlPlane: &tr}, {Name: "z2", ControlPlane: &tr}}))
	g.Expect(failureDomains(nil)).To(BeNil())
}

func TestServiceNameProblem(t *testing.T) {
	for _, tc := range []struct {
		cluster string
		want    string
	}{
		{cluster: "c1"},
		{cluster: strings.Repeat("a", 53)},
		{cluster: strings.Repeat("a", 54), want: "must be no more than 63 characters"},
		{cluster: "a.b", want: "must not contain dots"},
	} {
		g := NewWithT(t)
		got := serviceNameProblem(tc.cluster)
		if tc.want == "" {
			g.Expect(got).To(BeEmpty(), tc.cluster)
			continue
		}
		g.Expect(got).To(ContainSubstring(`Cluster metadata.name "` + tc.cluster + `"`))
		g.Expect(got).To(ContainSubstring(tc.want))
		g.Expect(got).To(ContainSubstring("at most 53 characters"))
	}
}
