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
	s := &Settler{Period: time.Second, Minor: []string{"addresses"}, HoldFirst: true}
	withAddresses := status("Provisioning", "Ready", "False", "Booting")
	withAddresses["status"].(map[string]any)["addresses"] = []any{"10.0.0.1"}
	withInit := status("Provisioning", "Ready", "False", "Booting")
	withInit["status"].(map[string]any)["initialization"] = map[string]any{"provisioned": true}
	otherGen := status("Provisioning", "Ready", "False", "Waiting")
	otherGen["status"].(map[string]any)["conditions"].([]any)[0].(map[string]any)["observedGeneration"] = int64(2)
	cases := []struct {
		name          string
		before, after map[string]any
		minor         bool
	}{
		{"a new reason", status("Provisioning", "Ready", "False", "Waiting"), status("Provisioning", "Ready", "False", "Booting"), true},
		{"False to Unknown", status("Provisioning", "Ready", "False", "Waiting"), status("Provisioning", "Ready", "Unknown", "Booting"), true},
		{"addresses arrive", status("Provisioning", "Ready", "False", "Waiting"), withAddresses, true},
		{"a first Pending status", status(""), status("Pending", "Ready", "False", "Waiting"), true},
		{"a first status without phase", status(""), status("", "Ready", "False", "Waiting"), true},
		{"a first Provisioning status", status(""), status("Provisioning", "Ready", "False", "Waiting"), true},
		{"a first status that is Ready", status(""), status("", "Ready", "True", "Ready"), false},
		{"a first Provisioning status that is Ready", status(""), status("Provisioning", "Ready", "True", "Ready"), false},
		{"a first status past Provisioning", status(""), status("Provisioned", "Ready", "False", "Waiting"), false},
		{"a first Running status", status(""), status("Running", "Ready", "False", "NodeNotReady"), false},
		{"a first Failed status", status(""), status("Failed", "Ready", "False", "Failed"), false},
		{"turns True", status("Provisioning", "Ready", "False", "Waiting"), status("Provisioning", "Ready", "True", "Ready"), false},
		{"stops being True", status("Running", "Ready", "True", "Ready"), status("Running", "Ready", "False", "Lost"), false},
		{"a new phase", status("Pending", "Ready", "False", "Waiting"), status("Provisioning", "Ready", "False", "Waiting"), false},
		{"a contract field", status("Provisioning", "Ready", "False", "Booting"), withInit, false},
		{"a new condition", status("Pending", "Ready", "False", "Waiting"), status("Pending", "Ready", "False", "Waiting", "Paused", "False", "NotPaused"), false},
		{"a condition goes", status("Pending", "Ready", "False", "Waiting", "Paused", "False", "NotPaused"), status("Pending", "Ready", "False", "Waiting"), false},
		{"a new generation observed", status("Provisioning", "Ready", "False", "Waiting"), otherGen, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(s.minor(tc.before["status"], tc.after["status"])).To(Equal(tc.minor))
			if _, hasConditions := tc.before["status"].(map[string]any)["conditions"]; !hasConditions {
				// Without HoldFirst every first status is major.
				g.Expect((&Settler{Minor: s.Minor}).minor(tc.before["status"], tc.after["status"])).To(BeFalse())
			}
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
