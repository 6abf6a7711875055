package machine

import (
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

func TestSyncTaints(t *testing.T) {
	always := func(key string, effect corev1.TaintEffect, value string) clusterv1.MachineTaint {
		return clusterv1.MachineTaint{Key: key, Value: value, Effect: effect, Propagation: clusterv1.MachineTaintPropagationAlways}
	}
	onInit := func(key string, effect corev1.TaintEffect) clusterv1.MachineTaint {
		return clusterv1.MachineTaint{Key: key, Effect: effect, Propagation: clusterv1.MachineTaintPropagationOnInitialization}
	}
	taint := func(key string, effect corev1.TaintEffect, value string) corev1.Taint {
		return corev1.Taint{Key: key, Value: value, Effect: effect}
	}
	const ns, ne = corev1.TaintEffectNoSchedule, corev1.TaintEffectNoExecute
	user := taint("user", ns, "")
	for _, tc := range []struct {
		name        string
		node        []corev1.Taint
		machine     []clusterv1.MachineTaint
		owned       string
		initialized bool
		want        []corev1.Taint
		wantOwned   string
	}{{
		name:      "first sync adds Always and OnInitialization taints, owns only Always",
		node:      []corev1.Taint{user},
		machine:   []clusterv1.MachineTaint{always("b", ns, "1"), onInit("c", ne), always("a", ne, "")},
		want:      []corev1.Taint{user, taint("b", ns, "1"), taint("c", ne, ""), taint("a", ne, "")},
		wantOwned: "a:NoExecute,b:NoSchedule",
	}, {
		name:    "no taints on the Machine: the annotation is there, empty",
		node:    []corev1.Taint{user},
		want:    []corev1.Taint{user},
		machine: nil,
	}, {
		name:        "later syncs put back a removed Always taint and its value, not an OnInitialization one",
		node:        []corev1.Taint{user, taint("b", ns, "changed")},
		machine:     []clusterv1.MachineTaint{always("a", ne, ""), always("b", ns, "1"), onInit("c", ne)},
		owned:       "a:NoExecute,b:NoSchedule",
		initialized: true,
		want:        []corev1.Taint{user, taint("b", ns, "1"), taint("a", ne, "")},
		wantOwned:   "a:NoExecute,b:NoSchedule",
	}, {
		name:        "an owned taint removed from the Machine is removed from the Node",
		node:        []corev1.Taint{taint("a", ne, ""), user, taint("b", ns, "1")},
		machine:     []clusterv1.MachineTaint{always("b", ns, "1")},
		owned:       "a:NoExecute,b:NoSchedule",
		initialized: true,
		want:        []corev1.Taint{user, taint("b", ns, "1")},
		wantOwned:   "b:NoSchedule",
	}, {
		name:        "only the owned effect of a key goes",
		node:        []corev1.Taint{taint("a", ne, ""), taint("a", ns, "")},
		owned:       "a:NoExecute",
		initialized: true,
		want:        []corev1.Taint{taint("a", ns, "")},
	}, {
		name:        "Always turned OnInitialization stays on the Node, no longer owned",
		node:        []corev1.Taint{taint("a", ne, "")},
		machine:     []clusterv1.MachineTaint{onInit("a", ne)},
		owned:       "a:NoExecute",
		initialized: true,
		want:        []corev1.Taint{taint("a", ne, "")},
	}, {
		name:        "an OnInitialization taint removed from the Machine stays on the Node",
		node:        []corev1.Taint{taint("c", ne, "")},
		initialized: true,
		want:        []corev1.Taint{taint("c", ne, "")},
	}, {
		name:        "a taint others put on the Node is never removed",
		node:        []corev1.Taint{user},
		owned:       "a:NoExecute",
		initialized: true,
		want:        []corev1.Taint{user},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			before := append([]corev1.Taint(nil), tc.node...)
			got, owned := syncTaints(tc.node, tc.machine, tc.owned, tc.initialized)
			g.Expect(got).To(Equal(tc.want))
			g.Expect(owned).To(Equal(tc.wantOwned))
			g.Expect(tc.node).To(Equal(before), "the Node's taints are not changed in place")
		})
	}
}
