package patch

import (
	"reflect"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// Settler holds back status patches whose changes are minor, until they have
// lasted Period. A change is major, and sent at once, when the phase, the
// observed generation or any status field but the conditions and the Minor
// ones changes, when a condition appears or goes, or when a condition turns
// True or stops being True. A condition that only changes its reason or
// message, or moves between False and Unknown, is still on its way: a
// machine that is provisioning goes through several such steps within a
// second, and a write for each of them is a write per observation rather than
// per change. Such a step is written once it has lasted Period (the reconcile
// requeues for it, see Helper.HeldFor), so a machine that is stuck says why
// within Period; one that moves on writes only where it arrived.
//
// With HoldFirst, the first status of an object is minor too while it only
// says the object is on its way (see onItsWay).
//
// A Settler is shared by the reconciles of one controller.
type Settler struct {
	// Period is how long a minor change must last to be written.
	Period time.Duration
	// Minor are top-level status fields whose changes are minor too, for
	// example addresses that arrive while a machine provisions.
	Minor []string
	// HoldFirst makes a first status that only says the object is on its
	// way minor too: an object without status reads as one that waits, and
	// one that gets going within Period writes only where it arrived.
	HoldFirst bool

	mu sync.Mutex
	// since is when a minor change of an object was first held back.
	since map[types.UID]time.Time
	now   func() time.Time
}

// settleLimit bounds the held-back entries (deleted objects leave theirs):
// past it the Settler starts afresh, which only writes sooner.
const settleLimit = 50000

// hold decides on a status change from before to after (each {"status":
// ...}). It returns how long the change is still held back, or zero to send
// it now.
func (s *Settler) hold(uid types.UID, before, after map[string]any) time.Duration {
	now := time.Now
	if s.now != nil {
		now = s.now
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.minor(before["status"], after["status"]) {
		delete(s.since, uid)
		return 0
	}
	if s.since == nil || len(s.since) >= settleLimit {
		s.since = map[types.UID]time.Time{}
	}
	first, ok := s.since[uid]
	if !ok {
		first = now()
		s.since[uid] = first
	}
	if left := s.Period - now().Sub(first); left > 0 {
		return left
	}
	// Lasted long enough: sent now, and a later step is held afresh.
	delete(s.since, uid)
	return 0
}

// release forgets what was held back for uid.
func (s *Settler) release(uid types.UID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.since, uid)
}

// minor reports whether a status change from a to b is minor.
func (s *Settler) minor(a, b any) bool {
	am, _ := a.(map[string]any)
	bm, ok := b.(map[string]any)
	if !ok {
		return false
	}
	ac, bc := conditionsByType(am["conditions"]), conditionsByType(bm["conditions"])
	if ac == nil && bc != nil && s.HoldFirst {
		// A first status that says the object waits is no news until it
		// lasts; when the object gets there first, that is its first write.
		return onItsWay(bm, bc)
	}
	skip := append([]string{"conditions"}, s.Minor...)
	if ac == nil || bc == nil || len(ac) != len(bc) || !reflect.DeepEqual(withoutKeys(am, skip), withoutKeys(bm, skip)) {
		return false
	}
	for t, c := range ac {
		d, ok := bc[t]
		if !ok || (c["status"] == "True") != (d["status"] == "True") || !reflect.DeepEqual(c["observedGeneration"], d["observedGeneration"]) {
			return false
		}
	}
	return true
}

// onItsWay says whether a status only says that its object is on its way:
// its phase, if it has one, is one of a machine that waits or provisions (in
// core and provider objects alike), and it is not Ready. A failure, a
// machine that runs and anything Ready are news.
func onItsWay(status map[string]any, conds map[any]map[string]any) bool {
	switch status["phase"] {
	case nil, "Pending", "Provisioning":
	default:
		return false
	}
	ready, ok := conds["Ready"]
	return !ok || ready["status"] != "True"
}

// conditionsByType indexes a conditions list by type; nil when there is none
// or it is malformed.
func conditionsByType(v any) map[any]map[string]any {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return nil
	}
	out := make(map[any]map[string]any, len(list))
	for _, e := range list {
		c, ok := e.(map[string]any)
		if !ok {
			return nil
		}
		out[c["type"]] = c
	}
	return out
}

func withoutKeys(m map[string]any, keys []string) map[string]any {
	out := shallowCopy(m)
	for _, k := range keys {
		delete(out, k)
	}
	return out
}
