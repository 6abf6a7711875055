package webhook

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrl "sigs.k8s.io/controller-runtime"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
)

// Local is a conversion webhook served on loopback, for an API server on the
// same host (the local plane of `podcluster up`, tests).
type Local struct {
	// Addr is host:port the webhook listens on.
	Addr string
	// ClientConfig is how the API server reaches it: by URL, trusting the
	// webhook's own CA.
	ClientConfig apiextensionsv1.WebhookClientConfig
}

// StartLocal makes a CA and serving certificate for 127.0.0.1 in certDir,
// serves conversions for the versions s knows on a free loopback port until
// ctx ends, and returns once the server accepts connections.
func StartLocal(ctx context.Context, s *runtime.Scheme, certDir string) (*Local, error) {
	const host = "127.0.0.1"
	port, err := freePort(host)
	if err != nil {
		return nil, err
	}
	cert, err := NewCertificate(host, "localhost")
	if err != nil {
		return nil, fmt.Errorf("making the webhook's serving certificate: %w", err)
	}
	if err := cert.Write(certDir); err != nil {
		return nil, fmt.Errorf("writing the webhook's serving certificate: %w", err)
	}
	// The certificate is served from memory: it never changes for the run,
	// and a file watcher would cost an inotify instance, of which a host
	// running many API servers (each watches its certificates) may have
	// none left (the per-user limit is often 128). The files stay in
	// certDir for whoever wants to look.
	keyPair, err := tls.X509KeyPair(cert.CertPEM, cert.KeyPEM)
	if err != nil {
		return nil, fmt.Errorf("loading the webhook's serving certificate: %w", err)
	}
	srv := crwebhook.NewServer(crwebhook.Options{Host: host, Port: port, TLSOpts: []func(*tls.Config){
		func(c *tls.Config) {
			c.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &keyPair, nil }
		},
	}})
	srv.Register(ConvertPath, Handler(s))
	errs := make(chan error, 1)
	go func() {
		if err := srv.Start(ctx); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "conversion webhook stopped")
			errs <- err
		}
	}()
	started := srv.StartedChecker()
	err = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		select {
		case err := <-errs:
			return false, err
		default:
		}
		return started(nil) == nil, nil
	})
	if err != nil {
		return nil, fmt.Errorf("starting the conversion webhook: %w", err)
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	return &Local{Addr: addr, ClientConfig: URLClientConfig(addr, cert.CAPEM)}, nil
}

func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}
