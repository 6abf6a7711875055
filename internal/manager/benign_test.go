package manager

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
)

var (
	conflict = apierrors.NewConflict(schema.GroupResource{Group: "cluster.x-k8s.io", Resource: "machines"}, "m", errors.New("the object has been modified"))
	notFound = apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, "p")
	errReal  = errors.New("creating Pod ns/p: admission webhook denied the request")
)

func TestIsBenign(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"conflict", conflict, true},
		{"not found", notFound, true},
		{"wrapped conflict", fmt.Errorf("patching Machine ns/m: %w", conflict), true},
		{"aggregate of benign errors", kerrors.NewAggregate([]error{conflict, fmt.Errorf("reading: %w", notFound)}), true},
		{"wrapped aggregate", fmt.Errorf("status: %w", kerrors.NewAggregate([]error{conflict})), true},
		{"errors.Join of benign errors", errors.Join(conflict, notFound), true},
		{"a real error", errReal, false},
		{"already exists", apierrors.NewAlreadyExists(schema.GroupResource{Resource: "pods"}, "p"), false},
		{"aggregate with a real error", kerrors.NewAggregate([]error{conflict, errReal}), false},
		{"errors.Join with a real error", errors.Join(notFound, errReal), false},
		{"forbidden", apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "p", errors.New("no")), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(IsBenign(tc.err)).To(Equal(tc.want))
		})
	}
}

// captured is one line a funcr logger wrote.
type captured struct{ prefix, args string }

func capture(verbosity int) (logr.Logger, *[]captured) {
	var lines []captured
	l := funcr.New(func(prefix, args string) { lines = append(lines, captured{prefix, args}) }, funcr.Options{Verbosity: verbosity})
	return l, &lines
}

func TestBenignLogger(t *testing.T) {
	for _, tc := range []struct {
		name      string
		verbosity int
		log       func(l logr.Logger)
		// wantError is whether the line is logged as an error; wantLines how
		// many lines are written at all.
		wantError bool
		wantLines int
		wantText  string
	}{
		{
			name:      "a real reconciler error stays an error",
			log:       func(l logr.Logger) { l.Error(errReal, "Reconciler error") },
			wantError: true, wantLines: 1, wantText: "admission webhook denied",
		},
		{
			name:      "a conflict is not logged at verbosity 0",
			log:       func(l logr.Logger) { l.Error(fmt.Errorf("patching: %w", conflict), "Reconciler error") },
			wantLines: 0,
		},
		{
			name: "a not-found is logged as info at verbosity 1", verbosity: 1,
			log:       func(l logr.Logger) { l.Error(notFound, "Reconciler error") },
			wantLines: 1, wantText: `pods \"p\" not found`,
		},
		{
			name: "keys of the controller's logger are kept", verbosity: 1,
			log: func(l logr.Logger) {
				l.WithValues("controller", "machineset").WithName("x").Error(conflict, "Reconciler error")
			},
			wantLines: 1, wantText: `"controller"="machineset"`,
		},
		{
			name:      "other error lines are untouched, even of benign errors",
			log:       func(l logr.Logger) { l.Error(notFound, "Failed to read the Cluster") },
			wantError: true, wantLines: 1,
		},
		{
			name:      "info lines pass",
			log:       func(l logr.Logger) { l.Info("Creating Pod") },
			wantLines: 1, wantText: "Creating Pod",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			base, lines := capture(tc.verbosity)
			tc.log(BenignLogger(base))
			g.Expect(*lines).To(HaveLen(tc.wantLines))
			if tc.wantLines == 0 {
				return
			}
			line := (*lines)[0].args
			g.Expect(line).To(ContainSubstring(tc.wantText))
			// funcr marks error lines with "msg" and an "error" key, info
			// lines with a level; only errors lack "level".
			g.Expect(strings.Contains(line, `"level"=`)).To(Equal(!tc.wantError), line)
		})
	}
}
