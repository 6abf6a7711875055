// Package conversion converts objects between an API version that is served
// (a spoke, such as cluster.x-k8s.io/v1beta1) and the version that is stored
// (the hub, v1beta2), without losing data in either direction.
//
// A conversion is a list of Rules over the objects' JSON: each rule moves one
// field from its path in one version to its path in the other, optionally
// changing its shape on the way (a duration string to a number of seconds, a
// map to a list). Fields no rule names keep their path, since most fields are
// spelled alike in both versions. Whatever the target version cannot hold is
// found by converting the result back and comparing it with the source; the
// difference is kept in the DataAnnotation of the result and applied again when
// the object comes back, as upstream Cluster API keeps it in the same
// annotation. The annotation also records what each restored field looked like
// after the plain conversion, so a field that was changed meanwhile through the
// other version is not overwritten with stale data.
package conversion

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// DataAnnotation holds the fields of an object that its current version has no
// place for, so that converting it back restores them.
const DataAnnotation = "cluster.x-k8s.io/conversion-data"

// Object is what Convert reads and writes: a typed API object.
type Object interface {
	runtime.Object
	GetAnnotations() map[string]string
}

// Rule moves one field between the spoke and the hub version.
type Rule struct {
	// Spoke is the dotted JSON path of the field in the spoke version.
	Spoke string
	// Hub is the dotted JSON path of the field in the hub version.
	Hub string
	// ToHub changes the value's shape on the way to the hub; nil keeps it.
	// Returning nil drops the field.
	ToHub func(any) any
	// ToSpoke changes the value's shape on the way to the spoke; nil keeps it.
	ToSpoke func(any) any
}

// Rules convert one kind.
type Rules []Rule

// ToHub rewrites a spoke object's JSON as the hub's.
func (r Rules) ToHub(obj map[string]any) map[string]any {
	return r.move(obj, func(x Rule) (string, string, func(any) any) { return x.Spoke, x.Hub, x.ToHub })
}

// ToSpoke rewrites a hub object's JSON as the spoke's.
func (r Rules) ToSpoke(obj map[string]any) map[string]any {
	return r.move(obj, func(x Rule) (string, string, func(any) any) { return x.Hub, x.Spoke, x.ToSpoke })
}

// move takes every rule's source field out first and only then writes the
// targets, so that rules which swap two paths (status.conditions and
// status.v1beta2.conditions) do not overwrite each other.
func (r Rules) move(obj map[string]any, dir func(Rule) (from, to string, tf func(any) any)) map[string]any {
	out := deepCopy(obj).(map[string]any)
	type moved struct {
		to  string
		val any
	}
	var values []moved
	for _, x := range r {
		from, to, tf := dir(x)
		v, ok := get(obj, from)
		remove(out, from)
		if !ok {
			continue
		}
		v = deepCopy(v)
		if tf != nil {
			v = tf(v)
		}
		if v != nil {
			values = append(values, moved{to: to, val: v})
		}
	}
	for _, m := range values {
		set(out, m.to, m.val)
	}
	return out
}

// Kind is the conversion of one kind between a spoke and the hub version.
type Kind struct {
	Spoke, Hub schema.GroupVersionKind
	Rules      Rules
}

// ToHub converts spoke into hub through the rules, restoring hub fields kept
// in spoke's annotation and keeping spoke fields the hub cannot hold in hub's
// annotation. hub is overwritten.
func (k Kind) ToHub(spoke, hub Object) error {
	return convert(spoke, hub, k.Spoke, k.Hub, k.Rules.ToHub, k.Rules.ToSpoke)
}

// FromHub converts hub into spoke; see ToHub.
func (k Kind) FromHub(hub, spoke Object) error {
	return convert(hub, spoke, k.Hub, k.Spoke, k.Rules.ToSpoke, k.Rules.ToHub)
}

// stored is the content of DataAnnotation.
type stored struct {
	// Patch is a JSON merge patch from the plain conversion to the original.
	Patch map[string]any `json:"patch"`
	// Base holds, for every field Patch sets, its value in the plain
	// conversion; a field absent there is absent here.
	Base map[string]any `json:"base,omitempty"`
}

