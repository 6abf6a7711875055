package apivalidation

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// Valid objects the cases below break one field at a time.
const (
	clusterYAML = `
apiVersion: cluster.x-k8s.io/v1beta2
kind: Cluster
metadata: {name: c1}
spec:
  clusterNetwork:
    apiServerPort: 6443
    services: {cidrBlocks: ["10.96.0.0/12"]}
    pods: {cidrBlocks: ["192.168.0.0/16"]}
    serviceDomain: cluster.local
  infrastructureRef: {apiGroup: infrastructure.cluster.x-k8s.io, kind: KubernetesCluster, name: c1}
`
	machineYAML = `
apiVersion: cluster.x-k8s.io/v1beta2
kind: Machine
metadata: {name: m1}
spec:
  clusterName: c1
  version: v1.37.2
  bootstrap:
    configRef: {apiGroup: bootstrap.cluster.x-k8s.io, kind: KubeadmConfig, name: m1}
  infrastructureRef: {apiGroup: infrastructure.cluster.x-k8s.io, kind: KubernetesMachine, name: m1}
`
	machineTemplateSpec = `
    metadata:
      labels: {pool: a}
    spec:
      clusterName: c1
      version: v1.37.2
      bootstrap:
        configRef: {apiGroup: bootstrap.cluster.x-k8s.io, kind: KubeadmConfigTemplate, name: w}
      infrastructureRef: {apiGroup: infrastructure.cluster.x-k8s.io, kind: KubernetesMachineTemplate, name: w}
`
	machineDeploymentYAML = `
apiVersion: cluster.x-k8s.io/v1beta2
kind: MachineDeployment
metadata: {name: md1}
spec:
  clusterName: c1
  replicas: 3
  selector: {matchLabels: {pool: a}}
  template:` + machineTemplateSpec
	machineSetYAML = `
apiVersion: cluster.x-k8s.io/v1beta2
kind: MachineSet
metadata: {name: ms1}
spec:
  clusterName: c1
  replicas: 1
  selector: {matchLabels: {pool: a}}
  template:` + machineTemplateSpec
	machineHealthCheckYAML = `
apiVersion: cluster.x-k8s.io/v1beta2
kind: MachineHealthCheck
metadata: {name: mhc1}
spec:
  clusterName: c1
  selector: {matchLabels: {pool: a}}
  checks:
    unhealthyNodeConditions:
    - {type: Ready, status: Unknown, timeoutSeconds: 300}
`
	kubeadmConfigYAML = `
apiVersion: bootstrap.cluster.x-k8s.io/v1beta2
kind: KubeadmConfig
metadata: {name: kc1}
spec:
  joinConfiguration:
    nodeRegistration:
      kubeletExtraArgs:
      - {name: cgroups-per-qos, value: "false"}
`
	kubeadmControlPlaneYAML = `
apiVersion: controlplane.cluster.x-k8s.io/v1beta2
kind: KubeadmControlPlane
metadata: {name: kcp1}
spec:
  replicas: 3
  version: v1.37.2
  machineTemplate:
    spec:
      infrastructureRef: {apiGroup: infrastructure.cluster.x-k8s.io, kind: KubernetesMachineTemplate, name: cp}
`
	kubernetesClusterYAML = `
apiVersion: infrastructure.cluster.x-k8s.io/v1alpha1
kind: KubernetesCluster
metadata: {name: kcl1}
spec:
  controlPlaneServiceType: LoadBalancer
`
	kubernetesMachineYAML = `
apiVersion: infrastructure.cluster.x-k8s.io/v1alpha1
kind: KubernetesMachine
metadata: {name: km1}
spec: {}
`
	kubernetesMachineTemplateYAML = `
apiVersion: infrastructure.cluster.x-k8s.io/v1alpha1
kind: KubernetesMachineTemplate
metadata: {name: kmt1}
spec:
  template:
    spec: {}
`
)

