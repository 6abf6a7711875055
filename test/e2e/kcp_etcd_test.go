package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	controlplanev1 "github.com/podcluster/podcluster/api/controlplane/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
	"github.com/podcluster/podcluster/cmd/podcluster/app/describe"
	"github.com/podcluster/podcluster/cmd/podcluster/client/manifest"
	"github.com/podcluster/podcluster/cmd/podcluster/client/streams"
	"github.com/podcluster/podcluster/internal/etcd"
	"github.com/podcluster/podcluster/internal/pki"
	"github.com/podcluster/podcluster/test/sim"
)

// stackedKCP is examples/kcp's control plane without its workers, with
// etcd.local in its ClusterConfiguration: the simulated runtime runs an etcd
// member and an API server per control-plane node.
func stackedKCP(g Gomega) []*unstructured.Unstructured {
	return stackedExample(g, 0)
}

// stackedExample is examples/kcp with etcd.local in its control plane's
// ClusterConfiguration and the MachineDeployment scaled to workers (none of
// the workers' objects when 0).
func stackedExample(g Gomega, workers int64) []*unstructured.Unstructured {
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
		case workers > 0 && o.GetKind() == "MachineDeployment":
			g.Expect(unstructured.SetNestedField(o.Object, workers, "spec", "replicas")).To(Succeed())
			out = append(out, o)
		case workers > 0:
			out = append(out, o)
		}
	}
	if workers == 0 {
		g.Expect(out).To(HaveLen(4))
	}
	return out
}

// controlPlaneMachines lists the control-plane Machines of the namespace,
// read with mc, oldest first.
func controlPlaneMachines(g Gomega, mc client.Client, ns string) []clusterv1.Machine {
	list := &clusterv1.MachineList{}
	g.Expect(mc.List(context.Background(), list, client.InNamespace(ns), client.HasLabels{clusterv1.MachineControlPlaneLabel})).To(Succeed())
	slices.SortFunc(list.Items, func(a, b clusterv1.Machine) int {
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return list.Items
}

// etcdOf connects to the cluster's etcd at its control-plane Machines'
// addresses, with a client certificate of the cluster's etcd CA, read with mc.
func etcdOf(g Gomega, mc client.Client, ns, cluster string) etcd.Client {
	secret := &corev1.Secret{}
	g.Expect(mc.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: cluster + "-etcd"}, secret)).To(Succeed())
	ca, err := pki.ParseKeyPair(secret.Data[corev1.TLSCertKey], secret.Data[corev1.TLSPrivateKeyKey])
	g.Expect(err).NotTo(HaveOccurred())
	tlsConfig, err := etcd.TLSConfig(ca, "e2e")
	g.Expect(err).NotTo(HaveOccurred())
	var endpoints []string
	for _, m := range controlPlaneMachines(g, mc, ns) {
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
// control-plane Machines' Nodes, each healthy, and that there are n.
func membersMatchMachines(g Gomega, mc client.Client, ns, cluster string, n int) {
	ctx := context.Background()
	ms := controlPlaneMachines(g, mc, ns)
	g.Expect(ms).To(HaveLen(n))
	var nodes []string
	for _, m := range ms {
		g.Expect(m.DeletionTimestamp).To(BeNil(), m.Name)
		g.Expect(m.Status.NodeRef.Name).NotTo(BeEmpty(), m.Name)
		nodes = append(nodes, m.Status.NodeRef.Name)
	}
	ec := etcdOf(g, mc, ns, cluster)
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
		ec := etcdOf(g, c, ns, cluster)
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
// EtcdClusterHealthy False, naming that member, until it runs again. A
// control-plane Machine deleted by hand loses its member at the control
// plane's pre-terminate hook and is replaced.
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
			membersMatchMachines(g, c, ns, cluster, int(n))
			g.Expect(kcpCondition(g)).To(HaveField("Status", metav1.ConditionTrue))
		}, 6*time.Minute, time.Second).Should(Succeed())
		t.Logf("%d control-plane Machines, %d etcd members %s after the scale", n, n, time.Since(stepStart).Round(time.Second))
	}

	g.Eventually(func(g Gomega) {
		kcp := &controlplanev1.KubeadmControlPlane{}
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: kcpName}, kcp)).To(Succeed())
		g.Expect(kcp.Status.ReadyReplicas).To(HaveValue(BeEquivalentTo(3)))
		membersMatchMachines(g, c, ns, cluster, 3)
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

	// A control-plane Machine deleted by hand waits, at the control plane's
	// pre-terminate hook, until its member is gone; the control plane
	// replaces it, and no member of it is left behind.
	var gone clusterv1.Machine
	for _, m := range machines(g, ns) {
		if _, ok := m.Labels[clusterv1.MachineControlPlaneLabel]; ok && m.Status.NodeRef.Name != "" {
			gone = m
		}
	}
	g.Expect(gone.Annotations).To(HaveKey(controlplanev1.PreTerminateHookCleanupAnnotation))
	stepStart := time.Now()
	g.Expect(c.Delete(ctx, &gone)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(apierrors.IsNotFound(c.Get(ctx, client.ObjectKeyFromObject(&gone), &clusterv1.Machine{}))).To(BeTrue(), "Machine %s still there", gone.Name)
		kcp := &controlplanev1.KubeadmControlPlane{}
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: kcpName}, kcp)).To(Succeed())
		g.Expect(kcp.Status.ReadyReplicas).To(HaveValue(BeEquivalentTo(3)))
		membersMatchMachines(g, c, ns, cluster, 3)
		g.Expect(kcpCondition(g)).To(HaveField("Status", metav1.ConditionTrue))
	}, 6*time.Minute, time.Second).Should(Succeed(), func() string { return providersLogAbout(gone.Name, 60) })
	t.Logf("Machine %s deleted by hand: replaced, its member gone, %s after the delete", gone.Name, time.Since(stepStart).Round(time.Second))

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

