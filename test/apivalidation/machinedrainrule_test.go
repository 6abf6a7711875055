package apivalidation

const machineDrainRuleYAML = `
apiVersion: cluster.x-k8s.io/v1beta2
kind: MachineDrainRule
metadata: {name: mdr1}
spec:
  drain: {behavior: Drain, order: 5}
  machines:
  - selector: {matchLabels: {pool: a}}
  pods:
  - selector: {matchLabels: {app: db}}
`

func init() {
	invalidCases = append(invalidCases,
		invalidCase{name: "machine drain rule order with Skip", base: machineDrainRuleYAML, patch: `spec: {drain: {behavior: Skip}}`,
			want: []string{"spec.drain", "order can only be set if behavior is Drain"}},
		invalidCase{name: "unknown machine drain rule behavior", base: machineDrainRuleYAML, patch: `spec: {drain: {behavior: Evict, order: null}}`,
			want: []string{"spec.drain.behavior", "Unsupported value"}},
		invalidCase{name: "machine drain rule without behavior", base: machineDrainRuleYAML, patch: `spec: {drain: {behavior: null, order: null}}`,
			want: []string{"spec.drain.behavior", "Required value"}},
		invalidCase{name: "machine drain rule duplicate pod selectors", base: machineDrainRuleYAML,
			patch: `spec: {pods: [{selector: {matchLabels: {app: db}}}, {selector: {matchLabels: {app: db}}}]}`,
			want:  []string{"spec.pods", "entries in pods must be unique"}},
		invalidCase{name: "machine drain rule empty machine selector entry", base: machineDrainRuleYAML, patch: `spec: {machines: [{}]}`,
			want: []string{"spec.machines[0]", "at least 1 properties"}},
	)
}