type invalidCase struct {
	name string
	// base is a valid object.
	base string
	// patch is a JSON merge patch (in YAML) applied to base before it is created.
	patch string
	// update, when set, is a JSON merge patch (in YAML) sent to the server after
	// base+patch was created successfully; the update must then be rejected.
	update string
	// want are substrings of the error: the field path and the reason.
	want []string
}

var invalidCases = []invalidCase{
	// Required fields.
	{name: "machine without clusterName", base: machineYAML, patch: `spec: {clusterName: null}`,
		want: []string{"spec.clusterName", "Required value"}},
	{name: "machine without infrastructureRef", base: machineYAML, patch: `spec: {infrastructureRef: null}`,
		want: []string{"spec.infrastructureRef", "Required value"}},
	{name: "machine bootstrap without configRef or dataSecretName", base: machineYAML, patch: `spec: {bootstrap: {configRef: null, dataSecretName: null}}`,
		want: []string{"spec.bootstrap", "bootstrap needs configRef or dataSecretName"}},
	{name: "machine deployment without clusterName", base: machineDeploymentYAML, patch: `spec: {clusterName: null}`,
		want: []string{"spec.clusterName", "Required value"}},
	{name: "kubeadm control plane without version", base: kubeadmControlPlaneYAML, patch: `spec: {version: null}`,
		want: []string{"spec.version", "Required value"}},
	{name: "machine health check timeout missing", base: machineHealthCheckYAML, patch: `spec: {checks: {unhealthyNodeConditions: [{type: Ready, status: "False"}]}}`,
		want: []string{"spec.checks.unhealthyNodeConditions[0].timeoutSeconds", "Required value"}},

	// Bounds, formats and patterns.
	{name: "bad pod CIDR", base: clusterYAML, patch: `spec: {clusterNetwork: {pods: {cidrBlocks: ["192.168.0.0/33"]}}}`,
		want: []string{"spec.clusterNetwork.pods.cidrBlocks", "valid CIDRs"}},
	{name: "bad service CIDR", base: clusterYAML, patch: `spec: {clusterNetwork: {services: {cidrBlocks: ["not-a-cidr"]}}}`,
		want: []string{"spec.clusterNetwork.services.cidrBlocks", "valid CIDRs"}},
	{name: "API server port out of range", base: clusterYAML, patch: `spec: {clusterNetwork: {apiServerPort: 70000}}`,
		want: []string{"spec.clusterNetwork.apiServerPort", "less than or equal to 65535"}},
	{name: "control plane endpoint port zero", base: clusterYAML, patch: `spec: {controlPlaneEndpoint: {host: example.com, port: 0}}`,
		want: []string{"spec.controlPlaneEndpoint.port", "greater than or equal to 1"}},
	{name: "empty cluster network", base: clusterYAML, patch: `spec: {clusterNetwork: {apiServerPort: null, services: null, pods: null, serviceDomain: null}}`,
		want: []string{"spec.clusterNetwork", "at least 1 properties"}},
	{name: "negative minReadySeconds", base: machineYAML, patch: `spec: {minReadySeconds: -1}`,
		want: []string{"spec.minReadySeconds", "greater than or equal to 0"}},
	{name: "infrastructureRef kind with a dot", base: machineYAML, patch: `spec: {infrastructureRef: {kind: "Kubernetes.Machine"}}`,
		want: []string{"spec.infrastructureRef.kind", "should match"}},
	{name: "unhealthyInRange without brackets", base: machineHealthCheckYAML, patch: `spec: {remediation: {triggerIf: {unhealthyInRange: "3-5"}}}`,
		want: []string{"spec.remediation.triggerIf.unhealthyInRange", "should match"}},
	{name: "maxSurge that is not a number or percentage", base: machineDeploymentYAML, patch: `spec: {rollout: {strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: "lots"}}}}`,
		want: []string{"spec.rollout.strategy.rollingUpdate.maxSurge", "maxSurge must be a non-negative number or a percentage"}},

	// Enums.
	{name: "unknown rollout strategy", base: machineDeploymentYAML, patch: `spec: {rollout: {strategy: {type: Recreate}}}`,
		want: []string{"spec.rollout.strategy.type", "Unsupported value", `"Recreate"`}},
	{name: "unknown deletion order", base: machineSetYAML, patch: `spec: {deletion: {order: Biggest}}`,
		want: []string{"spec.deletion.order", "Unsupported value"}},
	{name: "unknown availability gate polarity", base: clusterYAML, patch: `spec: {availabilityGates: [{conditionType: Foo, polarity: Sideways}]}`,
		want: []string{"spec.availabilityGates[0].polarity", "Unsupported value"}},
	{name: "unknown taint effect", base: machineYAML, patch: `spec: {taints: [{key: a, effect: Sometimes, propagation: Always}]}`,
		want: []string{"spec.taints[0].effect", "Unsupported value"}},
	{name: "unknown kubeadm join taint effect", base: kubeadmConfigYAML,
		patch: `spec: {joinConfiguration: {nodeRegistration: {taints: [{key: a, effect: Sometimes}]}}}`,
		want:  []string{"spec.joinConfiguration.nodeRegistration.taints", "taints[].effect must be NoSchedule, PreferNoSchedule or NoExecute"}},
	{name: "unknown kubeadm init taint effect in a control plane", base: kubeadmControlPlaneYAML,
		patch: `spec: {kubeadmConfigSpec: {initConfiguration: {nodeRegistration: {taints: [{key: a, effect: noschedule}]}}}}`,
		want:  []string{"spec.kubeadmConfigSpec.initConfiguration.nodeRegistration.taints", "taints[].effect must be"}},
	{name: "negative kubeadm verbosity", base: kubeadmConfigYAML, patch: `spec: {verbosity: -1}`,
		want: []string{"spec.verbosity", "greater than or equal to 0"}},
	{name: "template file content", base: kubeadmConfigYAML, patch: `spec: {files: [{path: /etc/x, content: "{{ .x }}", contentFormat: Template}]}`,
		want: []string{"spec.files[0].contentFormat", "contentFormat: Template is not supported yet"}},
	{name: "negative cpu request", base: kubernetesMachineYAML, patch: `spec: {resources: {requests: {cpu: "-1"}}}`,
		want: []string{"spec.resources", "resources.requests cpu and memory must not be negative"}},
	{name: "negative memory limit in a machine template", base: kubernetesMachineTemplateYAML,
		patch: `spec: {template: {spec: {resources: {limits: {memory: "-1Gi"}}}}}`,
		want:  []string{"spec.template.spec.resources", "resources.limits cpu and memory must not be negative"}},
	{name: "unknown file encoding", base: kubeadmConfigYAML, patch: `spec: {files: [{path: /etc/x, content: x, encoding: rot13}]}`,
		want: []string{"spec.files[0].encoding", "Unsupported value"}},
	{name: "unknown control plane service type", base: kubernetesClusterYAML, patch: `spec: {controlPlaneServiceType: ExternalName}`,
		want: []string{"spec.controlPlaneServiceType", "Unsupported value"}},
	{name: "unknown KCP rollout strategy", base: kubeadmControlPlaneYAML, patch: `spec: {rollout: {strategy: {type: OnDelete}}}`,
		want: []string{"spec.rollout.strategy.type", "Unsupported value"}},

	// Cross-field rules (CEL).
	{name: "duplicate kubeletExtraArgs name", base: kubeadmConfigYAML,
		patch: `spec: {joinConfiguration: {nodeRegistration: {kubeletExtraArgs: [{name: cgroups-per-qos, value: "false"}, {name: cgroups-per-qos, value: "true"}]}}}`,
		want:  []string{"spec.joinConfiguration.nodeRegistration.kubeletExtraArgs", "kubeletExtraArgs name must be unique"}},
	{name: "duplicate extraArgs name", base: kubeadmConfigYAML,
		patch: `spec: {clusterConfiguration: {apiServer: {extraArgs: [{name: v, value: "1"}, {name: v, value: "2"}]}}}`,
		want:  []string{"spec.clusterConfiguration.apiServer.extraArgs", "extraArgs name must be unique"}},
	{name: "even KCP replicas with local etcd", base: kubeadmControlPlaneYAML, patch: `spec: {replicas: 2}`,
		want: []string{"spec", "replicas must be an odd number"}},
	{name: "machine deployment selector does not match template", base: machineDeploymentYAML, patch: `spec: {selector: {matchLabels: {pool: b}}}`,
		want: []string{"spec", "spec.selector.matchLabels must match spec.template.metadata.labels"}},
	{name: "machine set selector does not match template", base: machineSetYAML, patch: `spec: {selector: {matchLabels: {other: x}}}`,
		want: []string{"spec", "spec.selector.matchLabels must match spec.template.metadata.labels"}},
	{name: "template clusterName differs", base: machineDeploymentYAML, patch: `spec: {template: {spec: {clusterName: c2}}}`,
		want: []string{"spec", "spec.template.spec.clusterName must equal spec.clusterName"}},
	{name: "ignition format", base: kubeadmConfigYAML, patch: `spec: {format: ignition}`,
		want: []string{"spec", "ignition is not supported"}},
	{name: "file with content and contentFrom", base: kubeadmConfigYAML,
		patch: `spec: {files: [{path: /etc/x, content: x, contentFrom: {secret: {name: s, key: k}}}]}`,
		want:  []string{"spec.files[0]", "only one of content or contentFrom"}},
	{name: "local and external etcd", base: kubeadmConfigYAML,
		patch: `spec: {clusterConfiguration: {etcd: {local: {dataDir: /var/lib/etcd}, external: {endpoints: ["https://e:2379"], caFile: a, certFile: b, keyFile: c}}}}`,
		want:  []string{"spec.clusterConfiguration.etcd", "mutually exclusive"}},
	{name: "unknown partition type", base: kubeadmConfigYAML,
		patch: `spec: {diskSetup: {partitions: [{device: /dev/sdb, layout: true, diskLayout: [{percentage: 100, partitionType: Banana}]}]}}`,
		want:  []string{"spec.diskSetup.partitions[0]", "partitionType must be one of"}},
	{name: "rolling update tuning with OnDelete", base: machineDeploymentYAML,
		patch: `spec: {rollout: {strategy: {type: OnDelete, rollingUpdate: {maxSurge: 1}}}}`,
		want:  []string{"spec.rollout.strategy", "rollingUpdate may only be set when rollout.strategy.type is RollingUpdate"}},
	{name: "MHC watching a condition it drives", base: machineHealthCheckYAML,
		patch: `spec: {checks: {unhealthyMachineConditions: [{type: Ready, status: "False", timeoutSeconds: 60}]}}`,
		want:  []string{"spec.checks.unhealthyMachineConditions[0].type", "type must not be one of"}},
	{name: "cluster topology", base: clusterYAML, patch: `spec: {topology: {version: v1.37.2}}`,
		want: []string{"spec", "spec.topology (ClusterClass) is not supported"}},
	{name: "load balancer class without LoadBalancer", base: kubernetesClusterYAML,
		patch: `spec: {controlPlaneServiceType: ClusterIP, controlPlaneService: {loadBalancerClass: example.com/lb}}`,
		want:  []string{"spec", "loadBalancerClass requires controlPlaneServiceType LoadBalancer"}},
	{name: "volume claim template with an unknown name", base: kubernetesMachineYAML,
		patch: `spec: {volumeClaimTemplates: [{metadata: {name: data}, spec: {accessModes: [ReadWriteOnce]}}]}`,
		want:  []string{"spec.volumeClaimTemplates", "must be var-lib-etcd or var-lib-containerd"}},
	{name: "providerID in a machine template", base: kubernetesMachineTemplateYAML,
		patch: `spec: {template: {spec: {providerID: "kubernetes://ns/pod"}}}`,
		want:  []string{"spec", "providerID must not be set"}},

	// Unknown fields under strict field validation.
	{name: "unknown field in machine spec", base: machineYAML, patch: `spec: {nodeName: n1}`,
		want: []string{`unknown field "spec.nodeName"`}},
	{name: "misspelt kubeletExtraArgs", base: kubeadmConfigYAML, patch: `spec: {joinConfiguration: {nodeRegistration: {kubeletExtraArg: [{name: a, value: b}]}}}`,
		want: []string{`unknown field "spec.joinConfiguration.nodeRegistration.kubeletExtraArg"`}},
	{name: "v1alpha2 style apiVersion in a reference", base: clusterYAML, patch: `spec: {infrastructureRef: {apiVersion: infrastructure.cluster.x-k8s.io/v1alpha1}}`,
		want: []string{`unknown field "spec.infrastructureRef.apiVersion"`}},

	// Immutable fields.
	{name: "machine clusterName changes", base: machineYAML, update: `spec: {clusterName: c2}`,
		want: []string{"spec", "spec.clusterName is immutable"}},
	{name: "machine infrastructureRef changes", base: machineYAML, update: `spec: {infrastructureRef: {name: other}}`,
		want: []string{"spec", "spec.infrastructureRef is immutable"}},
	{name: "machine bootstrap configRef changes", base: machineYAML, update: `spec: {bootstrap: {configRef: {name: other}}}`,
		want: []string{"spec", "spec.bootstrap.configRef is immutable"}},
	{name: "cluster infrastructureRef changes", base: clusterYAML, update: `spec: {infrastructureRef: {name: other}}`,
		want: []string{"spec", "spec.infrastructureRef is immutable once set"}},
	{name: "machine deployment clusterName changes", base: machineDeploymentYAML,
		update: `spec: {clusterName: c2, template: {spec: {clusterName: c2}}}`,
		want:   []string{"spec.clusterName", "spec.clusterName is immutable"}},
	{name: "machine health check clusterName changes", base: machineHealthCheckYAML, update: `spec: {clusterName: c2}`,
		want: []string{"spec.clusterName", "spec.clusterName is immutable"}},
	{name: "provider ID changes", base: kubernetesMachineYAML, patch: `spec: {providerID: "kubernetes://ns/a"}`,
		update: `spec: {providerID: "kubernetes://ns/b"}`,
		want:   []string{"spec.providerID", "providerID is immutable once set"}},
}

