package kubernetesmachine

import (
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
	"github.com/podcluster/podcluster/infrastructure/kubernetes/nodepod"
	"github.com/podcluster/podcluster/internal/conditions"
)

// Pod builders, as the kubelet reports node Pods.

func newPod() *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "m1"}, Spec: corev1.PodSpec{Hostname: "m1"}}
}

func running(started, ready bool) *corev1.Pod {
	p := newPod()
	p.Spec.NodeName = "mgmt-1"
	p.Status.Phase = corev1.PodRunning
	p.Status.PodIP = "10.244.0.5"
	p.Status.PodIPs = []corev1.PodIP{{IP: "10.244.0.5"}, {IP: "fd00::5"}}
	readyStatus := corev1.ConditionFalse
	if ready {
		readyStatus = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}, {Type: corev1.PodReady, Status: readyStatus}}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{
		Name: nodepod.ContainerName, Started: &started, Ready: ready,
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
	}}
	return p
}

func terminated(code int32, message string) *corev1.Pod {
	p := running(false, false)
	p.Status.Phase = corev1.PodFailed
	p.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: "Error", Message: message}}
	return p
}

func unschedulable() *corev1.Pod {
	p := newPod()
	p.Status.Phase = corev1.PodPending
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
		Reason: corev1.PodReasonUnschedulable, Message: "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."}}
	return p
}

func deleting(p *corev1.Pod) *corev1.Pod {
	now := metav1.Now()
	p.DeletionTimestamp = &now
	return p
}

