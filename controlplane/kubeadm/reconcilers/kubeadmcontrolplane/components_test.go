package kubeadmcontrolplane

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	controlplanev1 "github.com/podcluster/podcluster/api/controlplane/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/conditions"
)

// mirrorPod is a control-plane mirror Pod as the kubelet reports it: Running
// and Ready when ready, else Running with its container waiting for reason
// (after a failed run when crashed).
func mirrorPod(name string, ready bool, waiting string, crashed bool) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: metav1.NamespaceSystem}}
	p.Status.Phase = corev1.PodRunning
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}, {Type: corev1.PodReady, Status: status}}
	cs := corev1.ContainerStatus{Name: "c", Ready: ready}
	if waiting != "" {
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: waiting}
	} else {
		cs.State.Running = &corev1.ContainerStateRunning{}
	}
	if crashed {
		cs.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 143, Reason: "Error"}
	}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{cs}
	return p
}

func TestPodCondition(t *testing.T) {
	const cond = controlplanev1.KubeadmControlPlaneMachineEtcdPodHealthyCondition
	pending := &corev1.Pod{}
	pending.Status.Phase = corev1.PodPending
	succeeded := &corev1.Pod{}
	succeeded.Status.Phase = corev1.PodSucceeded
	unknown := &corev1.Pod{}
	unknown.Status.Phase = corev1.PodUnknown
	terminated := mirrorPod("etcd-n", false, "", false)
	terminated.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: 1}}
	tests := []struct {
		name    string
		pod     *corev1.Pod
		status  metav1.ConditionStatus
		reason  string
		message string
	}{
		{"missing", nil, metav1.ConditionFalse, controlplanev1.KubeadmControlPlaneMachinePodDoesNotExistReason, "Pod etcd-n does not exist"},
		{"running and ready", mirrorPod("etcd-n", true, "", false), metav1.ConditionTrue, controlplanev1.KubeadmControlPlaneMachinePodRunningReason, ""},
		{"crash looping", mirrorPod("etcd-n", false, "CrashLoopBackOff", true), metav1.ConditionFalse,
			controlplanev1.KubeadmControlPlaneMachinePodFailedReason, "Pod etcd-n is not running: CrashLoopBackOff"},
		{"starting", mirrorPod("etcd-n", false, "ContainerCreating", false), metav1.ConditionFalse,
			controlplanev1.KubeadmControlPlaneMachinePodProvisioningReason, "Pod etcd-n is starting: ContainerCreating"},
		{"terminated", terminated, metav1.ConditionFalse, controlplanev1.KubeadmControlPlaneMachinePodFailedReason, "Pod etcd-n is not running: Error"},
		{"running, not ready", mirrorPod("etcd-n", false, "", false), metav1.ConditionFalse,
			controlplanev1.KubeadmControlPlaneMachinePodProvisioningReason, "Pod etcd-n is running but not ready: waiting for its startup or readiness probe"},
		{"pending, not scheduled", pending, metav1.ConditionFalse, controlplanev1.KubeadmControlPlaneMachinePodProvisioningReason, "Pod etcd-n is waiting to be scheduled"},
		{"succeeded", succeeded, metav1.ConditionFalse, controlplanev1.KubeadmControlPlaneMachinePodFailedReason, "Pod etcd-n is not running: all its containers have terminated"},
		{"unknown", unknown, metav1.ConditionUnknown, controlplanev1.KubeadmControlPlaneMachinePodInspectionFailedReason, "Pod etcd-n reports an Unknown status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := podCondition(cond, "etcd-n", tt.pod)
			NewWithT(t).Expect(c).To(Equal(metav1.Condition{Type: cond, Status: tt.status, Reason: tt.reason, Message: tt.message}))
		})
	}
}

// healthyPods are the ready mirror Pods of the nodes, with etcd when stacked.
func healthyPods(stacked bool, nodes ...string) map[string]*corev1.Pod {
	out := map[string]*corev1.Pod{}
	for _, n := range nodes {
		for _, p := range staticPods(stacked) {
			out[p.component+"-"+n] = mirrorPod(p.component+"-"+n, true, "", false)
		}
	}
	return out
}

func controlPlaneNodes(names ...string) map[string]*corev1.Node {
	out := map[string]*corev1.Node{}
	for _, n := range names {
		out[n] = &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n, Labels: map[string]string{controlPlaneNodeLabel: ""}}}
	}
	return out
}

