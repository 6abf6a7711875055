package describe

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tree "github.com/podcluster/podcluster/cmd/podcluster/client/describe"
	"github.com/podcluster/podcluster/cmd/podcluster/client/manifest"
	"github.com/podcluster/podcluster/cmd/podcluster/client/streams"
	"github.com/podcluster/podcluster/test/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var env *testenv.Environment

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &env)) }

// objects is a cluster with a KubeadmControlPlane of one, a MachineDeployment of
// two, and a stand-alone worker Machine.
const objects = `
apiVersion: infrastructure.cluster.x-k8s.io/v1alpha1
kind: KubernetesCluster
metadata: {name: demo}
spec: {controlPlaneServiceType: LoadBalancer}
---
apiVersion: cluster.x-k8s.io/v1beta2
kind: Cluster
metadata: {name: demo}
spec:
  infrastructureRef: {apiGroup: infrastructure.cluster.x-k8s.io, kind: KubernetesCluster, name: demo}
  controlPlaneRef: {apiGroup: controlplane.cluster.x-k8s.io, kind: KubeadmControlPlane, name: demo-control-plane}
---
apiVersion: controlplane.cluster.x-k8s.io/v1beta2
kind: KubeadmControlPlane
metadata: {name: demo-control-plane}
spec:
  replicas: 1
  version: v1.37.2
  machineTemplate:
    spec:
      infrastructureRef: {apiGroup: infrastructure.cluster.x-k8s.io, kind: KubernetesMachineTemplate, name: demo-control-plane}
---
apiVersion: cluster.x-k8s.io/v1beta2
kind: Machine
metadata:
  name: demo-control-plane-a
  labels: {cluster.x-k8s.io/cluster-name: demo, cluster.x-k8s.io/control-plane: ""}
spec: {clusterName: demo, version: v1.37.2, bootstrap: {dataSecretName: bootstrap}, infrastructureRef: {apiGroup: infrastructure.cluster.x-k8s.io, kind: KubernetesMachine, name: m}}
---
apiVersion: cluster.x-k8s.io/v1beta2
kind: MachineDeployment
metadata: {name: demo-md-0}
spec:
  clusterName: demo
  replicas: 2
  selector: {matchLabels: {pool: md-0}}
  template:
    metadata: {labels: {pool: md-0}}
    spec: {clusterName: demo, version: v1.37.2, bootstrap: {dataSecretName: bootstrap}, infrastructureRef: {apiGroup: infrastructure.cluster.x-k8s.io, kind: KubernetesMachine, name: m}}
---
apiVersion: cluster.x-k8s.io/v1beta2
kind: MachineSet
metadata: {name: demo-md-0-abc}
spec:
  clusterName: demo
  replicas: 2
  selector: {matchLabels: {pool: md-0}}
  template:
    metadata: {labels: {pool: md-0}}
    spec: {clusterName: demo, version: v1.37.2, bootstrap: {dataSecretName: bootstrap}, infrastructureRef: {apiGroup: infrastructure.cluster.x-k8s.io, kind: KubernetesMachine, name: m}}
---
apiVersion: cluster.x-k8s.io/v1beta2
kind: Machine
metadata: {name: demo-md-0-abc-1}
spec: {clusterName: demo, version: v1.37.2, bootstrap: {dataSecretName: bootstrap}, infrastructureRef: {apiGroup: infrastructure.cluster.x-k8s.io, kind: KubernetesMachine, name: m}}
---
apiVersion: cluster.x-k8s.io/v1beta2
kind: Machine
metadata: {name: demo-md-0-abc-2}
spec: {clusterName: demo, version: v1.37.2, bootstrap: {dataSecretName: bootstrap}, infrastructureRef: {apiGroup: infrastructure.cluster.x-k8s.io, kind: KubernetesMachine, name: m}}
---
apiVersion: cluster.x-k8s.io/v1beta2
kind: Machine
metadata: {name: demo-standalone}
spec: {clusterName: demo, version: v1.37.2, bootstrap: {dataSecretName: bootstrap}, infrastructureRef: {apiGroup: infrastructure.cluster.x-k8s.io, kind: KubernetesMachine, name: m}}
---
apiVersion: cluster.x-k8s.io/v1beta2
kind: Machine
metadata: {name: other-cluster-machine}
spec:
  clusterName: other
  bootstrap: {dataSecretName: bootstrap}
  infrastructureRef: {apiGroup: infrastructure.cluster.x-k8s.io, kind: KubernetesMachine, name: m}
`

