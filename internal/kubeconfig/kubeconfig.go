// Package kubeconfig writes kubeconfig files for a cluster: an admin
// kubeconfig with a client certificate signed by the cluster's CA, in the
// shape upstream Cluster API stores in the <cluster>-kubeconfig Secret.
package kubeconfig

import (
	"crypto/x509"
	"fmt"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	certutil "k8s.io/client-go/util/cert"

	"github.com/podcluster/podcluster/internal/pki"
)

// Config describes one kubeconfig with a single cluster, user and context.
type Config struct {
	// ClusterName names the cluster entry, for example "example".
	ClusterName string
	// Server is the API server URL, for example https://127.0.0.1:6443.
	Server string
	// CAPEM is the cluster CA certificate that signs the server's certificate.
	CAPEM []byte
	// UserName names the user entry, for example "example-admin".
	UserName string
	// ClientCertPEM and ClientKeyPEM authenticate the user.
	ClientCertPEM, ClientKeyPEM []byte
}

// Write encodes the kubeconfig.
func Write(c Config) ([]byte, error) {
	contextName := fmt.Sprintf("%s@%s", c.UserName, c.ClusterName)
	cfg := clientcmdapi.Config{
		Clusters: map[string]*clientcmdapi.Cluster{
			c.ClusterName: {Server: c.Server, CertificateAuthorityData: c.CAPEM},
		},
		AuthInfos: map[string]*clientcmdapi.AuthInfo{
			c.UserName: {ClientCertificateData: c.ClientCertPEM, ClientKeyData: c.ClientKeyPEM},
		},
		Contexts: map[string]*clientcmdapi.Context{
			contextName: {Cluster: c.ClusterName, AuthInfo: c.UserName},
		},
		CurrentContext: contextName,
	}
	return clientcmd.Write(cfg)
}

// NewAdmin makes an admin kubeconfig for clusterName: a fresh client
// certificate in the system:masters group, signed by the cluster CA.
func NewAdmin(clusterName, server string, ca *pki.KeyPair) ([]byte, error) {
	user := clusterName + "-admin"
	client, err := ca.Sign(pki.CertOptions{
		CommonName:   user,
		Organization: []string{"system:masters"},
		Usages:       []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		Algorithm:    pki.ECDSAP256,
	})
	if err != nil {
		return nil, fmt.Errorf("signing admin client certificate for %s: %w", clusterName, err)
	}
	return Write(Config{
		ClusterName: clusterName, Server: server, CAPEM: ca.CertPEM,
		UserName: user, ClientCertPEM: client.CertPEM, ClientKeyPEM: client.KeyPEM,
	})
}

// ClientCertNotAfter returns when the client certificate of a kubeconfig's
// current context expires.
func ClientCertNotAfter(data []byte) (time.Time, error) {
	cfg, err := clientcmd.Load(data)
	if err != nil {
		return time.Time{}, fmt.Errorf("reading the kubeconfig: %w", err)
	}
	ctx, ok := cfg.Contexts[cfg.CurrentContext]
	if !ok {
		return time.Time{}, fmt.Errorf("the kubeconfig has no current context %q", cfg.CurrentContext)
	}
	user, ok := cfg.AuthInfos[ctx.AuthInfo]
	if !ok || len(user.ClientCertificateData) == 0 {
		return time.Time{}, fmt.Errorf("user %q of the kubeconfig has no client certificate", ctx.AuthInfo)
	}
	certs, err := certutil.ParseCertsPEM(user.ClientCertificateData)
	if err != nil || len(certs) == 0 {
		return time.Time{}, fmt.Errorf("reading the client certificate of user %q: %w", ctx.AuthInfo, err)
	}
	return certs[0].NotAfter, nil
}
