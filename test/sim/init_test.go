package sim

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
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

// initCloudConfig is a kubeadm init cloud-config shaped like the bootstrap
// provider's (see init-control-plane.yaml), with real keys.
func initCloudConfig(g Gomega, ca *pki.KeyPair, endpoint string) []byte {
	saKey, saPub, err := pki.NewServiceAccountKey()
	g.Expect(err).NotTo(HaveOccurred())
	file := func(path string, content []byte, perm string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "- path: %s\n  permissions: %q\n  content: |\n", path, perm)
		for _, line := range strings.Split(strings.TrimRight(string(content), "\n"), "\n") {
			fmt.Fprintf(&b, "    %s\n", line)
		}
		return b.String()
	}
	kubeadm := `apiVersion: kubeadm.k8s.io/v1beta4
clusterName: c1
controlPlaneEndpoint: ` + endpoint + `
kind: ClusterConfiguration
kubernetesVersion: v1.37.2
networking:
  dnsDomain: cluster.local
  serviceSubnet: 172.16.0.0/12
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
nodeRegistration:
  kubeletExtraArgs:
  - name: node-labels
    value: example.com/pool=a
`
	return []byte("#cloud-config\nruncmd:\n" +
		"- kubeadm init --config /run/kubeadm/kubeadm.yaml && echo done\n" +
		"- mkdir -p /run/cluster-api && echo success > /run/cluster-api/bootstrap-success.complete\n" +
		"write_files:\n" +
		file("/etc/kubernetes/pki/ca.crt", ca.CertPEM, "0640") +
		file("/etc/kubernetes/pki/ca.key", ca.KeyPEM, "0600") +
		file("/etc/kubernetes/pki/sa.pub", saPub, "0640") +
		file("/etc/kubernetes/pki/sa.key", saKey, "0600") +
		file("/run/kubeadm/kubeadm.yaml", []byte(kubeadm), "0640"))
}

// joinCloudConfig is a kubeadm join cloud-config shaped like the bootstrap
// provider's (see join-node.yaml).
func joinCloudConfig(endpoint, token, hash string) []byte {
	return []byte(`#cloud-config
runcmd:
- kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml
- mkdir -p /run/cluster-api && echo success > /run/cluster-api/bootstrap-success.complete
write_files:
- path: /run/kubeadm/kubeadm-join-config.yaml
  content: |
    apiVersion: kubeadm.k8s.io/v1beta4
    discovery:
      bootstrapToken:
        apiServerEndpoint: ` + endpoint + `
        caCertHashes:
        - ` + hash + `
        token: ` + token + `
    kind: JoinConfiguration
    nodeRegistration:
      kubeletExtraArgs:
      - name: node-labels
        value: example.com/pool=b
      taints: []
`)
}

