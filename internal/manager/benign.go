package manager

import (
	"errors"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
)

// reconcilerErrorMessage is the message controller-runtime logs, at error
// level, for every error a reconciler returns.
const reconcilerErrorMessage = "Reconciler error"

// benignLevel is the verbosity benign reconciler errors are logged at.
const benignLevel = 1

// IsBenign says whether a reconciler's error is a race that the retry settles
// on its own: a conflict (another writer came first; the next reconcile reads
// their version) or a not-found (the object, or one it reads, was deleted
// while it was being reconciled, as during a Cluster's deletion). An
// aggregate is benign only when every error in it is.
func IsBenign(err error) bool {
	if err == nil {
		return false
	}
	var agg kerrors.Aggregate
	if errors.As(err, &agg) {
		return allBenign(agg.Errors())
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		return allBenign(joined.Unwrap())
	}
	return apierrors.IsConflict(err) || apierrors.IsNotFound(err)
}

func allBenign(errs []error) bool {
	for _, e := range errs {
		if !IsBenign(e) {
			return false
		}
	}
	return len(errs) > 0
}

// BenignLogger wraps the logger the manager gives its controllers so that
// the "Reconciler error" line of a benign error (IsBenign) is logged at
// verbosity 1 instead of at error level. The controller still requeues the
// request with backoff, exactly as for any error, and counts it in
// controller_runtime_reconcile_errors_total; only the log line changes, so
// that real errors are not lost among the races every deletion causes.
//
// It wraps the logger rather than each reconciler because the builder of
// every controller, in every provider, takes its logger from the manager:
// one place covers them all.
func BenignLogger(l logr.Logger) logr.Logger {
	inner := l.GetSink()
	if inner == nil {
		return l
	}
	// The wrapped sink is called from one frame deeper than logr expects.
	if cd, ok := inner.(logr.CallDepthLogSink); ok {
		inner = cd.WithCallDepth(1)
	}
	return l.WithSink(&benignSink{LogSink: inner})
}

// benignSink passes everything to the wrapped sink except benign reconciler
// errors, which it passes as info at benignLevel.
type benignSink struct {
	logr.LogSink
}

func (s *benignSink) Error(err error, msg string, kv ...any) {
	if msg != reconcilerErrorMessage || !IsBenign(err) {
		s.LogSink.Error(err, msg, kv...)
		return
	}
	if s.Enabled(benignLevel) {
		s.Info(benignLevel, "Reconciler error (benign, requeued)", append(kv, "error", err.Error())...)
	}
}

func (s *benignSink) WithValues(kv ...any) logr.LogSink {
	return &benignSink{LogSink: s.LogSink.WithValues(kv...)}
}

func (s *benignSink) WithName(name string) logr.LogSink {
	return &benignSink{LogSink: s.LogSink.WithName(name)}
}

// WithCallDepth passes a caller's extra depth on to the wrapped sink.
func (s *benignSink) WithCallDepth(depth int) logr.LogSink {
	if cd, ok := s.LogSink.(logr.CallDepthLogSink); ok {
		return &benignSink{LogSink: cd.WithCallDepth(depth)}
	}
	return s
}
