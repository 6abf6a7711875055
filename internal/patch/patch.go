// Package patch writes what a reconcile changed, and only that: one merge
// patch for metadata and spec, one for status, each skipped when empty.
// A status that this process wrote already is not sent again by a reconcile
// whose cache has not shown the write yet (see written).
//
// Merge patches carry no resourceVersion, so they never fail with a conflict.
// The exception is a change of finalizers: a merge patch replaces the whole
// list, so it is sent with the resourceVersion it was computed from, and a
// conflict means another writer touched the object and the reconcile retries.
package patch

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Helper remembers an object as it was read and patches the difference.
type Helper struct {
	c      client.Client
	before map[string]any
	// uid and resourceVersion of the snapshot, for the written memo.
	uid types.UID
	rv  string
	// settler, when set, holds back minor status changes (see Settler);
	// heldFor is how long until the one this Patch held back is due.
	settler *Settler
	// failed: the reconcile ends in an error, so nothing is held back.
	failed  bool
	heldFor time.Duration
}

// Settle makes the helper hold back status patches that change only how a
// condition is described (see Settler). A nil s settles nothing.
func (h *Helper) Settle(s *Settler) { h.settler = s }

// HeldFor is how long until the status change that the last Patch held back
// is due, zero when it held nothing: the reconcile requeues after it, so the
// change is written even if no event comes.
func (h *Helper) HeldFor() time.Duration { return h.heldFor }

// NewHelper snapshots obj. Call it right after reading obj.
func NewHelper(obj client.Object, c client.Client) (*Helper, error) {
	before, err := toMap(obj)
	if err != nil {
		return nil, err
	}
	written.forgetUnlessAt(obj.GetUID(), obj.GetResourceVersion())
	return &Helper{c: c, before: before, uid: obj.GetUID(), rv: obj.GetResourceVersion()}, nil
}

// written remembers, per object, the status this process last wrote and the
// resourceVersions that precede that write: the snapshot's it was computed
// from, and the one of a spec patch sent just before it. Events often wake a
// controller again before its cache shows its own status write; that
// reconcile starts from one of those old versions, usually arrives at the
// same status, and would send the same patch again. When the snapshot is such
// a version and the status is the one written, the server has it already:
// nothing is sent. Were the server's status changed by another writer since,
// re-sending a status computed from the old snapshot would only overwrite
// their change with a stale view; the event of their write brings a
// reconcile from a fresh snapshot. An entry lives while the cache lags: the
// first snapshot at any other version drops it.
var written = &statusMemo{m: map[types.UID]statusWrite{}}

type statusMemo struct {
	mu sync.Mutex
	m  map[types.UID]statusWrite
}

type statusWrite struct {
	staleRVs []string // versions that precede the write
	sum      [32]byte // of the status written; zero when none was
	// mainSum is the sum of the object without status after the write, and
	// latestRV the version the last write made: a finalizer change computed
	// from a stale version is locked on latestRV instead (see Patch).
	mainSum  [32]byte
	latestRV string
	// generation is the object's generation after the write.
	generation int64
}

// forgetUnlessAt drops the entry of uid unless version rv precedes its write.
func (w *statusMemo) forgetUnlessAt(uid types.UID, rv string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if e, ok := w.m[uid]; ok && !slices.Contains(e.staleRVs, rv) {
		delete(w.m, uid)
	}
}

// has reports whether status was written after version rv of uid.
func (w *statusMemo) has(uid types.UID, rv string, sum [32]byte) bool {
	e, ok := w.staleAt(uid, rv)
	return ok && e.sum == sum
}

// staleAt returns the entry of uid when version rv precedes its write.
func (w *statusMemo) staleAt(uid types.UID, rv string) (statusWrite, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	e, ok := w.m[uid]
	if !ok || !slices.Contains(e.staleRVs, rv) {
		return statusWrite{}, false
	}
	return e, true
}

// memoLimit bounds the memo: entries of deleted objects are never looked
// up again, so past this many the memo starts afresh. It is only a saving of
// writes; an empty memo sends what it would have skipped.
const memoLimit = 50000

// record remembers a write made from a snapshot at the first of staleRVs.
// When that snapshot was itself stale, the versions that preceded the earlier
// write still precede this one.
func (w *statusMemo) record(uid types.UID, e statusWrite) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.m) >= memoLimit {
		clear(w.m)
	}
	if old, ok := w.m[uid]; ok && len(e.staleRVs) > 0 && slices.Contains(old.staleRVs, e.staleRVs[0]) {
		e.staleRVs = append(slices.Clone(old.staleRVs), e.staleRVs[1:]...)
		if e.sum == ([32]byte{}) {
			e.sum = old.sum // no status written this time: the earlier one stands
		}
	}
	w.m[uid] = e
}

// sumOf hashes an object without its status for the memo.
func sumOf(obj map[string]any) ([32]byte, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(data), nil
}

// statusSum hashes a status for the memo. Transition times are left out: a
// condition (or a phase, whose time is lastUpdated) recomputed from an old
// snapshot transitions again a little later, and the time the server has
// from the first write is the true one.
func statusSum(status map[string]any) ([32]byte, error) {
	data, err := json.Marshal(withoutKey(withoutKey(status, "lastTransitionTime"), "lastUpdated"))
	if err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(data), nil
}

