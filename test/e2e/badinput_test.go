package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
)

// TestBadInputShowsInConditions: an oversized bootstrap payload, a missing
// Cluster and a bad node label each show a clear condition on what the user
// created, and no node Pod starts for them.
func TestBadInputShowsInConditions(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	applySeed(g, ns)
	// Workers make bootstrap data only once the control plane is initialized.
	g.Eventually(func(g Gomega) {
		cl := &clusterv1.Cluster{}
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "example"}, cl)).To(Succeed())
		g.Expect(ptr.Deref(cl.Status.Initialization.ControlPlaneInitialized, false)).To(BeTrue())
	}, 3*time.Minute, time.Second).Should(Succeed())

	base := &bootstrapv1.KubeadmConfigTemplate{}
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "worker"}, base)).To(Succeed())
	// pool makes a one-replica MachineDeployment of the seed's cluster whose
	// KubeadmConfigTemplate is the seed's changed by edit.
	pool := func(name, clusterName string, edit func(*bootstrapv1.KubeadmConfigSpec)) {
		spec := *base.Spec.Template.Spec.DeepCopy()
		edit(&spec)
		g.Expect(c.Create(ctx, &bootstrapv1.KubeadmConfigTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: bootstrapv1.KubeadmConfigTemplateSpec{Template: bootstrapv1.KubeadmConfigTemplateResource{Spec: spec}}})).To(Succeed())
		labels := map[string]string{"nodepool": name}
		g.Expect(c.Create(ctx, &clusterv1.MachineDeployment{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: clusterv1.MachineDeploymentSpec{
				ClusterName: clusterName, Replicas: ptr.To[int32](1),
				Selector: clusterv1.LabelSelector{MatchLabels: map[string]clusterv1.LabelValue{"nodepool": clusterv1.LabelValue(name)}},
				Template: clusterv1.MachineTemplateSpec{
					ObjectMeta: clusterv1.ObjectMeta{Labels: labels},
					Spec: clusterv1.MachineSpec{
						ClusterName: clusterName, Version: "v1.37.2",
						Bootstrap: clusterv1.Bootstrap{ConfigRef: clusterv1.ContractVersionedObjectReference{
							APIGroup: bootstrapv1.GroupVersion.Group, Kind: "KubeadmConfigTemplate", Name: name}},
						InfrastructureRef: clusterv1.ContractVersionedObjectReference{
							APIGroup: infrav1.GroupVersion.Group, Kind: "KubernetesMachineTemplate", Name: "worker"},
					},
				},
			},
		})).To(Succeed())
	}
	pool("oversized", "example", func(s *bootstrapv1.KubeadmConfigSpec) {
		for i := range 110 {
			s.Files = append(s.Files, bootstrapv1.File{Path: fmt.Sprintf("/opt/blob/%03d", i), Content: strings.Repeat("x", 10000)})
		}
	})
	pool("badlabel", "example", func(s *bootstrapv1.KubeadmConfigSpec) {
		s.JoinConfiguration.NodeRegistration.KubeletExtraArgs = append(s.JoinConfiguration.NodeRegistration.KubeletExtraArgs,
			bootstrapv1.Arg{Name: "node-labels", Value: ptr.To("node-role.kubernetes.io/worker=")})
	})

	// The Machine of each pool says what is wrong, in BootstrapConfigReady
	// and Ready, and is not Running.
	for pool, want := range map[string]string{
		"oversized": "more than the 1048576 bytes (1 MiB) a Secret can carry",
		"badlabel":  "spec.joinConfiguration.nodeRegistration.kubeletExtraArgs node-labels",
	} {
		var machine string
		g.Eventually(func(g Gomega) {
			list := &clusterv1.MachineList{}
			g.Expect(c.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{"nodepool": pool})).To(Succeed())
			g.Expect(list.Items).To(HaveLen(1))
			m := list.Items[0]
			machine = m.Name
			boot := condition(m.Status.Conditions, clusterv1.MachineBootstrapConfigReadyCondition)
			g.Expect(boot).NotTo(BeNil())
			g.Expect(boot.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(boot.Message).To(ContainSubstring(want))
			ready := condition(m.Status.Conditions, clusterv1.ReadyCondition)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Message).To(ContainSubstring(want))
			g.Expect(m.Status.Phase).NotTo(Equal(string(clusterv1.MachinePhaseRunning)))
		}, time.Minute, time.Second).Should(Succeed(), pool)
		kc := &bootstrapv1.KubeadmConfig{}
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: machine}, kc)).To(Succeed())
		data := condition(kc.Status.Conditions, bootstrapv1.KubeadmConfigDataSecretAvailableCondition)
		g.Expect(data.Reason).To(Equal(bootstrapv1.KubeadmConfigDataSecretAvailableInvalidConfigurationReason))
		km := &infrav1.KubernetesMachine{}
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: machine}, km)).To(Succeed())
		g.Expect(km.Spec.ProviderID).To(BeEmpty(), "no node Pod for %s", pool)
	}

	// A MachineDeployment whose Cluster does not exist says so.
	t.Run("missing Cluster", func(t *testing.T) {
		g := NewWithT(t)
		pool("orphan", "missing", func(*bootstrapv1.KubeadmConfigSpec) {})
		g.Eventually(func(g Gomega) {
			md := &clusterv1.MachineDeployment{}
			g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "orphan"}, md)).To(Succeed())
			var said []string
			for _, cond := range md.Status.Conditions {
				if cond.Status != metav1.ConditionTrue || cond.Type == clusterv1.PausedCondition {
					said = append(said, cond.Message)
				}
			}
			g.Expect(strings.Join(said, "\n")).To(ContainSubstring(`Cluster missing`), "conditions: %v", md.Status.Conditions)
		}, time.Minute, time.Second).Should(Succeed())
	})
}
