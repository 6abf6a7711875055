package sim

import (
	"context"
	"crypto/x509"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
	"github.com/podcluster/podcluster/bootstrap/kubeadm/kubeadmtypes"
	"github.com/podcluster/podcluster/infrastructure/kubernetes/bootscript"
	"github.com/podcluster/podcluster/infrastructure/kubernetes/nodepod"
	"github.com/podcluster/podcluster/internal/kubeconfig"
	"github.com/podcluster/podcluster/internal/pki"
)

// clusterBootTimeout bounds a workload cluster's boot: its API server's start.
const clusterBootTimeout = 2 * time.Minute

// workload is a workload cluster booted through the runtime in a test
// namespace of a management cluster: a control-plane node Pod that ran
// kubeadm init, and the workers that joined it.
type workload struct {
	mgmt     client.Client
	ns, name string
	endpoint string
	ca       *pki.KeyPair
	hash     string
	// c and cs reach the workload cluster as an admin.
	c  client.Client
	cs kubernetes.Interface
	cp *corev1.Pod
}

// bootWorkload boots the control plane of cluster c1 in ns of the
// management cluster mgmt, with an admin kubeconfig Secret and a bootstrap
// token for workers, as the providers would leave them.
func bootWorkload(g Gomega, mgmt client.Client, ns, cpName string) *workload {
	ctx := context.Background()
	w := &workload{mgmt: mgmt, ns: ns, name: "c1"}
	port := int32(20000 + rand.IntN(10000))
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "c1-apiserver"},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeLoadBalancer,
			Selector: map[string]string{clusterv1.ClusterNameLabel: "c1", clusterv1.MachineControlPlaneLabel: ""},
			Ports: []corev1.ServicePort{{
				Name: nodepod.APIServerPortName, Port: port, TargetPort: intstr.FromString(nodepod.APIServerPortName),
			}},
			PublishNotReadyAddresses: true,
		},
	}
	if err := mgmt.Create(ctx, svc); err != nil {
		// A cluster booted again reuses its Service and its address.
		g.Expect(apierrors.IsAlreadyExists(err)).To(BeTrue(), err)
		g.Expect(mgmt.Get(ctx, client.ObjectKeyFromObject(svc), svc)).To(Succeed())
	}
	var lbIP string
	g.Eventually(func(g Gomega) {
		got := &corev1.Service{}
		g.Expect(mgmt.Get(ctx, client.ObjectKeyFromObject(svc), got)).To(Succeed())
		g.Expect(got.Status.LoadBalancer.Ingress).NotTo(BeEmpty())
		lbIP = got.Status.LoadBalancer.Ingress[0].IP
	}, timeout, interval).Should(Succeed())
	w.endpoint = fmt.Sprintf("%s:%d", lbIP, svc.Spec.Ports[0].Port)

	var err error
	w.ca, err = pki.NewCA("kubernetes", pki.ECDSAP256, 24*time.Hour)
	g.Expect(err).NotTo(HaveOccurred())
	w.hash, err = kubeadmtypes.CACertHash(w.ca.CertPEM)
	g.Expect(err).NotTo(HaveOccurred())
	script, err := bootscript.Convert(initCloudConfig(g, w.ca, w.endpoint))
	g.Expect(err).NotTo(HaveOccurred())
	km := &infrav1.KubernetesMachine{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: cpName}}
	g.Expect(mgmt.Create(ctx, km)).To(Succeed())
	w.cp, err = nodepod.Build(nodepod.Input{Machine: km, ClusterName: "c1", ControlPlane: true, APIServerPort: svc.Spec.Ports[0].Port, Image: "kindest/node:v1.37.2"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(mgmt.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: nodepod.BootstrapSecretName(cpName)},
		Data:       map[string][]byte{nodepod.BootstrapScriptKey: script},
	})).To(Succeed())
	g.Expect(mgmt.Create(ctx, w.cp)).To(Succeed())
	w.waitReady(g, w.cp, clusterBootTimeout)

	admin, err := w.ca.Sign(pki.CertOptions{
		CommonName: "kubernetes-admin", Organization: []string{"system:masters"},
		Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, Algorithm: pki.ECDSAP256,
	})
	g.Expect(err).NotTo(HaveOccurred())
	cfg := &rest.Config{
		Host:            "https://" + w.endpoint,
		TLSClientConfig: rest.TLSClientConfig{CAData: w.ca.CertPEM, CertData: admin.CertPEM, KeyData: admin.KeyPEM},
	}
	w.c, err = client.New(cfg, client.Options{})
	g.Expect(err).NotTo(HaveOccurred())
	w.cs, err = kubernetes.NewForConfig(cfg)
	g.Expect(err).NotTo(HaveOccurred())

	adminKubeconfig, err := kubeconfig.NewAdmin("c1", "https://"+w.endpoint, w.ca)
	g.Expect(err).NotTo(HaveOccurred())
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "c1-kubeconfig", Labels: map[string]string{clusterv1.ClusterNameLabel: "c1"}},
		Type:       clusterv1.ClusterSecretType,
		Data:       map[string][]byte{"value": adminKubeconfig},
	}
	if err := mgmt.Create(ctx, secret); apierrors.IsAlreadyExists(err) {
		old := &corev1.Secret{}
		g.Expect(mgmt.Get(ctx, client.ObjectKeyFromObject(secret), old)).To(Succeed())
		old.Data = secret.Data
		g.Expect(mgmt.Update(ctx, old)).To(Succeed())
	} else {
		g.Expect(err).NotTo(HaveOccurred())
	}
	createBootstrapToken(g, w.c, w.endpoint, w.ca.CertPEM)
	return w
}

