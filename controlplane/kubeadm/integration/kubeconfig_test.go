package integration

import (
	"context"
	"crypto/x509"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podcluster/podcluster/internal/kubeconfig"
	"github.com/podcluster/podcluster/internal/pki"
)

// TestKubeadmControlPlaneKubeconfigRotation: the kubeconfig Secret the
// control plane wrote is renewed once its client certificate has less than
// half a year left: a new certificate for a year, signed by the cluster CA,
// and the old one no longer in the Secret.
func TestKubeadmControlPlaneKubeconfigRotation(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	newControlPlaneCluster(t, g, ns, "rot", 1)
	// The control plane writes its own kubeconfig from the cluster CA,
	// which it created.
	key := client.ObjectKey{Namespace: ns, Name: "rot-kubeconfig"}
	g.Expect(env.Client.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: key.Name}})).To(Succeed())
	caSecret := &corev1.Secret{}
	g.Eventually(func() error {
		return env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "rot-ca"}, caSecret)
	}, time.Minute, 100*time.Millisecond).Should(Succeed())
	ca, err := pki.ParseKeyPair(caSecret.Data[corev1.TLSCertKey], caSecret.Data[corev1.TLSPrivateKeyKey])
	g.Expect(err).NotTo(HaveOccurred())
	secret := &corev1.Secret{}
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, key, secret)).To(Succeed())
		g.Expect(metav1.GetControllerOf(secret)).NotTo(BeNil())
		g.Expect(metav1.GetControllerOf(secret).Kind).To(Equal("KubeadmControlPlane"))
	}, time.Minute, 100*time.Millisecond).Should(Succeed())
	notAfter, err := kubeconfig.ClientCertNotAfter(secret.Data["value"])
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(notAfter).To(BeTemporally("~", time.Now().Add(pki.CertValidity), time.Hour))
	server := clientcmdServer(g, secret.Data["value"])

	// A certificate with a day left, as a year-old kubeconfig would have.
	old, err := ca.Sign(pki.CertOptions{CommonName: "rot-admin", Organization: []string{"system:masters"},
		Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, Algorithm: pki.ECDSAP256, Validity: 24 * time.Hour})
	g.Expect(err).NotTo(HaveOccurred())
	expiring, err := kubeconfig.Write(kubeconfig.Config{ClusterName: "rot", Server: server, CAPEM: ca.CertPEM,
		UserName: "rot-admin", ClientCertPEM: old.CertPEM, ClientKeyPEM: old.KeyPEM})
	g.Expect(err).NotTo(HaveOccurred())
	before := secret.DeepCopy()
	secret.Data["value"] = expiring
	g.Expect(env.Client.Patch(ctx, secret, client.MergeFrom(before))).To(Succeed())

	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, key, secret)).To(Succeed())
		g.Expect(clientcmdCertData(g, secret.Data["value"])).NotTo(Equal(old.CertPEM), "the old certificate is no longer served")
		notAfter, err := kubeconfig.ClientCertNotAfter(secret.Data["value"])
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(notAfter).To(BeTemporally("~", time.Now().Add(pki.CertValidity), time.Hour))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	cfg, err := clientcmd.Load(secret.Data["value"])
	g.Expect(err).NotTo(HaveOccurred())
	for _, u := range cfg.AuthInfos {
		cert, err := pki.ParseKeyPair(u.ClientCertificateData, u.ClientKeyData)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(cert.Cert.CheckSignatureFrom(ca.Cert)).To(Succeed(), "signed by the cluster CA")
	}
	g.Expect(clientcmdServer(g, secret.Data["value"])).To(Equal(server))
}

func clientcmdServer(g Gomega, data []byte) string {
	cfg, err := clientcmd.Load(data)
	g.Expect(err).NotTo(HaveOccurred())
	for _, c := range cfg.Clusters {
		return c.Server
	}
	return ""
}

func clientcmdCertData(g Gomega, data []byte) []byte {
	cfg, err := clientcmd.Load(data)
	g.Expect(err).NotTo(HaveOccurred())
	for _, u := range cfg.AuthInfos {
		return u.ClientCertificateData
	}
	return nil
}
