package kubernetesmachine

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
	"github.com/podcluster/podcluster/infrastructure/kubernetes/nodepod"
	"github.com/podcluster/podcluster/internal/conditions"
)

// setStatus computes the KubernetesMachine's status from what the reconcile
// observed. It makes no API calls and is table-tested.
func setStatus(s *scope) {
	km := s.km
	gen := km.Generation
	km.Status.ObservedGeneration = gen

	conditions.Set(&km.Status.Conditions, gen, pausedCondition(s.paused))
	if s.paused {
		return // a paused KubernetesMachine reports nothing else new
	}
	if s.machine != nil && s.machine.Spec.Version != "" {
		km.Status.Version = s.machine.Spec.Version
	}
	if s.observed {
		if s.pod != nil {
			if addrs := addresses(s.pod); len(addrs) > 0 {
				km.Status.Addresses = addrs
			}
		}
		if s.zone != "" {
			km.Status.FailureDomain = s.zone
		}
		if s.nodeProviderSet && !isProvisioned(km) {
			t := true
			km.Status.Initialization.Provisioned = &t
		}
		if c := bootstrapCondition(s); c != nil {
			conditions.Set(&km.Status.Conditions, gen, *c)
		}
		conditions.Set(&km.Status.Conditions, gen, podReadyCondition(s))
	}
	if !km.DeletionTimestamp.IsZero() {
		msg := s.deleteWait
		if msg == "" {
			msg = "the node Pod is deleted"
		}
		conditions.Set(&km.Status.Conditions, gen,
			conditions.False(infrav1.KubernetesMachinePodReadyCondition, infrav1.KubernetesMachinePodReadyDeletingReason, msg))
	}
	ready := readyCondition(s)
	conditions.Set(&km.Status.Conditions, gen, ready)
	km.Status.Phase = phaseOf(s)
	setFailure(km, ready)
}

// setFailure reports a terminal failure where the contract puts it, so that
// the Machine turns Failed and MachineHealthChecks remediate it at once. The
// reason and message are the Ready condition's, which says which part failed.
// A failed machine stays failed, so the fields are never cleared.
func setFailure(km *infrav1.KubernetesMachine, ready metav1.Condition) {
	if km.Status.Phase != infrav1.KubernetesMachinePhaseFailed {
		return
	}
	if km.Status.Deprecated == nil {
		km.Status.Deprecated = &infrav1.KubernetesMachineDeprecatedStatus{}
	}
	if km.Status.Deprecated.V1Beta1 == nil {
		km.Status.Deprecated.V1Beta1 = &infrav1.KubernetesMachineV1Beta1DeprecatedStatus{}
	}
	d := km.Status.Deprecated.V1Beta1
	if d.FailureReason == nil {
		reason, msg := ready.Reason, ready.Message
		if msg == "" {
			msg = reason
		}
		d.FailureReason, d.FailureMessage = &reason, &msg
	}
}

func pausedCondition(paused bool) metav1.Condition {
	if paused {
		return conditions.True(infrav1.KubernetesMachinePausedCondition, infrav1.KubernetesMachinePausedReason, "reconciliation is paused")
	}
	return conditions.False(infrav1.KubernetesMachinePausedCondition, infrav1.KubernetesMachineNotPausedReason, "")
}

