package nodepod

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podcluster/podcluster/test/testenv"
)

// TestAPIServerAcceptsTheGoldenObjects creates the built Pods and claims with a
// server-side dry run, so that a real kube-apiserver validates them (and applies
// its defaults). It needs the pinned test binaries (hack/tools); -short skips it.
func TestAPIServerAcceptsTheGoldenObjects(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a kube-apiserver")
	}
	g := NewWithT(t)
	env, err := testenv.StartWorkload()
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = env.Stop() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The control-plane input names a PriorityClass; admission wants it to exist.
	pc := &schedulingv1.PriorityClass{
		ObjectMeta: metav1.ObjectMeta{Name: controlPlaneInput().Machine.Spec.PriorityClassName},
		Value:      1000,
	}
	g.Expect(env.Client.Create(ctx, pc)).To(Succeed())

	for name, in := range map[string]Input{"control plane": controlPlaneInput(), "worker": workerInput()} {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			in.Machine.Namespace = "default"
			pod, err := Build(in)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(env.Client.Create(ctx, pod, client.DryRunAll)).To(Succeed())
			// A management cluster without the ContainerStopSignals feature drops
			// the field; the image's STOPSIGNAL then applies.
			if pod.Spec.Containers[0].Lifecycle == nil || pod.Spec.Containers[0].Lifecycle.StopSignal == nil {
				t.Log("this kube-apiserver dropped lifecycle.stopSignal (ContainerStopSignals is off)")
			}
			for _, pvc := range PVCs(in) {
				g.Expect(env.Client.Create(ctx, &pvc, client.DryRunAll)).To(Succeed())
			}
		})
	}
}
