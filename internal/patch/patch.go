// Package patch writes what a reconcile changed, and only that: one merge
// patch for metadata and spec, one for status, each skipped when empty.
//
// Merge patches carry no resourceVersion, so they never fail with a conflict.
// The exception is a change of finalizers: a merge patch replaces the whole
// list, so it is sent with the resourceVersion it was computed from, and a
// conflict means another writer touched the object and the reconcile retries.
package patch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Helper remembers an object as it was read and patches the difference.
type Helper struct {
	c      client.Client
	before map[string]any
}

// NewHelper snapshots obj. Call it right after reading obj.
func NewHelper(obj client.Object, c client.Client) (*Helper, error) {
	before, err := toMap(obj)
	if err != nil {
		return nil, err
	}
	return &Helper{c: c, before: before}, nil
}

// Patch sends the changes made to obj since the snapshot: metadata and spec
// first, then status. It is a no-op when nothing changed. obj itself is not
// updated from the server's answer, so the caller's view stays its own.
//
// When the spec patch moves the object to a new generation, obj takes the new
// generation and restatus (if given) recomputes the status before it is sent:
// the status then already observes the generation this patch created, and the
// reconcile that our own spec change triggers has nothing left to write.
func (h *Helper) Patch(ctx context.Context, obj client.Object, restatus ...func()) error {
	after, err := toMap(obj)
	if err != nil {
		return err
	}
	var errs []error
	mainPatch, err := diff(without(h.before, "status"), without(after, "status"))
	if err != nil {
		return err
	}
	if mainPatch != nil {
		if _, ok := mainPatch["metadata"].(map[string]any)["finalizers"]; ok {
			// Lock on the version the finalizer list was computed from.
			mainPatch["metadata"].(map[string]any)["resourceVersion"] = obj.GetResourceVersion()
		}
		gen, err := h.send(ctx, obj, mainPatch, false)
		if err != nil {
			errs = append(errs, err)
		} else if gen != obj.GetGeneration() && len(restatus) > 0 {
			obj.SetGeneration(gen)
			for _, f := range restatus {
				f()
			}
			if after, err = toMap(obj); err != nil {
				return err
			}
		}
	}
	statusPatch, err := diff(only(h.before, "status"), only(after, "status"))
	if err != nil {
		return err
	}
	if statusPatch != nil {
		if _, err := h.send(ctx, obj, statusPatch, true); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		h.before = after
	}
	return errors.Join(errs...)
}

// PatchWithStatus is the deferred end of every reconcile: it computes the
// status with setStatus, patches what changed, and when the spec patch created
// a new generation, runs setStatus again so the status observes it (see
// Patch). A patch error is joined to *retErr, so the reconcile's own error is
// never lost. Use it as
//
//	defer helper.PatchWithStatus(ctx, obj, func() { setStatus(s) }, &retErr)
func (h *Helper) PatchWithStatus(ctx context.Context, obj client.Object, setStatus func(), retErr *error) {
	setStatus()
	if err := h.Patch(ctx, obj, setStatus); err != nil {
		*retErr = errors.Join(*retErr, err)
	}
}

// HasChanges reports whether obj differs from the snapshot.
func (h *Helper) HasChanges(obj client.Object) bool {
	after, err := toMap(obj)
	return err != nil || !reflect.DeepEqual(h.before, after)
}

// send sends one patch and returns the object's generation after it.
func (h *Helper) send(ctx context.Context, obj client.Object, patch map[string]any, status bool) (int64, error) {
	data, err := json.Marshal(patch)
	if err != nil {
		return 0, err
	}
	// Patch a copy: the server's answer would overwrite the caller's fields.
	target, ok := obj.DeepCopyObject().(client.Object)
	if !ok {
		return 0, fmt.Errorf("%T is not a client.Object", obj)
	}
	raw := client.RawPatch(types.MergePatchType, data)
	if status {
		err = h.c.Status().Patch(ctx, target, raw)
	} else {
		err = h.c.Patch(ctx, target, raw)
	}
	if err != nil {
		what := "object"
		if status {
			what = "status"
		}
		return 0, fmt.Errorf("patching %s of %s %s: %w", what, obj.GetObjectKind().GroupVersionKind().Kind, client.ObjectKeyFromObject(obj), err)
	}
	return target.GetGeneration(), nil
}

// diff returns the JSON merge patch from a to b, or nil when they are equal.
func diff(a, b map[string]any) (map[string]any, error) {
	if reflect.DeepEqual(a, b) {
		return nil, nil
	}
	aj, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	bj, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	p, err := jsonpatch.CreateMergePatch(aj, bj)
	if err != nil {
		return nil, fmt.Errorf("computing merge patch: %w", err)
	}
	out := map[string]any{}
	if err := json.Unmarshal(p, &out); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	if _, ok := out["metadata"].(map[string]any); !ok {
		out["metadata"] = map[string]any{}
	}
	return out, nil
}

func toMap(obj runtime.Object) (map[string]any, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("converting %T: %w", obj, err)
	}
	// Server-managed fields never go into a patch.
	if md, ok := m["metadata"].(map[string]any); ok {
		md = shallowCopy(md)
		delete(md, "resourceVersion")
		delete(md, "managedFields")
		delete(md, "generation")
		delete(md, "creationTimestamp")
		m["metadata"] = md
	}
	return m, nil
}

func without(m map[string]any, key string) map[string]any {
	out := shallowCopy(m)
	delete(out, key)
	return out
}

func only(m map[string]any, key string) map[string]any {
	return map[string]any{key: m[key]}
}

func shallowCopy(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