func TestSetStatus(t *testing.T) {
	tr := true
	now := metav1.Now()
	bootTrue := func(km *infrav1.KubernetesMachine) {
		conditions.Set(&km.Status.Conditions, 1, conditions.True(infrav1.KubernetesMachineBootstrapSucceededCondition,
			infrav1.KubernetesMachineBootstrapSucceededReason, ""))
	}
	provisionedKM := func(km *infrav1.KubernetesMachine) {
		bootTrue(km)
		km.Status.Initialization.Provisioned = &tr
		km.Status.Phase = infrav1.KubernetesMachinePhaseRunning
	}
	failedMessage := "failed step: runcmd[1]: kubeadm join\nexit code: 1\nerror execution phase preflight: couldn't validate the identity of the API Server"
	type cond struct {
		status metav1.ConditionStatus // "" means absent
		reason string
	}
	tests := []struct {
		name                  string
		km                    func(*infrav1.KubernetesMachine)
		scope                 scope
		phase                 infrav1.KubernetesMachinePhase
		ready, podReady, boot cond
		provisioned           bool
		// msgs are substrings of the condition messages, by type.
		msgs map[string]string
	}{
		{
			name:  "paused reports only Paused",
			scope: scope{paused: true},
		},
		{
			name:     "waiting for the Cluster's infrastructure",
			scope:    scope{observed: true, waitingForInfra: true},
			phase:    infrav1.KubernetesMachinePhasePending,
			ready:    cond{metav1.ConditionFalse, infrav1.KubernetesMachineReadyNotReadyReason},
			podReady: cond{metav1.ConditionFalse, infrav1.KubernetesMachinePodReadyWaitingForClusterInfrastructureReason},
			boot:     cond{metav1.ConditionFalse, infrav1.KubernetesMachineBootstrapSucceededWaitingForBootstrapDataReason},
		},
		{
			name:     "waiting for bootstrap data",
			scope:    scope{observed: true, waitingForData: "waiting for Machine m1 to name its bootstrap data Secret"},
			phase:    infrav1.KubernetesMachinePhasePending,
			ready:    cond{metav1.ConditionFalse, infrav1.KubernetesMachineReadyNotReadyReason},
			podReady: cond{metav1.ConditionFalse, infrav1.KubernetesMachinePodReadyWaitingForBootstrapDataReason},
			boot:     cond{metav1.ConditionFalse, infrav1.KubernetesMachineBootstrapSucceededWaitingForBootstrapDataReason},
			msgs:     map[string]string{infrav1.KubernetesMachineReadyCondition: "name its bootstrap data Secret"},
		},
		{
			name:     "bootstrap data that is no cloud-config",
			scope:    scope{observed: true, bootstrapDataError: `bootstrap data Secret m1 has format "ignition"`},
			phase:    infrav1.KubernetesMachinePhasePending,
			ready:    cond{metav1.ConditionFalse, infrav1.KubernetesMachineReadyNotReadyReason},
			podReady: cond{metav1.ConditionFalse, infrav1.KubernetesMachinePodReadyWaitingForBootstrapDataReason},
			boot:     cond{metav1.ConditionFalse, infrav1.KubernetesMachineBootstrapSucceededInvalidBootstrapDataReason},
		},
		{
			name:     "no image for the version",
			scope:    scope{observed: true, specError: `no node image for Kubernetes version "1.37"`},
			phase:    infrav1.KubernetesMachinePhasePending,
			ready:    cond{metav1.ConditionFalse, infrav1.KubernetesMachineReadyNotReadyReason},
			podReady: cond{metav1.ConditionFalse, infrav1.KubernetesMachinePodReadyInvalidSpecReason},
			boot:     cond{metav1.ConditionFalse, infrav1.KubernetesMachineBootstrapSucceededWaitingForPodReason},
		},
		{
			name:     "Pod just created",
			scope:    scope{observed: true, pod: newPod()},
			phase:    infrav1.KubernetesMachinePhaseProvisioning,
			ready:    cond{metav1.ConditionFalse, infrav1.KubernetesMachineReadyNotReadyReason},
			podReady: cond{metav1.ConditionFalse, infrav1.KubernetesMachinePodReadyPodProvisioningReason},
			boot:     cond{metav1.ConditionFalse, infrav1.KubernetesMachineBootstrapSucceededWaitingForPodReason},
		},
		{
			name:     "Pod unschedulable",
			scope:    scope{observed: true, pod: unschedulable()},
			phase:    infrav1.KubernetesMachinePhaseProvisioning,
			ready:    cond{metav1.ConditionFalse, infrav1.KubernetesMachineReadyNotReadyReason},
			podReady: cond{metav1.ConditionFalse, infrav1.KubernetesMachinePodReadyPodUnschedulableReason},
			boot:     cond{metav1.ConditionFalse, infrav1.KubernetesMachineBootstrapSucceededWaitingForPodReason},
			msgs:     map[string]string{infrav1.KubernetesMachinePodReadyCondition: "didn't match"},
		},
		{
			name:     "bootstrap running",
			scope:    scope{observed: true, pod: running(false, false)},
			phase:    infrav1.KubernetesMachinePhaseProvisioning,
			ready:    cond{metav1.ConditionFalse, infrav1.KubernetesMachineReadyNotReadyReason},
			podReady: cond{metav1.ConditionFalse, infrav1.KubernetesMachinePodReadyPodProvisioningReason},
			boot:     cond{metav1.ConditionFalse, infrav1.KubernetesMachineBootstrapSucceededRunningReason},
		},
		{
			name: "bootstrap running, the kubelet's reason stays in the message",
			scope: scope{observed: true, pod: func() *corev1.Pod {
				p := running(false, false)
				p.Status.Conditions[1].Reason, p.Status.Conditions[1].Message = "ContainersNotReady", "containers with unready status: [node]"
				return p
			}()},
			phase:    infrav1.KubernetesMachinePhaseProvisioning,
			ready:    cond{metav1.ConditionFalse, infrav1.KubernetesMachineReadyNotReadyReason},
			podReady: cond{metav1.ConditionFalse, infrav1.KubernetesMachinePodReadyPodProvisioningReason},
			boot:     cond{metav1.ConditionFalse, infrav1.KubernetesMachineBootstrapSucceededRunningReason},
			msgs:     map[string]string{infrav1.KubernetesMachinePodReadyCondition: "ContainersNotReady: containers with unready status: [node]"},
		},
		{
			name:     "bootstrap succeeded, the workload Node has no providerID yet",
			scope:    scope{observed: true, pod: running(true, true), nodeWait: "waiting for Node m1 to register in the workload cluster"},
			phase:    infrav1.KubernetesMachinePhaseProvisioning,
			ready:    cond{metav1.ConditionFalse, infrav1.KubernetesMachineReadyNotReadyReason},
			podReady: cond{metav1.ConditionTrue, infrav1.KubernetesMachinePodReadyReason},
			boot:     cond{metav1.ConditionTrue, infrav1.KubernetesMachineBootstrapSucceededReason},
			msgs:     map[string]string{infrav1.KubernetesMachineReadyCondition: "register in the workload cluster"},
		},
		{
			name:        "provisioned",
			scope:       scope{observed: true, pod: running(true, true), nodeProviderSet: true},
			phase:       infrav1.KubernetesMachinePhaseRunning,
			provisioned: true,
			ready:       cond{metav1.ConditionTrue, infrav1.KubernetesMachineReadyReason},
			podReady:    cond{metav1.ConditionTrue, infrav1.KubernetesMachinePodReadyReason},
			boot:        cond{metav1.ConditionTrue, infrav1.KubernetesMachineBootstrapSucceededReason},
		},
		{
			name:        "provisioned, the API server not ready: Running but not Ready",
			km:          provisionedKM,
			scope:       scope{observed: true, pod: running(false, false)},
			phase:       infrav1.KubernetesMachinePhaseRunning,
			provisioned: true,
			ready:       cond{metav1.ConditionFalse, infrav1.KubernetesMachineReadyNotReadyReason},
			podReady:    cond{metav1.ConditionFalse, infrav1.KubernetesMachinePodReadyPodProvisioningReason},
			boot:        cond{metav1.ConditionTrue, infrav1.KubernetesMachineBootstrapSucceededReason},
		},
		{
			name:     "bootstrap failed",
			scope:    scope{observed: true, pod: terminated(nodepod.BootstrapFailedExitCode, failedMessage)},
			phase:    infrav1.KubernetesMachinePhaseFailed,
			ready:    cond{metav1.ConditionFalse, infrav1.KubernetesMachineBootstrapSucceededFailedReason},
			podReady: cond{metav1.ConditionFalse, infrav1.KubernetesMachinePodReadyPodFailedReason},
			boot:     cond{metav1.ConditionFalse, infrav1.KubernetesMachineBootstrapSucceededFailedReason},
			msgs: map[string]string{
				infrav1.KubernetesMachineBootstrapSucceededCondition: "bootstrap failed (exit code 42): failed step: runcmd[1]",
				infrav1.KubernetesMachineReadyCondition:              "couldn't validate the identity",
			},
		},
		{
			name:        "the node stops after provisioning",
			km:          provisionedKM,
			scope:       scope{observed: true, pod: terminated(137, "")},
			phase:       infrav1.KubernetesMachinePhaseFailed,
			provisioned: true,
			ready:       cond{metav1.ConditionFalse, infrav1.KubernetesMachinePodReadyPodFailedReason},
			podReady:    cond{metav1.ConditionFalse, infrav1.KubernetesMachinePodReadyPodFailedReason},
			boot:        cond{metav1.ConditionTrue, infrav1.KubernetesMachineBootstrapSucceededReason},
			msgs:        map[string]string{infrav1.KubernetesMachinePodReadyCondition: "exited with code 137 (Error)"},
		},
		{
			name:        "Pod lost after provisioning: terminal, BootstrapSucceeded unchanged",
			km:          provisionedKM,
			scope:       scope{observed: true, podLost: true},
			phase:       infrav1.KubernetesMachinePhaseFailed,
			provisioned: true,
			ready:       cond{metav1.ConditionFalse, infrav1.KubernetesMachinePodReadyPodLostReason},
			podReady:    cond{metav1.ConditionFalse, infrav1.KubernetesMachinePodReadyPodLostReason},
			boot:        cond{metav1.ConditionTrue, infrav1.KubernetesMachineBootstrapSucceededReason},
			msgs:        map[string]string{infrav1.KubernetesMachinePodReadyCondition: "after the machine was provisioned"},
		},
		{
			name:        "Pod being deleted after provisioning",
			km:          provisionedKM,
			scope:       scope{observed: true, pod: deleting(running(true, true))},
			phase:       infrav1.KubernetesMachinePhaseFailed,
			provisioned: true,
			ready:       cond{metav1.ConditionFalse, infrav1.KubernetesMachinePodReadyPodLostReason},
			podReady:    cond{metav1.ConditionFalse, infrav1.KubernetesMachinePodReadyPodLostReason},
			boot:        cond{metav1.ConditionTrue, infrav1.KubernetesMachineBootstrapSucceededReason},
		},
		{
			name: "a failure stays: the failed Pod gone, bootstrap failure kept",
			km: func(km *infrav1.KubernetesMachine) {
				km.Status.Phase = infrav1.KubernetesMachinePhaseFailed
				conditions.Set(&km.Status.Conditions, 1, conditions.False(infrav1.KubernetesMachineBootstrapSucceededCondition,
					infrav1.KubernetesMachineBootstrapSucceededFailedReason, "bootstrap failed"))
			},
			scope:    scope{observed: true, podLost: true},
			phase:    infrav1.KubernetesMachinePhaseFailed,
			ready:    cond{metav1.ConditionFalse, infrav1.KubernetesMachinePodReadyPodLostReason},
			podReady: cond{metav1.ConditionFalse, infrav1.KubernetesMachinePodReadyPodLostReason},
			boot:     cond{metav1.ConditionFalse, infrav1.KubernetesMachineBootstrapSucceededFailedReason},
		},
		{
			name: "Pod being deleted before bootstrap finished: it will be re-created",
			km: func(km *infrav1.KubernetesMachine) {
				km.Status.Phase = infrav1.KubernetesMachinePhaseProvisioning
			},
			scope:    scope{observed: true, pod: deleting(running(false, false))},
			phase:    infrav1.KubernetesMachinePhaseProvisioning,
			ready:    cond{metav1.ConditionFalse, infrav1.KubernetesMachineReadyNotReadyReason},
			podReady: cond{metav1.ConditionFalse, infrav1.KubernetesMachinePodReadyPodLostReason},
			boot:     cond{metav1.ConditionFalse, infrav1.KubernetesMachineBootstrapSucceededRunningReason},
			msgs:     map[string]string{infrav1.KubernetesMachinePodReadyCondition: "will be re-created"},
		},
		{
			name: "deleting",
			km: func(km *infrav1.KubernetesMachine) {
				provisionedKM(km)
				km.DeletionTimestamp = &now
			},
			scope:       scope{deleteWait: "waiting for Pod m1 to be deleted"},
			phase:       infrav1.KubernetesMachinePhaseDeleting,
			provisioned: true,
			ready:       cond{metav1.ConditionFalse, infrav1.KubernetesMachineReadyDeletingReason},
			podReady:    cond{metav1.ConditionFalse, infrav1.KubernetesMachinePodReadyDeletingReason},
			boot:        cond{metav1.ConditionTrue, infrav1.KubernetesMachineBootstrapSucceededReason},
			msgs:        map[string]string{infrav1.KubernetesMachinePodReadyCondition: "waiting for Pod m1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			km := &infrav1.KubernetesMachine{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "m1", Generation: 2}}
			if tt.km != nil {
				tt.km(km)
			}
			s := tt.scope
			s.km = km
			s.machine = &clusterv1.Machine{Spec: clusterv1.MachineSpec{Version: "v1.37.2"}}
			setStatus(&s)

			g.Expect(km.Status.ObservedGeneration).To(Equal(int64(2)))
			g.Expect(km.Status.Phase).To(Equal(tt.phase))
			// A terminal failure is reported where the contract puts it, with
			// the Ready condition's reason; nothing else is.
			if tt.phase == infrav1.KubernetesMachinePhaseFailed {
				g.Expect(km.Status.Deprecated).NotTo(BeNil())
				g.Expect(km.Status.Deprecated.V1Beta1).NotTo(BeNil())
				g.Expect(km.Status.Deprecated.V1Beta1.FailureReason).To(HaveValue(Equal(tt.ready.reason)))
				g.Expect(km.Status.Deprecated.V1Beta1.FailureMessage).To(HaveValue(Not(BeEmpty())))
			} else {
				g.Expect(km.Status.Deprecated).To(BeNil())
			}
			g.Expect(isProvisioned(km)).To(Equal(tt.provisioned))
			paused := conditions.Get(km.Status.Conditions, infrav1.KubernetesMachinePausedCondition)
			g.Expect(paused).NotTo(BeNil())
			g.Expect(paused.Status == metav1.ConditionTrue).To(Equal(s.paused))
			for _, c := range []struct {
				t    string
				want cond
			}{
				{infrav1.KubernetesMachineReadyCondition, tt.ready},
				{infrav1.KubernetesMachinePodReadyCondition, tt.podReady},
				{infrav1.KubernetesMachineBootstrapSucceededCondition, tt.boot},
			} {
				got := conditions.Get(km.Status.Conditions, c.t)
				if c.want.status == "" {
					g.Expect(got).To(BeNil(), "condition %s", c.t)
					continue
				}
				g.Expect(got).NotTo(BeNil(), "condition %s", c.t)
				g.Expect(got.Status).To(Equal(c.want.status), "condition %s: %s", c.t, got.Message)
				g.Expect(got.Reason).To(Equal(c.want.reason), "condition %s: %s", c.t, got.Message)
				if got.Status != metav1.ConditionTrue {
					g.Expect(got.Message).NotTo(BeEmpty(), "condition %s", c.t)
				}
				if want, ok := tt.msgs[c.t]; ok {
					g.Expect(got.Message).To(ContainSubstring(want), "condition %s", c.t)
				}
			}
		})
	}
}

