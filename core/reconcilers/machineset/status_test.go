package machineset

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/conditions/conditionstest"
)

func TestSetStatus(t *testing.T) {
	now := metav1.Now()
	ready := metav1.Condition{Type: clusterv1.ReadyCondition, Status: metav1.ConditionTrue, Reason: clusterv1.MachineReadyReason}
	available := metav1.Condition{Type: clusterv1.AvailableCondition, Status: metav1.ConditionTrue, Reason: clusterv1.MachineAvailableReason}
	upToDate := metav1.Condition{Type: clusterv1.UpToDateCondition, Status: metav1.ConditionTrue, Reason: clusterv1.MachineUpToDateReason}
	good := func(name string) *clusterv1.Machine { return machine(name, time.Hour, nil, ready, available, upToDate) }
	deleting := func(m *clusterv1.Machine) *clusterv1.Machine {
		m.DeletionTimestamp = &now
		return m
	}

	type want = conditionstest.Want
	tests := []struct {
		name     string
		replicas int32
		ms       func(*clusterv1.MachineSet)
		scope    scope
		// counts are Replicas, Ready, Available, UpToDate.
		counts [4]int32
		conds  map[string]want
		// msgs are substrings of the condition messages, by type.
		msgs map[string]string
	}{
		{
			name:     "paused still counts, and reports only Paused",
			replicas: 3,
			scope:    scope{paused: true, machines: []*clusterv1.Machine{good("a")}},
			counts:   [4]int32{1, 1, 1, 1},
			conds: map[string]want{
				clusterv1.PausedCondition:    {Status: metav1.ConditionTrue, Reason: clusterv1.MachineSetPausedReason},
				clusterv1.ScalingUpCondition: {},
			},
		},
		{
			name:     "steady",
			replicas: 2,
			scope:    scope{machines: []*clusterv1.Machine{good("a"), good("b")}},
			counts:   [4]int32{2, 2, 2, 2},
			conds: map[string]want{
				clusterv1.PausedCondition:                     {Status: metav1.ConditionFalse, Reason: clusterv1.MachineSetNotPausedReason},
				clusterv1.ScalingUpCondition:                  {Status: metav1.ConditionFalse, Reason: clusterv1.MachineSetScalingUpNotScalingUpReason},
				clusterv1.ScalingDownCondition:                {Status: metav1.ConditionFalse, Reason: clusterv1.MachineSetScalingDownNotScalingDownReason},
				clusterv1.MachineSetMachinesReadyCondition:    {Status: metav1.ConditionTrue, Reason: clusterv1.MachineSetMachinesReadyReason},
				clusterv1.MachineSetMachinesUpToDateCondition: {Status: metav1.ConditionTrue, Reason: clusterv1.MachineSetMachinesUpToDateReason},
				clusterv1.RemediatingCondition:                {Status: metav1.ConditionFalse, Reason: clusterv1.MachineSetRemediatingNotRemediatingReason},
				clusterv1.DeletingCondition:                   {Status: metav1.ConditionFalse, Reason: clusterv1.MachineSetNotDeletingReason},
			},
		},
		{
			name:     "scaling up, a new Machine not Ready nor UpToDate yet",
			replicas: 3,
			scope:    scope{machines: []*clusterv1.Machine{good("a"), machine("b", 0, nil)}},
			counts:   [4]int32{2, 1, 1, 1},
			conds: map[string]want{
				clusterv1.ScalingUpCondition:                  {Status: metav1.ConditionTrue, Reason: clusterv1.MachineSetScalingUpReason},
				clusterv1.MachineSetMachinesReadyCondition:    {Status: metav1.ConditionFalse, Reason: clusterv1.MachineSetMachinesReadyNotReadyReason},
				clusterv1.MachineSetMachinesUpToDateCondition: {Status: metav1.ConditionFalse, Reason: clusterv1.MachineSetMachinesUpToDateNotUpToDateReason},
			},
			msgs: map[string]string{
				clusterv1.ScalingUpCondition:               "scaling up from 2 to 3 replicas",
				clusterv1.MachineSetMachinesReadyCondition: "Ready is not True on b",
			},
		},
		{
			name:     "scaling up with the scale step's message",
			replicas: 3,
			scope:    scope{scaleMessage: "old revision of an OnDelete MachineDeployment", machines: []*clusterv1.Machine{good("a")}},
			counts:   [4]int32{1, 1, 1, 1},
			conds:    map[string]want{clusterv1.ScalingUpCondition: {Status: metav1.ConditionTrue, Reason: clusterv1.MachineSetScalingUpReason}},
			msgs:     map[string]string{clusterv1.ScalingUpCondition: "OnDelete"},
		},
		{
			name:     "a broken template stops scaling up",
			replicas: 3,
			scope:    scope{templateErr: "spec.machineNaming.template must contain {{ .random }}", machines: []*clusterv1.Machine{good("a")}},
			counts:   [4]int32{1, 1, 1, 1},
			conds:    map[string]want{clusterv1.ScalingUpCondition: {Status: metav1.ConditionFalse, Reason: clusterv1.MachineSetScalingUpInvalidTemplateReason}},
			msgs:     map[string]string{clusterv1.ScalingUpCondition: "must contain"},
		},
		{
			name:     "scaling down: a Machine being deleted still counts until it is gone",
			replicas: 2,
			scope:    scope{machines: []*clusterv1.Machine{good("a"), good("b"), deleting(good("c"))}},
			counts:   [4]int32{3, 3, 3, 3},
			conds: map[string]want{
				clusterv1.ScalingUpCondition:   {Status: metav1.ConditionFalse, Reason: clusterv1.MachineSetScalingUpNotScalingUpReason},
				clusterv1.ScalingDownCondition: {Status: metav1.ConditionTrue, Reason: clusterv1.MachineSetScalingDownReason},
			},
			msgs: map[string]string{clusterv1.ScalingDownCondition: "scaling down from 3 to 2 replicas"},
		},
		{
			name:     "remediating",
			replicas: 2,
			scope:    scope{remediating: []string{"b"}, machines: []*clusterv1.Machine{good("a"), deleting(good("b"))}},
			counts:   [4]int32{2, 2, 2, 2},
			conds: map[string]want{
				clusterv1.RemediatingCondition: {Status: metav1.ConditionTrue, Reason: clusterv1.MachineSetRemediatingReason},
				// The replacement is not created until b is gone.
				clusterv1.ScalingUpCondition: {Status: metav1.ConditionTrue, Reason: clusterv1.MachineSetScalingUpReason},
			},
			msgs: map[string]string{clusterv1.RemediatingCondition: "marked for remediation: b"},
		},
		{
			name:     "deleting",
			replicas: 2,
			ms:       func(ms *clusterv1.MachineSet) { ms.DeletionTimestamp = &now },
			scope:    scope{machines: []*clusterv1.Machine{deleting(good("a")), deleting(good("b"))}},
			counts:   [4]int32{2, 2, 2, 2},
			conds:    map[string]want{clusterv1.DeletingCondition: {Status: metav1.ConditionTrue, Reason: clusterv1.MachineSetDeletingReason}},
			msgs:     map[string]string{clusterv1.DeletingCondition: "deleting 2 Machines"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			replicas := tt.replicas
			ms := &clusterv1.MachineSet{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "pool", Generation: 2},
				Spec: clusterv1.MachineSetSpec{Replicas: &replicas,
					Selector: clusterv1.LabelSelector{MatchLabels: map[string]clusterv1.LabelValue{"pool": "a"}}}}
			if tt.ms != nil {
				tt.ms(ms)
			}
			s := tt.scope
			s.ms = ms
			setStatus(&s)

			st := ms.Status
			g.Expect(st.ObservedGeneration).To(Equal(int64(2)))
			g.Expect(st.Selector).To(Equal("pool=a"))
			g.Expect([4]int32{*st.Replicas, *st.ReadyReplicas, *st.AvailableReplicas, *st.UpToDateReplicas}).To(Equal(tt.counts))
			g.Expect([3]int32{st.Deprecated.V1Beta1.FullyLabeledReplicas, st.Deprecated.V1Beta1.ReadyReplicas, st.Deprecated.V1Beta1.AvailableReplicas}).
				To(Equal([3]int32{tt.counts[0], tt.counts[1], tt.counts[2]}))
			conditionstest.Expect(g, st.Conditions, tt.conds, tt.msgs)
		})
	}
}