// podReadyCondition mirrors the node Pod's Ready condition, and says why there
// is no ready Pod otherwise.
func podReadyCondition(s *scope) metav1.Condition {
	const t = infrav1.KubernetesMachinePodReadyCondition
	km, pod := s.km, s.pod
	switch {
	case s.podError != "":
		return conditions.False(t, infrav1.KubernetesMachinePodReadyPodProvisioningReason, s.podError)
	case s.specError != "":
		return conditions.False(t, infrav1.KubernetesMachinePodReadyInvalidSpecReason, s.specError)
	case s.podLost:
		return conditions.False(t, infrav1.KubernetesMachinePodReadyPodLostReason,
			fmt.Sprintf("the node Pod %s is gone after %s; the machine cannot recover and must be replaced", km.Name, lostAfter(km)))
	case pod == nil && s.waitingForInfra:
		return conditions.False(t, infrav1.KubernetesMachinePodReadyWaitingForClusterInfrastructureReason,
			"waiting for the Cluster's infrastructure to be provisioned")
	case pod == nil && (s.waitingForData != "" || s.bootstrapDataError != ""):
		msg := s.waitingForData
		if msg == "" {
			msg = "the bootstrap data cannot be used: " + s.bootstrapDataError
		}
		return conditions.False(t, infrav1.KubernetesMachinePodReadyWaitingForBootstrapDataReason, msg)
	case pod == nil:
		return conditions.False(t, infrav1.KubernetesMachinePodReadyPodProvisioningReason, "the node Pod is not created yet")
	case podTerminated(pod):
		return conditions.False(t, infrav1.KubernetesMachinePodReadyPodFailedReason, terminationMessage(pod))
	case !pod.DeletionTimestamp.IsZero():
		msg := fmt.Sprintf("the node Pod %s is being deleted", pod.Name)
		if !isProvisioned(km) && !bootstrapSucceeded(s) {
			msg += "; it will be re-created"
		}
		return conditions.False(t, infrav1.KubernetesMachinePodReadyPodLostReason, msg)
	case s.recreated:
		return conditions.False(t, infrav1.KubernetesMachinePodReadyPodLostReason,
			fmt.Sprintf("the node Pod %s was lost before bootstrap finished and was re-created", pod.Name))
	}
	if c := podCondition(pod, corev1.PodScheduled); c != nil && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
		return conditions.False(t, infrav1.KubernetesMachinePodReadyPodUnschedulableReason, c.Message)
	}
	ready := podCondition(pod, corev1.PodReady)
	if ready != nil && ready.Status == corev1.ConditionTrue {
		return conditions.True(t, infrav1.KubernetesMachinePodReadyReason, "")
	}
	// The kubelet's own reason (ContainersNotReady, PodFailed) is not one of
	// ours: it only shows in the message, with the kubelet's.
	msg := podWaitingMessage(pod)
	if ready != nil && ready.Reason != "" && ready.Message != "" {
		msg = ready.Reason + ": " + ready.Message
	}
	return conditions.False(t, infrav1.KubernetesMachinePodReadyPodProvisioningReason, msg)
}

// bootstrapCondition says where bootstrap is. It returns nil to leave the
// condition as it is: bootstrap's outcome, once known, never changes, and a
// lost Pod tells nothing about it.
func bootstrapCondition(s *scope) *metav1.Condition {
	const t = infrav1.KubernetesMachineBootstrapSucceededCondition
	prev := conditionOf(s.km, t)
	if prev != nil && (prev.Status == metav1.ConditionTrue || prev.Reason == infrav1.KubernetesMachineBootstrapSucceededFailedReason) {
		return nil
	}
	if s.podLost {
		return nil
	}
	var c metav1.Condition
	switch pod := s.pod; {
	case pod == nil && s.bootstrapDataError != "":
		c = conditions.False(t, infrav1.KubernetesMachineBootstrapSucceededInvalidBootstrapDataReason, s.bootstrapDataError)
	case pod == nil && s.waitingForInfra:
		c = conditions.False(t, infrav1.KubernetesMachineBootstrapSucceededWaitingForBootstrapDataReason,
			"waiting for the Cluster's infrastructure to be provisioned")
	case pod == nil && s.waitingForData != "":
		c = conditions.False(t, infrav1.KubernetesMachineBootstrapSucceededWaitingForBootstrapDataReason, s.waitingForData)
	case pod == nil:
		c = conditions.False(t, infrav1.KubernetesMachineBootstrapSucceededWaitingForPodReason, "waiting for the node Pod")
	case started(pod):
		c = conditions.True(t, infrav1.KubernetesMachineBootstrapSucceededReason, "")
	case podTerminated(pod):
		c = conditions.False(t, infrav1.KubernetesMachineBootstrapSucceededFailedReason, terminationMessage(pod))
	case nodeRunning(pod):
		c = conditions.False(t, infrav1.KubernetesMachineBootstrapSucceededRunningReason, "bootstrap is running in the node")
	default:
		c = conditions.False(t, infrav1.KubernetesMachineBootstrapSucceededWaitingForPodReason, "waiting for the node container to start")
	}
	return &c
}