// kcpView reads a KubeadmControlPlane and its conditions with mc.
type kcpView struct {
	mc      client.Client
	key     client.ObjectKey
	cluster string
}

func (v kcpView) get(g Gomega) *controlplanev1.KubeadmControlPlane {
	kcp := &controlplanev1.KubeadmControlPlane{}
	g.Expect(v.mc.Get(context.Background(), v.key, kcp)).To(Succeed())
	return kcp
}

func (v kcpView) condition(g Gomega, t string) *metav1.Condition {
	cond := condition(v.get(g).Status.Conditions, t)
	g.Expect(cond).NotTo(BeNil(), t)
	return cond
}

// healthy checks a settled control plane of n: n Ready and up-to-date
// Machines whose Nodes are exactly the etcd members, each member healthy,
// every static Pod of every Machine healthy, and the control plane's
// EtcdClusterHealthy, ControlPlaneComponentsHealthy and Available True.
func (v kcpView) healthy(g Gomega, n int32) {
	kcp := v.get(g)
	g.Expect(kcp.Status.Replicas).To(HaveValue(Equal(n)))
	g.Expect(kcp.Status.ReadyReplicas).To(HaveValue(Equal(n)))
	g.Expect(kcp.Status.UpToDateReplicas).To(HaveValue(Equal(n)))
	membersMatchMachines(g, v.mc, v.key.Namespace, v.cluster, int(n))
	for _, t := range []string{controlplanev1.KubeadmControlPlaneEtcdClusterHealthyCondition,
		controlplanev1.KubeadmControlPlaneControlPlaneComponentsHealthyCondition, controlplanev1.KubeadmControlPlaneAvailableCondition} {
		cond := condition(kcp.Status.Conditions, t)
		g.Expect(cond).NotTo(BeNil(), t)
		g.Expect(cond.Status).To(Equal(metav1.ConditionTrue), "%s: %s", t, cond.Message)
	}
	for _, m := range controlPlaneMachines(g, v.mc, v.key.Namespace) {
		for _, t := range []string{controlplanev1.KubeadmControlPlaneMachineAPIServerPodHealthyCondition,
			controlplanev1.KubeadmControlPlaneMachineControllerManagerPodHealthyCondition,
			controlplanev1.KubeadmControlPlaneMachineSchedulerPodHealthyCondition,
			controlplanev1.KubeadmControlPlaneMachineEtcdPodHealthyCondition,
			controlplanev1.KubeadmControlPlaneMachineEtcdMemberHealthyCondition} {
			g.Expect(condition(m.Status.Conditions, t)).To(HaveField("Status", metav1.ConditionTrue), "%s %s", m.Name, t)
		}
	}
}

