package kubernetescluster

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"reflect"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
	"github.com/podcluster/podcluster/infrastructure/kubernetes/nodepod"
	"github.com/podcluster/podcluster/internal/util"
)

// scope carries what one reconcile observed. Status setters read only this.
type scope struct {
	kc *infrav1.KubernetesCluster
	// clusterName is the owning Cluster's name; cluster is nil when it is gone
	// (only possible while deleting).
	clusterName string
	cluster     *clusterv1.Cluster
	paused      bool
	// observed is set once the management Nodes were read.
	observed bool

	// Set by reconcileNodes.
	nodes          []corev1.Node
	failureDomains []clusterv1.FailureDomain

	// Set by reconcileService.
	service      *corev1.Service // nil until the Service exists and is ours
	serviceError string          // the Service could not be created or repaired
	serviceWait  string          // the Service is going away and will be re-created

	// Set by reconcileEndpoint.
	noEndpoint string // why the Service provides no endpoint yet
	mismatch   string // how the Service's endpoint differs from controlPlaneEndpoint

	// Set by reconcileDelete.
	deleteWait string
}

// ServiceName is the name of a cluster's control-plane Service.
func ServiceName(clusterName string) string { return clusterName + "-apiserver" }

// serviceNameProblem says why the control-plane Service cannot be named after
// the Cluster, or "" when it can. A Service name is a DNS label, which is
// stricter than the names a Cluster may have. (API servers before 1.34 also
// want it to start with a letter; they say so when the Service is created.)
func serviceNameProblem(clusterName string) string {
	if msgs := validation.IsDNS1123Label(ServiceName(clusterName)); len(msgs) > 0 {
		return fmt.Sprintf("Cluster metadata.name %q cannot name the control-plane Service %s: %s; "+
			"a Cluster on this infrastructure needs a name of at most %d characters without dots",
			clusterName, ServiceName(clusterName), strings.Join(msgs, "; "), validation.DNS1123LabelMaxLength-len(ServiceName("")))
	}
	return ""
}

// reconcileNodes reads the management Nodes: their zones are the failure domains.
func (r *Reconciler) reconcileNodes(ctx context.Context, s *scope) error {
	nodes := &corev1.NodeList{}
	if err := r.Client.List(ctx, nodes); err != nil {
		return fmt.Errorf("listing management Nodes: %w", err)
	}
	s.nodes = nodes.Items
	s.failureDomains = failureDomains(nodes.Items)
	return nil
}

// failureDomains are the distinct zones of the Nodes, sorted. Every zone can
// hold control-plane node Pods.
func failureDomains(nodes []corev1.Node) []clusterv1.FailureDomain {
	zones := map[string]bool{}
	for i := range nodes {
		if z := nodes[i].Labels[corev1.LabelTopologyZone]; z != "" {
			zones[z] = true
		}
	}
	names := make([]string, 0, len(zones))
	for z := range zones {
		names = append(names, z)
	}
	sort.Strings(names)
	var out []clusterv1.FailureDomain
	for _, z := range names {
		t := true
		out = append(out, clusterv1.FailureDomain{Name: z, ControlPlane: &t})
	}
	return out
}

