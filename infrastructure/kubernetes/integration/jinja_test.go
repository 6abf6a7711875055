package integration

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/infrastructure/kubernetes/nodepod"
	"github.com/podcluster/podcluster/test/testenv"
)

// TestJinjaCloudConfigIsRenderedForTheNodePod gives a Machine the bootstrap
// data upstream's kubeadm bootstrap provider writes (a "## template: jinja"
// cloud-config): the boot script the controller stores writes the node's own
// hostname, instance id and zone where the template asks for them.
func TestJinjaCloudConfigIsRenderedForTheNodePod(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	root, err := testenv.RepoRoot()
	g.Expect(err).NotTo(HaveOccurred())
	data, err := os.ReadFile(filepath.Join(root, "infrastructure", "kubernetes", "bootscript", "testdata", "jinja", "worker-join.yaml"))
	g.Expect(err).NotTo(HaveOccurred())

	c := newCluster(g, ns, "gamma", 0)
	name := "worker-" + suffix(ns)
	zone := "zone-j-" + suffix(ns)
	m, km := newMachine(g, c, name, machineOptions{failureDomain: zone})
	g.Expect(env.Client.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Type:       clusterv1.ClusterSecretType,
		Data:       map[string][]byte{"value": data, "format": []byte("cloud-config")},
	})).To(Succeed())
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(m), m)).To(Succeed())
	m.Spec.Bootstrap.DataSecretName = &name
	g.Expect(env.Client.Update(ctx, m)).To(Succeed())

	pod := waitForPod(g, km)
	g.Expect(pod.Spec.Hostname).To(Equal(name))
	secret := &corev1.Secret{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: nodepod.BootstrapSecretName(name)}, secret)).To(Succeed())
	script := secret.Data[nodepod.BootstrapScriptKey]
	g.Expect(string(script)).NotTo(ContainSubstring("{{"))

	bootRoot := t.TempDir()
	runDry(t, g, script, bootRoot)
	kubeadm, err := os.ReadFile(filepath.Join(bootRoot, "run", "kubeadm", "kubeadm-join-config.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(kubeadm)).To(ContainSubstring("\n  name: '" + name + "'\n"))
	g.Expect(string(kubeadm)).To(ContainSubstring("topology.example.com/zone=" + zone + "\n"))
	instance, err := os.ReadFile(filepath.Join(bootRoot, "etc", "podcluster", "instance"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(strings.Split(string(instance), "\n")[0]).To(Equal("instance: " + name + " (" + name + ")"))
}
