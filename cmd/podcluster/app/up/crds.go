package up

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/podcluster/podcluster/cmd/podcluster/client/manifest"
	"github.com/podcluster/podcluster/cmd/podcluster/client/streams"
	"github.com/podcluster/podcluster/config/crd"
	"github.com/podcluster/podcluster/internal/scheme"
	"github.com/podcluster/podcluster/internal/webhook"
)

// installCRDs serves the conversion webhook in this process on loopback, with
// a CA and serving certificate made for this run in <state-dir>/webhook, and
// installs the CRDs with spec.conversion pointing at it by URL: the API server
// then serves cluster.x-k8s.io and bootstrap.cluster.x-k8s.io v1beta1 beside
// the stored v1beta2. The webhook stops with ctx.
//
// The webhook logs to <state-dir>/logs/providers.log with the providers: the
// logger is set here, before the webhook's first line.
func (o *options) installCRDs(ctx context.Context, s streams.IO, c client.Client) error {
	logFile, err := os.OpenFile(filepath.Join(o.stateDir, "logs", "providers.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	context.AfterFunc(ctx, func() { _ = logFile.Close() })
	ctrl.SetLogger(zap.New(zap.WriteTo(logFile)))
	hook, err := webhook.StartLocal(ctx, webhook.Scheme(scheme.New()), filepath.Join(o.stateDir, "webhook"))
	if err != nil {
		return err
	}
	fmt.Fprintf(s.ErrOut, " • Serving the conversion webhook on %s\n", hook.Addr)
	fmt.Fprintln(s.ErrOut, " • Installing CRDs")
	crds, err := crd.All()
	if err != nil {
		return err
	}
	webhook.WithConversion(crds, hook.ClientConfig)
	return manifest.InstallCRDs(ctx, c, crds)
}