// reconcileService creates the control-plane Service, or repairs the fields
// the controller owns when they were changed out of band.
func (r *Reconciler) reconcileService(ctx context.Context, s *scope) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	if msg := serviceNameProblem(s.clusterName); msg != "" {
		// The API server would refuse the Service at every retry.
		s.serviceError = msg
		return ctrl.Result{}, reconcile.TerminalError(errors.New(msg))
	}
	desired := desiredService(s.kc, s.clusterName, apiServerPort(s.cluster))
	key := client.ObjectKeyFromObject(desired)
	svc := &corev1.Service{}
	err := r.Client.Get(ctx, key, svc)
	if apierrors.IsNotFound(err) {
		return r.createService(ctx, s, desired)
	}
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("reading Service %s: %w", key, err)
	}
	if !ownedBy(svc, s.kc) {
		s.serviceError = fmt.Sprintf("Service %s exists and is not controlled by this KubernetesCluster", key.Name)
		return ctrl.Result{RequeueAfter: waitForForeignService}, nil
	}
	if !svc.DeletionTimestamp.IsZero() {
		s.serviceWait = fmt.Sprintf("Service %s is being deleted; it will be re-created", key.Name)
		return ctrl.Result{}, nil // its deletion is an event
	}
	drift, recreate := repairService(svc, desired)
	if recreate {
		// type and loadBalancerClass cannot be changed back in place.
		log.Info("Deleting the control-plane Service to re-create it", "service", svc.Name, "changed", drift)
		if err := r.Client.Delete(ctx, svc); client.IgnoreNotFound(err) != nil {
			s.serviceError = fmt.Sprintf("deleting Service %s to re-create it: %v", key.Name, err)
			return ctrl.Result{}, fmt.Errorf("deleting Service %s: %w", key, err)
		}
		s.serviceWait = fmt.Sprintf("Service %s was changed (%v) and is being re-created", key.Name, drift)
		return ctrl.Result{}, nil
	}
	if len(drift) > 0 {
		log.Info("Repairing the control-plane Service", "service", svc.Name, "changed", drift)
		if err := r.Client.Update(ctx, svc); err != nil {
			s.serviceError = fmt.Sprintf("repairing Service %s (%v): %v", key.Name, drift, err)
			return ctrl.Result{}, fmt.Errorf("repairing Service %s: %w", key, err)
		}
	}
	s.service = svc
	return ctrl.Result{}, nil
}

// createService creates the Service. Once the endpoint is known (the Service
// is being re-created) it asks for the endpoint's cluster IP or node port, so
// that the endpoint stays valid. While that address is still allocated (the
// deleted Service's is released a moment after it is gone) it retries; when the
// API server refuses the address for good (for example a pre-set endpoint IP
// outside the Service range) the Service is created without it, and
// ServiceReady reports the difference.
func (r *Reconciler) createService(ctx context.Context, s *scope, desired *corev1.Service) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	pinned := desired.DeepCopy()
	if provisioned(s.kc) && pinEndpoint(pinned, s.kc.Spec.ControlPlaneEndpoint) {
		log.Info("Re-creating the control-plane Service with the endpoint's address", "service", pinned.Name,
			"endpoint", endpointString(s.kc.Spec.ControlPlaneEndpoint))
		err := r.Client.Create(ctx, pinned)
		if err == nil {
			s.service = pinned
			return ctrl.Result{}, nil
		}
		if !apierrors.IsInvalid(err) || strings.Contains(err.Error(), "already allocated") {
			// The old Service's address may not be released yet, or another
			// Service holds it: retry, a Service at another address is of
			// no use to an endpoint the certificates name.
			return r.createFailed(s, pinned, err)
		}
		log.Info("The endpoint's address cannot be requested; creating the Service without it", "error", err.Error())
	} else {
		log.Info("Creating the control-plane Service", "service", desired.Name, "type", desired.Spec.Type)
	}
	if err := r.Client.Create(ctx, desired); err != nil {
		return r.createFailed(s, desired, err)
	}
	s.service = desired
	return ctrl.Result{}, nil
}

func (r *Reconciler) createFailed(s *scope, svc *corev1.Service, err error) (ctrl.Result, error) {
	if apierrors.IsAlreadyExists(err) {
		// Our cache has not seen it yet.
		return ctrl.Result{RequeueAfter: waitForCache}, nil
	}
	s.serviceError = fmt.Sprintf("creating Service %s: %v", svc.Name, err)
	return ctrl.Result{}, fmt.Errorf("creating Service %s/%s: %w", svc.Namespace, svc.Name, err)
}

