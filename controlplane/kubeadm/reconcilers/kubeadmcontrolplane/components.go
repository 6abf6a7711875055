package kubeadmcontrolplane

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/podcluster/podcluster/api/controlplane/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/conditions"
	"github.com/podcluster/podcluster/internal/remote"
)

// componentsRecheck is how often the control-plane components are looked at
// again: their Pods live in the workload cluster, whose events the control
// plane does not watch.
const componentsRecheck = 10 * time.Second

// Labels kubeadm puts on its static Pods, which the kubelet copies to their
// mirror Pods, and the label kubeadm puts on control-plane Nodes.
const (
	staticPodTierLabel      = "tier"
	staticPodTierValue      = "control-plane"
	controlPlaneNodeLabel   = "node-role.kubernetes.io/control-plane"
	nodeUnreachableTaintKey = corev1.TaintNodeUnreachable
)

// staticPod is one of kubeadm's control-plane static Pods and the Machine
// condition that reports it. Its mirror Pod is "<component>-<node>" in
// kube-system.
type staticPod struct {
	component string
	condition string
}

// staticPods are the static Pods kubeadm runs on a control-plane node: the
// API server, controller-manager and scheduler, and with local (stacked)
// etcd the etcd member too.
func staticPods(stacked bool) []staticPod {
	pods := []staticPod{
		{"kube-apiserver", controlplanev1.KubeadmControlPlaneMachineAPIServerPodHealthyCondition},
		{"kube-controller-manager", controlplanev1.KubeadmControlPlaneMachineControllerManagerPodHealthyCondition},
		{"kube-scheduler", controlplanev1.KubeadmControlPlaneMachineSchedulerPodHealthyCondition},
	}
	if stacked {
		pods = append(pods, staticPod{"etcd", controlplanev1.KubeadmControlPlaneMachineEtcdPodHealthyCondition})
	}
	return pods
}

// componentsObservation is what reconcileComponents saw of the workload
// cluster: its Nodes and the control plane's mirror Pods.
type componentsObservation struct {
	// err says why the workload cluster could not be inspected; "" when it was.
	err string
	// connectionDown is set with err when the cluster could not be reached at all.
	connectionDown bool
	// nodes are the workload cluster's Nodes by name.
	nodes map[string]*corev1.Node
	// pods are the control-plane mirror Pods in kube-system by name.
	pods map[string]*corev1.Pod
}

// reconcileComponents reads, once the control plane is initialized, the
// workload cluster's Nodes (from the cluster cache's informer) and the mirror
// Pods of kubeadm's static Pods in kube-system (one list), and records each
// Machine's Pod conditions. A failure is an observation, not an error: the
// conditions say it and scaling goes on.
func (r *Reconciler) reconcileComponents(ctx context.Context, s *scope) (ctrl.Result, error) {
	if r.ClusterCache == nil || !initialized(s.kcp) {
		return ctrl.Result{}, nil
	}
	s.components = r.observeComponents(ctx, s)
	_, perMachine := componentConditions(s.machines, s.components, stackedEtcd(s.kcp))
	for _, m := range s.machines {
		for _, c := range perMachine[m.Name] {
			s.setMachineCondition(m, c)
		}
	}
	return ctrl.Result{RequeueAfter: componentsRecheck}, nil
}

func (r *Reconciler) observeComponents(ctx context.Context, s *scope) *componentsObservation {
	obs := &componentsObservation{}
	wc, err := r.ClusterCache.Client(ctx, remote.ClusterKey(s.kcp.Namespace, s.cluster.Name))
	if err != nil {
		obs.err, obs.connectionDown = err.Error(), errors.Is(err, remote.ErrClusterNotConnected)
		return obs
	}
	nodes := &corev1.NodeList{}
	if err := wc.List(ctx, nodes); err != nil {
		obs.err = fmt.Sprintf("listing the Nodes of Cluster %s: %v", s.cluster.Name, err)
		return obs
	}
	pods := &corev1.PodList{}
	if err := wc.List(ctx, pods, client.InNamespace(metav1.NamespaceSystem), client.MatchingLabels{staticPodTierLabel: staticPodTierValue}); err != nil {
		obs.err = fmt.Sprintf("listing the control-plane Pods of Cluster %s: %v", s.cluster.Name, err)
		return obs
	}
	obs.nodes = make(map[string]*corev1.Node, len(nodes.Items))
	for i := range nodes.Items {
		obs.nodes[nodes.Items[i].Name] = &nodes.Items[i]
	}
	obs.pods = make(map[string]*corev1.Pod, len(pods.Items))
	for i := range pods.Items {
		obs.pods[pods.Items[i].Name] = &pods.Items[i]
	}
	return obs
}