// join boots a worker with the node container's resources.
func (w *workload) join(g Gomega, name string, res corev1.ResourceRequirements) *corev1.Pod {
	ctx := context.Background()
	km := &infrav1.KubernetesMachine{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: name}, Spec: infrav1.KubernetesMachineSpec{Resources: res}}
	g.Expect(w.mgmt.Create(ctx, km)).To(Succeed())
	pod, err := nodepod.Build(nodepod.Input{Machine: km, ClusterName: "c1", Image: "kindest/node:v1.37.2"})
	g.Expect(err).NotTo(HaveOccurred())
	script, err := bootscript.Convert(joinCloudConfig(w.endpoint, "abcdef.0123456789abcdef", w.hash))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(w.mgmt.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: nodepod.BootstrapSecretName(name)},
		Data:       map[string][]byte{nodepod.BootstrapScriptKey: script},
	})).To(Succeed())
	g.Expect(w.mgmt.Create(ctx, pod)).To(Succeed())
	w.waitReady(g, pod, timeout)
	return pod
}

// waitReady waits for a node Pod to be booted and ready.
func (w *workload) waitReady(g Gomega, pod *corev1.Pod, within time.Duration) {
	g.Eventually(func(g Gomega) {
		got := &corev1.Pod{}
		g.Expect(w.mgmt.Get(context.Background(), client.ObjectKeyFromObject(pod), got)).To(Succeed())
		cs := containerStatus(got, nodepod.ContainerName)
		g.Expect(cs).NotTo(BeNil())
		g.Expect(cs.State.Terminated).To(BeNil())
		g.Expect(cs.Started).To(HaveValue(BeTrue()))
		g.Expect(podReady(got)).To(Equal(corev1.ConditionTrue))
		pod.Status = got.Status
	}, within, interval).Should(Succeed())
}

// nodeReady is the status of a workload Node's Ready condition and its reason.
func (w *workload) nodeReady(g Gomega, name string) (corev1.ConditionStatus, string) {
	node := &corev1.Node{}
	g.Expect(w.c.Get(context.Background(), client.ObjectKey{Name: name}, node)).To(Succeed())
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status, c.Reason
		}
	}
	return "", ""
}

// nodeUnknownWithin is how long the controller-manager may take to mark a
// silent Node Unknown: the last heartbeat, the grace period, the monitor's
// period, and slack for a loaded machine.
func nodeUnknownWithin(r *Runtime) time.Duration {
	return r.HeartbeatInterval + r.NodeMonitorGracePeriod + 2*r.NodeMonitorPeriod + 15*time.Second
}

// newCluster is a Cluster c1 as the walkthrough's, for the runtime to watch.
func newCluster(ns string) *clusterv1.Cluster {
	return &clusterv1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "c1"},
		Spec:       clusterv1.ClusterSpec{ClusterNetwork: clusterv1.ClusterNetwork{ServiceDomain: "cluster.local"}},
	}
}

// annotate sets an annotation on a node Pod, or removes it when value is
// empty, retrying when the kubelet wrote the Pod meanwhile.
func annotate(g Gomega, pod *corev1.Pod, key, value string) {
	g.Eventually(func() error {
		got := getPod(g, pod)
		if value == "" {
			delete(got.Annotations, key)
		} else {
			if got.Annotations == nil {
				got.Annotations = map[string]string{}
			}
			got.Annotations[key] = value
		}
		return env.Client.Update(context.Background(), got)
	}, timeout, interval).Should(Succeed())
}

