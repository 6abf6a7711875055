package kubeadmcontrolplane

import (
	"crypto/x509"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	controlplanev1 "github.com/podcluster/podcluster/api/controlplane/v1beta2"
	"github.com/podcluster/podcluster/internal/kubeconfig"
	"github.com/podcluster/podcluster/internal/pki"
	"github.com/podcluster/podcluster/internal/util"
)

func TestKubeconfigRenewal(t *testing.T) {
	g := NewWithT(t)
	ca, err := pki.NewCA("kubernetes", pki.ECDSAP256, pki.CAValidity)
	g.Expect(err).NotTo(HaveOccurred())
	kcp := &controlplanev1.KubeadmControlPlane{ObjectMeta: metav1.ObjectMeta{Name: "cp", UID: types.UID("kcp-uid")}}
	other := &controlplanev1.KubeadmControlPlane{ObjectMeta: metav1.ObjectMeta{Name: "cp", UID: types.UID("older-uid")}}
	secretWith := func(validity time.Duration, owner *controlplanev1.KubeadmControlPlane) *corev1.Secret {
		cert, err := ca.Sign(pki.CertOptions{CommonName: "admin", Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, Algorithm: pki.ECDSAP256, Validity: validity})
		g.Expect(err).NotTo(HaveOccurred())
		data, err := kubeconfig.Write(kubeconfig.Config{ClusterName: "c", Server: "https://127.0.0.1:6443", CAPEM: ca.CertPEM, UserName: "admin", ClientCertPEM: cert.CertPEM, ClientKeyPEM: cert.KeyPEM})
		g.Expect(err).NotTo(HaveOccurred())
		s := &corev1.Secret{Data: map[string][]byte{"value": data}}
		if owner != nil {
			s.OwnerReferences = []metav1.OwnerReference{util.OwnerRef(owner, controlplanev1.GroupVersion.WithKind("KubeadmControlPlane"), true)}
		}
		return s
	}
	now := time.Now()
	_, due := kubeconfigRenewal(kcp, secretWith(pki.CertValidity, kcp), now)
	g.Expect(due).To(BeFalse(), "a fresh one")
	at, due := kubeconfigRenewal(kcp, secretWith(pki.CertValidity, kcp), now)
	g.Expect(due).To(BeFalse())
	g.Expect(at).To(BeTemporally("~", now.Add(pki.CertValidity/2), time.Minute), "due half a year before the end")
	_, due = kubeconfigRenewal(kcp, secretWith(100*24*time.Hour, kcp), now)
	g.Expect(due).To(BeTrue(), "100 days left")
	_, due = kubeconfigRenewal(kcp, secretWith(24*time.Hour, nil), now)
	g.Expect(due).To(BeFalse(), "a user's Secret is theirs")
	_, due = kubeconfigRenewal(kcp, secretWith(24*time.Hour, other), now)
	g.Expect(due).To(BeFalse(), "another control plane's (an older one of the same name)")
	broken := secretWith(pki.CertValidity, kcp)
	broken.Data["value"] = []byte("not a kubeconfig")
	_, due = kubeconfigRenewal(kcp, broken, now)
	g.Expect(due).To(BeTrue(), "ours and unreadable")
}