// owners names the controller of each owned object.
var owners = map[string]string{
	"demo-control-plane-a": "demo-control-plane",
	"demo-md-0-abc":        "demo-md-0",
	"demo-md-0-abc-1":      "demo-md-0-abc",
	"demo-md-0-abc-2":      "demo-md-0-abc",
}

// TestDescribeCluster describes a cluster as it is provisioned, once healthy,
// and with a failed Machine; each text output matches its golden file.
func TestDescribeCluster(t *testing.T) {
	ns := createCluster(t)

	t.Run("provisioning", func(t *testing.T) {
		golden(t, "provisioning", describe(t, "cluster", "demo", "-n", ns, "--color", "never"))
	})

	t.Run("healthy", func(t *testing.T) {
		setHealthy(t, ns)
		golden(t, "healthy", describe(t, "cluster", "demo", "-n", ns, "--color", "never"))
	})

	t.Run("failed machine", func(t *testing.T) {
		setStatus(t, ns, "Machine", "demo-md-0-abc-2", nil,
			condition("InfrastructureReady", "False", "PodFailed", "node Pod demo-md-0-abc-2 failed: ImagePullBackOff: image kindest/node:v1.37.2 not found"),
			condition("BootstrapConfigReady", "True", "Ready", ""),
			condition("NodeReady", "Unknown", "NodeDoesNotExist", "waiting for a Node"),
			condition("Ready", "False", "NotReady", "* InfrastructureReady: node Pod demo-md-0-abc-2 failed\n* NodeReady: waiting for a Node"),
			condition("Available", "False", "NotReady", ""),
			condition("UpToDate", "True", "UpToDate", ""),
		)
		setStatus(t, ns, "MachineSet", "demo-md-0-abc", map[string]int64{"replicas": 2, "readyReplicas": 1, "availableReplicas": 1, "upToDateReplicas": 2},
			condition("MachinesReady", "False", "NotReady", "* Machine demo-md-0-abc-2: InfrastructureReady: node Pod failed"),
			condition("MachinesUpToDate", "True", "UpToDate", ""),
		)
		golden(t, "failed", describe(t, "cluster", "demo", "-n", ns, "--color", "never"))
	})

	t.Run("for programs", func(t *testing.T) {
		g := NewWithT(t)
		root := &tree.Node{}
		g.Expect(json.Unmarshal([]byte(describe(t, "cluster", "demo", "-n", ns, "-o", "json")), root)).To(Succeed())
		g.Expect(root.Kind).To(Equal("Cluster"))
		g.Expect(root.Children).To(HaveLen(3))
		g.Expect(root.Children[1].Role).To(Equal(tree.RoleControlPlane))
		g.Expect(root.Children[1].Replicas).To(Equal("1/1"))
		failed := root.Children[2].Children[0].Children[0].Children[1]
		g.Expect(failed.Name).To(Equal("demo-md-0-abc-2"))
		g.Expect(failed.Problems).To(ContainElement(tree.Problem{Type: "InfrastructureReady", Status: "False", Reason: "PodFailed",
			Message: "node Pod demo-md-0-abc-2 failed: ImagePullBackOff: image kindest/node:v1.37.2 not found"}))

		out := describe(t, "cluster", "demo", "-n", ns, "-o", "yaml")
		g.Expect(out).To(ContainSubstring("\nkind: Cluster\n"))
		g.Expect(out).To(ContainSubstring("role: ClusterInfrastructure"))
	})

	t.Run("colour", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(describe(t, "cluster", "demo", "-n", ns, "--color", "always")).To(ContainSubstring("\x1b[31mFalse\x1b[0m"))
		// Not a terminal: auto means no colour.
		g.Expect(describe(t, "cluster", "demo", "-n", ns)).NotTo(ContainSubstring("\x1b["))
	})
}

