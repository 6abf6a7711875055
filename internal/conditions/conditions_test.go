package conditions

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestSetKeepsTransitionTimeWhileStatusHolds(t *testing.T) {
	g := NewWithT(t)
	var conds []metav1.Condition
	Set(&conds, 1, False("Ready", "Waiting", ""))
	first := conds[0].LastTransitionTime
	g.Expect(conds[0].Message).To(Equal("Waiting"))
	time.Sleep(1100 * time.Millisecond)
	Set(&conds, 2, False("Ready", "StillWaiting", "still"))
	g.Expect(conds[0].LastTransitionTime).To(Equal(first))
	g.Expect(conds[0].ObservedGeneration).To(BeEquivalentTo(2))
	Set(&conds, 2, True("Ready", "Ready", ""))
	g.Expect(conds[0].LastTransitionTime.After(first.Time)).To(BeTrue())
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
