package patch

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/types"
)

// status builds {"status": ...} with a phase and conditions given as
// type, status, reason triples.
func status(phase string, conds ...string) map[string]any {
	st := map[string]any{}
	if phase != "" {
		st["phase"] = phase
	}
	var list []any
	for i := 0; i+2 < len(conds); i += 3 {
		list = append(list, map[string]any{"type": conds[i], "status": conds[i+1], "reason": conds[i+2], "message": conds[i+2] + " message",
			"observedGeneration": int64(1)})
	}
	if list != nil {
		st["conditions"] = list
	}
	return map[string]any{"status": st}
}

func TestSettlerMinor(t *testing.T) {
	s := &Settler{Period: time.Second, Minor: []string{"addresses"}, HoldOnItsWay: true}
	withAddresses := status("Provisioning", "Ready", "False", "Booting")
	withAddresses["status"].(map[string]any)["addresses"] = []any{"10.0.0.1"}
	withInit := status("Provisioning", "Ready", "False", "Booting")
	withInit["status"].(map[string]any)["initialization"] = map[string]any{"provisioned": true}
	otherGen := status("Provisioning", "Ready", "False", "Waiting")
	otherGen["status"].(map[string]any)["conditions"].([]any)[0].(map[string]any)["observedGeneration"] = int64(2)
	pausedOnTheWay := status("Provisioning", "Ready", "False", "Waiting", "Paused", "True", "Paused")
	deleting := status("Provisioning", "Ready", "False", "Waiting", "Deleting", "True", "Deleting")
	// minor is the verdict of a plain Settler, onItsWay that of one with
	// HoldOnItsWay.
	cases := []struct {
		name            string
		before, after   map[string]any
		minor, onItsWay bool
	}{
		{"a new reason", status("Provisioning", "Ready", "False", "Waiting"), status("Provisioning", "Ready", "False", "Booting"), true, true},
		{"False to Unknown", status("Provisioning", "Ready", "False", "Waiting"), status("Provisioning", "Ready", "Unknown", "Booting"), true, true},
		{"addresses arrive", status("Provisioning", "Ready", "False", "Waiting"), withAddresses, true, true},
		{"a first Pending status", status(""), status("Pending", "Ready", "False", "Waiting"), false, true},
		{"a first status without phase", status(""), status("", "Ready", "False", "Waiting"), false, true},
		{"a first Provisioning status", status(""), status("Provisioning", "Ready", "False", "Waiting"), false, true},
		{"a first Provisioned status", status(""), status("Provisioned", "Ready", "False", "Waiting"), false, true},
		{"a first status that is Ready", status(""), status("", "Ready", "True", "Ready"), false, false},
		{"a first Provisioning status that is Ready", status(""), status("Provisioning", "Ready", "True", "Ready"), false, false},
		{"a first Running status", status(""), status("Running", "Ready", "False", "NodeNotReady"), false, false},
		{"a first Failed status", status(""), status("Failed", "Ready", "False", "Failed"), false, false},
		{"turns True", status("Provisioning", "Ready", "False", "Waiting"), status("Provisioning", "Ready", "True", "Ready"), false, false},
		{"stops being True", status("Running", "Ready", "True", "Ready"), status("Running", "Ready", "False", "Lost"), false, false},
		{"a new phase on the way", status("Pending", "Ready", "False", "Waiting"), status("Provisioning", "Ready", "False", "Waiting"), false, true},
		{"provisioned, no Node yet", status("Provisioning", "Ready", "False", "Waiting"), status("Provisioned", "Ready", "False", "Waiting"), false, true},
		{"arrives Running", status("Provisioned", "Ready", "False", "Waiting"), status("Running", "Ready", "False", "NodeNotReady"), false, false},
		{"fails on the way", status("Provisioning", "Ready", "False", "Waiting"), status("Failed", "Ready", "False", "Failed"), false, false},
		{"deleted on the way", status("Provisioning", "Ready", "False", "Waiting"), status("Deleting", "Ready", "False", "Deleting"), false, false},
		{"back on the way after Running", status("Running", "Ready", "False", "NodeNotReady"), status("Provisioned", "Ready", "False", "Waiting"), false, false},
		{"a contract field", status("Provisioning", "Ready", "False", "Booting"), withInit, false, true},
		{"a new condition", status("Pending", "Ready", "False", "Waiting"), status("Pending", "Ready", "False", "Waiting", "Paused", "False", "NotPaused"), false, true},
		{"a condition goes", status("Pending", "Ready", "False", "Waiting", "Paused", "False", "NotPaused"), status("Pending", "Ready", "False", "Waiting"), false, true},
		{"a new generation observed", status("Provisioning", "Ready", "False", "Waiting"), otherGen, false, true},
		{"paused on the way", status("Provisioning", "Ready", "False", "Waiting", "Paused", "False", "NotPaused"), pausedOnTheWay, false, false},
		{"unpaused on the way", pausedOnTheWay, status("Provisioning", "Ready", "False", "Waiting", "Paused", "False", "NotPaused"), false, false},
		{"a first status that is paused", status(""), pausedOnTheWay, false, false},
		{"deleting on the way", status("Provisioning", "Ready", "False", "Waiting"), deleting, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect((&Settler{Minor: s.Minor}).minor(tc.before["status"], tc.after["status"])).To(Equal(tc.minor), "plain")
			g.Expect(s.minor(tc.before["status"], tc.after["status"])).To(Equal(tc.onItsWay), "with HoldOnItsWay")
		})
	}
}

