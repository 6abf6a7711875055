package kubeadmtypes

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/util/version"
)

// tokenPattern is the format of a bootstrap token: "<6-char id>.<16-char secret>".
var tokenPattern = regexp.MustCompile(`^[a-z0-9]{6}\.[a-z0-9]{16}$`)

// ValidateToken checks that token has the bootstrap token format, for example
// "abcdef.0123456789abcdef". The error never repeats the token: it is a secret.
func ValidateToken(token string) error {
	if !tokenPattern.MatchString(token) {
		return errors.New(`bootstrap token must match "[a-z0-9]{6}.[a-z0-9]{16}"`)
	}
	return nil
}

// NewToken returns a random bootstrap token from crypto/rand (whose Read
// never fails since Go 1.24, hence no error).
func NewToken() string {
	return randomString(6) + "." + randomString(16)
}

func randomString(n int) string {
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
	// Bytes at or above 252, the largest multiple of 36 that fits in a byte, are
	// dropped so that every character is equally likely.
	const limit = 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	for len(out) < n {
		_, _ = rand.Read(buf)
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out)
}

// CACertHash returns kubeadm's discovery hash of a CA certificate:
// "sha256:" and the hex SHA-256 of its DER SubjectPublicKeyInfo. The first
// CERTIFICATE block of caCertPEM is used.
func CACertHash(caCertPEM []byte) (string, error) {
	rest := caCertPEM
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return "", errors.New("CA certificate: no PEM CERTIFICATE block found")
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return "", fmt.Errorf("CA certificate: %w", err)
		}
		sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
		return "sha256:" + hex.EncodeToString(sum[:]), nil
	}
}

// ValidateVersion checks that v is a semantic version with a leading "v",
// for example v1.37.2, the form Machine.spec.version and kubeadm use.
func ValidateVersion(v string) error {
	const want = "a semantic version with a leading v, for example v1.37.2"
	if !strings.HasPrefix(v, "v") {
		return fmt.Errorf("kubernetes version %q: must be %s", v, want)
	}
	if _, err := version.ParseSemantic(v); err != nil {
		return fmt.Errorf("kubernetes version %q: must be %s: %w", v, want, err)
	}
	return nil
}
