package apivalidation

import (
	"context"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// machinePoolYAML is a MachinePool in upstream's v1beta2 shape, pointing at
// another provider's pool kinds as an upstream manifest would.
const machinePoolYAML = `
apiVersion: cluster.x-k8s.io/v1beta2
kind: MachinePool
metadata: {name: pool}
spec:
  clusterName: c1
  replicas: 2
  failureDomains: [zone-a, zone-b]
  template:
    metadata:
      labels: {pool: a}
    spec:
      clusterName: c1
      version: v1.37.2
      minReadySeconds: 10
      bootstrap:
        configRef: {apiGroup: bootstrap.cluster.x-k8s.io, kind: KubeadmConfig, name: pool}
      infrastructureRef: {apiGroup: infrastructure.cluster.x-k8s.io, kind: DockerMachinePool, name: pool}
`

// machinePoolStatusYAML is a status as upstream's MachinePool controller writes it.
const machinePoolStatusYAML = `
status:
  replicas: 2
  readyReplicas: 2
  availableReplicas: 1
  upToDateReplicas: 2
  phase: Running
  observedGeneration: 1
  initialization: {infrastructureProvisioned: true, bootstrapDataSecretCreated: true}
  nodeRefs:
  - {apiVersion: v1, kind: Node, name: pool-0, uid: 0b7c1f5e-3a5e-4c36-9d55-2b1a3c4d5e6f}
  - {apiVersion: v1, kind: Node, name: pool-1}
  versions: [{version: v1.37.2, replicas: 2}]
  conditions:
  - {type: Available, status: "True", reason: Available, message: "", lastTransitionTime: "2026-01-01T00:00:00Z"}
  deprecated:
    v1beta1:
      readyReplicas: 2
      availableReplicas: 1
      unavailableReplicas: 1
`

// TestMachinePoolIsServed checks what upstream tools rely on: the kind is
// served with upstream's fields, columns, short name, category and scale
// subresource, although no podcluster controller acts on it.
func TestMachinePoolIsServed(t *testing.T) {
	ns := env.NewNamespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	g := NewWithT(t)

	obj := mustObject(t, machinePoolYAML, "")
	g.Expect(createStrict(ctx, obj, ns)).To(Succeed())
	g.Expect(env.Client.Status().Patch(ctx, obj, client.RawPatch(types.MergePatchType, yamlToJSON(t, machinePoolStatusYAML)),
		client.FieldValidation("Strict"))).To(Succeed())

	t.Run("status round trip", func(t *testing.T) {
		g := NewWithT(t)
		out, err := env.Kubectl(ctx, "get", "machinepool/pool", "-n", ns, "-o",
			"jsonpath={.status.nodeRefs[1].name} {.status.initialization.bootstrapDataSecretCreated} {.status.deprecated.v1beta1.unavailableReplicas} {.spec.template.spec.minReadySeconds}")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out).To(Equal("pool-1 true 1 10"))
	})

	t.Run("printer columns", func(t *testing.T) {
		for _, tc := range []struct {
			wide   bool
			header []string
		}{
			{false, []string{"NAME", "CLUSTER", "DESIRED", "CURRENT", "READY", "AVAILABLE", "UP-TO-DATE", "PHASE", "AGE", "VERSION"}},
			{true, []string{"NAME", "CLUSTER", "DESIRED", "CURRENT", "READY", "AVAILABLE", "UP-TO-DATE", "PAUSED", "PHASE", "AGE", "VERSION"}},
		} {
			g := NewWithT(t)
			args := []string{"get", "machinepools", "-n", ns}
			if tc.wide {
				args = append(args, "-o", "wide")
			}
			out, err := env.Kubectl(ctx, args...)
			g.Expect(err).NotTo(HaveOccurred())
			lines := strings.Split(strings.TrimSpace(out), "\n")
			g.Expect(lines).To(HaveLen(2), out)
			g.Expect(splitColumns(lines[0])).To(Equal(tc.header))
			if !tc.wide {
				row := strings.Fields(lines[1])
				g.Expect(row).To(HaveLen(len(tc.header)), out)
				g.Expect(row[:8]).To(Equal([]string{"pool", "c1", "2", "2", "2", "1", "2", "Running"}), out)
				g.Expect(row[9]).To(Equal("v1.37.2"), out)
			}
		}
	})

	t.Run("short name and category", func(t *testing.T) {
		g := NewWithT(t)
		out, err := env.Kubectl(ctx, "get", "mp", "-n", ns, "-o", "name")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out).To(Equal("machinepool.cluster.x-k8s.io/pool\n"))
		out, err = env.Kubectl(ctx, "get", "cluster-api", "-n", ns, "-o", "name")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out).To(ContainSubstring("machinepool.cluster.x-k8s.io/pool\n"))
	})

	t.Run("scale subresource", func(t *testing.T) {
		g := NewWithT(t)
		_, err := env.Kubectl(ctx, "scale", "machinepool/pool", "-n", ns, "--replicas=5")
		g.Expect(err).NotTo(HaveOccurred())
		out, err := env.Kubectl(ctx, "get", "machinepool/pool", "-n", ns, "-o", "jsonpath={.spec.replicas}")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out).To(Equal("5"))
	})
}