func resources(cpu, memory string, limits bool) corev1.ResourceRequirements {
	list := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory)}
	if limits {
		return corev1.ResourceRequirements{Limits: list}
	}
	return corev1.ResourceRequirements{Requests: list}
}

func TestWorkloadClusterBehavesLikeOne(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	cluster := newCluster(ns)
	g.Expect(env.Client.Create(ctx, cluster)).To(Succeed())
	w := bootWorkload(g, env.Client, ns, "cp-0")
	workerA := w.join(g, "worker-a", resources("2", "3Gi", true))
	workerB := w.join(g, "worker-b", resources("1500m", "1Gi", false))

	t.Run("Nodes report capacity, versions and addresses", func(t *testing.T) {
		g := NewWithT(t)
		host := hostCapacity()
		for _, tt := range []struct {
			pod         *corev1.Pod
			cpu, memory resource.Quantity
		}{
			{w.cp, host[corev1.ResourceCPU], host[corev1.ResourceMemory]},
			{workerA, resource.MustParse("2"), resource.MustParse("3Gi")},
			{workerB, resource.MustParse("1500m"), resource.MustParse("1Gi")},
		} {
			node := &corev1.Node{}
			g.Expect(w.c.Get(ctx, client.ObjectKey{Name: tt.pod.Name}, node)).To(Succeed())
			for _, list := range []corev1.ResourceList{node.Status.Capacity, node.Status.Allocatable} {
				g.Expect(list.Cpu().Cmp(tt.cpu)).To(BeZero(), "%s cpu %s", node.Name, list.Cpu())
				g.Expect(list.Memory().Cmp(tt.memory)).To(BeZero(), "%s memory %s", node.Name, list.Memory())
				g.Expect(list.Pods().Value()).To(BeEquivalentTo(maxPods))
			}
			g.Expect(node.Status.NodeInfo.KubeletVersion).To(Equal("v1.37.2"), node.Name)
			g.Expect(node.Status.NodeInfo.OperatingSystem).To(Equal("linux"))
			g.Expect(node.Status.Addresses).To(ConsistOf(
				corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: tt.pod.Status.PodIP},
				corev1.NodeAddress{Type: corev1.NodeHostName, Address: tt.pod.Name}))
		}
	})

	t.Run("the controller-manager and scheduler run Pods", func(t *testing.T) {
		g := NewWithT(t)
		// The service account controller and the root CA publisher at work.
		g.Eventually(func(g Gomega) {
			g.Expect(w.c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "default"}, &corev1.ServiceAccount{})).To(Succeed())
			g.Expect(w.c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "kube-root-ca.crt"}, &corev1.ConfigMap{})).To(Succeed())
		}, timeout, interval).Should(Succeed())

		labels := map[string]string{"app": "web"}
		deploy := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptrTo[int32](2),
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx",
						Resources: resources("100m", "64Mi", false)}}},
				},
			},
		}
		g.Expect(w.c.Create(ctx, deploy)).To(Succeed())
		g.Eventually(func(g Gomega) {
			pods := &corev1.PodList{}
			g.Expect(w.c.List(ctx, pods, client.InNamespace("default"), client.MatchingLabels(labels))).To(Succeed())
			g.Expect(pods.Items).To(HaveLen(2))
			for _, p := range pods.Items {
				// Scheduled onto a worker: the control plane is tainted.
				g.Expect(p.Spec.NodeName).To(BeElementOf(workerA.Name, workerB.Name))
				g.Expect(p.Status.Phase).To(Equal(corev1.PodRunning))
				g.Expect(p.Status.PodIP).To(HavePrefix("127.3."))
				g.Expect(p.Status.Conditions).To(ContainElement(And(
					HaveField("Type", corev1.PodReady), HaveField("Status", corev1.ConditionTrue))))
				// The service account admission mounted a token.
				g.Expect(p.Spec.Volumes).To(ContainElement(HaveField("Projected.Sources", ContainElement(
					HaveField("ServiceAccountToken", Not(BeNil()))))))
			}
			got := &appsv1.Deployment{}
			g.Expect(w.c.Get(ctx, client.ObjectKeyFromObject(deploy), got)).To(Succeed())
			g.Expect(got.Status.AvailableReplicas).To(BeEquivalentTo(2))
		}, timeout, interval).Should(Succeed())

		// More CPU than any Node has: the scheduler leaves it Pending.
		big := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "big"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "big", Image: "nginx",
				Resources: resources("1000", "64Mi", false)}}},
		}
		g.Expect(w.c.Create(ctx, big)).To(Succeed())
		g.Eventually(func(g Gomega) {
			got := &corev1.Pod{}
			g.Expect(w.c.Get(ctx, client.ObjectKeyFromObject(big), got)).To(Succeed())
			g.Expect(got.Status.Phase).To(Equal(corev1.PodPending))
			g.Expect(got.Status.Conditions).To(ContainElement(And(
				HaveField("Type", corev1.PodScheduled), HaveField("Reason", corev1.PodReasonUnschedulable),
				HaveField("Message", ContainSubstring("Insufficient cpu")))))
		}, timeout, interval).Should(Succeed())

		// Garbage collection: the Deployment's ReplicaSet and Pods follow it.
		g.Expect(w.c.Delete(ctx, deploy)).To(Succeed())
		g.Eventually(func(g Gomega) {
			pods := &corev1.PodList{}
			g.Expect(w.c.List(ctx, pods, client.InNamespace("default"), client.MatchingLabels(labels))).To(Succeed())
			g.Expect(pods.Items).To(BeEmpty())
		}, timeout, interval).Should(Succeed())

		if s := rt.servers.forCluster(types.NamespacedName{Namespace: ns, Name: "c1"}); s != nil {
			for name, rss := range s.memory() {
				t.Logf("RSS of %s: %d MiB", name, rss>>20)
			}
		}
	})

	t.Run("nodes renew their Leases", func(t *testing.T) {
		g := NewWithT(t)
		names := []string{w.cp.Name, workerA.Name, workerB.Name}
		renewTimes := func(g Gomega) map[string]time.Time {
			out := map[string]time.Time{}
			for _, name := range names {
				lease, err := w.cs.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, name, metav1.GetOptions{})
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(lease.Spec.HolderIdentity).To(HaveValue(Equal(name)))
				g.Expect(lease.OwnerReferences).To(ConsistOf(HaveField("Kind", "Node")))
				out[name] = lease.Spec.RenewTime.Time
			}
			return out
		}
		first := renewTimes(g)
		g.Eventually(func(g Gomega) {
			for name, renewed := range renewTimes(g) {
				g.Expect(renewed).To(BeTemporally(">", first[name]), name)
			}
		}, 3*rt.HeartbeatInterval, interval).Should(Succeed())
	})

	t.Run("an injected NotReady comes and goes", func(t *testing.T) {
		g := NewWithT(t)
		annotate(g, workerA, NodeNotReadyAnnotation, "container runtime is down")
		g.Eventually(func(g Gomega) {
			status, reason := w.nodeReady(g, workerA.Name)
			g.Expect(status).To(Equal(corev1.ConditionFalse))
			g.Expect(reason).To(Equal(reasonKubeletNotReady))
		}, timeout, interval).Should(Succeed())
		annotate(g, workerA, NodeNotReadyAnnotation, "")
		g.Eventually(func(g Gomega) corev1.ConditionStatus {
			status, _ := w.nodeReady(g, workerA.Name)
			return status
		}, timeout, interval).Should(Equal(corev1.ConditionTrue))
	})

	t.Run("a crashed node turns Unknown through the controller-manager", func(t *testing.T) {
		g := NewWithT(t)
		annotate(g, workerB, CrashAnnotation, "kernel panic")
		g.Eventually(func(g Gomega) {
			status, reason := w.nodeReady(g, workerB.Name)
			g.Expect(status).To(Equal(corev1.ConditionUnknown))
			g.Expect(reason).To(Equal("NodeStatusUnknown"))
		}, nodeUnknownWithin(rt), interval).Should(Succeed())
		// The others still heartbeat.
		status, _ := w.nodeReady(g, workerA.Name)
		g.Expect(status).To(Equal(corev1.ConditionTrue))
		status, _ = w.nodeReady(g, w.cp.Name)
		g.Expect(status).To(Equal(corev1.ConditionTrue))
	})

	t.Run("a deleted node Pod takes its Node along", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(env.Client.Delete(ctx, workerA)).To(Succeed())
		g.Eventually(func() bool {
			return apierrors.IsNotFound(w.c.Get(ctx, client.ObjectKey{Name: workerA.Name}, &corev1.Node{}))
		}, timeout, interval).Should(BeTrue())
	})

	t.Run("a deleted Cluster leaves no data", func(t *testing.T) {
		g := NewWithT(t)
		prefix := "/" + ns + "/c1/"
		n, err := countEtcdPrefix(ctx, workloadEtcd, prefix)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(n).To(BeNumerically(">", 0))

		g.Expect(env.Client.Delete(ctx, cluster)).To(Succeed())
		// The data stays while node Pods of the cluster remain.
		g.Consistently(func() (int64, error) { return countEtcdPrefix(ctx, workloadEtcd, prefix) }, time.Second, interval).
			Should(BeNumerically(">", 0))
		for _, p := range []*corev1.Pod{w.cp, workerB} {
			g.Expect(env.Client.Delete(ctx, p)).To(Succeed())
		}
		g.Eventually(func() (int64, error) { return countEtcdPrefix(ctx, workloadEtcd, prefix) }, timeout, interval).
			Should(BeZero())
		g.Expect(rt.clusterRecordFile(types.NamespacedName{Namespace: ns, Name: "c1"})).NotTo(BeAnExistingFile())

		// A Cluster of the same name starts afresh: only its own Node.
		g.Expect(env.Client.Create(ctx, newCluster(ns))).To(Succeed())
		w2 := bootWorkload(g, env.Client, ns, "cp-1")
		nodes := &corev1.NodeList{}
		g.Expect(w2.c.List(ctx, nodes)).To(Succeed())
		g.Expect(nodes.Items).To(ConsistOf(HaveField("Name", "cp-1")))
		g.Expect(env.Client.Delete(ctx, w2.cp)).To(Succeed())
	})
}

