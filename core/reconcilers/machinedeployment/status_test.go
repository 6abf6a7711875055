package machinedeployment

import (
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/conditions/conditionstest"
	"github.com/podcluster/podcluster/internal/machinecount"
)

// Builders for what a MachineDeployment reconcile observes.

var (
	isReady     = metav1.Condition{Type: clusterv1.ReadyCondition, Status: metav1.ConditionTrue, Reason: clusterv1.MachineReadyReason}
	isAvailable = metav1.Condition{Type: clusterv1.AvailableCondition, Status: metav1.ConditionTrue, Reason: clusterv1.MachineAvailableReason}
	isUpToDate  = metav1.Condition{Type: clusterv1.UpToDateCondition, Status: metav1.ConditionTrue, Reason: clusterv1.MachineUpToDateReason}
)

func newMachine(name string, conds ...metav1.Condition) *clusterv1.Machine {
	return &clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: clusterv1.MachineStatus{Conditions: conds}}
}

// good is a Machine that is Ready, Available and UpToDate.
func good(name string) *clusterv1.Machine { return newMachine(name, isReady, isAvailable, isUpToDate) }

func goodMachines(names ...string) []*clusterv1.Machine {
	var out []*clusterv1.Machine
	for _, n := range names {
		out = append(out, good(n))
	}
	return out
}

// machineSet is a MachineSet whose status reflects spec replicas, of
// which available are available.
func machineSet(name string, replicas, available int32) *clusterv1.MachineSet {
	return &clusterv1.MachineSet{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:   clusterv1.MachineSetSpec{Replicas: &replicas},
		Status: clusterv1.MachineSetStatus{Replicas: &replicas, AvailableReplicas: &available}}
}

func counts(replicas, active, available int32) machinecount.Counts {
	return machinecount.Counts{Replicas: replicas, Active: active, Ready: available, Available: available, UpToDate: available}
}

