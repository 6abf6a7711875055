package convert_test

import (
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/podcluster/podcluster/cmd/podcluster/client/convert"
	"github.com/podcluster/podcluster/cmd/podcluster/client/manifest"
)

// field is a value expected at a path of the converted object.
type field struct {
	path  []string
	value any // nil: the field must be absent
}

func TestConvertCases(t *testing.T) {
	cases := []struct {
		name     string
		in       string
		want     []field
		warnings []string
	}{
		{
			name: "control-plane label true becomes empty, cluster-name label becomes clusterName",
			in: `
apiVersion: cluster.x-k8s.io/v1alpha2
kind: Machine
metadata:
  name: cp
  labels: {cluster.x-k8s.io/cluster-name: c1, cluster.x-k8s.io/control-plane: "true"}
spec:
  bootstrap: {dataSecretName: cp-data}
  infrastructureRef: {apiVersion: infrastructure.lukeaddison.co.uk/v1alpha2, kind: KubernetesMachine, name: cp}`,
			want: []field{
				{[]string{"apiVersion"}, "cluster.x-k8s.io/v1beta2"},
				{[]string{"metadata", "labels", "cluster.x-k8s.io/control-plane"}, ""},
				{[]string{"spec", "clusterName"}, "c1"},
				{[]string{"spec", "bootstrap", "dataSecretName"}, "cp-data"},
				{[]string{"spec", "infrastructureRef"}, map[string]any{"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "KubernetesMachine", "name": "cp"}},
			},
		},
		{
			name: "providerID and unknown fields are reported, not dropped silently",
			in: `
apiVersion: cluster.x-k8s.io/v1alpha2
kind: Machine
metadata: {name: controller, labels: {cluster.x-k8s.io/cluster-name: c1}}
spec:
  providerID: kubernetes://871cde5a
  madeUp: {deep: 1}
  bootstrap: {configRef: {apiVersion: bootstrap.cluster.x-k8s.io/v1alpha2, kind: KubeadmConfig, name: controller, namespace: other}}
  infrastructureRef: {apiVersion: infrastructure.lukeaddison.co.uk/v1alpha2, kind: KubernetesMachine, name: controller}`,
			want: []field{
				{[]string{"spec", "providerID"}, nil},
				{[]string{"spec", "madeUp"}, nil},
				{[]string{"spec", "bootstrap", "configRef", "apiGroup"}, "bootstrap.cluster.x-k8s.io"},
			},
			warnings: []string{
				`Machine controller: spec.bootstrap.configRef.namespace: dropped: v1beta2 references stay in the object's namespace, not "other"`,
				"Machine controller: spec.providerID: dropped: the Machine controller copies it from the infrastructure machine",
				"Machine controller: spec.madeUp.deep: dropped: no v1beta2 equivalent",
			},
		},
		{
			name: "a Machine without the cluster-name label is flagged",
			in: `
apiVersion: cluster.x-k8s.io/v1alpha2
kind: Machine
metadata: {name: lonely}
spec:
  bootstrap: {dataSecretName: s}
  infrastructureRef: {apiVersion: infrastructure.example.com/v1alpha2, kind: FooMachine, name: lonely}`,
			want: []field{
				{[]string{"spec", "clusterName"}, nil},
				{[]string{"spec", "infrastructureRef", "apiGroup"}, "infrastructure.example.com"},
			},
			warnings: []string{
				"Machine lonely: spec.clusterName: missing: the v1alpha2 Machine has no cluster.x-k8s.io/cluster-name label; set spec.clusterName by hand",
				"Machine lonely: spec.infrastructureRef.apiVersion: group infrastructure.example.com is not served by podcluster; install a provider that serves FooMachine",
			},
		},
		{
			name: "argument maps become lists sorted by name; timeouts move",
			in: `
apiVersion: bootstrap.cluster.x-k8s.io/v1alpha2
kind: KubeadmConfig
metadata: {name: k}
spec:
  clusterConfiguration:
    apiServer: {timeoutForControlPlane: 2m, extraArgs: {z: 8589934592, a: "2"}}
  joinConfiguration:
    discovery: {timeout: soon}
    nodeRegistration: {kubeletExtraArgs: {b: "x", a: ""}}`,
			want: []field{
				{[]string{"spec", "clusterConfiguration", "apiServer", "extraArgs"}, []any{
					map[string]any{"name": "a", "value": "2"}, map[string]any{"name": "z", "value": "8589934592"},
				}},
				{[]string{"spec", "initConfiguration", "timeouts", "controlPlaneComponentHealthCheckSeconds"}, int64(120)},
				{[]string{"spec", "joinConfiguration", "nodeRegistration", "kubeletExtraArgs"}, []any{
					map[string]any{"name": "a", "value": ""}, map[string]any{"name": "b", "value": "x"},
				}},
				{[]string{"spec", "joinConfiguration", "timeouts"}, nil},
			},
			warnings: []string{
				`KubeadmConfig k: spec.joinConfiguration.discovery.timeout: dropped: "soon" is not a duration v1beta2 can hold in seconds`,
			},
		},
		{
			name: "MachineDeployment: clusterName also on the template, strategy becomes rollout",
			in: `
apiVersion: cluster.x-k8s.io/v1alpha2
kind: MachineDeployment
metadata: {name: md, labels: {cluster.x-k8s.io/cluster-name: c1}}
spec:
  selector: {matchLabels: {pool: a}}
  strategy: {rollingUpdate: {maxSurge: 2, deletePolicy: Newest}}
  template:
    metadata: {labels: {pool: a}, name: ignored}
    spec:
      bootstrap: {dataSecretName: s}
      infrastructureRef: {apiVersion: infrastructure.lukeaddison.co.uk/v1alpha2, kind: KubernetesMachineTemplate, name: t}`,
			want: []field{
				{[]string{"spec", "clusterName"}, "c1"},
				{[]string{"spec", "template", "spec", "clusterName"}, "c1"},
				{[]string{"spec", "rollout", "strategy"}, map[string]any{"type": "RollingUpdate", "rollingUpdate": map[string]any{"maxSurge": float64(2)}}},
				{[]string{"spec", "deletion", "order"}, "Newest"},
			},
			warnings: []string{"MachineDeployment md: spec.template.metadata.name: dropped: no v1beta2 equivalent"},
		},
		{
			name: "unknown kinds pass through with a warning",
			in: `
apiVersion: infrastructure.cluster.x-k8s.io/v1alpha2
kind: DockerCluster
metadata: {name: d}
spec: {anything: 1}`,
			want: []field{
				{[]string{"apiVersion"}, "infrastructure.cluster.x-k8s.io/v1alpha2"},
				{[]string{"spec", "anything"}, float64(1)},
			},
			warnings: []string{"DockerCluster d: passed through unchanged: podcluster does not convert infrastructure.cluster.x-k8s.io/v1alpha2 DockerCluster"},
		},
		{
			name: "the items of a List (kubectl get -o yaml) are converted",
			in: `
apiVersion: v1
kind: List
items:
- apiVersion: infrastructure.lukeaddison.co.uk/v1alpha2
  kind: KubernetesCluster
  metadata: {name: k, uid: 2b1f6c1e-0000-4000-8000-000000000001}
  spec: {controlPlaneServiceType: NodePort}`,
			want: []field{
				{[]string{"apiVersion"}, "infrastructure.cluster.x-k8s.io/v1alpha1"},
				{[]string{"spec", "controlPlaneServiceType"}, "NodePort"},
			},
			warnings: []string{"KubernetesCluster k: metadata.uid: dropped: set by the API server"},
		},
		{
			name: "objects already in a served version pass through silently",
			in: `
apiVersion: cluster.x-k8s.io/v1beta2
kind: Cluster
metadata: {name: new}
spec: {paused: true}`,
			want: []field{{[]string{"spec", "paused"}, true}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			in, err := manifest.Decode([]byte(tc.in))
			g.Expect(err).NotTo(HaveOccurred())
			before := in[0].DeepCopy()

			out, warnings := convert.Convert(in)
			g.Expect(in[0]).To(Equal(before), "the input must not change")
			g.Expect(out).To(HaveLen(1))
			for _, f := range tc.want {
				v, found, err := unstructured.NestedFieldNoCopy(out[0].Object, f.path...)
				g.Expect(err).NotTo(HaveOccurred())
				if f.value == nil {
					g.Expect(found).To(BeFalse(), "%v should be absent, is %v", f.path, v)
					continue
				}
				g.Expect(found).To(BeTrue(), "%v is missing", f.path)
				g.Expect(v).To(Equal(f.value), "%v", f.path)
			}
			if tc.warnings == nil {
				g.Expect(warnings).To(BeEmpty())
			} else {
				g.Expect(warnings).To(ConsistOf(tc.warnings))
			}
		})
	}
}
