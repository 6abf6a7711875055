// Package conditionstest checks conditions in the table tests of the status
// functions, the same way in every reconciler package.
package conditionstest

import (
	"github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podcluster/podcluster/internal/conditions"
)

// Want is the expected status and reason of one condition. An empty Status
// means the condition must be absent.
type Want struct {
	Status metav1.ConditionStatus
	Reason string
}

// Expect checks conds: each type in wants has that status and reason (or is
// absent), and each type in msgs has a message containing that text.
func Expect(g gomega.Gomega, conds []metav1.Condition, wants map[string]Want, msgs map[string]string) {
	for typ, w := range wants {
		got := conditions.Get(conds, typ)
		if w.Status == "" {
			g.Expect(got).To(gomega.BeNil(), "condition %s", typ)
			continue
		}
		g.Expect(got).NotTo(gomega.BeNil(), "condition %s", typ)
		g.Expect(got.Status).To(gomega.Equal(w.Status), "condition %s: %s", typ, got.Message)
		g.Expect(got.Reason).To(gomega.Equal(w.Reason), "condition %s: %s", typ, got.Message)
	}
	for typ, text := range msgs {
		got := conditions.Get(conds, typ)
		g.Expect(got).NotTo(gomega.BeNil(), "condition %s", typ)
		g.Expect(got.Message).To(gomega.ContainSubstring(text), "condition %s", typ)
	}
}
