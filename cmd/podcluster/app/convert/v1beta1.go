package convert

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	ctrlconversion "sigs.k8s.io/controller-runtime/pkg/conversion"

	bootstrapv1beta1 "github.com/podcluster/podcluster/api/bootstrap/v1beta1"
	clusterv1beta1 "github.com/podcluster/podcluster/api/core/v1beta1"
	"github.com/podcluster/podcluster/internal/conversion"
	"github.com/podcluster/podcluster/internal/scheme"
	"github.com/podcluster/podcluster/internal/webhook"
)

// fromV1beta1 converts the cluster.x-k8s.io and bootstrap.cluster.x-k8s.io
// v1beta1 objects in objs to v1beta2 with the conversion the API server's
// webhook uses, and leaves every other object as it is. Fields v1beta2 has no
// place for are named in the warnings and left out: the output is meant to be
// applied as v1beta2, not converted back.
func fromV1beta1(objs []*unstructured.Unstructured) (out []*unstructured.Unstructured, warnings []string, err error) {
	s := webhook.Scheme(scheme.New())
	for _, obj := range objs {
		if obj.IsList() {
			var items []*unstructured.Unstructured
			if err := obj.EachListItem(func(o runtime.Object) error {
				items = append(items, o.(*unstructured.Unstructured))
				return nil
			}); err != nil {
				return nil, nil, err
			}
			converted, w, err := fromV1beta1(items)
			if err != nil {
				return nil, nil, err
			}
			out, warnings = append(out, converted...), append(warnings, w...)
			continue
		}
		gv := obj.GroupVersionKind().GroupVersion()
		if gv != clusterv1beta1.GroupVersion && gv != bootstrapv1beta1.GroupVersion {
			out = append(out, obj)
			continue
		}
		converted, w, err := toHub(s, obj)
		if err != nil {
			return nil, nil, fmt.Errorf("converting %s %s: %w", obj.GetKind(), obj.GetName(), err)
		}
		out, warnings = append(out, converted), append(warnings, w...)
	}
	return out, warnings, nil
}

func toHub(s *runtime.Scheme, obj *unstructured.Unstructured) (*unstructured.Unstructured, []string, error) {
	typed, err := s.New(obj.GroupVersionKind())
	if err != nil {
		// Not served (ClusterClass, ...): the v1alpha2 converter passes it
		// through with a warning.
		return obj, nil, nil
	}
	spoke, ok := typed.(ctrlconversion.Convertible)
	if !ok {
		return nil, nil, fmt.Errorf("%T does not convert", typed)
	}
	raw, err := json.Marshal(obj.Object)
	if err != nil {
		return nil, nil, err
	}
	if err := json.Unmarshal(raw, spoke); err != nil {
		return nil, nil, err
	}
	hubGVK := obj.GroupVersionKind()
	hubGVK.Version = "v1beta2"
	h, err := s.New(hubGVK)
	if err != nil {
		return nil, nil, err
	}
	hub, ok := h.(ctrlconversion.Hub)
	if !ok {
		return nil, nil, fmt.Errorf("%T is not a conversion hub", h)
	}
	if err := spoke.ConvertTo(hub); err != nil {
		return nil, nil, err
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(hub)
	if err != nil {
		return nil, nil, err
	}
	u := &unstructured.Unstructured{Object: m}
	lost, err := conversion.LostFields(u.GetAnnotations())
	if err != nil {
		return nil, nil, err
	}
	var warnings []string
	for _, l := range lost {
		if isNotLost(l) {
			continue
		}
		warnings = append(warnings, fmt.Sprintf("%s %s: %s: dropped: no v1beta2 equivalent", obj.GetKind(), obj.GetName(), l.Path))
	}
	ann := u.GetAnnotations()
	delete(ann, conversion.DataAnnotation)
	if len(ann) == 0 {
		ann = nil
	}
	u.SetAnnotations(ann)
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	return u, warnings, nil
}

// isNotLost tells the fields v1beta2 keeps in another form: a reference's
// version (v1beta2 references name the group; the version follows from the
// provider's contract) and durations written another way ("10m" is 600s).
func isNotLost(l conversion.Lost) bool {
	return strings.HasSuffix(l.Path, ".apiVersion") || sameDurations(l.Value, l.Plain)
}

// sameDurations compares two JSON values, taking strings that are equal
// durations as equal.
func sameDurations(a, b any) bool {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		if !ok {
			return false
		}
		if x == y {
			return true
		}
		dx, err1 := time.ParseDuration(x)
		dy, err2 := time.ParseDuration(y)
		return err1 == nil && err2 == nil && dx == dy
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameDurations(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if w, ok := y[k]; !ok || !sameDurations(v, w) {
				return false
			}
		}
		return true
	default:
		return reflect.DeepEqual(a, b)
	}
}