// TestInvalidManifestsAreRejected sends each broken manifest to the real API
// server and expects a rejection that names the bad field.
func TestInvalidManifestsAreRejected(t *testing.T) {
	if len(invalidCases) < 25 {
		t.Fatalf("want at least 25 invalid cases, have %d", len(invalidCases))
	}
	ns := env.NewNamespace(t)
	for i, tc := range invalidCases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()

			obj := mustObject(t, tc.base, tc.patch)
			// Unique names keep the cases apart in one namespace.
			obj.SetName(obj.GetName() + "-" + itoa(i))
			err := createStrict(ctx, obj, ns)
			if tc.update == "" {
				g.Expect(err).To(HaveOccurred(), "the API server accepted an invalid %s", obj.GetKind())
				for _, w := range tc.want {
					g.Expect(err.Error()).To(ContainSubstring(w))
				}
				return
			}
			g.Expect(err).NotTo(HaveOccurred(), "creating the valid object before the update")
			patch := yamlToJSON(t, tc.update)
			err = env.Client.Patch(ctx, obj, client.RawPatch(types.MergePatchType, patch), client.FieldValidation("Strict"))
			g.Expect(err).To(HaveOccurred(), "the API server accepted a change to an immutable field of %s", obj.GetKind())
			for _, w := range tc.want {
				g.Expect(err.Error()).To(ContainSubstring(w))
			}
		})
	}
}