func convert(src, dst Object, srcGVK, gvk schema.GroupVersionKind, forward, backward func(map[string]any) map[string]any) error {
	dstType := reflect.TypeOf(dst).Elem()
	srcType := reflect.TypeOf(src).Elem()

	// Metadata is alike in every version but for DataAnnotation: it is
	// copied as it is, and only the rest goes through the rules. At a
	// conversion per write, the managed fields alone would otherwise be most
	// of the work.
	srcMeta, err := objectMeta(src)
	if err != nil {
		return err
	}
	data, err := storedIn(srcMeta.Annotations)
	if err != nil {
		return fmt.Errorf("reading annotation %s: %w", DataAnnotation, err)
	}
	in, err := toMap(withoutMeta(src))
	if err != nil {
		return err
	}
	delete(in, "metadata")
	// What a typed object writes is normal already, unless it holds an
	// empty object (see normalise).
	if hasEmptyObject(in) {
		if in, _, err = normalise(in, srcType); err != nil {
			return err
		}
	}
	out := forward(in)
	out["apiVersion"], out["kind"] = gvk.GroupVersion().String(), gvk.Kind
	// Normalise through the typed object, which drops what dst has no field
	// for, before and after restoring the kept fields: they were computed
	// against a normalised object.
	var typed any
	if out, typed, err = normalise(out, dstType); err != nil {
		return err
	}
	if data != nil {
		applyStored(out, data)
		if out, typed, err = normalise(out, dstType); err != nil {
			return err
		}
	}

	// What does dst lose? Convert back and compare with the source.
	back := backward(out)
	back["apiVersion"], back["kind"] = srcGVK.GroupVersion().String(), srcGVK.Kind
	if back, _, err = normalise(back, srcType); err != nil {
		return err
	}
	lost := diff(back, in)
	// The typed object out was normalised through is dst's content.
	reflect.ValueOf(dst).Elem().Set(reflect.ValueOf(typed).Elem())
	dstMeta, err := objectMeta(dst)
	if err != nil {
		return err
	}
	srcMeta.DeepCopyInto(dstMeta)
	delete(dstMeta.Annotations, DataAnnotation)
	if len(lost.Patch) > 0 {
		raw, err := json.Marshal(lost)
		if err != nil {
			return err
		}
		if dstMeta.Annotations == nil {
			dstMeta.Annotations = map[string]string{}
		}
		dstMeta.Annotations[DataAnnotation] = string(raw)
	}
	if len(dstMeta.Annotations) == 0 {
		dstMeta.Annotations = nil
	}
	return nil
}

// objectMeta is obj's metadata, to read and write in place.
func objectMeta(obj Object) (*metav1.ObjectMeta, error) {
	a, ok := obj.(metav1.ObjectMetaAccessor)
	if !ok {
		return nil, fmt.Errorf("%T has no ObjectMeta", obj)
	}
	m, ok := a.GetObjectMeta().(*metav1.ObjectMeta)
	if !ok {
		return nil, fmt.Errorf("%T has no ObjectMeta", obj)
	}
	return m, nil
}

// withoutMeta is a shallow copy of obj with empty metadata.
func withoutMeta(obj Object) any {
	cp := reflect.New(reflect.TypeOf(obj).Elem())
	cp.Elem().Set(reflect.ValueOf(obj).Elem())
	if m, err := objectMeta(cp.Interface().(Object)); err == nil {
		*m = metav1.ObjectMeta{}
	}
	return cp.Interface()
}

// diff returns the merge patch from base to want (metadata, apiVersion and
// kind left aside) with base's values at the patched paths.
func diff(base, want map[string]any) *stored {
	b, w := content(base), content(want)
	patch := mergePatch(b, w)
	return &stored{Patch: patch, Base: extract(b, patch)}
}

// mergePatch is the JSON merge patch (RFC 7386) that turns a into b: objects
// are compared field by field, any other value (lists too) as a whole.
func mergePatch(a, b map[string]any) map[string]any {
	patch := map[string]any{}
	for k := range a {
		if _, ok := b[k]; !ok {
			patch[k] = nil
		}
	}
	for k, bv := range b {
		av, ok := a[k]
		if !ok {
			patch[k] = bv
			continue
		}
		am, aIsMap := av.(map[string]any)
		bm, bIsMap := bv.(map[string]any)
		if aIsMap && bIsMap {
			if sub := mergePatch(am, bm); len(sub) > 0 {
				patch[k] = sub
			}
			continue
		}
		if !reflect.DeepEqual(av, bv) {
			patch[k] = bv
		}
	}
	return patch
}

// extract copies from obj the values at the leaves of patch.
func extract(obj, patch map[string]any) map[string]any {
	out := map[string]any{}
	for k, pv := range patch {
		v, ok := obj[k]
		if !ok {
			continue
		}
		pm, pIsMap := pv.(map[string]any)
		vm, vIsMap := v.(map[string]any)
		if pIsMap && vIsMap {
			if sub := extract(vm, pm); len(sub) > 0 {
				out[k] = sub
			} else {
				out[k] = map[string]any{}
			}
			continue
		}
		out[k] = deepCopy(v)
	}
	return out
}

// applyStored applies the patch to obj where obj still holds the base value: a
// field that differs from it was changed through the other version since the
// annotation was written, and that change wins.
func applyStored(obj map[string]any, s *stored) {
	var walk func(obj, patch, base map[string]any)
	walk = func(obj, patch, base map[string]any) {
		for k, pv := range patch {
			cur, curOK := obj[k]
			old, oldOK := base[k]
			pm, pIsMap := pv.(map[string]any)
			cm, curIsMap := cur.(map[string]any)
			om, oldIsMap := old.(map[string]any)
			if pIsMap && curIsMap && (oldIsMap || !oldOK) {
				walk(cm, pm, om)
				continue
			}
			if pIsMap && !curOK && !oldOK {
				// A new subtree: merge it into an empty object.
				m := map[string]any{}
				walk(m, pm, nil)
				obj[k] = m
				continue
			}
			if curOK != oldOK || (curOK && !reflect.DeepEqual(cur, old)) {
				continue
			}
			if pv == nil {
				delete(obj, k)
				continue
			}
			obj[k] = withoutNulls(pv)
		}
	}
	walk(obj, s.Patch, s.Base)
}