// TestInvalidMachinePoolsAreRejected breaks one field of a valid MachinePool
// at a time and expects a rejection that names it.
func TestInvalidMachinePoolsAreRejected(t *testing.T) {
	ns := env.NewNamespace(t)
	cases := []struct {
		name, patch, update string
		want                []string
	}{
		{name: "template clusterName differs", patch: `spec: {template: {spec: {clusterName: c2}}}`,
			want: []string{"spec", "spec.template.spec.clusterName must equal spec.clusterName"}},
		{name: "negative replicas", patch: `spec: {replicas: -1}`,
			want: []string{"spec.replicas", "greater than or equal to 0"}},
		{name: "empty provider ID", patch: `spec: {providerIDList: [""]}`,
			want: []string{"spec.providerIDList[0]"}},
		{name: "empty failure domain", patch: `spec: {failureDomains: [""]}`,
			want: []string{"spec.failureDomains[0]"}},
		{name: "no template", patch: `spec: {template: null}`,
			want: []string{"spec.template"}},
		{name: "unknown field", patch: `spec: {minReadySeconds: 10}`,
			want: []string{`unknown field "spec.minReadySeconds"`}},
		{name: "clusterName changes", update: `spec: {clusterName: c2, template: {spec: {clusterName: c2}}}`,
			want: []string{"spec.clusterName", "spec.clusterName is immutable"}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			obj := mustObject(t, machinePoolYAML, tc.patch)
			obj.SetName(obj.GetName() + "-" + itoa(i))
			err := createStrict(ctx, obj, ns)
			if tc.update != "" {
				g.Expect(err).NotTo(HaveOccurred(), "creating the valid object before the update")
				err = env.Client.Patch(ctx, obj, client.RawPatch(types.MergePatchType, yamlToJSON(t, tc.update)), client.FieldValidation("Strict"))
			}
			g.Expect(err).To(HaveOccurred(), "the API server accepted an invalid MachinePool")
			for _, w := range tc.want {
				g.Expect(err.Error()).To(ContainSubstring(w))
			}
		})
	}

	t.Run("phase outside upstream's values", func(t *testing.T) {
		g := NewWithT(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		obj := mustObject(t, machinePoolYAML, "")
		obj.SetName("pool-phase")
		g.Expect(createStrict(ctx, obj, ns)).To(Succeed())
		err := env.Client.Status().Patch(ctx, obj, client.RawPatch(types.MergePatchType, []byte(`{"status":{"phase":"Bogus"}}`)))
		g.Expect(err).To(MatchError(ContainSubstring("status.phase")))
	})
}
