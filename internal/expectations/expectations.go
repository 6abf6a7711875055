// Package expectations remembers the creates and deletes a controller made
// that its cache has not shown yet. A controller that counts children from a
// lagging cache would otherwise create or delete too many.
package expectations

import (
	"sync"
	"time"
)

// Timeout is how long an unobserved expectation is trusted; after it the
// cache is believed again, so a lost event never blocks a controller forever.
const Timeout = 30 * time.Second

// Expectations maps an owner key to the child names it waits to see created
// or deleted. The zero value is ready to use.
type Expectations struct {
	mu      sync.Mutex
	pending map[string]map[string]time.Time
}

// New returns empty expectations.
func New() *Expectations { return &Expectations{pending: map[string]map[string]time.Time{}} }

// Expect records that owner waits for the named children to change in the cache.
func (e *Expectations) Expect(owner string, names ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.pending == nil {
		e.pending = map[string]map[string]time.Time{}
	}
	m := e.pending[owner]
	if m == nil {
		m = map[string]time.Time{}
		e.pending[owner] = m
	}
	now := time.Now()
	for _, n := range names {
		m[n] = now
	}
}

// Satisfied drops the expectations that observed reports as seen (or that
// timed out) and reports whether none are left.
func (e *Expectations) Satisfied(owner string, observed func(name string) bool) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := e.pending[owner]
	for n, at := range m {
		if observed(n) || time.Since(at) > Timeout {
			delete(m, n)
		}
	}
	if len(m) == 0 {
		delete(e.pending, owner)
		return true
	}
	return false
}

// Forget drops every expectation of owner.
func (e *Expectations) Forget(owner string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.pending, owner)
}

// Pending reports whether owner still waits to see name: it was expected
// less than Timeout ago and not observed since.
func (e *Expectations) Pending(owner, name string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	at, ok := e.pending[owner][name]
	return ok && time.Since(at) <= Timeout
}

// Observed drops owner's expectation of name: the cache shows it.
func (e *Expectations) Observed(owner, name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if m := e.pending[owner]; m != nil {
		delete(m, name)
		if len(m) == 0 {
			delete(e.pending, owner)
		}
	}
}
