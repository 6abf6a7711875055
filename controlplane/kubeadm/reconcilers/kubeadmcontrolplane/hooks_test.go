package kubeadmcontrolplane

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	controlplanev1 "github.com/podcluster/podcluster/api/controlplane/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// TestNextPreTerminateHook: the oldest Machine being deleted that reached
// the hook goes next; its member goes first unless the whole control plane
// goes or no Machine stays.
func TestNextPreTerminateHook(t *testing.T) {
	hooked := func(m *clusterv1.Machine) *clusterv1.Machine {
		m.Annotations = map[string]string{controlplanev1.PreTerminateHookCleanupAnnotation: ""}
		return m
	}
	atHook := func(m *clusterv1.Machine) *clusterv1.Machine {
		m.Status.Deletion = &clusterv1.MachineDeletionStatus{WaitForPreTerminateHookStartTime: metav1.NewTime(time.Unix(60, 0))}
		return m
	}
	deletedKCP := kcp(3, true)
	deletedKCP.DeletionTimestamp = &metav1.Time{Time: time.Unix(0, 0)}
	cases := []struct {
		name     string
		kcp      *controlplanev1.KubeadmControlPlane
		machines []*clusterv1.Machine
		want     string
		forget   bool
	}{
		{name: "nothing deleted", kcp: kcp(3, true), machines: []*clusterv1.Machine{hooked(machine("a", 0)), hooked(machine("b", 1))}},
		{name: "deleted, still draining", kcp: kcp(3, true), machines: []*clusterv1.Machine{deleting(hooked(machine("a", 0))), hooked(machine("b", 1))}},
		{name: "deleted by hand, at the hook: its member goes", kcp: kcp(3, true),
			machines: []*clusterv1.Machine{hooked(machine("a", 0)), atHook(deleting(hooked(machine("b", 1)))), hooked(machine("c", 2))}, want: "b", forget: true},
		{name: "two at the hook: the oldest", kcp: kcp(3, true),
			machines: []*clusterv1.Machine{atHook(deleting(hooked(machine("a", 0)))), atHook(deleting(hooked(machine("b", 1)))), hooked(machine("c", 2))}, want: "a", forget: true},
		{name: "hook gone already", kcp: kcp(3, true), machines: []*clusterv1.Machine{atHook(deleting(machine("a", 0))), hooked(machine("b", 1))}},
		{name: "the control plane goes: no etcd", kcp: deletedKCP,
			machines: []*clusterv1.Machine{atHook(deleting(hooked(machine("a", 0)))), deleting(hooked(machine("b", 1)))}, want: "a"},
		{name: "the last Machine: no etcd", kcp: kcp(1, true), machines: []*clusterv1.Machine{atHook(deleting(hooked(machine("a", 0))))}, want: "a"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			m, forget := nextPreTerminateHook(tc.kcp, tc.machines)
			if tc.want == "" {
				g.Expect(m).To(BeNil())
				return
			}
			g.Expect(m).NotTo(BeNil())
			g.Expect(m.Name).To(Equal(tc.want))
			g.Expect(forget).To(Equal(tc.forget))
		})
	}
}