func TestKubeadmInitAndJoin(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	ctx := context.Background()

	// The control-plane Service, as the KubernetesCluster controller makes it.
	port := int32(20000 + time.Now().UnixNano()%10000)
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
	g.Expect(env.Client.Create(ctx, svc)).To(Succeed())
	lbIP := addressOf(g, svc)
	endpoint := fmt.Sprintf("%s:%d", lbIP, port)

	ca, err := pki.NewCA("kubernetes", pki.ECDSAP256, 24*time.Hour)
	g.Expect(err).NotTo(HaveOccurred())
	script, err := bootscript.Convert(initCloudConfig(g, ca, endpoint))
	g.Expect(err).NotTo(HaveOccurred())

	km := &infrav1.KubernetesMachine{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "cp-0"}}
	g.Expect(env.Client.Create(ctx, km)).To(Succeed())
	pod, err := nodepod.Build(nodepod.Input{Machine: km, ClusterName: "c1", ControlPlane: true, APIServerPort: port, Image: "kindest/node:v1.37.2"})
	g.Expect(err).NotTo(HaveOccurred())
	newBootSecret(g, ns, pod.Name, script)
	g.Expect(env.Client.Create(ctx, pod)).To(Succeed())

	// Ready means the API server answers /readyz (the readiness probe).
	g.Eventually(func(g Gomega) {
		got := getPod(g, pod)
		cs := containerStatus(got, nodepod.ContainerName)
		g.Expect(cs).NotTo(BeNil())
		g.Expect(cs.State.Terminated).To(BeNil())
		g.Expect(cs.Started).To(HaveValue(BeTrue()))
		g.Expect(podReady(got)).To(Equal(corev1.ConditionTrue))
	}, time.Minute, interval).Should(Succeed())

	// The workload API server serves at the endpoint with a certificate of
	// the cluster's CA, and knows the node.
	admin, err := ca.Sign(pki.CertOptions{
		CommonName: "kubernetes-admin", Organization: []string{"system:masters"},
		Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, Algorithm: pki.ECDSAP256,
	})
	g.Expect(err).NotTo(HaveOccurred())
	wc, err := client.New(&rest.Config{
		Host:            "https://" + endpoint,
		TLSClientConfig: rest.TLSClientConfig{CAData: ca.CertPEM, CertData: admin.CertPEM, KeyData: admin.KeyPEM},
	}, client.Options{})
	g.Expect(err).NotTo(HaveOccurred())
	node := &corev1.Node{}
	g.Expect(wc.Get(ctx, client.ObjectKey{Name: pod.Name}, node)).To(Succeed())
	g.Expect(node.Labels).To(HaveKeyWithValue(controlPlaneLabel, ""))
	g.Expect(node.Labels).To(HaveKeyWithValue("example.com/pool", "a"))
	g.Expect(node.Spec.ProviderID).To(BeEmpty())
	// The conditions a kubelet reports, with the kubelet's reasons: Ready, and
	// no memory, disk or PID pressure (upstream's core reads all four).
	g.Expect(node.Status.Conditions).To(ConsistOf(
		And(HaveField("Type", corev1.NodeReady), HaveField("Status", corev1.ConditionTrue), HaveField("Reason", "KubeletReady")),
		And(HaveField("Type", corev1.NodeMemoryPressure), HaveField("Status", corev1.ConditionFalse), HaveField("Reason", "KubeletHasSufficientMemory")),
		And(HaveField("Type", corev1.NodeDiskPressure), HaveField("Status", corev1.ConditionFalse), HaveField("Reason", "KubeletHasNoDiskPressure")),
		And(HaveField("Type", corev1.NodePIDPressure), HaveField("Status", corev1.ConditionFalse), HaveField("Reason", "KubeletHasSufficientPID")),
	))
	// The not-ready taint the API server puts on a new Node goes once the
	// controller-manager's node lifecycle controller sees it Ready.
	g.Eventually(func(g Gomega) {
		g.Expect(wc.Get(ctx, client.ObjectKey{Name: pod.Name}, node)).To(Succeed())
		g.Expect(node.Spec.Taints).To(ConsistOf(HaveField("Key", controlPlaneLabel)))
	}, timeout, interval).Should(Succeed())

	// Workers join with the bootstrap token the bootstrap provider created in
	// the workload cluster, and the hash of the cluster CA.
	adminKubeconfig, err := kubeconfig.NewAdmin("c1", "https://"+endpoint, ca)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(env.Client.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "c1-kubeconfig", Labels: map[string]string{clusterv1.ClusterNameLabel: "c1"}},
		Type:       clusterv1.ClusterSecretType,
		Data:       map[string][]byte{"value": adminKubeconfig},
	})).To(Succeed())
	createBootstrapToken(g, wc, endpoint, ca.CertPEM)
	hash, err := kubeadmtypes.CACertHash(ca.CertPEM)
	g.Expect(err).NotTo(HaveOccurred())

	join := func(g Gomega, name, token, hash string) *corev1.Pod {
		km := &infrav1.KubernetesMachine{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		g.Expect(env.Client.Create(ctx, km)).To(Succeed())
		pod, err := nodepod.Build(nodepod.Input{Machine: km, ClusterName: "c1", Image: "kindest/node:v1.37.2"})
		g.Expect(err).NotTo(HaveOccurred())
		script, err := bootscript.Convert(joinCloudConfig(endpoint, token, hash))
		g.Expect(err).NotTo(HaveOccurred())
		newBootSecret(g, ns, pod.Name, script)
		g.Expect(env.Client.Create(ctx, pod)).To(Succeed())
		return pod
	}
	t.Run("join with a valid token", func(t *testing.T) {
		g := NewWithT(t)
		pod := join(g, "worker-ok", "abcdef.0123456789abcdef", hash)
		g.Eventually(func() corev1.ConditionStatus { return podReady(getPod(g, pod)) }, timeout, interval).
			Should(Equal(corev1.ConditionTrue))
		node := &corev1.Node{}
		g.Expect(wc.Get(ctx, client.ObjectKey{Name: pod.Name}, node)).To(Succeed())
		g.Expect(node.Labels).NotTo(HaveKey(controlPlaneLabel))
		g.Expect(node.Labels).To(HaveKeyWithValue("example.com/pool", "b"))
		g.Eventually(func(g Gomega) {
			g.Expect(wc.Get(ctx, client.ObjectKey{Name: pod.Name}, node)).To(Succeed())
			g.Expect(node.Spec.Taints).To(BeEmpty())
		}, timeout, interval).Should(Succeed())
	})
	t.Run("a worker whose image tag is no version reports its Machine's", func(t *testing.T) {
		g := NewWithT(t)
		data := "unused"
		m := &clusterv1.Machine{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "worker-custom"},
			Spec: clusterv1.MachineSpec{
				ClusterName: "c1", Version: "v1.37.2",
				Bootstrap:         clusterv1.Bootstrap{DataSecretName: &data},
				InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.GroupVersion.Group, Kind: "KubernetesMachine", Name: "worker-custom"},
			},
		}
		g.Expect(env.Client.Create(ctx, m)).To(Succeed())
		tr := true
		km := &infrav1.KubernetesMachine{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "worker-custom",
			OwnerReferences: []metav1.OwnerReference{{APIVersion: clusterv1.GroupVersion.String(), Kind: "Machine", Name: m.Name, UID: m.UID, Controller: &tr}}}}
		g.Expect(env.Client.Create(ctx, km)).To(Succeed())
		pod, err := nodepod.Build(nodepod.Input{Machine: km, ClusterName: "c1", Image: "registry.example.test/node:custom"})
		g.Expect(err).NotTo(HaveOccurred())
		script, err := bootscript.Convert(joinCloudConfig(endpoint, "abcdef.0123456789abcdef", hash))
		g.Expect(err).NotTo(HaveOccurred())
		newBootSecret(g, ns, pod.Name, script)
		g.Expect(env.Client.Create(ctx, pod)).To(Succeed())
		g.Eventually(func() corev1.ConditionStatus { return podReady(getPod(g, pod)) }, timeout, interval).
			Should(Equal(corev1.ConditionTrue))
		node := &corev1.Node{}
		g.Expect(wc.Get(ctx, client.ObjectKey{Name: pod.Name}, node)).To(Succeed())
		g.Expect(node.Status.NodeInfo.KubeletVersion).To(Equal("v1.37.2"))
		g.Expect(node.Status.NodeInfo.KubeProxyVersion).To(Equal("v1.37.2")) //nolint:staticcheck // what kubectl get nodes -o wide shows
	})
	t.Run("join with upstream's Jinja-templated cloud-config", func(t *testing.T) {
		g := NewWithT(t)
		km := &infrav1.KubernetesMachine{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "worker-jinja"}}
		g.Expect(env.Client.Create(ctx, km)).To(Succeed())
		pod, err := nodepod.Build(nodepod.Input{Machine: km, ClusterName: "c1", Image: "kindest/node:v1.37.2"})
		g.Expect(err).NotTo(HaveOccurred())
		// As the KubernetesMachine controller converts it: for the node Pod it builds.
		script, err := bootscript.ConvertFor(upstreamJoinCloudConfig(endpoint, "abcdef.0123456789abcdef", hash), bootscript.InstanceDataOf(pod))
		g.Expect(err).NotTo(HaveOccurred())
		newBootSecret(g, ns, pod.Name, script)
		g.Expect(env.Client.Create(ctx, pod)).To(Succeed())
		g.Eventually(func() corev1.ConditionStatus { return podReady(getPod(g, pod)) }, timeout, interval).
			Should(Equal(corev1.ConditionTrue))

		// The node registered under the rendered name, which is the Pod's
		// hostname, with the rendered labels.
		g.Expect(pod.Spec.Hostname).To(Equal("worker-jinja"))
		node := &corev1.Node{}
		g.Expect(wc.Get(ctx, client.ObjectKey{Name: pod.Spec.Hostname}, node)).To(Succeed())
		g.Expect(node.Labels).To(HaveKeyWithValue("example.com/instance", "worker-jinja"))
		g.Expect(node.Labels).To(HaveKeyWithValue("example.com/cloud", "podcluster"))
		joinConfig, err := os.ReadFile(bootRoot(pod, "/run/kubeadm/kubeadm-join-config.yaml"))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(string(joinConfig)).To(ContainSubstring("\n  name: 'worker-jinja'\n"))
	})
	t.Run("join with a Jinja template nobody rendered", func(t *testing.T) {
		g := NewWithT(t)
		// The header cut off, as a shim once did: the expressions stay text,
		// and kubeadm refuses the node name.
		unrendered := strings.SplitN(string(upstreamJoinCloudConfig(endpoint, "abcdef.0123456789abcdef", hash)), "\n", 2)[1]
		km := &infrav1.KubernetesMachine{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "worker-unrendered"}}
		g.Expect(env.Client.Create(ctx, km)).To(Succeed())
		pod, err := nodepod.Build(nodepod.Input{Machine: km, ClusterName: "c1", Image: "kindest/node:v1.37.2"})
		g.Expect(err).NotTo(HaveOccurred())
		script, err := bootscript.Convert([]byte(unrendered))
		g.Expect(err).NotTo(HaveOccurred())
		newBootSecret(g, ns, pod.Name, script)
		g.Expect(env.Client.Create(ctx, pod)).To(Succeed())
		expectBootFailed(g, pod, ContainSubstring(`nodeRegistration.name "{{ ds.meta_data.local_hostname }}" is not a valid node name`))
		g.Expect(wc.Get(ctx, client.ObjectKey{Name: pod.Spec.Hostname}, &corev1.Node{})).NotTo(Succeed())
	})
	t.Run("join with an unknown token", func(t *testing.T) {
		g := NewWithT(t)
		pod := join(g, "worker-bad-token", "zzzzzz.0123456789abcdef", hash)
		expectBootFailed(g, pod, ContainSubstring("refused the bootstrap token zzzzzz"))
		g.Expect(wc.Get(ctx, client.ObjectKey{Name: pod.Name}, &corev1.Node{})).NotTo(Succeed())
	})
	t.Run("join with a wrong CA hash", func(t *testing.T) {
		g := NewWithT(t)
		pod := join(g, "worker-bad-hash", "abcdef.0123456789abcdef",
			"sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0")
		expectBootFailed(g, pod, ContainSubstring("matches none of caCertHashes"))
		g.Expect(wc.Get(ctx, client.ObjectKey{Name: pod.Name}, &corev1.Node{})).NotTo(Succeed())
	})

	// Deleting the Pod stops its API server.
	g.Expect(env.Client.Delete(ctx, pod)).To(Succeed())
	g.Eventually(func() error {
		return wc.Get(ctx, client.ObjectKey{Name: pod.Name}, &corev1.Node{})
	}, timeout, interval).Should(HaveOccurred())
}

