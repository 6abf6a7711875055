package apivalidation

const clusterResourceSetYAML = `
apiVersion: addons.cluster.x-k8s.io/v1beta2
kind: ClusterResourceSet
metadata: {name: crs1}
spec:
  clusterSelector: {matchLabels: {cni: kindnet}}
  resources:
  - {kind: ConfigMap, name: cni}
`

const clusterResourceSetBindingYAML = `
apiVersion: addons.cluster.x-k8s.io/v1beta2
kind: ClusterResourceSetBinding
metadata: {name: c1}
spec:
  clusterName: c1
  bindings:
  - clusterResourceSetName: crs1
    resources:
    - {kind: ConfigMap, name: cni, applied: true, hash: "sha256:00"}
`

func init() {
	invalidCases = append(invalidCases,
		invalidCase{name: "cluster resource set without resources", base: clusterResourceSetYAML, patch: `spec: {resources: []}`,
			want: []string{"spec.resources", "at least 1 items"}},
		invalidCase{name: "cluster resource set resource of another kind", base: clusterResourceSetYAML, patch: `spec: {resources: [{kind: Deployment, name: x}]}`,
			want: []string{"spec.resources[0].kind", "Unsupported value", `"Deployment"`}},
		invalidCase{name: "cluster resource set resource without a name", base: clusterResourceSetYAML, patch: `spec: {resources: [{kind: Secret, name: ""}]}`,
			want: []string{"spec.resources[0].name", "at least 1 chars"}},
		invalidCase{name: "unknown cluster resource set strategy", base: clusterResourceSetYAML, patch: `spec: {strategy: Sometimes}`,
			want: []string{"spec.strategy", "Unsupported value"}},
		invalidCase{name: "cluster resource set strategy changes", base: clusterResourceSetYAML, patch: `spec: {strategy: ApplyOnce}`, update: `spec: {strategy: Reconcile}`,
			want: []string{"spec.strategy", "spec.strategy is immutable"}},
		invalidCase{name: "cluster resource set selector changes", base: clusterResourceSetYAML, update: `spec: {clusterSelector: {matchLabels: {cni: calico}}}`,
			want: []string{"spec.clusterSelector", "spec.clusterSelector is immutable"}},
		invalidCase{name: "cluster resource set binding without clusterName", base: clusterResourceSetBindingYAML, patch: `spec: {clusterName: null}`,
			want: []string{"spec.clusterName", "Required value"}},
		invalidCase{name: "cluster resource set binding resource without applied", base: clusterResourceSetBindingYAML,
			patch: `spec: {bindings: [{clusterResourceSetName: crs1, resources: [{kind: ConfigMap, name: cni}]}]}`,
			want:  []string{"spec.bindings[0].resources[0].applied", "Required value"}},
	)
}
