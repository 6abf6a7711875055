package e2e

import (
	"context"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// TestV1Beta1ThroughUp: on the plane `podcluster up` runs, a manifest written
// for cluster.x-k8s.io/v1beta1 applies unchanged with kubectl, is stored as
// v1beta2 (through the conversion webhook up serves on loopback), and reads
// back in v1beta1 as written.
func TestV1Beta1ThroughUp(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	manifest := filepath.Join(root, "internal", "webhook", "testdata", "capi-quickstart-v1beta1.yaml")
	kubectl(g, "apply", "-n", ns, "-f", manifest)

	md := &clusterv1.MachineDeployment{}
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "capi-quickstart-md-0"}, md)).To(Succeed())
	g.Expect(md.Spec.Template.Spec.Deletion.NodeDrainTimeoutSeconds).To(HaveValue(BeEquivalentTo(600)))
	g.Expect(md.Spec.Template.Spec.InfrastructureRef.APIGroup).To(Equal("infrastructure.cluster.x-k8s.io"))
	g.Expect(md.Spec.Template.Spec.InfrastructureRef.Kind).To(Equal("DockerMachineTemplate"))

	out := kubectl(g, "get", "machinedeployments.v1beta1.cluster.x-k8s.io", "capi-quickstart-md-0", "-n", ns,
		"-o", "jsonpath={.apiVersion} {.spec.template.spec.nodeDrainTimeout} {.spec.template.spec.infrastructureRef.apiVersion} {.spec.strategy.rollingUpdate.deletePolicy}")
	// kubectl also warns, on stderr, that v1beta1 is deprecated.
	g.Expect(out).To(ContainSubstring("deprecated"))
	g.Expect(out).To(HaveSuffix("cluster.x-k8s.io/v1beta1 10m infrastructure.cluster.x-k8s.io/v1beta1 Oldest"))
}
