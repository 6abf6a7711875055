package realnode

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/cmd/podcluster/client/manifest"
	"github.com/podcluster/podcluster/cmd/podcluster/client/mgmtnode"
	"github.com/podcluster/podcluster/internal/scheme"
)

// managersNamespace is where the release manifest runs the managers.
const managersNamespace = "podcluster-system"

// managerProviders are the providers of the release manifest: one manager
// Deployment each, podcluster-<provider>, labelled with the provider as its
// component, electing its leader with the Lease podcluster-<provider>.
var managerProviders = []string{"core", "kubeadm-bootstrap", "kubeadm-control-plane", "kubernetes"}

// TestManagersInCluster runs podcluster as users deploy it: the manager image,
// built by hack/manager-image/build.sh without a container engine, is loaded
// into the management node of `podcluster up --runtime=real --providers=""`
// (no provider in-process), `podcluster init --image` deploys every provider
// as Pods of that plane with the shipped RBAC and manifests, and the real-node
// walkthrough (examples/real: a control plane and a MachineDeployment of 3)
// reaches 4 Ready workload Nodes driven by those managers, each holding its
// leader-election Lease. The plane reaches into the management node through
// its egress proxy: v1beta1 is served by the core manager's conversion
// webhook, and a manager's log is read through the kubelet. Stopping up must
// leave the host as it was.
func TestManagersInCluster(t *testing.T) {
	root := requireManagementNodeHost(t)
	_, nodeArchive := nodeImage(t)
	ctrllog.SetLogger(logr.Discard())
	stateDir := filepath.Join(t.TempDir(), "state")
	expectHostUnchanged(t, stateDir)
	bin := buildPodcluster(t, root)
	managerArchive, managerImage := buildManagerImage(t, root)

	upStarted := time.Now()
	up := startUp(t, bin, stateDir, filepath.Dir(nodeArchive), "", "--providers=", "--load-image", managerArchive)
	t.Cleanup(func() {
		if t.Failed() {
			logManagers(t, stateDir)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	waitForUp(ctx, t, up)
	t.Logf("plane and management node up %s after up started:\n%s", time.Since(upStarted).Round(100*time.Millisecond), up.stderr())
	if !strings.Contains(up.stderr(), "Running no provider in-process") {
		t.Errorf("up does not say that it runs no provider:\n%s", up.stderr())
	}

	// podcluster init, as a user runs it against the management cluster.
	kubeconfig := filepath.Join(stateDir, "kubeconfig")
	initStarted := time.Now()
	initCmd := exec.CommandContext(ctx, bin, "init", "--image", managerImage, "--kubeconfig", kubeconfig, "--timeout", "5m")
	out, err := initCmd.CombinedOutput()
	if err != nil {
		t.Fatalf("podcluster init: %v\n%s", err, out)
	}
	t.Logf("podcluster init took %s:\n%s", time.Since(initStarted).Round(100*time.Millisecond), out)

	c, err := client.New(restConfig(t, kubeconfig), client.Options{Scheme: scheme.New()})
	if err != nil {
		t.Fatal(err)
	}
	managers := checkManagerPods(ctx, t, c, managerImage)

	objs, err := manifest.ReadPaths(filepath.Join(root, "examples", "real"))
	if err != nil {
		t.Fatal(err)
	}
	if err := manifest.Apply(ctx, c, "default", objs...); err != nil {
		t.Fatalf("applying examples/real: %v", err)
	}
	applied := time.Now()
	workload, host := workloadClient(ctx, t, c, client.ObjectKey{Namespace: "default", Name: "real"})
	t.Logf("the kubeconfig Secret of Cluster real exists %s after the apply", time.Since(applied).Round(100*time.Millisecond))
	ready := waitForReadyNodes(ctx, t, workload, 4, 20*time.Minute)
	t.Logf("4 workload Nodes Ready (seen at %s) %s after the apply: %v", host, time.Since(applied).Round(100*time.Millisecond), ready)

	// The managers did it: the Machines are Running, and each provider's
	// Lease is held by its manager Pod (controller-runtime's identity is
	// <Pod name>_<uuid>), renewed just now.
	machines := &clusterv1.MachineList{}
	if err := c.List(ctx, machines, client.MatchingLabels{clusterv1.ClusterNameLabel: "real"}); err != nil {
		t.Fatal(err)
	}
	running := 0
	for _, m := range machines.Items {
		if m.Status.Phase == string(clusterv1.MachinePhaseRunning) {
			running++
		}
	}
	if running != 4 {
		t.Errorf("%d of %d Machines are Running, want 4", running, len(machines.Items))
	}
	for _, provider := range managerProviders {
		lease := &coordinationv1.Lease{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: managersNamespace, Name: "podcluster-" + provider}, lease); err != nil {
			t.Errorf("the leader-election Lease of %s: %v", provider, err)
			continue
		}
		holder := ""
		if lease.Spec.HolderIdentity != nil {
			holder = *lease.Spec.HolderIdentity
		}
		if pod := managers[provider]; pod == "" || !strings.HasPrefix(holder, pod+"_") {
			t.Errorf("the Lease of %s is held by %q, not by its manager Pod %s", provider, holder, pod)
		}
		if lease.Spec.RenewTime == nil || time.Since(lease.Spec.RenewTime.Time) > time.Minute {
			t.Errorf("the Lease of %s was last renewed at %v", provider, lease.Spec.RenewTime)
		}
	}
	// Still the same Pods, none crashed on the way.
	checkManagerPods(ctx, t, c, managerImage)

	// The plane reaches into the management node (its egress proxy): the
	// core manager's conversion webhook serves v1beta1, and the kubelet
	// serves a manager's log.
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := c.Get(ctx, client.ObjectKey{Name: "clusters." + clusterv1.GroupVersion.Group}, crd); err != nil {
		t.Fatal(err)
	}
	if conv := crd.Spec.Conversion; conv == nil || conv.Webhook == nil || conv.Webhook.ClientConfig == nil ||
		conv.Webhook.ClientConfig.Service == nil || conv.Webhook.ClientConfig.Service.Namespace != managersNamespace {
		t.Fatalf("the Cluster CRD does not convert through the core manager's Service: %+v", conv)
	}
	old := &unstructured.UnstructuredList{}
	old.SetGroupVersionKind(schema.GroupVersionKind{Group: clusterv1.GroupVersion.Group, Version: "v1beta1", Kind: "ClusterList"})
	if err := c.List(ctx, old, client.InNamespace("default")); err != nil {
		t.Errorf("listing Clusters as v1beta1 through the in-cluster conversion webhook: %v", err)
	} else if len(old.Items) != 1 || old.Items[0].GetName() != "real" {
		t.Errorf("Clusters as v1beta1: %d, want the Cluster real", len(old.Items))
	}
	plane, err := kubernetes.NewForConfig(restConfig(t, kubeconfig))
	if err != nil {
		t.Fatal(err)
	}
	logs, err := plane.CoreV1().Pods(managersNamespace).GetLogs(managers["core"], &corev1.PodLogOptions{}).DoRaw(ctx)
	if err != nil {
		t.Errorf("the log of %s through the plane: %v", managers["core"], err)
	} else if !strings.Contains(string(logs), "Starting manager") {
		t.Errorf("the log of %s through the plane does not say \"Starting manager\":\n%s", managers["core"], tail(string(logs), 10))
	}

	stopped := time.Now()
	if err := up.stop(); err != nil {
		t.Errorf("stopping podcluster up: %v\n%s", err, tail(up.stderr(), 20))
	}
	t.Logf("podcluster up stopped in %s", time.Since(stopped).Round(100*time.Millisecond))
}

// buildManagerImage builds the manager image with hack/manager-image/build.sh
// and returns its archive and name.
func buildManagerImage(t *testing.T, root string) (archive, name string) {
	t.Helper()
	start := time.Now()
	cmd := exec.Command(filepath.Join(root, "hack", "manager-image", "build.sh"), "--print-name")
	cmd.Stderr = &testWriter{t: t}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hack/manager-image/build.sh: %v", err)
	}
	lines := strings.Fields(string(out))
	if len(lines) != 2 {
		t.Fatalf("hack/manager-image/build.sh --print-name printed %q, want the archive and the name", out)
	}
	archive, name = lines[0], lines[1]
	st, err := os.Stat(archive)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("manager image %s: %s, %.1f MB, in %s", name, archive, float64(st.Size())/1e6, time.Since(start).Round(100*time.Millisecond))
	return archive, name
}

// checkManagerPods checks that each provider runs as one Pod of its manager
// Deployment on the management node, from the manager image, ready and never
// restarted, and returns the Pods' names by provider.
// maxManagerRestarts bounds a manager's restarts over the walkthrough: a few
// lost Leases under load, not a crash loop.
const maxManagerRestarts = 3

func checkManagerPods(ctx context.Context, t *testing.T, c client.Client, image string) map[string]string {
	t.Helper()
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods, client.InNamespace(managersNamespace)); err != nil {
		t.Fatalf("listing the manager Pods: %v", err)
	}
	byProvider := map[string]string{}
	for _, p := range pods.Items {
		provider := p.Labels["app.kubernetes.io/component"]
		if !slices.Contains(managerProviders, provider) || p.DeletionTimestamp != nil {
			continue
		}
		if byProvider[provider] != "" {
			t.Errorf("two manager Pods of %s: %s and %s", provider, byProvider[provider], p.Name)
		}
		byProvider[provider] = p.Name
		ready := false
		for _, cond := range p.Status.Conditions {
			ready = ready || (cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue)
		}
		// A restart is allowed, and logged: on 2 busy cores (4 nodes
		// importing their images) a renewal of the leader-election Lease
		// or a liveness probe can miss its deadline, and the manager then
		// exits and comes back, as upstream's do. A crash is not: Go exits
		// with 2 on a panic.
		var restarts int32
		for _, st := range p.Status.ContainerStatuses {
			restarts += st.RestartCount
			if term := st.LastTerminationState.Terminated; term != nil {
				t.Logf("manager Pod %s restarted %d times; the last run ended at %s: %s, exit code %d", p.Name, st.RestartCount,
					term.FinishedAt.Format(time.RFC3339), term.Reason, term.ExitCode)
				if term.ExitCode == 2 {
					t.Errorf("manager Pod %s crashed (exit code 2, a panic)", p.Name)
				}
			}
		}
		if p.Spec.NodeName != mgmtnode.DefaultNodeName || p.Status.Phase != corev1.PodRunning || !ready || restarts > maxManagerRestarts ||
			p.Spec.Containers[0].Image != image {
			t.Errorf("manager Pod %s: on %q, %s, ready %t, %d restarts, image %s; want Running and ready on %s, at most %d restarts, image %s",
				p.Name, p.Spec.NodeName, p.Status.Phase, ready, restarts, p.Spec.Containers[0].Image, mgmtnode.DefaultNodeName,
				maxManagerRestarts, image)
		}
	}
	for _, provider := range managerProviders {
		if byProvider[provider] == "" {
			t.Errorf("no manager Pod of %s in %s", provider, managersNamespace)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return byProvider
}

// logManagers logs the end of each manager container's log, from the
// management kubelet's Pod logs (the plane cannot reach that kubelet for
// `kubectl logs`).
func logManagers(t *testing.T, stateDir string) {
	logs, _ := filepath.Glob(filepath.Join(stateDir, "node", "pod-logs", managersNamespace+"_*", "*", "*.log"))
	for _, log := range logs {
		if b, err := os.ReadFile(log); err == nil {
			t.Logf("%s (tail):\n%s", strings.TrimPrefix(log, stateDir+"/"), tail(string(b), 30))
		}
	}
	if len(logs) == 0 {
		t.Logf("no manager logs under %s", filepath.Join(stateDir, "node", "pod-logs"))
	}
}
