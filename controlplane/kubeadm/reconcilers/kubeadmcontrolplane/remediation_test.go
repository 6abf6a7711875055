package kubeadmcontrolplane

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	controlplanev1 "github.com/podcluster/podcluster/api/controlplane/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/etcd"
)

func TestDecideRemediation(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	machine := func(name string, ready, marked bool) *clusterv1.Machine {
		m := &clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Name: name}}
		status := metav1.ConditionFalse
		if ready {
			status = metav1.ConditionTrue
		}
		m.Status.Conditions = []metav1.Condition{{Type: clusterv1.ReadyCondition, Status: status}}
		if marked {
			m.Status.Conditions = append(m.Status.Conditions,
				metav1.Condition{Type: clusterv1.MachineHealthCheckSucceededCondition, Status: metav1.ConditionFalse},
				metav1.Condition{Type: clusterv1.MachineOwnerRemediatedCondition, Status: metav1.ConditionFalse})
		}
		return m
	}
	replacementOf := func(m *clusterv1.Machine, prev string, ago time.Duration, retries int32) *clusterv1.Machine {
		data, _ := json.Marshal(RemediationData{Machine: prev, Timestamp: metav1.NewTime(now.Add(-ago)), RetryCount: retries})
		m.Annotations = map[string]string{controlplanev1.RemediationForAnnotation: string(data)}
		return m
	}
	kcp := func(mod func(*controlplanev1.KubeadmControlPlane)) *controlplanev1.KubeadmControlPlane {
		k := &controlplanev1.KubeadmControlPlane{}
		t := true
		k.Status.Initialization.ControlPlaneInitialized = &t
		if mod != nil {
			mod(k)
		}
		return k
	}
	deleting := machine("d", true, false)
	deleting.DeletionTimestamp = &metav1.Time{Time: now}
	tests := []struct {
		name        string
		kcp         *controlplanev1.KubeadmControlPlane
		machines    []*clusterv1.Machine
		want        remediationAction
		wantMachine string
		wantMessage string
		wantRetry   int32
		// etcd, when set, is the observed etcd cluster.
		etcd *etcdObservation
	}{
		{name: "nothing marked", kcp: kcp(nil), machines: []*clusterv1.Machine{machine("a", true, false), machine("b", true, false)}},
		{name: "one of three", kcp: kcp(nil), machines: []*clusterv1.Machine{machine("a", true, false), machine("b", false, true), machine("c", true, false)},
			want: remediateNow, wantMachine: "b"},
		{name: "the oldest of two marked, but quorum forbids", kcp: kcp(nil), machines: []*clusterv1.Machine{machine("a", false, true), machine("b", false, true), machine("c", true, false)},
			want: remediateRefused, wantMachine: "a", wantMessage: "removing its etcd member would leave 1 healthy of 2 members, fewer than the quorum of 2 (not healthy: b)"},
		{name: "two of five", kcp: kcp(nil), machines: []*clusterv1.Machine{machine("a", false, true), machine("b", false, true), machine("c", true, false), machine("d", true, false), machine("e", true, false)},
			want: remediateNow, wantMachine: "a"},
		{name: "an unready unmarked Machine counts against quorum", kcp: kcp(nil), machines: []*clusterv1.Machine{machine("a", false, true), machine("b", false, false), machine("c", true, false)},
			want: remediateRefused, wantMachine: "a", wantMessage: "removing its etcd member would leave 1 healthy of 2 members, fewer than the quorum of 2 (not healthy: b)"},
		{name: "the only Machine", kcp: kcp(nil), machines: []*clusterv1.Machine{machine("a", false, true)},
			want: remediateRefused, wantMachine: "a", wantMessage: "it is the only control-plane Machine: remediating it would destroy the cluster"},
		{name: "the only Machine before initialization", kcp: kcp(func(k *controlplanev1.KubeadmControlPlane) { k.Status.Initialization.ControlPlaneInitialized = nil }),
			machines: []*clusterv1.Machine{machine("a", false, true)}, want: remediateNow, wantMachine: "a"},
		{name: "another Machine being deleted", kcp: kcp(nil), machines: []*clusterv1.Machine{machine("a", true, false), machine("b", false, true), deleting},
			want: remediateLater, wantMachine: "b", wantMessage: "waiting for Machine d to be deleted"},
		{name: "a replacement still owed", kcp: kcp(func(k *controlplanev1.KubeadmControlPlane) {
			k.Annotations = map[string]string{controlplanev1.RemediationInProgressAnnotation: "{}"}
		}), machines: []*clusterv1.Machine{machine("a", true, false), machine("b", false, true)},
			want: remediateLater, wantMachine: "b", wantMessage: "waiting for the replacement of the last remediated Machine"},
		{name: "a replacement failing soon counts as a retry", kcp: kcp(nil),
			machines: []*clusterv1.Machine{machine("a", true, false), replacementOf(machine("b", false, true), "old", time.Minute, 1), machine("c", true, false)},
			want:     remediateNow, wantMachine: "b", wantRetry: 2},
		{name: "a replacement healthy for long starts anew", kcp: kcp(nil),
			machines: []*clusterv1.Machine{machine("a", true, false), replacementOf(machine("b", false, true), "old", 2*time.Hour, 4), machine("c", true, false)},
			want:     remediateNow, wantMachine: "b", wantRetry: 0},
		{name: "retries used up", kcp: kcp(func(k *controlplanev1.KubeadmControlPlane) { k.Spec.Remediation.MaxRetry = new(int32(1)) }),
			machines: []*clusterv1.Machine{machine("a", true, false), replacementOf(machine("b", false, true), "old", time.Minute, 1), machine("c", true, false)},
			want:     remediateRefused, wantMachine: "b", wantMessage: "it replaced Machine old, and remediation was already retried 1 times (spec.remediation.maxRetry 1)"},
		{name: "within the retry period", kcp: kcp(func(k *controlplanev1.KubeadmControlPlane) { k.Spec.Remediation.RetryPeriodSeconds = new(int32(300)) }),
			machines: []*clusterv1.Machine{machine("a", true, false), replacementOf(machine("b", false, true), "old", time.Minute, 0), machine("c", true, false)},
			want:     remediateLater, wantMachine: "b", wantMessage: "waiting for spec.remediation.retryPeriodSeconds to pass since Machine old was remediated (until 2026-12-03T12:04:00Z)"},
		{name: "a minHealthyPeriod of its own", kcp: kcp(func(k *controlplanev1.KubeadmControlPlane) {
			k.Spec.Remediation.MinHealthyPeriodSeconds = new(int32(30))
		}),
			machines: []*clusterv1.Machine{machine("a", true, false), replacementOf(machine("b", false, true), "old", time.Minute, 3), machine("c", true, false)},
			want:     remediateNow, wantMachine: "b", wantRetry: 0},
		{name: "real members: one of three members down besides the marked Machine's refuses", kcp: kcp(nil),
			machines: []*clusterv1.Machine{withNode(machine("a", true, false), "na"), withNode(machine("b", false, true), "nb"), withNode(machine("c", true, false), "nc")},
			etcd:     observed(map[string]string{"na": "", "nb": "down", "nc": "connection refused"}),
			want:     remediateRefused, wantMachine: "b", wantMessage: "removing its etcd member would leave 1 healthy of 2 etcd members, fewer than the quorum of 2 (not healthy: nc)"},
		{name: "real members: a healthy quorum is left", kcp: kcp(nil),
			machines: []*clusterv1.Machine{withNode(machine("a", true, false), "na"), withNode(machine("b", false, true), "nb"), withNode(machine("c", true, false), "nc")},
			etcd:     observed(map[string]string{"na": "", "nb": "down", "nc": ""}),
			want:     remediateNow, wantMachine: "b"},
		{name: "real members: a member without a Machine counts", kcp: kcp(nil),
			machines: []*clusterv1.Machine{withNode(machine("a", true, false), "na"), withNode(machine("b", false, true), "nb"), withNode(machine("c", true, false), "nc")},
			etcd:     observed(map[string]string{"na": "", "nb": "down", "nc": "", "stray": "down", "stray2": "down"}),
			want:     remediateRefused, wantMachine: "b", wantMessage: "removing its etcd member would leave 2 healthy of 4 etcd members, fewer than the quorum of 3 (not healthy: stray, stray2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			d := decideRemediation(tt.kcp, tt.machines, now, tt.etcd)
			g.Expect(d.action).To(Equal(tt.want))
			if tt.want == remediateNothing {
				return
			}
			g.Expect(d.machine.Name).To(Equal(tt.wantMachine))
			g.Expect(d.message).To(Equal(tt.wantMessage))
			if tt.want == remediateNow {
				g.Expect(d.data).To(Equal(RemediationData{Machine: tt.wantMachine, Timestamp: metav1.NewTime(now), RetryCount: tt.wantRetry}))
			}
		})
	}
}

// withNode gives a Machine its Node.
func withNode(m *clusterv1.Machine, node string) *clusterv1.Machine {
	m.Status.NodeRef.Name = node
	return m
}

// observed is an etcd cluster with one member per name (IDs in name order),
// healthy where the value is "", else unhealthy for that reason.
func observed(health map[string]string) *etcdObservation {
	names := make([]string, 0, len(health))
	for n := range health {
		names = append(names, n)
	}
	slices.Sort(names)
	obs := &etcdObservation{health: map[uint64]string{}}
	for i, n := range names {
		id := uint64(i + 1)
		obs.members = append(obs.members, etcd.Member{ID: id, Name: n, ClientURLs: []string{"https://" + n + ":2379"}})
		obs.health[id] = health[n]
	}
	return obs
}
