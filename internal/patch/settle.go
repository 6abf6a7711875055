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
// With HoldOnItsWay, every status of an object that only says the object is
// on its way (see onItsWay) is minor too, the first one included, as long as
// the one before said so as well: a machine that provisions within Period
// writes only where it arrived (Running, Ready, Failed), one that takes
// longer writes its progress at most once per Period. A change of the Paused
// or Deleting condition's truth is a user's action taking effect and is
// always major.
//
// A Settler is shared by the reconciles of one controller.
type Settler struct {
	// Period is how long a minor change must last to be written.
	Period time.Duration
	// Minor are top-level status fields whose changes are minor too, for
	// example addresses that arrive while a machine provisions.
	Minor []string
	// MinorRises are top-level status fields (counters, or objects of
	// counters) whose rises are minor and whose falls are not: for counters
	// that others decide on, a value that lags behind a rise only makes them
	// wait, one that lags behind a fall would mislead them.
	MinorRises []string
	// HoldOnItsWay makes the progress of an object on its way minor, its
	// first status included: an object without status reads as one that
	// waits, and one that gets there within Period writes only where it
	// arrived.
	HoldOnItsWay bool
	// MaxHold, when set, makes Period a quiet time rather than an age: a
	// minor change is held while the held status keeps changing, and
	// written once it has stayed the same for Period, or once MaxHold has
	// passed since it was first held. An object that moves on step after
	// step, each within Period of the last (a machine whose provisioning
	// waits in queues behind many others), then writes only where it
	// arrived, while one that stops says where it stopped within Period.
	MaxHold time.Duration

	mu sync.Mutex
	// since is what is held back for an object.
	since map[types.UID]held
	now   func() time.Time
}

// held is a minor change held back: when it was first held, and when the
// status held last changed (MaxHold), and to what.
type held struct {
	first, last time.Time
	status      any
}

// ProgressMaxHold is the MaxHold of the settlers of objects that provision
// (Machine, KubernetesMachine, KubeadmConfig): at N=100 a Machine's steps
// come a few seconds apart for 5–10 s while it waits in the controllers'
// queues, and each step written on its own cost about 0.6 status writes per
// Machine (bench/README.md); no step is kept from users for longer than this.
const ProgressMaxHold = 20 * time.Second

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
		s.since = map[types.UID]held{}
	}
	t := now()
	h, ok := s.since[uid]
	switch {
	case !ok:
		h = held{first: t, last: t, status: after["status"]}
	case s.MaxHold > 0 && !sameStep(h.status, after["status"]):
		h.last, h.status = t, after["status"]
	}
	s.since[uid] = h
	left := s.Period - t.Sub(h.first)
	if s.MaxHold > 0 {
		left = min(s.Period-t.Sub(h.last), s.MaxHold-t.Sub(h.first))
	}
	if left > 0 {
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
	if s.HoldOnItsWay && bc != nil && onItsWay(bm, bc) && (ac == nil || onItsWay(am, ac)) &&
		!truthChanged(ac, bc, "Paused") && !truthChanged(ac, bc, "Deleting") {
		// Progress on the way is no news until it lasts; when the object
		// gets there first, where it arrived is the next write.
		return true
	}
	skip := append(append([]string{"conditions"}, s.Minor...), s.MinorRises...)
	if ac == nil || bc == nil || len(ac) != len(bc) || !reflect.DeepEqual(withoutKeys(am, skip), withoutKeys(bm, skip)) {
		return false
	}
	for _, k := range s.MinorRises {
		if !rose(am[k], bm[k]) {
			return false
		}
	}
	for t, c := range ac {
		d, ok := bc[t]
		if !ok || (c["status"] == "True") != (d["status"] == "True") || !reflect.DeepEqual(c["observedGeneration"], d["observedGeneration"]) {
			return false
		}
	}
	return true
}

// sameStep says whether two statuses held back are the same step: equal but
// for the conditions' lastTransitionTime. A condition that was never written
// gets a new one at each reconcile, which is no step.
func sameStep(a, b any) bool {
	return reflect.DeepEqual(withoutTransitionTimes(a), withoutTransitionTimes(b))
}

func withoutTransitionTimes(status any) any {
	m, ok := status.(map[string]any)
	if !ok {
		return status
	}
	list, ok := m["conditions"].([]any)
	if !ok {
		return status
	}
	out := shallowCopy(m)
	conds := make([]any, len(list))
	for i, e := range list {
		if c, ok := e.(map[string]any); ok {
			e = withoutKeys(c, []string{"lastTransitionTime"})
		}
		conds[i] = e
	}
	out["conditions"] = conds
	return out
}

// onItsWay says whether a status only says that its object is on its way:
// its phase, if it has one, is one of a machine that waits, provisions or
// waits for its Node (in core and provider objects alike), and it is not
// Ready. A failure, a machine that runs or is deleted, and anything Ready are
// news.
func onItsWay(status map[string]any, conds map[any]map[string]any) bool {
	switch status["phase"] {
	case nil, "Pending", "Provisioning", "Provisioned":
	default:
		return false
	}
	ready, ok := conds["Ready"]
	return !ok || ready["status"] != "True"
}

// truthChanged says whether the condition of type t is True in one of a and b
// and not in the other (a missing condition is not True).
func truthChanged(a, b map[any]map[string]any, t string) bool {
	return (a[t]["status"] == "True") != (b[t]["status"] == "True")
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

// rose says whether b equals a but for numbers that grew: numbers compare by
// value (missing counts as zero), objects key by key, anything else must be
// equal.
func rose(a, b any) bool {
	if bm, ok := b.(map[string]any); ok {
		am, ok := a.(map[string]any)
		if a != nil && !ok {
			return false
		}
		for k, v := range am {
			if _, ok := bm[k]; !ok && v != nil {
				return false // a field went
			}
		}
		for k, v := range bm {
			if !rose(am[k], v) {
				return false
			}
		}
		return true
	}
	if bn, ok := number(b); ok {
		an, ok := number(a)
		if a != nil && !ok {
			return false
		}
		return bn >= an
	}
	return reflect.DeepEqual(a, b)
}

// number reads a JSON number as decoded into a map (int64 or float64).
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case float64:
		return n, true
	case int32:
		return float64(n), true
	case int:
		return float64(n), true
	}
	return 0, false
}
