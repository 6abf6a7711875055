package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	"github.com/podcluster/podcluster/bootstrap/kubeadm/reconcilers/kubeadmconfig"
	"github.com/podcluster/podcluster/internal/remote"
)

// laggingClient is a manager client whose cache has not seen the controller's
// own writes yet: reads of the configs it holds return the copy taken before
// the first reconcile, and their data Secrets are not there. Writes and all
// other reads go to the API server.
type laggingClient struct {
	client.Client
	stale map[client.ObjectKey]*bootstrapv1.KubeadmConfig
}

func (c laggingClient) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if stale, ok := c.stale[key]; ok {
		switch o := obj.(type) {
		case *bootstrapv1.KubeadmConfig:
			stale.DeepCopyInto(o)
			return nil
		case *corev1.Secret:
			return apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, key.Name)
		}
	}
	return c.Client.Get(ctx, key, obj, opts...)
}

// TestOneJoinTokenPerMachineWhateverTheCacheLag: a worker's config is
// reconciled again before the cache shows its data Secret or its status (the
// Secret's own event does that). The second pass must find the data through
// the API server and create no second join token: exactly one token per
// Machine exists in the workload cluster, the one its data names.
func TestOneJoinTokenPerMachineWhateverTheCacheLag(t *testing.T) {
	g := NewWithT(t)
	ctx := ctrl.LoggerInto(context.Background(), ctrl.Log)
	// This test drives the reconciler itself; the manager's would see the
	// same objects through an up-to-date cache.
	stopManager()
	t.Cleanup(func() {
		if err := startManager(); err != nil {
			t.Errorf("restarting the manager: %v", err)
		}
	})
	ns := env.NewNamespace(t)
	c := newCluster(g, ns, "lag")
	g.Expect(env.Client.Create(ctx, userCA(ns, "lag-ca"))).To(Succeed())
	setInitialized(g, c)

	lagging := laggingClient{Client: env.Client, stale: map[client.ObjectKey]*bootstrapv1.KubeadmConfig{}}
	var configs []*bootstrapv1.KubeadmConfig
	for _, name := range []string{"w0", "w1", "w2"} {
		config := newMachine(g, c, name, false, "v1.37.2", seedSpec())
		lagging.stale[client.ObjectKeyFromObject(config)] = config.DeepCopy()
		configs = append(configs, config)
	}
	ccCtx, stopCC := context.WithCancel(ctx)
	defer stopCC()
	cc := remote.New(env.Client, env.Scheme, remote.Options{})
	go func() { _ = cc.Start(ccCtx) }()
	r := &kubeadmconfig.Reconciler{Client: lagging, APIReader: env.Client, ClusterCache: cc, TokenTTL: time.Hour}

	for _, config := range configs {
		req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(config)}
		for pass := range 3 {
			_, err := r.Reconcile(ctx, req)
			g.Expect(err).NotTo(HaveOccurred(), "%s pass %d", config.Name, pass)
		}
	}

	tokens := &corev1.SecretList{}
	g.Expect(workload.Client.List(ctx, tokens, client.InNamespace("kube-system"))).To(Succeed())
	for _, config := range configs {
		var ids []string
		for _, s := range tokens.Items {
			if strings.HasSuffix(string(s.Data["description"]), "Machine "+ns+"/"+config.Name) {
				ids = append(ids, string(s.Data["token-id"]))
			}
		}
		data := &corev1.Secret{}
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(config), data)).To(Succeed())
		g.Expect(ids).To(ConsistOf(data.Annotations[kubeadmconfig.TokenIDAnnotation]), "join tokens of Machine %s", config.Name)
		g.Expect(tokenIn(writtenFile(g, string(data.Data["value"]), "/run/kubeadm/kubeadm-join-config.yaml"))).To(
			HavePrefix(data.Annotations[kubeadmconfig.TokenIDAnnotation]+"."), "the data joins with that token")
	}
}
