package conditions

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// fakeClock makes now return start, and returns a function that moves it on.
func fakeClock(t *testing.T, start time.Time) (step func(time.Duration)) {
	t.Helper()
	current := start
	saved := now
	now = func() time.Time { return current }
	t.Cleanup(func() { now = saved })
	return func(d time.Duration) { current = current.Add(d) }
}

func TestSetKeepsTransitionTimeWhileStatusHolds(t *testing.T) {
	g := NewWithT(t)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	step := fakeClock(t, start)
	var conds []metav1.Condition
	Set(&conds, 1, False("Ready", "Waiting", ""))
	g.Expect(conds[0].LastTransitionTime.Time).To(Equal(start))
	g.Expect(conds[0].Message).To(Equal("Waiting"))

	step(time.Minute)
	Set(&conds, 2, False("Ready", "StillWaiting", "still"))
	g.Expect(conds[0].LastTransitionTime.Time).To(Equal(start), "same status, same transition time")
	g.Expect(conds[0].ObservedGeneration).To(BeEquivalentTo(2))
	g.Expect(conds[0].Reason).To(Equal("StillWaiting"))

	step(time.Minute)
	Set(&conds, 2, True("Ready", "Ready", ""))
	g.Expect(conds[0].LastTransitionTime.Time).To(Equal(start.Add(2*time.Minute)), "a new status moves the transition time")
	g.Expect(IsTrue(conds, "Ready")).To(BeTrue())
}

func TestMirror(t *testing.T) {
	cases := []struct {
		name string
		obj  *unstructured.Unstructured
		want metav1.Condition
	}{
		{"nil object", nil, metav1.Condition{Type: "InfrastructureReady", Status: metav1.ConditionUnknown, Reason: "NotFound", Message: "missing"}},
		{"no condition", &unstructured.Unstructured{Object: map[string]any{}},
			metav1.Condition{Type: "InfrastructureReady", Status: metav1.ConditionUnknown, Reason: "NotFound", Message: "missing"}},
		{"copied", &unstructured.Unstructured{Object: map[string]any{"status": map[string]any{"conditions": []any{
			map[string]any{"type": "Ready", "status": "False", "reason": "PodPending", "message": "pod pending", "lastTransitionTime": "2026-01-01T00:00:00Z"}}}}},
			metav1.Condition{Type: "InfrastructureReady", Status: metav1.ConditionFalse, Reason: "PodPending", Message: "pod pending"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(Mirror(tc.obj, "Ready", "InfrastructureReady", "NotFound", "missing")).To(Equal(tc.want))
		})
	}
}