// readyCondition summarises: the Pod is ready, bootstrap succeeded and the
// workload Node carries the providerID.
func readyCondition(s *scope) metav1.Condition {
	const t = infrav1.KubernetesMachineReadyCondition
	km := s.km
	if !km.DeletionTimestamp.IsZero() {
		return conditions.False(t, infrav1.KubernetesMachineReadyDeletingReason, "the KubernetesMachine is being deleted")
	}
	podReady := conditionOf(km, infrav1.KubernetesMachinePodReadyCondition)
	boot := conditionOf(km, infrav1.KubernetesMachineBootstrapSucceededCondition)
	if failed(s) {
		reason := infrav1.KubernetesMachinePodReadyPodFailedReason
		switch {
		case podReady != nil && podReady.Reason == infrav1.KubernetesMachinePodReadyPodLostReason:
			reason = infrav1.KubernetesMachinePodReadyPodLostReason
		case boot != nil && boot.Reason == infrav1.KubernetesMachineBootstrapSucceededFailedReason:
			reason = infrav1.KubernetesMachineBootstrapSucceededFailedReason
		}
		msg := "the machine failed"
		if podReady != nil && podReady.Status != metav1.ConditionTrue && podReady.Message != "" {
			msg = podReady.Message
		}
		return conditions.False(t, reason, msg)
	}
	var bad []string
	for _, c := range []*metav1.Condition{boot, podReady} {
		if c != nil && c.Status != metav1.ConditionTrue && c.Message != "" {
			bad = append(bad, fmt.Sprintf("%s: %s", c.Type, c.Message))
		}
	}
	if s.nodeWait != "" {
		bad = append(bad, s.nodeWait)
	}
	switch {
	case len(bad) > 0:
		return conditions.False(t, infrav1.KubernetesMachineReadyNotReadyReason, strings.Join(bad, "; "))
	case !isProvisioned(km) || podReady == nil || boot == nil:
		return conditions.False(t, infrav1.KubernetesMachineReadyNotReadyReason, "the machine is not provisioned yet")
	}
	return conditions.True(t, infrav1.KubernetesMachineReadyReason, "")
}

func phaseOf(s *scope) infrav1.KubernetesMachinePhase {
	switch {
	case !s.km.DeletionTimestamp.IsZero():
		return infrav1.KubernetesMachinePhaseDeleting
	case failed(s):
		return infrav1.KubernetesMachinePhaseFailed
	case isProvisioned(s.km):
		return infrav1.KubernetesMachinePhaseRunning
	case s.pod != nil:
		return infrav1.KubernetesMachinePhaseProvisioning
	}
	return infrav1.KubernetesMachinePhasePending
}

// failed reports a failure that retrying cannot fix: the node Pod terminated
// (bootstrap failed, or the node stopped), or it is gone or going after it was
// provisioned. Once failed, a machine stays failed.
func failed(s *scope) bool {
	km, pod := s.km, s.pod
	switch {
	case km.Status.Phase == infrav1.KubernetesMachinePhaseFailed, s.podLost:
		return true
	case pod == nil:
		return false
	case podTerminated(pod):
		return true
	}
	return !pod.DeletionTimestamp.IsZero() && (isProvisioned(km) || bootstrapSucceeded(s))
}

// bootstrapSucceeded reports whether bootstrap succeeded, now or before.
func bootstrapSucceeded(s *scope) bool {
	return bootstrapSucceededBefore(s.km) || (s.pod != nil && started(s.pod))
}

func bootstrapSucceededBefore(km *infrav1.KubernetesMachine) bool {
	return conditions.IsTrue(km.Status.Conditions, infrav1.KubernetesMachineBootstrapSucceededCondition)
}