func TestComponentConditions(t *testing.T) {
	m := func(name, node string) *clusterv1.Machine {
		return withNode(&clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Name: name}}, node)
	}
	three := func() []*clusterv1.Machine {
		return []*clusterv1.Machine{m("m-a", "na"), m("m-b", "nb"), m("m-c", "nc")}
	}
	withPods := func(pods map[string]*corev1.Pod, change func(map[string]*corev1.Pod)) map[string]*corev1.Pod {
		change(pods)
		return pods
	}
	unreachable := controlPlaneNodes("na", "nb", "nc")
	unreachable["nb"].Spec.Taints = []corev1.Taint{{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute}}
	type cond struct {
		status  metav1.ConditionStatus
		reason  string
		message string
	}
	tests := []struct {
		name     string
		machines []*clusterv1.Machine
		obs      *componentsObservation
		stacked  bool
		want     cond
		// wantMachine maps a Machine to its conditions by type; Machines
		// left out get none.
		wantMachine map[string]map[string]cond
	}{
		{
			name: "every Pod of every stacked node is ready", machines: three(), stacked: true,
			obs:  &componentsObservation{nodes: controlPlaneNodes("na", "nb", "nc"), pods: healthyPods(true, "na", "nb", "nc")},
			want: cond{metav1.ConditionTrue, controlplanev1.KubeadmControlPlaneControlPlaneComponentsHealthyReason, ""},
		},
		{
			name: "a stopped etcd is named with its Machine and its Pod", machines: three(), stacked: true,
			obs: &componentsObservation{nodes: controlPlaneNodes("na", "nb", "nc"), pods: withPods(healthyPods(true, "na", "nb", "nc"), func(p map[string]*corev1.Pod) {
				p["etcd-nb"] = mirrorPod("etcd-nb", false, "CrashLoopBackOff", true)
			})},
			want: cond{metav1.ConditionFalse, controlplanev1.KubeadmControlPlaneControlPlaneComponentsNotHealthyReason,
				"* Machine m-b:\n  * EtcdPodHealthy: Pod etcd-nb is not running: CrashLoopBackOff"},
			wantMachine: map[string]map[string]cond{"m-b": {
				controlplanev1.KubeadmControlPlaneMachineEtcdPodHealthyCondition:      {metav1.ConditionFalse, controlplanev1.KubeadmControlPlaneMachinePodFailedReason, "Pod etcd-nb is not running: CrashLoopBackOff"},
				controlplanev1.KubeadmControlPlaneMachineAPIServerPodHealthyCondition: {metav1.ConditionTrue, controlplanev1.KubeadmControlPlaneMachinePodRunningReason, ""},
			}},
		},
		{
			name: "without local etcd there is no etcd Pod to ask for", machines: three()[:1],
			obs:  &componentsObservation{nodes: controlPlaneNodes("na"), pods: healthyPods(false, "na")},
			want: cond{metav1.ConditionTrue, controlplanev1.KubeadmControlPlaneControlPlaneComponentsHealthyReason, ""},
			wantMachine: map[string]map[string]cond{"m-a": {
				controlplanev1.KubeadmControlPlaneMachineSchedulerPodHealthyCondition: {metav1.ConditionTrue, controlplanev1.KubeadmControlPlaneMachinePodRunningReason, ""},
			}},
		},
		{
			name: "missing Pods of two components", machines: three()[:1],
			obs: &componentsObservation{nodes: controlPlaneNodes("na"), pods: withPods(healthyPods(false, "na"), func(p map[string]*corev1.Pod) {
				delete(p, "kube-scheduler-na")
				delete(p, "kube-controller-manager-na")
			})},
			want: cond{metav1.ConditionFalse, controlplanev1.KubeadmControlPlaneControlPlaneComponentsNotHealthyReason,
				"* Machine m-a:\n  * ControllerManagerPodHealthy: Pod kube-controller-manager-na does not exist\n  * SchedulerPodHealthy: Pod kube-scheduler-na does not exist"},
		},
		{
			name: "a provisioning Machine gets nothing and hides nothing", machines: append(three()[:1], m("m-new", "")),
			obs:  &componentsObservation{nodes: controlPlaneNodes("na", "n-new"), pods: healthyPods(false, "na")},
			want: cond{metav1.ConditionTrue, controlplanev1.KubeadmControlPlaneControlPlaneComponentsHealthyReason, ""},
		},
		{
			name: "a control-plane Node without a Machine", machines: three()[:1],
			obs: &componentsObservation{nodes: controlPlaneNodes("na", "stray"), pods: healthyPods(false, "na")},
			want: cond{metav1.ConditionFalse, controlplanev1.KubeadmControlPlaneControlPlaneComponentsNotHealthyReason,
				"* Control plane Node stray does not have a corresponding Machine"},
		},
		{
			name: "a deleting Machine gets nothing, is left out and its Node is no stray", machines: []*clusterv1.Machine{m("m-a", "na"), deleting(m("m-b", "nb"))},
			obs:  &componentsObservation{nodes: controlPlaneNodes("na", "nb"), pods: healthyPods(false, "na")},
			want: cond{metav1.ConditionTrue, controlplanev1.KubeadmControlPlaneControlPlaneComponentsHealthyReason, ""},
		},
		{
			name: "a Machine whose Node is gone", machines: three()[:2],
			obs: &componentsObservation{nodes: controlPlaneNodes("na"), pods: healthyPods(false, "na")},
			want: cond{metav1.ConditionFalse, controlplanev1.KubeadmControlPlaneControlPlaneComponentsNotHealthyReason,
				"* Machine m-b:\n  * APIServerPodHealthy: Node nb does not exist\n  * ControllerManagerPodHealthy: Node nb does not exist\n  * SchedulerPodHealthy: Node nb does not exist"},
		},
		{
			name: "an unreachable Node makes its Pods unknown", machines: three(),
			obs: &componentsObservation{nodes: unreachable, pods: healthyPods(false, "na", "nb", "nc")},
			want: cond{metav1.ConditionUnknown, controlplanev1.KubeadmControlPlaneControlPlaneComponentsHealthUnknownReason,
				"* Machine m-b:\n  * APIServerPodHealthy: Node nb is unreachable\n  * ControllerManagerPodHealthy: Node nb is unreachable\n  * SchedulerPodHealthy: Node nb is unreachable"},
			wantMachine: map[string]map[string]cond{"m-b": {
				controlplanev1.KubeadmControlPlaneMachineAPIServerPodHealthyCondition: {metav1.ConditionUnknown, controlplanev1.KubeadmControlPlaneMachinePodInspectionFailedReason, "Node nb is unreachable"},
			}},
		},
		{
			name: "the workload cluster cannot be reached", machines: three()[:1], stacked: true,
			obs: &componentsObservation{err: "workload cluster is not connected", connectionDown: true},
			want: cond{metav1.ConditionUnknown, controlplanev1.KubeadmControlPlaneControlPlaneComponentsConnectionDownReason,
				"Failed to inspect the control plane's Pods: workload cluster is not connected"},
			wantMachine: map[string]map[string]cond{"m-a": {
				controlplanev1.KubeadmControlPlaneMachineEtcdPodHealthyCondition: {metav1.ConditionUnknown, controlplanev1.KubeadmControlPlaneMachinePodConnectionDownReason,
					"Failed to inspect the control plane's Pods: workload cluster is not connected"},
			}},
		},
		{
			name: "no Machine has a Node yet", machines: []*clusterv1.Machine{m("m-new", "")},
			obs:  &componentsObservation{nodes: controlPlaneNodes(), pods: healthyPods(false)},
			want: cond{metav1.ConditionUnknown, controlplanev1.KubeadmControlPlaneControlPlaneComponentsHealthUnknownReason, "No Machines reporting control plane status"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			c, per := componentConditions(tt.machines, tt.obs, tt.stacked)
			g.Expect(c.Type).To(Equal(controlplanev1.KubeadmControlPlaneControlPlaneComponentsHealthyCondition))
			g.Expect(cond{c.Status, c.Reason, c.Message}).To(Equal(tt.want))
			for _, m := range tt.machines {
				if m.Status.NodeRef.Name == "" || !m.DeletionTimestamp.IsZero() {
					g.Expect(per).NotTo(HaveKey(m.Name), "a Machine without a Node, or being deleted, gets no Pod conditions")
					continue
				}
				g.Expect(per[m.Name]).To(HaveLen(len(staticPods(tt.stacked))), m.Name)
				for typ, want := range tt.wantMachine[m.Name] {
					got := conditions.Get(per[m.Name], typ)
					g.Expect(got).NotTo(BeNil(), "%s %s", m.Name, typ)
					g.Expect(cond{got.Status, got.Reason, got.Message}).To(Equal(want), "%s %s", m.Name, typ)
				}
			}
		})
	}
}

