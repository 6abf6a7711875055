package sim

import (
	"context"
	"net"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/podcluster/podcluster/test/testenv"
)

// runRuntime runs r against the management cluster mgmt in a manager of its
// own until the returned stop is called, as one run of `podcluster up`.
func runRuntime(g Gomega, mgmt *testenv.Environment, r *Runtime) (stop func()) {
	mgr, err := ctrl.NewManager(mgmt.Config, ctrl.Options{
		Scheme:                 mgmt.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptrTo(true)},
	})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(r.Setup(mgr)).To(Succeed())
	ctx, cancel := context.WithCancel(ctrl.LoggerInto(context.Background(), ctrl.Log))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = mgr.Start(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// TestRestartedRuntimeResumesBootedNodes: a runtime started again on the
// same ScratchDir brings back the API server of a booted control plane at the
// same endpoint, with its data, and the nodes heartbeat again.
func TestRestartedRuntimeResumesBootedNodes(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx := context.Background()
	// A management cluster of its own: the suite's runtime must not see
	// these Pods, and this one restarts.
	mgmt, err := testenv.Start(testenv.Options{})
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = mgmt.Stop() })
	dir := t.TempDir()
	bin, err := testenv.BinDir()
	g.Expect(err).NotTo(HaveOccurred())
	newRuntime := func() *Runtime {
		// Addresses apart from the suite runtime's, whose API servers listen
		// on the same loopback.
		return &Runtime{ScratchDir: dir, EtcdURL: workloadEtcd, BinDir: bin,
			LoopbackBase: netip.MustParseAddr("127.1.200.1"), PodIPBase: netip.MustParseAddr("127.2.200.1")}
	}

	first := newRuntime()
	stopFirst := runRuntime(g, mgmt, first)
	ns := mgmt.NewNamespace(t)
	w := bootWorkload(g, mgmt.Client, ns, "cp-0")
	worker := w.join(g, "worker-0", corev1.ResourceRequirements{})
	g.Expect(w.c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "survivor"}})).To(Succeed())

	// The first runtime stops, and every process it ran with it.
	s := first.servers.forCluster(types.NamespacedName{Namespace: ns, Name: "c1"})
	g.Expect(s).NotTo(BeNil())
	pids := []int{s.proc.cmd.Process.Pid}
	s.mu.Lock()
	for _, c := range s.components {
		c.mu.Lock()
		pids = append(pids, c.proc.cmd.Process.Pid)
		c.mu.Unlock()
	}
	s.mu.Unlock()
	stopFirst()
	for _, pid := range pids {
		g.Expect(processGone(pid)).To(BeTrue(), "process %d outlived the runtime", pid)
	}
	g.Expect(dial(w.endpoint)).NotTo(Succeed())
	lease, err := w.cs.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, worker.Name, metav1.GetOptions{})
	g.Expect(err).To(HaveOccurred(), "no API server, no Lease: %v", lease)

	// The second finds the booted nodes and resumes them.
	second := newRuntime()
	stopSecond := runRuntime(g, mgmt, second)
	defer stopSecond()
	g.Eventually(func(g Gomega) {
		// Same endpoint, same CA, same data.
		g.Expect(w.c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "survivor"}, &corev1.ConfigMap{})).To(Succeed())
	}, clusterBootTimeout, interval).Should(Succeed())
	var renewed time.Time
	g.Eventually(func(g Gomega) {
		lease, err := w.cs.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, worker.Name, metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		if renewed.IsZero() {
			renewed = lease.Spec.RenewTime.Time
		}
		g.Expect(lease.Spec.RenewTime.Time).To(BeTemporally(">", renewed))
		for _, name := range []string{w.cp.Name, worker.Name} {
			status, _ := w.nodeReady(g, name)
			g.Expect(status).To(Equal(corev1.ConditionTrue), name)
		}
	}, timeout, interval).Should(Succeed())
	// The components are back: the scheduler places a Pod, the kubelet runs it.
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "after-restart"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}},
	}
	g.Eventually(func() error { return w.c.Create(ctx, pod) }, timeout, interval).Should(Succeed())
	g.Eventually(func(g Gomega) {
		got := &corev1.Pod{}
		g.Expect(w.c.Get(ctx, client.ObjectKeyFromObject(pod), got)).To(Succeed())
		g.Expect(got.Spec.NodeName).To(Equal(worker.Name))
		g.Expect(got.Status.Phase).To(Equal(corev1.PodRunning))
	}, timeout, interval).Should(Succeed())
	g.Expect(filepath.Join(dir, ns, w.cp.Name, nodeStateFile)).To(BeAnExistingFile())
}

// dial reports whether something listens at addr.
func dial(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	return conn.Close()
}
