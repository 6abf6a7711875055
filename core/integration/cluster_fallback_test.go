package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// conditionlessKinds are provider kinds that follow the contract with the
// least it requires: the status.initialization booleans and no conditions at
// all, like upstream's in-memory test provider. No controller serves them;
// the test writes their status itself.
var conditionlessKinds = []schema.GroupVersionKind{
	{Group: "infrastructure.conditionless.podcluster.test", Version: "v1beta1", Kind: "ConditionlessCluster"},
	{Group: "controlplane.conditionless.podcluster.test", Version: "v1beta1", Kind: "ConditionlessControlPlane"},
}

// ensureConditionlessCRDs installs the CRDs of conditionlessKinds, with the
// contract label, and waits until they are served.
func ensureConditionlessCRDs(g Gomega) {
	ctx := context.Background()
	preserve := true
	for _, gvk := range conditionlessKinds {
		plural := strings.ToLower(gvk.Kind) + "s"
		crd := &apiextensionsv1.CustomResourceDefinition{
			ObjectMeta: metav1.ObjectMeta{Name: plural + "." + gvk.Group, Labels: map[string]string{clusterv1.ContractLabelKey: gvk.Version}},
			Spec: apiextensionsv1.CustomResourceDefinitionSpec{
				Group: gvk.Group,
				Names: apiextensionsv1.CustomResourceDefinitionNames{Kind: gvk.Kind, ListKind: gvk.Kind + "List", Plural: plural, Singular: strings.ToLower(gvk.Kind)},
				Scope: apiextensionsv1.NamespaceScoped,
				Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
					Name: gvk.Version, Served: true, Storage: true,
					Schema:       &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: &preserve}},
					Subresources: &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
				}},
			},
		}
		if err := env.Client.Create(ctx, crd); err != nil && !apierrors.IsAlreadyExists(err) {
			g.Expect(err).NotTo(HaveOccurred())
		}
		g.Eventually(func(g Gomega) {
			got := &apiextensionsv1.CustomResourceDefinition{}
			g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(crd), got)).To(Succeed())
			established := false
			for _, c := range got.Status.Conditions {
				established = established || (c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue)
			}
			g.Expect(established).To(BeTrue())
		}, 20*time.Second, 100*time.Millisecond).Should(Succeed())
	}
}

