package machineset

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

func machine(name string, age time.Duration, annotations map[string]string, conds ...metav1.Condition) *clusterv1.Machine {
	return &clusterv1.Machine{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: annotations, CreationTimestamp: metav1.NewTime(time.Now().Add(-age))},
		Status:     clusterv1.MachineStatus{Conditions: conds},
	}
}

func names(ms []*clusterv1.Machine) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return out
}

func TestDeletionOrder(t *testing.T) {
	ready := metav1.Condition{Type: clusterv1.ReadyCondition, Status: metav1.ConditionTrue}
	unhealthy := metav1.Condition{Type: clusterv1.MachineHealthCheckSucceededCondition, Status: metav1.ConditionFalse}
	machines := []*clusterv1.Machine{
		machine("old", 3*time.Hour, nil, ready),
		machine("new", time.Minute, nil, ready),
		machine("middle", time.Hour, nil, ready),
		machine("marked", 2*time.Hour, map[string]string{clusterv1.DeleteMachineAnnotation: ""}, ready),
		machine("sick", 30*time.Minute, nil, ready, unhealthy),
		machine("notready", 20*time.Minute, nil),
	}
	cases := []struct {
		order clusterv1.MachineSetDeletionOrder
		want  []string
	}{
		{clusterv1.OldestMachineSetDeletionOrder, []string{"marked", "sick", "notready", "old", "middle", "new"}},
		{clusterv1.NewestMachineSetDeletionOrder, []string{"marked", "sick", "notready", "new", "middle", "old"}},
	}
	for _, tc := range cases {
		t.Run(string(tc.order), func(t *testing.T) {
			NewWithT(t).Expect(names(deletionOrder(machines, tc.order))).To(Equal(tc.want))
		})
	}
	t.Run("Random keeps the priorities", func(t *testing.T) {
		got := names(deletionOrder(machines, clusterv1.RandomMachineSetDeletionOrder))
		NewWithT(t).Expect(got[:3]).To(Equal([]string{"marked", "sick", "notready"}))
		NewWithT(t).Expect(got[3:]).To(ConsistOf("old", "middle", "new"))
	})
}

func TestMachineName(t *testing.T) {
	g := NewWithT(t)
	ms := &clusterv1.MachineSet{ObjectMeta: metav1.ObjectMeta{Name: "pool-abc"}, Spec: clusterv1.MachineSetSpec{ClusterName: "c1"}}
	name, err := machineName(ms)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(name).To(MatchRegexp(`^pool-abc-[a-z0-9]{5}$`))
	ms.Spec.MachineNaming.Template = "{{ .cluster.name }}-w-{{ .random }}"
	name, err = machineName(ms)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(name).To(MatchRegexp(`^c1-w-[a-z0-9]{5}$`))
	ms.Spec.MachineNaming.Template = "{{ .cluster.name }}-fixed"
	_, err = machineName(ms)
	g.Expect(err).To(MatchError(ContainSubstring("must contain {{ .random }}")))
}

func TestMarkedForRemediation(t *testing.T) {
	cond := func(t string, s metav1.ConditionStatus) metav1.Condition {
		return metav1.Condition{Type: t, Status: s, Reason: "R"}
	}
	now := metav1.Now()
	cases := []struct {
		name     string
		conds    []metav1.Condition
		deleting bool
		want     bool
	}{
		{name: "marked and unhealthy", want: true, conds: []metav1.Condition{
			cond(clusterv1.MachineOwnerRemediatedCondition, metav1.ConditionFalse), cond(clusterv1.MachineHealthCheckSucceededCondition, metav1.ConditionFalse)}},
		{name: "marked but healthy again", conds: []metav1.Condition{
			cond(clusterv1.MachineOwnerRemediatedCondition, metav1.ConditionFalse), cond(clusterv1.MachineHealthCheckSucceededCondition, metav1.ConditionTrue)}},
		{name: "marked without a health check", conds: []metav1.Condition{cond(clusterv1.MachineOwnerRemediatedCondition, metav1.ConditionFalse)}},
		{name: "unhealthy, not marked (short-circuited)", conds: []metav1.Condition{cond(clusterv1.MachineHealthCheckSucceededCondition, metav1.ConditionFalse)}},
		{name: "remediated already", conds: []metav1.Condition{
			cond(clusterv1.MachineOwnerRemediatedCondition, metav1.ConditionTrue), cond(clusterv1.MachineHealthCheckSucceededCondition, metav1.ConditionFalse)}},
		{name: "being deleted", deleting: true, conds: []metav1.Condition{
			cond(clusterv1.MachineOwnerRemediatedCondition, metav1.ConditionFalse), cond(clusterv1.MachineHealthCheckSucceededCondition, metav1.ConditionFalse)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := &clusterv1.Machine{Status: clusterv1.MachineStatus{Conditions: tc.conds}}
			if tc.deleting {
				m.DeletionTimestamp = &now
			}
			NewWithT(t).Expect(markedForRemediation(m)).To(Equal(tc.want))
		})
	}
}

