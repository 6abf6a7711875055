package remote

import (
	"context"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podcluster/podcluster/test/testenv"
)

var env *testenv.Environment

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &env)) }

func kubeconfigSecret(ns, cluster string, kubeconfig []byte) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: KubeconfigSecretName(cluster)},
		Data:       map[string][]byte{"value": kubeconfig},
	}
}

func TestClusterCache(t *testing.T) {
	g := NewWithT(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	workload, err := testenv.StartWorkload()
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = workload.Stop() }()
	kubeconfig, err := os.ReadFile(workload.KubeconfigPath)
	g.Expect(err).NotTo(HaveOccurred())

	ns := env.NewNamespace(t)
	cc := New(env.Client, env.Scheme, Options{Timeout: 3 * time.Second, HealthProbeInterval: 200 * time.Millisecond, FailureThreshold: 2})
	go func() { _ = cc.Start(ctx) }()
	key := ClusterKey(ns, "w")

	var mu sync.Mutex
	seen := map[string]client.ObjectKey{}
	cc.AddNodeHandler(func(cluster client.ObjectKey, node *corev1.Node) {
		mu.Lock()
		defer mu.Unlock()
		seen[node.Name] = cluster
	})

	t.Run("no kubeconfig yet", func(t *testing.T) {
		_, err := cc.Client(ctx, key)
		NewWithT(t).Expect(err).To(MatchError(ErrClusterNotConnected))
	})

	g.Expect(env.Client.Create(ctx, kubeconfigSecret(ns, "w", kubeconfig))).To(Succeed())
	wc, err := cc.Client(ctx, key)
	g.Expect(err).NotTo(HaveOccurred())

	t.Run("node events reach handlers and reads come from the informer", func(t *testing.T) {
		g := NewWithT(t)
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Spec: corev1.NodeSpec{ProviderID: "kubernetes://ns/n1"}}
		g.Expect(workload.Client.Create(ctx, node)).To(Succeed())
		g.Eventually(func() client.ObjectKey {
			mu.Lock()
			defer mu.Unlock()
			return seen["n1"]
		}, 10*time.Second, 50*time.Millisecond).Should(Equal(key))
		got := &corev1.Node{}
		g.Eventually(func() error { return wc.Get(ctx, client.ObjectKey{Name: "n1"}, got) }, 5*time.Second).Should(Succeed())
		g.Expect(got.Spec.ProviderID).To(Equal("kubernetes://ns/n1"))
	})

	t.Run("same kubeconfig, same client", func(t *testing.T) {
		again, err := cc.Client(ctx, key)
		NewWithT(t).Expect(err).NotTo(HaveOccurred())
		NewWithT(t).Expect(again).To(BeIdenticalTo(wc))
	})

	t.Run("a changed kubeconfig makes a new connection", func(t *testing.T) {
		g := NewWithT(t)
		s := &corev1.Secret{}
		g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "w-kubeconfig"}, s)).To(Succeed())
		s.Data["value"] = append(append([]byte{}, kubeconfig...), []byte("\n# rotated\n")...)
		g.Expect(env.Client.Update(ctx, s)).To(Succeed())
		g.Eventually(func() bool {
			c, err := cc.Client(ctx, key)
			return err == nil && c != wc
		}, 10*time.Second, 100*time.Millisecond).Should(BeTrue())
	})

	t.Run("an unreachable cluster fails fast and does not block others", func(t *testing.T) {
		g := NewWithT(t)
		dead := []byte(`apiVersion: v1
kind: Config
clusters: [{name: d, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: d, user: {token: x}}]
contexts: [{name: d, context: {cluster: d, user: d}}]
current-context: d
`)
		g.Expect(env.Client.Create(ctx, kubeconfigSecret(ns, "dead", dead))).To(Succeed())
		start := time.Now()
		_, err := cc.Client(ctx, ClusterKey(ns, "dead"))
		g.Expect(err).To(MatchError(ErrClusterNotConnected))
		g.Expect(time.Since(start)).To(BeNumerically("<", 10*time.Second))
		_, err = cc.Client(ctx, key)
		g.Expect(err).NotTo(HaveOccurred())
	})

	t.Run("a connection dropped while it is being made does not stay", func(t *testing.T) {
		g := NewWithT(t)
		// A TCP relay in front of the workload API server holds the first
		// connection (the probe) until the test has dropped the entry.
		hold := make(chan struct{})
		relay, held := holdingRelay(t, serverOf(t, kubeconfig), hold)
		g.Expect(env.Client.Create(ctx, kubeconfigSecret(ns, "slow",
			[]byte(strings.Replace(string(kubeconfig), serverOf(t, kubeconfig), relay, 1))))).To(Succeed())
		slow := ClusterKey(ns, "slow")
		errs := make(chan error, 1)
		go func() {
			_, err := cc.Client(ctx, slow)
			errs <- err
		}()
		g.Eventually(held, 10*time.Second).Should(BeClosed())
		cc.Drop(slow)
		close(hold)
		g.Eventually(errs, 20*time.Second).Should(Receive(MatchError(ContainSubstring("dropped while it was being made"))))
		cc.mu.Lock()
		_, stays := cc.clusters[slow]
		cc.mu.Unlock()
		g.Expect(stays).To(BeFalse())
	})

	t.Run("a cluster that stops answering is dropped", func(t *testing.T) {
		g := NewWithT(t)
		_, err := cc.Client(ctx, key)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(workload.Stop()).To(Succeed())
		g.Eventually(func() bool {
			cc.mu.Lock()
			defer cc.mu.Unlock()
			_, ok := cc.clusters[key]
			return ok
		}, 20*time.Second, 100*time.Millisecond).Should(BeFalse())
		_, err = cc.Client(ctx, key)
		g.Expect(err).To(MatchError(ErrClusterNotConnected))
	})
}

// serverOf returns the API server address of a kubeconfig, host:port.
func serverOf(t *testing.T, kubeconfig []byte) string {
	t.Helper()
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(cfg.Host)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// holdingRelay relays TCP to target. Its first connection waits for hold to
// close before any byte moves; held closes when that connection arrives.
func holdingRelay(t *testing.T, target string, hold <-chan struct{}) (addr string, held <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	arrived := make(chan struct{})
	go func() {
		for first := true; ; first = false {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			go func(first bool) {
				defer func() { _ = in.Close() }()
				if first {
					close(arrived)
					<-hold
				}
				out, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer func() { _ = out.Close() }()
				go func() { _, _ = io.Copy(out, in) }()
				_, _ = io.Copy(in, out)
			}(first)
		}
	}()
	return ln.Addr().String(), arrived
}
