// Package roundtrip tests that a spoke version converts to its hub and back
// without losing anything, on objects filled with random data.
package roundtrip

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/conversion"
	"sigs.k8s.io/randfill"
)

// Iterations is how many random objects each direction is tested with.
const Iterations = 100

// Filler fills API objects with random data that survives JSON, as an API
// server would hold it: times in whole seconds, valid int-or-strings, only the
// metadata a client sets.
func Filler(seed int64, funcs ...any) *randfill.Filler {
	return randfill.NewWithSeed(seed).NilChance(0.2).NumElements(0, 3).Funcs(funcs...).Funcs(
		func(m *metav1.ObjectMeta, c randfill.Continue) {
			m.Name = c.String(10)
			m.Namespace = c.String(10)
			c.Fill(&m.Labels)
			c.Fill(&m.Annotations)
		},
		func(m *metav1.TypeMeta, _ randfill.Continue) {},
		func(t *metav1.Time, c randfill.Continue) {
			*t = metav1.NewTime(time.Unix(c.Int63n(4_000_000_000), 0).UTC())
		},
		func(d *metav1.Duration, c randfill.Continue) {
			d.Duration = time.Duration(c.Int63n(1_000_000)) * time.Duration([]int64{1, int64(time.Millisecond), int64(time.Second)}[c.Intn(3)])
		},
		func(v *intstr.IntOrString, c randfill.Continue) {
			if c.Bool() {
				*v = intstr.FromInt32(c.Int31())
			} else {
				*v = intstr.FromString(c.String(5))
			}
		},
		func(q *resource.Quantity, c randfill.Continue) {
			*q = *resource.NewQuantity(c.Int63n(1000), resource.DecimalSI)
		},
	)
}

// Test converts random spokes to the hub and back, and random hubs to the
// spoke and back, and fails when a result differs from what it started from.
// funcs are extra filler functions, for the spoke's own types.
func Test(t *testing.T, spoke conversion.Convertible, hub conversion.Hub, spokeGVK, hubGVK schema.GroupVersionKind, funcs ...any) {
	t.Helper()
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	f := Filler(seed, funcs...)
	for i := 0; i < Iterations; i++ {
		// spoke -> hub -> spoke
		s := newOf(spoke)
		f.Fill(s)
		s.GetObjectKind().SetGroupVersionKind(spokeGVK)
		s = viaJSON(t, s)
		h := newOf(hub)
		if err := s.ConvertTo(h); err != nil {
			t.Fatalf("converting %s to the hub: %v", spokeGVK.Kind, err)
		}
		s2 := newOf(spoke)
		if err := s2.ConvertFrom(h); err != nil {
			t.Fatalf("converting %s from the hub: %v", spokeGVK.Kind, err)
		}
		same(t, "spoke -> hub -> spoke", s, s2)

		// hub -> spoke -> hub
		h = newOf(hub)
		f.Fill(h)
		h.GetObjectKind().SetGroupVersionKind(hubGVK)
		h = viaJSON(t, h)
		s = newOf(spoke)
		if err := s.ConvertFrom(h); err != nil {
			t.Fatalf("converting %s from the hub: %v", spokeGVK.Kind, err)
		}
		h2 := newOf(hub)
		if err := s.ConvertTo(h2); err != nil {
			t.Fatalf("converting %s to the hub: %v", spokeGVK.Kind, err)
		}
		same(t, "hub -> spoke -> hub", h, h2)
	}
}

// viaJSON returns obj as an API server holds it: what JSON keeps of it, so
// that the filler's empty-but-not-nil slices and maps do not count as data.
func viaJSON[T any](t *testing.T, obj T) T {
	t.Helper()
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	out := newOf(obj)
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func newOf[T any](v T) T {
	return reflect.New(reflect.TypeOf(v).Elem()).Interface().(T)
}

func same(t *testing.T, what string, want, got any) {
	t.Helper()
	a, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var am, bm any
	_ = json.Unmarshal(a, &am)
	_ = json.Unmarshal(b, &bm)
	if !reflect.DeepEqual(am, bm) {
		t.Fatalf("%s changed the object:\nbefore: %s\nafter:  %s", what, a, b)
	}
}

// Duration returns a duration string half of the time, any string otherwise.
func Duration(c randfill.Continue) string {
	if c.Bool() {
		return (time.Duration(c.Int63n(1_000_000)) * time.Duration([]int64{1, int64(time.Millisecond), int64(time.Second)}[c.Intn(3)])).String()
	}
	return c.String(8)
}