// markForRemediation plays a MachineHealthCheck that found the Machine
// unhealthy: HealthCheckSucceeded=False and OwnerRemediated=False. Another
// writer of the Machine's conditions may drop the marks with a patch
// computed before them, so it marks again whenever they are missing; it
// reports whether the Machine is still there to mark.
func markForRemediation(g Gomega, mc client.Client, ns, name string) bool {
	m := &clusterv1.Machine{}
	err := mc.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, m)
	if apierrors.IsNotFound(err) {
		return false
	}
	g.Expect(err).NotTo(HaveOccurred())
	if !m.DeletionTimestamp.IsZero() {
		return false
	}
	hc := condition(m.Status.Conditions, clusterv1.MachineHealthCheckSucceededCondition)
	or := condition(m.Status.Conditions, clusterv1.MachineOwnerRemediatedCondition)
	if hc != nil && hc.Status == metav1.ConditionFalse && or != nil && or.Status == metav1.ConditionFalse {
		return true
	}
	before := m.DeepCopy()
	now := metav1.Now()
	set := func(c metav1.Condition) {
		c.LastTransitionTime, c.ObservedGeneration = now, m.Generation
		for i := range m.Status.Conditions {
			if m.Status.Conditions[i].Type == c.Type {
				m.Status.Conditions[i] = c
				return
			}
		}
		m.Status.Conditions = append(m.Status.Conditions, c)
	}
	set(metav1.Condition{Type: clusterv1.MachineHealthCheckSucceededCondition, Status: metav1.ConditionFalse,
		Reason: clusterv1.MachineHealthCheckSucceededUnhealthyMachineReason, Message: "Health check failed: marked by the e2e test"})
	set(metav1.Condition{Type: clusterv1.MachineOwnerRemediatedCondition, Status: metav1.ConditionFalse,
		Reason: clusterv1.MachineOwnerRemediatedWaitingForRemediationReason, Message: "Waiting for remediation"})
	g.Expect(mc.Status().Patch(context.Background(), m, client.MergeFrom(before))).To(Succeed())
	return true
}

// setStopEtcd injects (stop) or lifts the stop of a Machine's etcd member,
// through its KubernetesMachine.
func setStopEtcd(g Gomega, mc client.Client, m clusterv1.Machine, stop bool) {
	km := &infrav1.KubernetesMachine{}
	g.Expect(mc.Get(context.Background(), client.ObjectKey{Namespace: m.Namespace, Name: m.Spec.InfrastructureRef.Name}, km)).To(Succeed())
	before := km.DeepCopy()
	if stop {
		if km.Annotations == nil {
			km.Annotations = map[string]string{}
		}
		km.Annotations[sim.StopEtcdAnnotation] = "true"
	} else {
		delete(km.Annotations, sim.StopEtcdAnnotation)
	}
	g.Expect(mc.Patch(context.Background(), km, client.MergeFrom(before))).To(Succeed())
}