// createBootstrapToken creates the bootstrap token abcdef.0123456789abcdef in
// the workload cluster wc and waits until its API server at endpoint (serving
// with caPEM) authenticates it.
func createBootstrapToken(g Gomega, wc client.Client, endpoint string, caPEM []byte) {
	ctx := context.Background()
	g.Expect(wc.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: metav1.NamespaceSystem, Name: "bootstrap-token-abcdef"},
		Type:       corev1.SecretTypeBootstrapToken,
		StringData: map[string]string{
			"token-id": "abcdef", "token-secret": "0123456789abcdef",
			"usage-bootstrap-authentication": "true", "usage-bootstrap-signing": "true",
			"auth-extra-groups": "system:bootstrappers:kubeadm:default-node-token",
		},
	})).To(Succeed())
	// The API server's token authenticator learns of the Secret through a watch.
	g.Eventually(func() error {
		tc, err := client.New(&rest.Config{
			Host: "https://" + endpoint, BearerToken: "abcdef.0123456789abcdef",
			TLSClientConfig: rest.TLSClientConfig{CAData: caPEM},
		}, client.Options{})
		if err != nil {
			return err
		}
		return tc.List(ctx, &corev1.NodeList{})
	}, timeout, interval).Should(MatchError(ContainSubstring("forbidden")))
}
