package convert

import (
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/yaml"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/cmd/podcluster/client/manifest"
)

// TestConvertV1beta1Quickstart converts upstream's v1beta1 quick-start shape
// (the manifest the webhook test applies): every object comes out as a strict
// v1beta2 object, with nothing to warn about and no conversion annotation.
func TestConvertV1beta1Quickstart(t *testing.T) {
	g := NewWithT(t)
	in, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "internal", "webhook", "testdata", "capi-quickstart-v1beta1.yaml"))
	g.Expect(err).NotTo(HaveOccurred())

	stdout, stderr, err := run(string(in), "-f", "-")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(stderr).To(BeEmpty())
	objs, err := manifest.Decode([]byte(stdout))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(objs).To(HaveLen(4))
	for _, obj := range objs {
		g.Expect(obj.GetAPIVersion()).To(HaveSuffix("/v1beta2"))
		g.Expect(obj.GetAnnotations()).To(BeEmpty())
	}

	md := &clusterv1.MachineDeployment{}
	g.Expect(strictDecode(objs[1].Object, md)).To(Succeed())
	g.Expect(md.Spec.Template.Spec.Bootstrap.ConfigRef.APIGroup).To(Equal("bootstrap.cluster.x-k8s.io"))
	g.Expect(*md.Spec.Template.Spec.Deletion.NodeDrainTimeoutSeconds).To(BeEquivalentTo(600))
	g.Expect(md.Spec.Deletion.Order).To(Equal(clusterv1.OldestMachineSetDeletionOrder))

	kct := &bootstrapv1.KubeadmConfigTemplate{}
	g.Expect(strictDecode(objs[2].Object, kct)).To(Succeed())
	g.Expect(kct.Spec.Template.Spec.JoinConfiguration.NodeRegistration.KubeletExtraArgs).To(HaveLen(2))

	g.Expect(strictDecode(objs[0].Object, &clusterv1.Cluster{})).To(Succeed())
	g.Expect(strictDecode(objs[3].Object, &clusterv1.MachineHealthCheck{})).To(Succeed())
}

// TestConvertV1beta1NamesDroppedFields: fields v1beta2 has no place for are
// named on standard error, and v1beta1 kinds podcluster does not serve pass
// through with a warning.
func TestConvertV1beta1NamesDroppedFields(t *testing.T) {
	g := NewWithT(t)
	in := `apiVersion: cluster.x-k8s.io/v1beta1
kind: MachineDeployment
metadata: {name: md}
spec:
  clusterName: c
  revisionHistoryLimit: 3
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      clusterName: c
      bootstrap: {dataSecretName: data}
      infrastructureRef: {apiVersion: infrastructure.cluster.x-k8s.io/v1alpha1, kind: KubernetesMachineTemplate, name: m, namespace: other}
---
apiVersion: bootstrap.cluster.x-k8s.io/v1beta1
kind: KubeadmConfig
metadata: {name: kc}
spec:
  clusterConfiguration:
    kubernetesVersion: v1.33.0
    apiServer:
      extraArgs: {v: "2"}
---
apiVersion: cluster.x-k8s.io/v1beta1
kind: ClusterClass
metadata: {name: cc}
`
	stdout, stderr, err := run(in, "-f", "-")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(stderr).To(Equal("WARNING: MachineDeployment md: spec.revisionHistoryLimit: dropped: no v1beta2 equivalent\n" +
		"WARNING: MachineDeployment md: spec.template.spec.infrastructureRef.namespace: dropped: no v1beta2 equivalent\n" +
		"WARNING: KubeadmConfig kc: spec.clusterConfiguration.kubernetesVersion: dropped: no v1beta2 equivalent\n" +
		"WARNING: ClusterClass cc: passed through unchanged: podcluster does not convert cluster.x-k8s.io/v1beta1 ClusterClass\n"))
	objs, err := manifest.Decode([]byte(stdout))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(objs).To(HaveLen(3))
	kc := &bootstrapv1.KubeadmConfig{}
	g.Expect(strictDecode(objs[1].Object, kc)).To(Succeed())
	g.Expect(kc.Spec.ClusterConfiguration.APIServer.ExtraArgs).To(HaveLen(1))
	g.Expect(objs[2].GetAPIVersion()).To(Equal("cluster.x-k8s.io/v1beta1"))
}

func strictDecode(m map[string]any, into any) error {
	raw, err := yaml.Marshal(m)
	if err != nil {
		return err
	}
	return yaml.UnmarshalStrict(raw, into)
}
