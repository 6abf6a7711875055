package kubeadmcontrolplane

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	controlplanev1 "github.com/podcluster/podcluster/api/controlplane/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/conditions"
	"github.com/podcluster/podcluster/internal/machinecount"
)

// machine builds a control-plane Machine created at minute age, with the
// listed conditions True.
func machine(name string, age int, trueConds ...string) *clusterv1.Machine {
	m := &clusterv1.Machine{
		ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(time.Unix(0, 0).Add(time.Duration(age) * time.Minute))},
		Spec:       clusterv1.MachineSpec{Version: "v1.37.2"},
	}
	for _, t := range trueConds {
		m.Status.Conditions = append(m.Status.Conditions, metav1.Condition{Type: t, Status: metav1.ConditionTrue, Reason: "R"})
	}
	return m
}

func deleting(m *clusterv1.Machine) *clusterv1.Machine {
	now := metav1.Now()
	m.DeletionTimestamp = &now
	return m
}

func kcp(replicas int32, initialized bool) *controlplanev1.KubeadmControlPlane {
	k := &controlplanev1.KubeadmControlPlane{ObjectMeta: metav1.ObjectMeta{Name: "cp", Generation: 2}}
	k.Spec.Replicas = &replicas
	if initialized {
		t := true
		k.Status.Initialization.ControlPlaneInitialized = &t
	}
	return k
}

