package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	addonsv1 "github.com/podcluster/podcluster/api/addons/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/conditions"
)

// initializeControlPlane plays a control-plane provider that reports the
// Cluster initialized; the Cluster controller never takes that back.
func initializeControlPlane(g Gomega, c testCluster) {
	cluster := &clusterv1.Cluster{}
	g.Eventually(func() error {
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: c.ns, Name: c.name}, cluster); err != nil {
			return err
		}
		t := true
		cluster.Status.Initialization.ControlPlaneInitialized = &t
		return env.Client.Status().Update(context.Background(), cluster)
	}, 20*time.Second, 50*time.Millisecond).Should(Succeed())
}

func labelCluster(g Gomega, c testCluster, key, value string) {
	cluster := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: c.ns, Name: c.name}}
	update(g, cluster, func() {
		if cluster.Labels == nil {
			cluster.Labels = map[string]string{}
		}
		cluster.Labels[key] = value
	})
}

// manifests is a Namespace and a ConfigMap in it, as YAML documents.
func manifests(ns, name, value string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: %[1]s
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: %[2]s
  namespace: %[1]s
data:
  value: %[3]q
`, ns, name, value)
}

func workloadConfigMap(g Gomega, ns, name string) *corev1.ConfigMap {
	cm := &corev1.ConfigMap{}
	g.Expect(workload.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, cm)).To(Succeed())
	return cm
}

func bindingOf(g Gomega, c testCluster) *addonsv1.ClusterResourceSetBinding {
	b := &addonsv1.ClusterResourceSetBinding{}
	g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: c.ns, Name: c.name}, b)).To(Succeed())
	return b
}

func resourcesApplied(g Gomega, set *addonsv1.ClusterResourceSet) *metav1.Condition {
	got := &addonsv1.ClusterResourceSet{}
	g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(set), got)).To(Succeed())
	c := conditions.Get(got.Status.Conditions, addonsv1.ResourcesAppliedCondition)
	g.Expect(c).NotTo(BeNil())
	return c
}

// TestClusterResourceSetApplyOnce: a set applies a ConfigMap's manifests (a
// Namespace, then a ConfigMap in it) and a Secret's to the Clusters its
// selector matches, only once their control plane is initialized; a Secret
// of the wrong type is refused by name until it is replaced; each Cluster's
// binding records what was applied, with the hash of the data; a changed
// resource is not applied again to a Cluster that has it; deleting the set
// empties and deletes the bindings and leaves the applied objects in place.
func TestClusterResourceSetApplyOnce(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	first, second := newCluster(t, g, ns, "first"), newCluster(t, g, ns, "second")
	other := newCluster(t, g, ns, "other")
	for _, c := range []testCluster{first, second} {
		labelCluster(g, c, "cni", "kindnet")
	}
	labelCluster(g, other, "cni", "none")
	initializeControlPlane(g, first)
	initializeControlPlane(g, other)

	g.Expect(env.Client.Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "cni"},
		Data:       map[string]string{"cni.yaml": manifests(ns, "cni", "v1")},
	})).To(Succeed())
	wrong := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "creds"},
		StringData: map[string]string{"secret.yaml": fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: creds, namespace: %s}\nstringData: {token: abc}\n", ns)},
	}
	g.Expect(env.Client.Create(ctx, wrong)).To(Succeed())
	set := &addonsv1.ClusterResourceSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "cni"},
		Spec: addonsv1.ClusterResourceSetSpec{
			ClusterSelector: metav1.LabelSelector{MatchLabels: map[string]string{"cni": "kindnet"}},
			Resources:       []addonsv1.ResourceRef{{Kind: "ConfigMap", Name: "cni"}, {Kind: "Secret", Name: "creds"}},
		},
	}
	g.Expect(env.Client.Create(ctx, set)).To(Succeed())

	// The Opaque Secret is refused, the ConfigMap applied to the initialized Cluster only.
	g.Eventually(func(g Gomega) {
		c := resourcesApplied(g, set)
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal(addonsv1.ResourcesWrongSecretTypeReason))
		g.Expect(c.Message).To(ContainSubstring(`Cluster first: Secret/creds: wrong Secret type "Opaque"`))
		g.Expect(workloadConfigMap(g, ns, "cni").Data).To(HaveKeyWithValue("value", "v1"))
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())
	b := bindingOf(g, first)
	g.Expect(b.Spec.ClusterName).To(Equal("first"))
	g.Expect(b.OwnerReferences).To(ContainElements(
		And(HaveField("Kind", "Cluster"), HaveField("Name", "first")),
		And(HaveField("Kind", "ClusterResourceSet"), HaveField("Name", "cni"))))
	g.Expect(b.Spec.Bindings).To(HaveLen(1))
	g.Expect(b.Spec.Bindings[0].Resources).To(ConsistOf(
		And(HaveField("ResourceRef", addonsv1.ResourceRef{Kind: "ConfigMap", Name: "cni"}), HaveField("Applied", true), HaveField("Hash", HavePrefix("sha256:"))),
	))
	g.Expect(apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "second"}, &addonsv1.ClusterResourceSetBinding{}))).To(BeTrue(),
		"nothing is applied to a Cluster whose control plane is not initialized")
	g.Expect(apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "other"}, &addonsv1.ClusterResourceSetBinding{}))).To(BeTrue(),
		"nothing is applied to a Cluster the selector does not match")
	g.Expect(apierrors.IsNotFound(workload.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "creds"}, &corev1.Secret{}))).To(BeTrue(),
		"a Secret of the wrong type is never read")

	// The Secret replaced by one of the resource-set type: applied, all True.
	g.Expect(env.Client.Delete(ctx, wrong)).To(Succeed())
	right := wrong.DeepCopy()
	right.ResourceVersion, right.UID = "", ""
	right.Type = addonsv1.ClusterResourceSetSecretType
	g.Expect(env.Client.Create(ctx, right)).To(Succeed())
	g.Eventually(func(g Gomega) {
		c := resourcesApplied(g, set)
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(c.Reason).To(Equal(addonsv1.ResourcesAppliedReason))
		s := &corev1.Secret{}
		g.Expect(workload.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "creds"}, s)).To(Succeed())
		g.Expect(s.Data).To(HaveKeyWithValue("token", []byte("abc")))
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())
	applied := bindingOf(g, first).Spec.Bindings[0].Resources
	g.Expect(applied).To(HaveLen(2))

	// ApplyOnce: the changed ConfigMap goes to the Cluster that comes up now
	// (its hash is the new one); the first Cluster's record keeps the old hash.
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "cni"}}
	update(g, cm, func() { cm.Data["cni.yaml"] = manifests(ns, "cni", "v2") })
	initializeControlPlane(g, second)
	g.Eventually(func(g Gomega) {
		b := bindingOf(g, second)
		g.Expect(b.Spec.Bindings).To(HaveLen(1))
		g.Expect(b.Spec.Bindings[0].Resources).To(HaveLen(2))
		g.Expect(b.Spec.Bindings[0].Resources[0].Hash).NotTo(Equal(applied[0].Hash))
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())
	g.Expect(bindingOf(g, first).Spec.Bindings[0].Resources).To(Equal(applied), "ApplyOnce does not apply a changed resource again")
	g.Expect(workloadConfigMap(g, ns, "cni").Data).To(HaveKeyWithValue("value", "v1"), "an object that exists counts as applied")

	// Deleting the set: bindings emptied and deleted, objects kept.
	g.Expect(env.Client.Delete(ctx, set)).To(Succeed())
	g.Eventually(func(g Gomega) {
		for _, name := range []string{"first", "second"} {
			err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &addonsv1.ClusterResourceSetBinding{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "binding %s: %v", name, err)
		}
		g.Expect(apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(set), &addonsv1.ClusterResourceSet{}))).To(BeTrue())
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())
	g.Expect(workloadConfigMap(g, ns, "cni").Data).To(HaveKeyWithValue("value", "v1"))
}

// TestClusterResourceSetReconcile: with the Reconcile strategy a changed
// resource is applied again (server-side apply, so a field another manager
// owns stays), and a resource created after the set is applied when it
// appears; a missing one is named in the condition meanwhile.
func TestClusterResourceSetReconcile(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(t, g, ns, "reconciled")
	labelCluster(g, c, "addons", "yes")
	initializeControlPlane(g, c)
	set := &addonsv1.ClusterResourceSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "addons"},
		Spec: addonsv1.ClusterResourceSetSpec{
			ClusterSelector: metav1.LabelSelector{MatchLabels: map[string]string{"addons": "yes"}},
			Resources:       []addonsv1.ResourceRef{{Kind: "ConfigMap", Name: "late"}},
			Strategy:        addonsv1.ReconcileStrategy,
		},
	}
	g.Expect(env.Client.Create(ctx, set)).To(Succeed())
	g.Eventually(func(g Gomega) {
		c := resourcesApplied(g, set)
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal(addonsv1.ResourcesNotAppliedReason))
		g.Expect(c.Message).To(Equal("Cluster reconciled: ConfigMap/late: not found"))
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())

	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "late"},
		Data:       map[string]string{"all.yaml": manifests(ns, "late", "one")},
	}
	g.Expect(env.Client.Create(ctx, cm)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(resourcesApplied(g, set).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(workloadConfigMap(g, ns, "late").Data).To(HaveKeyWithValue("value", "one"))
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())

	// Someone else adds a key in the workload cluster; the next apply keeps it.
	theirs := workloadConfigMap(g, ns, "late")
	theirs.Data["theirs"] = "kept"
	g.Expect(workload.Client.Update(ctx, theirs)).To(Succeed())
	update(g, cm, func() { cm.Data["all.yaml"] = manifests(ns, "late", "two") })
	g.Eventually(func(g Gomega) {
		got := workloadConfigMap(g, ns, "late")
		g.Expect(got.Data).To(HaveKeyWithValue("value", "two"))
		g.Expect(got.Data).To(HaveKeyWithValue("theirs", "kept"))
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())
}