// reconcileEndpoint reads the endpoint the Service provides, fills in
// controlPlaneEndpoint where it is unset, and compares the two.
func (r *Reconciler) reconcileEndpoint(ctx context.Context, s *scope) (ctrl.Result, error) {
	if s.service == nil {
		return ctrl.Result{}, nil // the Service's creation is an event
	}
	spec := &s.kc.Spec.ControlPlaneEndpoint
	ep, why := serviceEndpoint(s.service, s.nodes, *spec)
	if ep.Host == "" {
		s.noEndpoint = why
		if provisioned(s.kc) && s.service.Spec.Type == corev1.ServiceTypeLoadBalancer {
			s.noEndpoint = fmt.Sprintf("Service %s lost its load-balancer address", s.service.Name)
		}
		return ctrl.Result{}, nil // the Service's or a Node's change is an event
	}
	if spec.Host == "" || spec.Port == 0 {
		if spec.Host == "" {
			spec.Host = ep.Host
		}
		if spec.Port == 0 {
			spec.Port = ep.Port
		}
		ctrl.LoggerFrom(ctx).Info("Setting the control-plane endpoint", "endpoint", endpointString(*spec))
	}
	s.mismatch = endpointMismatch(*spec, ep, s.service)
	return ctrl.Result{}, nil
}

// reconcileDelete deletes the Service and lets the KubernetesCluster go once
// it is gone.
func (r *Reconciler) reconcileDelete(ctx context.Context, s *scope) (ctrl.Result, error) {
	kc := s.kc
	if s.clusterName != "" {
		key := client.ObjectKey{Namespace: kc.Namespace, Name: ServiceName(s.clusterName)}
		svc := &corev1.Service{}
		err := r.Client.Get(ctx, key, svc)
		switch {
		case err == nil && ownedBy(svc, kc):
			if svc.DeletionTimestamp.IsZero() {
				ctrl.LoggerFrom(ctx).Info("Deleting the control-plane Service", "service", svc.Name)
				if err := r.Client.Delete(ctx, svc); client.IgnoreNotFound(err) != nil {
					return ctrl.Result{}, fmt.Errorf("deleting Service %s: %w", key, err)
				}
			}
			s.deleteWait = fmt.Sprintf("waiting for Service %s to be deleted", key.Name)
			return ctrl.Result{}, nil // its deletion is an event
		case err != nil && !apierrors.IsNotFound(err):
			return ctrl.Result{}, fmt.Errorf("reading Service %s: %w", key, err)
		}
	}
	controllerutil.RemoveFinalizer(kc, infrav1.ClusterFinalizer)
	return ctrl.Result{}, nil
}

// desiredService is the control-plane Service as the controller creates it.
func desiredService(kc *infrav1.KubernetesCluster, clusterName string, port int32) *corev1.Service {
	svcType := corev1.ServiceType(kc.Spec.ControlPlaneServiceType)
	if svcType == "" {
		svcType = corev1.ServiceTypeClusterIP
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:       kc.Namespace,
			Name:            ServiceName(clusterName),
			Labels:          map[string]string{clusterv1.ClusterNameLabel: clusterName},
			Annotations:     maps.Clone(kc.Spec.ControlPlaneService.Annotations),
			OwnerReferences: []metav1.OwnerReference{util.OwnerRef(kc, infrav1.GroupVersion.WithKind("KubernetesCluster"), true)},
		},
		Spec: corev1.ServiceSpec{
			Type:     svcType,
			Selector: selector(clusterName),
			Ports: []corev1.ServicePort{{
				Name:       nodepod.APIServerPortName,
				Protocol:   corev1.ProtocolTCP,
				Port:       port,
				TargetPort: intstr.FromString(nodepod.APIServerPortName),
			}},
			// Control-plane node Pods are Ready only after bootstrap, but kubeadm
			// reaches the endpoint during bootstrap (see the package doc).
			PublishNotReadyAddresses: true,
		},
	}
	if kc.Spec.ControlPlaneService.LoadBalancerClass != nil && svcType == corev1.ServiceTypeLoadBalancer {
		class := *kc.Spec.ControlPlaneService.LoadBalancerClass
		svc.Spec.LoadBalancerClass = &class
	}
	return svc
}

// selector picks the cluster's control-plane node Pods.
func selector(clusterName string) map[string]string {
	return map[string]string{
		clusterv1.ClusterNameLabel:         clusterName,
		clusterv1.MachineControlPlaneLabel: "",
	}
}

