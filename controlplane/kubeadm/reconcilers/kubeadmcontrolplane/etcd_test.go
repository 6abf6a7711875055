package kubeadmcontrolplane

import (
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	controlplanev1 "github.com/podcluster/podcluster/api/controlplane/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/etcd"
)

func TestEtcdConditions(t *testing.T) {
	machine := func(name, node string) *clusterv1.Machine {
		m := &clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Name: name}}
		m.Status.NodeRef.Name = node
		return m
	}
	three := []*clusterv1.Machine{machine("m-a", "na"), machine("m-b", "nb"), machine("m-c", "nc")}
	type cond struct {
		status  metav1.ConditionStatus
		reason  string
		message string
	}
	tests := []struct {
		name        string
		machines    []*clusterv1.Machine
		obs         *etcdObservation
		wantCluster cond
		wantMachine map[string]cond
	}{
		{
			name: "three healthy members", machines: three, obs: observed(map[string]string{"na": "", "nb": "", "nc": ""}),
			wantCluster: cond{metav1.ConditionTrue, controlplanev1.KubeadmControlPlaneEtcdClusterHealthyReason, ""},
			wantMachine: map[string]cond{
				"m-a": {metav1.ConditionTrue, controlplanev1.KubeadmControlPlaneMachineEtcdMemberHealthyReason, ""},
				"m-b": {metav1.ConditionTrue, controlplanev1.KubeadmControlPlaneMachineEtcdMemberHealthyReason, ""},
				"m-c": {metav1.ConditionTrue, controlplanev1.KubeadmControlPlaneMachineEtcdMemberHealthyReason, ""},
			},
		},
		{
			name: "one member down is named", machines: three, obs: observed(map[string]string{"na": "", "nb": "connection refused", "nc": ""}),
			wantCluster: cond{metav1.ConditionFalse, controlplanev1.KubeadmControlPlaneEtcdClusterNotHealthyReason,
				"* Machine m-b: Etcd member nb is not healthy: connection refused"},
			wantMachine: map[string]cond{
				"m-a": {metav1.ConditionTrue, controlplanev1.KubeadmControlPlaneMachineEtcdMemberHealthyReason, ""},
				"m-b": {metav1.ConditionFalse, controlplanev1.KubeadmControlPlaneMachineEtcdMemberNotHealthyReason, "Etcd member nb is not healthy: connection refused"},
				"m-c": {metav1.ConditionTrue, controlplanev1.KubeadmControlPlaneMachineEtcdMemberHealthyReason, ""},
			},
		},
		{
			name: "a Machine without a member and a member without a Machine", machines: three, obs: observed(map[string]string{"na": "", "nb": "", "stray": ""}),
			wantCluster: cond{metav1.ConditionFalse, controlplanev1.KubeadmControlPlaneEtcdClusterNotHealthyReason,
				"* Machine m-c: Etcd doesn't have an etcd member for Node nc\n* Etcd member stray does not belong to a control-plane Machine"},
			wantMachine: map[string]cond{
				"m-a": {metav1.ConditionTrue, controlplanev1.KubeadmControlPlaneMachineEtcdMemberHealthyReason, ""},
				"m-b": {metav1.ConditionTrue, controlplanev1.KubeadmControlPlaneMachineEtcdMemberHealthyReason, ""},
				"m-c": {metav1.ConditionFalse, controlplanev1.KubeadmControlPlaneMachineEtcdMemberNotHealthyReason, "Etcd doesn't have an etcd member for Node nc"},
			},
		},
		{
			name: "a Machine without a Node yet is left out", machines: []*clusterv1.Machine{machine("m-a", "na"), machine("m-new", "")},
			obs:         observed(map[string]string{"na": ""}),
			wantCluster: cond{metav1.ConditionTrue, controlplanev1.KubeadmControlPlaneEtcdClusterHealthyReason, ""},
			wantMachine: map[string]cond{"m-a": {metav1.ConditionTrue, controlplanev1.KubeadmControlPlaneMachineEtcdMemberHealthyReason, ""}},
		},
		{
			name: "etcd cannot be reached", machines: three[:1], obs: &etcdObservation{err: "context deadline exceeded"},
			wantCluster: cond{metav1.ConditionUnknown, controlplanev1.KubeadmControlPlaneEtcdClusterInspectionFailedReason, "Failed to connect to etcd: context deadline exceeded"},
			wantMachine: map[string]cond{"m-a": {metav1.ConditionUnknown, controlplanev1.KubeadmControlPlaneMachineEtcdMemberInspectionFailedReason, "Failed to connect to etcd: context deadline exceeded"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			c, per := etcdConditions(tt.machines, tt.obs)
			g.Expect(c.Type).To(Equal(controlplanev1.KubeadmControlPlaneEtcdClusterHealthyCondition))
			g.Expect(cond{c.Status, c.Reason, c.Message}).To(Equal(tt.wantCluster))
			got := map[string]cond{}
			for name, mc := range per {
				g.Expect(mc.Type).To(Equal(controlplanev1.KubeadmControlPlaneMachineEtcdMemberHealthyCondition))
				got[name] = cond{mc.Status, mc.Reason, mc.Message}
			}
			g.Expect(got).To(Equal(tt.wantMachine))
		})
	}
}

