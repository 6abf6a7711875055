package initlock

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
	"github.com/podcluster/podcluster/test/testenv"
)

// env's client talks to the API server directly, so it is the uncached
// Client the lock asks for.
var env *testenv.Environment

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &env)) }

func newCluster(g Gomega, ns string) *clusterv1.Cluster {
	c := &clusterv1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "c1"},
		Spec: clusterv1.ClusterSpec{InfrastructureRef: clusterv1.ContractVersionedObjectReference{
			APIGroup: infrav1.GroupVersion.Group, Kind: "KubernetesCluster", Name: "c1"}},
	}
	g.Expect(env.Client.Create(context.Background(), c)).To(Succeed())
	return c
}

func newMachine(g Gomega, c *clusterv1.Cluster, name string) *clusterv1.Machine {
	m := &clusterv1.Machine{
		ObjectMeta: metav1.ObjectMeta{Namespace: c.Namespace, Name: name},
		Spec: clusterv1.MachineSpec{
			ClusterName:       c.Name,
			Bootstrap:         clusterv1.Bootstrap{ConfigRef: clusterv1.ContractVersionedObjectReference{APIGroup: bootstrapv1.GroupVersion.Group, Kind: "KubeadmConfig", Name: name}},
			InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.GroupVersion.Group, Kind: "KubernetesMachine", Name: name},
		},
	}
	g.Expect(env.Client.Create(context.Background(), m)).To(Succeed())
	return m
}

// lockOf returns the lock ConfigMap, or nil when there is none.
func lockOf(g Gomega, c *clusterv1.Cluster) *corev1.ConfigMap {
	cm := &corev1.ConfigMap{}
	err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: c.Namespace, Name: Name(c.Name)}, cm)
	if apierrors.IsNotFound(err) {
		return nil
	}
	g.Expect(err).NotTo(HaveOccurred())
	return cm
}

func TestFirstMachineTakesTheLockAndKeepsIt(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	c := newCluster(g, env.NewNamespace(t))
	a, b := newMachine(g, c, "cp-a"), newMachine(g, c, "cp-b")

	held, holder, err := Acquire(ctx, env.Client, c, a)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(held).To(BeTrue())
	g.Expect(holder).To(Equal("cp-a"))

	lock := lockOf(g, c)
	g.Expect(lock).NotTo(BeNil())
	g.Expect(lock.Name).To(Equal("c1-lock"))
	g.Expect(lock.Data).To(Equal(map[string]string{HolderKey: "cp-a"}))
	g.Expect(lock.Labels).To(HaveKeyWithValue(clusterv1.ClusterNameLabel, "c1"))
	g.Expect(lock.OwnerReferences).To(ConsistOf(And(
		HaveField("Kind", "Cluster"), HaveField("Name", "c1"), HaveField("UID", c.UID))))

	// Another Machine is told who holds it, and the lock does not change.
	held, holder, err = Acquire(ctx, env.Client, c, b)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(held).To(BeFalse())
	g.Expect(holder).To(Equal("cp-a"))

	// The holder asking again (its next reconcile) still holds it.
	held, _, err = Acquire(ctx, env.Client, c, a)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(held).To(BeTrue())
	g.Expect(lockOf(g, c).UID).To(Equal(lock.UID), "the lock was not re-created")
}

func TestLockOfAVanishedMachineIsTakenOver(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	c := newCluster(g, env.NewNamespace(t))
	a, b := newMachine(g, c, "cp-a"), newMachine(g, c, "cp-b")

	held, _, err := Acquire(ctx, env.Client, c, a)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(held).To(BeTrue())
	g.Expect(env.Client.Delete(ctx, a)).To(Succeed())

	held, holder, err := Acquire(ctx, env.Client, c, b)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(held).To(BeTrue())
	g.Expect(holder).To(Equal("cp-b"))
	g.Expect(lockOf(g, c).Data).To(HaveKeyWithValue(HolderKey, "cp-b"))
}

func TestReleaseFreesTheLock(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	c := newCluster(g, env.NewNamespace(t))
	a, b := newMachine(g, c, "cp-a"), newMachine(g, c, "cp-b")

	g.Expect(Release(ctx, env.Client, c)).To(Succeed(), "releasing a lock nobody took is no error")
	held, _, err := Acquire(ctx, env.Client, c, a)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(held).To(BeTrue())

	g.Expect(Release(ctx, env.Client, c)).To(Succeed())
	g.Expect(lockOf(g, c)).To(BeNil())
	g.Expect(Release(ctx, env.Client, c)).To(Succeed(), "releasing twice is no error")

	held, holder, err := Acquire(ctx, env.Client, c, b)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(held).To(BeTrue())
	g.Expect(holder).To(Equal("cp-b"))
}

// TestExactlyOneWinner races many Machines for one lock: exactly one holds it
// and every other one is told that Machine's name.
func TestExactlyOneWinner(t *testing.T) {
	g := NewWithT(t)
	c := newCluster(g, env.NewNamespace(t))
	const n = 8
	machines := make([]*clusterv1.Machine, n)
	for i := range machines {
		machines[i] = newMachine(g, c, fmt.Sprintf("cp-%d", i))
	}

	type result struct {
		held   bool
		holder string
		err    error
	}
	results := make([]result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, m := range machines {
		wg.Go(func() {
			<-start // line all of them up so the Creates really overlap
			held, holder, err := Acquire(context.Background(), env.Client, c, m)
			results[i] = result{held, holder, err}
		})
	}
	close(start)
	wg.Wait()

	var winners []string
	for i, r := range results {
		g.Expect(r.err).NotTo(HaveOccurred(), machines[i].Name)
		if r.held {
			winners = append(winners, machines[i].Name)
		}
	}
	g.Expect(winners).To(HaveLen(1))
	for _, r := range results {
		g.Expect(r.holder).To(Equal(winners[0]))
	}
	g.Expect(lockOf(g, c).Data).To(HaveKeyWithValue(HolderKey, winners[0]))
}

// TestReleaserDeletesOncePerCluster: of the many joins that ask for the
// release, only the first sends a DELETE; another cluster is released anew.
func TestReleaserDeletesOncePerCluster(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	cfg, requests := testenv.Counting(env.Config)
	counted, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	c := newCluster(g, env.NewNamespace(t))
	held, _, err := Acquire(ctx, env.Client, c, newMachine(g, c, "cp"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(held).To(BeTrue())

	var r Releaser
	for range 5 {
		g.Expect(r.Release(ctx, counted, c)).To(Succeed())
	}
	g.Expect(lockOf(g, c)).To(BeNil())
	g.Expect(requests.Get("DELETE")).To(Equal(1))

	other := newCluster(g, env.NewNamespace(t))
	g.Expect(r.Release(ctx, counted, other)).To(Succeed())
	g.Expect(requests.Get("DELETE")).To(Equal(2))
}
