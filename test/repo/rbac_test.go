package repo

import (
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/podcluster/podcluster/cmd/podcluster/client/manifest"
	"github.com/podcluster/podcluster/config/release"
)

// TestRenderedRBACHasNoWildcards: every role podcluster installs names its
// API groups, resources and verbs; nothing is granted with "*".
func TestRenderedRBACHasNoWildcards(t *testing.T) {
	g := NewWithT(t)
	data, err := release.Manifest("podcluster")
	g.Expect(err).NotTo(HaveOccurred())
	objs, err := manifest.Decode(data)
	g.Expect(err).NotTo(HaveOccurred())
	roles, deployments := 0, map[string]string{}
	for _, o := range objs {
		switch o.GetKind() {
		case "ClusterRole", "Role":
			roles++
			role := &rbacv1.ClusterRole{}
			g.Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, role)).To(Succeed())
			g.Expect(role.Rules).NotTo(BeEmpty(), role.Name)
			for _, r := range role.Rules {
				g.Expect(r.Verbs).NotTo(ContainElement("*"), "%s grants every verb", role.Name)
				g.Expect(r.Resources).NotTo(ContainElement("*"), "%s grants every resource", role.Name)
				g.Expect(r.APIGroups).NotTo(ContainElement("*"), "%s grants every API group", role.Name)
				g.Expect(r.NonResourceURLs).To(BeEmpty(), role.Name)
			}
		case "Deployment":
			d := &appsv1.Deployment{}
			g.Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, d)).To(Succeed())
			deployments[d.Name] = d.Spec.Template.Spec.ServiceAccountName
			g.Expect(d.Namespace).To(Equal("podcluster-system"))
		}
	}
	g.Expect(roles).To(BeNumerically(">=", 2))
	g.Expect(deployments).To(Equal(map[string]string{
		"podcluster-core":                  "podcluster-core",
		"podcluster-kubeadm-bootstrap":     "podcluster-kubeadm-bootstrap",
		"podcluster-kubeadm-control-plane": "podcluster-kubeadm-control-plane",
		"podcluster-kubernetes":            "podcluster-kubernetes",
	}), "one manager Deployment per provider, each with its own service account")
}