func TestAddressesAndVersion(t *testing.T) {
	g := NewWithT(t)
	km := &infrav1.KubernetesMachine{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "m1"}}
	s := &scope{km: km, observed: true, pod: running(false, false), zone: "z1",
		machine: &clusterv1.Machine{Spec: clusterv1.MachineSpec{Version: "v1.37.2"}}}
	setStatus(s)
	g.Expect(km.Status.Addresses).To(Equal(clusterv1.MachineAddresses{
		{Type: clusterv1.MachineInternalIP, Address: "10.244.0.5"},
		{Type: clusterv1.MachineInternalIP, Address: "fd00::5"},
		{Type: clusterv1.MachineHostName, Address: "m1"},
	}))
	g.Expect(km.Status.FailureDomain).To(Equal("z1"))
	g.Expect(km.Status.Version).To(Equal("v1.37.2"))

	// A Pod without IP yet reports no addresses, and keeps earlier ones.
	s.pod = newPod()
	setStatus(s)
	g.Expect(km.Status.Addresses).To(HaveLen(3))
	g.Expect(addresses(newPod())).To(BeEmpty())
}

func TestTerminationMessage(t *testing.T) {
	initFailed := newPod()
	initFailed.Status.Phase = corev1.PodFailed
	initFailed.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: nodepod.SeedContainerName,
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Message: "cp: no space left on device"}}}}
	evicted := newPod()
	evicted.Status.Phase = corev1.PodFailed
	evicted.Status.Reason, evicted.Status.Message = "Evicted", "The node was low on resource: memory."
	tests := []struct {
		name string
		pod  *corev1.Pod
		want string
	}{
		{"bootstrap failure", terminated(42, "failed step: x\n"), "bootstrap failed (exit code 42): failed step: x"},
		{"bootstrap failure without message", terminated(42, ""), "bootstrap failed (exit code 42)"},
		{"the node died", terminated(137, ""), "the node container exited with code 137 (Error)"},
		{"the seed container failed", initFailed, "init container seed-volumes exited with code 1: cp: no space left on device"},
		{"evicted", evicted, "the node Pod failed: Evicted The node was low on resource: memory."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(podTerminated(tt.pod)).To(BeTrue())
			g.Expect(terminationMessage(tt.pod)).To(Equal(tt.want))
		})
	}
}

func TestProviderID(t *testing.T) {
	NewWithT(t).Expect(ProviderID("ns", "m1")).To(Equal("kubernetes://ns/m1"))
}