// TestWorkloadComponentsStopWithTheirNode: the components are processes of
// the node Pod, and a crash of the control plane ends them.
func TestWorkloadComponentsStopWithTheirNode(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	w := bootWorkload(g, env.Client, ns, "cp-0")
	s := rt.servers.forCluster(types.NamespacedName{Namespace: ns, Name: "c1"})
	g.Expect(s).NotTo(BeNil())
	s.mu.Lock()
	components := s.components
	s.mu.Unlock()
	g.Expect(components).To(HaveLen(len(DefaultComponents)))
	// The init node's kubelet reports the static Pods there are processes
	// for, running and ready: no etcd of its own (the shared one is external).
	g.Eventually(func(g Gomega) {
		pods := &corev1.PodList{}
		g.Expect(w.c.List(context.Background(), pods, client.InNamespace(metav1.NamespaceSystem), client.MatchingLabels{"tier": "control-plane"})).To(Succeed())
		g.Expect(pods.Items).To(ConsistOf(
			HaveField("Name", "kube-apiserver-"+w.cp.Name), HaveField("Name", "kube-controller-manager-"+w.cp.Name), HaveField("Name", "kube-scheduler-"+w.cp.Name)))
		for i := range pods.Items {
			g.Expect(podReady(&pods.Items[i])).To(Equal(corev1.ConditionTrue), pods.Items[i].Name)
			g.Expect(pods.Items[i].Annotations).To(HaveKey(mirrorAnnotation))
		}
	}, time.Minute, interval).Should(Succeed())
	for _, c := range components {
		g.Eventually(c.rss, timeout, interval).Should(BeNumerically(">", 0), c.name)
		// Their kubeconfigs and logs are in the Pod's scratch directory.
		g.Expect(filepath.Join(scratchDir, ns, w.cp.Name, componentUsers[c.name].kubeconfig)).To(BeAnExistingFile())
		g.Expect(c.log).To(BeAnExistingFile())
		g.Expect(filepath.Dir(c.log)).To(Equal(filepath.Join(scratchDir, ns, w.cp.Name)))
	}

	annotate(g, w.cp, CrashAnnotation, "kernel panic")
	g.Eventually(func() corev1.PodPhase { return getPod(g, w.cp).Status.Phase }, timeout, interval).Should(Equal(corev1.PodFailed))
	for _, c := range components {
		g.Eventually(c.rss, timeout, interval).Should(BeZero(), c.name)
		c.mu.Lock()
		pid := c.proc.cmd.Process.Pid
		c.mu.Unlock()
		g.Eventually(func() bool { return processGone(pid) }, timeout, interval).Should(BeTrue(), c.name)
	}
	g.Expect(rt.servers.forCluster(types.NamespacedName{Namespace: ns, Name: "c1"})).To(BeNil())
}
