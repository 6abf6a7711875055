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
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
	"github.com/podcluster/podcluster/test/standin"
)

// TestMachineDeploymentProvisions: a Cluster with a MachineDeployment of 3
// ends with 3 Running Machines whose Nodes carry the Machine's links, and the
// Cluster reports it.
func TestMachineDeploymentProvisions(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(t, g, ns, "prov")
	md := newMachineDeployment(g, c, "workers", 3, 1, 0)

	waitForRunning(g, ns, 3, time.Minute)

	for _, m := range machines(g, ns) {
		g.Expect(m.Labels).To(HaveKeyWithValue(clusterv1.ClusterNameLabel, "prov"))
		g.Expect(m.Labels).To(HaveKeyWithValue(clusterv1.MachineDeploymentNameLabel, "workers"))
		g.Expect(m.Labels).To(HaveKey(clusterv1.MachineDeploymentUniqueLabel))
		g.Expect(m.Spec.ProviderID).To(HavePrefix("kubernetes://" + ns + "/"))
		g.Expect(m.Spec.Bootstrap.DataSecretName).NotTo(BeNil())
		g.Expect(m.Status.NodeRef.Name).To(Equal(standin.NodeName(ns, m.Name)))
		g.Expect(m.Status.NodeInfo.KubeletVersion).To(Equal("v1.37.2"))
		g.Expect(m.Finalizers).To(ContainElement(clusterv1.MachineFinalizer))
		for _, cond := range []string{"BootstrapConfigReady", "InfrastructureReady", "NodeReady", "NodeHealthy", "Ready", "Available", "UpToDate"} {
			g.Expect(isTrue(m.Status.Conditions, cond)).To(BeTrue(), "%s of %s", cond, m.Name)
		}

		// The clones were created after the Machine, owned and controlled by
		// it from their creation (no adoption); cloned-from annotations, as
		// upstream.
		km := &infrav1.KubernetesMachine{}
		g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: m.Name}, km)).To(Succeed())
		g.Expect(km.OwnerReferences).To(HaveLen(1))
		g.Expect(metav1.GetControllerOf(km)).To(HaveField("UID", m.UID))
		g.Expect(km.Labels).To(HaveKeyWithValue(clusterv1.ClusterNameLabel, "prov"))
		kc := &bootstrapv1.KubeadmConfig{}
		g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: m.Name}, kc)).To(Succeed())
		g.Expect(kc.OwnerReferences).To(HaveLen(1))
		g.Expect(metav1.GetControllerOf(kc)).To(HaveField("UID", m.UID))
		g.Expect(km.Annotations).To(HaveKeyWithValue(clusterv1.TemplateClonedFromNameAnnotation, "workers"))
		g.Expect(km.Annotations).To(HaveKeyWithValue(clusterv1.TemplateClonedFromGroupKindAnnotation, "KubernetesMachineTemplate.infrastructure.cluster.x-k8s.io"))

		node := &corev1.Node{}
		g.Expect(workload.Client.Get(ctx, client.ObjectKey{Name: m.Status.NodeRef.Name}, node)).To(Succeed())
		g.Expect(node.Annotations).To(HaveKeyWithValue(clusterv1.ClusterNameAnnotation, "prov"))
		g.Expect(node.Annotations).To(HaveKeyWithValue(clusterv1.ClusterNamespaceAnnotation, ns))
		g.Expect(node.Annotations).To(HaveKeyWithValue(clusterv1.MachineAnnotation, m.Name))
		g.Expect(node.Annotations).To(HaveKeyWithValue(clusterv1.OwnerKindAnnotation, "MachineSet"))
	}

	g.Eventually(func(g Gomega) {
		got := &clusterv1.MachineDeployment{}
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(md), got)).To(Succeed())
		g.Expect(got.Status.Phase).To(Equal("Running"))
		g.Expect(*got.Status.AvailableReplicas).To(BeEquivalentTo(3))
		g.Expect(*got.Status.UpToDateReplicas).To(BeEquivalentTo(3))
		g.Expect(got.Status.Selector).To(ContainSubstring("pool=workers"))
		g.Expect(isTrue(got.Status.Conditions, "Available")).To(BeTrue())

		cl := &clusterv1.Cluster{}
		g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "prov"}, cl)).To(Succeed())
		g.Expect(cl.Status.Phase).To(Equal("Provisioned"))
		g.Expect(cl.Spec.ControlPlaneEndpoint.IsValid()).To(BeTrue())
		g.Expect(isTrue(cl.Status.Conditions, "InfrastructureReady")).To(BeTrue())
		g.Expect(isTrue(cl.Status.Conditions, "WorkersAvailable")).To(BeTrue())
		g.Expect(*cl.Status.Workers.DesiredReplicas).To(BeEquivalentTo(3))
		g.Expect(*cl.Status.Workers.AvailableReplicas).To(BeEquivalentTo(3))
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())
}
