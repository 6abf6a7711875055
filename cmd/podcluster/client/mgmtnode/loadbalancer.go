package mgmtnode

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podcluster/podcluster/internal/util"
)

// LoadBalancer is the management node's LoadBalancer controller. Each
// Service of type LoadBalancer (without a class) gets an address on the
// host's loopback, from Base upwards, in its status; podcluster listens there
// on the Service's ports, on the host, and forwards each connection into the
// management node's network namespace, to a ready endpoint of the Service
// (any endpoint when the Service publishes not-ready addresses). So the host,
// where kubectl and the providers run, reaches a workload API server at its
// control-plane endpoint without a route or an address on the host.
//
// Inside a node Pod the same loopback address would be the Pod's own; the
// management node's CNI maps it to PodViewOf(address), where podcluster
// listens inside the management node's namespace and forwards the same way
// (see loopbackPlugin). So the control-plane endpoint works for kubeadm init
// and join as for the host.
type LoadBalancer struct {
	// Client reads and writes the plane (the manager's client).
	Client client.Client
	// Base is the first address handed out: a 127.x.y.z address.
	Base netip.Addr
	// NetnsPath is the management node's network namespace.
	NetnsPath string

	mu      sync.Mutex
	serving map[types.NamespacedName]*served
}

// served is a Service's listeners, for the address and ports they were made for.
type served struct {
	key        string
	forwarders []*forwarder
}

// SetupWithManager registers the controller.
func (lb *LoadBalancer) SetupWithManager(mgr ctrl.Manager) error {
	if !lb.Base.Is4() || !lb.Base.IsLoopback() {
		return fmt.Errorf("the LoadBalancer base %s is not an IPv4 loopback address", lb.Base)
	}
	lb.serving = map[types.NamespacedName]*served{}
	return ctrl.NewControllerManagedBy(mgr).
		Named("management-node-loadbalancer").
		For(&corev1.Service{}).
		Complete(lb)
}

// Reconcile gives a LoadBalancer Service its address and serves it.
func (lb *LoadBalancer) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	svc := &corev1.Service{}
	if err := lb.Client.Get(ctx, req.NamespacedName, svc); err != nil {
		if apierrors.IsNotFound(err) {
			lb.unserve(req.NamespacedName)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("reading Service %s: %w", req, err)
	}
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || svc.Spec.LoadBalancerClass != nil || svc.DeletionTimestamp != nil {
		lb.unserve(req.NamespacedName)
		return ctrl.Result{}, nil
	}
	ip, ok := util.LoadBalancerIP(svc)
	if !ok {
		var err error
		if ip, err = lb.allocate(ctx); err != nil {
			return ctrl.Result{}, fmt.Errorf("allocating an address for Service %s: %w", req, err)
		}
		svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: ip.String(), IPMode: ptr.To(corev1.LoadBalancerIPModeProxy)}}
		if err := lb.Client.Status().Update(ctx, svc); err != nil {
			return ctrl.Result{}, fmt.Errorf("setting the address of Service %s: %w", req, err)
		}
		log.Info("Assigned a LoadBalancer address", "address", ip)
	}
	return ctrl.Result{}, lb.serve(ctx, svc, ip)
}