// TestKCPStackedEtcdLifecycle: one cluster (examples/kcp with etcd.local and
// 2 workers) goes through what a stacked control plane lives through, while
// a sampler checks throughout that etcd keeps quorum and the control-plane
// endpoint answers.
//
//   - Up: 3 control-plane and 2 worker Nodes Ready, exactly 3 healthy etcd
//     members (one per control-plane Machine), every static Pod healthy,
//     ControlPlaneComponentsHealthy and Available True, and podcluster
//     describe shows the control plane as 3/3.
//   - Rollout: spec.rollout.after and a kubeadmConfigSpec change at once
//     replace every control-plane Machine, one at a time (never more than 4
//     Machines, never two on their way out); the members follow.
//   - Remediation: a Machine marked as a MachineHealthCheck marks it is
//     replaced. With another member's etcd stopped (its etcd Pod is then not
//     healthy, which ControlPlaneComponentsHealthy names, and the control
//     plane stays Available on the quorum of two), a marked Machine is
//     refused, since removing its member would lose quorum: OwnerRemediated
//     and Remediating say so and the Machine stays. Once etcd runs again, it
//     is replaced.
func TestKCPStackedEtcdLifecycle(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	const cluster, kcpName = "example-kcp", "example-kcp-control-plane"
	v := kcpView{mc: c, key: client.ObjectKey{Namespace: ns, Name: kcpName}, cluster: cluster}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(kubectl(NewWithT(t), "get", "kcp,clusters,machines,pods", "-n", ns, "-o", "wide"))
			t.Log(kubectl(NewWithT(t), "get", "kcp,machines", "-n", ns, "-o",
				`jsonpath={range .items[*]}{.kind}/{.metadata.name}:{"\n"}{range .status.conditions[*]}  {.type}={.status} {.reason}: {.message}{"\n"}{end}{end}`))
			t.Log(providersLogAbout(`"`+ns+`"`, 400))
		}
	})

	// Up.
	start := time.Now()
	g.Expect(manifest.Apply(ctx, c, ns, stackedExample(g, 2)...)).To(Succeed())
	g.Eventually(func(g Gomega) {
		v.healthy(g, 3)
		g.Expect(readyNodesOf(g, c, ns, cluster)).To(HaveLen(5))
	}, 10*time.Minute, time.Second).Should(Succeed())
	t.Logf("up: 3 control-plane and 2 worker Nodes Ready, 3 healthy etcd members, components healthy %s after apply", time.Since(start).Round(time.Second))
	var out strings.Builder
	cmd := describe.NewCommand(streams.IO{Out: &out, ErrOut: &out})
	cmd.SetArgs([]string{"cluster", cluster, "-n", ns, "--kubeconfig", kubeconfig, "--color", "never"})
	g.Expect(cmd.Execute()).To(Succeed(), out.String())
	g.Expect(out.String()).To(MatchRegexp(`KubeadmControlPlane/`+kcpName+`\s+3/3`), out.String())

	sampler := sampleQuorum(ns, cluster)

	// Rollout: every control-plane Machine is replaced, one at a time.
	start = time.Now()
	old := map[string]bool{}
	for _, m := range controlPlaneMachines(g, c, ns) {
		old[m.Name] = true
	}
	kcp := v.get(g)
	before := kcp.DeepCopy()
	kcp.Spec.Rollout.After = metav1.Now()
	kcp.Spec.KubeadmConfigSpec.PreKubeadmCommands = append(kcp.Spec.KubeadmConfigSpec.PreKubeadmCommands, "echo rolled out by the e2e test")
	g.Expect(c.Patch(ctx, kcp, client.MergeFrom(before))).To(Succeed())
	most, leaving := 0, 0
	g.Eventually(func(g Gomega) {
		ms := controlPlaneMachines(g, c, ns)
		deleting := 0
		for _, m := range ms {
			if !m.DeletionTimestamp.IsZero() {
				deleting++
			}
		}
		most, leaving = max(most, len(ms)), max(leaving, deleting)
		for _, m := range ms {
			g.Expect(old).NotTo(HaveKey(m.Name), "Machine %s is not replaced yet", m.Name)
		}
		v.healthy(g, 3)
		g.Expect(v.condition(g, controlplanev1.KubeadmControlPlaneRollingOutCondition).Status).To(Equal(metav1.ConditionFalse))
	}, 25*time.Minute, time.Second).Should(Succeed())
	t.Logf("rollout: 3 control-plane Machines replaced %s after the change (at most %d Machines, %d on their way out)", time.Since(start).Round(time.Second), most, leaving)
	g.Expect(most).To(BeNumerically("<=", 4), "the rollout surged by more than one")
	g.Expect(leaving).To(BeNumerically("<=", 1), "two Machines were on their way out at once")
	for _, m := range controlPlaneMachines(g, c, ns) {
		cfg := &bootstrapv1.KubeadmConfig{}
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: m.Spec.Bootstrap.ConfigRef.Name}, cfg)).To(Succeed())
		g.Expect(cfg.Spec.PreKubeadmCommands).To(ContainElement("echo rolled out by the e2e test"), m.Name)
	}
	g.Expect(readyNodesOf(g, c, ns, cluster)).To(HaveLen(5))

	// Remediation of one Machine of three: replaced.
	start = time.Now()
	victim := controlPlaneMachines(g, c, ns)[0].Name
	g.Eventually(func(g Gomega) {
		g.Expect(markForRemediation(g, c, ns, victim)).To(BeFalse(), "Machine %s is not replaced yet", victim)
		err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: victim}, &clusterv1.Machine{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "Machine %s is gone", victim)
		v.healthy(g, 3)
		g.Expect(v.get(g).Status.LastRemediation.Machine).To(Equal(victim))
	}, 15*time.Minute, time.Second).Should(Succeed())
	t.Logf("remediation: Machine %s replaced %s after it was marked", victim, time.Since(start).Round(time.Second))

	// With another member's etcd stopped, remediating one more would lose
	// quorum: refused, and the Machine stays.
	ms := controlPlaneMachines(g, c, ns)
	stopped, refused := ms[1], ms[0]
	setStopEtcd(g, c, stopped, true)
	g.Eventually(func(g Gomega) {
		cond := v.condition(g, controlplanev1.KubeadmControlPlaneEtcdClusterHealthyCondition)
		g.Expect(cond.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(cond.Message).To(ContainSubstring("Etcd member " + stopped.Status.NodeRef.Name + " is not healthy"))
		// Its etcd Pod is not healthy, named with its Machine.
		etcdPod := "etcd-" + stopped.Status.NodeRef.Name
		cond = v.condition(g, controlplanev1.KubeadmControlPlaneControlPlaneComponentsHealthyCondition)
		g.Expect(cond.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(cond.Message).To(ContainSubstring("* Machine " + stopped.Name + ":\n"))
		g.Expect(cond.Message).To(ContainSubstring("  * EtcdPodHealthy: Pod " + etcdPod + " is not running: CrashLoopBackOff"))
		m := &clusterv1.Machine{}
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(&stopped), m)).To(Succeed())
		g.Expect(condition(m.Status.Conditions, controlplanev1.KubeadmControlPlaneMachineEtcdPodHealthyCondition)).To(And(
			HaveField("Status", metav1.ConditionFalse), HaveField("Reason", controlplanev1.KubeadmControlPlaneMachinePodFailedReason)))
		// The workload cluster says why: the etcd container exited.
		mirror := &corev1.Pod{}
		g.Expect(workloadClientOf(g, c, ns, cluster).Get(ctx, client.ObjectKey{Namespace: metav1.NamespaceSystem, Name: etcdPod}, mirror)).To(Succeed())
		g.Expect(mirror.Status.ContainerStatuses).To(ConsistOf(HaveField("State.Waiting.Reason", "CrashLoopBackOff")))
	}, 3*time.Minute, time.Second).Should(Succeed())
	t.Logf("etcd of %s stopped: %s", stopped.Name, v.condition(g, controlplanev1.KubeadmControlPlaneControlPlaneComponentsHealthyCondition).Message)
	g.Eventually(func(g Gomega) {
		g.Expect(markForRemediation(g, c, ns, refused.Name)).To(BeTrue(), "Machine %s must stay", refused.Name)
		m := &clusterv1.Machine{}
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(&refused), m)).To(Succeed())
		or := condition(m.Status.Conditions, clusterv1.MachineOwnerRemediatedCondition)
		g.Expect(or).NotTo(BeNil())
		g.Expect(or.Reason).To(Equal(controlplanev1.KubeadmControlPlaneMachineCannotBeRemediatedReason))
		g.Expect(or.Message).To(ContainSubstring("quorum"))
		cond := v.condition(g, controlplanev1.KubeadmControlPlaneRemediatingCondition)
		g.Expect(cond.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(cond.Reason).To(Equal(controlplanev1.KubeadmControlPlaneRemediatingRemediationNotAllowedReason))
		g.Expect(cond.Message).To(ContainSubstring("Machine " + refused.Name + " cannot be remediated"))
		// Two members of three keep quorum: the control plane serves.
		g.Expect(v.condition(g, controlplanev1.KubeadmControlPlaneAvailableCondition).Status).To(Equal(metav1.ConditionTrue))
	}, 3*time.Minute, time.Second).Should(Succeed())
	t.Logf("remediation refused: %s", v.condition(g, controlplanev1.KubeadmControlPlaneRemediatingCondition).Message)
	m := &clusterv1.Machine{}
	g.Expect(c.Get(ctx, client.ObjectKeyFromObject(&refused), m)).To(Succeed())
	g.Expect(m.DeletionTimestamp).To(BeNil(), "a refused Machine is not deleted")
	g.Expect(controlPlaneMachines(g, c, ns)).To(HaveLen(3))

	// etcd runs again: the marked Machine is replaced now.
	start = time.Now()
	setStopEtcd(g, c, stopped, false)
	g.Eventually(func(g Gomega) {
		g.Expect(markForRemediation(g, c, ns, refused.Name)).To(BeFalse(), "Machine %s is not replaced yet", refused.Name)
		err := c.Get(ctx, client.ObjectKeyFromObject(&refused), &clusterv1.Machine{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "Machine %s is gone", refused.Name)
		v.healthy(g, 3)
		g.Expect(v.condition(g, controlplanev1.KubeadmControlPlaneRemediatingCondition).Status).To(Equal(metav1.ConditionFalse))
	}, 15*time.Minute, time.Second).Should(Succeed())
	t.Logf("remediation: Machine %s replaced %s after etcd ran again", refused.Name, time.Since(start).Round(time.Second))
	g.Expect(readyNodesOf(g, c, ns, cluster)).To(HaveLen(5))

	samples, failures := sampler.stop()
	t.Logf("sampler: %d samples, %d failures", samples, len(failures))
	g.Expect(samples).To(BeNumerically(">", 0))
	g.Expect(failures).To(BeEmpty(), strings.Join(failures, "\n"))
	// Every Machine after the first joined: the rollout and the
	// remediations never made a second kubeadm init.
	g.Expect(kubeadmInits(g, providersLog(), ns)).To(HaveLen(1), "exactly one node ran kubeadm init")
}

