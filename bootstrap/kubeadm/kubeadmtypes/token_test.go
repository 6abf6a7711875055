package kubeadmtypes

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

func TestValidateToken(t *testing.T) {
	tests := []struct {
		name  string
		token string
		valid bool
	}{
		{name: "kubeadm's example", token: "abcdef.0123456789abcdef", valid: true},
		{name: "empty", token: ""},
		{name: "upper case", token: "ABCDEF.0123456789abcdef"},
		{name: "short id", token: "abcde.0123456789abcdef"},
		{name: "long secret", token: "abcdef.0123456789abcdef0"},
		{name: "no dot", token: "abcdef0123456789abcdef"},
		{name: "other separator", token: "abcdef-0123456789abcdef"},
		{name: "trailing newline", token: "abcdef.0123456789abcdef\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			if tt.valid {
				g.Expect(ValidateToken(tt.token)).To(Succeed())
			} else {
				g.Expect(ValidateToken(tt.token)).NotTo(Succeed())
			}
		})
	}
}

func TestNewToken(t *testing.T) {
	g := NewWithT(t)
	seen := map[string]bool{}
	for range 100 {
		tok := NewToken()
		g.Expect(ValidateToken(tok)).To(Succeed(), tok)
		g.Expect(seen).NotTo(HaveKey(tok))
		seen[tok] = true
	}
}

func TestCACertHash(t *testing.T) {
	g := NewWithT(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	g.Expect(err).NotTo(HaveOccurred())
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kubernetes"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	g.Expect(err).NotTo(HaveOccurred())
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})

	// The expected value, computed independently from the public key itself.
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	g.Expect(err).NotTo(HaveOccurred())
	sum := sha256.Sum256(spki)
	want := "sha256:" + hex.EncodeToString(sum[:])

	got, err := CACertHash(certPEM)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(Equal(want))

	// A key block before the certificate is skipped.
	withKey := append(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte("x")}), certPEM...)
	got, err = CACertHash(withKey)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(Equal(want))

	_, err = CACertHash([]byte("not PEM"))
	g.Expect(err).To(MatchError(ContainSubstring("no PEM CERTIFICATE block")))
	_, err = CACertHash(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("garbage")}))
	g.Expect(err).To(MatchError(ContainSubstring("CA certificate")))
}

func TestValidateVersion(t *testing.T) {
	tests := []struct {
		version string
		valid   bool
	}{
		{version: "v1.37.2", valid: true},
		{version: "v1.37.0-rc.1", valid: true},
		{version: "v1.37.2+build.1", valid: true},
		{version: "1.37.2"},
		{version: "v1.37"},
		{version: "v1.37.x"},
		{version: ""},
		{version: "latest"},
		{version: "V1.37.2"},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			g := NewWithT(t)
			err := ValidateVersion(tt.version)
			if tt.valid {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			g.Expect(err).To(MatchError(ContainSubstring("leading v, for example v1.37.2")))
			g.Expect(err.Error()).To(ContainSubstring("%q", tt.version))
		})
	}
}

func TestClusterConfigurationRejectsBadVersion(t *testing.T) {
	g := NewWithT(t)
	in := seedInputs
	in.KubernetesVersion = "1.37.2"
	_, err := ClusterConfigurationFromSpec(seedClusterConfiguration(), in)
	g.Expect(err).To(MatchError(ContainSubstring(`kubernetes version "1.37.2"`)))
}
