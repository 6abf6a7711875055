package kubeadmcontrolplane

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"

	controlplanev1 "github.com/podcluster/podcluster/api/controlplane/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

func TestOutdated(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	kcp := func() *controlplanev1.KubeadmControlPlane {
		k := &controlplanev1.KubeadmControlPlane{}
		k.Spec.Version = "v1.37.2"
		k.Spec.MachineTemplate.Spec.InfrastructureRef = clusterv1.ContractVersionedObjectReference{
			APIGroup: "infrastructure.cluster.x-k8s.io", Kind: "KubernetesMachineTemplate", Name: "cp"}
		return k
	}
	machine := func(k *controlplanev1.KubeadmControlPlane) *clusterv1.Machine {
		m := &clusterv1.Machine{}
		m.Spec.Version = "v1.37.2"
		m.CreationTimestamp = metav1.NewTime(now.Add(-time.Hour))
		m.Annotations = map[string]string{KubeadmConfigHashAnnotation: kubeadmConfigHash(k)}
		return m
	}
	infra := func(name, groupKind string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetKind("KubernetesMachine")
		u.SetAnnotations(map[string]string{clusterv1.TemplateClonedFromNameAnnotation: name, clusterv1.TemplateClonedFromGroupKindAnnotation: groupKind})
		return u
	}
	current := infra("cp", "KubernetesMachineTemplate.infrastructure.cluster.x-k8s.io")
	tests := []struct {
		name   string
		modify func(*controlplanev1.KubeadmControlPlane, *clusterv1.Machine)
		infra  *unstructured.Unstructured
		want   string
	}{
		{name: "up to date", infra: current},
		{name: "infrastructure unknown", infra: nil},
		{name: "another version", infra: current, modify: func(k *controlplanev1.KubeadmControlPlane, _ *clusterv1.Machine) { k.Spec.Version = "v1.37.3" },
			want: "Version v1.37.2, v1.37.3 required"},
		{name: "another kubeadmConfigSpec", infra: current, modify: func(k *controlplanev1.KubeadmControlPlane, _ *clusterv1.Machine) {
			k.Spec.KubeadmConfigSpec.PreKubeadmCommands = []string{"true"}
		}, want: "KubeadmConfig is not up to date with spec.kubeadmConfigSpec"},
		{name: "no hash annotation: not judged by its config", infra: current, modify: func(k *controlplanev1.KubeadmControlPlane, m *clusterv1.Machine) {
			k.Spec.KubeadmConfigSpec.PreKubeadmCommands = []string{"true"}
			m.Annotations = nil
		}},
		{name: "another template name", infra: infra("cp-old", "KubernetesMachineTemplate.infrastructure.cluster.x-k8s.io"),
			want: "KubernetesMachine is not up to date with KubernetesMachineTemplate cp"},
		{name: "another template kind", infra: infra("cp", "DockerMachineTemplate.infrastructure.cluster.x-k8s.io"),
			want: "KubernetesMachine is not up to date with KubernetesMachineTemplate cp"},
		{name: "rollout.after passed", infra: current, modify: func(k *controlplanev1.KubeadmControlPlane, _ *clusterv1.Machine) {
			k.Spec.Rollout.After = metav1.NewTime(now.Add(-time.Minute))
		}, want: "created before spec.rollout.after 2026-12-03T11:59:00Z"},
		{name: "rollout.after to come", infra: current, modify: func(k *controlplanev1.KubeadmControlPlane, _ *clusterv1.Machine) {
			k.Spec.Rollout.After = metav1.NewTime(now.Add(time.Minute))
		}},
		{name: "created after rollout.after", infra: current, modify: func(k *controlplanev1.KubeadmControlPlane, m *clusterv1.Machine) {
			k.Spec.Rollout.After = metav1.NewTime(now.Add(-2 * time.Hour))
		}},
		{name: "two reasons", infra: current, modify: func(k *controlplanev1.KubeadmControlPlane, _ *clusterv1.Machine) {
			k.Spec.Version = "v1.38.0"
			k.Spec.Rollout.After = metav1.NewTime(now)
		}, want: "Version v1.37.2, v1.38.0 required; created before spec.rollout.after 2026-12-03T12:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := kcp()
			m := machine(k)
			if tt.modify != nil {
				tt.modify(k, m)
			}
			NewWithT(t).Expect(outdated(k, m, tt.infra, now)).To(Equal(tt.want))
		})
	}
}

func TestMaxSurge(t *testing.T) {
	g := NewWithT(t)
	k := &controlplanev1.KubeadmControlPlane{}
	three := int32(3)
	k.Spec.Replicas = &three
	g.Expect(maxSurge(k)).To(Equal(1), "default")
	for v, want := range map[string]int{"0": 0, "1": 1, "0%": 0, "10%": 1, "100%": 1} {
		s := intstr.Parse(v)
		k.Spec.Rollout.Strategy.RollingUpdate.MaxSurge = &s
		g.Expect(maxSurge(k)).To(Equal(want), v)
	}
}

func TestScaleDownBlocker(t *testing.T) {
	g := NewWithT(t)
	ready := func(name string, ok bool) *clusterv1.Machine {
		m := &clusterv1.Machine{}
		m.Name = name
		status := metav1.ConditionFalse
		if ok {
			status = metav1.ConditionTrue
		}
		m.Status.Conditions = []metav1.Condition{{Type: clusterv1.ReadyCondition, Status: status}}
		return m
	}
	a, b, c := ready("a", true), ready("b", true), ready("c", false)
	g.Expect(scaleDownBlocker([]*clusterv1.Machine{a, b, c}, c)).To(BeEmpty(), "the victim itself may be unready")
	g.Expect(scaleDownBlocker([]*clusterv1.Machine{a, b, c}, a)).To(Equal("waiting for Machines to be Ready before deleting a: c"))
}