// startManager runs `podcluster manager` for the providers named, against
// the plane of a state folder, as a process of its own that the test can
// kill; it is killed when the test ends.
func startManager(t *testing.T, state, providers string) *upProcess {
	t.Helper()
	m := &upProcess{output: newUpOutput(readyLine), exited: make(chan struct{})}
	m.cmd = exec(podcluster(t), "manager", "--kubeconfig", filepath.Join(state, "kubeconfig"), "--providers="+providers,
		"--metrics-bind-address=0", "--health-probe-bind-address=0")
	m.cmd.Dir = root
	m.cmd.Stdout, m.cmd.Stderr = m.output, m.output
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	m.cmd.WaitDelay = 10 * time.Second
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		m.err = m.cmd.Wait()
		close(m.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-m.exited:
		default:
			_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
			<-m.exited
		}
	})
	return m
}

// kubeadmInits are the lines of a providers log (where a plane's simulated
// runtime logs too) that say a node of namespace ns ran kubeadm init: the
// runtime logs one when it starts the init node's API server (and, stacked,
// its etcd member, which founds the etcd cluster).
func kubeadmInits(g Gomega, providersLog, ns string) []string {
	b, err := os.ReadFile(providersLog)
	g.Expect(err).NotTo(HaveOccurred())
	var inits []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, `"kubeadm init: started `) && strings.Contains(line, `"namespace":"`+ns+`"`) {
			inits = append(inits, line)
		}
	}
	return inits
}