// withoutNulls is what a merge patch value becomes where the target has nothing
// to merge into.
func withoutNulls(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return deepCopy(v)
	}
	out := make(map[string]any, len(m))
	for k, x := range m {
		if x != nil {
			out[k] = withoutNulls(x)
		}
	}
	return out
}

func content(obj map[string]any) map[string]any {
	out := make(map[string]any, len(obj))
	for k, v := range obj {
		switch k {
		case "metadata", "apiVersion", "kind":
		default:
			out[k] = v
		}
	}
	return out
}

// storedIn reads the DataAnnotation of annotations, nil when there is none.
func storedIn(annotations map[string]string) (*stored, error) {
	raw, ok := annotations[DataAnnotation]
	if !ok {
		return nil, nil
	}
	s := &stored{}
	if err := decode([]byte(raw), s); err != nil {
		return nil, err
	}
	return s, nil
}

// normalise returns obj as the Go type t writes it. A second pass is needed
// only where the first wrote an empty object: an empty list decodes to an
// empty (not nil) slice, which keeps its parent struct from being omitted as
// zero once; the second pass omits it.
//
// It also returns the typed object whose JSON the result is.
func normalise(obj map[string]any, t reflect.Type) (map[string]any, any, error) {
	var typed any
	for pass := 0; pass < 2; pass++ {
		typed = reflect.New(t).Interface()
		if err := fromMap(obj, typed); err != nil {
			return nil, nil, err
		}
		var err error
		if obj, err = toMap(typed); err != nil {
			return nil, nil, err
		}
		// Metadata is copied apart (see convert).
		delete(obj, "metadata")
		if !hasEmptyObject(obj) {
			break
		}
	}
	return obj, typed, nil
}

// hasEmptyObject tells whether v holds {} at any depth.
func hasEmptyObject(v any) bool {
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 0 {
			return true
		}
		for _, x := range t {
			if hasEmptyObject(x) {
				return true
			}
		}
	case []any:
		for _, x := range t {
			if hasEmptyObject(x) {
				return true
			}
		}
	}
	return false
}

func toMap(obj any) (map[string]any, error) {
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	if err := decode(raw, &m); err != nil {
		return nil, err
	}
	return m, nil
}

func fromMap(m map[string]any, obj any) error {
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	// Reset obj first: Unmarshal merges into what is there.
	v := reflect.ValueOf(obj).Elem()
	v.Set(reflect.Zero(v.Type()))
	return json.Unmarshal(raw, obj)
}

// decode keeps numbers as json.Number: int64 fields survive beyond 2^53.
func decode(raw []byte, into any) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	return d.Decode(into)
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = deepCopy(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = deepCopy(x)
		}
		return out
	default:
		return v
	}
}

func get(obj map[string]any, path string) (any, bool) {
	var cur any = obj
	for _, p := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func set(obj map[string]any, path string, v any) {
	parts := strings.Split(path, ".")
	cur := obj
	for _, p := range parts[:len(parts)-1] {
		next, ok := cur[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[p] = next
		}
		cur = next
	}
	cur[parts[len(parts)-1]] = v
}

// remove deletes the field at path and the objects it leaves empty.
func remove(obj map[string]any, path string) {
	parts := strings.Split(path, ".")
	var walk func(m map[string]any, i int)
	walk = func(m map[string]any, i int) {
		if i == len(parts)-1 {
			delete(m, parts[i])
			return
		}
		next, ok := m[parts[i]].(map[string]any)
		if !ok {
			return
		}
		walk(next, i+1)
		if len(next) == 0 {
			delete(m, parts[i])
		}
	}
	walk(obj, 0)
}

// Lost is a field an object's version has no place for, kept in its
// DataAnnotation.
type Lost struct {
	// Path is the field's dotted JSON path in the other version.
	Path string
	// Value is its value there, and Plain what the plain conversion gave
	// (nil when it gave nothing).
	Value, Plain any
}

// LostFields lists the fields kept in obj's DataAnnotation, sorted by path.
func LostFields(annotations map[string]string) ([]Lost, error) {
	s, err := storedIn(annotations)
	if err != nil || s == nil {
		return nil, err
	}
	var out []Lost
	var walk func(prefix string, patch, base map[string]any)
	walk = func(prefix string, patch, base map[string]any) {
		for k, v := range patch {
			b := base[k]
			if pm, ok := v.(map[string]any); ok {
				if bm, ok := b.(map[string]any); ok || b == nil {
					walk(prefix+k+".", pm, bm)
					continue
				}
			}
			out = append(out, Lost{Path: prefix + k, Value: v, Plain: b})
		}
	}
	walk("", s.Patch, s.Base)
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}