func TestSettlerHoldsAMinorChangeForItsPeriod(t *testing.T) {
	g := NewWithT(t)
	now := time.Unix(1000, 0)
	s := &Settler{Period: 5 * time.Second, now: func() time.Time { return now }}
	uid := types.UID("u")
	waiting, booting, ready := status("Provisioning", "Ready", "False", "Waiting"), status("Provisioning", "Ready", "False", "Booting"),
		status("Provisioning", "Ready", "True", "Ready")

	// Held from the first time it is seen, not from each new step.
	g.Expect(s.hold(uid, waiting, booting)).To(Equal(5 * time.Second))
	now = now.Add(3 * time.Second)
	g.Expect(s.hold(uid, waiting, status("Provisioning", "Ready", "Unknown", "Checking"))).To(Equal(2 * time.Second))
	// Lasted the period: sent, and the next minor step is held afresh.
	now = now.Add(2 * time.Second)
	g.Expect(s.hold(uid, waiting, booting)).To(BeZero())
	g.Expect(s.hold(uid, booting, waiting)).To(Equal(5 * time.Second))
	// A major change goes at once and forgets what was held.
	g.Expect(s.hold(uid, booting, ready)).To(BeZero())
	g.Expect(s.since).NotTo(HaveKey(uid))
	// So does a reconcile with nothing left to send (see Helper.Patch).
	g.Expect(s.hold(uid, booting, waiting)).To(Equal(5 * time.Second))
	s.release(uid)
	g.Expect(s.since).NotTo(HaveKey(uid))
}

func TestSettlerMaxHoldWaitsForQuiet(t *testing.T) {
	g := NewWithT(t)
	now := time.Unix(1000, 0)
	s := &Settler{Period: 5 * time.Second, MaxHold: 12 * time.Second, now: func() time.Time { return now }}
	uid := types.UID("u")
	waiting, booting, checking := status("Provisioning", "Ready", "False", "Waiting"), status("Provisioning", "Ready", "False", "Booting"),
		status("Provisioning", "Ready", "Unknown", "Checking")

	g.Expect(s.hold(uid, waiting, booting)).To(Equal(5 * time.Second))
	// Seen again unchanged: the quiet time runs from the step, not the look.
	// A condition never written gets a new transition time at each look:
	// that is no step either.
	now = now.Add(3 * time.Second)
	again := status("Provisioning", "Ready", "False", "Booting")
	again["status"].(map[string]any)["conditions"].([]any)[0].(map[string]any)["lastTransitionTime"] = "2026-12-04T13:52:41Z"
	g.Expect(s.hold(uid, waiting, again)).To(Equal(2 * time.Second))
	// A new step within the quiet time starts it again.
	now = now.Add(time.Second)
	g.Expect(s.hold(uid, waiting, checking)).To(Equal(5 * time.Second))
	now = now.Add(4 * time.Second)
	g.Expect(s.hold(uid, waiting, booting)).To(Equal(4*time.Second), "bounded by MaxHold: first held 8s ago")
	// Steps that keep coming are written once MaxHold has passed.
	now = now.Add(4 * time.Second)
	g.Expect(s.hold(uid, waiting, checking)).To(BeZero())
	g.Expect(s.since).NotTo(HaveKey(uid))
	// A step that stays is written after Period of quiet.
	g.Expect(s.hold(uid, checking, booting)).To(Equal(5 * time.Second))
	now = now.Add(5 * time.Second)
	g.Expect(s.hold(uid, checking, booting)).To(BeZero())
}

func TestSettlerMinorRises(t *testing.T) {
	s := &Settler{MinorRises: []string{"readyReplicas", "deprecated"}}
	counters := func(ready int64, v1beta1Ready any, extra ...string) map[string]any {
		st := status("", "Ready", "False", "NotReady")
		m := st["status"].(map[string]any)
		if ready >= 0 {
			m["readyReplicas"] = ready
		}
		if v1beta1Ready != nil {
			m["deprecated"] = map[string]any{"v1beta1": map[string]any{"readyReplicas": v1beta1Ready}}
		}
		for _, k := range extra {
			m[k] = "x"
		}
		return st
	}
	cases := []struct {
		name          string
		before, after map[string]any
		minor         bool
	}{
		{"a rise", counters(1, int64(1)), counters(2, int64(2)), true},
		{"a first value", counters(-1, nil), counters(2, int64(2)), true},
		{"unchanged", counters(2, int64(2)), counters(2, int64(2)), true},
		{"a fall", counters(2, int64(2)), counters(1, int64(2)), false},
		{"a nested fall", counters(2, int64(2)), counters(2, int64(1)), false},
		{"a counter goes", counters(2, int64(2)), counters(-1, int64(2)), false},
		{"a nested counter goes", counters(2, int64(2)), counters(2, nil), false},
		{"a rise with another field", counters(1, int64(1)), counters(2, int64(2), "selector"), false},
		{"not a number", counters(1, int64(1)), counters(2, "two"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(s.minor(tc.before["status"], tc.after["status"])).To(Equal(tc.minor))
		})
	}
}
