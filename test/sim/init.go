package sim

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	goruntime "runtime"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/infrastructure/kubernetes/nodepod"
)

const (
	// apiServerStartTimeout is how long kubeadm init waits for its API server.
	apiServerStartTimeout = 2 * time.Minute
	// apiServerPoll is how often a starting API server is asked /readyz.
	apiServerPoll = time.Second
	// controlPlaneLabel and excludeLBLabel are what kubeadm init puts on its Node.
	controlPlaneLabel = "node-role.kubernetes.io/control-plane"
	excludeLBLabel    = "node.kubernetes.io/exclude-from-external-load-balancers"
)

// kubeadmInit plays kubeadm init: it starts the workload cluster's API server
// from the files the boot wrote. awaitAPIServer finishes the boot.
func (r *kubeletReconciler) kubeadmInit(ctx context.Context, pod *corev1.Pod, dir string, res *bootResult, k kubeadmCommand) (ctrl.Result, error) {
	cfg, err := readKubeadmConfig(res.root, k.config)
	if err != nil {
		return ctrl.Result{}, r.fail(ctx, pod, "kubeadm init: "+err.Error())
	}
	host, port, err := r.endpoint(ctx, pod)
	if err != nil {
		return ctrl.Result{}, err
	}
	if host == "" {
		// The LoadBalancer has no address yet; the boot runs again, afresh.
		ctrl.LoggerFrom(ctx).Info("kubeadm init: waiting for the control-plane Service's LoadBalancer address")
		return ctrl.Result{RequeueAfter: apiServerPoll}, nil
	}
	prefix := "/" + pod.Namespace + "/" + pod.Labels[clusterv1.ClusterNameLabel]
	s, err := r.rt.startAPIServer(string(pod.UID), dir, res, cfg, prefix, host, port)
	if err != nil {
		return ctrl.Result{}, r.fail(ctx, pod, err.Error())
	}
	r.rt.servers.put(client.ObjectKeyFromObject(pod).String(), s)
	ctrl.LoggerFrom(ctx).Info("kubeadm init: started the workload API server", "endpoint", net.JoinHostPort(host, fmt.Sprint(port)), "etcdPrefix", prefix)
	return ctrl.Result{RequeueAfter: apiServerPoll}, nil
}

// endpoint is where the workload API server listens: the LoadBalancer address
// and port of the Service that routes to the Pod's apiserver port, so that
// clients reach it at the endpoint the KubernetesCluster reports. Without such
// a Service it is the Pod's IP and port; while a LoadBalancer Service has no
// address yet, host is empty.
func (r *kubeletReconciler) endpoint(ctx context.Context, pod *corev1.Pod) (string, int, error) {
	containerPort := 0
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if c.Name == nodepod.ContainerName && p.Name == nodepod.APIServerPortName {
				containerPort = int(p.ContainerPort)
			}
		}
	}
	services := &corev1.ServiceList{}
	if err := r.client.List(ctx, services, client.InNamespace(pod.Namespace)); err != nil {
		return "", 0, fmt.Errorf("listing the Services of Pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	for _, svc := range services.Items {
		if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(pod.Labels)) {
			continue
		}
		for _, p := range svc.Spec.Ports {
			if p.TargetPort.String() != nodepod.APIServerPortName && (containerPort == 0 || p.TargetPort.IntValue() != containerPort) {
				continue
			}
			if ip, ok := ingressIP(&svc); ok {
				return ip.String(), int(p.Port), nil
			}
			if svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
				return "", 0, nil
			}
		}
	}
	if containerPort == 0 {
		return "", 0, fmt.Errorf("node Pod %s/%s has no %s port for its API server", pod.Namespace, pod.Name, nodepod.APIServerPortName)
	}
	return pod.Status.PodIP, containerPort, nil
}

