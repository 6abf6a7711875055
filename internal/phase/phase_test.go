package phase

import (
	"context"
	"errors"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	ctrl "sigs.k8s.io/controller-runtime"
)

type trace struct{ ran []string }

func step(name string, res ctrl.Result, err error) Func[*trace] {
	return func(_ context.Context, t *trace) (ctrl.Result, error) {
		t.ran = append(t.ran, name)
		return res, err
	}
}

func TestSequence(t *testing.T) {
	boom := errors.New("boom")
	cases := []struct {
		name    string
		phases  []Func[*trace]
		wantRan []string
		wantRes ctrl.Result
		wantErr error
	}{
		{"all pass", []Func[*trace]{step("a", ctrl.Result{}, nil), step("b", ctrl.Result{}, nil)}, []string{"a", "b"}, ctrl.Result{}, nil},
		{"stops at an error", []Func[*trace]{step("a", ctrl.Result{}, boom), step("b", ctrl.Result{}, nil)}, []string{"a"}, ctrl.Result{}, boom},
		{"stops at a requeue", []Func[*trace]{step("a", ctrl.Result{RequeueAfter: time.Second}, nil), step("b", ctrl.Result{}, nil)}, []string{"a"}, ctrl.Result{RequeueAfter: time.Second}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			tr := &trace{}
			res, err := Sequence(context.Background(), tr, tc.phases...)
			g.Expect(tr.ran).To(Equal(tc.wantRan))
			g.Expect(res).To(Equal(tc.wantRes))
			if tc.wantErr == nil {
				g.Expect(err).NotTo(HaveOccurred())
			} else {
				g.Expect(err).To(MatchError(tc.wantErr))
			}
		})
	}
}

func TestAll(t *testing.T) {
	g := NewWithT(t)
	a, b := errors.New("a failed"), errors.New("c failed")
	tr := &trace{}
	res, err := All(context.Background(), tr,
		step("a", ctrl.Result{RequeueAfter: 5 * time.Second}, a),
		step("b", ctrl.Result{RequeueAfter: 2 * time.Second}, nil),
		step("c", ctrl.Result{}, b),
	)
	g.Expect(tr.ran).To(Equal([]string{"a", "b", "c"}), "every phase runs even after a failure")
	g.Expect(res.RequeueAfter).To(Equal(2*time.Second), "the soonest requeue wins")
	g.Expect(err).To(MatchError(a))
	g.Expect(err).To(MatchError(b))

	res, err = All(context.Background(), &trace{}, step("a", ctrl.Result{}, nil))
	g.Expect(res).To(Equal(ctrl.Result{}))
	g.Expect(err).NotTo(HaveOccurred())
}

func TestSoonest(t *testing.T) {
	cases := []struct {
		name string
		a, b time.Duration
		want time.Duration
	}{
		{"none", 0, 0, 0},
		{"only a", 3 * time.Second, 0, 3 * time.Second},
		{"only b", 0, 3 * time.Second, 3 * time.Second},
		{"b sooner", 3 * time.Second, time.Second, time.Second},
		{"a sooner", time.Second, 3 * time.Second, time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Soonest(ctrl.Result{RequeueAfter: tc.a}, ctrl.Result{RequeueAfter: tc.b})
			NewWithT(t).Expect(got.RequeueAfter).To(Equal(tc.want))
		})
	}
}