// pinEndpoint asks for the endpoint's cluster IP (ClusterIP) or node port
// (NodePort) and reports whether it asked for anything. A load balancer's
// address cannot be asked for.
func pinEndpoint(svc *corev1.Service, ep clusterv1.APIEndpoint) bool {
	switch svc.Spec.Type {
	case corev1.ServiceTypeClusterIP:
		if ip := net.ParseIP(ep.Host); ip != nil {
			svc.Spec.ClusterIP = ip.String()
			return true
		}
	case corev1.ServiceTypeNodePort:
		if ep.Port > 0 {
			svc.Spec.Ports[0].NodePort = ep.Port
			return true
		}
	}
	return false
}

// repairService brings the fields of existing that the controller owns back to
// desired. It returns what it changed, and whether the Service must be
// re-created instead (its type or load-balancer class changed, which cannot be
// changed back in place without losing allocated addresses or being refused).
// Annotations and labels others added are kept.
func repairService(existing, desired *corev1.Service) (changed []string, recreate bool) {
	if existing.Spec.Type != desired.Spec.Type {
		return []string{"type"}, true
	}
	if !reflect.DeepEqual(existing.Spec.LoadBalancerClass, desired.Spec.LoadBalancerClass) {
		return []string{"loadBalancerClass"}, true
	}
	for k, v := range desired.Labels {
		if util.SetLabel(existing, k, v) {
			changed = append(changed, "labels")
			break
		}
	}
	for k, v := range desired.Annotations {
		if got, ok := existing.Annotations[k]; !ok || got != v {
			if existing.Annotations == nil {
				existing.Annotations = map[string]string{}
			}
			maps.Copy(existing.Annotations, desired.Annotations)
			changed = append(changed, "annotations")
			break
		}
	}
	if !reflect.DeepEqual(existing.Spec.Selector, desired.Spec.Selector) {
		existing.Spec.Selector = maps.Clone(desired.Spec.Selector)
		changed = append(changed, "selector")
	}
	if !existing.Spec.PublishNotReadyAddresses {
		existing.Spec.PublishNotReadyAddresses = true
		changed = append(changed, "publishNotReadyAddresses")
	}
	want := desired.Spec.Ports[0]
	if i := apiServerPortIndex(existing); i >= 0 {
		// Keep the allocated node port: asking for a new one would move a
		// NodePort endpoint.
		want.NodePort = existing.Spec.Ports[i].NodePort
	}
	if len(existing.Spec.Ports) != 1 || !portEqual(existing.Spec.Ports[0], want) {
		existing.Spec.Ports = []corev1.ServicePort{want}
		changed = append(changed, "ports")
	}
	return changed, false
}

func portEqual(a, b corev1.ServicePort) bool {
	return a.Name == b.Name && a.Protocol == b.Protocol && a.Port == b.Port &&
		a.TargetPort == b.TargetPort && a.NodePort == b.NodePort
}

// apiServerPortIndex is the index of the Service's API-server port, or -1.
func apiServerPortIndex(svc *corev1.Service) int {
	for i, p := range svc.Spec.Ports {
		if p.Name == nodepod.APIServerPortName {
			return i
		}
	}
	return -1
}

