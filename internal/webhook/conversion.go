// Package webhook serves the conversion webhook of podcluster's CRDs that have
// more than one version (cluster.x-k8s.io and bootstrap.cluster.x-k8s.io
// v1beta1 beside the stored v1beta2), and prepares what the API server needs
// to call it: a serving certificate, and each CRD's spec.conversion.
package webhook

import (
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/conversion"

	bootstrapv1beta1 "github.com/podcluster/podcluster/api/bootstrap/v1beta1"
	clusterv1beta1 "github.com/podcluster/podcluster/api/core/v1beta1"
	"github.com/podcluster/podcluster/internal/pki"
)

// ConvertPath is where the manager's webhook server serves conversions.
const ConvertPath = "/convert"

// Serving certificate file names, as controller-runtime's webhook server and
// a kubernetes.io/tls Secret name them.
const (
	CertName = "tls.crt"
	KeyName  = "tls.key"
)

// AddToScheme adds the served-only versions (v1beta1) to a scheme: the
// conversion handler decodes requests of every version through it.
func AddToScheme(s *runtime.Scheme) error {
	if err := clusterv1beta1.AddToScheme(s); err != nil {
		return err
	}
	return bootstrapv1beta1.AddToScheme(s)
}

// Handler converts between the versions s knows, through each kind's hub.
func Handler(s *runtime.Scheme) http.Handler {
	return conversion.NewWebhookHandler(s, conversion.NewRegistry())
}

// Scheme returns a scheme with every version the webhook converts; for tests
// and commands that convert without a manager.
func Scheme(base *runtime.Scheme) *runtime.Scheme {
	utilruntime.Must(AddToScheme(base))
	return base
}

// WithConversion sets spec.conversion to the webhook on every CRD that has
// more than one version, and serves them all; it leaves the others alone.
//
// The CRDs as generated (config/crd/bases, and the release manifests made
// from them) do not serve v1beta1 (+kubebuilder:unservedversion): without the
// webhook the API server would take a v1beta1 object as if it were v1beta2,
// and drop every field the two name differently. Only an install that runs
// the webhook, `podcluster up` and `podcluster init`, serves v1beta1.
func WithConversion(crds []*apiextensionsv1.CustomResourceDefinition, client apiextensionsv1.WebhookClientConfig) {
	for _, crd := range crds {
		if len(crd.Spec.Versions) < 2 {
			continue
		}
		for i := range crd.Spec.Versions {
			crd.Spec.Versions[i].Served = true
		}
		cc := client.DeepCopy()
		if cc.Service != nil {
			cc.Service.Path = ptr.To(ConvertPath)
		}
		crd.Spec.Conversion = &apiextensionsv1.CustomResourceConversion{
			Strategy: apiextensionsv1.WebhookConverter,
			Webhook: &apiextensionsv1.WebhookConversion{
				ClientConfig:             cc,
				ConversionReviewVersions: []string{"v1"},
			},
		}
	}
}

// URLClientConfig reaches the webhook at https://host:port/convert, for an API
// server that reaches the manager directly (the local plane).
func URLClientConfig(hostPort string, caPEM []byte) apiextensionsv1.WebhookClientConfig {
	return apiextensionsv1.WebhookClientConfig{URL: ptr.To("https://" + hostPort + ConvertPath), CABundle: caPEM}
}

// ServiceClientConfig reaches the webhook through a Service in front of the
// manager (a management cluster).
func ServiceClientConfig(namespace, name string, port int32, caPEM []byte) apiextensionsv1.WebhookClientConfig {
	return apiextensionsv1.WebhookClientConfig{
		Service:  &apiextensionsv1.ServiceReference{Namespace: namespace, Name: name, Port: ptr.To(port), Path: ptr.To(ConvertPath)},
		CABundle: caPEM,
	}
}

// Certificate is a serving certificate and the CA that signed it.
type Certificate struct {
	CAPEM, CertPEM, KeyPEM []byte
}

// NewCertificate makes a CA and a serving certificate for the given host
// names and IP addresses.
func NewCertificate(hosts ...string) (*Certificate, error) {
	ca, err := pki.NewCA("podcluster-webhook-ca", pki.ECDSAP256, pki.CAValidity)
	if err != nil {
		return nil, err
	}
	opts := pki.CertOptions{
		CommonName: "podcluster-webhook",
		Usages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		Algorithm:  pki.ECDSAP256,
		Validity:   pki.CAValidity,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			opts.IPs = append(opts.IPs, ip)
		} else {
			opts.DNSNames = append(opts.DNSNames, h)
		}
	}
	kp, err := ca.Sign(opts)
	if err != nil {
		return nil, err
	}
	return &Certificate{CAPEM: ca.CertPEM, CertPEM: kp.CertPEM, KeyPEM: kp.KeyPEM}, nil
}

// Write stores the certificate and key in dir under CertName and KeyName,
// where the webhook server reads them.
func (c *Certificate) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, CertName), c.CertPEM, 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, KeyName), c.KeyPEM, 0o600)
}

// InClusterCertDir is where the core manager's Pod mounts the serving
// certificate Secret, and InClusterPort the port it serves conversions on.
const (
	InClusterCertDir = "/var/run/podcluster/webhook"
	InClusterPort    = 9443
)

// AddServer serves conversions from the manager on port with the certificate
// in certDir (CertName and KeyName, as a kubernetes.io/tls Secret mounts
// them), and adds the v1beta1 types to the manager's scheme.
func AddServer(mgr manager.Manager, port int, certDir string) error {
	if err := AddToScheme(mgr.GetScheme()); err != nil {
		return fmt.Errorf("adding v1beta1 types to the scheme: %w", err)
	}
	srv := crwebhook.NewServer(crwebhook.Options{Port: port, CertDir: certDir, CertName: CertName, KeyName: KeyName})
	srv.Register(ConvertPath, Handler(mgr.GetScheme()))
	return mgr.Add(srv)
}
