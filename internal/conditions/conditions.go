// Package conditions builds and reads metav1.Conditions the way every
// podcluster controller reports them.
package conditions

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/podcluster/podcluster/internal/contract"
)

// now stamps transition times. Tests replace it to move time on without
// sleeping.
var now = time.Now

// Set puts c into conds, stamped with the object's generation. The transition
// time only changes when the status does, so an unchanged condition produces
// no patch.
func Set(conds *[]metav1.Condition, generation int64, c metav1.Condition) {
	c.ObservedGeneration = generation
	if c.LastTransitionTime.IsZero() {
		// Used only when the status changes or the condition is new.
		c.LastTransitionTime = metav1.NewTime(now())
	}
	if c.Message == "" && c.Status != metav1.ConditionTrue {
		c.Message = c.Reason
	}
	meta.SetStatusCondition(conds, c)
}

// Delete removes the condition of that type, if any.
func Delete(conds *[]metav1.Condition, conditionType string) {
	meta.RemoveStatusCondition(conds, conditionType)
}

// True, False and Unknown make conditions.
func True(conditionType, reason, message string) metav1.Condition {
	return metav1.Condition{Type: conditionType, Status: metav1.ConditionTrue, Reason: reason, Message: message}
}

// False makes a condition whose status is False.
func False(conditionType, reason, message string) metav1.Condition {
	return metav1.Condition{Type: conditionType, Status: metav1.ConditionFalse, Reason: reason, Message: message}
}

// Unknown makes a condition whose status is Unknown.
func Unknown(conditionType, reason, message string) metav1.Condition {
	return metav1.Condition{Type: conditionType, Status: metav1.ConditionUnknown, Reason: reason, Message: message}
}

// IsTrue reports whether the condition of that type is True.
func IsTrue(conds []metav1.Condition, conditionType string) bool {
	return meta.IsStatusConditionTrue(conds, conditionType)
}

// Get returns the condition of that type, or nil.
func Get(conds []metav1.Condition, conditionType string) *metav1.Condition {
	return meta.FindStatusCondition(conds, conditionType)
}

// Mirror copies a provider object's condition (for example an InfraMachine's
// Ready) into a condition of ours (the Machine's InfrastructureReady). A
// missing object or condition gives Unknown with the given reason.
func Mirror(u *unstructured.Unstructured, from, to, missingReason, missingMessage string) metav1.Condition {
	if u != nil {
		if c, err := contract.Condition(u, from); err == nil && c != nil {
			return metav1.Condition{Type: to, Status: c.Status, Reason: c.Reason, Message: c.Message}
		}
	}
	return Unknown(to, missingReason, missingMessage)
}