func TestSetStatus(t *testing.T) {
	r, a, u := clusterv1.ReadyCondition, clusterv1.AvailableCondition, clusterv1.UpToDateCondition
	cluster := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "c"}}
	type want struct {
		status metav1.ConditionStatus
		reason string
		msg    string
	}
	tests := []struct {
		name  string
		scope *scope
		check map[string]want
		// replicas, ready, available, upToDate
		counters [4]int32
		version  string
	}{
		{
			name:  "paused: counters, and Paused only",
			scope: &scope{kcp: kcp(3, true), cluster: cluster, paused: true, machines: []*clusterv1.Machine{machine("a", 0, r, a, u)}},
			check: map[string]want{
				controlplanev1.KubeadmControlPlanePausedCondition: {metav1.ConditionTrue, controlplanev1.KubeadmControlPlanePausedReason, "reconciliation is paused"},
			},
			counters: [4]int32{1, 1, 1, 1}, version: "v1.37.2",
		},
		{
			name:  "waiting for infrastructure: not initialized, scaling up says why",
			scope: &scope{kcp: kcp(3, false), cluster: cluster, infraWaiting: "waiting for the infrastructure of Cluster c to be provisioned"},
			check: map[string]want{
				controlplanev1.KubeadmControlPlaneInitializedCondition:      {metav1.ConditionFalse, controlplanev1.KubeadmControlPlaneNotInitializedReason, "waiting for the infrastructure of Cluster c to be provisioned"},
				controlplanev1.KubeadmControlPlaneAvailableCondition:        {metav1.ConditionFalse, controlplanev1.KubeadmControlPlaneNotAvailableReason, "the control plane is not initialized"},
				controlplanev1.KubeadmControlPlaneScalingUpCondition:        {metav1.ConditionTrue, controlplanev1.KubeadmControlPlaneScalingUpReason, "scaling up from 0 to 3 replicas; waiting for the infrastructure of Cluster c to be provisioned"},
				controlplanev1.KubeadmControlPlaneMachinesReadyCondition:    {metav1.ConditionTrue, controlplanev1.KubeadmControlPlaneMachinesReadyNoReplicasReason, ""},
				controlplanev1.KubeadmControlPlaneMachinesUpToDateCondition: {metav1.ConditionTrue, controlplanev1.KubeadmControlPlaneMachinesUpToDateNoReplicasReason, ""},
				controlplanev1.KubeadmControlPlanePausedCondition:           {metav1.ConditionFalse, controlplanev1.KubeadmControlPlaneNotPausedReason, ""},
			},
			counters: [4]int32{0, 0, 0, 0},
		},
		{
			name: "scaling up: initialized and available, a joining Machine not ready",
			scope: &scope{kcp: kcp(3, true), cluster: cluster, scaleUpWaiting: "waiting for Machines to be Ready: b",
				machines: []*clusterv1.Machine{machine("a", 0, r, a, u), machine("b", 1, u)}},
			check: map[string]want{
				controlplanev1.KubeadmControlPlaneInitializedCondition:   {metav1.ConditionTrue, controlplanev1.KubeadmControlPlaneInitializedReason, ""},
				controlplanev1.KubeadmControlPlaneAvailableCondition:     {metav1.ConditionTrue, controlplanev1.KubeadmControlPlaneAvailableReason, ""},
				controlplanev1.KubeadmControlPlaneScalingUpCondition:     {metav1.ConditionTrue, controlplanev1.KubeadmControlPlaneScalingUpReason, "scaling up from 2 to 3 replicas; waiting for Machines to be Ready: b"},
				controlplanev1.KubeadmControlPlaneScalingDownCondition:   {metav1.ConditionFalse, controlplanev1.KubeadmControlPlaneNotScalingDownReason, ""},
				controlplanev1.KubeadmControlPlaneMachinesReadyCondition: {metav1.ConditionFalse, controlplanev1.KubeadmControlPlaneMachinesNotReadyReason, "Ready is not True on b"},
				controlplanev1.KubeadmControlPlaneDeletingCondition:      {metav1.ConditionFalse, controlplanev1.KubeadmControlPlaneNotDeletingReason, ""},
			},
			counters: [4]int32{2, 1, 1, 2}, version: "v1.37.2",
		},
		{
			name: "scaling down: a Machine being deleted still counts until it is gone",
			scope: &scope{kcp: kcp(1, true), cluster: cluster, scaleDownWaiting: "waiting for Machine a to be deleted",
				machines: []*clusterv1.Machine{deleting(machine("a", 0, r, a, u)), machine("b", 1, r, a, u)}},
			check: map[string]want{
				controlplanev1.KubeadmControlPlaneScalingUpCondition:   {metav1.ConditionFalse, controlplanev1.KubeadmControlPlaneNotScalingUpReason, ""},
				controlplanev1.KubeadmControlPlaneScalingDownCondition: {metav1.ConditionTrue, controlplanev1.KubeadmControlPlaneScalingDownReason, "scaling down from 2 to 1 replicas; waiting for Machine a to be deleted"},
				controlplanev1.KubeadmControlPlaneAvailableCondition:   {metav1.ConditionTrue, controlplanev1.KubeadmControlPlaneAvailableReason, ""},
			},
			counters: [4]int32{2, 2, 2, 2}, version: "v1.37.2",
		},
		{
			name: "deleting: waits for workers first",
			scope: func() *scope {
				k := kcp(3, true)
				now := metav1.Now()
				k.DeletionTimestamp = &now
				return &scope{kcp: k, cluster: cluster, workersLeft: 2, machines: []*clusterv1.Machine{machine("a", 0, r, a, u)}}
			}(),
			check: map[string]want{
				controlplanev1.KubeadmControlPlaneDeletingCondition:    {metav1.ConditionTrue, controlplanev1.KubeadmControlPlaneDeletingWaitingForWorkersDeletionReason, "waiting for 2 worker Machines to be deleted"},
				controlplanev1.KubeadmControlPlaneAvailableCondition:   {metav1.ConditionFalse, controlplanev1.KubeadmControlPlaneNotAvailableReason, "the control plane is being deleted"},
				controlplanev1.KubeadmControlPlaneScalingDownCondition: {metav1.ConditionFalse, controlplanev1.KubeadmControlPlaneNotScalingDownReason, ""},
			},
			counters: [4]int32{1, 1, 1, 1}, version: "v1.37.2",
		},
		{
			name: "deleting: then its Machines",
			scope: func() *scope {
				k := kcp(3, true)
				now := metav1.Now()
				k.DeletionTimestamp = &now
				return &scope{kcp: k, cluster: cluster, machines: []*clusterv1.Machine{deleting(machine("a", 0))}}
			}(),
			check: map[string]want{
				controlplanev1.KubeadmControlPlaneDeletingCondition: {metav1.ConditionTrue, controlplanev1.KubeadmControlPlaneDeletingWaitingForMachineDeletionReason, "deleting 1 control-plane Machines"},
			},
			counters: [4]int32{1, 0, 0, 0}, version: "v1.37.2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			setStatus(tt.scope)
			st := tt.scope.kcp.Status
			g.Expect(st.ObservedGeneration).To(Equal(int64(2)))
			g.Expect(st.Selector).To(Equal("cluster.x-k8s.io/cluster-name=c,cluster.x-k8s.io/control-plane"))
			g.Expect([4]int32{*st.Replicas, *st.ReadyReplicas, *st.AvailableReplicas, *st.UpToDateReplicas}).To(Equal(tt.counters))
			g.Expect(st.Version).To(Equal(tt.version)) //nolint:staticcheck // still written for older clients
			for typ, w := range tt.check {
				c := conditions.Get(st.Conditions, typ)
				if w.msg == "" && w.status != metav1.ConditionTrue {
					w.msg = w.reason // conditions.Set fills an empty message with the reason
				}
				g.Expect(c).NotTo(BeNil(), typ)
				g.Expect([]string{string(c.Status), c.Reason, c.Message}).To(Equal([]string{string(w.status), w.reason, w.msg}), typ)
			}
			if tt.scope.paused {
				g.Expect(st.Conditions).To(HaveLen(1))
			}
		})
	}
}