// TestSlowStart runs fake creates that each wait until their whole batch is
// in flight, so that the most creates in flight at once is the largest batch.
func TestSlowStart(t *testing.T) {
	cases := []struct {
		name      string
		n, limit  int
		failAt    int // the create with this 1-based number fails; 0 for none
		batches   []int
		wantNames int
	}{
		{name: "one", n: 1, limit: 8, batches: []int{1}, wantNames: 1},
		{name: "batches double up to the limit", n: 30, limit: 8, batches: []int{1, 2, 4, 8, 8, 7}, wantNames: 30},
		{name: "never more than n", n: 5, limit: 8, batches: []int{1, 2, 2}, wantNames: 5},
		{name: "a failure in the first batch stops it", n: 30, limit: 8, failAt: 1, batches: []int{1}, wantNames: 0},
		{name: "a failure ends after its batch", n: 30, limit: 8, failAt: 2, batches: []int{1, 2}, wantNames: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			// batchSize[i] is the size of the batch of the create numbered i+1.
			var batchSize []int
			for _, b := range tc.batches {
				for range b {
					batchSize = append(batchSize, b)
				}
			}
			var (
				mu                    sync.Mutex
				calls, inFlight, peak int
			)
			names, err := slowStart(tc.n, tc.limit, func() (string, error) {
				mu.Lock()
				calls++
				call := calls
				inFlight++
				peak = max(peak, inFlight)
				want := 1
				if call <= len(batchSize) {
					want = batchSize[call-1]
				}
				mu.Unlock()
				// The guard only keeps a broken slowStart from hanging the test.
				for guard := time.Now().Add(5 * time.Second); time.Now().Before(guard); time.Sleep(time.Millisecond) {
					mu.Lock()
					arrived := peak >= want
					mu.Unlock()
					if arrived {
						break
					}
				}
				mu.Lock()
				inFlight--
				mu.Unlock()
				if call == tc.failAt {
					return "", errors.New("boom")
				}
				return fmt.Sprint(call), nil
			})
			g.Expect(calls).To(Equal(len(batchSize)), "creates")
			g.Expect(names).To(HaveLen(tc.wantNames))
			g.Expect(peak).To(Equal(slices.Max(tc.batches)), "creates in flight at once")
			if tc.failAt > 0 {
				g.Expect(err).To(MatchError("boom"))
			} else {
				g.Expect(err).NotTo(HaveOccurred())
			}
		})
	}
}