func TestPlanMemberRemoval(t *testing.T) {
	members := []etcd.Member{{ID: 1, Name: "na"}, {ID: 2, Name: "nb"}, {ID: 3, Name: "nc"}}
	tests := []struct {
		name   string
		health map[uint64]string
		leader uint64
		node   string
		want   memberRemoval
	}{
		{name: "a follower goes at once", health: map[uint64]string{1: "", 2: "", 3: ""}, leader: 1, node: "nb", want: memberRemoval{remove: 2}},
		{name: "the leader hands over first", health: map[uint64]string{1: "", 2: "", 3: ""}, leader: 1, node: "na", want: memberRemoval{moveLeaderTo: 2, remove: 1}},
		{name: "to a healthy member", health: map[uint64]string{1: "", 2: "down", 3: ""}, leader: 1, node: "na", want: memberRemoval{moveLeaderTo: 3, remove: 1}},
		{name: "no healthy member to take over", health: map[uint64]string{1: "", 2: "down", 3: "down"}, leader: 1, node: "na",
			want: memberRemoval{err: "it leads, and no other member is healthy to take over"}},
		{name: "a node without a member", health: map[uint64]string{1: "", 2: "", 3: ""}, leader: 1, node: "nx", want: memberRemoval{}},
		{name: "the last member", health: map[uint64]string{1: ""}, leader: 1, node: "na", want: memberRemoval{remove: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms := members
			if tt.name == "the last member" {
				ms = members[:1]
			}
			NewWithT(t).Expect(planMemberRemoval(ms, tt.health, tt.leader, tt.node)).To(Equal(tt.want))
		})
	}
}

func TestStackedEtcd(t *testing.T) {
	g := NewWithT(t)
	kcp := &controlplanev1.KubeadmControlPlane{}
	g.Expect(stackedEtcd(kcp)).To(BeFalse())
	kcp.Spec.KubeadmConfigSpec.ClusterConfiguration.Etcd.Local = bootstrapv1.LocalEtcd{DataDir: "/var/lib/etcd"}
	g.Expect(stackedEtcd(kcp)).To(BeTrue())
}

func TestMachineEtcdEndpoint(t *testing.T) {
	g := NewWithT(t)
	m := &clusterv1.Machine{}
	g.Expect(machineEtcdEndpoint(m)).To(BeEmpty())
	m.Status.Addresses = []clusterv1.MachineAddress{{Type: clusterv1.MachineHostName, Address: "n"}, {Type: clusterv1.MachineInternalIP, Address: "127.32.0.4"}}
	g.Expect(machineEtcdEndpoint(m)).To(Equal("https://127.32.0.4:2379"))
}

// TestEtcdEndpoints: etcd is asked at the Machines that stay and at the
// victim, even when it is being deleted (a Machine deleted by hand that
// leads: only its own endpoint can move the leadership), never at another
// Machine being deleted nor at one without an address.
func TestEtcdEndpoints(t *testing.T) {
	at := func(m *clusterv1.Machine, ip string) *clusterv1.Machine {
		m.Status.Addresses = []clusterv1.MachineAddress{{Type: clusterv1.MachineInternalIP, Address: ip}}
		return m
	}
	a, b := at(machine("a", 0), "10.0.0.1"), at(deleting(machine("b", 1)), "10.0.0.2")
	c, d := at(deleting(machine("c", 2)), "10.0.0.3"), machine("d", 3)
	machines := []*clusterv1.Machine{a, b, c, d}
	cases := []struct {
		name   string
		victim *clusterv1.Machine
		want   []string
	}{
		{name: "no victim: the Machines that stay", want: []string{"https://10.0.0.1:2379"}},
		{name: "a victim being deleted is asked too", victim: b, want: []string{"https://10.0.0.1:2379", "https://10.0.0.2:2379"}},
		{name: "a victim that stays", victim: a, want: []string{"https://10.0.0.1:2379"}},
		{name: "a victim without an address", victim: d, want: []string{"https://10.0.0.1:2379"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(etcdEndpoints(machines, tc.victim)).To(Equal(tc.want))
		})
	}
}
