package kubernetesmachinetemplate

import (
	"runtime"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
)

func TestCapacity(t *testing.T) {
	q := resource.MustParse
	tests := []struct {
		name string
		res  corev1.ResourceRequirements
		want corev1.ResourceList
	}{
		{
			name: "no resources: only pods",
			want: corev1.ResourceList{corev1.ResourcePods: q("110")},
		},
		{
			name: "limits",
			res:  corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: q("4"), corev1.ResourceMemory: q("8Gi")}},
			want: corev1.ResourceList{corev1.ResourceCPU: q("4"), corev1.ResourceMemory: q("8Gi"), corev1.ResourcePods: q("110")},
		},
		{
			name: "limits win over requests, requests fill in",
			res: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: q("1"), corev1.ResourceMemory: q("2Gi")},
				Limits:   corev1.ResourceList{corev1.ResourceCPU: q("2")},
			},
			want: corev1.ResourceList{corev1.ResourceCPU: q("2"), corev1.ResourceMemory: q("2Gi"), corev1.ResourcePods: q("110")},
		},
		{
			name: "other resources are not capacity",
			res:  corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceEphemeralStorage: q("10Gi")}},
			want: corev1.ResourceList{corev1.ResourcePods: q("110")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got := capacity(tt.res)
			g.Expect(got).To(HaveLen(len(tt.want)))
			for name, want := range tt.want {
				have, ok := got[name]
				g.Expect(ok).To(BeTrue(), "%s missing", name)
				g.Expect(have.Cmp(want)).To(BeZero(), "%s: got %s, want %s", name, have.String(), want.String())
			}
		})
	}
}

func TestNodeInfo(t *testing.T) {
	g := NewWithT(t)
	g.Expect(nodeInfo("amd64")).To(Equal(&infrav1.NodeInfo{OperatingSystem: "linux", Architecture: "amd64"}))
	g.Expect(nodeInfo("arm64")).To(Equal(&infrav1.NodeInfo{OperatingSystem: "linux", Architecture: "arm64"}))
	g.Expect(nodeInfo("riscv64")).To(Equal(&infrav1.NodeInfo{OperatingSystem: "linux"}))

	tmpl := &infrav1.KubernetesMachineTemplate{}
	setStatus(tmpl)
	g.Expect(tmpl.Status.NodeInfo.OperatingSystem).To(Equal("linux"))
	g.Expect(tmpl.Status.NodeInfo.Architecture).To(Equal(runtime.GOARCH))
	g.Expect(tmpl.Status.Capacity).To(HaveKey(corev1.ResourcePods))
}
