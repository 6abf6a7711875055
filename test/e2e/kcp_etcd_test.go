package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/podcluster/podcluster/api/controlplane/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
	"github.com/podcluster/podcluster/cmd/podcluster/client/manifest"
	"github.com/podcluster/podcluster/internal/etcd"
	"github.com/podcluster/podcluster/internal/pki"
	"github.com/podcluster/podcluster/test/sim"
)

// stackedKCP is examples/kcp's control plane without its workers, with
// etcd.local in its ClusterConfiguration: the simulated runtime runs an etcd
// member and an API server per control-plane node.
func stackedKCP(g Gomega) []*unstructured.Unstructured {
	objs, err := manifest.ReadPaths(filepath.Join(root, "examples", "kcp"))
	g.Expect(err).NotTo(HaveOccurred())
	var out []*unstructured.Unstructured
	for _, o := range objs {
		switch {
		case o.GetKind() == "KubeadmControlPlane":
			g.Expect(unstructured.SetNestedField(o.Object, "/var/lib/etcd",
				"spec", "kubeadmConfigSpec", "clusterConfiguration", "etcd", "local", "dataDir")).To(Succeed())
			out = append(out, o)
		case o.GetKind() == "KubernetesCluster", o.GetKind() == "Cluster",
			o.GetKind() == "KubernetesMachineTemplate" && o.GetName() == "example-kcp-control-plane":
			out = append(out, o)
		}
	}
	g.Expect(out).To(HaveLen(4))
	return out
}

// etcdOf connects to the cluster's etcd at its control-plane Machines'
// addresses, with a client certificate of the cluster's etcd CA.
func etcdOf(g Gomega, ns, cluster string) etcd.Client {
	secret := &corev1.Secret{}
	g.Expect(c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: cluster + "-etcd"}, secret)).To(Succeed())
	ca, err := pki.ParseKeyPair(secret.Data[corev1.TLSCertKey], secret.Data[corev1.TLSPrivateKeyKey])
	g.Expect(err).NotTo(HaveOccurred())
	tlsConfig, err := etcd.TLSConfig(ca, "e2e")
	g.Expect(err).NotTo(HaveOccurred())
	var endpoints []string
	for _, m := range machines(g, ns) {
		for _, a := range m.Status.Addresses {
			if a.Type == clusterv1.MachineInternalIP {
				endpoints = append(endpoints, fmt.Sprintf("https://%s:%d", a.Address, etcd.DefaultClientPort))
			}
		}
	}
	ec, err := etcd.New(endpoints, tlsConfig)
	g.Expect(err).NotTo(HaveOccurred())
	return ec
}

// membersMatchMachines checks that the etcd members are exactly the
// control-plane Machines' Nodes, each healthy.
func membersMatchMachines(g Gomega, ns, cluster string, n int) {
	ctx := context.Background()
	ms := machines(g, ns)
	g.Expect(ms).To(HaveLen(n))
	var nodes []string
	for _, m := range ms {
		g.Expect(m.DeletionTimestamp).To(BeNil(), m.Name)
		g.Expect(m.Status.NodeRef.Name).NotTo(BeEmpty(), m.Name)
		nodes = append(nodes, m.Status.NodeRef.Name)
	}
	ec := etcdOf(g, ns, cluster)
	defer func() { _ = ec.Close() }()
	members, err := ec.Members(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	var names []string
	for _, m := range members {
		names = append(names, m.Name)
		g.Expect(m.ClientURLs).NotTo(BeEmpty())
		st, err := ec.Status(ctx, m.ClientURLs[0])
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.Leader).NotTo(BeZero())
	}
	g.Expect(names).To(ConsistOf(nodes))
}

// quorumSampler checks, until stopped, that the etcd cluster answers a
// linearizable member list (which needs quorum) and that the control-plane
// endpoint answers a list of Namespaces (a quorum read through an API
// server). A sample may take three tries 200 ms apart, as a client retries
// a connection the load balancer dropped.
type quorumSampler struct {
	mu       sync.Mutex
	samples  int
	failures []string
	stopCh   chan struct{}
	done     chan struct{}
}

func sampleQuorum(ns, cluster string) *quorumSampler {
	s := &quorumSampler{stopCh: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			select {
			case <-s.stopCh:
				return
			case <-time.After(250 * time.Millisecond):
			}
			s.sample(ns, cluster)
		}
	}()
	return s
}