// TestValidBasesAreAccepted guards the table above: every base object must be
// valid on its own, so each rejection is caused by the case's change alone.
func TestValidBasesAreAccepted(t *testing.T) {
	ns := env.NewNamespace(t)
	for _, base := range []string{clusterYAML, machineYAML, machineDeploymentYAML, machineSetYAML, machineHealthCheckYAML,
		kubeadmConfigYAML, kubeadmControlPlaneYAML, kubernetesClusterYAML, kubernetesMachineYAML, kubernetesMachineTemplateYAML} {
		g := NewWithT(t)
		obj := mustObject(t, base, "")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		g.Expect(createStrict(ctx, obj, ns)).To(Succeed(), "%s", obj.GetKind())
		cancel()
	}
}

// TestBoundaryValuesAreAccepted: the bounds of the rules above let the
// smallest valid values through (and quantities written as integers).
func TestBoundaryValuesAreAccepted(t *testing.T) {
	ns := env.NewNamespace(t)
	for i, tc := range []struct{ base, patch string }{
		{kubeadmConfigYAML, `spec: {verbosity: 0}`},
		{kubeadmConfigYAML, `spec: {joinConfiguration: {nodeRegistration: {taints: [{key: a, effect: NoSchedule}, {key: b, effect: PreferNoSchedule}, {key: c, effect: NoExecute}]}}}`},
		{kubeadmConfigYAML, `spec: {files: [{path: /etc/x, content: "{{ .x }}", contentFormat: Raw}]}`},
		{kubernetesMachineYAML, `spec: {resources: {requests: {cpu: 0, memory: "0"}, limits: {cpu: 2, memory: 4Gi, ephemeral-storage: 1Gi}}}`},
		{kubernetesMachineYAML, `spec: {resources: {requests: {cpu: 500m}}}`},
	} {
		g := NewWithT(t)
		obj := mustObject(t, tc.base, tc.patch)
		obj.SetName(obj.GetName() + "-bound-" + itoa(i))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		g.Expect(createStrict(ctx, obj, ns)).To(Succeed(), "%s %s", obj.GetKind(), tc.patch)
		cancel()
	}
}