// TestDescribeWatch redraws when the cluster changes, and stops on cancel.
func TestDescribeWatch(t *testing.T) {
	g := NewWithT(t)
	ns := createCluster(t)
	out := &syncBuffer{}
	cmd := NewCommand(streams.IO{In: &bytes.Buffer{}, Out: out, ErrOut: out})
	cmd.SetArgs([]string{"cluster", "demo", "-n", ns, "--kubeconfig", env.KubeconfigPath, "--watch"})
	ctx, cancel := context.WithCancel(context.Background())
	cmd.SetContext(ctx)
	done := make(chan error, 1)
	go func() { done <- cmd.Execute() }()

	g.Eventually(out.String, 10*time.Second).Should(ContainSubstring("Machine/demo-standalone"))
	g.Expect(out.String()).NotTo(ContainSubstring("Gone: False"))
	setStatus(t, ns, "Machine", "demo-standalone", nil, condition("Gone", "False", "Lost", "the machine went away"))
	g.Eventually(out.String, 10*time.Second).Should(ContainSubstring("Gone: False (Lost) the machine went away"))
	// Not a terminal: frames follow each other, and no screen is cleared.
	g.Expect(strings.Count(out.String(), "NAME ")).To(Equal(2))
	g.Expect(out.String()).NotTo(ContainSubstring(clearScreen))

	cancel()
	g.Eventually(done, 10*time.Second).Should(Receive(BeNil()))
}

// TestDescribeErrors: a missing Cluster and bad flags are named.
func TestDescribeErrors(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	_, err := run("cluster", "missing", "-n", ns, "--kubeconfig", env.KubeconfigPath)
	g.Expect(err).To(MatchError("no Cluster " + ns + "/missing"))
	_, err = run("cluster", "demo", "--kubeconfig", env.KubeconfigPath, "-o", "table")
	g.Expect(err).To(MatchError(`invalid --output "table": must be json or yaml`))
	_, err = run("cluster", "demo", "--kubeconfig", env.KubeconfigPath, "--color", "sometimes")
	g.Expect(err).To(MatchError(`invalid --color "sometimes": must be auto, always or never`))
}

func run(args ...string) (string, error) {
	var out, errOut bytes.Buffer
	cmd := NewCommand(streams.IO{In: &bytes.Buffer{}, Out: &out, ErrOut: &errOut})
	cmd.SetArgs(args)
	cmd.SetOut(&errOut)
	cmd.SetErr(&errOut)
	cmd.SilenceErrors = true
	cmd.SilenceUsage = true
	err := cmd.Execute()
	return out.String(), err
}

func describe(t *testing.T, args ...string) string {
	t.Helper()
	out, err := run(append(args, "--kubeconfig", env.KubeconfigPath)...)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	return out
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	g := NewWithT(t)
	path := filepath.Join("testdata", name+".golden")
	if *update {
		g.Expect(os.MkdirAll("testdata", 0o750)).To(Succeed())
		g.Expect(os.WriteFile(path, []byte(got), 0o600)).To(Succeed())
	}
	want, err := os.ReadFile(path)
	g.Expect(err).NotTo(HaveOccurred(), "run with -update to create %s", path)
	g.Expect(got).To(Equal(string(want)), "%s differs; run with -update if the change is intended", path)
}