// allocate picks the lowest address from Base that no Service holds.
func (lb *LoadBalancer) allocate(ctx context.Context) (netip.Addr, error) {
	used, err := util.UsedLoadBalancerIPs(ctx, lb.Client)
	if err != nil {
		return netip.Addr{}, err
	}
	// Node Pods reach the /16 of Base (see loopbackPlugin).
	for ip := lb.Base; LoadBalancerPrefix(lb.Base).Contains(ip); ip = ip.Next() {
		if !used[ip] {
			return ip, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("no address left in %s from %s", LoadBalancerPrefix(lb.Base), lb.Base)
}

// serve listens on ip at each of the Service's ports, unless it already does.
func (lb *LoadBalancer) serve(ctx context.Context, svc *corev1.Service, ip netip.Addr) error {
	name := client.ObjectKeyFromObject(svc)
	key := ip.String()
	for _, p := range svc.Spec.Ports {
		key += fmt.Sprintf(",%s/%d", p.Name, p.Port)
	}
	lb.mu.Lock()
	current := lb.serving[name]
	lb.mu.Unlock()
	if current != nil && current.key == key {
		return nil
	}
	lb.unserve(name)
	s := &served{key: key}
	log := ctrl.LoggerFrom(ctx)
	for _, p := range svc.Spec.Ports {
		if p.Protocol != "" && p.Protocol != corev1.ProtocolTCP {
			continue
		}
		port := p
		dial := func(ctx context.Context) (net.Conn, error) {
			backend, err := lb.endpoint(ctx, svc, port)
			if err != nil {
				return nil, err
			}
			return dialIn(lb.NetnsPath, backend)
		}
		// On the host, and inside the management node for its Pods.
		addr := net.JoinHostPort(ip.String(), strconv.Itoa(int(p.Port)))
		podAddr := net.JoinHostPort(PodViewOf(ip).String(), strconv.Itoa(int(p.Port)))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			s.close()
			return fmt.Errorf("listening on %s for Service %s: %w", addr, name, err)
		}
		s.forwarders = append(s.forwarders, newForwarder(l, log.WithValues("listener", addr), dial))
		if l, err = listenIn(lb.NetnsPath, podAddr); err != nil {
			s.close()
			return fmt.Errorf("listening on %s in the management node for Service %s: %w", podAddr, name, err)
		}
		s.forwarders = append(s.forwarders, newForwarder(l, log.WithValues("listener", podAddr), dial))
		log.Info("Serving a LoadBalancer address", "address", addr, "podAddress", podAddr)
	}
	lb.mu.Lock()
	lb.serving[name] = s
	lb.mu.Unlock()
	return nil
}

// endpoint picks a backend of the Service's port from its EndpointSlices: a
// ready one, else (the Service publishes not-ready addresses) any serving one.
func (lb *LoadBalancer) endpoint(ctx context.Context, svc *corev1.Service, port corev1.ServicePort) (string, error) {
	slices := &discoveryv1.EndpointSliceList{}
	if err := lb.Client.List(ctx, slices, client.InNamespace(svc.Namespace),
		client.MatchingLabels{discoveryv1.LabelServiceName: svc.Name}); err != nil {
		return "", fmt.Errorf("listing the endpoints of Service %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	var fallback string
	for _, s := range slices.Items {
		if s.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		for _, sp := range s.Ports {
			if sp.Port == nil || ptr.Deref(sp.Name, "") != port.Name {
				continue
			}
			for _, ep := range s.Endpoints {
				if len(ep.Addresses) == 0 {
					continue
				}
				addr := net.JoinHostPort(ep.Addresses[0], strconv.Itoa(int(*sp.Port)))
				if ep.Conditions.Ready == nil || *ep.Conditions.Ready {
					return addr, nil
				}
				if fallback == "" && (ep.Conditions.Serving == nil || *ep.Conditions.Serving) {
					fallback = addr
				}
			}
		}
	}
	if fallback != "" {
		return fallback, nil
	}
	return "", fmt.Errorf("service %s/%s has no endpoint for port %q", svc.Namespace, svc.Name, port.Name)
}

// unserve closes a Service's listeners.
func (lb *LoadBalancer) unserve(name types.NamespacedName) {
	lb.mu.Lock()
	s := lb.serving[name]
	delete(lb.serving, name)
	lb.mu.Unlock()
	if s != nil {
		s.close()
	}
}

func (s *served) close() {
	for _, f := range s.forwarders {
		f.close()
	}
}

// Close closes every listener.
func (lb *LoadBalancer) Close() {
	lb.mu.Lock()
	names := make([]types.NamespacedName, 0, len(lb.serving))
	for n := range lb.serving {
		names = append(names, n)
	}
	lb.mu.Unlock()
	for _, n := range names {
		lb.unserve(n)
	}
}