// componentConditions are ControlPlaneComponentsHealthy and each Machine's
// Pod conditions (by Machine name) for what reconcileComponents saw. A Machine
// without a Node yet gets none (it is provisioning), nor does a Machine being
// deleted, which is also left out of the summary. Pure.
func componentConditions(machines []*clusterv1.Machine, obs *componentsObservation, stacked bool) (metav1.Condition, map[string][]metav1.Condition) {
	pods := staticPods(stacked)
	perMachine := map[string][]metav1.Condition{}
	all := func(m *clusterv1.Machine, status metav1.ConditionStatus, reason, message string) {
		for _, p := range pods {
			perMachine[m.Name] = append(perMachine[m.Name], metav1.Condition{Type: p.condition, Status: status, Reason: reason, Message: message})
		}
	}
	const kcpCondition = controlplanev1.KubeadmControlPlaneControlPlaneComponentsHealthyCondition
	if obs.err != "" {
		reason, kcpReason := controlplanev1.KubeadmControlPlaneMachinePodInspectionFailedReason, controlplanev1.KubeadmControlPlaneControlPlaneComponentsInspectionFailedReason
		if obs.connectionDown {
			reason, kcpReason = controlplanev1.KubeadmControlPlaneMachinePodConnectionDownReason, controlplanev1.KubeadmControlPlaneControlPlaneComponentsConnectionDownReason
		}
		for _, m := range machines {
			if m.Status.NodeRef.Name != "" && m.DeletionTimestamp.IsZero() {
				all(m, metav1.ConditionUnknown, reason, "Failed to inspect the control plane's Pods: "+obs.err)
			}
		}
		return conditions.Unknown(kcpCondition, kcpReason, "Failed to inspect the control plane's Pods: "+obs.err), perMachine
	}

	provisioning := false
	machineOfNode := map[string]bool{}
	for _, m := range machines {
		node := m.Status.NodeRef.Name
		switch {
		case node == "":
			provisioning = true
		case !m.DeletionTimestamp.IsZero():
			// Its components go on purpose. Upstream writes Deleting on
			// it; here nothing is written to a Machine on its way out,
			// where the Machine controller is writing its own conditions.
			machineOfNode[node] = true
		case obs.nodes[node] == nil:
			machineOfNode[node] = true
			all(m, metav1.ConditionFalse, controlplanev1.KubeadmControlPlaneMachinePodDoesNotExistReason, fmt.Sprintf("Node %s does not exist", node))
		case nodeUnreachable(obs.nodes[node]):
			// What the Pods say was reported before the Node went silent.
			machineOfNode[node] = true
			all(m, metav1.ConditionUnknown, controlplanev1.KubeadmControlPlaneMachinePodInspectionFailedReason, fmt.Sprintf("Node %s is unreachable", node))
		default:
			machineOfNode[node] = true
			for _, p := range pods {
				name := p.component + "-" + node
				perMachine[m.Name] = append(perMachine[m.Name], podCondition(p.condition, name, obs.pods[name]))
			}
		}
	}

	// The summary: one block per Machine that has a problem, naming the
	// component, then problems of the control plane as a whole.
	var problems, unknowns []string
	reporting := 0
	for _, m := range machines {
		conds, ok := perMachine[m.Name]
		if !ok || !m.DeletionTimestamp.IsZero() {
			continue
		}
		reporting++
		var lines []string
		bad := false
		for _, c := range conds {
			if c.Status == metav1.ConditionTrue {
				continue
			}
			bad = bad || c.Status == metav1.ConditionFalse
			lines = append(lines, fmt.Sprintf("  * %s: %s", c.Type, c.Message))
		}
		if len(lines) == 0 {
			continue
		}
		block := fmt.Sprintf("* Machine %s:\n%s", m.Name, strings.Join(lines, "\n"))
		if bad {
			problems = append(problems, block)
		} else {
			unknowns = append(unknowns, block)
		}
	}
	if !provisioning {
		// A control-plane Node no Machine has: kubeadm ran somewhere the
		// control plane does not know about. While a Machine provisions,
		// its Node may simply not be linked yet.
		var stray []string
		for name, n := range obs.nodes {
			if _, cp := n.Labels[controlPlaneNodeLabel]; cp && !machineOfNode[name] {
				stray = append(stray, name)
			}
		}
		slices.Sort(stray)
		for _, name := range stray {
			problems = append(problems, fmt.Sprintf("* Control plane Node %s does not have a corresponding Machine", name))
		}
	}
	switch {
	case len(problems) > 0:
		return conditions.False(kcpCondition, controlplanev1.KubeadmControlPlaneControlPlaneComponentsNotHealthyReason,
			strings.Join(append(problems, unknowns...), "\n")), perMachine
	case len(unknowns) > 0:
		return conditions.Unknown(kcpCondition, controlplanev1.KubeadmControlPlaneControlPlaneComponentsHealthUnknownReason,
			strings.Join(unknowns, "\n")), perMachine
	case reporting == 0:
		return conditions.Unknown(kcpCondition, controlplanev1.KubeadmControlPlaneControlPlaneComponentsHealthUnknownReason,
			"No Machines reporting control plane status"), perMachine
	}
	return conditions.True(kcpCondition, controlplanev1.KubeadmControlPlaneControlPlaneComponentsHealthyReason, ""), perMachine
}