// createCluster creates the objects in a new namespace, each owned by its controller.
func createCluster(t *testing.T) string {
	t.Helper()
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	objs, err := manifest.Decode([]byte(objects))
	g.Expect(err).NotTo(HaveOccurred())
	created := map[string]*unstructured.Unstructured{}
	yes := true
	for _, o := range objs {
		o.SetNamespace(ns)
		if name, ok := owners[o.GetName()]; ok {
			owner := created[name]
			o.SetOwnerReferences([]metav1.OwnerReference{{
				APIVersion: owner.GetAPIVersion(), Kind: owner.GetKind(), Name: owner.GetName(), UID: owner.GetUID(), Controller: &yes,
			}})
		}
		g.Expect(env.Client.Create(context.Background(), o)).To(Succeed(), "creating %s %s", o.GetKind(), o.GetName())
		created[o.GetName()] = o
	}
	return ns
}

func condition(t, status, reason, message string) map[string]any {
	return map[string]any{"type": t, "status": status, "reason": reason, "message": message, "lastTransitionTime": "2026-01-01T00:00:00Z"}
}

// setStatus replaces the conditions of an object and sets status counters.
func setStatus(t *testing.T, ns, kind, name string, counts map[string]int64, conditions ...map[string]any) {
	t.Helper()
	g := NewWithT(t)
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(map[string]string{
		"KubernetesCluster":   "infrastructure.cluster.x-k8s.io/v1alpha1",
		"KubeadmControlPlane": "controlplane.cluster.x-k8s.io/v1beta2",
	}[kind])
	if u.GetAPIVersion() == "" {
		u.SetAPIVersion("cluster.x-k8s.io/v1beta2")
	}
	u.SetKind(kind)
	g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, u)).To(Succeed())
	list := make([]any, 0, len(conditions))
	for _, c := range conditions {
		list = append(list, c)
	}
	g.Expect(unstructured.SetNestedSlice(u.Object, list, "status", "conditions")).To(Succeed())
	for k, v := range counts {
		g.Expect(unstructured.SetNestedField(u.Object, v, "status", k)).To(Succeed())
	}
	g.Expect(env.Client.Status().Update(context.Background(), u)).To(Succeed(), "status of %s %s", kind, name)
}

// setHealthy sets every object's conditions to their healthy state.
func setHealthy(t *testing.T, ns string) {
	ok := func(types ...string) []map[string]any {
		var out []map[string]any
		for _, c := range types {
			out = append(out, condition(c, "True", c, ""))
		}
		return out
	}
	machine := append(ok("InfrastructureReady", "BootstrapConfigReady", "NodeReady", "NodeHealthy", "Ready", "Available", "UpToDate"),
		condition("Deleting", "False", "NotDeleting", ""), condition("Paused", "False", "NotPaused", ""))
	group := append(ok("MachinesReady", "MachinesUpToDate"), condition("ScalingUp", "False", "NotScalingUp", ""))
	setStatus(t, ns, "Cluster", "demo", nil, append(ok("Available", "InfrastructureReady", "ControlPlaneInitialized",
		"ControlPlaneAvailable", "WorkersAvailable", "RemoteConnectionProbe"), condition("Paused", "False", "NotPaused", ""))...)
	setStatus(t, ns, "KubernetesCluster", "demo", nil, ok("Ready", "ServiceReady")...)
	one := map[string]int64{"replicas": 1, "readyReplicas": 1, "availableReplicas": 1, "upToDateReplicas": 1}
	two := map[string]int64{"replicas": 2, "readyReplicas": 2, "availableReplicas": 2, "upToDateReplicas": 2}
	setStatus(t, ns, "KubeadmControlPlane", "demo-control-plane", one, append(ok("Available", "Initialized", "EtcdClusterHealthy"), group...)...)
	setStatus(t, ns, "MachineDeployment", "demo-md-0", two, append(ok("Available"), group...)...)
	setStatus(t, ns, "MachineSet", "demo-md-0-abc", two, group...)
	for _, m := range []string{"demo-control-plane-a", "demo-md-0-abc-1", "demo-md-0-abc-2", "demo-standalone"} {
		setStatus(t, ns, "Machine", m, nil, machine...)
	}
}

// syncBuffer is a buffer that a watching command writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
