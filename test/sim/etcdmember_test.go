package sim

import (
	"context"
	"crypto/x509"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
	"github.com/podcluster/podcluster/bootstrap/kubeadm/kubeadmtypes"
	"github.com/podcluster/podcluster/infrastructure/kubernetes/bootscript"
	"github.com/podcluster/podcluster/infrastructure/kubernetes/nodepod"
	"github.com/podcluster/podcluster/internal/etcd"
	"github.com/podcluster/podcluster/internal/kubeconfig"
	"github.com/podcluster/podcluster/internal/pki"
)

// writeFile is a cloud-config write_files entry.
func writeFile(path string, content []byte, perm string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "- path: %s\n  permissions: %q\n  content: |\n", path, perm)
	for _, line := range strings.Split(strings.TrimRight(string(content), "\n"), "\n") {
		fmt.Fprintf(&b, "    %s\n", line)
	}
	return b.String()
}

// stackedFiles are the cluster certificates the bootstrap provider writes on
// every control-plane node: the cluster CA, the service-account keys and the
// etcd CA.
func stackedFiles(ca, etcdCA *pki.KeyPair, saKey, saPub []byte) string {
	return writeFile("/etc/kubernetes/pki/ca.crt", ca.CertPEM, "0640") +
		writeFile("/etc/kubernetes/pki/ca.key", ca.KeyPEM, "0600") +
		writeFile("/etc/kubernetes/pki/sa.pub", saPub, "0640") +
		writeFile("/etc/kubernetes/pki/sa.key", saKey, "0600") +
		writeFile("/etc/kubernetes/pki/etcd/ca.crt", etcdCA.CertPEM, "0640") +
		writeFile("/etc/kubernetes/pki/etcd/ca.key", etcdCA.KeyPEM, "0600")
}

// stackedInitCloudConfig is a kubeadm init whose ClusterConfiguration has
// etcd.local, as the bootstrap provider writes it.
func stackedInitCloudConfig(ca, etcdCA *pki.KeyPair, saKey, saPub []byte, endpoint string) []byte {
	kubeadm := `apiVersion: kubeadm.k8s.io/v1beta4
clusterName: c1
controlPlaneEndpoint: ` + endpoint + `
etcd:
  local:
    dataDir: /var/lib/etcd
kind: ClusterConfiguration
kubernetesVersion: v1.37.2
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
`
	return []byte("#cloud-config\nruncmd:\n" +
		"- kubeadm init --config /run/kubeadm/kubeadm.yaml && echo done\n" +
		"- mkdir -p /run/cluster-api && echo success > /run/cluster-api/bootstrap-success.complete\n" +
		"write_files:\n" + stackedFiles(ca, etcdCA, saKey, saPub) +
		writeFile("/run/kubeadm/kubeadm.yaml", []byte(kubeadm), "0640"))
}

// stackedJoinCloudConfig is a control-plane join with the cluster
// certificates.
func stackedJoinCloudConfig(ca, etcdCA *pki.KeyPair, saKey, saPub []byte, endpoint, token, hash string) []byte {
	kubeadm := `apiVersion: kubeadm.k8s.io/v1beta4
controlPlane: {}
discovery:
  bootstrapToken:
    apiServerEndpoint: ` + endpoint + `
    caCertHashes:
    - ` + hash + `
    token: ` + token + `
kind: JoinConfiguration
`
	return []byte("#cloud-config\nruncmd:\n" +
		"- kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml\n" +
		"- mkdir -p /run/cluster-api && echo success > /run/cluster-api/bootstrap-success.complete\n" +
		"write_files:\n" + stackedFiles(ca, etcdCA, saKey, saPub) +
		writeFile("/run/kubeadm/kubeadm-join-config.yaml", []byte(kubeadm), "0640"))
}

// bootNode creates a control-plane node Pod with its KubernetesMachine and
// boot Secret.
func bootNode(g Gomega, ns, name string, port int32, cloudConfig []byte) *corev1.Pod {
	ctx := context.Background()
	script, err := bootscript.Convert(cloudConfig)
	g.Expect(err).NotTo(HaveOccurred())
	km := &infrav1.KubernetesMachine{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	g.Expect(env.Client.Create(ctx, km)).To(Succeed())
	pod, err := nodepod.Build(nodepod.Input{Machine: km, ClusterName: "c1", ControlPlane: true, APIServerPort: port, Image: "kindest/node:v1.37.2"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(env.Client.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: nodepod.BootstrapSecretName(name)},
		Data:       map[string][]byte{nodepod.BootstrapScriptKey: script},
	})).To(Succeed())
	g.Expect(env.Client.Create(ctx, pod)).To(Succeed())
	return pod
}

