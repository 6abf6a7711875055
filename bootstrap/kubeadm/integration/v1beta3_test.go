package integration

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	"github.com/podcluster/podcluster/bootstrap/kubeadm/internal/kubeadmtest"
)

// TestOlderVersionsGetV1Beta3: Machines before v1.31 get their kubeadm
// configuration as kubeadm.k8s.io/v1beta3, which the kubeadm of that version
// (v1.30, built from its Go module) accepts, for init and for a join; a
// setting v1beta3 cannot carry is reported on the KubeadmConfig naming the
// field, and no data is made.
func TestOlderVersionsGetV1Beta3(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	c := newCluster(g, ns, "older")

	initConfig := newMachine(g, c, "cp0", true, "v1.30.14", seedSpec())
	initYAML := writtenFile(g, dataOf(g, initConfig), "/run/kubeadm/kubeadm.yaml")
	g.Expect(initYAML).To(ContainSubstring("apiVersion: kubeadm.k8s.io/v1beta3"))
	g.Expect(initYAML).To(ContainSubstring("kubernetesVersion: v1.30.14"))
	g.Expect(initYAML).NotTo(ContainSubstring("v1beta4"))
	kubeadmtest.ValidateKubeadmV130Config(t, []byte(initYAML))

	setInitialized(g, c)
	worker := newMachine(g, c, "w0", false, "v1.30.14", seedSpec())
	joinYAML := writtenFile(g, dataOf(g, worker), "/run/kubeadm/kubeadm-join-config.yaml")
	g.Expect(joinYAML).To(ContainSubstring("apiVersion: kubeadm.k8s.io/v1beta3"))
	kubeadmtest.ValidateKubeadmV130Config(t, []byte(joinYAML))

	spec := seedSpec()
	spec.JoinConfiguration.NodeRegistration.ImagePullSerial = ptr(false)
	refused := newMachine(g, c, "w1", false, "v1.30.14", spec)
	g.Eventually(func() *metav1.Condition {
		return condition(g, refused, bootstrapv1.KubeadmConfigDataSecretAvailableCondition)
	}, 10*time.Second).Should(And(
		HaveField("Status", metav1.ConditionFalse),
		HaveField("Reason", bootstrapv1.KubeadmConfigDataSecretAvailableInvalidConfigurationReason),
		HaveField("Message", ContainSubstring("joinConfiguration.nodeRegistration.imagePullSerial"))))
	g.Consistently(func() error {
		return env.Client.Get(t.Context(), client.ObjectKey{Namespace: refused.Namespace, Name: refused.Name}, &corev1.Secret{})
	}, 2*time.Second).ShouldNot(Succeed())
}
