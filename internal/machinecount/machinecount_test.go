package machinecount

import (
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

func machine(name, version string, deleting bool, trueConds ...string) *clusterv1.Machine {
	m := &clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: clusterv1.MachineSpec{Version: version}}
	if deleting {
		now := metav1.Now()
		m.DeletionTimestamp = &now
	}
	for _, t := range trueConds {
		m.Status.Conditions = append(m.Status.Conditions, metav1.Condition{Type: t, Status: metav1.ConditionTrue, Reason: "R"})
	}
	return m
}

func TestCount(t *testing.T) {
	r, a, u := clusterv1.ReadyCondition, clusterv1.AvailableCondition, clusterv1.UpToDateCondition
	tests := []struct {
		name     string
		machines []*clusterv1.Machine
		want     Counts
	}{
		{name: "no Machines", want: Counts{}},
		{
			name:     "each counter on its own condition",
			machines: []*clusterv1.Machine{machine("a", "", false, r, a, u), machine("b", "", false, r), machine("c", "", false, u)},
			want:     Counts{Replicas: 3, Active: 3, Ready: 2, Available: 1, UpToDate: 2},
		},
		{
			name:     "a Machine being deleted is a replica but not active",
			machines: []*clusterv1.Machine{machine("a", "", false, r, a, u), machine("b", "", true, r, a, u)},
			want:     Counts{Replicas: 2, Active: 1, Ready: 2, Available: 2, UpToDate: 2},
		},
		{
			name: "False and missing conditions do not count",
			machines: []*clusterv1.Machine{{Status: clusterv1.MachineStatus{Conditions: []metav1.Condition{
				{Type: r, Status: metav1.ConditionFalse}, {Type: a, Status: metav1.ConditionUnknown}}}}},
			want: Counts{Replicas: 1, Active: 1},
		},
		{
			name: "versions sorted, Machines without one left out",
			machines: []*clusterv1.Machine{machine("a", "v1.36.1", false), machine("b", "v1.35.0", false),
				machine("c", "v1.36.1", false), machine("d", "", false)},
			want: Counts{Replicas: 4, Active: 4, Versions: []clusterv1.StatusVersion{
				{Version: "v1.35.0", Replicas: 1}, {Version: "v1.36.1", Replicas: 2}}},
		},
		{
			name: "oldest first by semantic version, not by text; unparsable last",
			machines: []*clusterv1.Machine{machine("a", "v1.37.2", false), machine("b", "v1.9.0", false),
				machine("c", "latest", false)},
			want: Counts{Replicas: 3, Active: 3, Versions: []clusterv1.StatusVersion{
				{Version: "v1.9.0", Replicas: 1}, {Version: "v1.37.2", Replicas: 1}, {Version: "latest", Replicas: 1}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(Count(tt.machines)).To(Equal(tt.want))
		})
	}
}

func TestAggregate(t *testing.T) {
	r := clusterv1.ReadyCondition
	var many []*clusterv1.Machine
	for _, n := range []string{"g", "f", "e", "d", "c", "b", "a"} {
		many = append(many, machine(n, "", false))
	}
	tests := []struct {
		name     string
		machines []*clusterv1.Machine
		status   metav1.ConditionStatus
		reason   string
		message  string
	}{
		{name: "no Machines", status: metav1.ConditionTrue, reason: clusterv1.MachineSetMachinesReadyReason},
		{name: "all True", machines: []*clusterv1.Machine{machine("a", "", false, r), machine("b", "", false, r)},
			status: metav1.ConditionTrue, reason: clusterv1.MachineSetMachinesReadyReason},
		{name: "the bad ones are named, sorted", machines: []*clusterv1.Machine{machine("c", "", false), machine("a", "", false, r), machine("b", "", false)},
			status: metav1.ConditionFalse, reason: clusterv1.MachineSetMachinesReadyNotReadyReason, message: "Ready is not True on b, c"},
		{name: "more than five are cut short", machines: many,
			status: metav1.ConditionFalse, reason: clusterv1.MachineSetMachinesReadyNotReadyReason, message: "Ready is not True on a, b, c, d, e, and 2 more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got := Aggregate(tt.machines, r, clusterv1.MachineSetMachinesReadyCondition,
				clusterv1.MachineSetMachinesReadyReason, clusterv1.MachineSetMachinesReadyNotReadyReason)
			g.Expect(got).To(Equal(metav1.Condition{Type: clusterv1.MachineSetMachinesReadyCondition,
				Status: tt.status, Reason: tt.reason, Message: tt.message}))
		})
	}
}
