package integration

import (
	"context"
	"sync"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
	"github.com/podcluster/podcluster/infrastructure/kubernetes/nodepod"
	"github.com/podcluster/podcluster/infrastructure/kubernetes/reconcilers/kubernetesmachine"
	"github.com/podcluster/podcluster/internal/remote"
)

// laggingClient is a manager client whose cache has not seen the controller's
// own writes yet: reads of the machines it holds return the copy taken before
// the first reconcile, and their node Pods and boot Secrets are not there.
// Writes and all other reads go to the API server, and every create that
// fails is recorded.
type laggingClient struct {
	client.Client
	stale map[client.ObjectKey]*infrav1.KubernetesMachine

	mu     sync.Mutex
	failed []string
}

func (c *laggingClient) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	for k, stale := range c.stale {
		switch o := obj.(type) {
		case *infrav1.KubernetesMachine:
			if key == k {
				stale.DeepCopyInto(o)
				return nil
			}
		case *corev1.Pod:
			if key == k {
				return apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, key.Name)
			}
		case *corev1.Secret:
			if key == (client.ObjectKey{Namespace: k.Namespace, Name: nodepod.BootstrapSecretName(k.Name)}) {
				return apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, key.Name)
			}
		}
	}
	return c.Client.Get(ctx, key, obj, opts...)
}

func (c *laggingClient) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	err := c.Client.Create(ctx, obj, opts...)
	if err != nil {
		c.mu.Lock()
		c.failed = append(c.failed, obj.GetName()+": "+err.Error())
		c.mu.Unlock()
	}
	return err
}

// TestNoSecondCreateWhateverTheCacheLag: a machine is reconciled again
// before the cache shows its node Pod, its boot Secret or its own status and
// providerID (their own events do that). The later passes must find the
// children through the API server: no create is answered AlreadyExists (a
// 409 at scale), and each machine has exactly its one Pod.
func TestNoSecondCreateWhateverTheCacheLag(t *testing.T) {
	g := NewWithT(t)
	ctx := ctrl.LoggerInto(context.Background(), ctrl.Log)
	// This test drives the reconciler itself; the manager's would see the
	// same objects through an up-to-date cache.
	mgr.Stop()
	t.Cleanup(func() {
		if err := mgr.Start(); err != nil {
			t.Errorf("restarting the manager: %v", err)
		}
	})
	ns := env.NewNamespace(t)
	c := newCluster(g, ns, "lag", 0)
	lagging := &laggingClient{Client: env.Client, stale: map[client.ObjectKey]*infrav1.KubernetesMachine{}}
	var machines []*infrav1.KubernetesMachine
	for _, name := range []string{"w0", "w1"} {
		_, km := newMachine(g, c, name, machineOptions{cloudConfig: "join-node.yaml"})
		g.Expect(env.Client.Get(ctx, keyOf(km), km)).To(Succeed())
		lagging.stale[keyOf(km)] = km.DeepCopy()
		machines = append(machines, km)
	}
	ccCtx, stopCC := context.WithCancel(ctx)
	defer stopCC()
	cc := remote.New(env.Client, env.Scheme, remote.Options{})
	go func() { _ = cc.Start(ccCtx) }()
	r := &kubernetesmachine.Reconciler{Client: lagging, APIReader: env.Client, ClusterCache: cc}

	for _, km := range machines {
		req := ctrl.Request{NamespacedName: keyOf(km)}
		for pass := range 3 {
			_, err := r.Reconcile(ctx, req)
			g.Expect(err).NotTo(HaveOccurred(), "%s pass %d", km.Name, pass)
		}
	}
	g.Expect(lagging.failed).To(BeEmpty(), "creates that failed")
	pods := &corev1.PodList{}
	g.Expect(env.Client.List(ctx, pods, client.InNamespace(ns))).To(Succeed())
	g.Expect(pods.Items).To(HaveLen(len(machines)))
	for _, km := range machines {
		got := getKM(g, km)
		g.Expect(got.Spec.ProviderID).To(Equal(kubernetesmachine.ProviderID(ns, km.Name)))
		g.Expect(got.Finalizers).To(ContainElement(infrav1.MachineFinalizer))
		g.Expect(got.Status.Phase).To(Equal(infrav1.KubernetesMachinePhaseProvisioning))
	}
}
