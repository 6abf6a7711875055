package integration

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
)

// installLateProvider installs the CRDs of a made-up infrastructure provider
// in our infrastructure group, at another version, with the contract label.
func installLateProvider(g Gomega, version string) {
	for _, kind := range []string{"DevMachineTemplate", "DevMachine"} {
		plural := map[string]string{"DevMachineTemplate": "devmachinetemplates", "DevMachine": "devmachines"}[kind]
		crd := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apiextensions.k8s.io/v1",
			"kind":       "CustomResourceDefinition",
			"metadata": map[string]any{
				"name":   plural + "." + infrav1.GroupVersion.Group,
				"labels": map[string]any{clusterv1.ContractLabelKey: version},
			},
			"spec": map[string]any{
				"group": infrav1.GroupVersion.Group,
				"scope": "Namespaced",
				"names": map[string]any{"kind": kind, "listKind": kind + "List", "plural": plural, "singular": plural[:len(plural)-1]},
				"versions": []any{map[string]any{
					"name": version, "served": true, "storage": true,
					"subresources": map[string]any{"status": map[string]any{}},
					"schema": map[string]any{"openAPIV3Schema": map[string]any{
						"type": "object",
						"properties": map[string]any{
							"spec":   map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true},
							"status": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true},
						},
					}},
				}},
			},
		}}
		if err := env.Client.Create(context.Background(), crd); err != nil && !apierrors.IsAlreadyExists(err) {
			g.Expect(err).NotTo(HaveOccurred())
		}
	}
	g.Eventually(func() error {
		l := &unstructured.UnstructuredList{}
		l.SetGroupVersionKind(schema.GroupVersionKind{Group: infrav1.GroupVersion.Group, Version: version, Kind: "DevMachineList"})
		return env.Client.List(context.Background(), l)
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
}

// TestProviderInstalledLater: an infrastructure kind whose CRD is installed
// after the core manager started, in a group the manager already knows at
// another version, is found through its CRD and its contract label: a
// MachineSet that names its template clones it, with exactly its replicas
// and no Machine more.
func TestProviderInstalledLater(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(t, g, ns, "later")
	// The core manager has used the group's v1alpha1 kinds before.
	newMachineDeployment(g, c, "known", 1, 1, 0)
	waitForRunning(g, ns, 1, time.Minute)

	const version = "v1beta9"
	installLateProvider(g, version)
	tmpl := &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"size": "small"}}},
	}}
	tmpl.SetGroupVersionKind(schema.GroupVersionKind{Group: infrav1.GroupVersion.Group, Version: version, Kind: "DevMachineTemplate"})
	tmpl.SetNamespace(ns)
	tmpl.SetName("dev")
	g.Expect(env.Client.Create(ctx, tmpl)).To(Succeed())
	newTemplates(g, ns, "dev") // its KubeadmConfigTemplate
	spec := machineTemplate(c, "dev", map[string]string{"pool": "dev"})
	spec.Spec.InfrastructureRef.Kind = "DevMachineTemplate"
	ms := &clusterv1.MachineSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "dev"},
		Spec: clusterv1.MachineSetSpec{
			ClusterName: c.name,
			Replicas:    ptr.To[int32](2),
			Selector:    clusterv1.LabelSelector{MatchLabels: map[string]clusterv1.LabelValue{"pool": "dev"}},
			Template:    spec,
		},
	}
	g.Expect(env.Client.Create(ctx, ms)).To(Succeed())

	devMachines := func(g Gomega) []unstructured.Unstructured {
		l := &unstructured.UnstructuredList{}
		l.SetGroupVersionKind(schema.GroupVersionKind{Group: infrav1.GroupVersion.Group, Version: version, Kind: "DevMachineList"})
		g.Expect(env.Client.List(ctx, l, client.InNamespace(ns))).To(Succeed())
		return l.Items
	}
	poolMachines := func(g Gomega) []clusterv1.Machine {
		list := &clusterv1.MachineList{}
		g.Expect(env.Client.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{"pool": "dev"})).To(Succeed())
		return list.Items
	}
	g.Eventually(func(g Gomega) {
		clones := devMachines(g)
		g.Expect(clones).To(HaveLen(2))
		for _, m := range clones {
			size, _, _ := unstructured.NestedString(m.Object, "spec", "size")
			g.Expect(size).To(Equal("small"))
		}
		g.Expect(poolMachines(g)).To(HaveLen(2))
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())
	for _, m := range poolMachines(g) {
		g.Expect(m.Spec.InfrastructureRef.Kind).To(Equal("DevMachine"))
	}
	g.Consistently(func(g Gomega) int { return len(poolMachines(g)) }, 3*time.Second, 200*time.Millisecond).Should(Equal(2),
		"no Machine more than the replicas")
}
