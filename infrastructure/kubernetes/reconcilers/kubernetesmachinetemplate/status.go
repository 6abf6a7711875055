package kubernetesmachinetemplate

import (
	"runtime"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
)

// DefaultMaxPods is the kubelet's default maxPods, which the node's kubelet
// keeps: the Pods a Node from the template can hold.
const DefaultMaxPods = 110

// setStatus computes the template's status from its spec alone.
func setStatus(t *infrav1.KubernetesMachineTemplate) {
	t.Status.Capacity = capacity(t.Spec.Template.Spec.Resources)
	t.Status.NodeInfo = nodeInfo(runtime.GOARCH)
}

// capacity is what the node's kubelet reports for a node container with these
// resources: its cpu and memory limits (the cgroup it runs in), or its
// requests when it has no limits, and the kubelet's default Pod count. Without
// either the capacity is the management Node's, which the template cannot
// know, and only pods is reported.
func capacity(res corev1.ResourceRequirements) corev1.ResourceList {
	out := corev1.ResourceList{corev1.ResourcePods: *resource.NewQuantity(DefaultMaxPods, resource.DecimalSI)}
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if q, ok := res.Limits[name]; ok {
			out[name] = q.DeepCopy()
		} else if q, ok := res.Requests[name]; ok {
			out[name] = q.DeepCopy()
		}
	}
	return out
}

// nodeInfo describes the Nodes: node images are Linux, built for the
// architecture of the management cluster, taken to be the controller's own.
// An architecture the API does not list is left out.
func nodeInfo(goarch string) *infrav1.NodeInfo {
	info := &infrav1.NodeInfo{OperatingSystem: "linux"}
	switch goarch {
	case "amd64", "arm64", "s390x", "ppc64le":
		info.Architecture = goarch
	}
	return info
}