// TestReplicaChange: Machines being deleted count until they are gone, so a
// set never holds more than want Machines, however many of them are stuck.
func TestReplicaChange(t *testing.T) {
	cases := []struct {
		name                 string
		all, deleting, want  int
		wantCreate, wantDrop int
	}{
		{name: "empty", want: 3, wantCreate: 3},
		{name: "steady", all: 3, want: 3},
		{name: "one missing", all: 2, want: 3, wantCreate: 1},
		{name: "one deleting is not replaced before it is gone", all: 3, deleting: 1, want: 3},
		{name: "all deleting and stuck: nothing more", all: 3, deleting: 3, want: 3},
		{name: "deleting ones fill the gap too", all: 2, deleting: 2, want: 3, wantCreate: 1},
		{name: "scale down takes only live Machines", all: 5, deleting: 1, want: 3, wantDrop: 1},
		{name: "scale down already under way", all: 5, deleting: 2, want: 3},
		{name: "scale down past the deleting ones", all: 5, deleting: 4, want: 0, wantDrop: 1},
		{name: "to zero", all: 2, want: 0, wantDrop: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			create, remove := replicaChange(tc.all, tc.deleting, tc.want)
			g.Expect(create).To(Equal(tc.wantCreate), "create")
			g.Expect(remove).To(Equal(tc.wantDrop), "delete")
			g.Expect(tc.all+create).To(BeNumerically("<=", max(tc.all, tc.want)), "never more Machines than wanted, or than there are")
		})
	}
}

func TestOrphanedClone(t *testing.T) {
	ms := &clusterv1.MachineSet{ObjectMeta: metav1.ObjectMeta{Name: "ms", UID: "ms-uid"}}
	yes := true
	msRef := metav1.OwnerReference{Kind: "MachineSet", Name: "ms", UID: "ms-uid"}
	now := metav1.Now()
	cases := []struct {
		name     string
		refs     []metav1.OwnerReference
		deleting bool
		want     bool
	}{
		{name: "owned by the set only", refs: []metav1.OwnerReference{msRef}, want: true},
		{name: "adopted by its Machine", refs: []metav1.OwnerReference{msRef, {Kind: "Machine", Name: "m", UID: "m-uid", Controller: &yes}}},
		{name: "owned by another set of the same name", refs: []metav1.OwnerReference{{Kind: "MachineSet", Name: "ms", UID: "other"}}},
		{name: "owned by nothing: not ours to judge", refs: nil},
		{name: "already being deleted", refs: []metav1.OwnerReference{msRef}, deleting: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := &metav1.ObjectMeta{OwnerReferences: tc.refs}
			if tc.deleting {
				obj.DeletionTimestamp = &now
			}
			NewWithT(t).Expect(orphanedClone(obj, ms)).To(Equal(tc.want))
		})
	}
}

// existingMachines answers the first found Gets as if the Machine existed,
// and NotFound after: names a cache holds, without knowing them in advance.
type existingMachines struct {
	client.Client
	found, gets int
	asked       []string
}

func (c *existingMachines) Get(_ context.Context, key client.ObjectKey, _ client.Object, _ ...client.GetOption) error {
	c.gets++
	c.asked = append(c.asked, key.Name)
	if c.gets <= c.found {
		return nil
	}
	return apierrors.NewNotFound(clusterv1.GroupVersion.WithResource("machines").GroupResource(), key.Name)
}

func TestNewMachineNameSkipsTakenNames(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ms := &clusterv1.MachineSet{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "pool"}}

	// The set's own Machines and this reconcile's names are taken.
	s := &scope{ms: ms, taken: newTakenNames([]*clusterv1.Machine{machine("pool-aaaaa", 0, nil)})}
	g.Expect(s.taken.reserve("pool-aaaaa")).To(BeFalse())
	g.Expect(s.taken.reserve("pool-bbbbb")).To(BeTrue())
	g.Expect(s.taken.reserve("pool-bbbbb")).To(BeFalse())

	// Names Machines in the cache have are skipped.
	c := &existingMachines{found: 3}
	r := &Reconciler{Client: c}
	name, err := r.newMachineName(ctx, s)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(c.asked).To(HaveLen(4))
	g.Expect(name).To(Equal(c.asked[3]))
	for _, n := range c.asked {
		g.Expect(s.taken.reserve(n)).To(BeFalse(), "%s stays taken", n)
	}

	// A template whose names are all taken is an error, not a loop.
	r.Client = &existingMachines{found: nameAttempts}
	_, err = r.newMachineName(ctx, s)
	g.Expect(err).To(MatchError(ContainSubstring("were all taken")))
}