func (s *quorumSampler) sample(ns, cluster string) {
	ctx := context.Background()
	try := func(what string, f func(g Gomega)) {
		var last string
		for range 3 {
			g := NewGomega(func(message string, _ ...int) { panic(message) })
			ok := func() (ok bool) {
				defer func() {
					if r := recover(); r != nil {
						last = fmt.Sprint(r)
					}
				}()
				f(g)
				return true
			}()
			if ok {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		s.mu.Lock()
		s.failures = append(s.failures, fmt.Sprintf("%s %s: %s", time.Now().Format(time.TimeOnly), what, last))
		s.mu.Unlock()
	}
	try("etcd member list", func(g Gomega) {
		ec := etcdOf(g, ns, cluster)
		defer func() { _ = ec.Close() }()
		_, err := ec.Members(ctx)
		g.Expect(err).NotTo(HaveOccurred())
	})
	try("API endpoint", func(g Gomega) {
		g.Expect(workloadClientOf(g, c, ns, cluster).List(ctx, &corev1.NamespaceList{})).To(Succeed())
	})
	s.mu.Lock()
	s.samples++
	s.mu.Unlock()
}

func (s *quorumSampler) stop() (int, []string) {
	close(s.stopCh)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.samples, slices.Clone(s.failures)
}

// TestKCPStackedEtcd: a KubeadmControlPlane of 3 with etcd.local on the
// simulated runtime has a real etcd cluster of exactly 3 members, one per
// control-plane Machine's Node, all healthy, and EtcdClusterHealthy. Scaling
// 3→5→3→1 keeps the member list equal to the Machines' Nodes after each step
// (each member removed before its Machine goes, the leadership moved off
// first), while a sampler sees etcd keep quorum and the endpoint answer
// throughout. Stopping one node's etcd member (an injection) turns
// EtcdClusterHealthy False, naming that member, until it runs again.
// Deleting the Cluster leaves no etcd process and no etcd data.
func TestKCPStackedEtcd(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	const cluster, kcpName = "example-kcp", "example-kcp-control-plane"
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(kubectl(NewWithT(t), "get", "kcp,clusters,machines,pods", "-n", ns, "-o", "wide"))
			t.Log(kubectl(NewWithT(t), "get", "kcp,machines", "-n", ns, "-o",
				`jsonpath={range .items[*]}{.kind}/{.metadata.name}:{"\n"}{range .status.conditions[*]}  {.type}={.status} {.reason}: {.message}{"\n"}{end}{end}`))
		}
	})
	start := time.Now()
	g.Expect(manifest.Apply(ctx, c, ns, stackedKCP(g)...)).To(Succeed())

	kcpCondition := func(g Gomega) *metav1.Condition {
		kcp := &controlplanev1.KubeadmControlPlane{}
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: kcpName}, kcp)).To(Succeed())
		return condition(kcp.Status.Conditions, controlplanev1.KubeadmControlPlaneEtcdClusterHealthyCondition)
	}
	scaleTo := func(n int32) {
		kcp := &controlplanev1.KubeadmControlPlane{}
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: kcpName}, kcp)).To(Succeed())
		before := kcp.DeepCopy()
		kcp.Spec.Replicas = &n
		g.Expect(c.Patch(ctx, kcp, client.MergeFrom(before))).To(Succeed())
		stepStart := time.Now()
		g.Eventually(func(g Gomega) {
			kcp := &controlplanev1.KubeadmControlPlane{}
			g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: kcpName}, kcp)).To(Succeed())
			g.Expect(kcp.Status.Replicas).To(HaveValue(Equal(n)))
			g.Expect(kcp.Status.ReadyReplicas).To(HaveValue(Equal(n)))
			membersMatchMachines(g, ns, cluster, int(n))
			g.Expect(kcpCondition(g)).To(HaveField("Status", metav1.ConditionTrue))
		}, 6*time.Minute, time.Second).Should(Succeed())
		t.Logf("%d control-plane Machines, %d etcd members %s after the scale", n, n, time.Since(stepStart).Round(time.Second))
	}

	g.Eventually(func(g Gomega) {
		kcp := &controlplanev1.KubeadmControlPlane{}
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: kcpName}, kcp)).To(Succeed())
		g.Expect(kcp.Status.ReadyReplicas).To(HaveValue(BeEquivalentTo(3)))
		membersMatchMachines(g, ns, cluster, 3)
		g.Expect(kcpCondition(g)).To(HaveField("Status", metav1.ConditionTrue))
	}, 6*time.Minute, time.Second).Should(Succeed())
	t.Logf("3 Ready control-plane Machines and 3 healthy etcd members %s after apply", time.Since(start).Round(time.Second))
	for _, m := range machines(g, ns) {
		g.Expect(condition(m.Status.Conditions, controlplanev1.KubeadmControlPlaneMachineEtcdMemberHealthyCondition)).
			To(HaveField("Status", metav1.ConditionTrue), m.Name)
	}

	sampler := sampleQuorum(ns, cluster)
	scaleTo(5)
	scaleTo(3)

	// One node's member stops: the control plane names it.
	victim := machines(g, ns)[1]
	km := &infrav1.KubernetesMachine{}
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: victim.Spec.InfrastructureRef.Name}, km)).To(Succeed())
	before := km.DeepCopy()
	km.Annotations = map[string]string{sim.StopEtcdAnnotation: "true"}
	g.Expect(c.Patch(ctx, km, client.MergeFrom(before))).To(Succeed())
	g.Eventually(func(g Gomega) {
		cond := kcpCondition(g)
		g.Expect(cond).To(HaveField("Status", metav1.ConditionFalse))
		g.Expect(cond.Reason).To(Equal(controlplanev1.KubeadmControlPlaneEtcdClusterNotHealthyReason))
		g.Expect(cond.Message).To(ContainSubstring("Etcd member " + victim.Status.NodeRef.Name + " is not healthy"))
	}, 2*time.Minute, time.Second).Should(Succeed())
	t.Logf("EtcdClusterHealthy=False: %s", kcpCondition(g).Message)
	g.Eventually(func(g Gomega) {
		m := &clusterv1.Machine{}
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(&victim), m)).To(Succeed())
		g.Expect(condition(m.Status.Conditions, controlplanev1.KubeadmControlPlaneMachineEtcdMemberHealthyCondition)).
			To(HaveField("Reason", controlplanev1.KubeadmControlPlaneMachineEtcdMemberNotHealthyReason))
	}, time.Minute, time.Second).Should(Succeed())
	g.Expect(c.Get(ctx, client.ObjectKeyFromObject(km), km)).To(Succeed())
	before = km.DeepCopy()
	delete(km.Annotations, sim.StopEtcdAnnotation)
	g.Expect(c.Patch(ctx, km, client.MergeFrom(before))).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(kcpCondition(g)).To(HaveField("Status", metav1.ConditionTrue))
	}, 2*time.Minute, time.Second).Should(Succeed())

	scaleTo(1)
	samples, failures := sampler.stop()
	t.Logf("sampler: %d samples, %d failures", samples, len(failures))
	g.Expect(samples).To(BeNumerically(">", 0))
	g.Expect(failures).To(BeEmpty(), strings.Join(failures, "\n"))

	// Deleting the Cluster leaves no etcd process and no data behind.
	cl := &clusterv1.Cluster{}
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: cluster}, cl)).To(Succeed())
	g.Expect(c.Delete(ctx, cl)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: cluster}, &clusterv1.Cluster{}))
	}, 5*time.Minute, time.Second).Should(BeTrue())
	dataDir := filepath.Join(simDir, ns) + string(filepath.Separator)
	g.Eventually(func() []string { return etcdProcessesUnder(dataDir) }, time.Minute, time.Second).Should(BeEmpty())
	g.Eventually(func() []string {
		found, _ := filepath.Glob(filepath.Join(simDir, ns, "*", "etcd-data"))
		return found
	}, time.Minute, time.Second).Should(BeEmpty())
}

// etcdProcessesUnder lists the etcd processes whose data dir is under dir.
func etcdProcessesUnder(dir string) []string {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var out []string
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if len(args) == 0 || filepath.Base(args[0]) != "etcd" {
			continue
		}
		for _, a := range args {
			if strings.HasPrefix(a, "--data-dir="+dir) {
				out = append(out, filepath.Dir(p)+": "+a)
			}
		}
	}
	return out
}
