package sim

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/infrastructure/kubernetes/nodepod"
	"github.com/podcluster/podcluster/internal/util"
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
	cluster := types.NamespacedName{Namespace: pod.Namespace, Name: pod.Labels[clusterv1.ClusterNameLabel]}
	prefix := "/" + cluster.Namespace + "/" + cluster.Name
	if err := r.rt.claimCluster(ctx, r.client, cluster, prefix); err != nil {
		return ctrl.Result{}, err
	}
	if cfg.LocalEtcd {
		msg, err := r.stackedControlPlane(ctx, pod, dir, res, cfg, k, host, port, false)
		if err != nil || msg != "" {
			if err != nil {
				return ctrl.Result{}, err
			}
			return ctrl.Result{}, r.fail(ctx, pod, msg)
		}
		return ctrl.Result{RequeueAfter: apiServerPoll}, nil
	}
	// Recorded before anything runs, so that a restarted runtime brings the
	// API server back and a deleted Pod's Node is found.
	if err := writeNodeState(dir, &nodeState{
		PodUID: string(pod.UID), Cluster: cluster.Name, Node: nodeName(pod, cfg), ControlPlane: true, KubeadmConfig: k.config,
		APIServer: &apiServerState{Host: host, Port: port, EtcdPrefix: prefix},
	}); err != nil {
		return ctrl.Result{}, err
	}
	s, err := r.rt.startAPIServer(string(pod.UID), cluster, dir, res.root, cfg, apiServerEtcd{servers: r.rt.EtcdURL, prefix: prefix}, host, port, "")
	if err != nil {
		return ctrl.Result{}, r.fail(ctx, pod, err.Error())
	}
	s.boot = res
	s.node, s.nodeIP = nodeName(pod, cfg), pod.Status.PodIP
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
			if ip, ok := util.LoadBalancerIP(&svc); ok {
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
		return ctrl.Result{}, r.fail(ctx, pod, fmt.Sprintf("kubeadm %s: kube-apiserver exited (%v): %s", s.phase(), err, tail(s.log, 1500)))
	}
	if !s.ready(ctx) {
		if time.Since(s.started) > apiServerStartTimeout {
			r.rt.servers.remove(key)
			return ctrl.Result{}, r.fail(ctx, pod, fmt.Sprintf("kubeadm %s: kube-apiserver not ready after %s: %s", s.phase(), apiServerStartTimeout, tail(s.log, 1500)))
		}
		return ctrl.Result{RequeueAfter: apiServerPoll}, nil
	}
	if err := r.rt.serveEndpoint(s); err != nil {
		return ctrl.Result{}, err
	}
	// Every API server runs its components, but a join's only on a
	// stacked control plane: otherwise the init node's serve the cluster.
	if !s.join || s.stacked() {
		if err := r.rt.startComponents(ctx, s); err != nil {
			return ctrl.Result{}, err
		}
	}
	if err := r.register(ctx, pod, s.kubeadm, true, s.kubeletConfig()); err != nil {
		return ctrl.Result{}, err
	}
	// kubeadm's static Pods show as mirror Pods, and a stacked init
	// uploads its configuration.
	if err := r.rt.writeControlPlaneObjects(ctx, s, nodeName(pod, s.kubeadm)); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, r.finishBoot(ctx, pod, s.boot)
}

// register plays the kubelet's start on a booted node: it registers the Node
// (or reports the status of the one there) and heartbeats from then on.
func (r *kubeletReconciler) register(ctx context.Context, pod *corev1.Pod, cfg *kubeadmConfig, controlPlane bool, wcfg *rest.Config) error {
	cs, err := kubernetes.NewForConfig(wcfg)
	if err != nil {
		return fmt.Errorf("connecting to the workload cluster: %w", err)
	}
	name := nodeName(pod, cfg)
	version := kubeletVersion(pod, cfg)
	if version == "" {
		// A join's config has no version and a custom image's tag may be
		// none: the Machine's version is what its node image carries.
		if version, err = r.machineVersion(ctx, pod); err != nil {
			return err
		}
	}
	if err := registerNode(ctx, cs, pod, cfg, nodeRegistration{
		name: name, controlPlane: controlPlane, version: version,
		capacity:          nodeCapacity(nodeContainerResources(pod), r.rt.hostCapacity),
		liftNotReadyTaint: !r.rt.runs(ControllerManager),
	}); err != nil {
		return err
	}
	r.rt.registerHeartbeat(&nodeEntry{
		podKey: client.ObjectKeyFromObject(pod).String(), podUID: string(pod.UID),
		cluster: types.NamespacedName{Namespace: pod.Namespace, Name: pod.Labels[clusterv1.ClusterNameLabel]},
		name:    name, internalIP: pod.Status.PodIP, cs: cs,
	})
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
