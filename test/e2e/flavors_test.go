package e2e

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/podcluster/podcluster/api/controlplane/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/cmd/podcluster/client/generate"
	"github.com/podcluster/podcluster/cmd/podcluster/client/manifest"
	"github.com/podcluster/podcluster/infrastructure/kubernetes/nodepod"
)

// TestGeneratedControlPlaneFlavors: what `podcluster generate cluster
// --flavor kcp` and `--flavor persistent` print comes up on the simulated
// runtime, as a new user would try it: a KubeadmControlPlane of 3 with its
// certificates, Available, 3 control-plane and 1 worker Nodes Ready. The
// persistent flavor's control-plane Machines each have their var-lib-etcd
// claim. Deleting the Cluster leaves no Machine, claim or Pod.
func TestGeneratedControlPlaneFlavors(t *testing.T) {
	for _, flavor := range []string{"kcp", "persistent"} {
		t.Run(flavor, func(t *testing.T) {
			g := NewWithT(t)
			ctx := context.Background()
			ns := newNamespace(t)
			const cluster = "demo"
			out, err := generate.Render(flavor, map[string]string{
				generate.ClusterName: cluster, generate.Namespace: ns,
				generate.ControlPlaneMachineCount: "3", generate.WorkerMachineCount: "1",
			}, func(string) (string, bool) { return "", false })
			g.Expect(err).NotTo(HaveOccurred())
			objs, err := manifest.Decode(out)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(manifest.Apply(ctx, c, ns, objs...)).To(Succeed())
			t.Cleanup(func() {
				if t.Failed() {
					t.Log(kubectl(NewWithT(t), "get", "kcp,clusters,machines,pvc,pods", "-n", ns, "-o", "wide"))
				}
				// Frees the workload cluster's processes for the tests after this one.
				_ = c.Delete(context.Background(), &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: cluster}})
			})

			kcpKey := client.ObjectKey{Namespace: ns, Name: cluster + "-control-plane"}
			g.Eventually(func(g Gomega) {
				kcp := &controlplanev1.KubeadmControlPlane{}
				g.Expect(c.Get(ctx, kcpKey, kcp)).To(Succeed())
				g.Expect(kcp.Status.ReadyReplicas).To(HaveValue(BeEquivalentTo(3)))
				for _, cond := range []string{controlplanev1.KubeadmControlPlaneAvailableCondition, controlplanev1.KubeadmControlPlaneCertificatesAvailableCondition} {
					g.Expect(condition(kcp.Status.Conditions, cond)).To(HaveField("Status", metav1.ConditionTrue), cond)
				}
				g.Expect(readyNodesOf(g, c, ns, cluster)).To(HaveLen(4))
			}, 5*time.Minute, time.Second).Should(Succeed())

			var controlPlane []string
			for _, m := range machines(g, ns) {
				if _, ok := m.Labels[clusterv1.MachineControlPlaneLabel]; ok {
					controlPlane = append(controlPlane, m.Name)
				}
			}
			g.Expect(controlPlane).To(HaveLen(3))
			claims := &corev1.PersistentVolumeClaimList{}
			g.Expect(c.List(ctx, claims, client.InNamespace(ns))).To(Succeed())
			var names []string
			for _, pvc := range claims.Items {
				names = append(names, pvc.Name)
			}
			if flavor == "persistent" {
				var want []string
				for _, m := range controlPlane {
					want = append(want, nodepod.PVCName(m, "var-lib-etcd"))
				}
				g.Expect(names).To(ConsistOf(want))
			} else {
				g.Expect(names).To(BeEmpty())
			}

			g.Expect(c.Delete(ctx, &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: cluster}})).To(Succeed())
			g.Eventually(func(g Gomega) {
				g.Expect(machines(g, ns)).To(BeEmpty())
				g.Expect(c.List(ctx, claims, client.InNamespace(ns))).To(Succeed())
				g.Expect(claims.Items).To(BeEmpty())
				pods := &corev1.PodList{}
				g.Expect(c.List(ctx, pods, client.InNamespace(ns))).To(Succeed())
				g.Expect(pods.Items).To(BeEmpty())
			}, 3*time.Minute, time.Second).Should(Succeed())
		})
	}
}
