package integration

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/podcluster/podcluster/api/controlplane/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/clustercerts"
	"github.com/podcluster/podcluster/internal/conditions"
	"github.com/podcluster/podcluster/internal/pki"
)

// TestKubeadmControlPlaneCertificates: the control plane creates the
// cluster's CAs and service-account key before its first Machine, controlled
// by it, and reports CertificatesAvailable. A CA the user put there first is
// used as it is and stays the user's (no owner added). Deleting the control
// plane's Secret makes it create a new one.
func TestKubeadmControlPlaneCertificates(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	userCA, err := pki.NewCA("my-etcd-ca", pki.ECDSAP256, pki.CAValidity)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(env.Client.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "certs-etcd"},
		Type:       clusterv1.ClusterSecretType,
		Data:       map[string][]byte{corev1.TLSCertKey: userCA.CertPEM, corev1.TLSPrivateKeyKey: userCA.KeyPEM},
	})).To(Succeed())
	kcp := newControlPlaneCluster(t, g, ns, "certs", 1)
	key := client.ObjectKeyFromObject(kcp)

	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, key, kcp)).To(Succeed())
		cond := conditions.Get(kcp.Status.Conditions, controlplanev1.KubeadmControlPlaneCertificatesAvailableCondition)
		g.Expect(cond).NotTo(BeNil())
		g.Expect(cond.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(cond.Reason).To(Equal(controlplanev1.KubeadmControlPlaneCertificatesAvailableReason))
	}, time.Minute, 100*time.Millisecond).Should(Succeed())
	for _, p := range []clustercerts.Purpose{clustercerts.CA, clustercerts.FrontProxyCA, clustercerts.ServiceAccount} {
		s := &corev1.Secret{}
		g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "certs-" + string(p)}, s)).To(Succeed())
		g.Expect(s.Type).To(Equal(clusterv1.ClusterSecretType))
		g.Expect(s.Labels).To(HaveKeyWithValue(clusterv1.ClusterNameLabel, "certs"))
		owner := metav1.GetControllerOf(s)
		g.Expect(owner).NotTo(BeNil(), s.Name)
		g.Expect(owner.Kind).To(Equal("KubeadmControlPlane"))
		g.Expect(owner.UID).To(Equal(kcp.UID))
		if p != clustercerts.ServiceAccount {
			_, err := pki.ParseKeyPair(s.Data[corev1.TLSCertKey], s.Data[corev1.TLSPrivateKeyKey])
			g.Expect(err).NotTo(HaveOccurred(), s.Name)
		}
	}
	// The first Machine exists only once the certificates do: its
	// KubeadmConfig would otherwise have made them.
	ca := &corev1.Secret{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "certs-ca"}, ca)).To(Succeed())
	for _, m := range controlPlaneMachines(g, ns) {
		g.Expect(m.CreationTimestamp.Before(&ca.CreationTimestamp)).To(BeFalse(), "Machine %s was created before the CA", m.Name)
	}

	etcd := &corev1.Secret{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "certs-etcd"}, etcd)).To(Succeed())
	g.Expect(etcd.OwnerReferences).To(BeEmpty(), "the user's CA stays the user's")
	g.Expect(etcd.Data[corev1.TLSCertKey]).To(Equal(userCA.CertPEM))

	// A deleted one is made again.
	g.Expect(env.Client.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "certs-proxy"}})).To(Succeed())
	g.Eventually(func() error {
		return env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "certs-proxy"}, &corev1.Secret{})
	}, time.Minute, 100*time.Millisecond).Should(Succeed())
}