func TestSetStatus(t *testing.T) {
	now := metav1.Now()
	tr := true
	gone := machineSet("md-old-gone", 0, 0)
	gone.DeletionTimestamp = &now

	type want = conditionstest.Want
	tests := []struct {
		name     string
		replicas int32
		md       func(*clusterv1.MachineDeployment)
		scope    scope
		phase    clusterv1.MachineDeploymentPhase
		// counts are Replicas, Ready, Available, UpToDate.
		counts [4]int32
		// unavailable is the v1beta1 unavailableReplicas.
		unavailable int32
		conds       map[string]want
		// msgs are substrings of the condition messages, by type.
		msgs map[string]string
	}{
		{
			name:     "steady",
			replicas: 2,
			scope:    scope{newMS: machineSet("md-new", 2, 2), machines: goodMachines("a", "b")},
			phase:    clusterv1.MachineDeploymentPhaseRunning,
			counts:   [4]int32{2, 2, 2, 2},
			conds: map[string]want{
				clusterv1.PausedCondition:                            {Status: metav1.ConditionFalse, Reason: clusterv1.MachineDeploymentNotPausedReason},
				clusterv1.AvailableCondition:                         {Status: metav1.ConditionTrue, Reason: clusterv1.MachineDeploymentAvailableReason},
				clusterv1.RollingOutCondition:                        {Status: metav1.ConditionFalse, Reason: clusterv1.MachineDeploymentRollingOutNotRollingOutReason},
				clusterv1.ScalingUpCondition:                         {Status: metav1.ConditionFalse, Reason: clusterv1.MachineDeploymentScalingUpNotScalingUpReason},
				clusterv1.ScalingDownCondition:                       {Status: metav1.ConditionFalse, Reason: clusterv1.MachineDeploymentScalingDownNotScalingDownReason},
				clusterv1.MachineDeploymentMachinesReadyCondition:    {Status: metav1.ConditionTrue, Reason: clusterv1.MachineDeploymentMachinesReadyReason},
				clusterv1.MachineDeploymentMachinesUpToDateCondition: {Status: metav1.ConditionTrue, Reason: clusterv1.MachineDeploymentMachinesUpToDateReason},
				clusterv1.DeletingCondition:                          {Status: metav1.ConditionFalse, Reason: clusterv1.MachineDeploymentNotDeletingReason},
			},
		},
		{
			name:        "scaling up from nothing",
			replicas:    3,
			scope:       scope{newMS: machineSet("md-new", 3, 0), machines: []*clusterv1.Machine{newMachine("a")}},
			phase:       clusterv1.MachineDeploymentPhaseScalingUp,
			counts:      [4]int32{1, 0, 0, 0},
			unavailable: 3,
			conds: map[string]want{
				// maxUnavailable defaults to 0: all three are needed.
				clusterv1.AvailableCondition:                         {Status: metav1.ConditionFalse, Reason: clusterv1.MachineDeploymentAvailableNotAvailableReason},
				clusterv1.ScalingUpCondition:                         {Status: metav1.ConditionTrue, Reason: clusterv1.MachineDeploymentScalingUpReason},
				clusterv1.MachineDeploymentMachinesReadyCondition:    {Status: metav1.ConditionFalse, Reason: clusterv1.MachineDeploymentMachinesReadyNotReadyReason},
				clusterv1.MachineDeploymentMachinesUpToDateCondition: {Status: metav1.ConditionFalse, Reason: clusterv1.MachineDeploymentMachinesUpToDateNotUpToDateReason},
			},
			msgs: map[string]string{
				clusterv1.AvailableCondition: "0 of 3 Machines are available; at least 3 are needed",
				clusterv1.ScalingUpCondition: "scaling up from 1 to 3 replicas",
			},
		},
		{
			name:     "rolling out: the surge Machine is not scaling down",
			replicas: 2,
			scope: scope{newMS: machineSet("md-new", 1, 0), oldMSs: []*clusterv1.MachineSet{machineSet("md-old", 2, 2), gone},
				machines: append(goodMachines("old-a", "old-b"), newMachine("new-a"))},
			phase:  clusterv1.MachineDeploymentPhaseScalingDown,
			counts: [4]int32{3, 2, 2, 2},
			conds: map[string]want{
				clusterv1.AvailableCondition:   {Status: metav1.ConditionTrue, Reason: clusterv1.MachineDeploymentAvailableReason},
				clusterv1.RollingOutCondition:  {Status: metav1.ConditionTrue, Reason: clusterv1.MachineDeploymentRollingOutReason},
				clusterv1.ScalingDownCondition: {Status: metav1.ConditionFalse, Reason: clusterv1.MachineDeploymentScalingDownNotScalingDownReason},
			},
			msgs: map[string]string{clusterv1.RollingOutCondition: "older revisions: md-old (2)"},
		},
		{
			name:     "scaling down outside a rollout",
			replicas: 1,
			scope:    scope{newMS: machineSet("md-new", 1, 1), machines: goodMachines("a", "b")},
			phase:    clusterv1.MachineDeploymentPhaseScalingDown,
			counts:   [4]int32{2, 2, 2, 2},
			conds: map[string]want{
				clusterv1.ScalingDownCondition: {Status: metav1.ConditionTrue, Reason: clusterv1.MachineDeploymentScalingDownReason},
			},
			msgs: map[string]string{clusterv1.ScalingDownCondition: "scaling down from 2 to 1 replicas"},
		},
		{
			name:     "spec.paused still reports every condition",
			replicas: 2,
			md:       func(md *clusterv1.MachineDeployment) { md.Spec.Paused = &tr },
			scope:    scope{newMS: machineSet("md-new", 2, 2), machines: goodMachines("a", "b")},
			phase:    clusterv1.MachineDeploymentPhaseRunning,
			counts:   [4]int32{2, 2, 2, 2},
			conds: map[string]want{
				clusterv1.PausedCondition:    {Status: metav1.ConditionTrue, Reason: clusterv1.MachineDeploymentPausedReason},
				clusterv1.AvailableCondition: {Status: metav1.ConditionTrue, Reason: clusterv1.MachineDeploymentAvailableReason},
			},
		},
		{
			name:     "a paused Cluster",
			replicas: 2,
			scope:    scope{paused: true, machines: goodMachines("a", "b")},
			phase:    clusterv1.MachineDeploymentPhaseRunning,
			counts:   [4]int32{2, 2, 2, 2},
			conds:    map[string]want{clusterv1.PausedCondition: {Status: metav1.ConditionTrue, Reason: clusterv1.MachineDeploymentPausedReason}},
		},
		{
			name:     "a strategy the rollout rejected",
			replicas: 2,
			scope:    scope{strategyErr: "spec.rollout.strategy.rollingUpdate.maxSurge: invalid value", machines: goodMachines("a", "b")},
			phase:    clusterv1.MachineDeploymentPhaseRunning,
			counts:   [4]int32{2, 2, 2, 2},
			conds:    map[string]want{clusterv1.AvailableCondition: {Status: metav1.ConditionFalse, Reason: clusterv1.MachineDeploymentAvailableInvalidStrategyReason}},
			msgs:     map[string]string{clusterv1.AvailableCondition: "maxSurge: invalid value"},
		},
		{
			name:     "deleting",
			replicas: 2,
			md:       func(md *clusterv1.MachineDeployment) { md.DeletionTimestamp = &now },
			scope:    scope{newMS: machineSet("md-new", 2, 2), oldMSs: []*clusterv1.MachineSet{gone}, machines: goodMachines("a", "b")},
			phase:    clusterv1.MachineDeploymentPhaseRunning,
			counts:   [4]int32{2, 2, 2, 2},
			conds:    map[string]want{clusterv1.DeletingCondition: {Status: metav1.ConditionTrue, Reason: clusterv1.MachineDeploymentDeletingReason}},
			msgs:     map[string]string{clusterv1.DeletingCondition: "deleting 2 MachineSets"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			replicas := tt.replicas
			md := &clusterv1.MachineDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "md", Generation: 2},
				Spec: clusterv1.MachineDeploymentSpec{Replicas: &replicas,
					Selector: clusterv1.LabelSelector{MatchLabels: map[string]clusterv1.LabelValue{"pool": "a"}}}}
			if tt.md != nil {
				tt.md(md)
			}
			s := tt.scope
			s.md = md
			setStatus(&s)

			st := md.Status
			g.Expect(st.ObservedGeneration).To(Equal(int64(2)))
			g.Expect(st.Selector).To(Equal("pool=a"))
			g.Expect(st.Phase).To(Equal(string(tt.phase)))
			g.Expect([4]int32{*st.Replicas, *st.ReadyReplicas, *st.AvailableReplicas, *st.UpToDateReplicas}).To(Equal(tt.counts))
			v1 := st.Deprecated.V1Beta1
			g.Expect([4]int32{v1.UpdatedReplicas, v1.ReadyReplicas, v1.AvailableReplicas, v1.UnavailableReplicas}).
				To(Equal([4]int32{tt.counts[3], tt.counts[1], tt.counts[2], tt.unavailable}))
			conditionstest.Expect(g, st.Conditions, tt.conds, tt.msgs)
		})
	}
}

