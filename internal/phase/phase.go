// Package phase runs the phase methods a reconcile is made of, the same way in
// every reconciler: dependent steps stop at the first that fails or waits,
// independent observations all run and their errors and requeues merge.
package phase

import (
	"context"
	"errors"

	ctrl "sigs.k8s.io/controller-runtime"
)

// Func is one phase of a reconcile over the reconciler's scope S.
type Func[S any] func(context.Context, S) (ctrl.Result, error)

// Sequence runs dependent phases in order. It stops at the first phase that
// fails or asks to be requeued, because the next phase needs what that one
// had to finish (certificates before the data Secret, the Machine before
// its clones).
func Sequence[S any](ctx context.Context, s S, phases ...Func[S]) (ctrl.Result, error) {
	for _, p := range phases {
		res, err := p(ctx, s)
		if err != nil || res.RequeueAfter > 0 {
			return res, err
		}
	}
	return ctrl.Result{}, nil
}

// All runs independent phases, every one of them even when an earlier one
// failed, so one unreachable object never hides what the others observed. It
// returns the soonest requeue and all errors joined.
func All[S any](ctx context.Context, s S, phases ...Func[S]) (ctrl.Result, error) {
	var res ctrl.Result
	var errs []error
	for _, p := range phases {
		r, err := p(ctx, s)
		if err != nil {
			errs = append(errs, err)
		}
		res = Soonest(res, r)
	}
	return res, errors.Join(errs...)
}

// Soonest merges two results: the one that comes back sooner wins, and no
// requeue (zero) never beats a requeue.
func Soonest(a, b ctrl.Result) ctrl.Result {
	if b.RequeueAfter > 0 && (a.RequeueAfter == 0 || b.RequeueAfter < a.RequeueAfter) {
		a.RequeueAfter = b.RequeueAfter
	}
	return a
}
