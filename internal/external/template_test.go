package external

import (
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

func TestFromTemplate(t *testing.T) {
	owner := metav1.OwnerReference{APIVersion: "cluster.x-k8s.io/v1beta2", Kind: "Machine", Name: "m", UID: "u"}
	tmpl := func(template map[string]any) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"template": template}}}
		u.SetAPIVersion("infrastructure.example.com/v1")
		u.SetKind("FooMachineTemplate")
		u.SetName("tmpl")
		return u
	}
	cases := []struct {
		name    string
		tmpl    *unstructured.Unstructured
		labels  map[string]string
		want    *unstructured.Unstructured
		wantErr string
	}{
		{
			name: "spec, labels and annotations from the template; given labels win",
			tmpl: tmpl(map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"a": "template", "b": "template"}, "annotations": map[string]any{"note": "x"}},
				"spec":     map[string]any{"size": "large", "nested": map[string]any{"n": int64(1)}},
			}),
			labels: map[string]string{"b": "machine"},
			want: &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "infrastructure.example.com/v1", "kind": "FooMachine",
				"metadata": map[string]any{
					"name": "m", "namespace": "ns",
					"labels": map[string]any{"a": "template", "b": "machine"},
					"annotations": map[string]any{
						"note": "x",
						clusterv1.TemplateClonedFromNameAnnotation:      "tmpl",
						clusterv1.TemplateClonedFromGroupKindAnnotation: "FooMachineTemplate.infrastructure.example.com",
					},
					"ownerReferences": []any{map[string]any{"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Machine", "name": "m", "uid": "u"}},
				},
				"spec": map[string]any{"size": "large", "nested": map[string]any{"n": int64(1)}},
			}},
		},
		{
			name: "an empty template still gives a spec",
			tmpl: tmpl(map[string]any{}),
			want: &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "infrastructure.example.com/v1", "kind": "FooMachine",
				"metadata": map[string]any{
					"name": "m", "namespace": "ns",
					"labels": map[string]any{},
					"annotations": map[string]any{
						clusterv1.TemplateClonedFromNameAnnotation:      "tmpl",
						clusterv1.TemplateClonedFromGroupKindAnnotation: "FooMachineTemplate.infrastructure.example.com",
					},
					"ownerReferences": []any{map[string]any{"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Machine", "name": "m", "uid": "u"}},
				},
				"spec": map[string]any{},
			}},
		},
		{
			name:    "a spec that is not an object",
			tmpl:    tmpl(map[string]any{"spec": "large"}),
			wantErr: "spec.template.spec",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := FromTemplate(tc.tmpl, Instance{Name: "m", Namespace: "ns", Labels: tc.labels, Owner: owner})
			if tc.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tc.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got.Object).To(Equal(tc.want.Object))
		})
	}
}
