package drain

import (
	"errors"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestEvictable(t *testing.T) {
	yes := true
	cases := []struct {
		name string
		pod  corev1.Pod
		want bool
	}{
		{"running Pod", corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodRunning}}, true},
		{"pending Pod", corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodPending}}, true},
		{"mirror Pod", corev1.Pod{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{corev1.MirrorPodAnnotationKey: "x"}}}, false},
		{"DaemonSet Pod", corev1.Pod{ObjectMeta: metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{{Kind: "DaemonSet", Name: "ds", Controller: &yes}}}}, false},
		{"ReplicaSet Pod", corev1.Pod{ObjectMeta: metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "rs", Controller: &yes}}}}, true},
		{"succeeded Pod", corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodSucceeded}}, false},
		{"failed Pod", corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodFailed}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(Evictable(&tc.pod)).To(Equal(tc.want))
		})
	}
}

func TestResultDone(t *testing.T) {
	g := NewWithT(t)
	g.Expect(Result{}.Done()).To(BeTrue())
	g.Expect(Result{NodeGone: true, Pending: []string{"a/b"}}.Done()).To(BeTrue())
	g.Expect(Result{Pending: []string{"a/b"}}.Done()).To(BeFalse())
}

func TestAPIMessage(t *testing.T) {
	g := NewWithT(t)
	err := apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 0)
	g.Expect(apiMessage(err)).To(Equal("Cannot evict pod as it would violate the pod's disruption budget."))
	g.Expect(apiMessage(apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, "p"))).To(ContainSubstring(`"p" not found`))
	g.Expect(apiMessage(errors.New("plain"))).To(Equal("plain"))
}
