package integration

import (
	"context"
	"runtime"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
)

// TestMachineTemplateCapacity: a template reports the capacity of its Nodes
// (limits first, requests otherwise, and the kubelet's Pod count) and their
// operating system and architecture, for scale-from-zero.
func TestMachineTemplateCapacity(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	tmpl := &infrav1.KubernetesMachineTemplate{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "workers"},
		Spec: infrav1.KubernetesMachineTemplateSpec{Template: infrav1.KubernetesMachineTemplateResource{
			Spec: infrav1.KubernetesMachineSpec{Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")},
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
			}},
		}},
	}
	g.Expect(env.Client.Create(ctx, tmpl)).To(Succeed())
	g.Eventually(func(g Gomega) {
		got := &infrav1.KubernetesMachineTemplate{}
		g.Expect(env.Client.Get(ctx, keyOf(tmpl), got)).To(Succeed())
		g.Expect(got.Status.Capacity).To(HaveLen(3))
		g.Expect(got.Status.Capacity.Cpu().String()).To(Equal("2"))
		g.Expect(got.Status.Capacity.Memory().String()).To(Equal("1Gi"))
		g.Expect(got.Status.Capacity.Pods().String()).To(Equal("110"))
		g.Expect(got.Status.NodeInfo).To(HaveValue(Equal(infrav1.NodeInfo{OperatingSystem: "linux", Architecture: runtime.GOARCH})))
	}, timeout, interval).Should(Succeed())
}
