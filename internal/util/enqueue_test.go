package util

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// TestEnqueueUpdatesAfter: creations, deletions, a deletion's start and a
// change of controller reach the parent at once; other updates only after
// the delay, merged into one request; an update maps old and new objects.
func TestEnqueueUpdatesAfter(t *testing.T) {
	const delay = 200 * time.Millisecond
	machine := func(owner string) *clusterv1.Machine {
		return &clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Name: "m", Namespace: "ns", ResourceVersion: "1",
			OwnerReferences: []metav1.OwnerReference{{Kind: "MachineSet", Name: owner, Controller: ptr.To(true)}}}}
	}
	toOwner := func(_ context.Context, o client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: o.GetNamespace(), Name: o.GetOwnerReferences()[0].Name}}}
	}
	now := metav1.Now()
	cases := []struct {
		name      string
		send      func(q workqueue.TypedRateLimitingInterface[reconcile.Request])
		immediate []string // owners queued at once
		later     []string // owners queued only after the delay
	}{
		{"create", func(q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			EnqueueUpdatesAfter(delay, toOwner).Create(context.Background(), event.CreateEvent{Object: machine("a")}, q)
		}, []string{"a"}, nil},
		{"delete", func(q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			EnqueueUpdatesAfter(delay, toOwner).Delete(context.Background(), event.DeleteEvent{Object: machine("a")}, q)
		}, []string{"a"}, nil},
		{"status updates, merged", func(q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			h := EnqueueUpdatesAfter(delay, toOwner)
			for range 3 {
				n := machine("a")
				n.ResourceVersion = "2"
				n.Status.Phase = "Running"
				h.Update(context.Background(), event.UpdateEvent{ObjectOld: machine("a"), ObjectNew: n}, q)
			}
		}, nil, []string{"a"}},
		{"deletion starts", func(q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			n := machine("a")
			n.DeletionTimestamp = &now
			EnqueueUpdatesAfter(delay, toOwner).Update(context.Background(), event.UpdateEvent{ObjectOld: machine("a"), ObjectNew: n}, q)
		}, []string{"a"}, nil},
		{"new controller: old and new", func(q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			EnqueueUpdatesAfter(delay, toOwner).Update(context.Background(), event.UpdateEvent{ObjectOld: machine("a"), ObjectNew: machine("b")}, q)
		}, []string{"a", "b"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
			defer q.ShutDown()
			tc.send(q)
			g.Expect(q.Len()).To(Equal(len(tc.immediate)), "queued at once")
			var got []string
			for range tc.immediate {
				req, _ := q.Get()
				got = append(got, req.Name)
				q.Done(req)
			}
			g.Expect(got).To(ConsistOf(tc.immediate))
			if tc.later == nil {
				return
			}
			time.Sleep(delay / 2)
			g.Expect(q.Len()).To(BeZero(), "not before the delay")
			g.Eventually(q.Len, 5*delay, 10*time.Millisecond).Should(Equal(len(tc.later)), "after the delay, merged")
		})
	}
}