func nodeUnreachable(n *corev1.Node) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == nodeUnreachableTaintKey {
			return true
		}
	}
	return false
}

// podCondition is a Machine's condition for one mirror Pod, named name (nil
// when it does not exist), read as the kubelet reports a static Pod: True
// while it runs and is ready; otherwise False (or Unknown when the kubelet
// cannot say) with a message naming the Pod and what its containers wait
// for. A container waiting after a failed run (CrashLoopBackOff) or
// terminated is Failed; one starting or not ready yet is Provisioning. Pure.
func podCondition(condition, name string, pod *corev1.Pod) metav1.Condition {
	provisioning := func(format string, args ...any) metav1.Condition {
		return conditions.False(condition, controlplanev1.KubeadmControlPlaneMachinePodProvisioningReason, fmt.Sprintf("Pod %s "+format, append([]any{name}, args...)...))
	}
	failed := func(format string, args ...any) metav1.Condition {
		return conditions.False(condition, controlplanev1.KubeadmControlPlaneMachinePodFailedReason, fmt.Sprintf("Pod %s "+format, append([]any{name}, args...)...))
	}
	if pod == nil {
		return conditions.False(condition, controlplanev1.KubeadmControlPlaneMachinePodDoesNotExistReason, fmt.Sprintf("Pod %s does not exist", name))
	}
	switch pod.Status.Phase {
	case corev1.PodRunning:
		if podConditionTrue(pod, corev1.PodReady) {
			return conditions.True(condition, controlplanev1.KubeadmControlPlaneMachinePodRunningReason, "")
		}
		var waiting, terminated []string
		crashed := false
		for _, cs := range pod.Status.ContainerStatuses {
			if t := cs.LastTerminationState.Terminated; t != nil && t.ExitCode != 0 {
				crashed = true
			}
			switch {
			case cs.State.Waiting != nil:
				waiting = append(waiting, cs.State.Waiting.Reason)
			case cs.State.Terminated != nil:
				terminated = append(terminated, cs.State.Terminated.Reason)
			}
		}
		switch {
		case len(waiting) > 0 && crashed:
			return failed("is not running: %s", strings.Join(waiting, ", "))
		case len(waiting) > 0:
			return provisioning("is starting: %s", strings.Join(waiting, ", "))
		case len(terminated) > 0:
			return failed("is not running: %s", strings.Join(terminated, ", "))
		}
		return provisioning("is running but not ready: waiting for its startup or readiness probe")
	case corev1.PodPending, "":
		if !podConditionTrue(pod, corev1.PodScheduled) {
			return provisioning("is waiting to be scheduled")
		}
		if !podConditionTrue(pod, corev1.PodInitialized) {
			return provisioning("is running its init containers")
		}
		return provisioning("is pending")
	case corev1.PodSucceeded, corev1.PodFailed:
		return failed("is not running: all its containers have terminated")
	}
	return conditions.Unknown(condition, controlplanev1.KubeadmControlPlaneMachinePodInspectionFailedReason, fmt.Sprintf("Pod %s reports an Unknown status", name))
}

func podConditionTrue(pod *corev1.Pod, t corev1.PodConditionType) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
