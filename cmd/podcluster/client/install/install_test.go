package install

import (
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/podcluster/podcluster/cmd/podcluster/client/manifest"
	"github.com/podcluster/podcluster/config/release"
)

func releaseObjects(g Gomega) []*unstructured.Unstructured {
	data, err := release.Manifest("podcluster")
	g.Expect(err).NotTo(HaveOccurred())
	objs, err := manifest.Decode(data)
	g.Expect(err).NotTo(HaveOccurred())
	return objs
}

// byKind returns the objects of a kind, keyed by namespace/name.
func byKind(objs []*unstructured.Unstructured, kind string) map[string]*unstructured.Unstructured {
	out := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		if o.GetKind() == kind {
			out[o.GetNamespace()+"/"+o.GetName()] = o
		}
	}
	return out
}

func TestZeroOptionsChangeNothing(t *testing.T) {
	g := NewWithT(t)
	objs := releaseObjects(g)
	want, err := Encode(releaseObjects(g))
	g.Expect(err).NotTo(HaveOccurred())
	got, err := Render(objs, Options{})
	g.Expect(err).NotTo(HaveOccurred())
	data, err := Encode(got)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(data)).To(Equal(string(want)))
}

func TestSetImage(t *testing.T) {
	g := NewWithT(t)
	objs, err := Render(releaseObjects(g), Options{Image: "registry.example.test/podcluster:v9"})
	g.Expect(err).NotTo(HaveOccurred())
	deployments := byKind(objs, "Deployment")
	g.Expect(deployments).To(HaveLen(4))
	for name, o := range deployments {
		d := &appsv1.Deployment{}
		g.Expect(fromUnstructured(o, d)).To(Succeed())
		g.Expect(d.Spec.Template.Spec.Containers).NotTo(BeEmpty())
		for _, c := range d.Spec.Template.Spec.Containers {
			g.Expect(c.Image).To(Equal("registry.example.test/podcluster:v9"), name)
		}
	}
}

func TestLimitToNamespaces(t *testing.T) {
	g := NewWithT(t)
	objs, err := Render(releaseObjects(g), Options{WatchNamespaces: []string{"team-b", "team-a", "team-b"}})
	g.Expect(err).NotTo(HaveOccurred())

	// No manager is bound cluster-wide to its full role any more.
	for name, o := range byKind(objs, "ClusterRoleBinding") {
		b := &rbacv1.ClusterRoleBinding{}
		g.Expect(fromUnstructured(o, b)).To(Succeed())
		g.Expect(b.RoleRef.Name).To(HaveSuffix("-cluster-scoped"), name)
	}
	// The infrastructure provider: its full role in each namespace, Nodes
	// cluster-wide, its Lease in podcluster-system.
	bindings := byKind(objs, "RoleBinding")
	for _, ns := range []string{"team-a", "team-b"} {
		g.Expect(bindings).To(HaveKey(ns + "/podcluster-kubernetes-manager"))
	}
	g.Expect(bindings).To(HaveKey("podcluster-system/podcluster-kubernetes-manager-leader-election"))
	g.Expect(bindings).NotTo(HaveKey("podcluster-system/podcluster-kubernetes-manager"))

	roles := byKind(objs, "ClusterRole")
	full := &rbacv1.ClusterRole{}
	g.Expect(fromUnstructured(roles["/podcluster-kubernetes-manager"], full)).To(Succeed())
	for _, rule := range full.Rules {
		g.Expect(rule.Resources).NotTo(ContainElements("nodes", "leases"))
	}
	g.Expect(full.Rules).To(ContainElement(HaveField("Resources", ContainElement("pods"))))
	scoped := &rbacv1.ClusterRole{}
	g.Expect(fromUnstructured(roles["/podcluster-kubernetes-manager-cluster-scoped"], scoped)).To(Succeed())
	g.Expect(scoped.Rules).To(ConsistOf(HaveField("Resources", ConsistOf("nodes"))))
	g.Expect(fromUnstructured(roles["/podcluster-core-manager-cluster-scoped"], scoped)).To(Succeed())
	g.Expect(scoped.Rules).To(ConsistOf(HaveField("Resources", ConsistOf("customresourcedefinitions"))))

	for name, o := range byKind(objs, "Deployment") {
		d := &appsv1.Deployment{}
		g.Expect(fromUnstructured(o, d)).To(Succeed())
		g.Expect(d.Spec.Template.Spec.Containers[0].Args).To(ContainElement("--namespace=team-a,team-b"), name)
	}
}

func TestLimitToNamespacesRefusesBadNames(t *testing.T) {
	g := NewWithT(t)
	_, err := LimitToNamespaces(releaseObjects(g), []string{"Team_A"})
	g.Expect(err).To(MatchError(ContainSubstring(`namespace "Team_A"`)))
}
