package pki

import (
	"crypto/x509"
	"net"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

func TestCASignsVerifiableCertificates(t *testing.T) {
	for _, alg := range []Algorithm{"", RSA2048, ECDSAP256, ECDSAP384} {
		t.Run(string(alg), func(t *testing.T) {
			g := NewWithT(t)
			ca, err := NewCA("kubernetes", alg, CAValidity)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(ca.Cert.IsCA).To(BeTrue())
			g.Expect(ca.Cert.NotAfter).To(BeTemporally("~", time.Now().Add(CAValidity), time.Minute))

			leaf, err := ca.Sign(CertOptions{
				CommonName: "kube-apiserver", DNSNames: []string{"localhost"}, IPs: []net.IP{net.ParseIP("127.0.0.1")},
				Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, Algorithm: alg,
			})
			g.Expect(err).NotTo(HaveOccurred())
			pool := x509.NewCertPool()
			pool.AddCert(ca.Cert)
			_, err = leaf.Cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: "localhost"})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(leaf.Cert.VerifyHostname("127.0.0.1")).To(Succeed())

			// Round trip through PEM.
			parsed, err := ParseKeyPair(leaf.CertPEM, leaf.KeyPEM)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(parsed.Cert.Equal(leaf.Cert)).To(BeTrue())
		})
	}
}

func TestLeafNeverOutlivesItsCA(t *testing.T) {
	g := NewWithT(t)
	ca, err := NewCA("short", ECDSAP256, time.Hour)
	g.Expect(err).NotTo(HaveOccurred())
	leaf, err := ca.Sign(CertOptions{CommonName: "x", Algorithm: ECDSAP256})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(leaf.Cert.NotAfter).To(Equal(ca.Cert.NotAfter))
}

func TestUnknownAlgorithm(t *testing.T) {
	_, err := GenerateKey("DSA-1024")
	NewWithT(t).Expect(err).To(MatchError(ContainSubstring(`unknown key algorithm "DSA-1024"`)))
}

func TestServiceAccountKey(t *testing.T) {
	g := NewWithT(t)
	priv, pub, err := NewServiceAccountKey()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(priv)).To(ContainSubstring("PRIVATE KEY"))
	g.Expect(string(pub)).To(HavePrefix("-----BEGIN PUBLIC KEY-----"))
}