// TestMachineConditionsAreWrittenOncePerMachine: the conditions a reconcile
// sets on a Machine go out in one status patch, and a reconcile that changes
// nothing sends none.
func TestMachineConditionsAreWrittenOncePerMachine(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	scheme := runtime.NewScheme()
	g.Expect(clusterv1.AddToScheme(scheme)).To(Succeed())
	a := &clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Name: "m-a", Namespace: "ns"}}
	b := &clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Name: "m-b", Namespace: "ns"}}
	patches := map[string]int{}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(a, b).WithStatusSubresource(a, b).
		WithInterceptorFuncs(interceptor.Funcs{SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			patches[obj.GetName()]++
			return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
		}}).Build()
	r := &Reconciler{Client: c}
	read := func() []*clusterv1.Machine {
		var out []*clusterv1.Machine
		for _, name := range []string{"m-a", "m-b"} {
			m := &clusterv1.Machine{}
			g.Expect(c.Get(ctx, client.ObjectKey{Namespace: "ns", Name: name}, m)).To(Succeed())
			out = append(out, m)
		}
		return out
	}
	healthy := func(s *scope, m *clusterv1.Machine) {
		for _, p := range staticPods(true) {
			s.setMachineCondition(m, conditions.True(p.condition, controlplanev1.KubeadmControlPlaneMachinePodRunningReason, ""))
		}
		s.setMachineCondition(m, conditions.True(controlplanev1.KubeadmControlPlaneMachineEtcdMemberHealthyCondition, controlplanev1.KubeadmControlPlaneMachineEtcdMemberHealthyReason, ""))
		s.setMachineCondition(m, conditions.False(clusterv1.MachineUpToDateCondition, clusterv1.MachineUpToDateNotUpToDateReason, ""))
	}

	s := &scope{machines: read()}
	healthy(s, s.machines[0])
	g.Expect(r.writeMachineConditions(ctx, s, nil)).To(Succeed())
	g.Expect(patches).To(Equal(map[string]int{"m-a": 1}), "six conditions of one Machine in one patch, none for the other")
	g.Expect(read()[0].Status.Conditions).To(HaveLen(6))

	// The same conditions again: nothing to send.
	s = &scope{machines: read()}
	healthy(s, s.machines[0])
	g.Expect(r.writeMachineConditions(ctx, s, nil)).To(Succeed())
	g.Expect(patches).To(Equal(map[string]int{"m-a": 1}))

	// One change on each: one patch each; writing one Machine first sends
	// only its own.
	s = &scope{machines: read()}
	s.setMachineCondition(s.machines[0], conditions.False(controlplanev1.KubeadmControlPlaneMachineEtcdPodHealthyCondition, controlplanev1.KubeadmControlPlaneMachinePodFailedReason, "Pod etcd-na is not running: CrashLoopBackOff"))
	s.setMachineCondition(s.machines[1], conditions.False(clusterv1.MachineOwnerRemediatedCondition, controlplanev1.KubeadmControlPlaneMachineCannotBeRemediatedReason, "quorum"))
	g.Expect(r.writeMachineConditions(ctx, s, s.machines[1])).To(Succeed())
	g.Expect(patches).To(Equal(map[string]int{"m-a": 1, "m-b": 1}))
	g.Expect(r.writeMachineConditions(ctx, s, nil)).To(Succeed())
	g.Expect(patches).To(Equal(map[string]int{"m-a": 2, "m-b": 1}))
	got := read()
	g.Expect(conditions.Get(got[0].Status.Conditions, controlplanev1.KubeadmControlPlaneMachineEtcdPodHealthyCondition).Reason).To(Equal(controlplanev1.KubeadmControlPlaneMachinePodFailedReason))
	g.Expect(conditions.Get(got[1].Status.Conditions, clusterv1.MachineOwnerRemediatedCondition).Message).To(Equal("quorum"))
}