func TestPhaseOf(t *testing.T) {
	tests := []struct {
		name    string
		counts  machinecount.Counts
		desired int32
		want    clusterv1.MachineDeploymentPhase
	}{
		{"fewer Machines", counts(1, 1, 1), 2, clusterv1.MachineDeploymentPhaseScalingUp},
		{"as many", counts(2, 2, 0), 2, clusterv1.MachineDeploymentPhaseRunning},
		{"a Machine being deleted still counts", counts(3, 2, 2), 2, clusterv1.MachineDeploymentPhaseScalingDown},
		{"scaled to zero", counts(0, 0, 0), 0, clusterv1.MachineDeploymentPhaseRunning},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(phaseOf(tt.counts, tt.desired)).To(Equal(tt.want))
		})
	}
}

func TestAvailableCondition(t *testing.T) {
	pct := func(s string) *intstr.IntOrString { v := intstr.FromString(s); return &v }
	tests := []struct {
		name        string
		rollout     clusterv1.MachineDeploymentRolloutSpec
		strategyErr string
		noCluster   bool
		available   int32
		status      metav1.ConditionStatus
		reason      string
		message     string
	}{
		{name: "all of 4 available", available: 4,
			status: metav1.ConditionTrue, reason: clusterv1.MachineDeploymentAvailableReason},
		{name: "maxUnavailable 0 needs all 4", available: 3,
			status: metav1.ConditionFalse, reason: clusterv1.MachineDeploymentAvailableNotAvailableReason, message: "3 of 4 Machines are available; at least 4 are needed"},
		{name: "maxUnavailable 50% allows 2 down", available: 2,
			rollout: clusterv1.MachineDeploymentRolloutSpec{Strategy: clusterv1.MachineDeploymentRolloutStrategy{
				RollingUpdate: clusterv1.MachineDeploymentRolloutStrategyRollingUpdate{MaxUnavailable: pct("50%")}}},
			status: metav1.ConditionTrue, reason: clusterv1.MachineDeploymentAvailableReason},
		{name: "OnDelete ignores maxUnavailable", available: 2,
			rollout: clusterv1.MachineDeploymentRolloutSpec{Strategy: clusterv1.MachineDeploymentRolloutStrategy{
				Type:          clusterv1.OnDeleteMachineDeploymentStrategyType,
				RollingUpdate: clusterv1.MachineDeploymentRolloutStrategyRollingUpdate{MaxUnavailable: pct("50%")}}},
			status: metav1.ConditionFalse, reason: clusterv1.MachineDeploymentAvailableNotAvailableReason, message: "at least 4 are needed"},
		{name: "a strategy that does not resolve", available: 4,
			rollout: clusterv1.MachineDeploymentRolloutSpec{Strategy: clusterv1.MachineDeploymentRolloutStrategy{
				RollingUpdate: clusterv1.MachineDeploymentRolloutStrategyRollingUpdate{MaxSurge: pct("many")}}},
			status: metav1.ConditionFalse, reason: clusterv1.MachineDeploymentAvailableInvalidStrategyReason, message: "maxSurge"},
		{name: "the rollout's strategy error wins", available: 4, strategyErr: "rejected by rollout",
			status: metav1.ConditionFalse, reason: clusterv1.MachineDeploymentAvailableInvalidStrategyReason, message: "rejected by rollout"},
		{name: "the Cluster is missing", available: 0, noCluster: true,
			status: metav1.ConditionFalse, reason: clusterv1.MachineDeploymentAvailableNotAvailableReason,
			message: `Cluster missing: spec.clusterName names Cluster "c1", which does not exist in namespace ns`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			replicas := int32(4)
			s := &scope{strategyErr: tt.strategyErr, clusterMissing: tt.noCluster, md: &clusterv1.MachineDeployment{
				ObjectMeta: metav1.ObjectMeta{Namespace: "ns"},
				Spec:       clusterv1.MachineDeploymentSpec{ClusterName: "c1", Replicas: &replicas, Rollout: tt.rollout}}}
			got := availableCondition(s, counts(4, 4, tt.available), replicas)
			g.Expect(got.Status).To(Equal(tt.status))
			g.Expect(got.Reason).To(Equal(tt.reason))
			g.Expect(got.Message).To(ContainSubstring(tt.message))
		})
	}
}

