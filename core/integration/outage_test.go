package integration

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/conditions"
)

// outageProxy forwards TCP on a loopback address to the workload API server,
// and can take that path down (closing every connection) and up again on
// the same address: a workload cluster outage, as its controllers see it.
type outageProxy struct {
	addr, upstream string
	mu             sync.Mutex
	ln             net.Listener
	conns          map[net.Conn]struct{}
	count          int
}

func (p *outageProxy) accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.count
}

func newOutageProxy(t *testing.T, upstream string) *outageProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &outageProxy{addr: ln.Addr().String(), upstream: upstream, conns: map[net.Conn]struct{}{}}
	p.serve(ln)
	t.Cleanup(p.down)
	return p
}

func (p *outageProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.forward(c)
		}
	}()
}

func (p *outageProxy) forward(c net.Conn) {
	u, err := net.Dial("tcp", p.upstream)
	if err != nil {
		_ = c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[u] = struct{}{}, struct{}{}
	p.count++
	p.mu.Unlock()
	go func() { _, _ = io.Copy(u, c); _ = u.Close() }()
	_, _ = io.Copy(c, u)
	_ = c.Close()
}

func (p *outageProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
}

func (p *outageProxy) up(g Gomega) {
	// The port was just ours; take it again.
	var ln net.Listener
	g.Eventually(func() error {
		var err error
		ln, err = net.Listen("tcp", p.addr)
		if err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
		return nil
	}, 10*time.Second, 100*time.Millisecond).Should(Succeed())
	p.serve(ln)
}

// TestRunningThroughWorkloadOutage: a Running Machine stays Running while its
// workload cluster's API server cannot be reached, says so in NodeHealthy,
// and is healthy again once the API server answers.
func TestRunningThroughWorkloadOutage(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(t, g, ns, "outage")
	proxy := throughProxy(t, g, ns, c.name)

	m := newMachine(g, c, "m1", nil)
	waitForRunning(g, ns, 1, time.Minute)
	g.Expect(proxy.accepted()).To(BeNumerically(">", 0), "the workload cluster is reached through the proxy")

	proxy.down()
	got := &clusterv1.Machine{}
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(m), got)).To(Succeed())
		healthy := conditions.Get(got.Status.Conditions, clusterv1.MachineNodeHealthyCondition)
		g.Expect(healthy).NotTo(BeNil())
		g.Expect(healthy.Status).To(Equal(metav1.ConditionUnknown))
	}, 2*time.Minute, 200*time.Millisecond).Should(Succeed())
	g.Expect(got.Status.Phase).To(Equal("Running"), "the outage is in NodeHealthy, not in the phase")
	g.Consistently(func(g Gomega) string {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(m), got)).To(Succeed())
		return got.Status.Phase
	}, 3*time.Second, 200*time.Millisecond).Should(Equal("Running"))

	proxy.up(g)
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(m), got)).To(Succeed())
		g.Expect(conditions.IsTrue(got.Status.Conditions, clusterv1.MachineNodeHealthyCondition)).To(BeTrue())
		g.Expect(got.Status.Phase).To(Equal("Running"))
	}, 2*time.Minute, 200*time.Millisecond).Should(Succeed())
}

// throughProxy points the kubeconfig Secret of cluster at a new outage proxy
// in front of the workload API server, and returns the proxy.
func throughProxy(t *testing.T, g Gomega, ns, cluster string) *outageProxy {
	t.Helper()
	ctx := context.Background()
	u, err := url.Parse(workload.Config.Host)
	g.Expect(err).NotTo(HaveOccurred())
	proxy := newOutageProxy(t, u.Host)
	secret := &corev1.Secret{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: cluster + "-kubeconfig"}, secret)).To(Succeed())
	cfg, err := clientcmd.Load(secret.Data["value"])
	g.Expect(err).NotTo(HaveOccurred())
	for _, cl := range cfg.Clusters {
		cl.Server = "https://" + proxy.addr
	}
	secret.Data["value"], err = clientcmd.Write(*cfg)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(env.Client.Update(ctx, secret)).To(Succeed())
	return proxy
}