// awaitAPIServer finishes kubeadm init once the API server serves: it
// registers the Node and reports the Pod started and ready (the control
// plane's readiness probe is the API server's /readyz).
func (r *kubeletReconciler) awaitAPIServer(ctx context.Context, pod *corev1.Pod, s *workloadAPIServer) (ctrl.Result, error) {
	key := client.ObjectKeyFromObject(pod).String()
	if ended, err := s.exited(); ended {
		r.rt.servers.remove(key)
		return ctrl.Result{}, r.fail(ctx, pod, fmt.Sprintf("kubeadm init: kube-apiserver exited (%v): %s", err, tail(s.log, 1500)))
	}
	if !s.ready(ctx) {
		if time.Since(s.started) > apiServerStartTimeout {
			r.rt.servers.remove(key)
			return ctrl.Result{}, r.fail(ctx, pod, fmt.Sprintf("kubeadm init: kube-apiserver not ready after %s: %s", apiServerStartTimeout, tail(s.log, 1500)))
		}
		return ctrl.Result{RequeueAfter: apiServerPoll}, nil
	}
	c, err := s.client()
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := registerNode(ctx, c, pod, s.kubeadm, true); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, r.finishBoot(ctx, pod, s.boot)
}

// nodeName is the name kubeadm registers: nodeRegistration.name, else the
// hostname, which is the Pod's.
func nodeName(pod *corev1.Pod, cfg *kubeadmConfig) string {
	if cfg.NodeName != "" && !strings.Contains(cfg.NodeName, "{{") {
		return cfg.NodeName
	}
	if pod.Spec.Hostname != "" {
		return pod.Spec.Hostname
	}
	return pod.Name
}

// registerNode creates the Node as the kubelet registers it and kubeadm marks
// it, and reports it Ready.
func registerNode(ctx context.Context, c client.Client, pod *corev1.Pod, cfg *kubeadmConfig, controlPlane bool) error {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: nodeName(pod, cfg), Labels: map[string]string{
		corev1.LabelHostname: nodeName(pod, cfg),
		corev1.LabelOSStable: "linux",
	}}}
	for k, v := range cfg.NodeLabels {
		node.Labels[k] = v
	}
	if controlPlane {
		node.Labels[controlPlaneLabel] = ""
		node.Labels[excludeLBLabel] = ""
	}
	switch {
	case cfg.Taints != nil:
		node.Spec.Taints = *cfg.Taints
	case controlPlane:
		node.Spec.Taints = []corev1.Taint{{Key: controlPlaneLabel, Effect: corev1.TaintEffectNoSchedule}}
	}
	if err := c.Create(ctx, node); err != nil {
		if !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("registering Node %s: %w", node.Name, err)
		}
		// A rebooted node registers again under the same name.
		if err := c.Get(ctx, client.ObjectKeyFromObject(node), node); err != nil {
			return fmt.Errorf("reading Node %s: %w", node.Name, err)
		}
	}
	now := metav1.Now()
	node.Status.Conditions = []corev1.NodeCondition{{
		Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: reasonKubeletReady,
		Message: "kubelet is posting ready status (simulated)", LastHeartbeatTime: now, LastTransitionTime: now,
	}}
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: node.Name}}
	if ip, err := netip.ParseAddr(pod.Status.PodIP); err == nil {
		node.Status.Addresses = append([]corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip.String()}}, node.Status.Addresses...)
	}
	node.Status.NodeInfo.KubeletVersion = cfg.KubernetesVersion
	node.Status.NodeInfo.OperatingSystem = "linux"
	node.Status.NodeInfo.Architecture = goruntime.GOARCH
	if err := c.Status().Update(ctx, node); err != nil {
		return fmt.Errorf("reporting Node %s Ready: %w", node.Name, err)
	}
	// The API server taints a new Node not-ready; the controller-manager's
	// node lifecycle controller, which is not run here, lifts it once the
	// Node is Ready.
	taints := node.Spec.Taints[:0]
	for _, t := range node.Spec.Taints {
		if t.Key != corev1.TaintNodeNotReady {
			taints = append(taints, t)
		}
	}
	if len(taints) != len(node.Spec.Taints) {
		node.Spec.Taints = taints
		if err := c.Update(ctx, node); err != nil {
			return fmt.Errorf("lifting the not-ready taint of Node %s: %w", node.Name, err)
		}
	}
	return nil
}

// tail is the end of a log file, for a termination message.
func tail(file string, n int) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return err.Error()
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}