func TestRollingOutAndScaling(t *testing.T) {
	now := metav1.Now()
	deleted := machineSet("md-deleted", 2, 2)
	deleted.DeletionTimestamp = &now
	// lagging asked for 0 Machines but its status still shows 1.
	lagging := machineSet("md-lagging", 1, 1)
	zero := int32(0)
	lagging.Spec.Replicas = &zero
	tests := []struct {
		name        string
		old         []*clusterv1.MachineSet
		counts      machinecount.Counts
		desired     int32
		rollingOut  []string
		scalingUp   metav1.ConditionStatus
		scalingDown metav1.ConditionStatus
	}{
		{name: "no old revisions", counts: counts(2, 2, 2), desired: 2,
			scalingUp: metav1.ConditionFalse, scalingDown: metav1.ConditionFalse},
		{name: "old revisions sorted by name, empty and deleted ones left out",
			old:    []*clusterv1.MachineSet{machineSet("md-b", 1, 1), machineSet("md-empty", 0, 0), deleted, machineSet("md-a", 2, 2)},
			counts: counts(4, 4, 4), desired: 3, rollingOut: []string{"md-a (2)", "md-b (1)"},
			scalingUp: metav1.ConditionFalse, scalingDown: metav1.ConditionFalse},
		{name: "a MachineSet whose status lags still counts", old: []*clusterv1.MachineSet{lagging},
			counts: counts(3, 3, 3), desired: 2, rollingOut: []string{"md-lagging (1)"},
			scalingUp: metav1.ConditionFalse, scalingDown: metav1.ConditionFalse},
		{name: "a Machine being deleted is already missing", counts: counts(2, 1, 1), desired: 2,
			scalingUp: metav1.ConditionTrue, scalingDown: metav1.ConditionFalse},
		{name: "surplus outside a rollout", counts: counts(3, 3, 3), desired: 2,
			scalingUp: metav1.ConditionFalse, scalingDown: metav1.ConditionTrue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			s := &scope{oldMSs: tt.old}
			old := oldRevisions(s)
			g.Expect(old).To(Equal(tt.rollingOut))

			rolling := rollingOutCondition(old)
			if len(tt.rollingOut) > 0 {
				g.Expect(rolling.Status).To(Equal(metav1.ConditionTrue))
				g.Expect(rolling.Reason).To(Equal(clusterv1.MachineDeploymentRollingOutReason))
			} else {
				g.Expect(rolling.Status).To(Equal(metav1.ConditionFalse))
				g.Expect(rolling.Reason).To(Equal(clusterv1.MachineDeploymentRollingOutNotRollingOutReason))
			}
			up := scalingUpCondition(tt.counts, tt.desired)
			g.Expect(up.Status).To(Equal(tt.scalingUp))
			down := scalingDownCondition(tt.counts, tt.desired, len(old) > 0)
			g.Expect(down.Status).To(Equal(tt.scalingDown))
		})
	}
}
