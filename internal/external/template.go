package external

import (
	"fmt"
	"maps"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// Instance describes an object made from a provider template: a Machine's
// infrastructure or bootstrap clone, or a MachineHealthCheck's remediation
// request.
type Instance struct {
	// Name and Namespace of the new object.
	Name, Namespace string
	// Labels are added to the template's spec.template.metadata.labels and win
	// over them.
	Labels map[string]string
	// Owner becomes the object's only owner reference.
	Owner metav1.OwnerReference
}

// FromTemplate builds the object a template describes, following the
// template contract: the kind is the template's kind without its "Template"
// suffix, in the same group and version; the spec is spec.template.spec; the
// labels and annotations are spec.template.metadata's. The cloned-from
// annotations record the template, as upstream does, for tools that compare
// an object with its template. Pure: nothing is read or written.
func FromTemplate(tmpl *unstructured.Unstructured, in Instance) (*unstructured.Unstructured, error) {
	spec, _, err := unstructured.NestedMap(tmpl.Object, "spec", "template", "spec")
	if err != nil {
		return nil, fmt.Errorf("%s %s: spec.template.spec: %w", tmpl.GetKind(), tmpl.GetName(), err)
	}
	// Malformed metadata is a provider's bug, not a reason to refuse the
	// object: it is left out, and the object is still made.
	labels, _, _ := unstructured.NestedStringMap(tmpl.Object, "spec", "template", "metadata", "labels")
	annotations, _, _ := unstructured.NestedStringMap(tmpl.Object, "spec", "template", "metadata", "annotations")

	// An empty template spec still gets a spec object: a provider's CRD may
	// require one, and an empty object costs nothing.
	if spec == nil {
		spec = map[string]any{}
	}
	obj := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	gvk := tmpl.GroupVersionKind()
	gvk.Kind = strings.TrimSuffix(gvk.Kind, "Template")
	obj.SetGroupVersionKind(gvk)
	obj.SetName(in.Name)
	obj.SetNamespace(in.Namespace)
	if labels == nil {
		labels = map[string]string{}
	}
	maps.Copy(labels, in.Labels)
	obj.SetLabels(labels)
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[clusterv1.TemplateClonedFromNameAnnotation] = tmpl.GetName()
	annotations[clusterv1.TemplateClonedFromGroupKindAnnotation] = tmpl.GroupVersionKind().GroupKind().String()
	obj.SetAnnotations(annotations)
	obj.SetOwnerReferences([]metav1.OwnerReference{in.Owner})
	return obj, nil
}
