package sim

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// A stacked control plane: when kubeadm init's ClusterConfiguration has
// etcd.local, every control-plane node of the cluster runs an etcd member
// and a kube-apiserver of its own on that member, on the node Pod's IP,
// and the control-plane endpoint (the LoadBalancer address) is a load
// balancer in front of the API servers that serve (endpointProxy). Every
// control-plane node runs a controller-manager and a scheduler on its own
// API server, with leader election (startComponents); the kubelets of the
// cluster's Pods run next to one API server at a time (ensurePodKubelet).

// stackedControlPlane plays kubeadm's control-plane phases on a node of a
// stacked control plane: the etcd member (founding the cluster on init,
// added to it on a join), then the node's API server on it. host and port
// are the control-plane endpoint. It returns a message when the boot fails;
// awaitAPIServer finishes the boot once the API server serves.
func (r *kubeletReconciler) stackedControlPlane(ctx context.Context, pod *corev1.Pod, dir string, res *bootResult, cfg *kubeadmConfig, k kubeadmCommand, host string, port int, join bool) (string, error) {
	cluster := types.NamespacedName{Namespace: pod.Namespace, Name: pod.Labels[clusterv1.ClusterNameLabel]}
	name := nodeName(pod, cfg)
	ip := pod.Status.PodIP
	// Recorded before anything runs, so that a deleted Pod's Node is found.
	if err := writeNodeState(dir, &nodeState{
		PodUID: string(pod.UID), Cluster: cluster.Name, Node: name, ControlPlane: true, KubeadmConfig: k.config,
		Etcd: &etcdMemberState{Name: name, IP: ip, APIServerPort: port, EndpointHost: host, EndpointPort: port},
	}); err != nil {
		return "", err
	}
	_, backend, err := r.rt.startEtcdMember(ctx, pod, dir, res.root, name, join)
	if err != nil {
		return fmt.Sprintf("kubeadm %s: etcd: %v", k.phase, err), nil
	}
	s, err := r.rt.startAPIServer(string(pod.UID), cluster, dir, res.root, cfg, backend, ip, port, host)
	if err != nil {
		return err.Error(), nil
	}
	s.boot, s.join, s.endpoint = res, join, net.JoinHostPort(host, strconv.Itoa(port))
	s.node, s.nodeIP = name, ip
	r.rt.servers.put(client.ObjectKeyFromObject(pod).String(), s)
	ctrl.LoggerFrom(ctx).Info("kubeadm "+k.phase+": started the node's etcd member and API server", "apiServer", net.JoinHostPort(ip, strconv.Itoa(port)), "endpoint", s.endpoint)
	return "", nil
}

// phase is the kubeadm command that started the API server.
func (s *workloadAPIServer) phase() string {
	if s.join {
		return "join"
	}
	return "init"
}

// serveEndpoint puts a serving API server of a stacked control plane behind
// its control-plane endpoint, until it stops.
func (r *Runtime) serveEndpoint(s *workloadAPIServer) error {
	if s.endpoint == "" {
		return nil
	}
	backend := net.JoinHostPort(s.host, strconv.Itoa(s.port))
	if err := r.proxies.add(s.endpoint, backend); err != nil {
		return err
	}
	s.mu.Lock()
	stopped := s.stopped
	s.onStop = func() { r.proxies.remove(backend) }
	s.mu.Unlock()
	if stopped {
		r.proxies.remove(backend)
	}
	return nil
}

// writeControlPlaneObjects writes what kubeadm and the kubelet leave in the
// workload cluster for a control-plane node with an API server: the mirror
// Pods of the static Pods the runtime runs a process for
// (staticPodComponents) in kube-system, labelled and annotated as the
// kubelet makes them and owned by the Node, so they go with it; their status
// is the staticPodReporter's. On a stacked init it also writes the
// kubeadm-config ConfigMap with the ClusterConfiguration.
func (r *Runtime) writeControlPlaneObjects(ctx context.Context, s *workloadAPIServer, node string) error {
	cs, err := kubernetes.NewForConfig(s.kubeletConfig())
	if err != nil {
		return fmt.Errorf("connecting to the workload cluster: %w", err)
	}
	n, err := cs.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading Node %s: %w", node, err)
	}
	version := s.kubeadm.KubernetesVersion
	for _, component := range r.staticPodComponents(s) {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{
				Name: component + "-" + node, Namespace: metav1.NamespaceSystem,
				Labels: map[string]string{"component": component, "tier": "control-plane"},
				Annotations: map[string]string{
					mirrorAnnotation:              string(n.UID) + "-" + component,
					"kubernetes.io/config.source": "file",
				},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: n.Name, UID: n.UID, Controller: ptrTo(true)}},
			},
			Spec: corev1.PodSpec{
				NodeName: node, HostNetwork: true, PriorityClassName: "system-node-critical",
				Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}},
				Containers:  []corev1.Container{{Name: component, Image: staticPodImage(component, version)}},
			},
		}
		if _, err := cs.CoreV1().Pods(metav1.NamespaceSystem).Create(ctx, pod, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating the mirror Pod %s: %w", pod.Name, err)
		}
	}
	// Their status at once, not at the next report.
	s.kickReporter()
	if s.join || !s.stacked() {
		return nil
	}
	cc, err := clusterConfigurationDoc(s.root, s.boot)
	if err != nil {
		return err
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "kubeadm-config", Namespace: metav1.NamespaceSystem},
		Data:       map[string]string{"ClusterConfiguration": cc},
	}
	if _, err := cs.CoreV1().ConfigMaps(metav1.NamespaceSystem).Create(ctx, cm, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the kubeadm-config ConfigMap: %w", err)
	}
	return nil
}

// staticPodImage is the image kubeadm's manifest names (nothing pulls it).
func staticPodImage(component, version string) string {
	if component == "etcd" {
		return "registry.k8s.io/etcd"
	}
	if version == "" {
		return "registry.k8s.io/" + component
	}
	return "registry.k8s.io/" + component + ":" + version
}

// clusterConfigurationDoc is the ClusterConfiguration document of the init's
// kubeadm config, as kubeadm init uploads it.
func clusterConfigurationDoc(root string, boot *bootResult) (string, error) {
	if boot == nil {
		return "", nil
	}
	k, ok := findKubeadm(boot.commands)
	if !ok {
		return "", nil
	}
	raw, err := os.ReadFile(filepath.Join(root, k.config))
	if err != nil {
		return "", fmt.Errorf("reading the kubeadm config: %w", err)
	}
	for _, part := range bytes.Split(raw, []byte("\n---")) {
		var doc struct {
			Kind string `json:"kind"`
		}
		if yaml.Unmarshal(part, &doc) == nil && doc.Kind == "ClusterConfiguration" {
			return string(bytes.TrimSpace(part)) + "\n", nil
		}
	}
	return "", nil
}