func mustObject(t *testing.T, base, patch string) *unstructured.Unstructured {
	t.Helper()
	obj := map[string]any{}
	if err := yaml.Unmarshal([]byte(base), &obj); err != nil {
		t.Fatalf("decoding base: %v", err)
	}
	if patch != "" {
		p := map[string]any{}
		if err := yaml.Unmarshal([]byte(patch), &p); err != nil {
			t.Fatalf("decoding patch: %v", err)
		}
		mergePatch(obj, p)
	}
	return &unstructured.Unstructured{Object: obj}
}

// mergePatch applies a JSON merge patch (RFC 7386) to dst in place.
func mergePatch(dst, patch map[string]any) {
	for k, v := range patch {
		switch pv := v.(type) {
		case nil:
			delete(dst, k)
		case map[string]any:
			dv, ok := dst[k].(map[string]any)
			if !ok {
				dv = map[string]any{}
				dst[k] = dv
			}
			mergePatch(dv, pv)
		default:
			dst[k] = v
		}
	}
}

func yamlToJSON(t *testing.T, y string) []byte {
	t.Helper()
	m := map[string]any{}
	if err := yaml.Unmarshal([]byte(y), &m); err != nil {
		t.Fatalf("decoding update: %v", err)
	}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("encoding update: %v", err)
	}
	return data
}

func itoa(i int) string {
	return string(rune('a'+i/26)) + string(rune('a'+i%26))
}
