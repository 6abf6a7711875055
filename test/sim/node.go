package sim

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	goruntime "runtime"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/podcluster/podcluster/infrastructure/kubernetes/nodepod"
)

// The reasons and messages the kubelet gives in the Node conditions it
// reports; k8s.io/api does not export them.
const (
	reasonKubeletHasSufficientMemory = "KubeletHasSufficientMemory"
	reasonKubeletHasNoDiskPressure   = "KubeletHasNoDiskPressure"
	reasonKubeletHasSufficientPID    = "KubeletHasSufficientPID"
)

const (
	// maxPods is the kubelet's default maxPods, which kubeadm keeps, as the
	// KubernetesMachineTemplate reports it.
	maxPods = 110
	// kubeletPort is the kubelet's port, which the Node reports as its
	// daemon endpoint (nothing listens: there is no kubelet).
	kubeletPort = 10250
)

// nodeName is the name kubeadm registers: nodeRegistration.name, else the
// hostname, which is the Pod's.
func nodeName(pod *corev1.Pod, cfg *kubeadmConfig) string {
	if cfg.NodeName != "" {
		return cfg.NodeName
	}
	if pod.Spec.Hostname != "" {
		return pod.Spec.Hostname
	}
	return pod.Name
}

// versionTag is a Kubernetes version used as an image tag.
var versionTag = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+([-.][0-9A-Za-z.-]+)?$`)

// kubeletVersion is the version the node's kubelet reports: the cluster's
// kubernetesVersion when the kubeadm config has it (init), else the node
// image's tag when that is a version (a JoinConfiguration has none; the
// node image carries the Machine's version), else empty.
func kubeletVersion(pod *corev1.Pod, cfg *kubeadmConfig) string {
	if cfg.KubernetesVersion != "" {
		return cfg.KubernetesVersion
	}
	for _, c := range pod.Spec.Containers {
		if c.Name != nodepod.ContainerName {
			continue
		}
		image, _, _ := strings.Cut(c.Image, "@")
		i := strings.LastIndex(image, ":")
		if i < 0 || strings.Contains(image[i:], "/") {
			return ""
		}
		if tag := image[i+1:]; versionTag.MatchString(tag) {
			return tag
		}
	}
	return ""
}

// nodeCapacity is what the node's kubelet reports for a node container with
// these resources, as the KubernetesMachineTemplate does: the cpu and memory
// limits (the cgroup the node runs in), else the requests, and maxPods. A
// resource the container does not bound is the host's, as a kubelet in an
// unbounded container sees the whole machine.
func nodeCapacity(res corev1.ResourceRequirements, host corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{corev1.ResourcePods: *resource.NewQuantity(maxPods, resource.DecimalSI)}
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if q, ok := res.Limits[name]; ok {
			out[name] = q.DeepCopy()
		} else if q, ok := res.Requests[name]; ok {
			out[name] = q.DeepCopy()
		} else if q, ok := host[name]; ok {
			out[name] = q.DeepCopy()
		}
	}
	return out
}

// hostCapacity is this machine's cpu count and memory, the capacity of a
// node whose container sets no resources.
func hostCapacity() corev1.ResourceList {
	out := corev1.ResourceList{corev1.ResourceCPU: *resource.NewQuantity(int64(goruntime.NumCPU()), resource.DecimalSI)}
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return out
	}
	defer func() { _ = f.Close() }()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		v, ok := strings.CutPrefix(scanner.Text(), "MemTotal:")
		if !ok {
			continue
		}
		if kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64); err == nil {
			out[corev1.ResourceMemory] = *resource.NewQuantity(kib*1024, resource.BinarySI)
		}
	}
	return out
}

// nodeContainerResources are the node container's resources.
func nodeContainerResources(pod *corev1.Pod) corev1.ResourceRequirements {
	for _, c := range pod.Spec.Containers {
		if c.Name == nodepod.ContainerName {
			return c.Resources
		}
	}
	return corev1.ResourceRequirements{}
}

// kubeletConditions are the Node conditions a kubelet posts: Ready (False
// with notReady as its message when one is injected) and no pressure. The
// transition times of conditions whose status did not change are kept.
func kubeletConditions(old []corev1.NodeCondition, notReady string, now metav1.Time) []corev1.NodeCondition {
	ready := corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: reasonKubeletReady,
		Message: "kubelet is posting ready status (simulated)"}
	if notReady != "" {
		ready.Status, ready.Reason, ready.Message = corev1.ConditionFalse, reasonKubeletNotReady, notReady
	}
	conds := []corev1.NodeCondition{
		{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: reasonKubeletHasSufficientMemory,
			Message: "kubelet has sufficient memory available"},
		{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Reason: reasonKubeletHasNoDiskPressure,
			Message: "kubelet has no disk pressure"},
		{Type: corev1.NodePIDPressure, Status: corev1.ConditionFalse, Reason: reasonKubeletHasSufficientPID,
			Message: "kubelet has sufficient PID available"},
		ready,
	}
	for i := range conds {
		conds[i].LastHeartbeatTime, conds[i].LastTransitionTime = now, now
		for _, o := range old {
			if o.Type == conds[i].Type && o.Status == conds[i].Status {
				conds[i].LastTransitionTime = o.LastTransitionTime
			}
		}
	}
	return conds
}

// conditionsDiffer says whether the kubelet would post want over have: a
// status, reason or message changed.
func conditionsDiffer(have, want []corev1.NodeCondition) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if h.Type == w.Type {
				found = true
				if h.Status != w.Status || h.Reason != w.Reason || h.Message != w.Message {
					return true
				}
			}
		}
		if !found {
			return true
		}
	}
	return false
}

// nodeRegistration is what the kubelet registers and reports of its Node.
type nodeRegistration struct {
	name         string
	controlPlane bool
	// version is the kubelet's; empty when unknown.
	version string
	// capacity is the Node's capacity and allocatable: nothing is reserved
	// for the system on a simulated node.
	capacity corev1.ResourceList
	// liftNotReadyTaint lifts the not-ready taint the API server puts on a
	// new Node, when no controller-manager runs whose node lifecycle
	// controller would.
	liftNotReadyTaint bool
}

// registerNode creates the Node as the kubelet registers it and kubeadm marks
// it, and reports its status: Ready, its capacity, versions and addresses. A
// Node that exists (a rebooted or restarted node) keeps its spec and gets
// its status reported anew. A status report that meets a newer Node (the
// controller-manager's controllers write new Nodes at once) is made again on
// the Node read anew, as the kubelet retries its status updates: failing it
// would boot the node a second time.
func registerNode(ctx context.Context, cs kubernetes.Interface, pod *corev1.Pod, cfg *kubeadmConfig, reg nodeRegistration) error {
	nodes := cs.CoreV1().Nodes()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: reg.name, Labels: map[string]string{
		corev1.LabelHostname:   reg.name,
		corev1.LabelOSStable:   "linux",
		corev1.LabelArchStable: goruntime.GOARCH,
	}}}
	for k, v := range cfg.NodeLabels {
		node.Labels[k] = v
	}
	if reg.controlPlane {
		node.Labels[controlPlaneLabel] = ""
		node.Labels[excludeLBLabel] = ""
	}
	switch {
	case cfg.Taints != nil:
		node.Spec.Taints = *cfg.Taints
	case reg.controlPlane:
		node.Spec.Taints = []corev1.Taint{{Key: controlPlaneLabel, Effect: corev1.TaintEffectNoSchedule}}
	}
	created, err := nodes.Create(ctx, node, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("registering Node %s: %w", node.Name, err)
	}
	if err == nil {
		node = created
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if node.UID == "" {
			got, err := nodes.Get(ctx, reg.name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			node = got
		}
		node.Status.Conditions = kubeletConditions(node.Status.Conditions, "", metav1.Now())
		node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: node.Name}}
		if ip, err := netip.ParseAddr(pod.Status.PodIP); err == nil {
			node.Status.Addresses = append([]corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip.String()}}, node.Status.Addresses...)
		}
		node.Status.Capacity = reg.capacity
		node.Status.Allocatable = reg.capacity.DeepCopy()
		node.Status.NodeInfo.KubeletVersion = reg.version
		// Deprecated in the API, and still filled in by the kubelet.
		node.Status.NodeInfo.KubeProxyVersion = reg.version //nolint:staticcheck // see above
		node.Status.NodeInfo.OperatingSystem = "linux"
		node.Status.NodeInfo.Architecture = goruntime.GOARCH
		node.Status.DaemonEndpoints.KubeletEndpoint.Port = kubeletPort
		updated, err := nodes.UpdateStatus(ctx, node, metav1.UpdateOptions{})
		if err != nil {
			node.UID = "" // read it anew
			return err
		}
		node = updated
		return nil
	})
	if err != nil {
		return fmt.Errorf("reporting the status of Node %s: %w", reg.name, err)
	}
	if !reg.liftNotReadyTaint {
		return nil
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		taints := node.Spec.Taints[:0:0]
		for _, t := range node.Spec.Taints {
			if t.Key != corev1.TaintNodeNotReady {
				taints = append(taints, t)
			}
		}
		if len(taints) == len(node.Spec.Taints) {
			return nil
		}
		node.Spec.Taints = taints
		updated, err := nodes.Update(ctx, node, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			if got, getErr := nodes.Get(ctx, reg.name, metav1.GetOptions{}); getErr == nil {
				node = got
			}
			return err
		}
		if err == nil {
			node = updated
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("lifting the not-ready taint of Node %s: %w", reg.name, err)
	}
	return nil
}
