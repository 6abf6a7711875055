package mdutil

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

func TestSurgeAndUnavailable(t *testing.T) {
	cases := []struct {
		name                string
		replicas            int32
		surge, unavail      *intstr.IntOrString
		wantSurge, wantUnav int32
	}{
		{"defaults", 5, nil, nil, 1, 0},
		{"numbers", 5, ptr(intstr.FromInt(2)), ptr(intstr.FromInt(1)), 2, 1},
		{"percent rounds surge up and unavailable down", 10, ptr(intstr.FromString("25%")), ptr(intstr.FromString("25%")), 3, 2},
		{"both zero means surge one", 3, ptr(intstr.FromInt(0)), ptr(intstr.FromInt(0)), 1, 0},
		{"unavailable capped at replicas", 2, nil, ptr(intstr.FromInt(5)), 1, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			md := &clusterv1.MachineDeployment{Spec: clusterv1.MachineDeploymentSpec{Replicas: &tc.replicas,
				Rollout: clusterv1.MachineDeploymentRolloutSpec{Strategy: clusterv1.MachineDeploymentRolloutStrategy{
					RollingUpdate: clusterv1.MachineDeploymentRolloutStrategyRollingUpdate{MaxSurge: tc.surge, MaxUnavailable: tc.unavail}}}}}
			s, u, err := SurgeAndUnavailable(md)
			g := NewWithT(t)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(s).To(Equal(tc.wantSurge))
			g.Expect(u).To(Equal(tc.wantUnav))
		})
	}
}

func TestTemplateHash(t *testing.T) {
	g := NewWithT(t)
	md := &clusterv1.MachineDeployment{Spec: clusterv1.MachineDeploymentSpec{Template: clusterv1.MachineTemplateSpec{
		ObjectMeta: clusterv1.ObjectMeta{Labels: map[string]string{"a": "b"}},
		Spec:       clusterv1.MachineSpec{ClusterName: "c", Version: "v1.37.2"}}}}
	now := time.Now()
	h := TemplateHash(md, now)
	g.Expect(TemplateHash(md, now)).To(Equal(h), "stable")

	// Fields propagated in place are no new revision.
	inPlace := []func(*clusterv1.MachineTemplateSpec){
		func(t *clusterv1.MachineTemplateSpec) {
			t.ObjectMeta.Labels[clusterv1.MachineDeploymentUniqueLabel] = "x"
		},
		func(t *clusterv1.MachineTemplateSpec) { t.ObjectMeta.Labels["new"] = "label" },
		func(t *clusterv1.MachineTemplateSpec) { t.ObjectMeta.Annotations = map[string]string{"an": "notation"} },
		func(t *clusterv1.MachineTemplateSpec) { t.Spec.Deletion.NodeDrainTimeoutSeconds = ptr(int32(60)) },
		func(t *clusterv1.MachineTemplateSpec) {
			t.Spec.Deletion.NodeVolumeDetachTimeoutSeconds = ptr(int32(60))
		},
		func(t *clusterv1.MachineTemplateSpec) { t.Spec.Deletion.NodeDeletionTimeoutSeconds = ptr(int32(60)) },
	}
	for i, mutate := range inPlace {
		changed := md.DeepCopy()
		mutate(&changed.Spec.Template)
		g.Expect(TemplateHash(changed, now)).To(Equal(h), "in-place change %d", i)
	}
	// Everything else is.
	rollout := []func(*clusterv1.MachineTemplateSpec){
		func(t *clusterv1.MachineTemplateSpec) { t.Spec.Version = "v1.37.3" },
		func(t *clusterv1.MachineTemplateSpec) { t.Spec.InfrastructureRef.Name = "other" },
		func(t *clusterv1.MachineTemplateSpec) { t.Spec.FailureDomain = "fd" },
		func(t *clusterv1.MachineTemplateSpec) { t.Spec.MinReadySeconds = ptr(int32(5)) },
	}
	for i, mutate := range rollout {
		changed := md.DeepCopy()
		mutate(&changed.Spec.Template)
		g.Expect(TemplateHash(changed, now)).NotTo(Equal(h), "rollout change %d", i)
	}

	after := md.DeepCopy()
	after.Spec.Rollout.After = metav1.NewTime(now.Add(time.Hour))
	g.Expect(TemplateHash(after, now)).To(Equal(h), "rollout.after in the future changes nothing yet")
	g.Expect(TemplateHash(after, now.Add(2*time.Hour))).NotTo(Equal(h), "once passed it starts a rollout")
}

func ptr[T any](v T) *T { return &v }
