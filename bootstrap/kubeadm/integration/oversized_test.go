package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
)

// TestOversizedDataIsAnInvalidConfiguration: files that add up to more than a
// Secret can carry make DataSecretAvailable False with InvalidConfiguration,
// naming the size and the largest file, instead of "waiting to generate the
// bootstrap data" while every create of the data Secret fails. Nothing is
// created, and making the files smaller lets the data through.
func TestOversizedDataIsAnInvalidConfiguration(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(g, ns, "big")
	g.Expect(env.Client.Create(ctx, userCA(ns, "big-ca"))).To(Succeed())
	setInitialized(g, c)

	spec := seedSpec()
	// 110 files of 10000 bytes: within the API's bounds for each file and
	// under etcd's request limit for the config, over 1 MiB together.
	for i := range 110 {
		spec.Files = append(spec.Files, bootstrapv1.File{Path: fmt.Sprintf("/opt/blob/%03d", i), Content: strings.Repeat("x", 10000)})
	}
	spec.Files[7].Content = strings.Repeat("y", 10240)
	config := newMachine(g, c, "w1", false, "v1.37.2", spec)

	g.Eventually(func(g Gomega) {
		cond := condition(g, config, bootstrapv1.KubeadmConfigDataSecretAvailableCondition)
		g.Expect(cond).NotTo(BeNil())
		g.Expect(cond.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(cond.Reason).To(Equal(bootstrapv1.KubeadmConfigDataSecretAvailableInvalidConfigurationReason))
		g.Expect(cond.Message).To(ContainSubstring("more than the 1048576 bytes (1 MiB) a Secret can carry"))
		g.Expect(cond.Message).To(ContainSubstring("spec.files[7] (/opt/blob/007) 10253 bytes"))
		ready := condition(g, config, bootstrapv1.KubeadmConfigReadyCondition)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Message).To(Equal(cond.Message), "Ready, which the Machine mirrors, says the same")
	}, 20*time.Second, 200*time.Millisecond).Should(Succeed())
	err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "w1"}, &corev1.Secret{})
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "no data Secret")

	// Fixed by the user: the data is made.
	got := &bootstrapv1.KubeadmConfig{}
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(config), got)).To(Succeed())
	got.Spec.Files = got.Spec.Files[:2]
	g.Expect(env.Client.Update(ctx, got)).To(Succeed())
	g.Expect(writtenFile(g, dataOf(g, config), "/opt/blob/001")).To(Equal(strings.Repeat("x", 10000)))
}