// withoutKey returns v with every map entry named key removed, at any depth.
func withoutKey(v any, key string) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			if k != key {
				out[k] = withoutKey(e, key)
			}
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = withoutKey(e, key)
		}
		return out
	}
	return v
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
	// rvs are the versions of the object known to precede this call's
	// status patch: the snapshot's, and the one our spec patch made.
	rvs := []string{h.rv}
	mainPatch, err := diff(without(h.before, "status"), without(after, "status"))
	if err != nil {
		return err
	}
	// memo is what this process wrote since the snapshot, when the snapshot
	// is older than its own write (a cache that lags behind it).
	memo, stale := written.staleAt(h.uid, h.rv)
	// The sums hash the whole object: they are computed only where a stale
	// snapshot or a write needs them, not on every reconcile.
	mainSum := sync.OnceValues(func() ([32]byte, error) { return sumOf(without(after, "status")) })
	if stale && mainPatch != nil {
		sum, err := mainSum()
		if err != nil {
			return err
		}
		if sum == memo.mainSum {
			// The server has this metadata and spec from our own write,
			// and the generation that write made.
			mainPatch = nil
			if memo.generation != obj.GetGeneration() && len(restatus) > 0 {
				obj.SetGeneration(memo.generation)
				for _, f := range restatus {
					f()
				}
				if after, err = toMap(obj); err != nil {
					return err
				}
			}
		}
	}
	// serverMain is what the server has without status, as far as this
	// process knows: what our own write made it, or else the snapshot's.
	serverMain := func() ([32]byte, error) {
		if stale {
			return memo.mainSum, nil
		}
		return sumOf(without(h.before, "status"))
	}
	if mainPatch != nil {
		if _, ok := mainPatch["metadata"].(map[string]any)["finalizers"]; ok {
			// Lock on the version the finalizer list was computed from. A
			// snapshot older than our own last write, which left the list
			// as the snapshot has it, is locked on the version that write
			// made: our write cannot be the conflict, another one still is.
			lock := obj.GetResourceVersion()
			if stale && memo.latestRV != "" {
				snapshot, err := sumOf(without(h.before, "status"))
				if err != nil {
					return err
				}
				if memo.mainSum == snapshot {
					lock = memo.latestRV
				}
			}
			mainPatch["metadata"].(map[string]any)["resourceVersion"] = lock
		}
		answer, err := h.send(ctx, obj, mainPatch, false)
		if err != nil {
			errs = append(errs, err)
		} else {
			// The version this patch made precedes the status patch below
			// too: its own event brings a snapshot at it.
			rvs = append(rvs, answer.GetResourceVersion())
			sum, err := mainSum()
			if err != nil {
				return err
			}
			serverMain = func() ([32]byte, error) { return sum, nil }
			if h.uid != "" {
				written.record(h.uid, statusWrite{staleRVs: slices.Clone(rvs[:1]), mainSum: sum,
					latestRV: answer.GetResourceVersion(), generation: answer.GetGeneration()})
			}
			if gen := answer.GetGeneration(); gen != obj.GetGeneration() && len(restatus) > 0 {
				obj.SetGeneration(gen)
				for _, f := range restatus {
					f()
				}
				if after, err = toMap(obj); err != nil {
					return err
				}
			}
		}
	}
	statusPatch, err := diff(only(h.before, "status"), only(after, "status"))
	if err != nil {
		return err
	}
	h.heldFor = 0
	if statusPatch == nil && h.settler != nil {
		h.settler.release(h.uid) // the server has it all: nothing is held
	}
	if statusPatch != nil && h.settler != nil && h.uid != "" && !h.failed {
		if h.heldFor = h.settler.hold(h.uid, only(h.before, "status"), only(after, "status")); h.heldFor > 0 {
			// Not sent: the next reconcile computes it again, and writes
			// it once it has lasted the settle period.
			return errors.Join(errs...)
		}
	}
	if statusPatch != nil {
		sum, err := statusSum(only(after, "status"))
		if err != nil {
			return err
		}
		// A status the server has from our own write after this snapshot
		// is not sent again (see written). Objects not created yet have no
		// UID to remember.
		if h.uid == "" || !written.has(h.uid, h.rv, sum) {
			if answer, err := h.send(ctx, obj, statusPatch, true); err != nil {
				errs = append(errs, err)
			} else if h.uid != "" {
				main, err := serverMain()
				if err != nil {
					return err
				}
				written.record(h.uid, statusWrite{staleRVs: rvs, sum: sum, mainSum: main,
					latestRV: answer.GetResourceVersion(), generation: answer.GetGeneration()})
			}
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
//
// A reconcile that ends in an error writes its status at once, minor or not
// (see Settle): it may not come back within the settle period (a terminal
// error is never retried, backoff grows past it), and what went wrong is
// what the user must see.
func (h *Helper) PatchWithStatus(ctx context.Context, obj client.Object, setStatus func(), retErr *error) {
	h.failed = *retErr != nil
	defer func() { h.failed = false }()
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

// send sends one patch and returns the object as the server answered.
func (h *Helper) send(ctx context.Context, obj client.Object, patch map[string]any, status bool) (client.Object, error) {
	data, err := json.Marshal(patch)
	if err != nil {
		return nil, err
	}
	// Patch a copy: the server's answer would overwrite the caller's fields.
	target, ok := obj.DeepCopyObject().(client.Object)
	if !ok {
		return nil, fmt.Errorf("%T is not a client.Object", obj)
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
		return nil, fmt.Errorf("patching %s of %s %s: %w", what, obj.GetObjectKind().GroupVersionKind().Kind, client.ObjectKeyFromObject(obj), err)
	}
	return target, nil
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