func TestAvailableCondition(t *testing.T) {
	ready := clusterv1.ReadyCondition
	pods := []string{
		controlplanev1.KubeadmControlPlaneMachineAPIServerPodHealthyCondition,
		controlplanev1.KubeadmControlPlaneMachineControllerManagerPodHealthyCondition,
		controlplanev1.KubeadmControlPlaneMachineSchedulerPodHealthyCondition,
	}
	stackedPods := append(append([]string{}, pods...), controlplanev1.KubeadmControlPlaneMachineEtcdPodHealthyCondition,
		controlplanev1.KubeadmControlPlaneMachineEtcdMemberHealthyCondition)
	node := func(m *clusterv1.Machine) *clusterv1.Machine { return withNode(m, "n"+m.Name) }
	// Three stacked Machines with healthy components, on Nodes na, nb, nc.
	threeStacked := func() []*clusterv1.Machine {
		return []*clusterv1.Machine{node(machine("a", 0, stackedPods...)), node(machine("b", 1, stackedPods...)), node(machine("c", 2, stackedPods...))}
	}
	deletedKCP := kcp(3, true)
	deletedKCP.DeletionTimestamp = &metav1.Time{Time: time.Unix(0, 0)}
	noCerts := kcp(3, true)
	conditions.Set(&noCerts.Status.Conditions, 2, certificatesCondition("Secret c-sa: forbidden"))
	inspected := &componentsObservation{}
	tests := []struct {
		name   string
		scope  *scope
		status metav1.ConditionStatus
		reason string
		msg    string
	}{
		{
			name:   "not initialized",
			scope:  &scope{kcp: kcp(3, false)},
			status: metav1.ConditionFalse, reason: controlplanev1.KubeadmControlPlaneNotAvailableReason, msg: "the control plane is not initialized",
		},
		{
			name:   "being deleted",
			scope:  &scope{kcp: deletedKCP, machines: threeStacked(), etcd: observed(map[string]string{"na": "", "nb": "", "nc": ""}), components: inspected},
			status: metav1.ConditionFalse, reason: controlplanev1.KubeadmControlPlaneNotAvailableReason, msg: "the control plane is being deleted",
		},
		{
			name:   "stacked: three healthy members and Machines",
			scope:  &scope{kcp: kcp(3, true), machines: threeStacked(), etcd: observed(map[string]string{"na": "", "nb": "", "nc": ""}), components: inspected},
			status: metav1.ConditionTrue, reason: controlplanev1.KubeadmControlPlaneAvailableReason,
		},
		{
			name:   "stacked: everything healthy but the certificates",
			scope:  &scope{kcp: noCerts, machines: threeStacked(), etcd: observed(map[string]string{"na": "", "nb": "", "nc": ""}), components: inspected},
			status: metav1.ConditionFalse, reason: controlplanev1.KubeadmControlPlaneNotAvailableReason, msg: "* Control plane certificates are not available",
		},
		{
			name:   "stacked: one member of three down keeps quorum",
			scope:  &scope{kcp: kcp(3, true), machines: threeStacked(), etcd: observed(map[string]string{"na": "", "nb": "stopped", "nc": ""}), components: inspected},
			status: metav1.ConditionTrue, reason: controlplanev1.KubeadmControlPlaneAvailableReason,
		},
		{
			name:   "stacked: two members of three down lose quorum, even with healthy components",
			scope:  &scope{kcp: kcp(3, true), machines: threeStacked(), etcd: observed(map[string]string{"na": "", "nb": "stopped", "nc": "stopped"}), components: inspected},
			status: metav1.ConditionFalse, reason: controlplanev1.KubeadmControlPlaneNotAvailableReason,
			msg: "* 1 of 3 etcd members is healthy, at least 2 required for etcd quorum",
		},
		{
			name:   "stacked: no member healthy",
			scope:  &scope{kcp: kcp(3, true), machines: threeStacked(), etcd: observed(map[string]string{"na": "stopped", "nb": "stopped", "nc": "stopped"}), components: inspected},
			status: metav1.ConditionFalse, reason: controlplanev1.KubeadmControlPlaneNotAvailableReason,
			msg: "* No etcd member is healthy, at least 2 required for etcd quorum",
		},
		{
			name: "stacked: the quorum counts the members, a fourth joining before its Node registers",
			scope: &scope{kcp: kcp(3, true), machines: append(threeStacked(), machine("d", 3)),
				etcd: observed(map[string]string{"na": "", "nb": "stopped", "nc": "", "": "not started"}), components: inspected},
			status: metav1.ConditionFalse, reason: controlplanev1.KubeadmControlPlaneNotAvailableReason,
			msg: "* 2 of 4 etcd members are healthy, at least 3 required for etcd quorum",
		},
		{
			name: "stacked: a Machine being deleted without its member is expected",
			scope: &scope{kcp: kcp(3, true), machines: append(threeStacked(), deleting(node(machine("d", 3, stackedPods...)))),
				etcd: observed(map[string]string{"na": "", "nb": "", "nc": ""}), components: inspected},
			status: metav1.ConditionTrue, reason: controlplanev1.KubeadmControlPlaneAvailableReason,
		},
		{
			name:   "stacked: members that do not match the Machines",
			scope:  &scope{kcp: kcp(3, true), machines: threeStacked(), etcd: observed(map[string]string{"na": "", "nb": "", "stray": ""}), components: inspected},
			status: metav1.ConditionFalse, reason: controlplanev1.KubeadmControlPlaneNotAvailableReason,
			msg: "* Machine c has no etcd member for its Node nc\n* etcd member stray has no control-plane Machine",
		},
		{
			name:   "stacked: etcd cannot be inspected",
			scope:  &scope{kcp: kcp(3, true), machines: threeStacked(), etcd: &etcdObservation{err: "context deadline exceeded"}, components: inspected},
			status: metav1.ConditionUnknown, reason: controlplanev1.KubeadmControlPlaneAvailableInspectionFailedReason, msg: "Failed to inspect etcd: context deadline exceeded",
		},
		{
			name: "stacked: quorum, but no Machine with both healthy components and a healthy member",
			scope: &scope{kcp: kcp(3, true), components: inspected, etcd: observed(map[string]string{"na": "", "nb": "", "nc": ""}), machines: []*clusterv1.Machine{
				node(machine("a", 0, pods...)), // its etcd Pod and member are not healthy
				node(machine("b", 1, append(append([]string{}, pods[1:]...), stackedPods[3:]...)...)), // its API server is not
				node(machine("c", 2)),
			}},
			status: metav1.ConditionFalse, reason: controlplanev1.KubeadmControlPlaneNotAvailableReason,
			msg: "* none of the 3 control-plane Machines has healthy control plane components and a healthy etcd member",
		},
		{
			name: "stacked: one Machine with everything healthy is enough",
			scope: &scope{kcp: kcp(3, true), components: inspected, etcd: observed(map[string]string{"na": "", "nb": "", "nc": ""}), machines: []*clusterv1.Machine{
				node(machine("a", 0, pods...)), node(machine("b", 1)), node(machine("c", 2, stackedPods...)),
			}},
			status: metav1.ConditionTrue, reason: controlplanev1.KubeadmControlPlaneAvailableReason,
		},
		{
			name:   "not stacked: healthy components on one Machine, no etcd to ask",
			scope:  &scope{kcp: kcp(3, true), components: inspected, machines: []*clusterv1.Machine{node(machine("a", 0, pods...)), node(machine("b", 1))}},
			status: metav1.ConditionTrue, reason: controlplanev1.KubeadmControlPlaneAvailableReason,
		},
		{
			name:   "not stacked: Ready is not enough once the components are inspected",
			scope:  &scope{kcp: kcp(3, true), components: inspected, machines: []*clusterv1.Machine{node(machine("a", 0, ready))}},
			status: metav1.ConditionFalse, reason: controlplanev1.KubeadmControlPlaneNotAvailableReason,
			msg: "* none of the 1 control-plane Machines has healthy control plane components",
		},
		{
			name:   "not inspected: a Ready Machine stands in",
			scope:  &scope{kcp: kcp(3, true), machines: []*clusterv1.Machine{node(machine("a", 0, ready))}},
			status: metav1.ConditionTrue, reason: controlplanev1.KubeadmControlPlaneAvailableReason,
		},
		{
			name:   "not inspected: no Ready Machine",
			scope:  &scope{kcp: kcp(3, true), machines: []*clusterv1.Machine{node(machine("a", 0)), deleting(node(machine("b", 1, ready)))}},
			status: metav1.ConditionFalse, reason: controlplanev1.KubeadmControlPlaneNotAvailableReason, msg: "* none of the 1 control-plane Machines is Ready",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			c := availableCondition(tt.scope, machinecount.Count(tt.scope.machines))
			g.Expect(c).To(Equal(metav1.Condition{Type: controlplanev1.KubeadmControlPlaneAvailableCondition, Status: tt.status, Reason: tt.reason, Message: tt.msg}))
		})
	}
}