// TestKCPManagerRestartDuringScaleUp: the control-plane provider killed with
// SIGKILL and started again while a stacked control plane of 3 comes up
// (once while the first Machine runs kubeadm init, once while the second
// joins) ends with exactly 3 Machines, exactly their 3 etcd members, all
// healthy, and exactly one kubeadm init. It runs on a plane of its own
// (`podcluster up` without the control-plane provider, which runs as
// `podcluster manager`), so that only that provider restarts: the nodes,
// their etcd members and the other providers go on.
func TestKCPManagerRestartDuringScaleUp(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	state := t.TempDir()
	up := startUp(t, state, append(ownPlaneSimFlags(17, 18), "--providers=core,kubeadm-bootstrap,kubernetes")...)
	up.waitReady(t, upReadyTimeout)
	mc := planeClient(g, state)
	const ns, cluster, kcpName = "default", "example-kcp", "example-kcp-control-plane"
	v := kcpView{mc: mc, key: client.ObjectKey{Namespace: ns, Name: kcpName}, cluster: cluster}
	manager := startManager(t, state, "kubeadm-control-plane")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("manager output:\n%s", manager.output)
		}
	})

	start := time.Now()
	g.Expect(manifest.Apply(ctx, mc, ns, stackedKCP(g)...)).To(Succeed())
	restart := func(when string, machines int) {
		var newest clusterv1.Machine
		g.Eventually(func(g Gomega) {
			ms := controlPlaneMachines(g, mc, ns)
			g.Expect(len(ms)).To(BeNumerically(">=", machines))
			newest = ms[machines-1]
		}, 10*time.Minute, 50*time.Millisecond).Should(Succeed())
		g.Expect(manager.stop(t, syscall.SIGKILL, time.Minute)).To(Equal(-1), "killed by the signal")
		// The Machine had no Node in the read just before the kill: its
		// kubeadm init or join was under way, not done.
		g.Expect(newest.Status.NodeRef.Name).To(BeEmpty(), "Machine %s had its Node before the kill", newest.Name)
		t.Logf("killed the control-plane provider %s, Machine %s (%s after apply)", when, newest.Name, time.Since(start).Round(time.Second))
		manager = startManager(t, state, "kubeadm-control-plane")
	}
	restart("while the first Machine runs kubeadm init", 1)
	restart("while the second Machine joins", 2)

	g.Eventually(func(g Gomega) {
		v.healthy(g, 3)
	}, 15*time.Minute, time.Second).Should(Succeed())
	t.Logf("3 healthy control-plane Machines and etcd members %s after apply", time.Since(start).Round(time.Second))
	g.Expect(controlPlaneMachines(g, mc, ns)).To(HaveLen(3), "no Machine beyond the desired ones")
	inits := kubeadmInits(g, filepath.Join(state, "logs", "providers.log"), ns)
	g.Expect(inits).To(HaveLen(1), "exactly one node ran kubeadm init")
	// On a node of one of the 3 Machines (a node Pod is named as its
	// Machine), the oldest: the others joined it.
	g.Expect(inits[0]).To(ContainSubstring(`"` + controlPlaneMachines(g, mc, ns)[0].Name + `"`))
}