// serviceEndpoint is the endpoint the Service provides, or why it provides
// none yet. For NodePort it prefers the address of current when a Node still
// has it, so that a chosen Node stays chosen.
func serviceEndpoint(svc *corev1.Service, nodes []corev1.Node, current clusterv1.APIEndpoint) (clusterv1.APIEndpoint, string) {
	i := apiServerPortIndex(svc)
	if i < 0 {
		return clusterv1.APIEndpoint{}, fmt.Sprintf("Service %s has no port named %s", svc.Name, nodepod.APIServerPortName)
	}
	port := svc.Spec.Ports[i]
	switch svc.Spec.Type {
	case corev1.ServiceTypeLoadBalancer:
		for _, ing := range svc.Status.LoadBalancer.Ingress {
			if ing.IP != "" {
				return clusterv1.APIEndpoint{Host: ing.IP, Port: port.Port}, ""
			}
			if ing.Hostname != "" {
				return clusterv1.APIEndpoint{Host: ing.Hostname, Port: port.Port}, ""
			}
		}
		return clusterv1.APIEndpoint{}, fmt.Sprintf("waiting for a load balancer to report an address for Service %s", svc.Name)
	case corev1.ServiceTypeNodePort:
		if port.NodePort == 0 {
			return clusterv1.APIEndpoint{}, fmt.Sprintf("Service %s has no node port yet", svc.Name)
		}
		host := nodeAddress(nodes, current.Host)
		if host == "" {
			return clusterv1.APIEndpoint{}, "no management Node reports an InternalIP or ExternalIP address"
		}
		return clusterv1.APIEndpoint{Host: host, Port: port.NodePort}, ""
	default:
		if svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone {
			return clusterv1.APIEndpoint{}, fmt.Sprintf("Service %s has no cluster IP yet", svc.Name)
		}
		return clusterv1.APIEndpoint{Host: svc.Spec.ClusterIP, Port: port.Port}, ""
	}
}

// nodeAddress picks the management Node address of a NodePort endpoint:
// prefer, when a Node still has it; otherwise the first Ready Node by name
// (then any Node), its InternalIP before its ExternalIP.
func nodeAddress(nodes []corev1.Node, prefer string) string {
	sorted := make([]*corev1.Node, 0, len(nodes))
	for i := range nodes {
		sorted = append(sorted, &nodes[i])
	}
	sort.SliceStable(sorted, func(a, b int) bool {
		ra, rb := nodeReady(sorted[a]), nodeReady(sorted[b])
		if ra != rb {
			return ra
		}
		return sorted[a].Name < sorted[b].Name
	})
	if prefer != "" {
		for _, n := range sorted {
			for _, a := range n.Status.Addresses {
				if a.Address == prefer && (a.Type == corev1.NodeInternalIP || a.Type == corev1.NodeExternalIP) {
					return prefer
				}
			}
		}
	}
	for _, t := range []corev1.NodeAddressType{corev1.NodeInternalIP, corev1.NodeExternalIP} {
		for _, n := range sorted {
			for _, a := range n.Status.Addresses {
				if a.Type == t && a.Address != "" {
					return a.Address
				}
			}
		}
	}
	return ""
}

// endpointMismatch describes how the Service's endpoint differs from
// controlPlaneEndpoint. Only an endpoint whose host is an IP address is
// compared: a DNS name is the user's (for example a name for the Service) and
// cannot be checked here.
func endpointMismatch(spec, fromService clusterv1.APIEndpoint, svc *corev1.Service) string {
	if spec.Host == "" || spec.Port == 0 || net.ParseIP(spec.Host) == nil || spec == fromService {
		return ""
	}
	if svc.Spec.Type == corev1.ServiceTypeNodePort && spec.Port == fromService.Port {
		return fmt.Sprintf("no management Node has the address %s of controlPlaneEndpoint %s any more",
			spec.Host, endpointString(spec))
	}
	return fmt.Sprintf("Service %s now provides %s, but controlPlaneEndpoint is %s and cannot change",
		svc.Name, endpointString(fromService), endpointString(spec))
}

func endpointString(ep clusterv1.APIEndpoint) string {
	return net.JoinHostPort(ep.Host, strconv.Itoa(int(ep.Port)))
}

// apiServerPort is the Cluster's API-server port, 6443 by default.
func apiServerPort(cluster *clusterv1.Cluster) int32 {
	if cluster != nil && cluster.Spec.ClusterNetwork.APIServerPort != 0 {
		return cluster.Spec.ClusterNetwork.APIServerPort
	}
	return nodepod.DefaultAPIServerPort
}

func provisioned(kc *infrav1.KubernetesCluster) bool {
	return kc.Status.Initialization.Provisioned != nil && *kc.Status.Initialization.Provisioned
}

// ownedBy reports whether kc is the controller of obj.
func ownedBy(obj metav1.Object, kc *infrav1.KubernetesCluster) bool {
	ref := metav1.GetControllerOf(obj)
	return ref != nil && ref.UID == kc.UID
}