// TestStackedControlPlane: a cluster whose kubeadm init has etcd.local runs a
// real etcd member and API server on each control-plane node: init founds
// the etcd cluster, each control-plane join adds its member (member add,
// then initial-cluster-state=existing) on its Pod's IP with certificates
// of the cluster's etcd CA, and the control-plane endpoint balances over
// the serving API servers. Every node runs its own controller-manager and
// scheduler with leader election. The mirror Pods (Running and Ready, as
// their processes are) and kubeadm-config are in the workload cluster. An
// injected etcd stop ends one member until the annotation goes, and its
// etcd and API server mirror Pods turn not Ready meanwhile; losing the init
// node leaves the endpoint answering on the others' API servers, and the
// cluster still schedules and runs Pods (another node's scheduler takes
// over, and the kubelets of the Pods move next to another API server);
// deleting the node Pods leaves no member and no data behind.
func TestStackedControlPlane(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	g.Expect(env.Client.Create(ctx, newCluster(ns))).To(Succeed())
	cluster := types.NamespacedName{Namespace: ns, Name: "c1"}

	// The workload cluster's own processes: the first boot, with the init
	// one's stacked member and API server.
	w := &workload{mgmt: env.Client, ns: ns, name: "c1"}
	port := int32(20000 + rand.IntN(10000))
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "c1-apiserver"},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeLoadBalancer,
			Selector: map[string]string{clusterv1.ClusterNameLabel: "c1", clusterv1.MachineControlPlaneLabel: ""},
			Ports:    []corev1.ServicePort{{Name: nodepod.APIServerPortName, Port: port, TargetPort: intstr.FromString(nodepod.APIServerPortName)}},
		},
	}
	g.Expect(env.Client.Create(ctx, svc)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(svc), svc)).To(Succeed())
		g.Expect(svc.Status.LoadBalancer.Ingress).NotTo(BeEmpty())
	}, timeout, interval).Should(Succeed())
	w.endpoint = fmt.Sprintf("%s:%d", svc.Status.LoadBalancer.Ingress[0].IP, port)

	var err error
	w.ca, err = pki.NewCA("kubernetes", pki.ECDSAP256, 24*time.Hour)
	g.Expect(err).NotTo(HaveOccurred())
	etcdCA, err := pki.NewCA("etcd-ca", pki.ECDSAP256, 24*time.Hour)
	g.Expect(err).NotTo(HaveOccurred())
	saKey, saPub, err := pki.NewServiceAccountKey()
	g.Expect(err).NotTo(HaveOccurred())
	w.cp = bootNode(g, ns, "cp-0", port, stackedInitCloudConfig(w.ca, etcdCA, saKey, saPub, w.endpoint))
	w.waitReady(g, w.cp, clusterBootTimeout)
	w.connect(g)

	joins := []*corev1.Pod{}
	for _, name := range []string{"cp-1", "cp-2"} {
		pod := bootNode(g, ns, name, port, stackedJoinCloudConfig(w.ca, etcdCA, saKey, saPub, w.endpoint, "abcdef.0123456789abcdef", w.hash))
		w.waitReady(g, pod, clusterBootTimeout)
		joins = append(joins, pod)
	}
	pods := append([]*corev1.Pod{w.cp}, joins...)

	// The etcd cluster has one member per node, named after it, on its Pod's IP.
	tlsConfig, err := etcd.TLSConfig(etcdCA, etcd.ClientCommonName)
	g.Expect(err).NotTo(HaveOccurred())
	var endpoints []string
	wantMembers := map[string]string{}
	for _, p := range pods {
		ep := fmt.Sprintf("https://%s:%d", p.Status.PodIP, etcd.DefaultClientPort)
		endpoints = append(endpoints, ep)
		wantMembers[p.Name] = ep
	}
	ec, err := etcd.New(endpoints, tlsConfig)
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = ec.Close() }()
	members, err := ec.Members(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	got := map[string]string{}
	for _, m := range members {
		g.Expect(m.ClientURLs).To(HaveLen(1))
		got[m.Name] = m.ClientURLs[0]
	}
	g.Expect(got).To(Equal(wantMembers))
	for _, ep := range endpoints {
		st, err := ec.Status(ctx, ep)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.Leader).NotTo(BeZero())
	}

	// Three API servers behind the endpoint, on the Pods' IPs; the
	// workload cluster has the three Nodes, their mirror Pods and kubeadm-config.
	g.Expect(rt.proxies.backends(w.endpoint)).To(ConsistOf(
		fmt.Sprintf("%s:%d", pods[0].Status.PodIP, port), fmt.Sprintf("%s:%d", pods[1].Status.PodIP, port), fmt.Sprintf("%s:%d", pods[2].Status.PodIP, port)))
	nodes := &corev1.NodeList{}
	g.Expect(w.c.List(ctx, nodes)).To(Succeed())
	g.Expect(nodes.Items).To(HaveLen(3))
	for _, p := range pods {
		s := rt.servers.get(client.ObjectKeyFromObject(p).String())
		g.Expect(s).NotTo(BeNil())
		s.mu.Lock()
		g.Expect(s.components).To(HaveLen(len(DefaultComponents)), p.Name)
		for _, c := range s.components {
			g.Expect(c.args).To(ContainElement("--leader-elect=true"), c.name)
		}
		s.mu.Unlock()
		components := rt.staticPodComponents(s)
		g.Expect(components).To(ConsistOf("etcd", "kube-apiserver", ControllerManager, Scheduler))
		for _, component := range components {
			g.Eventually(func(g Gomega) {
				mirror := &corev1.Pod{}
				g.Expect(w.c.Get(ctx, client.ObjectKey{Namespace: metav1.NamespaceSystem, Name: component + "-" + p.Name}, mirror)).To(Succeed())
				g.Expect(mirror.Spec.NodeName).To(Equal(p.Name))
				g.Expect(mirror.Status.Phase).To(Equal(corev1.PodRunning))
				g.Expect(mirror.Status.HostIP).To(Equal(p.Status.PodIP))
				g.Expect(podReady(mirror)).To(Equal(corev1.ConditionTrue), mirror.Name)
			}, time.Minute, interval).Should(Succeed())
		}
	}
	cm := &corev1.ConfigMap{}
	g.Expect(w.c.Get(ctx, client.ObjectKey{Namespace: metav1.NamespaceSystem, Name: "kubeadm-config"}, cm)).To(Succeed())
	g.Expect(cm.Data["ClusterConfiguration"]).To(ContainSubstring("local:"))

	// An injected stop ends cp-2's member: it no longer answers, the others
	// keep quorum; without the annotation it comes back on its data.
	// Its node's kubelet reports the etcd container exited and waiting to
	// be started again, and the API server on it not ready.
	mirrorOf := func(g Gomega, name string) *corev1.Pod {
		mirror := &corev1.Pod{}
		g.Expect(w.c.Get(ctx, client.ObjectKey{Namespace: metav1.NamespaceSystem, Name: name}, mirror)).To(Succeed())
		return mirror
	}
	annotate(g, joins[1], StopEtcdAnnotation, "true")
	g.Eventually(func() error {
		_, err := ec.Status(ctx, endpoints[2])
		return err
	}, timeout, interval).Should(HaveOccurred())
	_, err = ec.Members(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(func(g Gomega) {
		mirror := mirrorOf(g, "etcd-cp-2")
		g.Expect(podReady(mirror)).To(Equal(corev1.ConditionFalse))
		g.Expect(mirror.Status.Phase).To(Equal(corev1.PodRunning))
		g.Expect(mirror.Status.ContainerStatuses).To(ConsistOf(And(
			HaveField("State.Waiting.Reason", reasonCrashLoopBackOff),
			HaveField("LastTerminationState.Terminated.ExitCode", Not(BeZero())))))
		// After three failed probes of its /readyz, a report apart.
		g.Expect(podReady(mirrorOf(g, "kube-apiserver-cp-2"))).To(Equal(corev1.ConditionFalse))
		g.Expect(podReady(mirrorOf(g, "etcd-cp-1"))).To(Equal(corev1.ConditionTrue))
	}, time.Minute, interval).Should(Succeed())
	annotate(g, joins[1], StopEtcdAnnotation, "")
	g.Eventually(func() error {
		_, err := ec.Status(ctx, endpoints[2])
		return err
	}, timeout, interval).Should(Succeed())
	g.Eventually(func(g Gomega) {
		mirror := mirrorOf(g, "etcd-cp-2")
		g.Expect(podReady(mirror)).To(Equal(corev1.ConditionTrue))
		g.Expect(mirror.Status.ContainerStatuses).To(ConsistOf(HaveField("RestartCount", BeEquivalentTo(1))))
		g.Expect(podReady(mirrorOf(g, "kube-apiserver-cp-2"))).To(Equal(corev1.ConditionTrue))
	}, time.Minute, interval).Should(Succeed())

	// Losing the init node: its member and API server stop, the endpoint
	// answers through the other two.
	initKey := client.ObjectKeyFromObject(w.cp).String()
	g.Expect(env.Client.Delete(ctx, w.cp)).To(Succeed())
	// Compared by presence and name: a member's fields change under the
	// runtime's lock, and printing one in a failure would race with it.
	g.Eventually(func() bool { return rt.etcd.get(initKey) != nil }, timeout, interval).Should(BeFalse())
	g.Expect(rt.proxies.backends(w.endpoint)).To(HaveLen(2))
	g.Eventually(func() error {
		return w.c.List(ctx, &corev1.NodeList{})
	}, timeout, interval).Should(Succeed())
	// The cluster still places and runs Pods: a scheduler of another node
	// takes the lease over (up to its 15 s lease duration), and the kubelets
	// of the Pods play next to another API server.
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "after-the-init-node"},
		Spec: corev1.PodSpec{
			Containers:  []corev1.Container{{Name: "c", Image: "nginx"}},
			Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
		},
	}
	g.Eventually(func() error { return w.c.Create(ctx, pod) }, timeout, interval).Should(Succeed())
	g.Eventually(func(g Gomega) {
		got := &corev1.Pod{}
		g.Expect(w.c.Get(ctx, client.ObjectKeyFromObject(pod), got)).To(Succeed())
		g.Expect(got.Spec.NodeName).To(BeElementOf("cp-1", "cp-2"))
		g.Expect(got.Status.Phase).To(Equal(corev1.PodRunning))
	}, 2*time.Minute, interval).Should(Succeed())

	// Deleting the rest leaves no member, no process and no data.
	for _, p := range joins {
		g.Expect(env.Client.Delete(ctx, p)).To(Succeed())
	}
	// Each node stops its API server and member within their stop grace
	// (10 s each, side by side); on a loaded host that can be most of it.
	g.Eventually(func() []string {
		var names []string
		for _, m := range rt.etcd.forCluster(cluster) {
			names = append(names, m.cfg.Name)
		}
		return names
	}, time.Minute, interval).Should(BeEmpty())
	g.Eventually(func() []string { return rt.proxies.backends(w.endpoint) }, timeout, interval).Should(BeEmpty())
	// The members are forgotten before they stop; the data goes after.
	for _, p := range pods {
		g.Eventually(func() bool {
			_, err := os.Stat(filepath.Join(scratchDir, ns, p.Name, "etcd-data"))
			return os.IsNotExist(err)
		}, timeout, interval).Should(BeTrue(), p.Name)
	}
}

// connect reaches the workload cluster at its endpoint as an admin, and
// leaves what the providers would: the kubeconfig Secret and a bootstrap
// token for joins.
func (w *workload) connect(g Gomega) {
	ctx := context.Background()
	var err error
	w.hash, err = kubeadmtypes.CACertHash(w.ca.CertPEM)
	g.Expect(err).NotTo(HaveOccurred())
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
	adminKubeconfig, err := kubeconfig.NewAdmin("c1", "https://"+w.endpoint, w.ca)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(w.mgmt.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "c1-kubeconfig", Labels: map[string]string{clusterv1.ClusterNameLabel: "c1"}},
		Type:       clusterv1.ClusterSecretType,
		Data:       map[string][]byte{"value": adminKubeconfig},
	})).To(Succeed())
	createBootstrapToken(g, w.c, w.endpoint, w.ca.CertPEM)
}