func lostAfter(km *infrav1.KubernetesMachine) string {
	switch {
	case isProvisioned(km):
		return "the machine was provisioned"
	case bootstrapSucceededBefore(km):
		return "bootstrap succeeded"
	}
	return "the machine failed"
}

// started is the node container's startup probe result: the bootstrap
// sentinel exists.
func started(pod *corev1.Pod) bool {
	cs := nodepod.NodeStatus(pod)
	return cs != nil && cs.Started != nil && *cs.Started
}

func nodeRunning(pod *corev1.Pod) bool {
	cs := nodepod.NodeStatus(pod)
	return cs != nil && cs.State.Running != nil
}

// podTerminated reports whether the node Pod ended: restartPolicy is Never, so
// a terminated node container or a failed Pod never comes back.
func podTerminated(pod *corev1.Pod) bool {
	if pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded {
		return true
	}
	cs := nodepod.NodeStatus(pod)
	return cs != nil && cs.State.Terminated != nil
}

// terminationMessage says why the node Pod ended. For a failed bootstrap the
// node container's termination message holds the failing step and the tail
// of its output.
func terminationMessage(pod *corev1.Pod) string {
	if cs := nodepod.NodeStatus(pod); cs != nil && cs.State.Terminated != nil {
		term := cs.State.Terminated
		msg := strings.TrimSpace(term.Message)
		var head string
		if term.ExitCode == nodepod.BootstrapFailedExitCode {
			head = fmt.Sprintf("bootstrap failed (exit code %d)", term.ExitCode)
		} else {
			head = fmt.Sprintf("the node container exited with code %d", term.ExitCode)
			if term.Reason != "" {
				head += " (" + term.Reason + ")"
			}
		}
		if msg == "" {
			return head
		}
		return head + ": " + msg
	}
	for _, cs := range pod.Status.InitContainerStatuses {
		if term := cs.State.Terminated; term != nil && term.ExitCode != 0 {
			head := fmt.Sprintf("init container %s exited with code %d", cs.Name, term.ExitCode)
			if msg := strings.TrimSpace(term.Message); msg != "" {
				return head + ": " + msg
			}
			return head
		}
	}
	if pod.Status.Reason != "" || pod.Status.Message != "" {
		return strings.TrimSpace(fmt.Sprintf("the node Pod %s: %s %s", strings.ToLower(string(pod.Status.Phase)), pod.Status.Reason, pod.Status.Message))
	}
	return fmt.Sprintf("the node Pod %s", strings.ToLower(string(pod.Status.Phase)))
}

// podWaitingMessage says what a Pod that is not ready waits for.
func podWaitingMessage(pod *corev1.Pod) string {
	for _, list := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses} {
		for _, cs := range list {
			if w := cs.State.Waiting; w != nil && w.Reason != "" {
				return strings.TrimSpace(fmt.Sprintf("container %s is waiting: %s %s", cs.Name, w.Reason, w.Message))
			}
		}
	}
	if pod.Spec.NodeName == "" {
		return "waiting for the node Pod to be scheduled"
	}
	return "waiting for the node Pod to be ready"
}

func podCondition(pod *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == t {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

func conditionOf(km *infrav1.KubernetesMachine, t string) *metav1.Condition {
	return conditions.Get(km.Status.Conditions, t)
}

// addresses are the Pod's IPs as InternalIP and its hostname, once it has an IP.
func addresses(pod *corev1.Pod) clusterv1.MachineAddresses {
	var out clusterv1.MachineAddresses
	seen := map[string]bool{}
	add := func(ip string) {
		if ip != "" && !seen[ip] {
			seen[ip] = true
			out = append(out, clusterv1.MachineAddress{Type: clusterv1.MachineInternalIP, Address: ip})
		}
	}
	add(pod.Status.PodIP)
	for _, ip := range pod.Status.PodIPs {
		add(ip.IP)
	}
	if len(out) > 0 {
		out = append(out, clusterv1.MachineAddress{Type: clusterv1.MachineHostName, Address: nodeNameOf(pod)})
	}
	return out
}