// TestClusterFollowsProvidersWithoutConditions drives a Cluster whose
// infrastructure and control plane report no Ready or Available condition:
// the Cluster follows status.initialization.provisioned and
// controlPlaneInitialized instead, as the contract's fallbacks say, and
// becomes Available.
func TestClusterFollowsProvidersWithoutConditions(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ensureConditionlessCRDs(g)
	ns := env.NewNamespace(t)

	infra := &unstructured.Unstructured{}
	infra.SetGroupVersionKind(conditionlessKinds[0])
	infra.SetNamespace(ns)
	infra.SetName("c1")
	g.Expect(unstructured.SetNestedMap(infra.Object, map[string]any{"host": "10.9.8.7", "port": int64(6443)}, "spec", "controlPlaneEndpoint")).To(Succeed())
	g.Expect(env.Client.Create(ctx, infra)).To(Succeed())
	cp := &unstructured.Unstructured{}
	cp.SetGroupVersionKind(conditionlessKinds[1])
	cp.SetNamespace(ns)
	cp.SetName("c1")
	g.Expect(env.Client.Create(ctx, cp)).To(Succeed())

	cluster := &clusterv1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "c1"},
		Spec: clusterv1.ClusterSpec{
			ClusterNetwork: clusterv1.ClusterNetwork{Pods: clusterv1.NetworkRanges{CIDRBlocks: []string{"192.168.0.0/16"}}},
			InfrastructureRef: clusterv1.ContractVersionedObjectReference{
				APIGroup: conditionlessKinds[0].Group, Kind: conditionlessKinds[0].Kind, Name: "c1"},
			ControlPlaneRef: clusterv1.ContractVersionedObjectReference{
				APIGroup: conditionlessKinds[1].Group, Kind: conditionlessKinds[1].Kind, Name: "c1"},
		},
	}
	g.Expect(env.Client.Create(ctx, cluster)).To(Succeed())

	condition := func(g Gomega, t string) metav1.Condition {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(cluster), cluster)).To(Succeed())
		for _, c := range cluster.Status.Conditions {
			if c.Type == t {
				return c
			}
		}
		g.Expect(cluster.Status.Conditions).To(ContainElement(HaveField("Type", t)))
		return metav1.Condition{}
	}

	// Neither reports anything yet: waiting, and saying for what.
	g.Eventually(func(g Gomega) {
		g.Expect(condition(g, clusterv1.ClusterInfrastructureReadyCondition)).To(And(
			HaveField("Status", metav1.ConditionFalse), HaveField("Reason", clusterv1.ClusterInfrastructureReadyNotReadyReason),
			HaveField("Message", ContainSubstring("ConditionlessCluster c1 to report status.initialization.provisioned"))))
		g.Expect(condition(g, clusterv1.ClusterControlPlaneAvailableCondition)).To(And(
			HaveField("Status", metav1.ConditionFalse), HaveField("Reason", clusterv1.ClusterControlPlaneAvailableNotAvailableReason),
			HaveField("Message", ContainSubstring("ConditionlessControlPlane c1 to report status.initialization.controlPlaneInitialized"))))
		g.Expect(condition(g, clusterv1.AvailableCondition).Status).To(Equal(metav1.ConditionFalse))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())

	setStatus := func(obj *unstructured.Unstructured, status string) {
		g.Expect(env.Client.Status().Patch(ctx, obj, client.RawPatch(types.MergePatchType, []byte(status)))).To(Succeed())
	}

	setStatus(infra, `{"status":{"initialization":{"provisioned":true}}}`)
	g.Eventually(func(g Gomega) {
		g.Expect(condition(g, clusterv1.ClusterInfrastructureReadyCondition)).To(And(
			HaveField("Status", metav1.ConditionTrue), HaveField("Reason", clusterv1.ClusterInfrastructureReadyReason)))
		g.Expect(cluster.Spec.ControlPlaneEndpoint).To(Equal(clusterv1.APIEndpoint{Host: "10.9.8.7", Port: 6443}))
		g.Expect(cluster.Status.Phase).To(Equal(string(clusterv1.ClusterPhaseProvisioned)))
		g.Expect(condition(g, clusterv1.AvailableCondition).Status).To(Equal(metav1.ConditionFalse))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())

	setStatus(cp, `{"status":{"initialization":{"controlPlaneInitialized":true}}}`)
	g.Eventually(func(g Gomega) {
		g.Expect(condition(g, clusterv1.ClusterControlPlaneInitializedCondition).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(condition(g, clusterv1.ClusterControlPlaneAvailableCondition)).To(And(
			HaveField("Status", metav1.ConditionTrue), HaveField("Reason", clusterv1.ClusterControlPlaneAvailableReason)))
		g.Expect(condition(g, clusterv1.AvailableCondition)).To(And(
			HaveField("Status", metav1.ConditionTrue), HaveField("Reason", clusterv1.ClusterAvailableReason)))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())

	// A Ready condition, once a provider reports one, wins over the fallback.
	setStatus(infra, `{"status":{"conditions":[{"type":"Ready","status":"False","reason":"LoadBalancerGone","message":"",`+
		`"lastTransitionTime":"2026-01-01T00:00:00Z"}]}}`)
	g.Eventually(func(g Gomega) {
		g.Expect(condition(g, clusterv1.ClusterInfrastructureReadyCondition)).To(And(
			HaveField("Status", metav1.ConditionFalse), HaveField("Reason", "LoadBalancerGone")))
		g.Expect(condition(g, clusterv1.AvailableCondition).Status).To(Equal(metav1.ConditionFalse))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
}
