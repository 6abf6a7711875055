package kubeadmconfig

import (
	"testing"

	. "github.com/onsi/gomega"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
)

func TestCheckNodeLabels(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  string // a part of the error; empty when valid
	}{
		{value: ""},
		{value: "a=b"},
		{value: "example.com/pool=b,tier="},
		{value: "node.kubernetes.io/exclude-from-external-load-balancers="},
		{value: "kubelet.kubernetes.io/x=y"},
		{value: "topology.kubernetes.io/zone=z1"},
		{value: "a", want: `"a" is not key=value`},
		{value: "a=b c", want: `label "a" value "b c"`},
		{value: "bad key=b", want: `label key "bad key"`},
		{value: "a=" + string(make([]byte, 64)), want: "must be no more than 63"},
		{value: "node-role.kubernetes.io/worker=", want: "the kubelet may not set"},
		{value: "kubernetes.io/role=x", want: "the kubelet may not set"},
		{value: "example.k8s.io/x=y", want: "the kubelet may not set"},
		{value: "notkubernetes.io/x=y"},
	} {
		g := NewWithT(t)
		err := checkNodeLabels(tc.value)
		if tc.want == "" {
			g.Expect(err).NotTo(HaveOccurred(), tc.value)
			continue
		}
		g.Expect(err).To(MatchError(ContainSubstring(tc.want)), tc.value)
	}
}

func TestNodeLabelsProblemNamesTheField(t *testing.T) {
	g := NewWithT(t)
	v := "a=b c"
	spec := &bootstrapv1.KubeadmConfigSpec{}
	g.Expect(nodeLabelsProblem(spec)).To(BeEmpty())
	spec.JoinConfiguration.NodeRegistration.KubeletExtraArgs = []bootstrapv1.Arg{{Name: "node-labels", Value: &v}}
	g.Expect(nodeLabelsProblem(spec)).To(HavePrefix(`spec.joinConfiguration.nodeRegistration.kubeletExtraArgs node-labels "a=b c": `))
}
