package integration

import (
	"context"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
	"github.com/podcluster/podcluster/infrastructure/kubernetes/nodepod"
)

// TestOversizedBootScriptIsReported: bootstrap data that fits its own Secret
// but whose boot script does not fit the boot Secret (the script writes file
// contents in a longer form) stops the machine with BootstrapSucceeded and
// PodReady saying so, rather than an error in the log at every retry. No node
// Pod starts.
func TestOversizedBootScriptIsReported(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	c := newCluster(g, ns, "alpha", 0)
	name := "big-" + suffix(ns)
	data := "#cloud-config\nwrite_files:\n- path: /opt/big\n  content: " + strings.Repeat("a", 1000000) + "\n"
	_, km := newMachine(g, c, name, machineOptions{cloudConfigData: []byte(data)})

	want := "the boot Secret " + nodepod.BootstrapSecretName(name) + " would be"
	waitForPodReadyMessage(g, km, want)
	got := getKM(g, km)
	boot := condition(got.Status.Conditions, infrav1.KubernetesMachineBootstrapSucceededCondition)
	g.Expect(boot.Status).To(Equal(metav1.ConditionFalse))
	g.Expect(boot.Reason).To(Equal(infrav1.KubernetesMachineBootstrapSucceededInvalidBootstrapDataReason))
	g.Expect(boot.Message).To(ContainSubstring("more than the 1048576 bytes a Secret can carry"))
	expectNoPod(g, km)
	err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: nodepod.BootstrapSecretName(name)}, &corev1.Secret{})
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "no boot Secret")
}
